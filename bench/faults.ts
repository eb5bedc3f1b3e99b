/**
 * Issue 13 benchmark: what storage faults cost, and what `kluis check --read-data` costs.
 *
 *   npm run build && node dist/bench/faults.js [--disk-mib 256] [--data-percent 40] [--change-percent 5]
 *                    [--rates 0,0.01,0.05] [--seed bench] [--check-points 3] [--work-dir bench/.work]
 *
 * 1. **Journey throughput under faults.** For each rate: a fresh Azurite on disk (with Kluis's extensions), the
 *    fault proxies of the test suite (test/support/fault-proxy: seeded 503 ServerBusy with Retry-After, 500, 408,
 *    timeouts, resets before / during / after bodies, latency, 412 on conditional writes) in front of its Blob and
 *    Table endpoints, and the embedded host (product app, real clock, product retry settings) reaching the source,
 *    vault and restore storage only through them. The journey, as a user runs it: a VM of two disks, protected;
 *    a full backup; two incrementals after `--change-percent` of scattered writes; a restore of the last point to a
 *    storage account. A job that fails (retryably, by the test suite's promise) is run again, as the next
 *    scheduled run would, and its time counts. Faults are on for the backups and the restore only. Throughput =
 *    bytes backed up and restored ÷ wall time of those operations; the ratio is to the 0 % run of the same
 *    invocation.
 * 2. **Check speed.** On a host reaching Azurite directly, after `--check-points` backups of the same VM shape:
 *    `POST {vault}/check {readData: true}` (every block of every point re-read and its checksum verified)
 *    against a raw read of the same bytes — every replica snapshot's allocated ranges, 4 MiB calls, 4 in flight
 *    (bench/support/azurite-throughput.ts), in this process. Target: check ≤ 1.2× the raw read.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BlobServiceClient } from '@azure/storage-blob';
import { Command, InvalidArgumentError } from 'commander';
import { startAzurite, type RunningAzurite } from '../emulator/azurite';
import { azuriteExtensions } from '../emulator/cli';
import { ArmClient, msiTokenSource } from '../emulator/demo/arm-client';
import { noFaults, seededFaults } from '../test/support/fault-proxy/faults';
import { startFaultyStorage, type FaultyStorage } from '../test/support/fault-proxy/storage';
import { allocatedRanges, measureRawRead } from './support/azurite-throughput';
import { ClockFollower } from './support/clock-follower';
import { REPO_ROOT, startBenchHost, type BenchHost } from './support/host-process';
import { describeMachine } from './support/machine';
import { formatBytes, formatMs, formatThroughput, markdownTable, MIB } from './support/stats';
import { backupSizeOf, FINISHED_JOB_STATUSES, VaultApi, type ArmJob, type VmSpec } from './support/vault-api';

const SUBSCRIPTION = '3c9d2e1f-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
const VAULT_GROUP = 'rg-bench';
const VM_GROUP = 'rg-bench-vms';
const VAULT = 'bench-vault';
const LOCATION = 'westeurope';
const RESTORE_ACCOUNT = `/subscriptions/${SUBSCRIPTION}/resourceGroups/storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`;
const CHECK_TARGET = 1.2;
/**
 * The host runs on a fake clock that follows the wall clock (durable retry timers fire on time), from a Monday;
 * the VMs' policy backs up weekly on Sundays, so no scheduled backup runs while an invocation lasts. When failed
 * tries have used the day's three on-demand backups (Azure's limit), the clock jumps to the next day (not timed).
 */
const CLOCK_START = new Date('2026-03-02T00:30:00Z');
const POLICY = 'Weekly-Sunday';
const WEEKLY_SUNDAY = {
  backupManagementType: 'AzureIaasVM',
  timeZone: 'UTC',
  instantRpRetentionRangeInDays: 5,
  schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Weekly', scheduleRunDays: ['Sunday'], scheduleRunTimes: ['2026-01-01T23:30:00Z'] },
  retentionPolicy: {
    retentionPolicyType: 'LongTermRetentionPolicy',
    weeklySchedule: { daysOfTheWeek: ['Sunday'], retentionTimes: ['2026-01-01T23:30:00Z'], retentionDuration: { count: 4, durationType: 'Weeks' } },
  },
};
const DAY_MS = 86_400_000;
const JOB_POLL_IN_MS = 200;
const JOB_TIMEOUT_IN_MS = 30 * 60_000;
/** Tries of one operation under faults (a failed job is retryable by promise; the next try counts in the time). */
const MAX_TRIES = 5;

