/**
 * Content-defined chunking: FastCDC (Xia et al., USENIX ATC 2016) with a gear rolling hash and normalized
 * chunking (level 2). No maintained FastCDC package for Node 20 exists on npm, so this is ours (docs/backup-server.md).
 *
 * The gear table comes from the repository's master key, so chunk boundaries (and hence chunk sizes) depend on a
 * secret as well as on the data: an observer of the repository cannot fingerprint known files by their chunk sizes
 * (restic picks a secret polynomial per repository for the same reason).
 *
 * The hash shifts left by one bit per byte, so bit k depends on the last k+1 bytes: the masks use the TOP bits.
 */
import { errors } from '../../domain/errors';

export interface ChunkerParams {
  /** No cut before this many bytes (the hash is not even computed there). */
  minSize: number;
  /** Expected chunk size; a power of two. */
  avgSize: number;
  /** A cut is forced here. */
  maxSize: number;
}

/** restic's sizes: 512 KiB minimum, 1 MiB average, 8 MiB maximum. */
export const DEFAULT_CHUNKER: ChunkerParams = { minSize: 512 * 1024, avgSize: 1024 * 1024, maxSize: 8 * 1024 * 1024 };

export const GEAR_TABLE_BYTES = 256 * 4;

export function validateChunkerParams(p: ChunkerParams): ChunkerParams {
  const bits = Math.log2(p.avgSize);
  const ok =
    Number.isInteger(p.minSize) && Number.isInteger(p.maxSize) && Number.isInteger(bits) &&
    bits >= 8 && bits <= 28 && p.minSize >= 64 && p.minSize < p.avgSize && p.avgSize < p.maxSize && p.maxSize <= 64 * 1024 * 1024;
  if (!ok) {
    throw errors.invalidRequest(
      'chunker',
      `Chunker sizes ${p.minSize}/${p.avgSize}/${p.maxSize} are invalid: need 64 ≤ min < avg < max ≤ 64 MiB with avg a power of two between 256 B and 256 MiB.`,
    );
  }
  return p;
}

/** Turns 1 KiB of key-derived bytes into the 256-entry gear table. */
export function gearTableFrom(bytes: Uint8Array): Uint32Array {
  if (bytes.length !== GEAR_TABLE_BYTES) throw errors.invalidRequest('gear', `A gear table needs ${GEAR_TABLE_BYTES} bytes.`);
  const table = new Uint32Array(256);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < 256; i++) table[i] = view.getUint32(i * 4, true);
  return table;
}

function topBitsMask(bits: number): number {
  return bits >= 32 ? -1 : (0xffffffff << (32 - bits)) | 0;
}

export interface Chunker {
  readonly params: ChunkerParams;
  /** The end (exclusive) of the chunk starting at `start` in data[start, end); `end` itself only when no cut is found. */
  cutPoint(data: Uint8Array, start: number, end: number): number;
}

export function createChunker(params: ChunkerParams, gear: Uint32Array): Chunker {
  const { minSize, avgSize, maxSize } = validateChunkerParams(params);
  const bits = Math.log2(avgSize);
  const maskSmall = topBitsMask(bits + 2); // harder to match before the average: fewer small chunks
  const maskLarge = topBitsMask(bits - 2); // easier after it: fewer large ones
  return {
    params,
    cutPoint(data, start, end) {
      let length = end - start;
      if (length <= minSize) return end;
      if (length > maxSize) length = maxSize;
      const normal = Math.min(avgSize, length);
      let hash = 0;
      let i = start + minSize;
      for (const stop = start + normal; i < stop; i++) {
        hash = ((hash << 1) + gear[data[i]]) | 0;
        if ((hash & maskSmall) === 0) return i + 1;
      }
      for (const stop = start + length; i < stop; i++) {
        hash = ((hash << 1) + gear[data[i]]) | 0;
        if ((hash & maskLarge) === 0) return i + 1;
      }
      return start + length;
    },
  };
}

/** The working buffer's first size: a small file never pays for a buffer sized for the largest chunks. */
const INITIAL_WORK_BYTES = 64 * 1024;

/**
 * Splits a byte stream into chunks. The working buffer starts small and doubles up to its full size (twice the
 * largest chunk, at least 4 MiB) only while the input keeps coming, so a small file costs a small buffer (a full-size
 * buffer per file made many small files cost ~15× more per byte than one large file: bench/RESULTS.md §5). Once at
 * full size it is compacted only when fewer than maxSize bytes are left, so every byte is copied about once on the
 * way in; each yielded chunk is its own copy (the buffer is reused).
 */
export async function* chunkStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, chunker: Chunker): AsyncGenerator<Buffer> {
  const { maxSize } = chunker.params;
  const capacity = Math.max(2 * maxSize, 4 * 1024 * 1024);
  let work = Buffer.allocUnsafe(Math.min(capacity, INITIAL_WORK_BYTES));
  const input = (async function* () {
    yield* source;
  })();
  let pending: Uint8Array | undefined;
  let pos = 0;
  let len = 0;
  let eof = false;

  const fill = async (): Promise<void> => {
    if (pos > 0) {
      work.copy(work, 0, pos, len);
      len -= pos;
      pos = 0;
    }
    while (!eof) {
      if (pending === undefined || pending.length === 0) {
        const next = await input.next();
        if (next.done) eof = true;
        else pending = next.value;
        continue;
      }
      if (len === work.length) {
        if (work.length === capacity) return;
        const grown = Buffer.allocUnsafe(Math.min(capacity, Math.max(2 * work.length, len + pending.length)));
        work.copy(grown, 0, 0, len);
        work = grown;
      }
      const n = Math.min(pending.length, work.length - len);
      work.set(pending.subarray(0, n), len);
      len += n;
      pending = pending.subarray(n);
    }
  };

  for (;;) {
    if (!eof && len - pos < maxSize) await fill();
    if (pos === len) return;
    const cut = chunker.cutPoint(work, pos, len);
    yield Buffer.from(work.subarray(pos, cut));
    pos = cut;
  }
}
