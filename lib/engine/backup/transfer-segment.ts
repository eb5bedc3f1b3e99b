/**
 * One segment of a disk transfer (an activity): read the planned ranges from the disk's view
 * (or its staging copy) through the disk's backend, hash every block, upload the changed nonzero blocks to the vault replica
 * (adjacent blocks coalesced, ≤ 4 MiB per call, each with its transactional MD5), clear zero and
 * cleared blocks, then write the segment's checksum part under the job's staging prefix.
 *
 * Idempotent: the plan depends only on the source view and the previous point, never on what
 * the replica holds, so a re-run after a crash writes the same bytes and the same checksum part.
 * A full backup seeded by a server-side copy (`changeDetection.seed`) only reads and hashes the
 * replica instead: seed-replica.ts.
 * Reads and writes overlap (reads ahead, uploads in flight). In-flight work is bounded in bytes, not
 * only in calls: memory stays under maxReadsInFlight × readChunkSize + maxWritesInFlight × 4 MiB, 21 MiB
 * by default, while small calls (the diff path reads and writes single 64 KiB blocks) get up to
 * MAX_CALLS_IN_FLIGHT at once — a store answers many small requests faster in parallel.
 *
 * API:
 *   transferSegment(deps, input: TransferSegmentInput): Promise<TransferSegmentResult>
 *   loadBlockSums(deps, blobName): Promise<BlockSums>     (cached: committed checksum blobs never change)
 */
import { createHash } from 'node:crypto';
import { BLOCK_SIZE, BlockSums, decodeBlockSums, isZeroBlock, digestBlock } from '../domain/block-sums';
import { errors, isKluisErrorLike } from '../../domain/errors';
import { AZURE_MAX_PUT_PAGES_BYTES, DEFAULT_READ_CHUNK_BYTES, MAX_READ_CHUNK_BYTES, chunkRange, type ByteRange, type PageRangesDiff } from '../domain/page-ranges';
import {
  decideBlock,
  planSegmentTransfer,
  readChunks,
  unreadBlockDigest,
  type ChangeSource,
  type DiskSegment,
  type SegmentPlan,
} from '../domain/transfer-plan';
import { checksumsBlobName, replicaBlobName } from '../domain/vault-layout';
import type { BlobRef } from '../../stores/disk-store';
import { writeChecksumPart } from './checksum-part';
import type { BackupEngineDeps } from '../engine-deps';
import { readAhead } from './read-ahead';
import { ReplicaFence } from './replica-fence';
import { verifySeededSegment } from './seed-replica';
import type { ChangeDetectionInput, SegmentTransferStats, TransferSegmentResult } from '../domain/backup-job';
import type { DiskView } from '../domain/disk-view';
export type { ChangeDetectionInput, SegmentTransferStats, TransferSegmentResult };

export type TransferDeps = Pick<BackupEngineDeps, 'sources' | 'vault' | 'vaultContainer' | 'log'>;


export interface TransferTuning {
  /** Bytes per read; a multiple of the block size, ≤ 64 MiB. Default 4.5 MiB (uploads are ≤ 4 MiB each). */
  readChunkSize?: number;
  /** Reads in flight, in full-size reads (the byte budget is this × readChunkSize). Default 2. */
  maxReadsInFlight?: number;
  /** Uploads in flight, in full-size uploads (the byte budget is this × min(readChunkSize, 4 MiB)). Default 3. */
  maxWritesInFlight?: number;
  /** Calls in flight per direction, however small. Default MAX_CALLS_IN_FLIGHT. */
  maxCallsInFlight?: number;
}

export interface TransferSegmentInput {
  itemId: string;
  jobId: string;
  lun: number;
  segment: DiskSegment;
  /** The disk's size (its view's size). */
  diskSize: number;
  blockSize?: number;
  /** The disk's view: allocated and changed ranges are asked of it. */
  source: DiskView;
  /** Where the bytes are read: the staging copy (Premium) or, by default, `source`. */
  readFrom?: DiskView;
  changeDetection: ChangeDetectionInput;
  tuning?: TransferTuning;
}



/** Calls in flight per direction, however small they are. */
const MAX_CALLS_IN_FLIGHT = 8;

