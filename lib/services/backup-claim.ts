/**
 * One backup per item at a time: a backup claims the item (an ETag write of `activeBackup`) before it
 * runs and releases the claim when it ends. A claim whose job row is not written yet blocks others for
 * JOBLESS_CLAIM_GRACE_MS (an on-demand request claims before it writes its job); a claim left by a
 * finished job is taken over, and so is one whose job stopped reporting for STALE_CLAIM_MS.
 *
 * API:
 *   claimBackup(deps, vault, itemName, jobId, change?) (UserErrorBackupOperationInProgress)
 *   releaseBackup(deps, vault, itemName, jobId, change?) · withOnDemandBackup(item, at)
 *   runningJob(catalog, vault, jobId)
 */
import { nameRow, type JobRecord, type ProtectedItemRecord } from '../domain/catalog';
import { errors, isKluisErrorLike } from '../domain/errors';
import { updateDocument } from '../stores/document-store';
import type { VaultCatalog } from '../stores/vault-catalog';
import { failJob, isFinishedJobStatus, vaultPartitionOf, type VaultScope } from './jobs';
import type { ProtectionDeps } from './protection';

/** A claim whose job has not finished after this long is taken over by the next backup (its run died). */
export const STALE_CLAIM_MS = 24 * 3_600_000;
/**
 * An on-demand backup claims the item before it writes its job row: a claim without a job row is a
 * backup being started, and blocks others this long (after that its request is taken to have died).
 */
export const JOBLESS_CLAIM_GRACE_MS = 10 * 60_000;
/** On-demand backup times older than this are dropped from an item (the limit counts one day). */
const ON_DEMAND_HISTORY_MS = 2 * 86_400_000;

/**
 * Claims the item for backup job `jobId` with an ETag write. Refused (UserErrorBackupOperationInProgress,
 * naming the running job) while another job holds a claim whose job is still running, or whose job row
 * is not written yet (for JOBLESS_CLAIM_GRACE_MS); a claim left by a finished job is taken over, and so
 * is one whose job has run for STALE_CLAIM_MS without finishing (that job is failed). Claiming again
 * with the same job id succeeds.
 * `change` may edit the item in the same write (e.g. record an on-demand backup).
 */
export async function claimBackup(
  deps: Pick<ProtectionDeps, 'catalog' | 'clock'>,
  vault: VaultScope,
  itemName: string,
  jobId: string,
  change: (item: ProtectedItemRecord) => ProtectedItemRecord = (item) => item,
): Promise<ProtectedItemRecord> {
  const partition = vaultPartitionOf(vault);
  const row = nameRow(itemName);
  for (let attempt = 1; ; attempt++) {
    const current = await deps.catalog.items.get(partition, row);
    if (current === undefined) throw errors.datasourceNotPresent(itemName);
    const claim = current.value.activeBackup;
    if (claim !== undefined && claim.jobId !== jobId) {
      const claimAgeMs = deps.clock().getTime() - Date.parse(claim.startedAt);
      const claimJob = (await deps.catalog.jobs.get(partition, claim.jobId.toLowerCase()))?.value;
      if (claimJob === undefined && claimAgeMs < JOBLESS_CLAIM_GRACE_MS) throw errors.backupOperationInProgress(current.value.vm.name, claim.jobId);
      if (claimJob !== undefined && !isFinishedJobStatus(claimJob.status)) {
        if (claimAgeMs < STALE_CLAIM_MS) throw errors.backupOperationInProgress(current.value.vm.name, claim.jobId);
        // A run that stopped reporting a day ago (its host died before recording the end): fail its job, take over.
        await failJob(deps, vault, claim.jobId, errors.backupOperationFailed(`The backup job stopped reporting progress; it was failed when job ${jobId} started.`));
      }
    }
    const next = change({ ...current.value, activeBackup: { jobId, startedAt: deps.clock().toISOString() } });
    try {
      return (await deps.catalog.items.replace(partition, row, next, current.etag)).value;
    } catch (err) {
      if (attempt >= 5 || !isKluisErrorLike(err) || err.code !== 'KluisCatalogConflict') throw err;
    }
  }
}

/** Releases the claim of `jobId` (no-op when another job holds it or the item is gone); `change` edits the item in the same write. */
export async function releaseBackup(
  deps: Pick<ProtectionDeps, 'catalog'>,
  vault: VaultScope,
  itemName: string,
  jobId: string,
  change: (item: ProtectedItemRecord) => ProtectedItemRecord = (item) => item,
): Promise<ProtectedItemRecord | undefined> {
  const stored = await updateDocument(deps.catalog.items, vaultPartitionOf(vault), nameRow(itemName), (item) => {
    const changed = change(item);
    if (changed.activeBackup?.jobId !== jobId) return changed === item ? undefined : changed;
    const { activeBackup: _claim, ...rest } = changed;
    return rest;
  });
  return stored?.value;
}

/** Records an on-demand backup start in the item's recent history (pruned to two days). */
export function withOnDemandBackup(item: ProtectedItemRecord, at: Date): ProtectedItemRecord {
  const recent = item.onDemandBackups.filter((time) => at.getTime() - Date.parse(time) < ON_DEMAND_HISTORY_MS);
  return { ...item, onDemandBackups: [...recent, at.toISOString()] };
}

/** The job `jobId` while it runs; undefined once finished or when there is no such job. */
export async function runningJob(catalog: Pick<VaultCatalog, 'jobs'>, vault: VaultScope, jobId: string): Promise<JobRecord | undefined> {
  const job = (await catalog.jobs.get(vaultPartitionOf(vault), jobId.toLowerCase()))?.value;
  return job === undefined || isFinishedJobStatus(job.status) ? undefined : job;
}
