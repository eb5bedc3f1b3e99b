/**
 * Deletes a recovery point's tiers independently, without ever orphaning blobs: the catalog row
 * is marked first, then the blobs go (manifest last), then the row moves on or goes. Every step
 * is idempotent, so a re-run after a crash finishes the job, and deleting what is already gone
 * succeeds.
 *
 * API:
 *   deleteRecoveryPointSnapshotTier(deps, {itemId, recoveryPointId}): Promise<DeleteTierResult>
 *   deleteRecoveryPointVaultData(deps, {itemId, recoveryPointId, force?}): Promise<DeleteTierResult>
 *
 * As in Azure Backup, the vault tier cannot be removed before the snapshot tier: deleting vault
 * data while an instant snapshot of the point still exists is refused (KluisVaultTierDeletionBlocked)
 * unless `force` (retention expiring the whole point), which deletes the snapshot tier first.
 */
import { errors, isKluisErrorLike } from '../../domain/errors';
import { parseRecoveryPointManifest, viewOfManifestDisk, type RecoveryPointManifest } from '../domain/recovery-point-manifest';
import type { DiskKind, DiskView } from '../domain/disk-view';
import { RecoveryPointStates, tiersOfState, type RecoveryPointState, type RecoveryPointTier } from '../domain/restore-plan';
import { assertValidIdentifier, assertValidRecoveryPointId } from '../domain/vault-layout';
import type { BlobRef } from '../../stores/disk-store';
import type { PageBlobStore } from '../../stores/page-blob-store';
import type { RecoveryPointCatalog, StoredRecoveryPoint } from '../../stores/recovery-point-catalog';
import type { SourceDiskRegistry } from '../sources/registry';
import { META, type EngineLogger } from '../engine-deps';

export interface DeleteRecoveryPointDeps {
  /** The vault storage account (replica snapshots, checksums, manifests). */
  vault: PageBlobStore;
  /** The source disks' backends: they hold the instant-restore tier (the points' views). */
  sources: SourceDiskRegistry;
  catalog: RecoveryPointCatalog;
  log: EngineLogger;
}

export interface DeleteRecoveryPointInput {
  itemId: string;
  recoveryPointId: string;
}

export interface DeleteVaultDataInput extends DeleteRecoveryPointInput {
  /** Retention expiring the whole point: delete the snapshot tier first instead of refusing. */
  force?: boolean;
}

/** What a deletion removed: a blob (or snapshot) of the vault, or a source view (the instant-restore tier). */
export type DeletedBlob =
  | { account: 'vault'; container: string; blob: string; snapshot?: string }
  | { account: 'source'; kind: DiskKind; lun: number; diskId: string };

export interface DeleteTierResult {
  itemId: string;
  recoveryPointId: string;
  tier: RecoveryPointTier;
  /** Nothing was left to delete in this tier. */
  alreadyDeleted: boolean;
  /** The point's catalog row is gone (no tier remains). */
  pointRemoved: boolean;
  /** Blobs and snapshots a delete request was sent for (already-gone ones included). */
  deleted: DeletedBlob[];
}

export function deleteRecoveryPointSnapshotTier(deps: DeleteRecoveryPointDeps, input: DeleteRecoveryPointInput): Promise<DeleteTierResult> {
  return restartedOnConflict(() => deleteSnapshotTierOnce(deps, input));
}

export function deleteRecoveryPointVaultData(deps: DeleteRecoveryPointDeps, input: DeleteVaultDataInput): Promise<DeleteTierResult> {
  return restartedOnConflict(() => deleteVaultDataOnce(deps, input));
}

/**
 * Every step is idempotent, so when another run (an overlapping retention run, a user's delete)
 * changed the point's row between our read and our write, starting over from the row as it is now
 * finishes the job instead of failing it.
 */
async function restartedOnConflict(attempt: () => Promise<DeleteTierResult>): Promise<DeleteTierResult> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if (tries >= CONFLICT_RESTARTS || !isKluisErrorLike(err) || err.code !== 'KluisCatalogConflict') throw err;
    }
  }
}

