/**
 * The verified read of one disk: reads only the allocated blocks of a disk (the tier's view or snapshot, or
 * a restored target read back), checks every 64 KiB block against the recovery point's checksums (blocks
 * not read must be recorded zero; blocks recorded with data must be allocated and match), reads running
 * ahead of verification, memory bounded. The streamed restore (`verified-copy.ts`) uploads each verified
 * chunk; the server-side copy restore only verifies.
 */
import { digestBlock, isZeroBlock, type BlockSums } from '../domain/block-sums';
import { errors } from '../../domain/errors';
import { DEFAULT_READ_CHUNK_BYTES, MAX_READ_CHUNK_BYTES } from '../domain/page-ranges';
import {
  blockCountOf,
  describeMismatch,
  VerifiedChunkPlanner,
  type BlockMismatch,
  type RecoveryPointTier,
  type VerifiedChunk,
} from '../domain/restore-plan';
import type { RangeReader } from './range-reader';

export interface VerifiedReadInput {
  /** The disk's bytes: a source view, a vault replica snapshot, or a restored target (range-reader.ts). */
  source: RangeReader;
  /** The recovery point's checksums of this disk; cover every block of `blobSize`. */
  sums: BlockSums;
  blobSize: number;
  /** For error messages. */
  lun: number;
  tier: RecoveryPointTier;
}

export interface VerifiedReadOptions {
  /** Bytes per read; a multiple of the block size, at most 64 MiB. Default 4.5 MiB (`DEFAULT_READ_CHUNK_BYTES`). */
  chunkSize?: number;
  /** Chunks read ahead of the one being verified. Default 2. */
  readAhead?: number;
  abortSignal?: AbortSignal;
}

export interface VerifiedReadResult {
  /** Bytes read (whole blocks around the allocated ranges). */
  bytesRead: number;
  /** Every block of the disk: the ones read and hashed, and the unread ones checked to be recorded zero. */
  blocksVerified: number;
}

/**
 * Called with each chunk once every block in it is verified; `zeroBlocks` holds the absolute indices of
 * its all-zero blocks. The read waits for it before verifying the next chunk.
 */
export type VerifiedChunkHandler = (chunk: VerifiedChunk, data: Buffer, zeroBlocks: ReadonlySet<number>) => Promise<void>;

interface PendingRead {
  chunk: VerifiedChunk;
  data: Promise<Buffer>;
}

export async function readDiskVerified(
  input: VerifiedReadInput,
  options: VerifiedReadOptions = {},
  onVerifiedChunk?: VerifiedChunkHandler,
): Promise<VerifiedReadResult> {
  const { sums, blobSize } = input;
  const blockSize = sums.blockSize;
  const chunkSize = options.chunkSize ?? Math.max(blockSize, Math.floor(DEFAULT_READ_CHUNK_BYTES / blockSize) * blockSize);
  const readAhead = Math.max(0, options.readAhead ?? 2);
  const signal = options.abortSignal;
  if (sums.diskSize !== blobSize || sums.firstBlock !== 0 || sums.endBlock !== blockCountOf(blobSize, blockSize)) {
    throw errors.invalidBlockSums(
      `the checksums cover ${sums.diskSize} bytes from block ${sums.firstBlock}, but disk lun ${input.lun} has ${blobSize} bytes`,
    );
  }
  if (chunkSize <= 0 || chunkSize > MAX_READ_CHUNK_BYTES) {
    throw errors.invalidRequest('chunkSize', `The chunk size must be a multiple of ${blockSize} bytes of at most ${MAX_READ_CHUNK_BYTES / 1024 / 1024} MiB.`);
  }

  const planner = new VerifiedChunkPlanner(blobSize, blockSize, chunkSize);
  const verifier = new BlockVerifier(sums, (mismatch) =>
    errors.restoreVerificationFailed(input.lun, input.tier, describeMismatch(mismatch, blockSize)),
  );
  const result: VerifiedReadResult = { bytesRead: 0, blocksVerified: 0 };
  const reads: PendingRead[] = [];

  const processChunk = async (pending: PendingRead): Promise<void> => {
    const data = await pending.data;
    const zeroBlocks = verifier.verifyChunk(pending.chunk, data);
    result.bytesRead += data.length;
    if (onVerifiedChunk !== undefined) await onVerifiedChunk(pending.chunk, data, zeroBlocks);
  };

  const enqueue = async (chunk: VerifiedChunk): Promise<void> => {
    signal?.throwIfAborted();
    const data = input.source.read(chunk.start, chunk.end - chunk.start, { abortSignal: signal });
    data.catch(ignore); // awaited in order; this only keeps an early rejection from being "unhandled"
    reads.push({ chunk, data });
    while (reads.length > readAhead) await processChunk(reads.shift() as PendingRead);
  };

  try {
    for await (const range of input.source.allocatedRanges({ abortSignal: signal })) {
      if (range.end <= range.start) continue;
      for (const chunk of planner.push(range)) await enqueue(chunk);
    }
    for (const chunk of planner.finish()) await enqueue(chunk);
    while (reads.length > 0) await processChunk(reads.shift() as PendingRead);
    verifier.finish(blobSize);
  } catch (err) {
    // Let every started read settle so none is still running when the caller cleans up.
    await Promise.allSettled(reads.map((r) => r.data));
    throw err;
  }
  result.blocksVerified = verifier.blocksVerified;
  return result;
}

