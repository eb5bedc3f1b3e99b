import { xxh64 } from '@node-rs/xxhash';
import {
  BLOCK_SIZE,
  BLOCK_SUMS_HEADER_SIZE,
  BlockSums,
  blockByteRange,
  blockCountFor,
  blockSpan,
  compareBlock,
  concatBlockSums,
  decodeBlockSums,
  diffBlockSums,
  digestBlock,
  encodeBlockSums,
  isZeroBlock,
  sameBlockSums,
} from '../../lib/engine/domain/block-sums';

const KIB = 1024;
const MIB = 1024 * KIB;

function sumsWith(diskSize: number, digests: Record<number, bigint>): BlockSums {
  const sums = BlockSums.create({ diskSize });
  for (const [index, digest] of Object.entries(digests)) sums.setDigest(Number(index), digest);
  return sums;
}

describe('block helpers', () => {
  it('counts blocks, the last one possibly short', () => {
    expect(blockCountFor(0)).toBe(0);
    expect(blockCountFor(BLOCK_SIZE)).toBe(1);
    expect(blockCountFor(BLOCK_SIZE + 512)).toBe(2);
    expect(blockByteRange(1, BLOCK_SIZE, BLOCK_SIZE + 512)).toEqual({ start: BLOCK_SIZE, end: BLOCK_SIZE + 512 });
  });

  it('spans the blocks of a segment, clamped to the disk', () => {
    expect(blockSpan({ start: 0, end: MIB }, BLOCK_SIZE, 10 * MIB)).toEqual({ firstBlock: 0, blockCount: 16 });
    expect(blockSpan({ start: MIB, end: 2 * MIB }, BLOCK_SIZE, MIB + 512)).toEqual({ firstBlock: 16, blockCount: 1 });
  });

  it('detects zero blocks and hashes with xxh64 seed 0', () => {
    const block = Buffer.alloc(BLOCK_SIZE);
    expect(isZeroBlock(block)).toBe(true);
    block[BLOCK_SIZE - 1] = 1;
    expect(isZeroBlock(block)).toBe(false);
    expect(isZeroBlock(Buffer.alloc(9 * MIB))).toBe(true);
    const big = Buffer.alloc(9 * MIB);
    big[9 * MIB - 1] = 7;
    expect(isZeroBlock(big)).toBe(false);
    expect(digestBlock(block)).toBe(xxh64(block));
    expect(digestBlock(block)).not.toBe(digestBlock(Buffer.alloc(BLOCK_SIZE)));
  });
});

describe('BlockSums', () => {
  it('records zero and nonzero blocks and checks block lengths', () => {
    const sums = BlockSums.create({ diskSize: 2 * BLOCK_SIZE + 512 });
    expect(sums.blockCount).toBe(3);
    const data = Buffer.alloc(BLOCK_SIZE, 3);
    expect(sums.recordBlock(0, data)).toBe(xxh64(data));
    expect(sums.recordBlock(1, Buffer.alloc(BLOCK_SIZE))).toBeUndefined();
    expect(sums.recordBlock(2, Buffer.alloc(512, 1))).toBeDefined();
    expect(() => sums.recordBlock(2, Buffer.alloc(BLOCK_SIZE, 1))).toThrow(expect.objectContaining({ code: 'KluisInvalidBlockSums' }));
    expect(() => sums.setZero(3)).toThrow(/outside/);
    expect(sums.nonZeroCount).toBe(2);
    expect([...sums.nonZeroBlocks()].map((b) => b.index)).toEqual([0, 2]);
    sums.setZero(0);
    expect(sums.isNonZero(0)).toBe(false);
    expect(sums.digestOf(0)).toBeUndefined();
  });

  it('round-trips through the binary form, which is compact', () => {
    const diskSize = 100 * BLOCK_SIZE + 512;
    const sums = sumsWith(diskSize, { 0: 1n, 7: 0xffffffffffffffffn, 8: 0n, 100: 42n });
    const bytes = encodeBlockSums(sums);
    expect(bytes.length).toBe(BLOCK_SUMS_HEADER_SIZE + Math.ceil(101 / 8) + 4 * 8 + 8);
    expect(bytes.toString('latin1', 0, 4)).toBe('KLBS');
    const decoded = decodeBlockSums(bytes);
    expect(decoded.diskSize).toBe(diskSize);
    expect(decoded.blockSize).toBe(BLOCK_SIZE);
    expect(decoded.hashAlgorithm).toBe('xxh64');
    expect(decoded.digestOf(7)).toBe(0xffffffffffffffffn);
    expect(decoded.digestOf(8)).toBe(0n);
    expect(decoded.isNonZero(9)).toBe(false);
    expect(sameBlockSums(decoded, sums)).toBe(true);
  });

  it('rejects damaged, truncated and foreign blobs', () => {
    const bytes = encodeBlockSums(sumsWith(10 * BLOCK_SIZE, { 1: 5n }));
    const flipped = Buffer.from(bytes);
    flipped[BLOCK_SUMS_HEADER_SIZE + 2] ^= 1;
    expect(() => decodeBlockSums(flipped)).toThrow(/checksum does not match/);
    expect(() => decodeBlockSums(bytes.subarray(0, 20))).toThrow(/only 20 bytes/);
    const foreign = Buffer.from(bytes);
    foreign.write('XXXX', 0, 'latin1');
    expect(() => decodeBlockSums(foreign)).toThrow(/magic/);
  });

  it('joins contiguous segment parts and refuses gaps', () => {
    const diskSize = 40 * BLOCK_SIZE;
    const a = BlockSums.create({ diskSize, firstBlock: 0, blockCount: 16 });
    const b = BlockSums.create({ diskSize, firstBlock: 16, blockCount: 16 });
    const c = BlockSums.create({ diskSize, firstBlock: 32 });
    a.setDigest(3, 3n);
    b.setDigest(16, 16n);
    c.setDigest(39, 39n);
    const joined = concatBlockSums([c, a, decodeBlockSums(encodeBlockSums(b))]);
    expect(joined.blockCount).toBe(40);
    expect([...joined.nonZeroBlocks()]).toEqual([
      { index: 3, digest: 3n },
      { index: 16, digest: 16n },
      { index: 39, digest: 39n },
    ]);
    expect(() => concatBlockSums([a, c])).toThrow(/gap or overlap at block 16/);
  });

  it('compares two sums per block', () => {
    const diskSize = 4 * BLOCK_SIZE;
    const prev = sumsWith(diskSize, { 0: 1n, 1: 2n, 2: 3n });
    const next = sumsWith(diskSize, { 0: 1n, 1: 9n, 3: 4n });
    expect(compareBlock(prev, next, 0)).toBe('unchanged');
    expect(compareBlock(prev, next, 1)).toBe('changed');
    expect(compareBlock(prev, next, 2)).toBe('zeroed');
    expect(compareBlock(prev, next, 3)).toBe('written');
    expect(compareBlock(undefined, next, 0)).toBe('written');
    expect(diffBlockSums(prev, next)).toEqual({ changed: [1], written: [3], zeroed: [2] });
    expect(() => diffBlockSums(BlockSums.create({ diskSize, blockSize: 4096 }), next)).toThrow(/cannot compare/);
  });
});
