/**
 * The last step of every segment activity: its checksum part, written under the job's staging prefix
 * with the segment's stats and change-detection method as metadata (the commit merges the parts into the point's checksums blob).
 */
import { encodeBlockSums, type BlockSums } from '../domain/block-sums';
import { checksumPartBlobName } from '../domain/vault-layout';
import type { SegmentTransferStats } from '../domain/backup-job';
import type { ChangeDetection } from '../domain/recovery-point-manifest';
import { META, type BackupEngineDeps } from '../engine-deps';

export interface ChecksumPartOf {
  itemId: string;
  jobId: string;
  lun: number;
  segmentIndex: number;
}

/** Writes (or rewrites: a re-run gives the same bytes) the segment's checksum part; returns its blob name. */
export async function writeChecksumPart(
  deps: Pick<BackupEngineDeps, 'vault' | 'vaultContainer'>,
  of: ChecksumPartOf,
  part: BlockSums,
  stats: SegmentTransferStats & { changeDetection: ChangeDetection },
): Promise<string> {
  const partName = checksumPartBlobName(of.itemId, of.jobId, of.lun, of.segmentIndex);
  await deps.vault.writeBlockBlob({ container: deps.vaultContainer, blob: partName }, encodeBlockSums(part), {
    contentType: 'application/octet-stream',
    metadata: {
      [META.bytesRead]: String(stats.bytesRead),
      [META.bytesWritten]: String(stats.bytesWritten),
      [META.bytesCleared]: String(stats.bytesCleared),
      [META.blocksChanged]: String(stats.blocksChanged),
      [META.changeDetection]: stats.changeDetection,
      [META.jobId]: of.jobId,
    },
  });
  return partName;
}
