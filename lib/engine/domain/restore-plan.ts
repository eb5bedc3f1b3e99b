/**
 * Pure planning for "restore disks": which tier each disk is read from, what the target page
 * blob looks like (size, premium tier), how the allocated ranges of the source are cut into
 * block-aligned, verifiable read chunks, and which parts of a verified chunk are written.
 */
import { errors } from '../../domain/errors';
import { AZURE_MAX_PUT_PAGES_BYTES, intersectRanges, normalizeRanges, type ByteRange } from './page-ranges';
import { VHD_FOOTER_SIZE } from './vhd';

const GIB = 1024 ** 3;

// ---- read tier --------------------------------------------------------------------------------------

/** Azure Backup's names: the snapshot tier (instant restore) and the vault tier. */
export type RecoveryPointTier = 'InstantRP' | 'HardenedRP';

/** `Auto`: the snapshot tier while it exists, else the vault tier (Azure Backup's behaviour). */
export type RestoreTierPreference = 'Auto' | RecoveryPointTier;

export interface TierAvailability {
  /** The instant snapshot of this disk exists in the source account. */
  instantSnapshotExists: boolean;
  /** The vault replica's snapshot of this disk exists. */
  vaultSnapshotExists: boolean;
}

export type TierDecision =
  | { ok: true; tier: RecoveryPointTier; reason: string }
  | { ok: false; code: 'UserErrorInstantRpNotFound' | 'KluisRecoveryPointDataNotFound'; reason: string };

/** Chooses where one disk is read from; the reason is logged and returned to the caller. */
export function chooseReadTier(preference: RestoreTierPreference, available: TierAvailability): TierDecision {
  const { instantSnapshotExists, vaultSnapshotExists } = available;
  if (preference === 'InstantRP') {
    return instantSnapshotExists
      ? { ok: true, tier: 'InstantRP', reason: 'the snapshot tier was requested and its snapshot exists' }
      : { ok: false, code: 'UserErrorInstantRpNotFound', reason: 'the snapshot tier was requested but its snapshot no longer exists' };
  }
  if (preference === 'HardenedRP') {
    return vaultSnapshotExists
      ? { ok: true, tier: 'HardenedRP', reason: 'the vault tier was requested' }
      : { ok: false, code: 'KluisRecoveryPointDataNotFound', reason: "the vault tier was requested but the replica's snapshot no longer exists" };
  }
  if (instantSnapshotExists) return { ok: true, tier: 'InstantRP', reason: 'the instant snapshot still exists' };
  if (vaultSnapshotExists) {
    return { ok: true, tier: 'HardenedRP', reason: 'the instant snapshot is gone; reading from the vault' };
  }
  return { ok: false, code: 'KluisRecoveryPointDataNotFound', reason: 'neither the instant snapshot nor the vault snapshot exists' };
}

// ---- target blob ------------------------------------------------------------------------------------

export type TargetStorageType = 'Standard' | 'Premium';

export type PremiumPageBlobTier = 'P4' | 'P6' | 'P10' | 'P15' | 'P20' | 'P30' | 'P40' | 'P50' | 'P60' | 'P70' | 'P80';

/**
 * Premium page blob tiers and the largest disk each holds (Azure's premium unmanaged-disk table;
 * P50 is 4,095 GiB and P80 32,767 GiB there). A premium page blob's tier caps its size; a blob
 * created without a tier is rounded up to the next tier, so we pick that tier explicitly.
 */
export const PREMIUM_PAGE_BLOB_TIERS: ReadonlyArray<{ tier: PremiumPageBlobTier; capacityInBytes: number }> = [
  { tier: 'P4', capacityInBytes: 32 * GIB },
  { tier: 'P6', capacityInBytes: 64 * GIB },
  { tier: 'P10', capacityInBytes: 128 * GIB },
  { tier: 'P15', capacityInBytes: 256 * GIB },
  { tier: 'P20', capacityInBytes: 512 * GIB },
  { tier: 'P30', capacityInBytes: 1024 * GIB },
  { tier: 'P40', capacityInBytes: 2048 * GIB },
  { tier: 'P50', capacityInBytes: 4095 * GIB },
  { tier: 'P60', capacityInBytes: 8192 * GIB },
  { tier: 'P70', capacityInBytes: 16384 * GIB },
  { tier: 'P80', capacityInBytes: 32767 * GIB },
];

