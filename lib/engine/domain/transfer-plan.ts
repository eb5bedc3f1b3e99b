/**
 * Pure planning of a disk transfer: split the disk into segments, and per segment decide which
 * block-aligned ranges to read (then hash, then upload or clear) and which to clear unread.
 *
 * API summary:
 *   DEFAULT_SEGMENT_SIZE = 1 GiB
 *   planSegments(diskSize, segmentSize?, blockSize?): DiskSegment[]
 *   planSegmentTransfer(input): SegmentPlan          reads/clears with reasons (disjoint, ascending)
 *   decideBlock(plan, index, digest, previous?): BlockDecision   after a read block is hashed
 *   unreadBlockDigest(plan, index, previous?)          the checksum of a block the plan does not read
 *   readChunks(plan, maxBytes?): ByteRange[]          reads cut into request-sized, block-aligned pieces
 *
 * Change sources: 'full' (first backup: allocated ranges only), 'diff' (a true server diff since
 * the previous point's source snapshot; unread blocks keep the previous digests), 'checksum'
 * (allocated ranges, compared with the previous point's block sums). The replica is assumed to
 * hold exactly the previous point's bytes for 'diff' and 'checksum'; for 'full' it is either new
 * (all zeros) or is reset by clearing every block not uploaded.
 */
import { BLOCK_SIZE, BlockSums, blockByteRange, blockSpan } from './block-sums';
import { errors } from '../../domain/errors';
import {
  AZURE_MAX_PUT_PAGES_BYTES,
  alignToBlocks,
  chunkRange,
  clipRangesToSegment,
  intersectRanges,
  normalizeRanges,
  subtractRanges,
  type ByteRange,
} from './page-ranges';

export const DEFAULT_SEGMENT_SIZE = 1024 ** 3;

export interface DiskSegment {
  index: number;
  range: ByteRange;
}

export type ChangeSource =
  | {
      kind: 'full';
      /** Allocated ranges of the source (any extent; clipped to the segment here). */
      allocated: readonly ByteRange[];
      /** True when the replica was just created (all zeros): nothing needs clearing. */
      replicaIsNew: boolean;
    }
  | {
      kind: 'diff';
      changed: readonly ByteRange[];
      cleared: readonly ByteRange[];
      /** The previous point's sums (any window covering the segment, or the whole disk). */
      previous: BlockSums;
    }
  | { kind: 'checksum'; allocated: readonly ByteRange[]; previous: BlockSums };

export type ChangeKind = ChangeSource['kind'];

export type ReadReason =
  /** full / checksum: an allocated block of the source. */
  | 'allocated'
  /** diff: the server says the block was written since the previous snapshot. */
  | 'changed'
  /** diff: part of the block was cleared; its new digest needs the rest of its bytes. */
  | 'partially-cleared';

export type ClearReason =
  /** diff: every byte of the block was cleared since the previous snapshot. */
  | 'cleared'
  /** checksum: nonzero in the previous point, unallocated now. */
  | 'unallocated-now'
  /** full over an existing replica: not allocated in the source, so it must read as zeros. */
  | 'reset';

export interface PlannedRange<Reason extends string> {
  range: ByteRange;
  reason: Reason;
}

export interface SegmentPlan {
  kind: ChangeKind;
  segment: DiskSegment;
  blockSize: number;
  diskSize: number;
  firstBlock: number;
  blockCount: number;
  /** Block-aligned (the disk's last block may be short), ascending, disjoint from `clears`. */
  reads: PlannedRange<ReadReason>[];
  /** Ascending, disjoint from `reads`. */
  clears: PlannedRange<ClearReason>[];
  /** How the checksum of a block not read is known: zero, or carried over from the previous sums. */
  unreadBlocks: 'zero' | 'previous';
  /** full only: whether the replica already held data (so read zero blocks must be cleared). */
  replicaIsNew: boolean;
}

export interface PlanSegmentInput {
  segment: DiskSegment;
  diskSize: number;
  blockSize?: number;
  source: ChangeSource;
}

