import { BlockSums } from '../../lib/engine/domain/block-sums';
import type { ByteRange } from '../../lib/engine/domain/page-ranges';
import {
  decideBlock,
  planSegments,
  planSegmentTransfer,
  planTotals,
  readChunks,
  unreadBlockDigest,
  type DiskSegment,
} from '../../lib/engine/domain/transfer-plan';

const KIB = 1024;
const MIB = 1024 * KIB;
const B = 64 * KIB;
/** Blocks [first, end) as bytes. */
const blocks = (first: number, end: number): ByteRange => ({ start: first * B, end: end * B });
/** Disk fixture: 32 blocks + a 512-byte footer block; segments of 16 blocks. */
const DISK = 32 * B + 512;
const SEG0: DiskSegment = { index: 0, range: blocks(0, 16) };
const SEG2: DiskSegment = { index: 2, range: { start: 32 * B, end: DISK } };

function previousWith(indices: Record<number, bigint>): BlockSums {
  const sums = BlockSums.create({ diskSize: DISK });
  for (const [i, d] of Object.entries(indices)) sums.setDigest(Number(i), d);
  return sums;
}

describe('planSegments', () => {
  it('splits the disk into block-aligned segments, the last one short', () => {
    expect(planSegments(DISK, 16 * B)).toEqual([
      { index: 0, range: blocks(0, 16) },
      { index: 1, range: blocks(16, 32) },
      { index: 2, range: { start: 32 * B, end: DISK } },
    ]);
    expect(planSegments(3 * 1024 ** 3 + 512)).toHaveLength(4);
    expect(() => planSegments(DISK, 100 * KIB)).toThrow(expect.objectContaining({ code: 'KluisTransferPlanInvalid' }));
  });
});

describe('planSegmentTransfer: full', () => {
  it('reads allocated blocks widened to whole blocks and clears nothing on a new replica', () => {
    const plan = planSegmentTransfer({
      segment: SEG0,
      diskSize: DISK,
      source: { kind: 'full', allocated: [{ start: 512, end: 1024 }, { start: 3 * B - 512, end: 5 * B + 512 }, blocks(20, 21)], replicaIsNew: true },
    });
    expect(plan.reads).toEqual([
      { range: blocks(0, 1), reason: 'allocated' },
      { range: blocks(2, 6), reason: 'allocated' },
    ]);
    expect(plan.clears).toEqual([]);
    expect(plan).toMatchObject({ firstBlock: 0, blockCount: 16, unreadBlocks: 'zero' });
    expect(decideBlock(plan, 0, 7n)).toEqual({ action: 'upload', reason: 'new' });
    expect(decideBlock(plan, 0, undefined)).toEqual({ action: 'skip', reason: 'zero' });
  });

  it('resets an existing replica: everything not read is cleared, zero blocks read are cleared', () => {
    const plan = planSegmentTransfer({ segment: SEG0, diskSize: DISK, source: { kind: 'full', allocated: [blocks(4, 6)], replicaIsNew: false } });
    expect(plan.clears).toEqual([
      { range: blocks(0, 4), reason: 'reset' },
      { range: blocks(6, 16), reason: 'reset' },
    ]);
    expect(decideBlock(plan, 4, undefined)).toEqual({ action: 'clear', reason: 'zero' });
  });

  it('covers the short last block of the disk (the footer)', () => {
    const plan = planSegmentTransfer({ segment: SEG2, diskSize: DISK, source: { kind: 'full', allocated: [{ start: DISK - 512, end: DISK }], replicaIsNew: true } });
    expect(plan.reads).toEqual([{ range: { start: 32 * B, end: DISK }, reason: 'allocated' }]);
    expect(plan).toMatchObject({ firstBlock: 32, blockCount: 1 });
  });

  it('refuses segments that do not start on a block', () => {
    expect(() =>
      planSegmentTransfer({ segment: { index: 0, range: { start: 512, end: B } }, diskSize: DISK, source: { kind: 'full', allocated: [], replicaIsNew: true } }),
    ).toThrow(/must start on a 65536-byte block/);
  });
});

