import fc from 'fast-check';
import {
  alignToBlocks,
  assertPageAligned,
  AZURE_MAX_PUT_PAGES_BYTES,
  blocksInRanges,
  chunkRange,
  clipRangesToSegment,
  fromAzurePageList,
  fromAzureRangeInfos,
  fromSdkRangeResponse,
  intersectRanges,
  isPageAligned,
  normalizeRanges,
  rangesLength,
  splitIntoSegments,
  subtractRanges,
  unionRanges,
  type ByteRange,
} from '../../lib/engine/domain/page-ranges';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Terse fixtures: r(0, 10) is [0, 10). */
const r = (start: number, end: number): ByteRange => ({ start, end });

describe('normalizeRanges', () => {
  test.each<[string, ByteRange[], ByteRange[]]>([
    ['empty list', [], []],
    ['drops empty ranges', [r(5, 5), r(0, 0)], []],
    ['sorts', [r(20, 30), r(0, 10)], [r(0, 10), r(20, 30)]],
    ['merges overlapping', [r(0, 10), r(5, 15)], [r(0, 15)]],
    ['merges adjacent', [r(0, 10), r(10, 20)], [r(0, 20)]],
    ['swallows contained', [r(0, 100), r(10, 20), r(30, 40)], [r(0, 100)]],
    ['keeps gaps', [r(0, 10), r(11, 20)], [r(0, 10), r(11, 20)]],
    ['merges chains out of order', [r(30, 40), r(0, 10), r(10, 30)], [r(0, 40)]],
    ['duplicates', [r(0, 10), r(0, 10)], [r(0, 10)]],
  ])('%s', (_name, input, expected) => {
    expect(normalizeRanges(input)).toEqual(expected);
  });

  test.each<[string, ByteRange]>([
    ['negative start', r(-1, 10)],
    ['end before start', r(10, 5)],
    ['fractional offset', r(0.5, 10)],
    ['NaN', r(Number.NaN, 10)],
    ['beyond 2^53', r(0, 2 ** 53)],
  ])('rejects %s', (_name, range) => {
    expect(() => normalizeRanges([range])).toThrow(RangeError);
  });

  test('does not modify its input', () => {
    const input = [r(20, 30), r(0, 10), r(5, 25)];
    const copy = input.map((x) => ({ ...x }));
    normalizeRanges(input);
    expect(input).toEqual(copy);
  });
});

describe('set operations', () => {
  test.each<[string, ByteRange[], ByteRange[], ByteRange[]]>([
    ['disjoint', [r(0, 10)], [r(20, 30)], [r(0, 10), r(20, 30)]],
    ['touching', [r(0, 10)], [r(10, 20)], [r(0, 20)]],
    ['one side empty', [], [r(5, 6)], [r(5, 6)]],
    ['interleaved', [r(0, 10), r(20, 30)], [r(5, 25)], [r(0, 30)]],
  ])('union: %s', (_name, a, b, expected) => {
    expect(unionRanges(a, b)).toEqual(expected);
  });

  test.each<[string, ByteRange[], ByteRange[], ByteRange[]]>([
    ['nothing removed', [r(0, 10)], [r(20, 30)], [r(0, 10)]],
    ['everything removed', [r(0, 10)], [r(0, 10)], []],
    ['hole in the middle', [r(0, 30)], [r(10, 20)], [r(0, 10), r(20, 30)]],
    ['left edge', [r(0, 30)], [r(0, 5)], [r(5, 30)]],
    ['right edge', [r(0, 30)], [r(25, 40)], [r(0, 25)]],
    ['one remover spans two ranges', [r(0, 10), r(20, 30)], [r(5, 25)], [r(0, 5), r(25, 30)]],
    ['many holes', [r(0, 100)], [r(10, 20), r(30, 40), r(90, 200)], [r(0, 10), r(20, 30), r(40, 90)]],
    ['unsorted inputs', [r(50, 60), r(0, 10)], [r(55, 56), r(5, 6)], [r(0, 5), r(6, 10), r(50, 55), r(56, 60)]],
    ['empty minuend', [], [r(0, 10)], []],
  ])('subtract: %s', (_name, a, b, expected) => {
    expect(subtractRanges(a, b)).toEqual(expected);
  });

  test.each<[string, ByteRange[], ByteRange[], ByteRange[]]>([
    ['disjoint', [r(0, 10)], [r(20, 30)], []],
    ['touching is empty', [r(0, 10)], [r(10, 20)], []],
    ['overlap', [r(0, 10)], [r(5, 20)], [r(5, 10)]],
    ['one range against many', [r(0, 100)], [r(10, 20), r(30, 40)], [r(10, 20), r(30, 40)]],
    ['many against many', [r(0, 10), r(20, 30)], [r(5, 25), r(28, 40)], [r(5, 10), r(20, 25), r(28, 30)]],
  ])('intersect: %s', (_name, a, b, expected) => {
    expect(intersectRanges(a, b)).toEqual(expected);
    expect(intersectRanges(b, a)).toEqual(expected);
  });

  test('rangesLength counts overlapping bytes once', () => {
    expect(rangesLength([])).toBe(0);
    expect(rangesLength([r(0, 10), r(5, 15), r(100, 101)])).toBe(16);
  });
});

