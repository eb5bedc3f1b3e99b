/**
 * Sweeps `kluis-import-staging/` in the restore account: a restore to managed disks stages each disk it imports
 * there (restore-managed-disks.ts) and deletes the staging blob once Compute has made the disk, also on failure;
 * a host that dies between the staging copy and that delete leaves the blob behind. A re-run of the same job
 * deletes its own first, but a job that is never re-run (its orchestration finalized by the watchdog) would keep
 * it forever. The daily staging sweeper (functions/timers/sweep-staging-blobs.ts) calls this with a cut-off a day
 * back: only blobs named as the layout names staging blobs (`<jobId>/lun<n>.vhd`) and older than the cut-off go.
 *
 * API:
 *   sweepImportStaging(deps, { olderThan }): Promise<{ deleted: BlobRef[] }>
 */
import { IMPORT_STAGING_CONTAINER, isImportStagingBlobName } from '../domain/restore-layout';
import type { BlobRef } from '../../stores/disk-store';
import type { RestoreTargetStore } from '../../stores/restore-target-store';
import type { EngineLogger } from '../engine-deps';

export interface ImportStagingSweepDeps {
  target: Pick<RestoreTargetStore, 'listBlobs' | 'deleteBlob'>;
  log: EngineLogger;
}

export async function sweepImportStaging(deps: ImportStagingSweepDeps, input: { olderThan: Date }): Promise<{ deleted: BlobRef[] }> {
  const deleted: BlobRef[] = [];
  for await (const blob of deps.target.listBlobs(IMPORT_STAGING_CONTAINER)) {
    if (!isImportStagingBlobName(blob.name)) continue;
    const since = (blob.createdOn ?? blob.lastModified)?.getTime();
    if (since === undefined || since >= input.olderThan.getTime()) continue;
    const ref = { container: IMPORT_STAGING_CONTAINER, blob: blob.name };
    await deps.target.deleteBlob(ref);
    deleted.push(ref);
  }
  if (deleted.length > 0) deps.log.warn(`Swept ${deleted.length} import staging blob(s) left by crashed restores: ${deleted.map((ref) => ref.blob).join(', ')}.`);
  return { deleted };
}
