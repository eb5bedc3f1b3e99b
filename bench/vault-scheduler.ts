/**
 * Issue 4 benchmark: 20 VMs × 2 disks of 1 GiB, protected by one policy; one scheduler tick backs them
 * all up. Baseline in the same run: one VM of the same shape backed up alone (backup now).
 *
 *   npm run build && node dist/bench/vault-scheduler.js [--vms 20] [--data-disks 1] [--disk-gib 1]
 *                     [--data-percent 40] [--baseline-runs 3] [--work-dir bench/.work] [--timeout-min 60]
 *
 * Everything goes over HTTP, as a user's would: a fresh Azurite on disk (<work-dir>/vault-scheduler-azurite,
 * with the page-diff extension the host itself starts Azurite with; deleted afterwards), the embedded host
 * (`bin/kluis-host.js`, the product app, `--fake-clock`) as a child process, and on it:
 * 1. the fabric creates the VMs (`PUT /fabric/…/virtualMachines/{name}`); `--data-percent` of each disk is
 *    written either as the engine benchmark's disk content (`--data extents`, the default: 4 KiB-aligned
 *    extents of 64 KiB–8 MiB, 45% random / 35% text-like / 20% zero cells, each disk its own seed) or by
 *    the fabric itself (`--data scattered`: random bytes in random 64 KiB blocks, one request per few
 *    blocks, so the backup is bound by requests, not bytes); a vault, policy Daily-0230 (daily 02:30 UTC) for the measured VMs
 *    and Daily-1430 for the baseline VMs (so the tick leaves them alone); discovery; protection of every VM;
 * 2. baseline: each baseline VM (a VM of its own, so every backup is a first, full one like the tick's)
 *    is backed up now and its job polled until it ends; throughput = its 'Backup Size' ÷ wall time from
 *    the request to the end; the median of the runs is the single-VM throughput;
 * 3. the tick: the fake clock moves from 02:00:30 to just past 02:30, so the `backupScheduler` timer (every
 *    5 minutes) fires once and starts every VM's scheduled backup; the Backup jobs are polled until all
 *    have ended. Total time = the tick → the last job's end (wall clock, as observed by the poll);
 *    aggregate throughput = the jobs' 'Backup Size' summed ÷ total time.
 * While a backup runs the fake clock follows the wall clock (stepped at each poll), so the 5 s activity
 * retries and job durations behave as on a real clock. Host and Azurite peak RSS are VmHWM, reset just
 * before each measured phase (/proc/<pid>/clear_refs); CPU use per process tells which one is the
 * bottleneck.
 */
import { statfsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError } from 'commander';
import { startAzurite, type RunningAzurite } from '../emulator/azurite';
import { azuriteExtensions } from '../emulator/cli';
import { ArmClient, msiTokenSource } from '../emulator/demo/arm-client';
import { REPO_ROOT, startBenchHost, type BenchHost } from './support/host-process';
import { ClockFollower } from './support/clock-follower';
import { describeMachine } from './support/machine';
import { sampleProcesses, type ProcessUsage } from './support/process-sampler';
import { peakRssOfProcess, resetPeakRss, rssOfProcess } from './support/process-memory';
import { formatBytes, formatMs, formatThroughput, GIB, markdownTable, median, MIB } from './support/stats';
import { diskLayoutFor, writeExtentsOnto } from './support/vm-disk-data';
import { backupSizeOf, FINISHED_JOB_STATUSES, VaultApi, type ArmJob, type DailyPolicySpec, type VmSpec } from './support/vault-api';