interface Options {
  diskMib: number;
  dataPercent: number;
  changePercent: number;
  rates: number[];
  seed: string;
  checkPoints: number;
  workDir: string;
}

interface Operation {
  what: string;
  ms: number;
  bytes: number;
  tries: number;
  failures: string[];
}

interface JourneyResult {
  rate: number;
  operations: Operation[];
  ms: number;
  bytes: number;
  faultsInjected: number;
  requests: number;
}

function parseRates(value: string): number[] {
  const rates = value.split(',').map(Number);
  if (rates.some((r) => !Number.isFinite(r) || r < 0 || r >= 1)) throw new InvalidArgumentError('rates are fractions in [0, 1), e.g. 0,0.01,0.05');
  return rates;
}

const positive = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number');
  return n;
};

async function main(): Promise<void> {
  const program = new Command()
    .option('--disk-mib <n>', 'size of each of the VM\'s two disks', positive, 256)
    .option('--data-percent <n>', 'share of each disk written at first (random 64 KiB blocks)', positive, 40)
    .option('--change-percent <n>', 'share of each disk rewritten before each incremental', positive, 5)
    .option('--rates <list>', 'fault rates per request', parseRates, [0, 0.01, 0.05])
    .option('--seed <s>', 'fault schedule seed', 'bench')
    .option('--check-points <n>', 'recovery points the check reads', positive, 3)
    .option('--work-dir <dir>', 'where Azurite keeps its data while a run lasts', 'bench/.work');
  program.parse();
  const opts = program.opts<Options>();
  const workDir = path.resolve(opts.workDir);
  await mkdir(workDir, { recursive: true });
  console.log(`faults benchmark: ${new Date().toISOString()} on ${describeMachine()}`);
  console.log(`command: node ${path.relative(process.cwd(), process.argv[1])} ${process.argv.slice(2).join(' ')}`.trimEnd());
  console.log(`VM: 2 disks of ${opts.diskMib} MiB, ${opts.dataPercent}% written, ${opts.changePercent}% rewritten before each incremental`);

  const journeys: JourneyResult[] = [];
  for (const rate of opts.rates) journeys.push(await withWorld(workDir, `faults-${rate}`, rate, (world) => journey(world, opts, rate)));
  const base = journeys.find((j) => j.rate === 0) ?? journeys[0];
  console.log('\n## Journey throughput under faults\n');
  console.log(
    markdownTable(
      ['fault rate', 'requests', 'faults injected', 'operations (tries)', 'wall time', 'throughput', 'ratio to 0 %'],
      journeys.map((j) => [
        `${(j.rate * 100).toFixed(0)} %`,
        String(j.requests),
        String(j.faultsInjected),
        j.operations.map((o) => `${o.what} ${formatMs(o.ms)}${o.tries > 1 ? ` (${o.tries}: ${o.failures.join(', ')})` : ''}`).join('; '),
        formatMs(j.ms),
        formatThroughput(j.bytes, j.ms),
        (j.bytes / j.ms / (base.bytes / base.ms)).toFixed(2),
      ]),
    ),
  );

  const check = await withWorld(workDir, 'check', undefined, (world) => checkSpeed(world, opts));
  console.log('\n## Vault check with readData against a raw read of the same bytes\n');
  console.log(
    markdownTable(
      ['recovery points', 'check verified', 'check time', 'check throughput', 'raw read', 'raw time', 'raw throughput', 'check ÷ raw', `target ≤ ${CHECK_TARGET}`],
      [[
        String(check.recoveryPoints),
        formatBytes(check.bytesVerified),
        formatMs(check.checkMs),
        formatThroughput(check.bytesVerified, check.checkMs),
        formatBytes(check.rawBytes),
        formatMs(check.rawMs),
        formatThroughput(check.rawBytes, check.rawMs),
        (check.checkMs / check.rawMs).toFixed(2),
        check.checkMs / check.rawMs <= CHECK_TARGET ? 'met' : '**not met**',
      ]],
    ),
  );
  const resultsFile = path.join(workDir, `faults-results-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(resultsFile, JSON.stringify({ machine: describeMachine(), options: opts, journeys, check }, null, 2));
  console.log(`\nraw results: ${path.relative(process.cwd(), resultsFile)}`);
}

interface World {
  azurite: RunningAzurite;
  host: BenchHost;
  api: VaultApi;
  clock: ClockFollower;
  proxies?: FaultyStorage;
}

/** A fresh Azurite on disk and a host on it; with `rate`, the host reaches its data storage through fault proxies. */
async function withWorld<T>(workDir: string, name: string, rate: number | undefined, work: (world: World) => Promise<T>): Promise<T> {
  const location = path.join(workDir, `${name}-azurite`);
  await rm(location, { recursive: true, force: true });
  const azurite = await startAzurite({ location, extensions: [...azuriteExtensions], startupTimeoutInMs: 120_000 });
  let proxies: FaultyStorage | undefined;
  let host: BenchHost | undefined;
  try {
    proxies = rate === undefined ? undefined : await startFaultyStorage(azurite.connectionString);
    const data = proxies?.connectionString ?? '';
    host = await startBenchHost({
      app: REPO_ROOT,
      storage: azurite.connectionString,
      env: { KLUIS_SUBSCRIPTION_ID: SUBSCRIPTION, KLUIS_SOURCE_STORAGE: data, KLUIS_VAULT_STORAGE: data, KLUIS_RESTORE_STORAGE: data },
      args: ['--fake-clock', CLOCK_START.toISOString()],
      signIn: true,
    });
    if (host.msiEndpoint === undefined || host.msiSecret === undefined) throw new Error('The benchmark host runs no identity endpoint to sign in with.');
    const client = new ArmClient(host.origin, { tokenSource: msiTokenSource(host.msiEndpoint, host.msiSecret) });
    const api = new VaultApi(host.origin, host.masterKey, SUBSCRIPTION, async () => (await client.accessToken()) ?? '');
    for (const group of [VAULT_GROUP, VM_GROUP]) await api.createResourceGroup(group, LOCATION);
    await api.createVault(VAULT_GROUP, VAULT, LOCATION);
    await api.putPolicy(VAULT_GROUP, VAULT, POLICY, WEEKLY_SUNDAY);
    const clock = new ClockFollower(api, await api.clockNow());
    return await work({ azurite, host, api, clock, proxies });
  } catch (err) {
    if (host) console.error(`host output (tail):\n${host.outputTail()}`);
    throw err;
  } finally {
    await host?.stop();
    await proxies?.close();
    await azurite.stop();
    await rm(location, { recursive: true, force: true });
  }
}

function vmOf(name: string, opts: Options): VmSpec {
  return { resourceGroup: VM_GROUP, name, osType: 'Linux', location: LOCATION, dataDisks: 1, diskBytes: opts.diskMib * MIB, dataPercent: opts.dataPercent };
}

async function protectedVm(api: VaultApi, opts: Options, name: string): Promise<VmSpec> {
  const vm = vmOf(name, opts);
  await api.createVm(vm);
  await api.refreshContainers(VAULT_GROUP, VAULT);
  await api.protect(VAULT_GROUP, VAULT, vm, POLICY);
  return vm;
}

async function finished({ api, clock }: World, jobId: string): Promise<ArmJob> {
  for (const deadline = Date.now() + JOB_TIMEOUT_IN_MS; ; ) {
    await clock.step();
    // A poll answered with a fault (the API's 503, a reset) is asked again: the job runs on regardless.
    const job = await api.job(VAULT_GROUP, VAULT, jobId).catch(() => undefined);
    if (job !== undefined && FINISHED_JOB_STATUSES.includes(job.properties.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job?.properties.status ?? 'unknown (its polls failed)'}`);
    await new Promise((resolve) => setTimeout(resolve, JOB_POLL_IN_MS));
  }
}