export function planSegments(
  diskSize: number,
  segmentSize: number = DEFAULT_SEGMENT_SIZE,
  blockSize: number = BLOCK_SIZE,
): DiskSegment[] {
  if (!Number.isSafeInteger(diskSize) || diskSize <= 0) throw errors.transferPlanInvalid(`disk size ${diskSize} is not positive`);
  if (!Number.isSafeInteger(segmentSize) || segmentSize <= 0 || segmentSize % blockSize !== 0) {
    throw errors.transferPlanInvalid(`segment size ${segmentSize} is not a positive multiple of the block size ${blockSize}`);
  }
  const segments: DiskSegment[] = [];
  for (let start = 0, index = 0; start < diskSize; start += segmentSize, index += 1) {
    segments.push({ index, range: { start, end: Math.min(start + segmentSize, diskSize) } });
  }
  return segments;
}

export function planSegmentTransfer(input: PlanSegmentInput): SegmentPlan {
  const { segment, diskSize, source } = input;
  const blockSize = input.blockSize ?? BLOCK_SIZE;
  const { range } = segment;
  if (range.start % blockSize !== 0 || range.end > diskSize || range.end <= range.start) {
    throw errors.transferPlanInvalid(
      `segment [${range.start}, ${range.end}) must start on a ${blockSize}-byte block and lie inside the ${diskSize}-byte disk`,
    );
  }
  if (range.end !== diskSize && range.end % blockSize !== 0) {
    throw errors.transferPlanInvalid(`segment [${range.start}, ${range.end}) must end on a block boundary or the disk's end`);
  }
  const { firstBlock, blockCount } = blockSpan(range, blockSize, diskSize);
  const base = { kind: source.kind, segment, blockSize, diskSize, firstBlock, blockCount };
  const inSegment = (ranges: readonly ByteRange[]): ByteRange[] =>
    alignToBlocks(clipRangesToSegment(ranges, range), blockSize, diskSize);

  switch (source.kind) {
    case 'full': {
      const reads = inSegment(source.allocated);
      return {
        ...base,
        reads: tag(reads, 'allocated'),
        clears: source.replicaIsNew ? [] : tag(subtractRanges([range], reads), 'reset'),
        unreadBlocks: 'zero',
        replicaIsNew: source.replicaIsNew,
      };
    }
    case 'checksum': {
      assertPreviousUsable(source.previous, blockSize, diskSize);
      const reads = inSegment(source.allocated);
      const unread = subtractRanges([range], reads);
      const previouslyNonZero = blockRanges(
        [...source.previous.nonZeroBlocks()].map((b) => b.index).filter((i) => i >= firstBlock && i < firstBlock + blockCount),
        blockSize,
        diskSize,
      );
      // Allocated-now blocks are read and decided after hashing; only the rest is cleared unread.
      return {
        ...base,
        reads: tag(reads, 'allocated'),
        clears: tag(intersectRanges(previouslyNonZero, unread), 'unallocated-now'),
        unreadBlocks: 'zero',
        replicaIsNew: false,
      };
    }
    case 'diff': {
      assertPreviousUsable(source.previous, blockSize, diskSize);
      const changed = inSegment(source.changed);
      const clearedExact = clipRangesToSegment(source.cleared, range);
      const touchedByClear = alignToBlocks(clearedExact, blockSize, diskSize);
      const fullyCleared = subtractRanges(
        touchedByClear.flatMap((r) => wholeBlocksInside(r, clearedExact, blockSize, diskSize)),
        changed,
      );
      const partiallyCleared = subtractRanges(subtractRanges(touchedByClear, fullyCleared), changed);
      const reads = [...tag(changed, 'changed'), ...tag(partiallyCleared, 'partially-cleared')].sort(
        (a, b) => a.range.start - b.range.start,
      );
      return {
        ...base,
        reads,
        clears: tag(normalizeRanges(fullyCleared), 'cleared'),
        unreadBlocks: 'previous',
        replicaIsNew: false,
      };
    }
    default:
      return assertNever(source);
  }
}

export type BlockDecision =
  | { action: 'upload'; reason: 'new' | 'changed' }
  | { action: 'clear'; reason: 'zero' }
  | { action: 'skip'; reason: 'unchanged' | 'zero' };

/**
 * What to do with a block the plan read, once hashed (`digest` undefined: every byte zero).
 * Skipping an unchanged block relies on the replica holding the previous point's bytes.
 */
