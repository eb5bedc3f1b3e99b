/**
 * The verified copy of one disk of a recovery point: reads only allocated blocks from the chosen tier,
 * checks every 64 KiB block against the point's checksums (zero blocks must read as zero), and writes the
 * allocated parts to the target with a transactional MD5, reads running ahead of uploads, memory bounded.
 */
import { createHash } from 'node:crypto';
import { digestBlock, isZeroBlock, type BlockSums } from '../domain/block-sums';
import { errors } from '../domain/errors';
import { AZURE_MAX_PUT_PAGES_BYTES } from '../domain/page-ranges';
import {
  blockCountOf,
  describeMismatch,
  uploadPiecesFor,
  VerifiedChunkPlanner,
  type BlockMismatch,
  type RecoveryPointTier,
  type VerifiedChunk,
} from '../domain/restore-plan';
import type { BlobRef, DiskStore } from '../stores/disk-store';
import type { RestoreTargetStore } from '../stores/restore-target-store';

export interface VerifiedCopyInput {
  source: { store: DiskStore; ref: BlobRef };
  target: { store: RestoreTargetStore; ref: BlobRef };
  /** The recovery point's checksums of this disk; cover every block of `blobSize`. */
  sums: BlockSums;
  blobSize: number;
  /** For error messages. */
  lun: number;
  tier: RecoveryPointTier;
}

export interface VerifiedCopyOptions {
  /** Bytes per read; a multiple of the block size, at most 4 MiB. Default 4 MiB. */
  chunkSize?: number;
  /** Chunks read ahead of the one being verified. Default 2. */
  readAhead?: number;
  /** Uploads in flight while later chunks are verified. Default 4. */
  maxUploadsInFlight?: number;
  abortSignal?: AbortSignal;
}

export interface VerifiedCopyResult {
  /** Bytes read from the source (whole blocks around its allocated ranges). */
  bytesRead: number;
  /** Bytes written to the target. */
  bytesCopied: number;
  /** Every block of the disk: the ones read and hashed, and the unread ones checked to be recorded zero. */
  blocksVerified: number;
  uploads: number;
}

interface PendingRead {
  chunk: VerifiedChunk;
  data: Promise<Buffer>;
}