export async function transferSegment(deps: TransferDeps, input: TransferSegmentInput): Promise<TransferSegmentResult> {
  if (input.changeDetection.kind === 'full' && input.changeDetection.seed === 'serverSideCopy') return verifySeededSegment(deps, input);
  const blockSize = input.blockSize ?? BLOCK_SIZE;
  const readChunkSize = input.tuning?.readChunkSize ?? DEFAULT_READ_CHUNK_BYTES;
  if (readChunkSize > MAX_READ_CHUNK_BYTES || readChunkSize % blockSize !== 0) {
    throw errors.transferPlanInvalid(`read chunk size ${readChunkSize} must be a multiple of ${blockSize} and at most 64 MiB`);
  }
  const { plan, previous } = await planFromStore(deps, input, blockSize);
  const replica: BlobRef = { container: deps.vaultContainer, blob: replicaBlobName(input.itemId, input.lun) };
  // Every write first makes sure the replica is still this job's (replica-fence.ts): a run declared dead stops here.
  const fence = new ReplicaFence(deps.vault, replica, input);
  const readFrom = input.readFrom ?? input.source;
  const reader = deps.sources.backendFor(readFrom.kind);
  const part = BlockSums.create({ diskSize: input.diskSize, blockSize, firstBlock: plan.firstBlock, blockCount: plan.blockCount });
  const readBlocks = new Uint8Array(plan.blockCount);
  const stats = { bytesRead: 0, bytesWritten: 0, bytesCleared: 0, blocksChanged: 0, uploadCalls: 0, clearCalls: 0 };
  const maxCalls = Math.max(1, input.tuning?.maxCallsInFlight ?? MAX_CALLS_IN_FLIGHT);
  const writes = new BoundedWrites(maxCalls, Math.max(1, input.tuning?.maxWritesInFlight ?? 3) * Math.min(readChunkSize, AZURE_MAX_PUT_PAGES_BYTES));

  const clear = (range: ByteRange): Promise<void> => {
    stats.bytesCleared += range.end - range.start;
    stats.clearCalls += 1;
    return writes.add(0, () => fence.check().then(() => deps.vault.clearPages(replica, range)));
  };
  const upload = (offset: number, piece: Buffer): Promise<void> => {
    stats.bytesWritten += piece.length;
    stats.uploadCalls += 1;
    // A small piece of a read chunk would keep the whole chunk alive until its upload ends; a few
    // scattered 64 KiB uploads could then pin many chunks. Its own copy keeps memory within the write budget.
    const data = piece.length * 4 < piece.buffer.byteLength ? Buffer.from(piece) : piece;
    const md5 = createHash('md5').update(data).digest();
    return writes.add(data.length, () => fence.check().then(() => deps.vault.uploadPages(replica, offset, data, { transactionalContentMD5: md5 })));
  };

  const chunks = readChunks(plan, readChunkSize);
  const readBudget = Math.max(1, input.tuning?.maxReadsInFlight ?? 2) * readChunkSize;

  try {
    for (const planned of plan.clears) {
      stats.blocksChanged += blocksIn(planned.range, blockSize);
      await clear(planned.range);
    }
    const read = (range: ByteRange) => reader.read(readFrom, range.start, range.end - range.start);
    for await (const { range, data } of readAhead(read, chunks, { maxCalls, maxBytes: readBudget })) {
      stats.bytesRead += data.length;
      await processChunk(range, data);
    }
    await writes.drain();
  } catch (err) {
    // Let every started upload settle so none writes after this activity has failed (readAhead settles its reads).
    await writes.settle();
    throw err;
  }

  async function processChunk(range: ByteRange, data: Buffer): Promise<void> {
    let run: { kind: 'upload' | 'clear'; start: number; end: number } | undefined;
    const flush = async (): Promise<void> => {
      if (run === undefined) return;
      const { kind, start, end } = run;
      run = undefined;
      if (kind === 'clear') return clear({ start, end });
      for (const piece of chunkRange({ start, end }, AZURE_MAX_PUT_PAGES_BYTES)) {
        await upload(piece.start, data.subarray(piece.start - range.start, piece.end - range.start));
      }
    };
    for (let start = range.start; start < range.end; start += blockSize) {
      const end = Math.min(start + blockSize, range.end);
      const index = start / blockSize;
      const bytes = data.subarray(start - range.start, end - range.start);
      const digest = isZeroBlock(bytes) ? undefined : digestBlock(bytes);
      if (digest === undefined) part.setZero(index);
      else part.setDigest(index, digest);
      readBlocks[index - plan.firstBlock] = 1;
      const decision = decideBlock(plan, index, digest, previous);
      const kind = decision.action === 'skip' ? undefined : decision.action;
      if (kind !== undefined) stats.blocksChanged += 1;
      if (run !== undefined && (kind !== run.kind || run.end !== start)) await flush();
      if (kind !== undefined) {
        if (run === undefined) run = { kind, start, end };
        else run.end = end;
      }
    }
    await flush();
  }

  for (let i = 0; i < plan.blockCount; i += 1) {
    if (readBlocks[i] === 1) continue;
    const digest = unreadBlockDigest(plan, plan.firstBlock + i, previous);
    if (digest !== undefined) part.setDigest(plan.firstBlock + i, digest);
  }

  // A stale run's checksum part would be scratch the new owner already swept: not written either.
  await fence.check({ fresh: true });
  const partName = await writeChecksumPart(deps, { ...input, segmentIndex: input.segment.index }, part, { ...stats, changeDetection: plan.kind });
  deps.log.info(
    `Segment ${input.segment.index} of disk ${input.lun} (${plan.kind}): read ${stats.bytesRead} B, wrote ${stats.bytesWritten} B ` +
      `in ${stats.uploadCalls} call(s), cleared ${stats.bytesCleared} B.`,
  );
  return { segmentIndex: input.segment.index, checksumPartBlobName: partName, changeDetection: plan.kind, ...stats };
}

