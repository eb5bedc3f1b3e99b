/**
 * Per-block checksums of a disk (or of one segment of it) and their compact binary form.
 *
 * API summary (stable; restore/delete and the benchmark depend on it):
 *   BLOCK_SIZE = 65536, HASH_ALGORITHM = 'xxh64'             defaults recorded in every manifest
 *   digestBlock(data): bigint                                 xxh64 (seed 0) of one block's bytes
 *   isZeroBlock(data): boolean                                every byte zero
 *   blockCountFor(diskSize, blockSize): number                ceil(diskSize / blockSize)
 *   blockSpan(range, blockSize, diskSize): {firstBlock, blockCount}   blocks a byte range covers
 *   blockByteRange(index, blockSize, diskSize): ByteRange     the bytes of one block (last may be short)
 *   class BlockSums                                           blocks [firstBlock, firstBlock+blockCount)
 *     BlockSums.create({blockSize?, diskSize, firstBlock?, blockCount?, hashAlgorithm?})
 *     .isNonZero(i) / .digestOf(i): bigint | undefined          i is the absolute block index
 *     .setDigest(i, digest) / .setZero(i) / .recordBlock(i, data) (hashes, or marks zero)
 *     .nonZeroCount, .endBlock, .blockIndices(), .nonZeroBlocks()
 *   encodeBlockSums(sums): Buffer / decodeBlockSums(bytes): BlockSums   (KluisInvalidBlockSums on bad input)
 *   concatBlockSums(parts): BlockSums                         contiguous segment parts → one disk's sums
 *   compareBlock(prev | undefined, next, i): BlockComparison  'unchanged' | 'changed' | 'written' | 'zeroed'
 *   diffBlockSums(prev, next): {changed, written, zeroed}     block indices per kind
 *   sameBlockSums(a, b): boolean
 *
 * A block is either *zero* (unallocated or all zero bytes: restore must read zeros there) or
 * *nonzero* with an 8-byte xxh64 digest. Binary layout, little-endian:
 *   header (40 bytes): magic "KLBS", u16 version (1), u16 hash id (1 = xxh64), u32 blockSize,
 *                      u32 reserved (0), u64 diskSize, u64 firstBlock, u64 blockCount
 *   bitmap: ceil(blockCount / 8) bytes, bit (i % 8) of byte (i >> 3) set = block firstBlock+i nonzero
 *   digests: one u64 per nonzero block, in block order
 *   trailer: u64 xxh64 of everything before it (detects a damaged checksums blob)
 * `diskSize` is the page blob's size (VHD data plus footer); the last block may be short.
 */
import { xxh64 } from '@node-rs/xxhash';
import { errors } from '../../domain/errors';
import type { ByteRange } from './page-ranges';

export const BLOCK_SIZE = 64 * 1024;
export type HashAlgorithm = 'xxh64';
export const HASH_ALGORITHM: HashAlgorithm = 'xxh64';

export const BLOCK_SUMS_MAGIC = 'KLBS';
export const BLOCK_SUMS_VERSION = 1;
export const BLOCK_SUMS_HEADER_SIZE = 40;
const TRAILER_SIZE = 8;
const HASH_IDS: Record<HashAlgorithm, number> = { xxh64: 1 };
const MAX_BLOCK_SIZE = 0x7fffffff;
const ZEROS = Buffer.alloc(4 * 1024 * 1024);

/** xxh64 (seed 0) of a block's bytes. */
export function digestBlock(data: Uint8Array): bigint {
  return xxh64(data);
}

export function isZeroBlock(data: Uint8Array): boolean {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (let offset = 0; offset < bytes.length; offset += ZEROS.length) {
    const piece = bytes.subarray(offset, Math.min(offset + ZEROS.length, bytes.length));
    if (!piece.equals(ZEROS.subarray(0, piece.length))) return false;
  }
  return true;
}

export function blockCountFor(diskSize: number, blockSize: number = BLOCK_SIZE): number {
  assertSize(diskSize, 'diskSize', 0);
  assertSize(blockSize, 'blockSize', 1);
  return Math.ceil(diskSize / blockSize);
}

/** The blocks that a byte range of the disk touches (a segment start must be block-aligned to own its blocks). */
export function blockSpan(range: ByteRange, blockSize: number, diskSize: number): { firstBlock: number; blockCount: number } {
  const end = Math.min(range.end, diskSize);
  if (end <= range.start) return { firstBlock: Math.floor(range.start / blockSize), blockCount: 0 };
  const firstBlock = Math.floor(range.start / blockSize);
  return { firstBlock, blockCount: Math.ceil(end / blockSize) - firstBlock };
}