describe('planSegmentTransfer: checksum', () => {
  const previous = previousWith({ 1: 11n, 2: 22n, 9: 99n, 20: 200n });

  it('reads allocated blocks and clears blocks that were nonzero but are unallocated now', () => {
    const plan = planSegmentTransfer({ segment: SEG0, diskSize: DISK, source: { kind: 'checksum', allocated: [blocks(1, 3), blocks(5, 6)], previous } });
    expect(plan.reads.map((r) => r.range)).toEqual([blocks(1, 3), blocks(5, 6)]);
    expect(plan.clears).toEqual([{ range: blocks(9, 10), reason: 'unallocated-now' }]);
    expect(planTotals(plan)).toEqual({ bytesToRead: 3 * B, bytesToClear: B });
  });

  it('decides per block from the digests', () => {
    const plan = planSegmentTransfer({ segment: SEG0, diskSize: DISK, source: { kind: 'checksum', allocated: [blocks(0, 16)], previous } });
    expect(decideBlock(plan, 1, 11n, previous)).toEqual({ action: 'skip', reason: 'unchanged' });
    expect(decideBlock(plan, 2, 23n, previous)).toEqual({ action: 'upload', reason: 'changed' });
    expect(decideBlock(plan, 3, 5n, previous)).toEqual({ action: 'upload', reason: 'new' });
    expect(decideBlock(plan, 9, undefined, previous)).toEqual({ action: 'clear', reason: 'zero' });
    expect(decideBlock(plan, 4, undefined, previous)).toEqual({ action: 'skip', reason: 'zero' });
    expect(unreadBlockDigest(plan, 1, previous)).toBeUndefined();
    expect(() => decideBlock(plan, 1, 1n)).toThrow(/needs the previous block sums/);
  });

  it('refuses previous sums of another block size or disk size', () => {
    const other = BlockSums.create({ diskSize: DISK + 512 });
    expect(() => planSegmentTransfer({ segment: SEG0, diskSize: DISK, source: { kind: 'checksum', allocated: [], previous: other } })).toThrow(
      /previous sums describe/,
    );
  });
});

describe('planSegmentTransfer: diff', () => {
  const previous = previousWith({ 3: 33n, 4: 44n, 7: 77n, 12: 120n });

  it('reads changed blocks, reads partially cleared blocks, clears fully cleared ones', () => {
    const plan = planSegmentTransfer({
      segment: SEG0,
      diskSize: DISK,
      source: {
        kind: 'diff',
        changed: [{ start: B + 512, end: B + 1024 }, blocks(15, 17)],
        cleared: [{ start: 3 * B, end: 4 * B + 4096 }, blocks(7, 8), { start: B, end: B + 512 }],
        previous,
      },
    });
    expect(plan.reads).toEqual([
      { range: blocks(1, 2), reason: 'changed' },
      { range: blocks(4, 5), reason: 'partially-cleared' },
      { range: blocks(15, 16), reason: 'changed' },
    ]);
    expect(plan.clears).toEqual([
      { range: blocks(3, 4), reason: 'cleared' },
      { range: blocks(7, 8), reason: 'cleared' },
    ]);
    expect(unreadBlockDigest(plan, 7, previous)).toBeUndefined();
    expect(unreadBlockDigest(plan, 3, previous)).toBeUndefined();
    expect(unreadBlockDigest(plan, 10, previous)).toBeUndefined();
    expect(unreadBlockDigest(plan, 12, previous)).toBe(120n);
    expect(decideBlock(plan, 4, 44n, previous)).toEqual({ action: 'skip', reason: 'unchanged' });
  });

  it('chunks reads into request-sized, block-aligned pieces', () => {
    const big = planSegmentTransfer({
      segment: { index: 0, range: { start: 0, end: 20 * MIB } },
      diskSize: 20 * MIB,
      source: { kind: 'diff', changed: [{ start: 100, end: 9 * MIB }], cleared: [], previous: BlockSums.create({ diskSize: 20 * MIB }) },
    });
    expect(readChunks(big)).toEqual([
      { start: 0, end: 4 * MIB },
      { start: 4 * MIB, end: 8 * MIB },
      { start: 8 * MIB, end: 9 * MIB },
    ]);
    expect(() => readChunks(big, 100 * KIB)).toThrow(/multiple of the block size/);
  });

});
