/**
 * Byte-range arithmetic for page blobs: which parts of a disk are allocated, changed or cleared,
 * how they map onto transfer blocks, segments and request-sized chunks. Pure; no I/O.
 *
 * Every range here is half-open, `[start, end)`. Azure speaks in inclusive ends; convert at the
 * edge with `fromAzurePageList` / `fromAzureRangeInfos` / `fromSdkRangeResponse`.
 * Offsets are plain numbers: disks are at most 32 TiB, far below 2^53.
 */

export interface ByteRange {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
}

/** Azure page blobs are written, cleared and listed in 512-byte pages. */
export const AZURE_PAGE_SIZE = 512;
/** Largest body Put Page accepts in one request. */
export const AZURE_MAX_PUT_PAGES_BYTES = 4 * 1024 * 1024;
/**
 * Bytes per Get Blob when a whole range is read (transfers, verification). Get Blob takes any range;
 * Azurite 3.35.0 reads every range of at most 4 MiB twice, to compute an MD5 it does not return, which
 * costs it 2–3× the CPU of a larger read (bench/RESULTS.md §2). 4.5 MiB avoids that while two reads in
 * flight per segment stay within the earlier memory (6 and 8 MiB reads pushed an 8 GiB backup past
 * 300 MiB RSS); a 4 MiB upload still fits in one chunk.
 */
export const DEFAULT_READ_CHUNK_BYTES = 4.5 * 1024 * 1024;
/** The largest read chunk the engine accepts (memory is bounded by a few of them). */
export const MAX_READ_CHUNK_BYTES = 64 * 1024 * 1024;

/** A range as the Azure REST API and the SDK's raw page lists spell it: both ends inclusive. */
export interface AzureInclusiveRange {
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

/** Body of Get Page Ranges (diff): `pageRange` written, `clearRange` cleared since prevsnapshot. */
export interface AzurePageList {
  readonly pageRange?: readonly AzureInclusiveRange[];
  readonly clearRange?: readonly AzureInclusiveRange[];
}

/** One item of `PageBlobClient.listPageRanges()` / `listPageRangesDiff()`. */
export interface AzurePageRangeInfo extends AzureInclusiveRange {
  readonly isClear?: boolean;
}

/** What `PageBlobClient.getPageRanges()` / `getPageRangesDiff()` return; see `fromSdkRangeResponse`. */
export interface SdkOffsetCountRange {
  readonly offset: number;
  readonly count?: number;
}

export interface PageRangesDiff {
  /** Written since the previous snapshot (content may differ). */
  readonly changed: ByteRange[];
  /** Allocated in the previous snapshot, cleared (reads as zeros) now. */
  readonly cleared: ByteRange[];
}

export function isPageAligned(offset: number): boolean {
  return Number.isSafeInteger(offset) && offset % AZURE_PAGE_SIZE === 0;
}

/** Throws a RangeError unless both ends of `range` sit on 512-byte page boundaries. */
export function assertPageAligned(range: ByteRange, what = 'range'): void {
  assertValidRange(range, what);
  if (!isPageAligned(range.start) || !isPageAligned(range.end)) {
    throw new RangeError(`${what} ${formatRange(range)} is not aligned to ${AZURE_PAGE_SIZE}-byte pages`);
  }
}

/** Sorted, non-overlapping, non-adjacent, non-empty ranges covering exactly the input's bytes. */
export function normalizeRanges(ranges: readonly ByteRange[]): ByteRange[] {
  ranges.forEach((range, index) => assertValidRange(range, `range #${index}`));
  const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: ByteRange[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && range.start <= last.end) {
      if (range.end > last.end) merged[merged.length - 1] = { start: last.start, end: range.end };
    } else {
      merged.push({ start: range.start, end: range.end });
    }
  }
  return merged;
}

export function unionRanges(a: readonly ByteRange[], b: readonly ByteRange[]): ByteRange[] {
  return normalizeRanges([...a, ...b]);
}

/** Bytes in both `a` and `b`. */
export function intersectRanges(a: readonly ByteRange[], b: readonly ByteRange[]): ByteRange[] {
  const left = normalizeRanges(a);
  const right = normalizeRanges(b);
  const result: ByteRange[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length && j < right.length) {
    const start = Math.max(left[i].start, right[j].start);
    const end = Math.min(left[i].end, right[j].end);
    if (start < end) result.push({ start, end });
    if (left[i].end <= right[j].end) i += 1;
    else j += 1;
  }
  return result;
}

/** Bytes in `a` but not in `b`. */
export function subtractRanges(a: readonly ByteRange[], b: readonly ByteRange[]): ByteRange[] {
  const removed = normalizeRanges(b);
  const result: ByteRange[] = [];
  let j = 0;
  for (const range of normalizeRanges(a)) {
    let cursor = range.start;
    while (j < removed.length && removed[j].end <= cursor) j += 1;
    // `removed` is sorted, so only ranges from j on can overlap; j stays valid for the next range.
    for (let k = j; k < removed.length && removed[k].start < range.end; k += 1) {
      if (removed[k].start > cursor) result.push({ start: cursor, end: removed[k].start });
      cursor = Math.max(cursor, removed[k].end);
    }
    if (cursor < range.end) result.push({ start: cursor, end: range.end });
  }
  return result;
}