const CONFLICT_RESTARTS = 5;

async function deleteSnapshotTierOnce(deps: DeleteRecoveryPointDeps, input: DeleteRecoveryPointInput): Promise<DeleteTierResult> {
  const { itemId, recoveryPointId } = validate(input);
  const result: DeleteTierResult = { itemId, recoveryPointId, tier: 'InstantRP', alreadyDeleted: false, pointRemoved: false, deleted: [] };
  const row = await deps.catalog.get(itemId, recoveryPointId);
  if (row === undefined) return { ...result, alreadyDeleted: true, pointRemoved: true };
  if (tiersOfState(row.state).instant === 'Deleted') return { ...result, alreadyDeleted: true };
  await removeSnapshotTier(deps, row, result.deleted);
  return result;
}

async function deleteVaultDataOnce(deps: DeleteRecoveryPointDeps, input: DeleteVaultDataInput): Promise<DeleteTierResult> {
  const { itemId, recoveryPointId } = validate(input);
  const result: DeleteTierResult = { itemId, recoveryPointId, tier: 'HardenedRP', alreadyDeleted: false, pointRemoved: true, deleted: [] };
  let row = await deps.catalog.get(itemId, recoveryPointId);
  if (row === undefined) return { ...result, alreadyDeleted: true };

  if (row.state !== RecoveryPointStates.Deleting) {
    const tiers = tiersOfState(row.state);
    if (tiers.instant !== 'Deleted') {
      const manifest = await readManifestIfPresent(deps.vault, row);
      const snapshotTierExists = tiers.instant === 'Deleting' || (manifest !== undefined && (await anyInstantSnapshotExists(deps, manifest)));
      if (snapshotTierExists && input.force !== true) throw errors.vaultTierDeletionBlocked(itemId, recoveryPointId);
      if (snapshotTierExists) row = await removeSnapshotTier(deps, row, result.deleted);
    }
    row = await setState(deps.catalog, row, RecoveryPointStates.Deleting);
  }

  const manifest = await readManifestIfPresent(deps.vault, row);
  if (manifest !== undefined) {
    // Replica snapshots and checksums first, the manifest last: while it exists, a re-run can find the rest.
    await settleAll(
      manifest.disks.map(async (disk) => {
        for (const snapshot of await replicaSnapshotsOfPoint(deps.vault, row, disk.replica)) {
          const replicaSnapshot: BlobRef = { container: row.vaultContainer, blob: disk.replica.blobName, snapshot };
          await deps.vault.deleteSnapshot(replicaSnapshot);
          result.deleted.push({ account: 'vault', ...replicaSnapshot });
        }
        const checksums: BlobRef = { container: row.vaultContainer, blob: disk.checksumsBlobName };
        await deps.vault.deleteBlob(checksums);
        result.deleted.push({ account: 'vault', ...checksums });
      }),
    );
    // Encrypted VMs: the Key Vault backups of the BEK secret and KEK key taken with the point.
    const keyAndSecretBlobs = [manifest.keyAndSecret?.bek.backupBlobName, manifest.keyAndSecret?.kek?.backupBlobName].filter((blob): blob is string => blob !== undefined);
    await settleAll(
      keyAndSecretBlobs.map(async (blob) => {
        const ref: BlobRef = { container: row.vaultContainer, blob };
        await deps.vault.deleteBlob(ref);
        result.deleted.push({ account: 'vault', ...ref });
      }),
    );
    const manifestRef: BlobRef = { container: row.vaultContainer, blob: row.manifestBlobName };
    await deps.vault.deleteBlob(manifestRef);
    result.deleted.push({ account: 'vault', ...manifestRef });
  }
  await deps.catalog.delete(itemId, recoveryPointId, { ifMatch: row.etag });
  deps.log.info(`Deleted the vault data of recovery point ${recoveryPointId} of item ${itemId} (${result.deleted.length} blob(s)); the point is gone.`);
  return result;
}