/** Runs `start` until its job completes (a retryable failure is tried again); its time includes every try. */
async function untilCompleted(world: World, what: string, start: () => Promise<string>, bytesOf: (job: ArmJob) => number): Promise<Operation> {
  const failures: string[] = [];
  let began = performance.now();
  for (let tries = 1; tries <= MAX_TRIES; tries++) {
    let job: ArmJob;
    try {
      job = await finished(world, await start());
    } catch (err) {
      const message = (err as Error).message;
      if (message.includes('UserErrorOnDemandBackupLimitReached')) {
        const jumpStarted = performance.now();
        const now = await world.api.clockNow();
        await world.clock.jumpTo(new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS + DAY_MS + 30 * 60_000));
        began += performance.now() - jumpStarted;
        tries -= 1;
        continue;
      }
      // The request itself can be answered 503 under faults (the API's retryable answer): the user retries.
      failures.push(message.slice(0, 80));
      continue;
    }
    if (job.properties.status === 'Completed') return { what, ms: performance.now() - began, bytes: bytesOf(job), tries, failures };
    failures.push(job.properties.errorDetails?.[0]?.errorTitle ?? job.properties.status);
  }
  throw new Error(`${what}: not completed in ${MAX_TRIES} tries: ${failures.join('; ')}`);
}

