/**
 * Pure types and planning for the first backup slice: one fixed-VHD page blob, full copy into a
 * vault replica, manifest last.
 */
import { errors } from './errors';
import { PAGE_SIZE } from './vhd';
import { assertValidBlobName, assertValidContainerName, assertValidIdentifier } from './vault-layout';

export const TRANSFER_CHUNK_SIZE = 4 * 1024 * 1024;
/** The slice backs up one disk; it is recorded as LUN 0. */
export const SINGLE_DISK_LUN = 0;
export const MANIFEST_SCHEMA_VERSION = 1;

export interface BackupRequest {
  sourceContainer: string;
  sourceBlob: string;
  itemId: string;
}

export interface DiscoveredDisk {
  sourceContainer: string;
  sourceBlob: string;
  lun: number;
  /** Page blob size: data plus the 512-byte footer. */
  blobSize: number;
  dataSize: number;
  /** From the VHD footer, 32 hex digits. */
  vhdUniqueId: string;
  etag?: string;
}

export interface SnapshotRef {
  container: string;
  blob: string;
  /** The service's snapshot id (an ISO timestamp). */
  snapshot: string;
  /** ISO time, from the service clock handed to the use case. */
  takenAt: string;
}

export interface TransferResult {
  replicaContainer: string;
  replicaBlob: string;
  /** Allocated bytes read from the snapshot. */
  bytesCopied: number;
  /** Allocated bytes actually uploaded (all-zero chunks are skipped on a fresh replica). */
  bytesUploaded: number;
  chunksUploaded: number;
  /** MD5 of the whole disk image (blobSize bytes, unallocated pages as zeros), base64. */
  md5Base64: string;
}

export interface SliceManifest {
  schemaVersion: typeof MANIFEST_SCHEMA_VERSION;
  kind: 'KluisDiskRecoveryPoint';
  itemId: string;
  recoveryPointId: string;
  jobId: string;
  /** ISO time the manifest was written (the point becomes visible then). */
  createdAt: string;
  source: {
    container: string;
    blob: string;
    snapshot: string;
    snapshotTakenAt: string;
    lun: number;
    blobSize: number;
    dataSize: number;
    vhdUniqueId: string;
  };
  replica: {
    container: string;
    blob: string;
    /** Vault-side snapshot of the replica that freezes this point. */
    snapshot: string;
  };
  bytesCopied: number;
  md5Base64: string;
}

export interface PageRange {
  offset: number;
  count: number;
}

/** Validates the names in a backup request; throws KluisError naming the field. */
export function validateBackupRequest(request: BackupRequest): BackupRequest {
  assertValidContainerName(request.sourceContainer, 'sourceContainer');
  try {
    assertValidBlobName(request.sourceBlob);
  } catch (err) {
    throw errors.invalidRequest('sourceBlob', (err as Error).message);
  }
  assertValidIdentifier('itemId', request.itemId);
  return request;
}

/**
 * Recovery point ids are numeric strings, as in Azure Backup: the start time of the backup in
 * milliseconds since the Unix epoch (one backup per item at a time keeps them unique per item).
 */
export function recoveryPointIdFor(startedAt: Date): string {
  const ms = startedAt.getTime();
  if (!Number.isSafeInteger(ms) || ms < 0) throw errors.invalidRequest('startedAt', 'The backup start time is invalid.');
  return String(ms);
}

/**
 * Turns a stream of allocated page ranges (sorted, non-overlapping, as the service returns them)
 * into transfer chunks: adjacent ranges are merged, then cut into pieces of at most `chunkSize`
 * bytes; a chunk never spans unallocated pages. Streaming, so memory stays bounded on disks
 * with millions of ranges.
 */
export class ChunkPlanner {
  private pendingOffset = 0;
  private pendingCount = 0;
  private end = 0;