describe('blocks and segments', () => {
  const disk = 10 * KiB + 512; // last 4 KiB block is short

  test.each<[string, ByteRange[], number, ByteRange[]]>([
    ['already aligned', [r(0, 4 * KiB)], 4 * KiB, [r(0, 4 * KiB)]],
    ['expands both ends', [r(100, 5000)], 4 * KiB, [r(0, 8 * KiB)]],
    ['merges ranges that meet in one block', [r(0, 512), r(1024, 1536)], 4 * KiB, [r(0, 4 * KiB)]],
    ['clamps the last block to the disk size', [r(9 * KiB, 10 * KiB + 100)], 4 * KiB, [r(8 * KiB, disk)]],
    ['drops ranges past the end of the disk', [r(disk, disk + KiB)], 4 * KiB, []],
    ['clips ranges crossing the end', [r(disk - 512, disk + KiB)], 4 * KiB, [r(8 * KiB, disk)]],
  ])('alignToBlocks: %s', (_name, ranges, blockSize, expected) => {
    expect(alignToBlocks(ranges, blockSize, disk)).toEqual(expected);
  });

  test.each<[string, ByteRange[], number, number[]]>([
    ['none', [], 4 * KiB, []],
    ['one byte', [r(4 * KiB, 4 * KiB + 1)], 4 * KiB, [1]],
    ['exactly one block', [r(4 * KiB, 8 * KiB)], 4 * KiB, [1]],
    ['spanning three', [r(4 * KiB - 1, 8 * KiB + 1)], 4 * KiB, [0, 1, 2]],
    ['two ranges in one block count once', [r(0, 10), r(20, 30), r(5000, 5001)], 4 * KiB, [0, 1]],
    ['separate blocks', [r(0, 1), r(40 * KiB, 40 * KiB + 1)], 4 * KiB, [0, 10]],
  ])('blocksInRanges: %s', (_name, ranges, blockSize, expected) => {
    expect(blocksInRanges(ranges, blockSize)).toEqual(expected);
  });

  test('splitIntoSegments covers the disk with a short last segment', () => {
    expect(splitIntoSegments(disk, 4 * KiB)).toEqual([r(0, 4 * KiB), r(4 * KiB, 8 * KiB), r(8 * KiB, disk)]);
    expect(splitIntoSegments(8 * KiB, 4 * KiB)).toEqual([r(0, 4 * KiB), r(4 * KiB, 8 * KiB)]);
    expect(splitIntoSegments(0, 4 * KiB)).toEqual([]);
  });

  test('clipRangesToSegment keeps only what lies inside the segment', () => {
    const ranges = [r(0, 1000), r(3000, 5000), r(9000, 9100)];
    expect(clipRangesToSegment(ranges, r(512, 4096))).toEqual([r(512, 1000), r(3000, 4096)]);
    expect(clipRangesToSegment(ranges, r(5000, 9000))).toEqual([]);
  });

  test.each<[string, () => unknown]>([
    ['zero block size', () => alignToBlocks([], 0, 10)],
    ['negative disk size', () => alignToBlocks([], 512, -1)],
    ['fractional segment size', () => splitIntoSegments(10, 1.5)],
    ['zero chunk size', () => chunkRange(r(0, 10), 0)],
    ['block size NaN', () => blocksInRanges([], Number.NaN)],
    ['invalid segment', () => clipRangesToSegment([], r(10, 0))],
  ])('rejects %s', (_name, call) => {
    expect(call).toThrow(RangeError);
  });
});

