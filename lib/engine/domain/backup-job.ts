/**
 * The data a backup job passes between its steps (orchestration ⇄ activities): pure shapes, so that
 * orchestrators, activities and services agree on them without importing each other.
 */
import type { DiskKind, DiskLocation, DiskView } from './disk-view';
import type { ChangeDetection } from './recovery-point-manifest';
import type { DiskSegment } from './transfer-plan';

/** A blob, or one of its snapshots, in a storage account the caller already knows. */
export interface BlobRef {
  container: string;
  blob: string;
  snapshot?: string;
}

/**
 * How a full backup's bytes reach the replica: `serverSideCopy` = one server-side copy of the source
 * snapshot (or staging blob) onto the replica, then each segment only reads and hashes the replica
 * (seed-replica.ts). Chosen when the copy is safe and source and vault are one storage account.
 */
export type ReplicaSeed = 'serverSideCopy';

/** How this disk's changes are found (chosen by plan-disk-backup). */
export type ChangeDetectionInput =
  | { kind: 'full'; replicaIsNew: boolean; seed?: ReplicaSeed }
  /** `previous`: the previous point's view of the disk (its instant-restore tier), which the source diffs against. */
  | { kind: 'diff'; previous: DiskView; previousRecoveryPointId: string }
  | { kind: 'checksum'; previousRecoveryPointId: string };

export interface DiskBackupPlan {
  lun: number;
  sizeBytes: number;
  blockSize: number;
  /** What the manifest records. */
  changeDetection: ChangeDetection;
  /** What each segment transfer takes. */
  detection: ChangeDetectionInput;
  /** Why this path was chosen, for the job's log. */
  reason: string;
  segments: DiskSegment[];
  replicaBlobName: string;
  /** Full backups seeded server-side (the same as `detection.seed`): run seedReplica before the segments. */
  seed?: ReplicaSeed;
  /** Read the disk through a staging copy (the page-blob backend's Premium disks): run stageDisk before the segments. */
  stage: boolean;
}

/** What seedReplica did. */
export interface SeededReplica {
  seed: ReplicaSeed;
  replica: BlobRef;
  /** The blob or snapshot copied (in the vault's account): the staging blob (Premium) or the source snapshot. */
  copiedFrom: BlobRef;
}

/** A staging copy of a disk's view; its segments read `view` instead. */
export interface StagedDisk {
  view: DiskView;
  method: 'server-copy' | 'streamed';
  /** Bytes streamed (0 for a server-side copy). */
  bytesCopied: number;
}

export interface SegmentTransferStats {
  bytesRead: number;
  bytesWritten: number;
  bytesCleared: number;
  /** Blocks uploaded or cleared because their content differs from the previous point. */
  blocksChanged: number;
}

export interface TransferSegmentResult extends SegmentTransferStats {
  segmentIndex: number;
  /** How this segment found its changes: the plan's method, or 'checksum' where a planned diff was refused by the source. */
  changeDetection: ChangeDetection;
  checksumPartBlobName: string;
  uploadCalls: number;
  clearCalls: number;
}

/** A page range as the disk store reports it. */
export interface PageRange {
  offset: number;
  count: number;
}

/**
 * Recovery point ids are numeric strings, as in Azure Backup: the start time of the backup in
 * milliseconds since the Unix epoch (one backup per item at a time keeps them unique per item).
 */
export function recoveryPointIdFor(startedAt: Date): string {
  const ms = startedAt.getTime();
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError('The backup start time is invalid.');
  return String(ms);
}

/** A disk of a VM to back up, as the request or the VM inventory names it: its LUN slot, storage type and location. */
export type VmDiskRequest = {
  lun: number;
  storageType: 'Standard' | 'Premium';
  name?: string;
} & DiskLocation;

/** A disk of a VM that is a page blob in the source account. */
export type PageBlobDiskRequest = Extract<VmDiskRequest, { container: string }>;

/** A disk that passed discovery by its backend: its kind resolved, a supported size. */
export type DiscoveredVmDisk = VmDiskRequest & {
  kind: DiskKind;
  name: string;
  /** The disk's size as its views will have it (page blobs: data plus the 512-byte footer). */
  sizeBytes: number;
  /** Page blobs: the VHD's data size and unique id. */
  dataSize?: number;
  vhdUniqueId?: string;
};