/** The bytes of block `index`; the disk's last block may be shorter than `blockSize`. */
export function blockByteRange(index: number, blockSize: number, diskSize: number): ByteRange {
  const start = index * blockSize;
  return { start, end: Math.min(start + blockSize, diskSize) };
}

export interface CreateBlockSumsOptions {
  diskSize: number;
  blockSize?: number;
  hashAlgorithm?: HashAlgorithm;
  /** Default 0. */
  firstBlock?: number;
  /** Default: every block from firstBlock to the end of the disk. */
  blockCount?: number;
}

/** Checksums of blocks [firstBlock, firstBlock + blockCount) of a disk; all blocks start as zero. */
export class BlockSums {
  readonly hashAlgorithm: HashAlgorithm;
  readonly blockSize: number;
  readonly diskSize: number;
  readonly firstBlock: number;
  readonly blockCount: number;
  private readonly bitmap: Uint8Array;
  private readonly digests: BigUint64Array;

  private constructor(opts: Required<CreateBlockSumsOptions>) {
    this.hashAlgorithm = opts.hashAlgorithm;
    this.blockSize = opts.blockSize;
    this.diskSize = opts.diskSize;
    this.firstBlock = opts.firstBlock;
    this.blockCount = opts.blockCount;
    this.bitmap = new Uint8Array(Math.ceil(opts.blockCount / 8));
    this.digests = new BigUint64Array(opts.blockCount);
  }

  static create(opts: CreateBlockSumsOptions): BlockSums {
    const blockSize = opts.blockSize ?? BLOCK_SIZE;
    assertSize(blockSize, 'blockSize', 1, MAX_BLOCK_SIZE);
    assertSize(opts.diskSize, 'diskSize', 0);
    const total = blockCountFor(opts.diskSize, blockSize);
    const firstBlock = opts.firstBlock ?? 0;
    assertSize(firstBlock, 'firstBlock', 0, total);
    const blockCount = opts.blockCount ?? total - firstBlock;
    assertSize(blockCount, 'blockCount', 0, total - firstBlock);
    const hashAlgorithm = opts.hashAlgorithm ?? HASH_ALGORITHM;
    if (!(hashAlgorithm in HASH_IDS)) throw errors.invalidBlockSums(`the hash algorithm '${hashAlgorithm}' is unknown`);
    return new BlockSums({ blockSize, diskSize: opts.diskSize, firstBlock, blockCount, hashAlgorithm });
  }

  /** One past the last block covered. */
  get endBlock(): number {
    return this.firstBlock + this.blockCount;
  }

  get nonZeroCount(): number {
    let count = 0;
    for (const byte of this.bitmap) count += popcount8(byte);
    return count;
  }

  covers(index: number): boolean {
    return Number.isInteger(index) && index >= this.firstBlock && index < this.endBlock;
  }

  isNonZero(index: number): boolean {
    const i = this.local(index);
    return (this.bitmap[i >> 3] & (1 << (i & 7))) !== 0;
  }

  /** The digest of a nonzero block; undefined for a zero block. */
  digestOf(index: number): bigint | undefined {
    const i = this.local(index);
    return (this.bitmap[i >> 3] & (1 << (i & 7))) !== 0 ? this.digests[i] : undefined;
  }

  setDigest(index: number, digest: bigint): void {
    const i = this.local(index);
    this.bitmap[i >> 3] |= 1 << (i & 7);
    this.digests[i] = digest;
  }

  setZero(index: number): void {
    const i = this.local(index);
    this.bitmap[i >> 3] &= ~(1 << (i & 7));
    this.digests[i] = 0n;
  }

  /** Hashes `data` (the block's full bytes) or marks the block zero; returns the digest or undefined. */
  recordBlock(index: number, data: Uint8Array): bigint | undefined {
    const expected = blockByteRange(index, this.blockSize, this.diskSize);
    if (data.byteLength !== expected.end - expected.start) {
      throw errors.invalidBlockSums(`block ${index} has ${data.byteLength} bytes, expected ${expected.end - expected.start}`);
    }
    if (isZeroBlock(data)) {
      this.setZero(index);
      return undefined;
    }
    const digest = digestBlock(data);
    this.setDigest(index, digest);
    return digest;
  }