const SUBSCRIPTION = '6b0f6f0e-3c1a-4d5e-9f21-0a1b2c3d4e5f';
const VAULT_GROUP = 'rg-bench';
const VM_GROUP = 'rg-bench-vms';
const VAULT = 'bench-vault';
const LOCATION = 'westeurope';
/** Just after the hourly retention timer (hh:00), so it does not fire during the run. */
const CLOCK_START = new Date('2026-03-02T02:00:30Z');
const SCHEDULED_AT = new Date('2026-03-02T02:30:00Z');
/** How far past the scheduled time the tick moves the clock: the 02:30 timer fires on the way. */
const TICK_PAST_SCHEDULE_IN_MS = 1_000;
const TICK_POLICY: DailyPolicySpec = { name: 'Daily-0230', runTime: '02:30', timeZone: 'UTC', retentionDays: 30, instantRestoreDays: 2 };
const BASELINE_POLICY: DailyPolicySpec = { name: 'Daily-1430', runTime: '14:30', timeZone: 'UTC', retentionDays: 30, instantRestoreDays: 2 };
const VMS_CREATED_AT_ONCE = 2;
const BASELINE_POLL_IN_MS = 200;
const TIMELINE_EVERY_IN_MS = 10_000;
const NO_JOBS_TIMEOUT_IN_MS = 120_000;
const THROUGHPUT_TARGET = 0.7;
/** Source disks plus the vault's replicas; snapshots share pages. A margin for Azurite's metadata and extents. */
const SPACE_MARGIN = 1.15;

type DataKind = 'extents' | 'scattered';

interface Options {
  data: DataKind;
  vms: number;
  dataDisks: number;
  diskGib: number;
  dataPercent: number;
  baselineRuns: number;
  workDir: string;
  timeoutMin: number;
  pollMs: number;
}

/** What a backup's orchestration history (and its per-disk sub-orchestrations') says. */
interface BackupHistory {
  /** Fake-clock time the snapshots were taken (snapshotDisks completed). */
  snapshotAt?: string;
  /** The snapshotVm activity, scheduled → done: the guest is frozen only inside it (fake clock ≈ wall clock). */
  frozenMs?: number;
  /** Activity attempts that failed (and were retried, or failed the job). */
  failedAttempts: number;
}

interface BackupRun {
  vm: string;
  jobId: string;
  status: string;
  ms: number;
  bytes: number;
  history: BackupHistory;
  hostPeakRss?: number;
  azuritePeakRss?: number;
  usage: ProcessUsage[];
  errors: string[];
}

interface JobObservation {
  jobId: string;
  vm: string;
  /** ms after the tick at which the poll first saw the job / its transfer task running / the job ended. */
  seenMs: number;
  transferMs?: number;
  endMs?: number;
  job: ArmJob;
  history?: BackupHistory;
}

interface TimelinePoint {
  atMs: number;
  created: number;
  transferring: number;
  finished: number;
  bytesFinished: number;
}

interface TickResult {
  vms: number;
  allCreatedMs?: number;
  totalMs: number;
  bytes: number;
  jobs: JobObservation[];
  timeline: TimelinePoint[];
  hostPeakRss?: number;
  azuritePeakRss?: number;
  usage: ProcessUsage[];
  timedOut: boolean;
  itemsWithPoint: number;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('a whole number ≥ 0');
  return n;
}

function percent(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 100) throw new InvalidArgumentError('a percentage in (0, 100]');
  return n;
}

function dataKind(value: string): DataKind {
  if (value !== 'extents' && value !== 'scattered') throw new InvalidArgumentError("'extents' or 'scattered'");
  return value;
}

function parseOptions(argv: string[]): Options {
  return new Command()
    .name('vault-scheduler')
    .option('--vms <n>', 'VMs protected by the policy whose one tick is measured', positiveInt, 20)
    .option('--data-disks <n>', 'data disks per VM (plus the OS disk)', nonNegativeInt, 1)
    .option('--disk-gib <n>', 'size of every disk in GiB', positiveInt, 1)
    .option('--data-percent <p>', 'share of every disk written at creation', percent, 40)
    .option(
      '--data <kind>',
      "extents: the engine benchmark's disk content (extents of 64 KiB–8 MiB, mixed content); scattered: the fabric's own (random 64 KiB blocks)",
      dataKind,
      'extents' as DataKind,
    )
    .option('--baseline-runs <n>', 'single-VM backups (each of its own VM; the median is the baseline)', positiveInt, 3)
    .option('--work-dir <dir>', "where Azurite's data and the raw results go", path.join('bench', '.work'))
    .option('--timeout-min <n>', 'give up waiting for the jobs after this many minutes', positiveInt, 60)
    .option('--poll-ms <n>', 'how often the jobs are polled during the tick', positiveInt, 500)
    .parse(argv)
    .opts<Options>();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));


