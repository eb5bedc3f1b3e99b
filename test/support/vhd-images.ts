/**
 * Small VHDs for tests, written by the layout of Microsoft's VHD specification: fixed (data + footer) and dynamic
 * (footer copy, dynamic header, block table, allocated blocks with their sector bitmaps, footer). Only blocks that
 * hold a non-zero byte are allocated, as a hypervisor's dynamic disk would leave untouched regions unallocated.
 */
import { sectorBitmapBytes, vhdChecksum } from '../../lib/backup-server/domain/disk-image';

const ALL_ONES = 0xffffffffffffffffn;

export function vhdFooter(size: number, diskType: 2 | 3, dataOffset: bigint, uniqueIdSeed = 7): Buffer {
  const f = Buffer.alloc(512);
  f.write('conectix', 0, 'latin1');
  f.writeUInt32BE(2, 8);
  f.writeUInt32BE(0x00010000, 12);
  f.writeBigUInt64BE(dataOffset, 16);
  f.writeUInt32BE(123_456, 24);
  f.write('klts', 28, 'latin1');
  f.writeUInt32BE(0x00010000, 32);
  f.write('Wi2k', 36, 'latin1');
  f.writeBigUInt64BE(BigInt(size), 40);
  f.writeBigUInt64BE(BigInt(size), 48);
  f.writeUInt32BE((Math.min(65535, size / 512 / 16 / 63) << 16) | (16 << 8) | 63, 56);
  f.writeUInt32BE(diskType, 60);
  for (let i = 0; i < 16; i++) f[68 + i] = (uniqueIdSeed * 31 + i) & 0xff;
  f.writeUInt32BE(vhdChecksum(f, 64), 64);
  return f;
}

export function fixedVhd(disk: Buffer): Buffer {
  return Buffer.concat([disk, vhdFooter(disk.length, 2, ALL_ONES)]);
}

/**
 * A dynamic VHD of `disk` (its length a multiple of `blockSize`). `unwrittenSectors` (absolute sector numbers) are
 * stored with their bitmap bit clear and junk bytes in the file: a reader must return zeros there.
 */
export function dynamicVhd(disk: Buffer, blockSize: number, unwrittenSectors: readonly number[] = []): Buffer {
  const blocks = Math.ceil(disk.length / blockSize);
  const footer = vhdFooter(disk.length, 3, 512n);
  const header = Buffer.alloc(1024);
  header.write('cxsparse', 0, 'latin1');
  header.writeBigUInt64BE(ALL_ONES, 8);
  header.writeBigUInt64BE(1536n, 16);
  header.writeUInt32BE(0x00010000, 24);
  header.writeUInt32BE(blocks, 28);
  header.writeUInt32BE(blockSize, 32);
  header.writeUInt32BE(vhdChecksum(header, 36), 36);
  const bat = Buffer.alloc(Math.ceil((blocks * 4) / 512) * 512, 0xff);
  const bitmapBytes = sectorBitmapBytes(blockSize);
  const parts: Buffer[] = [];
  let next = 1536 + bat.length;
  for (let b = 0; b < blocks; b++) {
    const data = Buffer.from(disk.subarray(b * blockSize, (b + 1) * blockSize));
    if (data.every((x) => x === 0)) continue;
    const bitmap = Buffer.alloc(bitmapBytes, 0xff);
    for (const sector of unwrittenSectors) {
      const local = sector - (b * blockSize) / 512;
      if (local < 0 || local >= blockSize / 512) continue;
      bitmap[local >> 3] &= ~(0x80 >> (local & 7));
      data.fill(0xee, local * 512, (local + 1) * 512);
    }
    bat.writeUInt32BE(next / 512, b * 4);
    parts.push(bitmap, data);
    next += bitmap.length + data.length;
  }
  return Buffer.concat([footer, header, bat, ...parts, footer]);
}
