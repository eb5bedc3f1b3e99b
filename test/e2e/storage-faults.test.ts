/**
 * Kluis with its storage misbehaving (issue 13), end to end: the embedded host's app reaches the source,
 * vault and restore accounts (Blob and Tables) only through fault proxies (test/support/fault-proxy), while
 * the host's own Durable state stays direct (the Functions runtime is not under test). A fake clock runs;
 * a pump advances it while the test waits, so activity retry timers fire at once.
 *
 * - The API with storage frozen or down answers 503 KluisStorageUnavailable with Retry-After, quickly.
 * - Backups under 1, 5 and 10 % seeded faults on every storage request (three seeds each; KLUIS_FAULT_SEED picks
 *   others) end Completed or Failed with a retryable code — never InProgress; a later backup without faults
 *   succeeds; every completed point restores byte-identical under 5 % faults or fails retryably, and restores
 *   byte-identical without; every other point expires within hours and the hourly retention deletes it under the
 *   next round's faults; then the vault check (readData) finds nothing wrong.
 * - Soft delete, undelete and the purge 14 days later under 1, 5 and 10 % faults: each step ends done, and the
 *   purge leaves no blob of the item.
 * - A backup terminated from outside (page-blob VM, managed-disk VM) is finished by the watchdog: its
 *   sub-orchestrations stopped first, job Failed with a retryable code, claim released, its views (snapshots,
 *   restore points and their SAS) and scratch blobs swept, its point never committed; the next backup runs.
 * - `POST {vault}/check` and `kluis check` (exit code, JSON report) find nothing wrong with readData after all
 *   this, find a lost replica snapshot and an orphan blob, and repair removes the orphan only.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { blobService, useAzurite } from '../support/azurite';
import { REPO_ROOT, http, pollStatus, sleep, startHostProcess, type HostProcess } from '../support/host-process';
import { subscriptionEnv } from '../support/arm-tenancy';
import { isolatedAppSettings, restoredDiskHashes, sha256, vaultApi, type ErrorEnvelope, type JobProperties, type Resource } from '../support/vault-api';
import { startFaultyStorage, type FaultyStorage } from '../support/fault-proxy/storage';
import { always, noFaults, requests, scriptedFaults, seededFaults } from '../support/fault-proxy/faults';
import { hostComputeClient } from '../support/host-compute';
import { isRetryableCode } from '../../lib/domain/errors';

const APP = process.env.KLUIS_E2E_APP ? path.resolve(process.env.KLUIS_E2E_APP) : REPO_ROOT;
const SUB = '5d3e1f2a-4b6c-4d8e-9f0a-1b2c3d4e5f60';
const START = '2026-03-02T08:00:00.000Z';
const VAULT = 'faulty-vault';
const VM = 'flaky1';
const MIB = 1024 * 1024;
const INSTANT_GROUP = 'AzureBackupRG_westeurope_1';
const STAMP = `f${Date.now().toString(36)}`;
/** Another set of seeds for the fault journey (e.g. KLUIS_FAULT_SEED=x7 npx jest test/e2e/storage-faults.test.ts), to hunt rare interleavings. */
const SEED = process.env.KLUIS_FAULT_SEED ?? '';
const RESTORE_ACCOUNT = `/subscriptions/${SUB}/resourceGroups/storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`;
/** The SDK layer, small and fast for the test: 3 tries, short backoff, 1.5 s per try. */
const RETRY_ENV = {
  KLUIS_STORAGE_MAX_TRIES: '3',
  KLUIS_STORAGE_RETRY_DELAY_MS: '50',
  KLUIS_STORAGE_MAX_RETRY_DELAY_MS: '200',
  KLUIS_STORAGE_TRY_TIMEOUT_MS: '1500',
  KLUIS_CATALOG_TRY_TIMEOUT_MS: '1500',
  KLUIS_STORAGE_MAX_RETRY_AFTER_MS: '300',
};

const azurite = useAzurite();