/**
 * The smallest premium tier holding a disk of `dataSize` bytes (the VHD's capacity, without its
 * 512-byte footer: Azure counts a "128 GiB" unmanaged disk, whose blob is 128 GiB + 512 bytes, as
 * P10). Throws UserErrorUnsupportedDiskSize above P80.
 */
export function premiumPageBlobTierFor(dataSize: number): { tier: PremiumPageBlobTier; capacityInBytes: number } {
  const fit = PREMIUM_PAGE_BLOB_TIERS.find((t) => dataSize <= t.capacityInBytes);
  if (fit === undefined) {
    const largest = PREMIUM_PAGE_BLOB_TIERS[PREMIUM_PAGE_BLOB_TIERS.length - 1];
    throw errors.unsupportedDiskSize(
      dataSize,
      `a premium page blob holds at most ${largest.capacityInBytes} bytes (${largest.tier}); restore to a Standard account`,
    );
  }
  return fit;
}

export interface TargetBlobPlan {
  /** The page blob's size: exactly the source's, so the VHD footer stays the last 512 bytes. */
  size: number;
  storageType: TargetStorageType;
  /** Premium only: the tier the blob is created with (or would be, where the account has no tiers). */
  premiumTier?: PremiumPageBlobTier;
  /** Premium only: the capacity Azure provisions and bills for that tier. */
  provisionedBytes?: number;
}

export function planTargetBlob(sourceBlobSize: number, storageType: TargetStorageType): TargetBlobPlan {
  if (!Number.isSafeInteger(sourceBlobSize) || sourceBlobSize <= VHD_FOOTER_SIZE || sourceBlobSize % 512 !== 0) {
    throw errors.unsupportedDiskSize(sourceBlobSize, 'a restored disk must be a fixed VHD of whole 512-byte pages');
  }
  if (storageType === 'Standard') return { size: sourceBlobSize, storageType };
  const { tier, capacityInBytes } = premiumPageBlobTierFor(sourceBlobSize - VHD_FOOTER_SIZE);
  return { size: sourceBlobSize, storageType, premiumTier: tier, provisionedBytes: capacityInBytes };
}

// ---- restore method ---------------------------------------------------------------------------------

/**
 * `serverSideCopy`: the storage service copies the tier's snapshot onto the target and Kluis verifies
 * the target by reading it back; `streamed`: Kluis reads, verifies and uploads every allocated block.
 */
export type RestoreMethod = 'serverSideCopy' | 'streamed';

export interface RestoreMethodFacts {
  /** Blob endpoint of the account the chosen tier is read from; undefined when unknown. */
  sourceEndpoint: string | undefined;
  /** Blob endpoint of the restore target's account. */
  targetEndpoint: string;
  /** The capability probe of the source account; undefined when not asked. */
  copySafety: { serverSideCopySafe: boolean; reason?: string } | undefined;
  /** The target blob's planned size (`planTargetBlob`) and the disk's recorded size. */
  targetSize: number;
  diskSize: number;
}

export interface RestoreMethodDecision {
  method: RestoreMethod;
  reason: string;
}

/**
 * True when two blob endpoints name the same storage account: same scheme, host and port, and the same
 * path (Azurite's path-style `/<account>`), ignoring trailing slashes, query and letter case of the host.
 */
export function sameBlobEndpoint(a: string, b: string): boolean {
  const parse = (endpoint: string): string | undefined => {
    try {
      const url = new URL(endpoint);
      return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    } catch {
      return undefined;
    }
  };
  const left = parse(a);
  return left !== undefined && left === parse(b);
}

/**
 * How one disk is restored. A server-side copy needs the tier's snapshot and the target in the same
 * account (by endpoint, never by name), a target of exactly the disk's size, and an account whose copies
 * the capability probe found point-in-time and write-isolated; anything else streams.
 */
export function chooseRestoreMethod(facts: RestoreMethodFacts): RestoreMethodDecision {
  const streamed = (reason: string): RestoreMethodDecision => ({ method: 'streamed', reason });
  if (facts.sourceEndpoint === undefined) return streamed('the account the tier is read from is not known');
  if (!sameBlobEndpoint(facts.sourceEndpoint, facts.targetEndpoint)) {
    return streamed(`the tier is read from ${facts.sourceEndpoint} and the target is in ${facts.targetEndpoint}`);
  }
  if (facts.targetSize !== facts.diskSize) {
    return streamed(`the target blob is ${facts.targetSize} bytes and the disk ${facts.diskSize}`);
  }
  if (facts.copySafety === undefined) return streamed('the server-side copy capability of the account was not probed');
  if (!facts.copySafety.serverSideCopySafe) {
    return streamed(facts.copySafety.reason ?? 'the capability probe found server-side copies in the account not point-in-time and write-isolated');
  }
  return { method: 'serverSideCopy', reason: 'the tier and the target share an account whose server-side copies the probe found safe' };
}