  /** Absolute indices of every covered block. */
  *blockIndices(): Iterable<number> {
    for (let i = this.firstBlock; i < this.endBlock; i += 1) yield i;
  }

  /** Absolute indices and digests of the nonzero blocks, ascending. */
  *nonZeroBlocks(): Iterable<{ index: number; digest: bigint }> {
    for (let i = 0; i < this.blockCount; i += 1) {
      if ((this.bitmap[i >> 3] & (1 << (i & 7))) !== 0) yield { index: this.firstBlock + i, digest: this.digests[i] };
    }
  }

  private local(index: number): number {
    if (!this.covers(index)) {
      throw errors.invalidBlockSums(`block ${index} is outside [${this.firstBlock}, ${this.endBlock})`);
    }
    return index - this.firstBlock;
  }
}

export function encodeBlockSums(sums: BlockSums): Buffer {
  const bitmapSize = Math.ceil(sums.blockCount / 8);
  const nonZero = sums.nonZeroCount;
  const size = BLOCK_SUMS_HEADER_SIZE + bitmapSize + nonZero * 8 + TRAILER_SIZE;
  const out = Buffer.alloc(size);
  out.write(BLOCK_SUMS_MAGIC, 0, 'ascii');
  out.writeUInt16LE(BLOCK_SUMS_VERSION, 4);
  out.writeUInt16LE(HASH_IDS[sums.hashAlgorithm], 6);
  out.writeUInt32LE(sums.blockSize, 8);
  out.writeUInt32LE(0, 12);
  out.writeBigUInt64LE(BigInt(sums.diskSize), 16);
  out.writeBigUInt64LE(BigInt(sums.firstBlock), 24);
  out.writeBigUInt64LE(BigInt(sums.blockCount), 32);
  let digestOffset = BLOCK_SUMS_HEADER_SIZE + bitmapSize;
  for (const { index, digest } of sums.nonZeroBlocks()) {
    const i = index - sums.firstBlock;
    out[BLOCK_SUMS_HEADER_SIZE + (i >> 3)] |= 1 << (i & 7);
    out.writeBigUInt64LE(digest, digestOffset);
    digestOffset += 8;
  }
  out.writeBigUInt64LE(xxh64(out.subarray(0, size - TRAILER_SIZE)), size - TRAILER_SIZE);
  return out;
}

/** Parses and checks an encoded BlockSums; throws KluisInvalidBlockSums naming the problem. */
export function decodeBlockSums(bytes: Uint8Array): BlockSums {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < BLOCK_SUMS_HEADER_SIZE + TRAILER_SIZE) throw errors.invalidBlockSums(`it is only ${buf.length} bytes long`);
  if (buf.toString('latin1', 0, 4) !== BLOCK_SUMS_MAGIC) throw errors.invalidBlockSums('the magic number is wrong');
  const version = buf.readUInt16LE(4);
  if (version !== BLOCK_SUMS_VERSION) throw errors.invalidBlockSums(`version ${version} is not supported`);
  const trailer = buf.readBigUInt64LE(buf.length - TRAILER_SIZE);
  if (trailer !== xxh64(buf.subarray(0, buf.length - TRAILER_SIZE))) {
    throw errors.invalidBlockSums('its checksum does not match its content');
  }
  const hashId = buf.readUInt16LE(6);
  const hashAlgorithm = (Object.keys(HASH_IDS) as HashAlgorithm[]).find((name) => HASH_IDS[name] === hashId);
  if (hashAlgorithm === undefined) throw errors.invalidBlockSums(`hash id ${hashId} is unknown`);
  const sums = BlockSums.create({
    hashAlgorithm,
    blockSize: buf.readUInt32LE(8),
    diskSize: safeNumber(buf.readBigUInt64LE(16), 'diskSize'),
    firstBlock: safeNumber(buf.readBigUInt64LE(24), 'firstBlock'),
    blockCount: safeNumber(buf.readBigUInt64LE(32), 'blockCount'),
  });
  const bitmapSize = Math.ceil(sums.blockCount / 8);
  const bitmap = buf.subarray(BLOCK_SUMS_HEADER_SIZE, BLOCK_SUMS_HEADER_SIZE + bitmapSize);
  let nonZero = 0;
  for (const byte of bitmap) nonZero += popcount8(byte);
  const expectedSize = BLOCK_SUMS_HEADER_SIZE + bitmapSize + nonZero * 8 + TRAILER_SIZE;
  if (buf.length !== expectedSize) throw errors.invalidBlockSums(`it is ${buf.length} bytes long, expected ${expectedSize}`);
  if (sums.blockCount % 8 !== 0 && bitmap.length > 0 && bitmap[bitmapSize - 1] >> sums.blockCount % 8 !== 0) {
    throw errors.invalidBlockSums('bits beyond the last block are set');
  }
  let digestOffset = BLOCK_SUMS_HEADER_SIZE + bitmapSize;
  for (let i = 0; i < sums.blockCount; i += 1) {
    if ((bitmap[i >> 3] & (1 << (i & 7))) === 0) continue;
    sums.setDigest(sums.firstBlock + i, buf.readBigUInt64LE(digestOffset));
    digestOffset += 8;
  }
  return sums;
}