describe('Kluis with its storage behind fault proxies (embedded host, fake clock)', () => {
  let host: HostProcess;
  let storage: FaultyStorage;
  const api = vaultApi(() => host, { subscriptionId: SUB, storage: () => azurite().connectionString });
  const key = () => ({ 'x-functions-key': host.secrets.masterKey });

  /** Moves the fake clock on by `stepMs` every 200 ms until `done` resolves (activity retry timers fire). */
  async function pumping<T>(done: Promise<T>, stepMs = 15_000): Promise<T> {
    let finished = false;
    const settled = done.finally(() => (finished = true));
    while (!finished) {
      await Promise.race([settled.catch(() => undefined), sleep(200)]);
      if (!finished) await http(`${host.origin}/admin/clock/advance`, { method: 'POST', body: { ms: stepMs }, headers: key() });
    }
    return settled;
  }

  /** GETs the job until it is no longer InProgress (answers other than 200, e.g. a 503 while faults last, are polled again). */
  async function finishedJob(jobId: string, timeoutInMs = 120_000): Promise<Resource<JobProperties>> {
    const deadline = Date.now() + timeoutInMs;
    for (;;) {
      const response = await http<Resource<JobProperties>>(`${api.vaultUrl(VAULT)}/backupJobs/${jobId}?api-version=2023-06-01`);
      if (response.status === 200 && !['InProgress', 'Cancelling'].includes(response.body.properties.status)) return response.body;
      if (Date.now() > deadline) throw new Error(`job ${jobId} still ${response.status} ${response.text.slice(0, 500)}\n${host.outputTail()}`);
      await sleep(250);
    }
  }

  /**
   * POST backup until a backup job runs, and return its id. Under faults the answer can be lost after the
   * job started (503, then 409 naming the running job: that job is the one), or a claim can be left without
   * a job (409 naming a job that does not exist, until the claim's grace period passes: the pump moves time).
   */
  async function startBackup(vm = VM, retainUntil?: Date): Promise<string> {
    const properties = { objectType: 'IaasVMBackupRequest', ...(retainUntil === undefined ? {} : { recoveryPointExpiryTimeInUTC: retainUntil.toISOString() }) };
    for (let attempt = 1; ; attempt++) {
      const response = await http<ErrorEnvelope>(`${api.itemUrl(VAULT, vm)}/backup?api-version=2023-06-01`, { method: 'POST', body: { properties } });
      if (response.status === 202) return statusOfOperation(response.headers.get('azure-asyncoperation')!);
      const running = response.status === 409 && response.body.error.code === 'UserErrorBackupOperationInProgress' ? /\(job ([^)]+)\)/.exec(response.body.error.message)?.[1] : undefined;
      if (running !== undefined && (await jobExists(running))) return running;
      if ((response.status !== 503 && running === undefined) || attempt >= 50) {
        throw new Error(`backup now: ${response.status} ${response.text}\n${host.logs().filter((r) => /Request failed/.test(r.message)).map((r) => r.message).join('\n')}`);
      }
      await http(`${host.origin}/admin/clock/advance`, { method: 'POST', body: { ms: 60_000 }, headers: key() });
      await sleep(100);
    }
  }

  /**
   * Moves the clock on by `ms` (its timers fire once, late), waits until the hourly retention timer has run for
   * the new time, then (the clock pumped: retries under faults wait for durable timers) until no retention run is
   * left running. Retention here runs under whatever faults are scheduled.
   */
  async function advanceWithRetention(ms: number): Promise<void> {
    const now = await api.advanceClock({ ms });
    for (const deadline = Date.now() + 30_000; ; ) {
      const { body } = await http<{ timers: Array<{ functionName: string; next: string; running: boolean }> }>(`${host.origin}/admin/clock`, { headers: key() });
      const timer = body.timers.find((t) => t.functionName === 'retentionCleanup');
      if (timer !== undefined && !timer.running && Date.parse(timer.next) > now.getTime()) break;
      if (Date.now() > deadline) throw new Error(`the retention timer did not run at ${now.toISOString()}: ${JSON.stringify(timer)}`);
      await sleep(50);
    }
    await pumping(api.orchestrationsIdle('retention-', 120_000));
  }

  /** Sends an ARM call until it is answered with something else than 503 (faults can answer any call so). */
  async function through503<T>(url: string, request: { method: string; body?: unknown }): Promise<Awaited<ReturnType<typeof http<T>>>> {
    for (let attempt = 1; ; attempt++) {
      const response = await http<T>(`${url}?api-version=2023-06-01`, request);
      if (response.status !== 503 || attempt >= 30) return response;
      await sleep(100);
    }
  }

  /** Resolves once no Backup job of the vault is InProgress. */
  async function untilNoBackupRuns(): Promise<void> {
    for (const deadline = Date.now() + 60_000; ; ) {
      const response = await http<{ value: Array<Resource<JobProperties>> }>(`${api.vaultUrl(VAULT)}/backupJobs?api-version=2023-06-01&$filter=${encodeURIComponent("operation eq 'Backup' and status eq 'InProgress'")}`);
      if (response.status === 200 && response.body.value.length === 0) return;
      if (Date.now() > deadline) throw new Error(`backups still running: ${response.text.slice(0, 500)}`);
      await sleep(200);
    }
  }

  /** Whether the job exists (a 503 under faults is asked again). */
  async function jobExists(jobId: string): Promise<boolean> {
    for (;;) {
      const status = (await http(`${api.vaultUrl(VAULT)}/backupJobs/${jobId}?api-version=2023-06-01`)).status;
      if (status === 200 || status === 404) return status === 200;
      await sleep(100);
    }
  }

  async function statusOfOperation(url: string): Promise<string> {
    for (const deadline = Date.now() + 60_000; ; ) {
      const response = await http<{ status: string; properties?: { jobId?: string } }>(url);
      if (response.status === 200 && response.body.properties?.jobId !== undefined) return response.body.properties.jobId;
      if (Date.now() > deadline) throw new Error(`operation ${url}: ${response.status} ${response.text}`);
      await sleep(150);
    }
  }

  /** Restores a point's disks (the POST retried while faults answer it 503); its job's status, failure code and the restored disks' hashes. */
  async function restoreDisks(pointName: string): Promise<{ status: string; failure?: string; disks: Map<string, string> }> {
    let response: Awaited<ReturnType<typeof http<ErrorEnvelope>>>;
    for (let attempt = 1; ; attempt++) {
      response = await http<ErrorEnvelope>(`${api.itemUrl(VAULT, VM)}/recoveryPoints/${pointName}/restore?api-version=2023-06-01`, {
        method: 'POST',
        body: { properties: { objectType: 'IaasVMRestoreRequest', recoveryPointId: pointName, recoveryType: 'RestoreDisks', sourceResourceId: api.vmId(VM), region: 'westeurope', storageAccountId: RESTORE_ACCOUNT } },
      });
      if (response.status === 202) break;
      if (response.status !== 503 || attempt >= 20) throw new Error(`restore: ${response.status} ${response.text}`);
      await sleep(100);
    }
    const job = await finishedJob(await statusOfOperation(response.headers.get('azure-asyncoperation')!));
    if (job.properties.status !== 'Completed') return { status: job.properties.status, failure: job.properties.errorDetails?.[0]?.errorTitle, disks: new Map<string, string>() };
    const disks = await restoredDiskHashes(azurite().connectionString, job);
    return { status: job.properties.status, disks };
  }

  beforeAll(async () => {
    storage = await startFaultyStorage(azurite().connectionString);
    host = await startHostProcess({
      app: APP,
      storage: azurite().connectionString,
      hubName: `Faults${STAMP}`,
      env: {
        ...isolatedAppSettings(STAMP),
        ...subscriptionEnv(SUB),
        ...RETRY_ENV,
        KLUIS_SOURCE_STORAGE: storage.connectionString,
        KLUIS_VAULT_STORAGE: storage.connectionString,
        KLUIS_RESTORE_STORAGE: storage.connectionString,
      },
      extraArgs: ['--fake-clock', START],
    });
    await api.createResourceGroup();
    expect((await api.createVault(VAULT)).status).toBe(201);
    await api.createVm(VM, { osType: 'Linux', osDisk: { sizeBytes: 4 * MIB }, dataDisks: [{ lun: 0, sizeBytes: 2 * MIB }] });
    expect((await api.jobOf(VAULT, await api.enable(VAULT, VM))).properties.status).toBe('Completed');
  }, 90_000);

  afterEach(() => storage.setSchedule(noFaults));
  afterAll(async () => {
    await host?.stop();
    await storage?.close();
  });

  it('answers 503 KluisStorageUnavailable with Retry-After while the catalog is frozen or down, and 200 once it is back', async () => {
    const jobsUrl = `${api.vaultUrl(VAULT)}/backupJobs?api-version=2023-06-01`;
    for (const outage of [always({ kind: 'hang' }), always({ kind: 'reset', at: 'before-request-body' }), always({ kind: 'status', status: 503, code: 'ServerBusy' })]) {
      storage.table.setSchedule(outage);
      const started = Date.now();
      const response = await http<ErrorEnvelope>(jobsUrl);
      expect({ status: response.status, code: response.body.error?.code }).toEqual({ status: 503, code: 'KluisStorageUnavailable' });
      expect(response.headers.get('retry-after')).toBe('10');
      expect(response.body.error.recommendation).toMatch(/retry/i);
      // 3 tries of at most 1.5 s each plus short backoff.
      expect(Date.now() - started).toBeLessThan(8_000);
    }
    storage.table.setSchedule(noFaults);
    expect((await http(jobsUrl)).status).toBe(200);
  }, 60_000);

  it('ends every backup under 1, 5 and 10 % faults (three seeds each) Completed or Failed with a retryable code; restores under faults are byte-identical or fail retryably; a later backup succeeds', async () => {
    const pointsAt = new Map<string, Map<string, string>>();
    /** Points taken to expire within hours: retention deletes them under the next rounds' faults. */
    const expiring: string[] = [];
    const outcomes: string[] = [];
    let round = 0;
    for (const rate of [0.01, 0.05, 0.1]) {
      for (const seed of ['s1', 's2', 's3']) {
        const faults = seededFaults({ seed: `${SEED}${rate}-${seed}`, rate, retryAfterSeconds: 1 });
        // A new day for each round (3 on-demand backups a day on Standard policies); the day's retention run
        // (expired points' snapshots, replica snapshots, manifests and rows) meets this round's faults.
        storage.setSchedule(faults);
        await advanceWithRetention(24 * 3_600_000);
        storage.setSchedule(noFaults);
        await api.fabric(VM, 'writeData', { percent: 10, seed: `round-${rate}-${seed}` });
        const atBackup = new Map([...(await api.diskBytes(VM))].map(([disk, bytes]) => [disk, sha256(bytes)]));
        // Every other point is retained only two hours (on-demand retain-until): it expires before the next round.
        const expires = round++ % 2 === 1;
        const retainUntil = expires ? new Date((await api.clockNow()).getTime() + 2 * 3_600_000) : undefined;
        storage.setSchedule(faults);
        const job = await pumping(finishedJob(await startBackup(VM, retainUntil)));
        storage.setSchedule(noFaults);
        const failure = job.properties.errorDetails?.[0]?.errorTitle;
        outcomes.push(`${rate}/${seed}: ${job.properties.status}${failure ? ` ${failure}` : ''}`);
        expect(['Completed', 'CompletedWithWarnings', 'Failed']).toContain(job.properties.status);
        if (job.properties.status === 'Failed') expect({ rate, seed, failure, retryable: isRetryableCode(failure ?? '') }).toEqual({ rate, seed, failure, retryable: true });
        else if (expires) expiring.push(job.properties.extendedInfo.propertyBag['Recovery point']);
        else pointsAt.set(job.properties.extendedInfo.propertyBag['Recovery point'], atBackup);
      }
    }
    expect(storage.blob.injected().length + storage.table.injected().length).toBeGreaterThan(0);

    // Without faults, the next backup succeeds; the hour after it, retention has deleted every expired point (the
    // latest point outlives its expiry until a later backup succeeds, as Azure keeps it).
    await advanceWithRetention(24 * 3_600_000);
    const atLast = new Map([...(await api.diskBytes(VM))].map(([disk, bytes]) => [disk, sha256(bytes)]));
    const last = await pumping(finishedJob(await startBackup()));
    expect({ outcomes, last: last.properties.status }).toEqual({ outcomes, last: 'Completed' });
    pointsAt.set(last.properties.extendedInfo.propertyBag['Recovery point'], atLast);
    await advanceWithRetention(3_600_000);
    expect(expiring.length).toBeGreaterThan(0);
    const remaining = (await api.recoveryPoints(VAULT, VM)).map((p) => p.name);
    expect({ deletedByRetention: expiring.filter((point) => !remaining.includes(point)) }).toEqual({ deletedByRetention: expiring });
    const retentionRuns = await api.jobs(VAULT, "operation eq 'DeleteBackupData'");
    expect(retentionRuns.filter((j) => j.properties.status === 'InProgress')).toEqual([]);

    // Restores under 5 % faults: byte-identical, or failed with a retryable code and then byte-identical without faults.
    const points = await api.recoveryPoints(VAULT, VM);
    for (const [point, bytes] of pointsAt) {
      expect(points.map((p) => p.name)).toContain(point);
      storage.setSchedule(seededFaults({ seed: `${SEED}restore-${point}`, rate: 0.05 }));
      const underFaults = await pumping(restoreDisks(point));
      storage.setSchedule(noFaults);
      if (underFaults.status === 'Completed') expect(underFaults.disks).toEqual(bytes);
      else expect({ point, failure: underFaults.failure, retryable: isRetryableCode(underFaults.failure ?? '') }).toEqual({ point, failure: underFaults.failure, retryable: true });
      expect((await restoreDisks(point)).disks).toEqual(bytes);
    }

    // After the faults, the vault is sound: every committed point has its blobs, its vault copy verifies, and a
    // point the catalog lists with a snapshot tier still has its instant snapshots.
    const report = await http<{ healthy: boolean; problems: unknown[] }>(`${api.vaultUrl(VAULT)}/check?api-version=2023-06-01`, { method: 'POST', body: { properties: { readData: true } } });
    if (report.body.problems?.length) console.log(host.logs().filter((r) => /snapshot|view/i.test(r.message)).map((r) => `${r.time ?? ''} ${r.message}`).join('\n'));
    expect({ status: report.status, problems: report.body.problems, outcomes }).toEqual({ status: 200, problems: [], outcomes });
  }, 300_000);

  it('soft-deletes, undeletes and purges an item under 1, 5 and 10 % faults: every step ends done (retried while answered 503), and the purge leaves no blob of the item', async () => {
    const vm = 'softdel1';
    await api.createVm(vm, { osType: 'Linux', osDisk: { sizeBytes: MIB }, initialData: { percent: 30, seed: vm } });
    const vaultContainer = blobService(azurite().connectionString).getContainerClient(`vault-${STAMP}`);
    const blobNames = async () => {
      const names = new Set<string>();
      for await (const blob of vaultContainer.listBlobsFlat({ prefix: 'items/' })) names.add(blob.name);
      return names;
    };
    const item = () => through503<Resource<{ isScheduledForDeferredDelete?: boolean; protectionState?: string }>>(api.itemUrl(VAULT, vm), { method: 'GET' });
    /** DELETE or PUT-undelete until the item is in the wanted state: an answer lost to a fault is sent again (then refused: already done). */
    const changeItem = async (request: { method: string; body?: unknown }, softDeleted: boolean) => {
      for (let attempt = 1; ; attempt++) {
        const response = await through503<ErrorEnvelope>(api.itemUrl(VAULT, vm), request);
        if (response.status === 202) await pumping(finishedJob(await statusOfOperation(response.headers.get('azure-asyncoperation')!)));
        const now = await item();
        if (now.status === 200 && (now.body.properties.isScheduledForDeferredDelete === true) === softDeleted) return;
        if (attempt >= 5) throw new Error(`${request.method} ${vm}: ${response.status} ${response.text}; item ${now.status} ${now.text}`);
      }
    };
    for (const rate of [0.01, 0.05, 0.1]) {
      const before = await blobNames();
      expect((await api.jobOf(VAULT, await api.enable(VAULT, vm))).properties.status).toBe('Completed');
      expect((await pumping(finishedJob(await startBackup(vm)))).properties.status).toBe('Completed');
      const itemPrefixes = new Set([...(await blobNames())].filter((name) => !before.has(name)).map((name) => name.split('/').slice(0, 2).join('/')));
      expect(itemPrefixes.size).toBe(1);
      const [itemPrefix] = itemPrefixes;

      storage.setSchedule(seededFaults({ seed: `${SEED}soft-delete-${rate}`, rate, retryAfterSeconds: 1 }));
      await changeItem({ method: 'DELETE' }, true);
      await changeItem({ method: 'PUT', body: { properties: { protectedItemType: 'Microsoft.Compute/virtualMachines', isRehydrate: true } } }, false);
      await changeItem({ method: 'DELETE' }, true);
      // The 14 soft-delete days pass: the hourly retention run purges the item under the same faults.
      await advanceWithRetention(15 * 24 * 3_600_000);
      storage.setSchedule(noFaults);
      // A purge a fault interrupted finishes in the next hour's run.
      await advanceWithRetention(3_600_000);
      expect((await item()).status).toBe(404);
      expect({ rate, left: [...(await blobNames())].filter((name) => name.startsWith(`${itemPrefix}/`)) }).toEqual({ rate, left: [] });
    }
  }, 240_000);

  const durable = (instance: string, action = '') => `${host.origin}/runtime/webhooks/durabletask/instances/${encodeURIComponent(instance)}${action}?code=${encodeURIComponent(host.secrets.masterKey)}`;

  /**
   * Starts a backup of `vm` whose page uploads to the vault never answer (it opens its views, then stalls in its
   * transfer: its retry timers wait for the clock), checks its views exist, terminates its orchestration from outside
   * and lets the watchdog come (the clock pumped). Terminating a Durable orchestration does not end its
   * sub-orchestrations: the run's engine part (backupDisks and a backupDisk per disk) still runs, and without the
   * watchdog stopping it, it would commit the point after the watchdog swept its views and released the claim (a
   * committed point without its instant snapshots, two runs writing the item's replica). Storage heals once the job is
   * finalized; the run's parts have all ended by then and stay ended. Returns the job and the run's point.
   */
  async function terminatedBackup(vm: string, luns: number, viewsOf: (recoveryPointId: string) => Promise<string[]>): Promise<{ job: Resource<JobProperties>; jobId: string; recoveryPointId: string }> {
    // Advancing a day may have started the day's scheduled backup: let it end, so the backup below is ours.
    await pumping(untilNoBackupRuns());
    storage.blob.setSchedule(scriptedFaults([{ match: requests.all(requests.pageUpload, requests.path(new RegExp(`/vault-${STAMP}/`))), fault: { kind: 'hang' }, times: Infinity }]));
    const jobId = await startBackup(vm);
    type Status = { runtimeStatus: string; customStatus?: { stage?: string; recoveryPointId?: string } };
    // The Durable status answers 202 while the instance runs.
    const instance = (until: (status: Status) => boolean) => pollStatus(durable(jobId), (status) => until(status as never), 30_000, 100) as Promise<Status>;
    const running = await instance((status) => status.customStatus?.stage === 'transfer');
    const recoveryPointId = running.customStatus!.recoveryPointId!;
    expect(await viewsOf(recoveryPointId)).not.toEqual([]);
    expect((await http(durable(jobId, '/terminate') + '&reason=stopped%20by%20an%20operator', { method: 'POST' })).status).toBe(202);
    await instance((status) => status.runtimeStatus === 'Terminated');

    const parts = [`${jobId}:disks`, ...Array.from({ length: luns }, (_, lun) => `${jobId}:lun${lun}`)];
    const partsRunning = async () => {
      const still: string[] = [];
      for (const part of parts) {
        const status = await http<{ runtimeStatus?: string }>(durable(part));
        if (status.status === 202 || !['Completed', 'Failed', 'Terminated'].includes(status.body.runtimeStatus ?? '')) still.push(`${part} ${status.status} ${status.body.runtimeStatus}`);
      }
      return still;
    };
    expect(await partsRunning()).not.toEqual([]);
    // Without the watchdog the job stays InProgress and the claim blocks the item for a day. The uploads still hang,
    // so the engine part is still in its transfer when the watchdog comes.
    const job = await pumping(finishedJob(jobId, 30_000), 60_000);
    expect(await partsRunning()).toEqual([]);
    storage.setSchedule(noFaults);
    await pumping(sleep(2_000));
    expect(await partsRunning()).toEqual([]);
    expect(job.properties.status).toBe('Failed');
    expect(job.properties.errorDetails?.[0]).toMatchObject({ errorTitle: 'KluisBackupRunEnded', errorString: expect.stringContaining('terminated') });
    expect(isRetryableCode(job.properties.errorDetails![0].errorTitle)).toBe(true);
    expect(await viewsOf(recoveryPointId)).toEqual([]);
    return { job, jobId, recoveryPointId };
  }

  /**
   * Nothing of the run is left: no point; the next backup completes; then no scratch blob of the job (the watchdog
   * swept them; one a transfer still in flight when its run was stopped wrote later, the next backup deletes: it
   * takes the replica over from that job); the vault checks healthy.
   */
  async function expectRunGone(vm: string, jobId: string, recoveryPointId: string): Promise<void> {
    expect((await api.recoveryPoints(VAULT, vm)).map((p) => p.name)).not.toContain(recoveryPointId);
    // The item is free again: the next backup runs and completes; the terminated run never commits its point.
    const next = await pumping(finishedJob(await startBackup(vm)));
    expect(next.properties.status).toBe('Completed');
    expect((await api.recoveryPoints(VAULT, vm)).map((p) => p.name)).not.toContain(recoveryPointId);
    const scratch: string[] = [];
    for await (const blob of blobService(azurite().connectionString).getContainerClient(`vault-${STAMP}`).listBlobsFlat({ prefix: 'items/' })) if (blob.name.includes(`/jobs/${jobId}/`)) scratch.push(blob.name);
    expect(scratch).toEqual([]);
    const report = await http<{ problems: unknown[] }>(`${api.vaultUrl(VAULT)}/check?api-version=2023-06-01`, { method: 'POST', body: { properties: { readData: true } } });
    expect({ status: report.status, problems: report.body.problems }).toEqual({ status: 200, problems: [] });
  }

  it('finishes the bookkeeping of a backup terminated from outside: its parts stopped, job Failed (retryable), claim released, views and scratch blobs swept', async () => {
    await pumping(http(`${host.origin}/admin/clock/advance`, { method: 'POST', body: { ms: 24 * 3_600_000 }, headers: key() }));
    const vm = await http<{ disks: Array<{ vhdUri: string }> }>(`${host.origin}/fabric/subscriptions/${SUB}/resourceGroups/rg-vms/virtualMachines/${VM}`);
    const diskContainer = blobService(azurite().connectionString).getContainerClient(new URL(vm.body.disks[0].vhdUri).pathname.split('/')[2]);
    const snapshotsOf = async (recoveryPointId: string) => {
      const found: string[] = [];
      for await (const blob of diskContainer.listBlobsFlat({ includeSnapshots: true, includeMetadata: true })) {
        if (blob.snapshot !== undefined && blob.metadata?.kluisrecoverypointid === recoveryPointId) found.push(`${blob.name}@${blob.snapshot}`);
      }
      return found;
    };
    await api.fabric(VM, 'writeData', { percent: 20, seed: 'terminated-run' });
    const { jobId, recoveryPointId } = await terminatedBackup(VM, 2, snapshotsOf);
    await expectRunGone(VM, jobId, recoveryPointId);
  }, 120_000);

  it('finishes a terminated backup of a managed-disk VM the same way: its restore point deleted, no SAS left on any disk or disk restore point', async () => {
    const managed = 'flakymd';
    const { client: compute } = await hostComputeClient(host, SUB);
    await api.createVm(managed, { osType: 'Linux', managedDisks: true, osDisk: { sizeBytes: 4 * MIB }, dataDisks: [{ lun: 0, sizeBytes: 2 * MIB }], initialData: { percent: 40, seed: managed } });
    expect((await api.settle(await api.arm(`${api.vaultUrl(VAULT)}/backupFabrics/Azure/refreshContainers`, { method: 'POST' }))).status).toBe('Succeeded');
    expect((await api.jobOf(VAULT, await api.enable(VAULT, managed))).properties.status).toBe('Completed');
    const restorePoints = async () => {
      const names: Array<{ name: string; collection: string }> = [];
      for await (const collection of compute.restorePointCollections.list(INSTANT_GROUP)) {
        const expanded = await compute.restorePointCollections.get(INSTANT_GROUP, collection.name!, { expand: 'restorePoints' });
        for (const rp of expanded.restorePoints ?? []) names.push({ name: rp.name!, collection: collection.name! });
      }
      return names;
    };
    const restorePointsOf = async (recoveryPointId: string) => (await restorePoints()).filter((rp) => rp.name.startsWith(`${recoveryPointId}_`)).map((rp) => rp.name);

    const { jobId, recoveryPointId } = await terminatedBackup(managed, 2, restorePointsOf);
    // No SAS outstanding: no disk is Active, and every disk restore point left grants access anew.
    for await (const disk of compute.disks.list()) expect({ disk: disk.name, state: disk.diskState }).not.toMatchObject({ state: expect.stringMatching(/^Active/) });
    for (const rp of await restorePoints()) {
      for await (const drp of compute.diskRestorePointOperations.listByRestorePoint(INSTANT_GROUP, rp.collection, rp.name)) {
        await compute.diskRestorePointOperations.beginGrantAccessAndWait(INSTANT_GROUP, rp.collection, rp.name, drp.name!, { access: 'Read', durationInSeconds: 60 });
        await compute.diskRestorePointOperations.beginRevokeAccessAndWait(INSTANT_GROUP, rp.collection, rp.name, drp.name!);
      }
    }
    await expectRunGone(managed, jobId, recoveryPointId);
  }, 180_000);

  it('checks the vault: nothing wrong with --read-data after a backup, then a planted orphan and a lost replica snapshot are found, and repair removes the orphan only', async () => {
    const check = (properties: Record<string, boolean> = {}) =>
      http<{ healthy: boolean; recoveryPoints: number; bytesVerified: number; problems: Array<{ kind: string; itemName?: string; recoveryPointId?: string; repaired?: boolean }> }>(
        `${api.vaultUrl(VAULT)}/check?api-version=2023-06-01`,
        { method: 'POST', body: { properties } },
      );
    await pumping(http(`${host.origin}/admin/clock/advance`, { method: 'POST', body: { ms: 24 * 3_600_000 }, headers: key() }));
    expect((await pumping(finishedJob(await startBackup()))).properties.status).toBe('Completed');
    // The command line: exit code 0 and the JSON report while nothing is wrong.
    const cli = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [path.join(REPO_ROOT, 'bin', 'kluis.js'), 'check', '--vault', VAULT, '-g', 'rg-backup', '--subscription', SUB, ...args], { env: { ...process.env, KLUIS_TOKEN: token } }, (err, stdout, stderr) =>
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
        );
      });
    const token = await host.accessToken();
    const clean = await cli('--url', host.origin, '--read-data');
    if (clean.code !== 0) console.log(clean.stdout + '\n' + host.logs().filter((r) => /snapshot|view|watchdog|Expired|Deleted/i.test(r.message)).map((r) => `${r.time ?? ''} ${r.message}`).join('\n'));
    expect({ code: clean.code, stderr: clean.stderr, report: clean.code === 0 ? '' : clean.stdout }).toEqual({ code: 0, stderr: '', report: '' });
    expect(JSON.parse(clean.stdout)).toMatchObject({ healthy: true, readData: true, problems: [] });

    const sound = await check({ readData: true });
    expect(sound.status).toBe(200);
    expect(sound.body).toMatchObject({ healthy: true, problems: [] });
    expect(sound.body.recoveryPoints).toBeGreaterThan(0);
    expect(sound.body.bytesVerified).toBeGreaterThan(0);

    const vaultContainer = blobService(azurite().connectionString).getContainerClient(`vault-${STAMP}`);
    let replica: { name: string; snapshot: string; point: string } | undefined;
    let itemPrefix = '';
    for await (const blob of vaultContainer.listBlobsFlat({ includeSnapshots: true, includeMetadata: true, prefix: 'items/' })) {
      if (blob.snapshot !== undefined && blob.name.endsWith('/replica.vhd')) {
        replica = { name: blob.name, snapshot: blob.snapshot, point: blob.metadata?.kluisrecoverypointid ?? '' };
        itemPrefix = blob.name.split('/disks/')[0];
      }
    }
    expect(replica).toBeDefined();
    await vaultContainer.getPageBlobClient(replica!.name).withSnapshot(replica!.snapshot).delete();
    const orphan = `${itemPrefix}/recoveryPoints/1000000000000/manifest.json`;
    await vaultContainer.getBlockBlobClient(orphan).upload('{}', 2);

    const found = await check();
    expect(found.body.healthy).toBe(false);
    expect(found.body.problems.map((p) => p.kind).sort()).toEqual(['OrphanBlob', 'ReplicaSnapshotMissing']);
    expect(found.body.problems.find((p) => p.kind === 'ReplicaSnapshotMissing')).toMatchObject({ itemName: expect.stringMatching(/^VM;iaasvmcontainerv2;rg-vms;/), recoveryPointId: replica!.point });
    expect(await vaultContainer.getBlobClient(orphan).exists()).toBe(true);
    const repaired = await check({ repair: true });
    expect(repaired.body.problems.map((p) => `${p.kind}:${p.repaired === true}`).sort()).toEqual(['OrphanBlob:true', 'ReplicaSnapshotMissing:false']);
    expect(await vaultContainer.getBlobClient(orphan).exists()).toBe(false);
    expect((await check()).body.problems.map((p) => p.kind)).toEqual(['ReplicaSnapshotMissing']);
    const broken = await cli('--url', host.origin);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ healthy: false, problems: [{ kind: 'ReplicaSnapshotMissing' }] });
  }, 120_000);

});
