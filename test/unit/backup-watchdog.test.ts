/**
 * The backup watchdog (lib/services/backup-watchdog.ts) on an in-memory catalog, with the Durable runtime's
 * answers scripted: every way a run can end without its bookkeeping is finalized, the claim released and the
 * leftovers swept; running runs and fresh claims are left alone.
 */
import { vaultKey, type JobRecord } from '../../lib/domain/catalog';
import { JOBLESS_CLAIM_GRACE_MS } from '../../lib/services/backup-claim';
import { watchBackups, type BackupRunState, type BackupRuns, type WatchdogDeps } from '../../lib/services/backup-watchdog';
import { createJob, type VaultScope } from '../../lib/services/jobs';
import { memoryVaultCatalog } from '../../lib/stores/vault-catalog';
import { itemRecord, putItem, vaultRecord, vaultRef } from '../support/vault-fixtures';

const NOW = new Date('2026-03-02T10:00:00.000Z');
const ref = vaultRef();
const record = vaultRecord(ref.subscriptionId, ref.resourceGroup, ref.vaultName);
const scope: VaultScope = { id: record.id, subscriptionId: record.subscriptionId, resourceGroup: record.resourceGroup, name: record.name };
const partition = vaultKey(ref.subscriptionId, ref.resourceGroup, ref.vaultName);
const views = { itemId: 'item-web1', recoveryPointId: '1772445000000', disks: [{ lun: 0 }] };

async function world(run: BackupRunState, options: { job?: 'InProgress' | 'Completed' | 'none'; claimAgeMs?: number } = {}) {
  const catalog = memoryVaultCatalog();
  await catalog.vaults.insert(ref.subscriptionId, `${ref.resourceGroup}~${ref.vaultName}`.toLowerCase(), record);
  const item = itemRecord(ref, 'web1');
  item.activeBackup = { jobId: 'job-1', startedAt: new Date(NOW.getTime() - (options.claimAgeMs ?? 60_000)).toISOString() };
  await putItem(catalog, ref, item);
  const jobDeps = { catalog, clock: () => new Date(NOW.getTime() - 60_000), newId: () => 'unused' };
  if (options.job !== 'none') {
    await createJob(jobDeps, scope, { jobId: 'job-1', operation: 'Backup', entityFriendlyName: 'web1', itemName: item.itemName, isUserTriggered: true, ...(options.job === 'Completed' ? { status: 'Completed' as const } : {}) });
  }
  const swept: unknown[] = [];
  const stopped: string[] = [];
  const runs: BackupRuns = { state: async () => run, sweep: async (r) => void swept.push(r), stop: async (ids) => void stopped.push(...ids) };
  const deps: WatchdogDeps = { catalog, clock: () => NOW, runs, log: { info: () => undefined, warn: () => undefined } };
  const job = async () => (await catalog.jobs.get(partition, 'job-1'))?.value as JobRecord;
  const claim = async () => (await catalog.items.get(partition, item.itemName.toLowerCase()))?.value.activeBackup;
  return { deps, swept, stopped, job, claim };
}

describe('the backup watchdog', () => {
  it('leaves a running backup alone', async () => {
    const w = await world({ status: 'Running' });
    expect(await watchBackups(w.deps)).toEqual([]);
    expect((await w.job()).status).toBe('InProgress');
    expect(await w.claim()).toBeDefined();
    expect(w.swept).toEqual([]);
  });

  it('fails the job of a terminated run with a retryable code, sweeps its views and blobs, and releases the claim', async () => {
    const w = await world({ status: 'Terminated', reason: 'by an operator', recoveryPointId: views.recoveryPointId, views });
    const actions = await watchBackups(w.deps);
    expect(actions).toEqual([expect.objectContaining({ jobId: 'job-1', action: 'finalized', outcome: expect.stringMatching(/^Failed/) })]);
    const job = await w.job();
    expect(job.status).toBe('Failed');
    expect(job.errorDetails?.[0]).toMatchObject({ errorCode: 'KluisBackupRunEnded', errorString: expect.stringContaining('terminated (by an operator)') });
    expect(await w.claim()).toBeUndefined();
    expect(w.swept).toEqual([{ itemId: 'item-web1', jobId: 'job-1', recoveryPointId: views.recoveryPointId, views }]);
  });

  it('stops the parts of a terminated run that still run, and finishes the run only once they have ended', async () => {
    const parts = ['job-1:disks', 'job-1:lun0'];
    const run: BackupRunState = { status: 'Terminated', reason: 'by an operator', recoveryPointId: views.recoveryPointId, views, runningParts: parts };
    const w = await world(run);
    expect(await watchBackups(w.deps)).toEqual([expect.objectContaining({ jobId: 'job-1', action: 'stopping' })]);
    expect(w.stopped).toEqual(parts);
    // Nothing swept, recorded or released while a part can still write or commit.
    expect(w.swept).toEqual([]);
    expect((await w.job()).status).toBe('InProgress');
    expect(await w.claim()).toBeDefined();
    // The next tick: the parts have ended.
    delete (run as { runningParts?: string[] }).runningParts;
    expect(await watchBackups(w.deps)).toEqual([expect.objectContaining({ jobId: 'job-1', action: 'finalized' })]);
    expect(w.swept).toHaveLength(1);
    expect((await w.job()).status).toBe('Failed');
    expect(await w.claim()).toBeUndefined();
  });

  it('fails the job of a run failed by an uncaught error with that error’s code', async () => {
    const w = await world({ status: 'Failed', failure: 'Orchestrator function failed: KluisError [KluisStorageUnavailable]: The storage service is unavailable.', views });
    await watchBackups(w.deps);
    expect((await w.job()).errorDetails?.[0]).toMatchObject({ errorCode: 'KluisStorageUnavailable' });
    expect(await w.claim()).toBeUndefined();
    expect(w.swept).toHaveLength(1);
  });

  it('records the end of a run that completed but could not record it, without sweeping its committed point', async () => {
    const w = await world({ status: 'Completed', output: { status: 'Completed', recoveryPointId: '1772445000000', warnings: [] } });
    await watchBackups(w.deps);
    const job = await w.job();
    expect(job.status).toBe('Completed');
    expect(job.propertyBag['Recovery point']).toBe('1772445000000');
    expect(await w.claim()).toBeUndefined();
    expect(w.swept).toEqual([]);
  });

  it('fails a job whose orchestration never started, once the grace for starting has passed', async () => {
    const fresh = await world({ status: 'NotFound' }, { claimAgeMs: 60_000 });
    expect(await watchBackups(fresh.deps)).toEqual([]);
    const old = await world({ status: 'NotFound' }, { claimAgeMs: JOBLESS_CLAIM_GRACE_MS + 1 });
    await watchBackups(old.deps);
    expect((await old.job()).errorDetails?.[0]).toMatchObject({ errorCode: 'KluisBackupRunEnded' });
    expect(await old.claim()).toBeUndefined();
  });

  it('releases a claim without a job after its grace, and one whose job already ended', async () => {
    const jobless = await world({ status: 'NotFound' }, { job: 'none', claimAgeMs: JOBLESS_CLAIM_GRACE_MS + 1 });
    expect(await watchBackups(jobless.deps)).toEqual([expect.objectContaining({ action: 'released' })]);
    expect(await jobless.claim()).toBeUndefined();
    const ended = await world({ status: 'Completed', output: {} }, { job: 'Completed' });
    expect(await watchBackups(ended.deps)).toEqual([expect.objectContaining({ action: 'released' })]);
    expect(await ended.claim()).toBeUndefined();
  });
});
