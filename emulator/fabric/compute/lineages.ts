/**
 * When a lineage (a disk's container: its blob and the blob snapshots behind its incremental snapshots
 * and disk restore points) goes away. Deleting a disk keeps the lineage while snapshots of it remain, as
 * Azure keeps incremental snapshots and restore points of a deleted disk; the last one deleted takes
 * the lineage with it.
 */
import type { DiskBlobs } from './disk-blobs';

const RETIRED = 'kluisdiskdeleted';

/** The disk of this lineage is deleted: drop the lineage now, or mark it for its last snapshot. */
export async function retireLineage(blobs: DiskBlobs, container: string): Promise<void> {
  if (await blobs.hasSnapshots(container)) await blobs.setLineageMetadata(container, { [RETIRED]: 'true' });
  else await blobs.deleteLineage(container);
}

/** A snapshot of this lineage was deleted: drop the lineage if its disk is gone and nothing else uses it. */
export async function releaseLineage(blobs: DiskBlobs, container: string): Promise<void> {
  const metadata = await blobs.getLineageMetadata(container);
  if (metadata?.[RETIRED] === 'true' && !(await blobs.hasSnapshots(container))) await blobs.deleteLineage(container);
}