/** Joins parts covering consecutive block ranges of one disk (same blockSize, diskSize, hash). */
export function concatBlockSums(parts: readonly BlockSums[]): BlockSums {
  if (parts.length === 0) throw errors.invalidBlockSums('there are no parts to join');
  const sorted = [...parts].sort((a, b) => a.firstBlock - b.firstBlock);
  const first = sorted[0];
  let next = first.firstBlock;
  for (const part of sorted) {
    if (part.blockSize !== first.blockSize || part.diskSize !== first.diskSize || part.hashAlgorithm !== first.hashAlgorithm) {
      throw errors.invalidBlockSums('the parts disagree on block size, disk size or hash algorithm');
    }
    if (part.firstBlock !== next) {
      throw errors.invalidBlockSums(`the parts leave a gap or overlap at block ${next} (next part starts at ${part.firstBlock})`);
    }
    next = part.endBlock;
  }
  const joined = BlockSums.create({
    hashAlgorithm: first.hashAlgorithm,
    blockSize: first.blockSize,
    diskSize: first.diskSize,
    firstBlock: first.firstBlock,
    blockCount: next - first.firstBlock,
  });
  for (const part of sorted) for (const { index, digest } of part.nonZeroBlocks()) joined.setDigest(index, digest);
  return joined;
}

/**
 * How block `index` changed from `prev` to `next`:
 * 'unchanged' same digest or zero in both; 'changed' nonzero in both with different digests;
 * 'written' zero (or not covered / no previous sums) before, nonzero now; 'zeroed' nonzero before, zero now.
 */
export type BlockComparison = 'unchanged' | 'changed' | 'written' | 'zeroed';

export function compareBlock(prev: BlockSums | undefined, next: BlockSums, index: number): BlockComparison {
  const now = next.digestOf(index);
  const before = prev !== undefined && prev.covers(index) ? prev.digestOf(index) : undefined;
  if (now === undefined) return before === undefined ? 'unchanged' : 'zeroed';
  if (before === undefined) return 'written';
  return before === now ? 'unchanged' : 'changed';
}

export interface BlockSumsDiff {
  changed: number[];
  written: number[];
  zeroed: number[];
}

/** Block indices of `next` that differ from `prev`, by kind. Sums must share block size and hash. */
export function diffBlockSums(prev: BlockSums | undefined, next: BlockSums): BlockSumsDiff {
  if (prev !== undefined) assertComparable(prev, next);
  const diff: BlockSumsDiff = { changed: [], written: [], zeroed: [] };
  for (const index of next.blockIndices()) {
    const kind = compareBlock(prev, next, index);
    if (kind !== 'unchanged') diff[kind].push(index);
  }
  return diff;
}

export function sameBlockSums(a: BlockSums, b: BlockSums): boolean {
  return encodeBlockSums(a).equals(encodeBlockSums(b));
}

function assertComparable(a: BlockSums, b: BlockSums): void {
  if (a.blockSize !== b.blockSize || a.hashAlgorithm !== b.hashAlgorithm) {
    throw errors.invalidBlockSums(
      `cannot compare sums of ${a.blockSize}-byte ${a.hashAlgorithm} blocks with ${b.blockSize}-byte ${b.hashAlgorithm} blocks`,
    );
  }
}

function popcount8(byte: number): number {
  let n = byte;
  n -= (n >> 1) & 0x55;
  n = (n & 0x33) + ((n >> 2) & 0x33);
  return (n + (n >> 4)) & 0x0f;
}

function safeNumber(value: bigint, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw errors.invalidBlockSums(`${field} is too large`);
  return Number(value);
}

function assertSize(value: number, name: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw errors.invalidBlockSums(`${name} ${value} is not an integer in [${min}, ${max}]`);
  }
}