export function decideBlock(plan: SegmentPlan, index: number, digest: bigint | undefined, previous?: BlockSums): BlockDecision {
  if (plan.kind === 'full') {
    if (digest !== undefined) return { action: 'upload', reason: 'new' };
    return plan.replicaIsNew ? { action: 'skip', reason: 'zero' } : { action: 'clear', reason: 'zero' };
  }
  if (previous === undefined) throw errors.transferPlanInvalid(`a ${plan.kind} transfer needs the previous block sums`);
  const before = previous.covers(index) ? previous.digestOf(index) : undefined;
  if (digest === undefined) return before === undefined ? { action: 'skip', reason: 'zero' } : { action: 'clear', reason: 'zero' };
  if (before === digest) return { action: 'skip', reason: 'unchanged' };
  return { action: 'upload', reason: before === undefined ? 'new' : 'changed' };
}

/** The digest (undefined = zero) of a block the plan does not read. */
export function unreadBlockDigest(plan: SegmentPlan, index: number, previous?: BlockSums): bigint | undefined {
  if (plan.unreadBlocks === 'zero' || isInClears(plan, index * plan.blockSize)) return undefined;
  if (previous === undefined) throw errors.transferPlanInvalid('a diff transfer needs the previous block sums');
  return previous.covers(index) ? previous.digestOf(index) : undefined;
}

/** The plan's reads cut into pieces of at most `maxBytes` (a multiple of the block size). */
export function readChunks(plan: SegmentPlan, maxBytes: number = AZURE_MAX_PUT_PAGES_BYTES): ByteRange[] {
  if (maxBytes % plan.blockSize !== 0) {
    throw errors.transferPlanInvalid(`read size ${maxBytes} is not a multiple of the block size ${plan.blockSize}`);
  }
  return normalizeRanges(plan.reads.map((r) => r.range)).flatMap((r) => chunkRange(r, maxBytes));
}

/** Bytes a plan reads and clears, for logs and tests. */
export function planTotals(plan: SegmentPlan): { bytesToRead: number; bytesToClear: number } {
  const sum = (ranges: PlannedRange<string>[]): number => ranges.reduce((n, r) => n + r.range.end - r.range.start, 0);
  return { bytesToRead: sum(plan.reads), bytesToClear: sum(plan.clears) };
}

/** Binary search: does a planned clear contain `offset`? */
function isInClears(plan: SegmentPlan, offset: number): boolean {
  let low = 0;
  let high = plan.clears.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const { start, end } = plan.clears[mid].range;
    if (offset < start) high = mid - 1;
    else if (offset >= end) low = mid + 1;
    else return true;
  }
  return false;
}

function tag<R extends string>(ranges: readonly ByteRange[], reason: R): PlannedRange<R>[] {
  return ranges.map((range) => ({ range, reason }));
}

function blockRanges(indices: readonly number[], blockSize: number, diskSize: number): ByteRange[] {
  return normalizeRanges(indices.map((i) => blockByteRange(i, blockSize, diskSize)));
}

/** The whole blocks of block-aligned `aligned` that `exact` covers completely. */
function wholeBlocksInside(aligned: ByteRange, exact: readonly ByteRange[], blockSize: number, diskSize: number): ByteRange[] {
  const indices: number[] = [];
  for (let start = aligned.start; start < aligned.end; start += blockSize) {
    const block = blockByteRange(start / blockSize, blockSize, diskSize);
    if (subtractRanges([block], exact).length === 0) indices.push(start / blockSize);
  }
  return blockRanges(indices, blockSize, diskSize);
}

function assertPreviousUsable(previous: BlockSums, blockSize: number, diskSize: number): void {
  if (previous.blockSize !== blockSize) {
    throw errors.transferPlanInvalid(`the previous sums use ${previous.blockSize}-byte blocks, this transfer ${blockSize}-byte blocks`);
  }
  if (previous.diskSize !== diskSize) {
    throw errors.transferPlanInvalid(`the previous sums describe a ${previous.diskSize}-byte disk, this one has ${diskSize} bytes`);
  }
}

function assertNever(value: never): never {
  throw errors.transferPlanInvalid(`unknown change source ${JSON.stringify(value)}`);
}