  constructor(
    private readonly blobSize: number,
    private readonly chunkSize: number = TRANSFER_CHUNK_SIZE,
  ) {
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0 || chunkSize % PAGE_SIZE !== 0) {
      throw errors.invalidPageRange(`The chunk size ${chunkSize} is not a positive multiple of ${PAGE_SIZE}.`);
    }
  }

  /** Adds the next range; returns the chunks that are now complete. */
  push(range: PageRange): PageRange[] {
    this.check(range);
    if (range.count === 0) return [];
    this.end = range.offset + range.count;
    if (this.pendingCount > 0 && range.offset === this.pendingOffset + this.pendingCount) {
      this.pendingCount += range.count;
      return this.takeFullChunks();
    }
    const flushed = this.flush();
    this.pendingOffset = range.offset;
    this.pendingCount = range.count;
    return [...flushed, ...this.takeFullChunks()];
  }

  /** Returns the last, partial chunk (if any). */
  finish(): PageRange[] {
    return this.flush();
  }

  private check(range: PageRange): void {
    const { offset, count } = range;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(count) || offset < 0 || count < 0) {
      throw errors.invalidPageRange(`The page range (${offset}, ${count}) is not a pair of whole byte counts.`);
    }
    if (offset % PAGE_SIZE !== 0 || count % PAGE_SIZE !== 0) {
      throw errors.invalidPageRange(`The page range (${offset}, ${count}) is not aligned to ${PAGE_SIZE}-byte pages.`);
    }
    if (offset + count > this.blobSize) {
      throw errors.invalidPageRange(`The page range (${offset}, ${count}) ends beyond the blob size ${this.blobSize}.`);
    }
    if (offset < this.end) {
      throw errors.invalidPageRange(`The page range (${offset}, ${count}) overlaps or precedes the previous one.`);
    }
  }

  private takeFullChunks(): PageRange[] {
    const chunks: PageRange[] = [];
    while (this.pendingCount >= this.chunkSize) {
      chunks.push({ offset: this.pendingOffset, count: this.chunkSize });
      this.pendingOffset += this.chunkSize;
      this.pendingCount -= this.chunkSize;
    }
    return chunks;
  }

  private flush(): PageRange[] {
    if (this.pendingCount === 0) return [];
    const chunk = { offset: this.pendingOffset, count: this.pendingCount };
    this.pendingCount = 0;
    return [chunk];
  }
}

/** All chunks for a finite list of ranges (convenience over ChunkPlanner). */
export function planTransferChunks(ranges: Iterable<PageRange>, blobSize: number, chunkSize = TRANSFER_CHUNK_SIZE): PageRange[] {
  const planner = new ChunkPlanner(blobSize, chunkSize);
  const chunks: PageRange[] = [];
  for (const range of ranges) chunks.push(...planner.push(range));
  chunks.push(...planner.finish());
  return chunks;
}

export interface BuildManifestInput {
  request: BackupRequest;
  jobId: string;
  recoveryPointId: string;
  disk: DiscoveredDisk;
  snapshot: SnapshotRef;
  transfer: TransferResult;
  replicaSnapshot: string;
  createdAt: Date;
}

export function buildSliceManifest(input: BuildManifestInput): SliceManifest {
  const { request, disk, snapshot, transfer } = input;
  return {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    kind: 'KluisDiskRecoveryPoint',
    itemId: request.itemId,
    recoveryPointId: input.recoveryPointId,
    jobId: input.jobId,
    createdAt: input.createdAt.toISOString(),
    source: {
      container: disk.sourceContainer,
      blob: disk.sourceBlob,
      snapshot: snapshot.snapshot,
      snapshotTakenAt: snapshot.takenAt,
      lun: disk.lun,
      blobSize: disk.blobSize,
      dataSize: disk.dataSize,
      vhdUniqueId: disk.vhdUniqueId,
    },
    replica: {
      container: transfer.replicaContainer,
      blob: transfer.replicaBlob,
      snapshot: input.replicaSnapshot,
    },
    bytesCopied: transfer.bytesCopied,
    md5Base64: transfer.md5Base64,
  };
}