/**
 * Checks blocks in ascending order against the checksums: each chunk read is hashed block by block, and
 * every block skipped between chunks (never allocated) must be recorded zero.
 */
class BlockVerifier {
  private readonly nonZero: Iterator<{ index: number }>;
  private nextNonZero: IteratorResult<{ index: number }>;
  /** Blocks [0, verifiedEnd) are verified. */
  private verifiedEnd = 0;
  blocksVerified = 0;

  constructor(
    private readonly sums: BlockSums,
    private readonly failure: (mismatch: BlockMismatch) => Error,
  ) {
    this.nonZero = sums.nonZeroBlocks()[Symbol.iterator]();
    this.nextNonZero = this.nonZero.next();
  }

  /** Verifies the unread blocks before the chunk, then every block of it; returns its all-zero blocks. */
  verifyChunk(chunk: VerifiedChunk, data: Buffer): Set<number> {
    const blockSize = this.sums.blockSize;
    this.verifyUnread(chunk.start / blockSize);
    if (data.length !== chunk.end - chunk.start) {
      throw errors.transferIntegrityFailed(`Read ${data.length} bytes at offset ${chunk.start}, expected ${chunk.end - chunk.start}.`);
    }
    const zeroBlocks = new Set<number>();
    for (let offset = chunk.start; offset < chunk.end; offset += blockSize) {
      const index = offset / blockSize;
      const block = data.subarray(offset - chunk.start, Math.min(offset + blockSize, chunk.end) - chunk.start);
      const expected = this.sums.digestOf(index);
      const zero = isZeroBlock(block);
      if (zero) zeroBlocks.add(index);
      if (expected === undefined ? !zero : digestBlock(block) !== expected) {
        throw this.failure({ blockIndex: index, offset, kind: expected === undefined ? 'expectedZero' : zero ? 'unexpectedlyUnallocated' : 'checksum' });
      }
    }
    const endBlock = blockCountOf(chunk.end, blockSize);
    this.blocksVerified += endBlock - this.verifiedEnd;
    this.verifiedEnd = endBlock;
    return zeroBlocks;
  }

  /** The blocks after the last chunk, up to the end of the disk, were not read: each must be recorded zero. */
  finish(blobSize: number): void {
    this.verifyUnread(blockCountOf(blobSize, this.sums.blockSize));
  }

  /** Blocks [verifiedEnd, endBlock) were not read: each must be recorded as zero. */
  private verifyUnread(endBlock: number): void {
    const blockSize = this.sums.blockSize;
    while (!this.nextNonZero.done && this.nextNonZero.value.index < endBlock) {
      const { index } = this.nextNonZero.value;
      if (index >= this.verifiedEnd) throw this.failure({ blockIndex: index, offset: index * blockSize, kind: 'unexpectedlyUnallocated' });
      this.nextNonZero = this.nonZero.next();
    }
    this.blocksVerified += Math.max(0, endBlock - this.verifiedEnd);
    this.verifiedEnd = Math.max(this.verifiedEnd, endBlock);
  }
}

function ignore(): void {}