async function journey(world: World, opts: Options, rate: number): Promise<JourneyResult> {
  const { api, proxies } = world;
  const vm = await protectedVm(api, opts, `journey-${(rate * 100).toFixed(0)}`);
  world.clock.follow();
  const faults = rate === 0 ? noFaults : seededFaults({ seed: `${opts.seed}-${rate}`, rate, retryAfterSeconds: 1 });
  const operations: Operation[] = [];
  const counts = () => ({ requests: proxies!.blob.requestCount() + proxies!.table.requestCount(), faults: proxies!.blob.injected().length + proxies!.table.injected().length });
  const measured = { requests: 0, faults: 0 };
  const underFaults = async (operation: () => Promise<Operation>) => {
    const before = counts();
    proxies!.setSchedule(faults);
    try {
      operations.push(await operation());
    } finally {
      proxies!.setSchedule(noFaults);
      const after = counts();
      measured.requests += after.requests - before.requests;
      measured.faults += after.faults - before.faults;
    }
  };
  const backupBytes = (job: ArmJob) => backupSizeOf(job) ?? 0;
  let lastPoint = '';
  for (let round = 0; round < 3; round++) {
    if (round > 0) await api.fabric(vm, 'writeData', { percent: opts.changePercent, seed: `change-${round}` });
    await underFaults(async () => {
      const op = await untilCompleted(world, round === 0 ? 'full' : `incremental ${round}`, () => api.backupNow(VAULT_GROUP, VAULT, vm), (job) => {
        lastPoint = job.properties.extendedInfo.propertyBag['Recovery point'];
        return backupBytes(job);
      });
      console.log(`  ${(rate * 100).toFixed(0)} %: ${op.what} ${formatMs(op.ms)}, ${formatBytes(op.bytes)}, ${op.tries} ${op.tries === 1 ? 'try' : 'tries'}`);
      return op;
    });
  }
  const restoredBytes = 2 * opts.diskMib * MIB * (opts.dataPercent / 100);
  await underFaults(async () => {
    const op = await untilCompleted(world, 'restore', () => api.restoreDisks(VAULT_GROUP, VAULT, vm, lastPoint, RESTORE_ACCOUNT), () => restoredBytes);
    console.log(`  ${(rate * 100).toFixed(0)} %: restore ${formatMs(op.ms)}, ${op.tries} ${op.tries === 1 ? 'try' : 'tries'}`);
    return op;
  });
  const ms = operations.reduce((sum, o) => sum + o.ms, 0);
  const bytes = operations.reduce((sum, o) => sum + o.bytes, 0);
  return {
    rate,
    operations,
    ms,
    bytes,
    faultsInjected: measured.faults,
    requests: measured.requests,
  };
}

async function checkSpeed(world: World, opts: Options): Promise<{ recoveryPoints: number; bytesVerified: number; checkMs: number; rawBytes: number; rawMs: number }> {
  const { api, azurite } = world;
  const vm = await protectedVm(api, opts, 'checked');
  world.clock.follow();
  for (let point = 0; point < opts.checkPoints; point++) {
    if (point > 0) await api.fabric(vm, 'writeData', { percent: opts.changePercent, seed: `check-${point}` });
    await untilCompleted(world, `backup ${point}`, () => api.backupNow(VAULT_GROUP, VAULT, vm), () => 0);
  }
  const began = performance.now();
  const report = await api.checkVault(VAULT_GROUP, VAULT, { readData: true });
  const checkMs = performance.now() - began;
  if (!report.healthy) throw new Error(`the vault check found problems: ${JSON.stringify(report.problems).slice(0, 2000)}`);

  // The same bytes, raw: every replica snapshot's allocated ranges (the listing is not timed).
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  let rawBytes = 0;
  let rawMs = 0;
  for await (const container of service.listContainers()) {
    const client = service.getContainerClient(container.name);
    for await (const blob of client.listBlobsFlat({ includeSnapshots: true })) {
      if (blob.snapshot === undefined || !blob.name.endsWith('/replica.vhd')) continue;
      const snapshot = client.getPageBlobClient(blob.name).withSnapshot(blob.snapshot);
      const read = await measureRawRead(snapshot, await allocatedRanges(snapshot));
      rawBytes += read.bytes;
      rawMs += read.ms;
    }
  }
  return { recoveryPoints: report.recoveryPoints, bytesVerified: report.bytesVerified, checkMs, rawBytes, rawMs };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