/** True when only the probe's answer stands between these facts and a server-side copy (so it is worth asking). */
export function copyDependsOnProbe(facts: Omit<RestoreMethodFacts, 'copySafety'>): boolean {
  return chooseRestoreMethod({ ...facts, copySafety: { serverSideCopySafe: true } }).method === 'serverSideCopy';
}

// ---- verified chunks --------------------------------------------------------------------------------

/** A run of whole checksum blocks read, verified and written together. */
export interface VerifiedChunk {
  /** Block-aligned. */
  start: number;
  /** Block-aligned, or the blob size for the disk's last (short) block. */
  end: number;
  /** The source's allocated bytes inside [start, end), normalized: only these are written. */
  allocated: ByteRange[];
}

/**
 * Streams sorted allocated ranges into block-aligned read chunks of at most `chunkSize` bytes.
 * Consecutive blocks touched by allocated ranges share a chunk; a chunk never spans a whole
 * untouched block, so blocks that are not read are exactly the ones with no allocated byte.
 */
export class VerifiedChunkPlanner {
  private pending: VerifiedChunk | undefined;
  private lastEnd = 0;

  constructor(
    private readonly blobSize: number,
    private readonly blockSize: number,
    private readonly chunkSize: number = AZURE_MAX_PUT_PAGES_BYTES,
  ) {
    const positive = (n: number): boolean => Number.isSafeInteger(n) && n > 0;
    if (!positive(blockSize) || !positive(chunkSize) || chunkSize % blockSize !== 0 || blockSize % 512 !== 0) {
      throw errors.invalidPageRange(
        `The chunk size ${chunkSize} must be a positive multiple of the block size ${blockSize}, itself a multiple of 512.`,
      );
    }
    if (!Number.isSafeInteger(blobSize) || blobSize < 0) throw errors.invalidPageRange(`The blob size ${blobSize} is invalid.`);
  }

  /** Adds the next allocated range (ascending, non-overlapping); returns the chunks now complete. */
  push(range: ByteRange): VerifiedChunk[] {
    this.check(range);
    const done: VerifiedChunk[] = [];
    let cursor = range.start;
    while (cursor < range.end) {
      const blockStart = Math.floor(cursor / this.blockSize) * this.blockSize;
      const pending = this.pending;
      if (
        pending !== undefined &&
        (blockStart > pending.end || (blockStart === pending.end && pending.end - pending.start >= this.chunkSize))
      ) {
        done.push(pending);
        this.pending = undefined;
      }
      const chunk = this.pending ?? { start: blockStart, end: blockStart, allocated: [] };
      this.pending = chunk;
      const limit = Math.min(chunk.start + this.chunkSize, this.blobSize);
      const pieceEnd = Math.min(range.end, limit);
      const last = chunk.allocated[chunk.allocated.length - 1];
      if (last !== undefined && last.end === cursor) chunk.allocated[chunk.allocated.length - 1] = { start: last.start, end: pieceEnd };
      else chunk.allocated.push({ start: cursor, end: pieceEnd });
      chunk.end = Math.max(chunk.end, Math.min(Math.ceil(pieceEnd / this.blockSize) * this.blockSize, this.blobSize));
      cursor = pieceEnd;
    }
    this.lastEnd = range.end;
    return done;
  }

  /** The last chunk, if any. */
  finish(): VerifiedChunk[] {
    const last = this.pending;
    this.pending = undefined;
    return last === undefined ? [] : [last];
  }

  private check(range: ByteRange): void {
    const { start, end } = range;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start) {
      throw errors.invalidPageRange(`The page range [${start}, ${end}) is not a non-empty byte range.`);
    }
    if (start % 512 !== 0 || end % 512 !== 0) {
      throw errors.invalidPageRange(`The page range [${start}, ${end}) is not aligned to 512-byte pages.`);
    }
    if (end > this.blobSize) throw errors.invalidPageRange(`The page range [${start}, ${end}) ends beyond the blob size ${this.blobSize}.`);
    if (start < this.lastEnd) throw errors.invalidPageRange(`The page range [${start}, ${end}) overlaps or precedes the previous one.`);
  }
}