/** Number of distinct bytes covered (overlaps count once). */
export function rangesLength(ranges: readonly ByteRange[]): number {
  return normalizeRanges(ranges).reduce((sum, r) => sum + (r.end - r.start), 0);
}

/**
 * Widens every range to whole blocks of `blockSize` and clamps the result to `[0, diskSize)`
 * (the last block of a disk may be short). Returns normalized ranges.
 */
export function alignToBlocks(ranges: readonly ByteRange[], blockSize: number, diskSize: number): ByteRange[] {
  assertPositiveSize(blockSize, 'blockSize');
  assertNonNegativeSize(diskSize, 'diskSize');
  const onDisk = intersectRanges(ranges, [{ start: 0, end: diskSize }]);
  return normalizeRanges(
    onDisk.map((r) => ({
      start: Math.floor(r.start / blockSize) * blockSize,
      end: Math.min(Math.ceil(r.end / blockSize) * blockSize, diskSize),
    })),
  );
}

/** Ascending indices of the `blockSize` blocks that the ranges touch, each once. */
export function blocksInRanges(ranges: readonly ByteRange[], blockSize: number): number[] {
  assertPositiveSize(blockSize, 'blockSize');
  const blocks: number[] = [];
  for (const range of normalizeRanges(ranges)) {
    const first = Math.floor(range.start / blockSize);
    const last = Math.ceil(range.end / blockSize) - 1;
    // Normalized ranges may still share a block (e.g. [0,10) and [20,30) with 512-byte blocks).
    let index = blocks.length > 0 && blocks[blocks.length - 1] >= first ? blocks[blocks.length - 1] + 1 : first;
    for (; index <= last; index += 1) blocks.push(index);
  }
  return blocks;
}

/** Consecutive segments of `segmentSize` covering `[0, diskSize)`; the last one may be shorter. */
export function splitIntoSegments(diskSize: number, segmentSize: number): ByteRange[] {
  assertNonNegativeSize(diskSize, 'diskSize');
  assertPositiveSize(segmentSize, 'segmentSize');
  const segments: ByteRange[] = [];
  for (let start = 0; start < diskSize; start += segmentSize) {
    segments.push({ start, end: Math.min(start + segmentSize, diskSize) });
  }
  return segments;
}

/** The parts of `ranges` inside `segment`, normalized. */
export function clipRangesToSegment(ranges: readonly ByteRange[], segment: ByteRange): ByteRange[] {
  assertValidRange(segment, 'segment');
  return intersectRanges(ranges, [segment]);
}

/** Splits one range into consecutive pieces of at most `maxChunk` bytes (e.g. Put Page's 4 MiB). */
export function chunkRange(range: ByteRange, maxChunk: number = AZURE_MAX_PUT_PAGES_BYTES): ByteRange[] {
  assertValidRange(range, 'range');
  assertPositiveSize(maxChunk, 'maxChunk');
  const chunks: ByteRange[] = [];
  for (let start = range.start; start < range.end; start += maxChunk) {
    chunks.push({ start, end: Math.min(start + maxChunk, range.end) });
  }
  return chunks;
}

/** Converts a raw Get Page Ranges (diff) body, inclusive ends, into normalized half-open ranges. */
export function fromAzurePageList(list: AzurePageList): PageRangesDiff {
  return {
    changed: normalizeRanges((list.pageRange ?? []).map((r, i) => fromInclusive(r, `pageRange #${i}`))),
    cleared: normalizeRanges((list.clearRange ?? []).map((r, i) => fromInclusive(r, `clearRange #${i}`))),
  };
}

/** Same as `fromAzurePageList` for the items of `listPageRanges()` / `listPageRangesDiff()`. */
export function fromAzureRangeInfos(items: Iterable<AzurePageRangeInfo>): PageRangesDiff {
  const pageRange: AzureInclusiveRange[] = [];
  const clearRange: AzureInclusiveRange[] = [];
  for (const item of items) (item.isClear === true ? clearRange : pageRange).push(item);
  return fromAzurePageList({ pageRange, clearRange });
}

/**
 * Converts the result of `PageBlobClient.getPageRanges()` / `getPageRangesDiff()` (@azure/storage-blob 12.x).
 * Careful: the SDK maps the wire's inclusive `{start, end}` to `{offset: start, count: end - start}`,
 * so its `count` is one less than the range's length.
 */
export function fromSdkRangeResponse(response: {
  readonly pageRange?: readonly SdkOffsetCountRange[];
  readonly clearRange?: readonly SdkOffsetCountRange[];
}): PageRangesDiff {
  const toInclusive = (r: SdkOffsetCountRange): AzureInclusiveRange => ({
    start: r.offset,
    end: r.offset + (r.count ?? 0),
  });
  return fromAzurePageList({
    pageRange: (response.pageRange ?? []).map(toInclusive),
    clearRange: (response.clearRange ?? []).map(toInclusive),
  });
}

function fromInclusive(range: AzureInclusiveRange, what: string): ByteRange {
  const converted = { start: range.start, end: range.end + 1 };
  assertValidRange(converted, what);
  return converted;
}

function assertValidRange(range: ByteRange, what: string): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`${what} ${formatRange(range)} is not a valid byte range (need integers 0 <= start <= end)`);
  }
}

function assertPositiveSize(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

function assertNonNegativeSize(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}

function formatRange(range: ByteRange): string {
  return `[${range.start}, ${range.end})`;
}