describe('chunkRange', () => {
  test('defaults to the 4 MiB Put Page limit', () => {
    expect(chunkRange(r(0, 9 * MiB))).toEqual([r(0, 4 * MiB), r(4 * MiB, 8 * MiB), r(8 * MiB, 9 * MiB)]);
    expect(AZURE_MAX_PUT_PAGES_BYTES).toBe(4 * MiB);
  });

  test.each<[string, ByteRange, number, ByteRange[]]>([
    ['empty range', r(512, 512), 1024, []],
    ['smaller than a chunk', r(512, 1024), 4096, [r(512, 1024)]],
    ['exact multiple', r(1024, 5120), 2048, [r(1024, 3072), r(3072, 5120)]],
    ['uneven tail', r(0, 2560), 1024, [r(0, 1024), r(1024, 2048), r(2048, 2560)]],
  ])('%s', (_name, range, max, expected) => {
    expect(chunkRange(range, max)).toEqual(expected);
  });
});

describe('page alignment', () => {
  test('isPageAligned', () => {
    expect([0, 512, 4 * MiB].map(isPageAligned)).toEqual([true, true, true]);
    expect([1, 511, 513, 1.5, Number.NaN].map(isPageAligned)).toEqual([false, false, false, false, false]);
  });

  test('assertPageAligned accepts aligned ranges and names the offender otherwise', () => {
    expect(() => assertPageAligned(r(0, 0))).not.toThrow();
    expect(() => assertPageAligned(r(512, 4096))).not.toThrow();
    expect(() => assertPageAligned(r(1, 512), 'write')).toThrow(/^write \[1, 512\) is not aligned to 512-byte pages$/);
    expect(() => assertPageAligned(r(0, 1000))).toThrow(RangeError);
    expect(() => assertPageAligned(r(1024, 512))).toThrow(/not a valid byte range/);
  });
});