/** All chunks of a finite range list (convenience over VerifiedChunkPlanner). */
export function planVerifiedChunks(
  allocated: readonly ByteRange[],
  blobSize: number,
  blockSize: number,
  chunkSize: number = AZURE_MAX_PUT_PAGES_BYTES,
): VerifiedChunk[] {
  const planner = new VerifiedChunkPlanner(blobSize, blockSize, chunkSize);
  const chunks: VerifiedChunk[] = [];
  for (const range of normalizeRanges(allocated)) chunks.push(...planner.push(range));
  chunks.push(...planner.finish());
  return chunks;
}

/** Number of checksum blocks of a disk (the last one may be short). */
export function blockCountOf(blobSize: number, blockSize: number): number {
  return Math.ceil(blobSize / blockSize);
}

/**
 * What of a verified chunk is written to the fresh (all-zero) target: its allocated bytes, minus
 * the blocks that are all zeros (they stay unallocated and read back as zeros), in pieces of at
 * most 4 MiB. `zeroBlocks` holds absolute block indices.
 */
export function uploadPiecesFor(chunk: VerifiedChunk, zeroBlocks: ReadonlySet<number>, blockSize: number): ByteRange[] {
  const keep: ByteRange[] = [];
  for (let start = chunk.start; start < chunk.end; start += blockSize) {
    if (!zeroBlocks.has(start / blockSize)) keep.push({ start, end: Math.min(start + blockSize, chunk.end) });
  }
  const pieces: ByteRange[] = [];
  for (const range of intersectRanges(chunk.allocated, keep)) {
    for (let start = range.start; start < range.end; start += AZURE_MAX_PUT_PAGES_BYTES) {
      pieces.push({ start, end: Math.min(start + AZURE_MAX_PUT_PAGES_BYTES, range.end) });
    }
  }
  return pieces;
}

// ---- verification outcome ---------------------------------------------------------------------------

export type BlockMismatchKind = 'checksum' | 'expectedZero' | 'unexpectedlyUnallocated';

export interface BlockMismatch {
  blockIndex: number;
  offset: number;
  kind: BlockMismatchKind;
}

/** Human wording of a block mismatch, for the error message. */
export function describeMismatch(mismatch: BlockMismatch, blockSize: number): string {
  const where = `block ${mismatch.blockIndex} (bytes ${mismatch.offset}–${mismatch.offset + blockSize - 1})`;
  switch (mismatch.kind) {
    case 'checksum':
      return `${where} does not match its recorded checksum`;
    case 'expectedZero':
      return `${where} holds data but was recorded as all zeros`;
    case 'unexpectedlyUnallocated':
      return `${where} is unallocated (reads as zeros) but was recorded with data`;
  }
}

// ---- recovery point lifecycle (catalog row `state`) -------------------------------------------------

/**
 * The catalog row's `state` says which tiers of a point are usable. Deletion marks the row before
 * touching blobs and moves it on only after they are gone, so a crash leaves a state that a
 * re-run completes:
 *   Committed            both tiers (the snapshot tier may still have expired on its own)
 *   SnapshotTierDeleting snapshot tier being deleted; the vault tier is usable
 *   SnapshotTierDeleted  vault tier only
 *   Deleting             the whole point is being deleted; the row goes last
 */
export const RecoveryPointStates = {
  Committed: 'Committed',
  SnapshotTierDeleting: 'SnapshotTierDeleting',
  SnapshotTierDeleted: 'SnapshotTierDeleted',
  Deleting: 'Deleting',
} as const;

export type RecoveryPointState = (typeof RecoveryPointStates)[keyof typeof RecoveryPointStates];

export type TierStatus = 'Valid' | 'Deleting' | 'Deleted';

export interface RecoveryPointTiers {
  /** Azure's `recoveryPointTierDetails` InstantRP (snapshot tier). */
  instant: TierStatus;
  /** Azure's `recoveryPointTierDetails` HardenedRP (vault tier). */
  vault: TierStatus;
}

/** Tier statuses of a row's state; an unknown state counts as Committed (the blobs then decide). */
export function tiersOfState(state: string): RecoveryPointTiers {
  switch (state) {
    case RecoveryPointStates.SnapshotTierDeleting:
      return { instant: 'Deleting', vault: 'Valid' };
    case RecoveryPointStates.SnapshotTierDeleted:
      return { instant: 'Deleted', vault: 'Valid' };
    case RecoveryPointStates.Deleting:
      return { instant: 'Deleted', vault: 'Deleting' };
    default:
      return { instant: 'Valid', vault: 'Valid' };
  }
}
