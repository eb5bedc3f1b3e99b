/**
 * Stop protection and delete data (the DELETE of `…/protectedItems/{i}`): with the vault's soft delete
 * on, the item is soft-deleted — kept, visible and ProtectionStopped, until its purge date (undelete is
 * a PUT, in protection.ts); with it off, its recovery points are purged now. Plus the purge itself and
 * the soft-deleted items whose purge date has passed, for the retention cleanup.
 *
 * API:
 *   deleteProtectedItem(deps, vault, names, data?): ProtectionChange | undefined (no such item)
 *   purgeItem(deps, data, vault, item) · itemsDueForPurge(deps, vault)
 */
import { nameRow, type ProtectedItemRecord, type VaultRecord } from '../domain/catalog';
import { errors } from '../domain/errors';
import { assertPointsMayBeDeleted } from '../domain/immutability';
import type { StoredRecoveryPoint } from '../stores/recovery-point-catalog';
import { collect } from '../stores/document-store';
import { runningJob } from './backup-claim';
import type { DeleteRecoveryPointDeps } from '../engine/recovery-points/delete-recovery-point';
import { deleteItemVaultData } from '../engine/recovery-points/delete-item-data';
import { completeJob, createJob, failJob, vaultPartitionOf, type VaultScope } from './jobs';
import { completeOperation, createOperation, failOperation } from './operations';
import { findProtectedItem, findStoredItem, finished, jobSpec, listProtectedItems, type ItemNames, type ProtectionChange, type ProtectionDeps } from './protection';

/**
 * Stop protection and delete data. With the vault's soft delete on, the item is soft-deleted: kept
 * (visible, ProtectionStopped) until the purge date; with it off, its recovery points are deleted
 * now (`data` is needed then) and the item goes. Undefined when there is no such item.
 */
export async function deleteProtectedItem(
  deps: ProtectionDeps,
  vault: VaultRecord,
  names: ItemNames,
  data?: DeleteRecoveryPointDeps,
): Promise<ProtectionChange | undefined> {
  const existing = await findStoredItem(deps, vault, names);
  if (existing === undefined) return undefined;
  const item = existing.value;
  if (item.softDelete !== undefined) throw errors.itemSoftDeleted(item.vm.name, item.softDelete.purgeAt, 'be deleted again');
  if (item.activeBackup !== undefined) {
    const running = await runningJob(deps.catalog, vault, item.activeBackup.jobId);
    if (running !== undefined) throw errors.backupOperationInProgress(item.vm.name, running.jobId);
  }
  // An immutable vault deletes no point before it expires (soft delete's purge would).
  const points = await collect(deps.catalog.recoveryPoints.list(item.engineItemId));
  assertPointsMayBeDeleted(vault.immutability, item.vm.name, points.map((point) => ({ recoveryPointId: point.recoveryPointId, ...pointExpiry(point) })), deps.clock());
  if (vault.softDelete.state === 'Disabled') {
    if (data === undefined) throw errors.backupOperationFailed('Deleting backup data needs the vault storage, which this host was not given.');
    const job = await createJob(deps, vault, jobSpec(item, 'DeleteBackupData'));
    const operation = await createOperation(deps, vault, { name: 'DeleteBackupData', jobId: job.jobId });
    try {
      await purgeItem(deps, data, vault, item);
    } catch (err) {
      const failedJob = await failJob(deps, vault, job.jobId, err);
      return { action: 'purged', item: await findProtectedItem(deps, vault, names), job: failedJob, operation: await failOperation(deps, vault, operation.operationId, err) };
    }
    const doneJob = await completeJob(deps, vault, job.jobId);
    return { action: 'purged', job: doneJob, operation: await completeOperation(deps, vault, operation.operationId) };
  }
  const now = deps.clock();
  const purgeAt = new Date(now.getTime() + vault.softDelete.retentionDays * 86_400_000).toISOString();
  const { policyName: _policy, activeBackup: _claim, ...rest } = item;
  const updated = await deps.catalog.items.replace(
    existing.partition,
    existing.row,
    { ...rest, protectionState: 'ProtectionStopped', softDelete: { deletedAt: now.toISOString(), purgeAt } },
    existing.etag,
  );
  return finished(deps, vault, 'softDeleted', updated.value, 'DeleteBackupData', { purgeAt });
}

/** When a point expires, as retention last decided (or its retain-until for an on-demand point). */
function pointExpiry(point: StoredRecoveryPoint): { expiryTime?: string } {
  const expiry = point.retention?.expiryTime ?? point.retention?.retainUntil;
  return expiry === undefined ? {} : { expiryTime: expiry };
}

/**
 * Deletes every recovery point of the item (snapshot tier first, manifest last, catalog row last),
 * then the item. Idempotent: a re-run after a failure finishes the work.
 */
export async function purgeItem(deps: Pick<ProtectionDeps, 'catalog'>, data: DeleteRecoveryPointDeps, vault: VaultScope, item: ProtectedItemRecord): Promise<{ pointsDeleted: number }> {
  // Every point, then the item's replicas and leftovers (when `data` can list them), then the item row.
  const deleted = await deleteItemVaultData(data, item.engineItemId);
  await deps.catalog.items.delete(vaultPartitionOf(vault), nameRow(item.itemName));
  return { pointsDeleted: deleted.recoveryPoints.length };
}

/** Soft-deleted items whose purge date has passed (for the retention cleanup). */
export async function itemsDueForPurge(deps: Pick<ProtectionDeps, 'catalog' | 'clock'>, vault: VaultScope): Promise<ProtectedItemRecord[]> {
  const now = deps.clock().getTime();
  return (await listProtectedItems(deps, vault)).filter((item) => item.softDelete !== undefined && Date.parse(item.softDelete.purgeAt) <= now);
}
