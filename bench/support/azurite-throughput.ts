/**
 * The raw Azurite baseline: how fast the SDK alone reads and writes the allocated bytes of a page blob,
 * a few calls in flight — the floor any backup or restore over Azurite stands on. Writes go in 4 MiB calls
 * (Put Page's limit); reads in 4 MiB calls and in calls of the engine's read size (one Get Blob each), and
 * the faster is the baseline:
 * Azurite 3.35.0 reads every range of at most 4 MiB twice (to compute an MD5 it does not return).
 */
import { createHash, randomFillSync } from 'node:crypto';
import type { PageBlobClient } from '@azure/storage-blob';
import { PIECE_SIZE, type Extent } from './disk-image';
import { timed } from './stats';

export const RAW_IN_FLIGHT = 4;

/** Allocated ranges of a page blob (or snapshot), ascending. */
export async function allocatedRanges(pageBlob: PageBlobClient): Promise<Extent[]> {
  const ranges: Extent[] = [];
  for await (const range of pageBlob.listPageRanges()) {
    if (range.isClear) continue;
    ranges.push({ offset: range.start, count: range.end - range.start + 1 });
  }
  return ranges;
}

function* chunks(ranges: readonly Extent[], size: number = PIECE_SIZE): Generator<Extent> {
  for (const range of ranges) {
    for (let at = 0; at < range.count; at += size) {
      yield { offset: range.offset + at, count: Math.min(size, range.count - at) };
    }
  }
}

async function inParallel(items: Iterable<Extent>, work: (item: Extent) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  const worker = async () => {
    for (let item = iterator.next(); !item.done; item = iterator.next()) await work(item.value);
  };
  await Promise.all(Array.from({ length: RAW_IN_FLIGHT }, worker));
}

export interface RawTransfer {
  bytes: number;
  ms: number;
}

/** Reads every allocated byte of `source` in `callSize` calls (ranges as listed beforehand; the listing is not timed). */
export async function measureRawRead(source: PageBlobClient, ranges: readonly Extent[], callSize: number = PIECE_SIZE): Promise<RawTransfer> {
  let bytes = 0;
  const { ms } = await timed(() =>
    inParallel(chunks(ranges, callSize), async (chunk) => {
      const data = await source.downloadToBuffer(chunk.offset, chunk.count, { blockSize: chunk.count });
      bytes += data.length;
    }),
  );
  return { bytes, ms };
}

/**
 * Creates `target` at `size` bytes and writes the same ranges with prepared (random) bytes; with
 * `transactionalMd5`, each call also computes and sends the body's MD5 (which Azurite then checks), as the
 * engine's uploads do.
 */
export async function measureRawWrite(target: PageBlobClient, size: number, ranges: readonly Extent[], opts: { transactionalMd5?: boolean } = {}): Promise<RawTransfer> {
  const payload = randomFillSync(Buffer.allocUnsafe(PIECE_SIZE));
  let bytes = 0;
  const { ms } = await timed(async () => {
    await target.create(size);
    await inParallel(chunks(ranges), async (chunk) => {
      const body = payload.subarray(0, chunk.count);
      const transactionalContentMD5 = opts.transactionalMd5 ? createHash('md5').update(body).digest() : undefined;
      await target.uploadPages(body, chunk.offset, chunk.count, { transactionalContentMD5 });
      bytes += chunk.count;
    });
  });
  return { bytes, ms };
}
