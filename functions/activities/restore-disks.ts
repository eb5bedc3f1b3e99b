/** Restores a point's disks into a container of the restore account, every block verified; the VM configuration next to them. */
import { restoreDisks, type RestoreDisksRequest } from '../../lib/engine/restore/restore-disks';
import { declareActivity } from '../activity';
import { restoreDeps } from '../deps';

export interface RestoredDiskSummary {
  lun: number;
  blobName: string;
  blobUrl: string;
  tier: 'InstantRP' | 'HardenedRP';
  /** How the bytes reached the target: a server-side copy read back and verified, or streamed and verified. */
  method: 'serverSideCopy' | 'streamed';
  sizeBytes: number;
  bytesCopied: number;
  blocksVerified: number;
}

export interface RestoreDisksOutput {
  jobId: string;
  itemId: string;
  recoveryPointId: string;
  targetContainer: string;
  vmConfigBlobName: string;
  disks: RestoredDiskSummary[];
}

export const restoreDisksActivity = declareActivity('restoreDisks', async (input: RestoreDisksRequest, context): Promise<RestoreDisksOutput> => {
  const result = await restoreDisks(restoreDeps(context), input);
  return {
    jobId: result.jobId,
    itemId: result.itemId,
    recoveryPointId: result.recoveryPointId,
    targetContainer: result.targetContainer,
    vmConfigBlobName: result.vmConfigBlobName,
    disks: result.disks.map(({ lun, blobName, blobUrl, tier, method, sizeBytes, bytesCopied, blocksVerified }) => ({
      lun,
      blobName,
      blobUrl,
      tier,
      method,
      sizeBytes,
      bytesCopied,
      blocksVerified,
    })),
  };
});
