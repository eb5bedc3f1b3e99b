/**
 * Simulated guest I/O on a fabric disk: pick random blocks covering a share of the disk (seeded, so a
 * run can be repeated), fill them with random bytes, or clear pages. Never touches the VHD footer:
 * every range lies inside the disk's data area.
 */
import { createHash } from 'node:crypto';
import type { ByteRange } from '../../lib/engine/domain/page-ranges';
import { PAGE_SIZE } from '../../lib/engine/domain/vhd';
import type { BlobRef } from '../../lib/stores/disk-store';
import type { PageBlobStore } from '../../lib/stores/page-blob-store';
import type { SeededRandom } from '../seeded-random';

export const WRITE_BLOCK_SIZE = 64 * 1024;
const MAX_UPLOAD_BYTES = 4 * 1024 * 1024;
const UPLOADS_IN_FLIGHT = 8;

/**
 * Random blocks of `blockSize` covering `percent` of `dataSize` (at least one block when percent > 0),
 * chosen without repetition (Floyd's algorithm), sorted and merged where adjacent. The last block is
 * cut at the end of the data area.
 */
export function planRandomBlocks(dataSize: number, percent: number, random: SeededRandom, blockSize = WRITE_BLOCK_SIZE): ByteRange[] {
  if (dataSize <= 0 || percent <= 0) return [];
  const totalBlocks = Math.ceil(dataSize / blockSize);
  const wanted = Math.min(totalBlocks, Math.max(1, Math.round((percent / 100) * totalBlocks)));
  const chosen = new Set<number>();
  for (let j = totalBlocks - wanted; j < totalBlocks; j++) {
    const pick = random.nextInt(j + 1);
    chosen.add(chosen.has(pick) ? j : pick);
  }
  const ranges: Array<{ start: number; end: number }> = [];
  for (const block of [...chosen].sort((a, b) => a - b)) {
    const start = block * blockSize;
    const end = Math.min(dataSize, start + blockSize);
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last.end === start) last.end = end;
    else ranges.push({ start, end });
  }
  return ranges;
}

/** Fills `ranges` (page-aligned) of the blob with random bytes from `random`, in uploads of at most 4 MiB. */
export async function writeRandomRanges(store: PageBlobStore, ref: BlobRef, ranges: readonly ByteRange[], random: SeededRandom): Promise<number> {
  const pieces: ByteRange[] = [];
  for (const range of ranges) {
    assertPageAligned(range);
    for (let start = range.start; start < range.end; start += MAX_UPLOAD_BYTES) {
      pieces.push({ start, end: Math.min(range.end, start + MAX_UPLOAD_BYTES) });
    }
  }
  let written = 0;
  for (let i = 0; i < pieces.length; i += UPLOADS_IN_FLIGHT) {
    // Bytes are drawn in order before the uploads run, so the content does not depend on timing.
    const batch = pieces.slice(i, i + UPLOADS_IN_FLIGHT).map((piece) => {
      const data = Buffer.alloc(piece.end - piece.start);
      random.fill(data);
      return { piece, data };
    });
    await Promise.all(
      batch.map(({ piece, data }) =>
        store.uploadPages(ref, piece.start, data, { transactionalContentMD5: createHash('md5').update(data).digest() }),
      ),
    );
    written += batch.reduce((sum, { data }) => sum + data.length, 0);
  }
  return written;
}

export async function clearRanges(store: PageBlobStore, ref: BlobRef, ranges: readonly ByteRange[]): Promise<number> {
  let cleared = 0;
  for (const range of ranges) {
    assertPageAligned(range);
    await store.clearPages(ref, range);
    cleared += range.end - range.start;
  }
  return cleared;
}

function assertPageAligned(range: ByteRange): void {
  if (range.start % PAGE_SIZE !== 0 || range.end % PAGE_SIZE !== 0 || range.end < range.start) {
    throw new RangeError(`range ${range.start}–${range.end} is not page aligned`);
  }
}
