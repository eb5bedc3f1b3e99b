/**
 * Deletes everything the vault holds for one protected item, when the item is purged: every recovery point
 * (both tiers, as retention deletes them), then every blob left under the item's prefix that no point names —
 * the disks' replicas (a replica is as large as its disk) with their snapshots, a failed job's checksum parts,
 * an uncommitted point's blobs. Points first, so a crash in between leaves only blobs that a re-run (or
 * `kluis check --repair`) removes, never a point whose blobs are gone.
 */
import { itemPrefix } from '../domain/vault-layout';
import type { PageBlobStore } from '../../stores/page-blob-store';
import { deleteRecoveryPointVaultData, type DeleteRecoveryPointDeps } from './delete-recovery-point';

export interface DeleteItemDataDeps extends DeleteRecoveryPointDeps {
  /** Where the item's own blobs are listed and swept (the vault account and container); without it only the points go. */
  itemBlobs?: { store: PageBlobStore; container: string };
}

export interface DeletedItemData {
  /** Recovery points deleted, in catalog order. */
  recoveryPoints: string[];
  /** Blobs under the item's prefix deleted after the points (with their snapshots). */
  blobs: string[];
}

export async function deleteItemVaultData(deps: DeleteItemDataDeps, itemId: string, onPointDeleted: (recoveryPointId: string) => void = () => undefined): Promise<DeletedItemData> {
  const deleted: DeletedItemData = { recoveryPoints: [], blobs: [] };
  const containers = new Set<string>();
  for await (const point of deps.catalog.list(itemId)) {
    containers.add(point.vaultContainer);
    await deleteRecoveryPointVaultData(deps, { itemId, recoveryPointId: point.recoveryPointId, force: true });
    deleted.recoveryPoints.push(point.recoveryPointId);
    onPointDeleted(point.recoveryPointId);
  }
  if (deps.itemBlobs === undefined) return deleted;
  containers.add(deps.itemBlobs.container);
  for (const container of containers) {
    for await (const blob of deps.itemBlobs.store.listBlobs(container, { prefix: itemPrefix(itemId) })) {
      await deps.itemBlobs.store.deleteBlob({ container, blob: blob.name });
      deleted.blobs.push(blob.name);
    }
  }
  if (deleted.blobs.length > 0) deps.log.info(`Deleted ${deleted.blobs.length} blob(s) of item ${itemId} that no recovery point named (replicas, leftovers).`);
  return deleted;
}