async function planFromStore(
  deps: TransferDeps,
  input: TransferSegmentInput,
  blockSize: number,
): Promise<{ plan: SegmentPlan; previous?: BlockSums }> {
  const detection = input.changeDetection;
  const range = input.segment.range;
  const backend = deps.sources.backendFor(input.source.kind);
  let source: ChangeSource;
  let previous: BlockSums | undefined;
  if (detection.kind === 'full') {
    source = { kind: 'full', allocated: await backend.allocatedRanges(input.source, range), replicaIsNew: detection.replicaIsNew };
  } else {
    previous = await loadBlockSums(deps, checksumsBlobName(input.itemId, detection.previousRecoveryPointId, input.lun));
    const diff = detection.kind === 'diff' ? await changedRangesOrUndefined(deps, input, detection.previous, range) : undefined;
    if (diff !== undefined) {
      source = { kind: 'diff', changed: diff.changed, cleared: diff.cleared, previous };
    } else {
      source = { kind: 'checksum', allocated: await backend.allocatedRanges(input.source, range), previous };
    }
  }
  return { plan: planSegmentTransfer({ segment: input.segment, diskSize: input.diskSize, blockSize, source }), previous };
}

/**
 * The source's changed ranges since `previous`; undefined when the source cannot diff them after all
 * (KluisSourceDiffUnavailable: a managed disk's earlier snapshot is gone or of another lineage): the
 * segment then compares block checksums with the previous point, which finds the same changes.
 */
async function changedRangesOrUndefined(deps: TransferDeps, input: TransferSegmentInput, previous: DiskView, range: ByteRange): Promise<PageRangesDiff | undefined> {
  try {
    return await deps.sources.backendFor(input.source.kind).changedRanges(previous, input.source, range);
  } catch (err) {
    if (!isKluisErrorLike(err) || err.code !== 'KluisSourceDiffUnavailable') throw err;
    deps.log.warn(`Disk ${input.lun} of item ${input.itemId}, segment ${input.segment.index}: ${err.message} Comparing block checksums instead.`);
    return undefined;
  }
}

const SUMS_CACHE_ENTRIES = 4;
const sumsCache = new Map<string, Promise<BlockSums>>();

/** Reads and decodes a committed checksums blob of the vault (a few recent ones are cached). */
export function loadBlockSums(deps: Pick<BackupEngineDeps, 'vault' | 'vaultContainer'>, blobName: string): Promise<BlockSums> {
  const key = `${deps.vault.endpoint}/${deps.vaultContainer}/${blobName}`;
  const cached = sumsCache.get(key);
  if (cached !== undefined) return cached;
  const loading = deps.vault.readBlob({ container: deps.vaultContainer, blob: blobName }).then(decodeBlockSums);
  sumsCache.set(key, loading);
  loading.catch(() => sumsCache.delete(key));
  while (sumsCache.size > SUMS_CACHE_ENTRIES) sumsCache.delete(sumsCache.keys().next().value as string);
  return loading;
}

/**
 * At most `maxCalls` writes and `maxBytes` of payload in flight; `add` waits for the oldest while
 * either is exceeded; the first failure is rethrown.
 */
class BoundedWrites {
  private readonly inFlight: Array<{ bytes: number; done: Promise<void> }> = [];
  private bytes = 0;

  constructor(
    private readonly maxCalls: number,
    private readonly maxBytes: number,
  ) {}

  async add(bytes: number, write: () => Promise<void>): Promise<void> {
    while (this.inFlight.length > 0 && (this.inFlight.length >= this.maxCalls || this.bytes + bytes > this.maxBytes)) {
      await this.settleOldest();
    }
    const done = write();
    done.catch(ignore);
    this.inFlight.push({ bytes, done });
    this.bytes += bytes;
  }

  async drain(): Promise<void> {
    while (this.inFlight.length > 0) await this.settleOldest();
  }

  private async settleOldest(): Promise<void> {
    const oldest = this.inFlight.shift() as { bytes: number; done: Promise<void> };
    this.bytes -= oldest.bytes;
    await oldest.done;
  }

  /** Waits for every write still in flight, ignoring failures (the failure path). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.inFlight.splice(0).map((write) => write.done));
    this.bytes = 0;
  }
}

function blocksIn(range: ByteRange, blockSize: number): number {
  return Math.ceil(range.end / blockSize) - Math.floor(range.start / blockSize);
}

function ignore(): void {}