describe('conversion from Azure', () => {
  test('fromAzurePageList turns inclusive ends into exclusive ones and normalizes', () => {
    expect(
      fromAzurePageList({
        pageRange: [
          { start: 1024, end: 2047 },
          { start: 0, end: 511 },
          { start: 512, end: 1023 },
        ],
        clearRange: [{ start: 4096, end: 4607 }],
      }),
    ).toEqual({ changed: [r(0, 2048)], cleared: [r(4096, 4608)] });
  });

  test('fromAzurePageList treats missing lists as empty', () => {
    expect(fromAzurePageList({})).toEqual({ changed: [], cleared: [] });
    expect(fromAzurePageList({ pageRange: [{ start: 0, end: 511 }] })).toEqual({ changed: [r(0, 512)], cleared: [] });
  });

  test('fromAzurePageList rejects a range whose end is before its start', () => {
    expect(() => fromAzurePageList({ clearRange: [{ start: 512, end: 510 }] })).toThrow(/clearRange #0/);
  });

  test('fromAzureRangeInfos splits list items by isClear', () => {
    const items = [
      { start: 0, end: 511, isClear: false },
      { start: 512, end: 1023, isClear: true },
      { start: 2048, end: 4095 },
    ];
    expect(fromAzureRangeInfos(items)).toEqual({ changed: [r(0, 512), r(2048, 4096)], cleared: [r(512, 1024)] });
  });

  test("fromSdkRangeResponse compensates for the SDK's count = end - start", () => {
    expect(
      fromSdkRangeResponse({ pageRange: [{ offset: 0, count: 511 }], clearRange: [{ offset: 1024, count: 1023 }] }),
    ).toEqual({ changed: [r(0, 512)], cleared: [r(1024, 2048)] });
    expect(fromSdkRangeResponse({})).toEqual({ changed: [], cleared: [] });
  });
});

describe('laws against a bitmap model', () => {
  const UNIVERSE = 96;
  const rangeArb = fc
    .tuple(fc.integer({ min: 0, max: UNIVERSE }), fc.integer({ min: 0, max: UNIVERSE }))
    .map(([x, y]) => r(Math.min(x, y), Math.max(x, y)));
  const rangesArb = fc.array(rangeArb, { maxLength: 8 });

  const bitmap = (ranges: readonly ByteRange[]): boolean[] => {
    const bits = new Array<boolean>(UNIVERSE).fill(false);
    for (const { start, end } of ranges) for (let i = start; i < end; i += 1) bits[i] = true;
    return bits;
  };
  const isNormalized = (ranges: readonly ByteRange[]): boolean =>
    ranges.every((x, i) => x.start < x.end && (i === 0 || ranges[i - 1].end < x.start));

  test('union, intersection, subtraction and length match bit-wise or, and, and-not and popcount', () => {
    fc.assert(
      fc.property(rangesArb, rangesArb, (a, b) => {
        const [bitsA, bitsB] = [bitmap(a), bitmap(b)];
        const union = unionRanges(a, b);
        const intersection = intersectRanges(a, b);
        const difference = subtractRanges(a, b);
        expect(bitmap(union)).toEqual(bitsA.map((x, i) => x || bitsB[i]));
        expect(bitmap(intersection)).toEqual(bitsA.map((x, i) => x && bitsB[i]));
        expect(bitmap(difference)).toEqual(bitsA.map((x, i) => x && !bitsB[i]));
        expect(rangesLength(a)).toBe(bitsA.filter(Boolean).length);
        for (const result of [union, intersection, difference, normalizeRanges(a)]) {
          expect(isNormalized(result)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('a = (a − b) ∪ (a ∩ b), and the two parts are disjoint', () => {
    fc.assert(
      fc.property(rangesArb, rangesArb, (a, b) => {
        const outside = subtractRanges(a, b);
        const inside = intersectRanges(a, b);
        expect(unionRanges(outside, inside)).toEqual(normalizeRanges(a));
        expect(intersectRanges(outside, inside)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  test('alignToBlocks covers the input, stays on the disk and starts on block boundaries', () => {
    const blockArb = fc.integer({ min: 1, max: 20 });
    const diskArb = fc.integer({ min: 0, max: UNIVERSE });
    fc.assert(
      fc.property(rangesArb, blockArb, diskArb, (a, block, disk) => {
        const aligned = alignToBlocks(a, block, disk);
        const onDisk = intersectRanges(a, [r(0, disk)]);
        expect(subtractRanges(onDisk, aligned)).toEqual([]);
        expect(aligned.every((x) => x.start % block === 0 && (x.end % block === 0 || x.end === disk))).toBe(true);
        expect(aligned.every((x) => x.end <= disk)).toBe(true);
        const touched = new Set(blocksInRanges(onDisk, block));
        expect(new Set(blocksInRanges(aligned, block))).toEqual(touched);
      }),
      { numRuns: 300 },
    );
  });

  test('chunks tile the range in order with no chunk above the limit', () => {
    fc.assert(
      fc.property(rangeArb, fc.integer({ min: 1, max: 40 }), (range, max) => {
        const chunks = chunkRange(range, max);
        expect(normalizeRanges(chunks)).toEqual(normalizeRanges([range]));
        expect(chunks.every((c, i) => c.end - c.start <= max && (i === 0 || chunks[i - 1].end === c.start))).toBe(true);
      }),
    );
  });
});
