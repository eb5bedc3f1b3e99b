/**
 * The soak (issue 13): one Kluis host on a fake clock lives through a simulated stretch of time (a year at full
 * size) of random disk writes, scheduled and on-demand backups, policy edits and policy switches, retention, and
 * SIGKILLs of the host at random points (during a backup, during a clock jump), restarted in place on the same
 * storage and Durable hub. At the end nothing is stuck, every backup ended Completed or Failed with a retryable
 * code, no point outlived its expiry past the hourly cleanup, `kluis check --read-data` finds nothing wrong, and
 * every recovery point left restores byte-identical to the disks as they were when it was taken.
 *
 * Sizes and seed by environment (the seed is printed; a failure names it):
 *   KLUIS_SOAK_CYCLES  cycles (default 4 — the reduced size `npm test` runs, well under a minute; `npm run soak` runs 1,000)
 *   KLUIS_SOAK_DAYS    simulated days (default 365 × cycles / 1,000, at least 4)
 *   KLUIS_SOAK_SEED    the seed (default 'kluis-soak-1'; 'random' draws a fresh one, as `npm run soak` does unless given one)
 *
 * A disk's content changes only between backups (the driver writes only when nothing runs, after moving the
 * clock on), so the content of a point is that of the last write at or before the point's time (its id).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { blobService, useAzurite } from '../support/azurite';
import { REPO_ROOT, http, sleep, startHostProcess, writeSecretsFile, type HostProcess } from '../support/host-process';
import { subscriptionEnv } from '../support/arm-tenancy';
import { isolatedAppSettings, restoredDiskHashes, sha256, vaultApi, type ErrorEnvelope, type JobProperties, type Resource } from '../support/vault-api';
import { seededRandom } from '../../emulator/seeded-random';
import { isRetryableCode } from '../../lib/domain/errors';
import { soakPolicy, randomPolicyShape, slotsBetween, type PolicyShape } from '../support/soak-model';

const APP = process.env.KLUIS_E2E_APP ? path.resolve(process.env.KLUIS_E2E_APP) : REPO_ROOT;
const CYCLES = Number(process.env.KLUIS_SOAK_CYCLES ?? 4);
const DAYS = Number(process.env.KLUIS_SOAK_DAYS ?? Math.max(4, Math.round((CYCLES * 365) / 1000)));
const SEED = process.env.KLUIS_SOAK_SEED === 'random' ? randomBytes(6).toString('hex') : (process.env.KLUIS_SOAK_SEED ?? 'kluis-soak-1');
const SUB = '3b9f2c1d-5e6a-4b7c-8d9e-0f1a2b3c4d5e';
const START = '2027-01-01T00:00:00.000Z';
const VAULT = 'soak-vault';
const VM = 'soak1';
const POLICIES = ['SoakA', 'SoakB'] as const;
const MIB = 1024 * 1024;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const STAMP = `k${Date.now().toString(36)}`;
const RESTORE_ACCOUNT = `/subscriptions/${SUB}/resourceGroups/storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`;
/** Chances per cycle. */
const P = { write: 0.7, onDemand: 0.3, policyEdit: 0.06, policySwitch: 0.04, killDuringBackup: 0.25, killDuringAdvance: 0.04 };

/** The disks' hashes after one write, from its fake time on. */
interface Generation {
  at: number;
  disks: Map<string, string>;
}

const azurite = useAzurite();