export async function copyDiskVerified(input: VerifiedCopyInput, options: VerifiedCopyOptions = {}): Promise<VerifiedCopyResult> {
  const { sums, blobSize } = input;
  const blockSize = sums.blockSize;
  const chunkSize = options.chunkSize ?? Math.floor(AZURE_MAX_PUT_PAGES_BYTES / blockSize) * blockSize;
  const readAhead = Math.max(0, options.readAhead ?? 2);
  const maxUploads = Math.max(1, options.maxUploadsInFlight ?? 4);
  const signal = options.abortSignal;
  if (sums.diskSize !== blobSize || sums.firstBlock !== 0 || sums.endBlock !== blockCountOf(blobSize, blockSize)) {
    throw errors.invalidBlockSums(
      `the checksums cover ${sums.diskSize} bytes from block ${sums.firstBlock}, but disk lun ${input.lun} has ${blobSize} bytes`,
    );
  }
  if (chunkSize <= 0 || chunkSize > AZURE_MAX_PUT_PAGES_BYTES) {
    throw errors.invalidRequest('chunkSize', `The chunk size must be a multiple of ${blockSize} bytes of at most 4 MiB.`);
  }

  const planner = new VerifiedChunkPlanner(blobSize, blockSize, chunkSize);
  const nonZero = sums.nonZeroBlocks()[Symbol.iterator]();
  let nextNonZero = nonZero.next();
  let verifiedBlocks = 0;
  const result: VerifiedCopyResult = { bytesRead: 0, bytesCopied: 0, blocksVerified: 0, uploads: 0 };
  const reads: PendingRead[] = [];
  const uploads: Array<Promise<void>> = [];

  const fail = (mismatch: BlockMismatch): never => {
    throw errors.restoreVerificationFailed(input.lun, input.tier, describeMismatch(mismatch, blockSize));
  };

  /** Blocks [verifiedBlocks, endBlock) were not read: each must be recorded as zero. */
  const verifyUnread = (endBlock: number): void => {
    while (!nextNonZero.done && nextNonZero.value.index < endBlock) {
      const { index } = nextNonZero.value;
      if (index >= verifiedBlocks) fail({ blockIndex: index, offset: index * blockSize, kind: 'unexpectedlyUnallocated' });
      nextNonZero = nonZero.next();
    }
    result.blocksVerified += Math.max(0, endBlock - verifiedBlocks);
    verifiedBlocks = Math.max(verifiedBlocks, endBlock);
  };

  const verifyChunk = (chunk: VerifiedChunk, data: Buffer): Set<number> => {
    if (data.length !== chunk.end - chunk.start) {
      throw errors.transferIntegrityFailed(`Read ${data.length} bytes at offset ${chunk.start}, expected ${chunk.end - chunk.start}.`);
    }
    const zeroBlocks = new Set<number>();
    for (let offset = chunk.start; offset < chunk.end; offset += blockSize) {
      const index = offset / blockSize;
      const block = data.subarray(offset - chunk.start, Math.min(offset + blockSize, chunk.end) - chunk.start);
      const expected = sums.digestOf(index);
      const zero = isZeroBlock(block);
      if (zero) zeroBlocks.add(index);
      if (expected === undefined ? !zero : digestBlock(block) !== expected) {
        fail({ blockIndex: index, offset, kind: expected === undefined ? 'expectedZero' : zero ? 'unexpectedlyUnallocated' : 'checksum' });
      }
    }
    return zeroBlocks;
  };

  const processChunk = async (pending: PendingRead): Promise<void> => {
    const data = await pending.data;
    const { chunk } = pending;
    verifyUnread(chunk.start / blockSize);
    const zeroBlocks = verifyChunk(chunk, data);
    const endBlock = blockCountOf(chunk.end, blockSize);
    result.blocksVerified += endBlock - verifiedBlocks;
    verifiedBlocks = endBlock;
    result.bytesRead += data.length;
    for (const piece of uploadPiecesFor(chunk, zeroBlocks, blockSize)) {
      const bytes = data.subarray(piece.start - chunk.start, piece.end - chunk.start);
      const upload = input.target.store.uploadPages(input.target.ref, piece.start, bytes, {
        transactionalContentMD5: createHash('md5').update(bytes).digest(),
        abortSignal: signal,
      });
      upload.catch(ignore); // awaited below; this only keeps an early rejection from being "unhandled"
      uploads.push(upload);
      result.bytesCopied += bytes.length;
      result.uploads += 1;
      while (uploads.length >= maxUploads) await uploads.shift();
    }
  };

  const enqueue = async (chunk: VerifiedChunk): Promise<void> => {
    signal?.throwIfAborted();
    const data = input.source.store.readRange(input.source.ref, chunk.start, chunk.end - chunk.start, { abortSignal: signal });
    data.catch(ignore);
    reads.push({ chunk, data });
    while (reads.length > readAhead) await processChunk(reads.shift() as PendingRead);
  };

  try {
    for await (const range of input.source.store.listPageRanges(input.source.ref, { abortSignal: signal })) {
      if (range.count === 0) continue;
      for (const chunk of planner.push({ start: range.offset, end: range.offset + range.count })) await enqueue(chunk);
    }
    for (const chunk of planner.finish()) await enqueue(chunk);
    while (reads.length > 0) await processChunk(reads.shift() as PendingRead);
    verifyUnread(blockCountOf(blobSize, blockSize));
    await Promise.all(uploads);
  } catch (err) {
    // Let every started request settle so none writes after the caller deletes the partial target.
    await Promise.allSettled([...uploads, ...reads.map((r) => r.data)]);
    throw err;
  }
  return result;
}

function ignore(): void {}