async function main(): Promise<void> {
  const opts = parseOptions(process.argv);
  const workDir = path.resolve(opts.workDir);
  await mkdir(workDir, { recursive: true });
  const diskBytes = opts.diskGib * GIB;
  const disksPerVm = 1 + opts.dataDisks;
  const vmCount = opts.vms + opts.baselineRuns;
  const needed = vmCount * disksPerVm * diskBytes * (opts.dataPercent / 100) * 2 * SPACE_MARGIN;
  const fs = statfsSync(workDir);
  const free = fs.bavail * fs.bsize;
  console.log(`vault scheduler benchmark: ${new Date().toISOString()} on ${describeMachine()}`);
  console.log(`command: node ${path.relative(process.cwd(), process.argv[1])} ${process.argv.slice(2).join(' ')}`.trimEnd());
  console.log(
    `${opts.vms} VMs (+ ${opts.baselineRuns} baseline) × ${disksPerVm} disks of ${opts.diskGib} GiB, ${opts.dataPercent}% written; ` +
      `Azurite on disk in ${path.relative(process.cwd(), workDir)}: needs ≈ ${formatBytes(needed)}, ${formatBytes(free)} free`,
  );
  if (free < needed) throw new Error(`Not enough disk space in ${workDir}: lower --vms, --disk-gib or --data-percent.`);

  const location = path.join(workDir, 'vault-scheduler-azurite');
  await rm(location, { recursive: true, force: true });
  const azurite = await startAzurite({ location, extensions: [...azuriteExtensions], startupTimeoutInMs: 120_000 });
  let host: BenchHost | undefined;
  try {
    host = await startBenchHost({
      app: REPO_ROOT,
      storage: azurite.connectionString,
      args: ['--fake-clock', CLOCK_START.toISOString()],
      env: { KLUIS_SUBSCRIPTION_ID: SUBSCRIPTION, KLUIS_SOURCE_STORAGE: '', KLUIS_VAULT_STORAGE: '' },
      signIn: true,
    });
    const result = await run(host, azurite, opts, diskBytes);
    const resultsFile = path.join(workDir, `vault-scheduler-results-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(resultsFile, JSON.stringify({ machine: describeMachine(), options: opts, ...result }, null, 2));
    console.log(`\nraw results: ${path.relative(process.cwd(), resultsFile)}`);
    if (result.tick.timedOut || result.tick.jobs.some((j) => j.job.properties.status !== 'Completed')) process.exitCode = 1;
  } catch (err) {
    if (host) console.error(`host output (tail):\n${host.outputTail()}`);
    throw err;
  } finally {
    await host?.stop();
    await azurite.stop();
    await rm(location, { recursive: true, force: true });
  }
}

async function run(host: BenchHost, azurite: RunningAzurite, opts: Options, diskBytes: number): Promise<{ baseline: BackupRun[]; tick: TickResult }> {
  if (host.msiEndpoint === undefined || host.msiSecret === undefined) throw new Error('The benchmark host runs no identity endpoint to sign in with.');
  const client = new ArmClient(host.origin, { tokenSource: msiTokenSource(host.msiEndpoint, host.msiSecret) });
  const api = new VaultApi(host.origin, host.masterKey, SUBSCRIPTION, async () => (await client.accessToken()) ?? '');
  const clock = new ClockFollower(api, await api.clockNow());
  const fabricPercent = opts.data === 'scattered' ? opts.dataPercent : 0;
  const vmSpec = (name: string): VmSpec => ({ resourceGroup: VM_GROUP, name, osType: 'Linux', location: LOCATION, dataDisks: opts.dataDisks, diskBytes, dataPercent: fabricPercent });
  const tickVms = Array.from({ length: opts.vms }, (_, i) => vmSpec(`vm-${String(i + 1).padStart(2, '0')}`));
  const baselineVms = Array.from({ length: opts.baselineRuns }, (_, i) => vmSpec(`solo-${i + 1}`));

  console.log('\n## Setup\n');
  const setupStart = performance.now();
  for (const group of [VAULT_GROUP, VM_GROUP]) await api.createResourceGroup(group, LOCATION);
  await api.createVault(VAULT_GROUP, VAULT, LOCATION);
  await api.createDailyPolicy(VAULT_GROUP, VAULT, TICK_POLICY);
  await api.createDailyPolicy(VAULT_GROUP, VAULT, BASELINE_POLICY);
  const all = [...baselineVms, ...tickVms];
  let created = 0;
  const queue = [...all];
  /** Allocated data bytes per VM (known exactly for `extents`). */
  const allocated = new Map<string, number>();
  await Promise.all(
    Array.from({ length: VMS_CREATED_AT_ONCE }, async () => {
      for (let vm = queue.shift(); vm !== undefined; vm = queue.shift()) {
        const disks = await api.createVm(vm);
        if (opts.data === 'extents') {
          for (const [slot, url] of disks.entries()) {
            const layout = diskLayoutFor(`${vm.name}/${slot}`, diskBytes, opts.dataPercent / 100);
            await writeExtentsOnto(azurite.connectionString, url, layout);
            allocated.set(vm.name, (allocated.get(vm.name) ?? 0) + layout.allocatedBytes);
          }
        }
        created++;
        if (created % 5 === 0 || created === all.length) console.log(`  ${created}/${all.length} VMs created (${formatMs(performance.now() - setupStart)})`);
      }
    }),
  );
  await api.refreshContainers(VAULT_GROUP, VAULT);
  for (const vm of baselineVms) await api.protect(VAULT_GROUP, VAULT, vm, BASELINE_POLICY.name);
  for (const vm of tickVms) await api.protect(VAULT_GROUP, VAULT, vm, TICK_POLICY.name);
  console.log(`  vault, 2 policies, ${all.length} VMs protected in ${formatMs(performance.now() - setupStart)}; fake clock at ${(await api.clockNow()).toISOString()}`);

  console.log(`\n## Baseline: one VM backed up alone (backup now); load average ${loadAverage()}\n`);
  // The clock follows the wall clock, but stays well before the scheduled time.
  clock.follow(new Date(SCHEDULED_AT.getTime() - 60_000));
  const baseline: BackupRun[] = [];
  for (const vm of baselineVms) {
    const result = await backupAlone(api, clock, host, azurite, vm.name, opts.dataDisks);
    baseline.push(result);
    console.log(
      `  ${vm.name}: ${result.status} in ${formatMs(result.ms)}, ${formatBytes(result.bytes)} (${formatThroughput(result.bytes, result.ms)}), ` +
        `guest frozen ${result.history.frozenMs === undefined ? 'n/a' : formatMs(result.history.frozenMs)}, host peak RSS ${formatBytes(result.hostPeakRss ?? 0)}, ${usageText(result.usage)}`,
    );
  }

  console.log(`\n## One scheduler tick: ${opts.vms} VMs; load average ${loadAverage()}\n`);
  const tick = await oneTick(api, clock, host, azurite, tickVms, opts);
  const tickAllocated = opts.data === 'extents' ? tickVms.reduce((sum, vm) => sum + (allocated.get(vm.name) ?? 0), 0) : undefined;
  report(opts, diskBytes, baseline, tick, tickAllocated);
  return { baseline, tick };
}

async function backupAlone(api: VaultApi, clock: ClockFollower, host: BenchHost, azurite: RunningAzurite, vm: string, dataDisks: number): Promise<BackupRun> {
  resetPeakRss(host.pid);
  resetPeakRss(azurite.pid);
  const sampler = sampleProcesses([
    { name: 'host', pid: host.pid },
    { name: 'Azurite', pid: azurite.pid },
  ]);
  const start = performance.now();
  const jobId = await api.backupNow(VAULT_GROUP, VAULT, { resourceGroup: VM_GROUP, name: vm });
  let job: ArmJob;
  for (;;) {
    job = await api.job(VAULT_GROUP, VAULT, jobId);
    if (FINISHED_JOB_STATUSES.includes(job.properties.status)) break;
    await clock.step();
    await sleep(BASELINE_POLL_IN_MS);
  }
  const ms = performance.now() - start;
  const usage = sampler.stop();
  return {
    vm,
    jobId,
    status: job.properties.status,
    ms,
    bytes: backupSizeOf(job) ?? 0,
    history: await backupHistory(api, jobId, dataDisks),
    hostPeakRss: peakRssOfProcess(host.pid),
    azuritePeakRss: peakRssOfProcess(azurite.pid),
    usage,
    errors: (job.properties.errorDetails ?? []).map((e) => `${e.errorTitle}: ${e.errorString}`),
  };
}

async function oneTick(api: VaultApi, clock: ClockFollower, host: BenchHost, azurite: RunningAzurite, vms: VmSpec[], opts: Options): Promise<TickResult> {
  const names = new Set(vms.map((vm) => vm.name));
  const observed = new Map<string, JobObservation>();
  const timeline: TimelinePoint[] = [];
  resetPeakRss(host.pid);
  resetPeakRss(azurite.pid);
  const sampler = sampleProcesses([
    { name: 'host', pid: host.pid },
    { name: 'Azurite', pid: azurite.pid },
  ]);
  const start = performance.now();
  const elapsed = () => performance.now() - start;
  await clock.jumpTo(new Date(SCHEDULED_AT.getTime() + TICK_PAST_SCHEDULE_IN_MS));
  clock.follow();
  console.log(`  fake clock moved to ${new Date(SCHEDULED_AT.getTime() + TICK_PAST_SCHEDULE_IN_MS).toISOString()} in ${formatMs(elapsed())}`);

  let allCreatedMs: number | undefined;
  let timedOut = false;
  let nextTimelineMs = 0;
  for (;;) {
    const jobs = await api.jobs(VAULT_GROUP, VAULT, "operation eq 'Backup'");
    const at = elapsed();
    for (const job of jobs) {
      const vm = job.properties.entityFriendlyName;
      if (job.properties.isUserTriggered || !names.has(vm)) continue;
      const seen = observed.get(job.name) ?? { jobId: job.name, vm, seenMs: at, job };
      seen.job = job;
      const transfer = job.properties.extendedInfo.tasksList.find((t) => t.taskId === 'Transfer data to vault');
      if (seen.transferMs === undefined && transfer !== undefined && transfer.status !== 'NotStarted') seen.transferMs = at;
      if (seen.endMs === undefined && FINISHED_JOB_STATUSES.includes(job.properties.status)) seen.endMs = at;
      observed.set(job.name, seen);
    }
    const list = [...observed.values()];
    if (allCreatedMs === undefined && list.length >= vms.length) allCreatedMs = at;
    const finished = list.filter((j) => j.endMs !== undefined);
    const point: TimelinePoint = {
      atMs: at,
      created: list.length,
      transferring: list.filter((j) => j.transferMs !== undefined && j.endMs === undefined).length,
      finished: finished.length,
      bytesFinished: finished.reduce((sum, j) => sum + (backupSizeOf(j.job) ?? 0), 0),
    };
    const done = list.length >= vms.length && finished.length === list.length;
    if (at >= nextTimelineMs || done) {
      timeline.push(point);
      nextTimelineMs = at + TIMELINE_EVERY_IN_MS;
      console.log(
        `  ${formatMs(at).padStart(8)}: ${point.created} jobs, ${point.transferring} transferring, ${point.finished} finished ` +
          `(${formatBytes(point.bytesFinished)}); load ${loadAverage()}; host RSS ${formatBytes(rss(host.pid))}, Azurite RSS ${formatBytes(rss(azurite.pid))}`,
      );
    }
    if (done) break;
    if (list.length === 0 && at > NO_JOBS_TIMEOUT_IN_MS) throw new Error(`No scheduled Backup job appeared within ${NO_JOBS_TIMEOUT_IN_MS} ms of the tick.`);
    if (at > opts.timeoutMin * 60_000) {
      timedOut = true;
      console.log(`  timed out after ${opts.timeoutMin} min with ${finished.length}/${vms.length} jobs finished`);
      break;
    }
    await clock.step();
    await sleep(opts.pollMs);
  }
  const usage = sampler.stop();
  const hostPeakRss = peakRssOfProcess(host.pid);
  const azuritePeakRss = peakRssOfProcess(azurite.pid);
  const jobs = [...observed.values()].sort((a, b) => a.vm.localeCompare(b.vm));
  for (const job of jobs) job.history = await backupHistory(api, job.jobId, opts.dataDisks);
  const items = await api.protectedItems(VAULT_GROUP, VAULT);
  const itemsWithPoint = items.filter((i) => names.has(i.properties.friendlyName) && i.properties.extendedInfo.recoveryPointCount >= 1).length;
  return {
    vms: vms.length,
    allCreatedMs,
    totalMs: Math.max(0, ...jobs.map((j) => j.endMs ?? elapsed())),
    bytes: jobs.reduce((sum, j) => sum + (backupSizeOf(j.job) ?? 0), 0),
    jobs,
    timeline,
    hostPeakRss,
    azuritePeakRss,
    usage,
    timedOut,
    itemsWithPoint,
  };
}

/** Reads the backup's orchestration history and its disks' sub-orchestrations' (`{jobId}:lun{slot}`). */
async function backupHistory(api: VaultApi, jobId: string, dataDisks: number): Promise<BackupHistory> {
  const main = await api.orchestrationHistory(jobId);
  const perDisk = await Promise.all(Array.from({ length: 1 + dataDisks }, (_, slot) => api.orchestrationHistory(`${jobId}:lun${slot}`).catch(() => [])));
  const completed = (name: string) => main.find((e) => e.EventType === 'TaskCompleted' && e.FunctionName === name)?.Timestamp;
  // Freeze → snapshot → thaw is one activity: the guest is frozen only inside it, so its scheduled → done
  // time bounds how long the guest stayed frozen (queue wait included).
  const snapshotStep = main.find((e) => e.EventType === 'TaskCompleted' && e.FunctionName === 'snapshotVm');
  return {
    snapshotAt: snapshotStep?.Timestamp ?? completed('snapshotDisks'),
    frozenMs: snapshotStep?.ScheduledTime === undefined ? undefined : Date.parse(snapshotStep.Timestamp) - Date.parse(snapshotStep.ScheduledTime),
    failedAttempts: [main, ...perDisk].flat().filter((e) => e.EventType === 'TaskFailed').length,
  };
}

function loadAverage(): string {
  return os.loadavg()[0].toFixed(2);
}

function rss(pid: number): number {
  return rssOfProcess(pid) ?? 0;
}

function usageText(usage: readonly ProcessUsage[]): string {
  return usage.map((u) => `${u.name} ${u.coresBusy.toFixed(2)} cores`).join(', ');
}

function spread(values: readonly number[]): string {
  if (values.length === 0) return 'n/a';
  return `${formatMs(Math.min(...values))} / ${formatMs(median(values))} / ${formatMs(Math.max(...values))}`;
}

function report(opts: Options, diskBytes: number, baseline: readonly BackupRun[], tick: TickResult, tickAllocated: number | undefined): void {
  const disksPerVm = 1 + opts.dataDisks;
  const written = diskBytes * (opts.dataPercent / 100);
  const baselineThroughputs = baseline.filter((b) => b.status === 'Completed').map((b) => b.bytes / (b.ms / 1000));
  const single = baselineThroughputs.length > 0 ? median(baselineThroughputs) : undefined;
  const aggregate = tick.bytes / (tick.totalMs / 1000);
  const failed = tick.jobs.filter((j) => j.job.properties.status !== 'Completed');
  const missing = tick.vms - tick.jobs.length;
  const mibps = (bytesPerSecond: number) => `${(bytesPerSecond / MIB).toFixed(0)} MiB/s`;

  console.log('\n## Summary\n');
  const content =
    opts.data === 'extents'
      ? `the engine benchmark's content: extents of 64 KiB–8 MiB, 20% of cells zero${tickAllocated === undefined ? '' : `; ${formatBytes(tickAllocated)} allocated over the ${tick.vms} VMs`}`
      : 'random bytes in random 64 KiB blocks';
  console.log(`${tick.vms} VMs × ${disksPerVm} disks of ${formatBytes(diskBytes)}, ≈ ${opts.dataPercent}% written (≈ ${formatBytes(written)} per disk; ${content}); all first (full) backups.\n`);
  console.log(
    markdownTable(
      ['single VM, backup now', 'time', 'Backup Size', 'throughput', 'guest frozen', 'host peak RSS', 'Azurite peak RSS', 'CPU (cores busy)'],
      baseline.map((b) => [
        `${b.vm} (${b.status})`,
        formatMs(b.ms),
        formatBytes(b.bytes),
        formatThroughput(b.bytes, b.ms),
        b.history.frozenMs === undefined ? 'n/a' : formatMs(b.history.frozenMs),
        formatBytes(b.hostPeakRss ?? 0),
        formatBytes(b.azuritePeakRss ?? 0),
        usageText(b.usage),
      ]),
    ),
  );
  const jobEnds = tick.jobs.flatMap((j) => (j.endMs === undefined ? [] : [j.endMs]));
  const toTransfer = tick.jobs.flatMap((j) => (j.transferMs === undefined ? [] : [j.transferMs]));
  const jobTimes = tick.jobs.flatMap((j) => (j.endMs === undefined ? [] : [j.endMs - j.seenMs]));
  const tickAt = SCHEDULED_AT.getTime() + TICK_PAST_SCHEDULE_IN_MS;
  const snapshotAfterTick = tick.jobs.flatMap((j) => (j.history?.snapshotAt === undefined ? [] : [Date.parse(j.history.snapshotAt) - tickAt]));
  const frozen = tick.jobs.flatMap((j) => (j.history?.frozenMs === undefined ? [] : [j.history.frozenMs]));
  console.log('');
  console.log(
    markdownTable(
      ['one scheduler tick', 'value'],
      [
        ['tick → all scheduled jobs created', tick.allCreatedMs === undefined ? `only ${tick.jobs.length} of ${tick.vms}` : formatMs(tick.allCreatedMs)],
        ['**tick → last job ended (total)**', `**${formatMs(tick.totalMs)}**${tick.timedOut ? ' (timed out)' : ''}`],
        ['Backup Size, all jobs', formatBytes(tick.bytes)],
        ['**aggregate throughput**', `**${mibps(aggregate)}**`],
        ['single-VM throughput (median of the baseline)', single === undefined ? 'n/a' : mibps(single)],
        ['**failed jobs**', `**${failed.length + missing}** of ${tick.vms}${failed.length > 0 ? ` (${failed.map((j) => `${j.vm}: ${j.job.properties.status} ${(j.job.properties.errorDetails ?? []).map((e) => e.errorTitle).join(',')}`).join('; ')})` : ''}${missing > 0 ? `, ${missing} never started` : ''}`],
        ['items with a recovery point afterwards', `${tick.itemsWithPoint} of ${tick.vms}`],
        ['**host peak RSS** (VmHWM during the tick)', `**${formatBytes(tick.hostPeakRss ?? 0)}**`],
        ['Azurite peak RSS', formatBytes(tick.azuritePeakRss ?? 0)],
        ['CPU during the tick (cores busy, of 2)', usageText(tick.usage)],
        ['tick → transfer started, per job (min / median / max)', spread(toTransfer)],
        ['tick → job ended, per job (min / median / max)', spread(jobEnds)],
        ['job seen → ended, per job (min / median / max)', spread(jobTimes)],
        ['tick → snapshots taken, per job (min / median / max; fake clock)', spread(snapshotAfterTick)],
        ['snapshot step incl. freeze → thaw (snapshotVm scheduled → done), per job (min / median / max)', spread(frozen)],
        ['failed activity attempts (retried or fatal), all jobs', String(tick.jobs.reduce((sum, j) => sum + (j.history?.failedAttempts ?? 0), 0))],
      ],
    ),
  );
  console.log('\nRatio (issue 4 target):\n');
  if (single === undefined) console.log(`- aggregate ÷ single-VM throughput: n/a (no baseline backup completed) — target ≥ ${THROUGHPUT_TARGET}×`);
  else {
    const ratio = aggregate / single;
    console.log(`- aggregate ÷ single-VM throughput: **${ratio.toFixed(2)}×** (target ≥ ${THROUGHPUT_TARGET}×, ${ratio >= THROUGHPUT_TARGET ? 'met' : 'NOT met'})`);
  }
  console.log(`- failed jobs: **${failed.length + missing}** (target 0, ${failed.length + missing === 0 ? 'met' : 'NOT met'})`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