describe(`soak: ${CYCLES} cycles over ${DAYS} simulated days, seed ${SEED}`, () => {
  const { file: secretsFile } = writeSecretsFile();
  let host: HostProcess;
  const api = vaultApi(() => host, { subscriptionId: SUB, storage: () => azurite().connectionString });
  const key = () => ({ 'x-functions-key': host.secrets.masterKey });
  const random = seededRandom(SEED);
  const chance = (p: number) => random.nextInt(1_000_000) < p * 1_000_000;
  const between = (min: number, max: number) => min + random.nextInt(max - min + 1);
  const log: string[] = [];
  const say = (line: string) => log.push(line);
  let restarts = 0;
  /** Wall seconds per phase, for the summary. */
  const phases: string[] = [];
  let phaseStart = Date.now();
  const phase = (name: string) => {
    phases.push(`${name} ${((Date.now() - phaseStart) / 1000).toFixed(1)} s`);
    phaseStart = Date.now();
  };

  const startHost = (at: string) =>
    startHostProcess({
      app: APP,
      storage: azurite().connectionString,
      hubName: `Soak${STAMP}`,
      secretsFile,
      env: { ...isolatedAppSettings(STAMP), ...subscriptionEnv(SUB) },
      extraArgs: ['--fake-clock', at],
    });

  async function now(): Promise<number> {
    return (await api.clockNow()).getTime();
  }

  async function advanceTo(at: number): Promise<void> {
    await api.advanceClock({ to: new Date(at).toISOString() });
  }

  /** SIGKILL, then the same host (storage, hub, keys, settings) again at fake time `at`. */
  async function restart(at: number, why: string): Promise<void> {
    await host.kill('SIGKILL');
    restarts++;
    say(`${new Date(at).toISOString()} SIGKILL ${why}`);
    const began = Date.now();
    host = await startHost(new Date(at).toISOString());
    if (process.env.KLUIS_SOAK_TRACE) console.log(`restarted in ${Date.now() - began} ms`);
  }

  /**
   * Waits until nothing runs: no timer invocation in flight or coalesced, no Durable instance Pending or Running, no
   * job InProgress. While it waits, time moves 30 s every 250 ms, so retry timers, the watchdog and a claim's
   * grace period come (as on a real clock).
   */
  async function settled(what: string, timeoutInMs = 180_000): Promise<void> {
    const deadline = Date.now() + timeoutInMs;
    const began = Date.now();
    for (;;) {
      const busy = await busyWith();
      if (busy === undefined) {
        if (process.env.KLUIS_SOAK_TRACE) console.log(`settled ${what} in ${Date.now() - began} ms`);
        return;
      }
      if (Date.now() > deadline) throw new Error(`seed ${SEED}: ${what}: still busy after ${timeoutInMs} ms: ${busy}\n${host.outputTail()}`);
      await sleep(250);
      if ((await busyWith()) !== undefined) await api.advanceClock({ ms: 30_000 });
    }
  }

  /** What still runs (timers in flight or due, Durable instances Pending or Running, jobs InProgress), or undefined. */
  async function busyWith(): Promise<string | undefined> {
    const timersBusy = async () => {
      const clock = await http<{ now: string; timers: Array<{ functionName: string; next: string; running: boolean }> }>(`${host.origin}/admin/clock`, { headers: key() });
      if (clock.status !== 200) return `the clock answered ${clock.status}`;
      const busy = clock.body.timers.filter((t) => t.running || Date.parse(t.next) <= Date.parse(clock.body.now));
      return busy.length === 0 ? undefined : `timers ${busy.map((t) => `${t.functionName} (${t.running ? 'running' : `due ${t.next}`})`).join(', ')}`;
    };
    const timers = await timersBusy();
    if (timers !== undefined) return timers;
    const running = await http<Array<{ instanceId: string; name: string; runtimeStatus: string }>>(`${host.origin}/runtime/webhooks/durabletask/instances?runtimeStatus=Pending,Running&code=${encodeURIComponent(host.secrets.masterKey)}`);
    if (running.status !== 200 || !Array.isArray(running.body)) return `the instance list answered ${running.status}`;
    if (running.body.length > 0) return `instances ${running.body.map((i) => `${i.name} ${i.instanceId} ${i.runtimeStatus}`).join(', ')}`;
    const jobs = await http<{ value: Array<{ name: string; properties: { operation: string; entityFriendlyName: string } }> }>(`${api.vaultUrl(VAULT)}/backupJobs?api-version=2023-06-01&$filter=${encodeURIComponent("status eq 'InProgress'")}`);
    if (jobs.status !== 200) return `the job list answered ${jobs.status}`;
    if (jobs.body.value.length > 0) return `jobs ${jobs.body.value.map((j) => `${j.properties.operation} of ${j.properties.entityFriendlyName} ${j.name}`).join(', ')}`;
    return timersBusy();
  }

  const generations: Generation[] = [];
  async function recordDisks(at: number): Promise<void> {
    generations.push({ at, disks: new Map([...(await api.diskBytes(VM))].map(([disk, bytes]) => [disk, sha256(bytes)])) });
  }
  const contentAt = (time: number) => generations.filter((g) => g.at <= time).at(-1)!;

  /** Restores a point's disks into the restore account; the job's status and failure, and the restored disks' hashes. */
  async function restoreDisks(pointName: string): Promise<{ status: string; failure?: string; disks: Map<string, string> }> {
    const response = await api.arm<ErrorEnvelope>(`${api.itemUrl(VAULT, VM)}/recoveryPoints/${pointName}/restore`, {
      method: 'POST',
      body: { properties: { objectType: 'IaasVMRestoreRequest', recoveryPointId: pointName, recoveryType: 'RestoreDisks', sourceResourceId: api.vmId(VM), region: 'westeurope', storageAccountId: RESTORE_ACCOUNT } },
    });
    const job = await api.jobOf(VAULT, response, 120_000);
    if (job.properties.status !== 'Completed') return { status: job.properties.status, failure: job.properties.errorDetails?.[0]?.errorTitle, disks: new Map<string, string>() };
    const disks = await restoredDiskHashes(azurite().connectionString, job);
    await blobService(azurite().connectionString).getContainerClient(job.properties.extendedInfo.propertyBag['Config Blob Container Name']).delete();
    return { status: job.properties.status, disks };
  }

  const policies = new Map<string, PolicyShape>();
  let itemPolicy: string = POLICIES[0];
  const onDemandPerDay = new Map<string, number>();

  async function putPolicy(name: string, shape: PolicyShape): Promise<void> {
    const response = await api.putPolicy(VAULT, name, soakPolicy(shape));
    if (response.status !== 200 && response.status !== 202) throw new Error(`seed ${SEED}: policy ${name}: ${response.status} ${response.text}`);
    if (response.status === 202) expect((await api.settle(response)).status).toBe('Succeeded');
    policies.set(name, shape);
  }

  beforeAll(async () => {
    console.log(`soak: seed ${SEED} (KLUIS_SOAK_SEED=${SEED} reproduces it), ${CYCLES} cycles over ${DAYS} days`);
    host = await startHost(START);
    await api.createResourceGroup();
    expect((await api.createVault(VAULT)).status).toBe(201);
    for (const name of POLICIES) await putPolicy(name, randomPolicyShape(random));
    await api.createVm(VM, { osType: 'Linux', osDisk: { sizeBytes: 2 * MIB }, dataDisks: [{ lun: 0, sizeBytes: MIB }], initialData: { percent: 30, seed: `${SEED}-initial` } });
    await recordDisks(await now());
    expect((await api.jobOf(VAULT, await api.enable(VAULT, VM, itemPolicy))).properties.status).toBe('Completed');
  }, 90_000);

  afterAll(async () => {
    await host?.stop();
  });

  it('keeps every point restorable byte-identical through writes, backups, policy changes, retention and SIGKILLs', async () => {
    const started = Date.now();
    phase('setup');
    const end = Date.parse(START) + DAYS * DAY;
    const meanStep = (DAYS * DAY) / CYCLES;
    let killedDuringBackup = false;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      // A moment passes before anything is written, so no point taken before it shares its time.
      await advanceTo((await now()) + 60_000);
      if (chance(P.write)) {
        await api.fabric(VM, 'writeData', { percent: between(1, 25), seed: `${SEED}-w${cycle}` });
        await recordDisks(await now());
      }
      if (chance(P.policyEdit)) {
        const name = POLICIES[random.nextInt(POLICIES.length)];
        const shape = randomPolicyShape(random);
        await putPolicy(name, shape);
        say(`${new Date(await now()).toISOString()} policy ${name} := ${JSON.stringify(shape)}`);
        await settled(`after editing ${name}`);
      }
      if (chance(P.policySwitch)) {
        itemPolicy = POLICIES.find((p) => p !== itemPolicy)!;
        expect((await api.jobOf(VAULT, await api.enable(VAULT, VM, itemPolicy))).properties.status).toBe('Completed');
        say(`${new Date(await now()).toISOString()} item → ${itemPolicy}`);
      }
      // The minute that just passed may have started a scheduled slot (the model's slots end at the last cycle's
      // target): an on-demand backup sent while it runs is refused (UserErrorBackupOperationInProgress, as Azure's).
      await settled(`cycle ${cycle}: before the on-demand backup`);
      const today = new Date(await now()).toISOString().slice(0, 10);
      if (chance(P.onDemand) && (onDemandPerDay.get(today) ?? 0) < 3) {
        const retainUntil = new Date((await now()) + between(1, 60) * DAY).toISOString();
        const response = await api.backupNow(VAULT, VM, { recoveryPointExpiryTimeInUTC: retainUntil });
        expect({ seed: SEED, cycle, status: response.status, body: response.status === 202 ? '' : response.text }).toEqual({ seed: SEED, cycle, status: 202, body: '' });
        onDemandPerDay.set(today, (onDemandPerDay.get(today) ?? 0) + 1);
        // The first on-demand backup is always killed, so even the reduced soak restarts the host mid-backup.
        if (chance(P.killDuringBackup) || !killedDuringBackup) {
          killedDuringBackup = true;
          await sleep(random.nextInt(1500));
          await restart(await now(), 'during an on-demand backup');
        }
        await settled(`cycle ${cycle}: the on-demand backup`);
      }
      // The clock moves on, stopping just after each scheduled slot until its backup has run (a jump far past a
      // slot skips it, as Azure skips a slot missed for more than 2 hours).
      const target = Math.min(end, (await now()) + Math.round(meanStep * (0.5 + random.nextInt(1000) / 1000)));
      // From 8 cycles on, the middle cycle's jump is always killed (the reduced soak restarts once, mid-backup, to stay cheap).
      if (chance(P.killDuringAdvance) || (CYCLES >= 8 && cycle === Math.floor(CYCLES / 2))) {
        const jump = api.advanceClock({ to: new Date(target).toISOString() }).catch(() => undefined);
        await sleep(random.nextInt(400));
        await restart(target, 'during a clock jump');
        await jump;
      } else {
        for (const slot of slotsBetween(policies.get(itemPolicy)!, await now(), target)) {
          await advanceTo(Math.max(await now(), slot + 5 * 60_000));
          await settled(`cycle ${cycle}: the slot ${new Date(slot).toISOString()}`);
        }
        if ((await now()) < target) await advanceTo(target);
      }
      await settled(`cycle ${cycle}`);
      if (cycle % 50 === 49) console.log(`soak: ${cycle + 1}/${CYCLES} cycles, ${new Date(await now()).toISOString()}, ${Math.round((Date.now() - started) / 1000)} s`);
    }

    phase('cycles');
    // The next hour's cleanup, then nothing left running.
    const cleanupAt = Math.floor((await now()) / HOUR) * HOUR + HOUR;
    await advanceTo(cleanupAt + 60_000);
    await settled('the last cleanup');
    const finalTime = await now();

    phase('last cleanup');
    // Every backup ended, Completed or Failed with a retryable code.
    const backups = await api.jobs(VAULT, "operation eq 'Backup'");
    const outcomes = new Map<string, number>();
    for (const job of backups) {
      const outcome = `${job.properties.isUserTriggered ? 'on-demand' : 'scheduled'} ${job.properties.status}${job.properties.errorDetails?.[0] ? ` ${job.properties.errorDetails[0].errorTitle}` : ''}`;
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    // A scheduled slot that comes while another backup of the item still runs (two slots close together after a
    // policy edit or switch, or a restart) fails with UserErrorBackupOperationInProgress, as Azure's does.
    const refusedSlot = (j: Resource<JobProperties>) => !j.properties.isUserTriggered && j.properties.errorDetails?.[0]?.errorTitle === 'UserErrorBackupOperationInProgress';
    const notRetryable = backups.filter(
      (j) => j.properties.status !== 'Completed' && j.properties.status !== 'CompletedWithWarnings' && !refusedSlot(j) && !isRetryableCode(j.properties.errorDetails?.[0]?.errorTitle ?? ''),
    );
    expect({ seed: SEED, notRetryable: notRetryable.map(describeJob) }).toEqual({ seed: SEED, notRetryable: [] });
    expect(backups.filter((j) => j.properties.status === 'Completed').length).toBeGreaterThan(0);
    // Every other job (protection, policy switches, the cleanups' deletions) completed; no cleanup run failed.
    const others = (await api.jobs(VAULT)).filter((j) => j.properties.operation !== 'Backup' && j.properties.status !== 'Completed');
    expect({ seed: SEED, others: others.map((j) => `${j.properties.operation} ${describeJob(j)}`) }).toEqual({ seed: SEED, others: [] });
    const failedCleanups = await http<Array<{ instanceId: string; output: unknown }>>(
      `${host.origin}/runtime/webhooks/durabletask/instances?instanceIdPrefix=retention-&runtimeStatus=Failed,Terminated&code=${encodeURIComponent(host.secrets.masterKey)}`,
    );
    expect({ seed: SEED, failedCleanups: failedCleanups.body }).toEqual({ seed: SEED, failedCleanups: [] });

    // Retention: no point outlived its expiry past the last hourly cleanup.
    const points = await api.recoveryPoints(VAULT, VM);
    const overdue = points.filter((p) => p.properties.recoveryPointProperties?.expiryTime !== undefined && Date.parse(p.properties.recoveryPointProperties.expiryTime) <= cleanupAt);
    expect({ seed: SEED, overdue: overdue.map((p) => `${p.name} ${JSON.stringify(p.properties.recoveryPointProperties)}`) }).toEqual({ seed: SEED, overdue: [] });

    // The vault check re-reads every block of every point and finds nothing wrong.
    const token = await host.accessToken();
    const check = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [path.join(REPO_ROOT, 'bin', 'kluis.js'), 'check', '--vault', VAULT, '-g', 'rg-backup', '--subscription', SUB, '--url', host.origin, '--read-data'], { env: { ...process.env, KLUIS_TOKEN: token }, maxBuffer: 16 * MIB }, (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
      );
    });
    expect({ seed: SEED, code: check.code, stderr: check.stderr, report: check.code === 0 ? '' : check.stdout }).toEqual({ seed: SEED, code: 0, stderr: '', report: '' });
    const report = JSON.parse(check.stdout) as { healthy: boolean; recoveryPoints: number; bytesVerified: number };
    expect(report).toMatchObject({ healthy: true, recoveryPoints: points.length });

    phase('check --read-data');
    // Every point left restores byte-identical to the disks when it was taken.
    const mismatches: string[] = [];
    const queue = [...points];
    const restoreNext = async (): Promise<void> => {
      for (let point = queue.shift(); point !== undefined; point = queue.shift()) {
        const restored = await restoreDisks(point.name);
        const expected = contentAt(Date.parse(point.properties.recoveryPointTime)).disks;
        if (restored.status !== 'Completed' || JSON.stringify([...restored.disks].sort()) !== JSON.stringify([...expected].sort())) {
          mismatches.push(`${point.name} (${point.properties.recoveryPointTime}): ${restored.status} ${restored.failure ?? ''} ${JSON.stringify([...restored.disks])} expected ${JSON.stringify([...expected])}`);
        }
      }
    };
    // Two at a time: restores of one item may run side by side.
    await Promise.all([restoreNext(), restoreNext()]);
    expect({ seed: SEED, mismatches }).toEqual({ seed: SEED, mismatches: [] });

    phase('restores');
    console.log(
      [
        `soak: seed ${SEED}, ${CYCLES} cycles, ${START} → ${new Date(finalTime).toISOString()}, ${Math.round((Date.now() - started) / 1000)} s`,
        `  ${restarts} SIGKILL restarts, ${generations.length} disk writes, ${points.length} points restored byte-identical, ${report.bytesVerified} bytes verified by check --read-data`,
        `  wall time: ${phases.join(', ')}`,
        ...[...outcomes].sort().map(([outcome, count]) => `  ${count} × ${outcome}`),
        ...log.slice(-20).map((line) => `  ${line}`),
      ].join('\n'),
    );
  }, 60_000 + CYCLES * 20_000);
});

function describeJob(job: Resource<JobProperties>): string {
  const error = job.properties.errorDetails?.[0];
  return `${job.name} ${job.properties.isUserTriggered ? 'on-demand' : 'scheduled'} ${job.properties.startTime} ${job.properties.status} ${error ? `${error.errorTitle}: ${error.errorString}` : ''}`;
}