/** Marks the row, deletes every instant snapshot of the point, then records the tier as deleted. */
async function removeSnapshotTier(
  deps: DeleteRecoveryPointDeps,
  row: StoredRecoveryPoint,
  deleted: DeletedBlob[],
): Promise<StoredRecoveryPoint> {
  const marked = await setState(deps.catalog, row, RecoveryPointStates.SnapshotTierDeleting);
  const manifest = await readManifestIfPresent(deps.vault, marked);
  if (manifest === undefined) {
    // The manifest is deleted only after the snapshot tier is gone, so a committed point always has one.
    throw errors.recoveryPointDataNotFound(row.itemId, row.recoveryPointId, 'its manifest is missing, so its instant snapshots cannot be found');
  }
  await settleAll(
    instantViewsOf(manifest).map(async (view) => {
      await deps.sources.backendFor(view.kind).deleteViews([view]);
      deleted.push({ account: 'source', kind: view.kind, lun: view.lun, diskId: view.diskId });
    }),
  );
  const updated = await setState(deps.catalog, marked, RecoveryPointStates.SnapshotTierDeleted);
  deps.log.info(`Deleted the snapshot tier of recovery point ${row.recoveryPointId} of item ${row.itemId} (${manifest.disks.length} snapshot(s)).`);
  return updated;
}

/**
 * The manifest's replica snapshot, and any other snapshot of the replica taken for this point: a
 * snapshot request whose answer was lost (a reset, a timeout) is retried by the SDK and takes a
 * second snapshot, of which the manifest records only the one that answered.
 */
async function replicaSnapshotsOfPoint(vault: PageBlobStore, row: StoredRecoveryPoint, replica: { blobName: string; snapshot: string }): Promise<string[]> {
  const snapshots = new Set([replica.snapshot]);
  for await (const entry of vault.listBlobs(row.vaultContainer, { prefix: replica.blobName, includeSnapshots: true })) {
    if (entry.name === replica.blobName && entry.snapshot !== undefined && entry.metadata[META.recoveryPointId] === row.recoveryPointId) snapshots.add(entry.snapshot);
  }
  return [...snapshots];
}

async function anyInstantSnapshotExists(deps: DeleteRecoveryPointDeps, manifest: RecoveryPointManifest): Promise<boolean> {
  const found = await Promise.all(
    instantViewsOf(manifest).map(async (view) => {
      const backend = deps.sources.find(view.kind);
      // A view we cannot reach (no backend, an account not configured) may still exist: count it as existing.
      if (backend === undefined) return true;
      return (await backend.describeView(view)).status !== 'gone';
    }),
  );
  return found.some(Boolean);
}

function instantViewsOf(manifest: RecoveryPointManifest): DiskView[] {
  return manifest.disks.map((disk) => viewOfManifestDisk(disk, manifest.createdAt));
}

async function setState(catalog: RecoveryPointCatalog, row: StoredRecoveryPoint, state: RecoveryPointState): Promise<StoredRecoveryPoint> {
  if (row.state === state) return row;
  const { etag, ...record } = row;
  return catalog.put({ ...record, state }, { ifMatch: etag });
}

async function readManifestIfPresent(vault: PageBlobStore, row: StoredRecoveryPoint): Promise<RecoveryPointManifest | undefined> {
  try {
    return parseRecoveryPointManifest(await vault.readBlob({ container: row.vaultContainer, blob: row.manifestBlobName }));
  } catch (err) {
    if (isKluisErrorLike(err) && err.code === 'KluisBlobNotFound') return undefined;
    throw err;
  }
}

/** Like Promise.all, but waits for every request to finish before rethrowing the first failure (no deletes run on after a failure). */
async function settleAll(work: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

function validate(input: DeleteRecoveryPointInput): DeleteRecoveryPointInput {
  assertValidIdentifier('itemId', input.itemId);
  assertValidRecoveryPointId(input.recoveryPointId);
  return input;
}
