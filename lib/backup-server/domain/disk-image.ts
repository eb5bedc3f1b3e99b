/**
 * Disk images backed up as whole volumes: raw images (`.img`, the file is the disk) and VHDs (Microsoft's "Virtual
 * Hard Disk Image Format Specification"): fixed (the disk, then a 512-byte footer) and dynamic (a footer copy, a
 * dynamic header, the block allocation table (BAT), then the allocated blocks, each a sector bitmap and its data;
 * the footer last). All VHD fields are big-endian; the footer and the dynamic header carry a checksum: the one's
 * complement of the byte sum, the checksum field excluded. Differencing VHDs need their parent and are refused.
 * Pure: the bytes are read by the caller.
 */
import { errors } from '../../domain/errors';

export const SECTOR = 512;
export const VHD_FOOTER_SIZE = 512;
export const VHD_DYNAMIC_HEADER_SIZE = 1024;
export const VHD_FOOTER_COOKIE = 'conectix';
export const VHD_DYNAMIC_COOKIE = 'cxsparse';
export const VHD_TYPE = { fixed: 2, dynamic: 3, differencing: 4 } as const;
export const UNALLOCATED_BLOCK = 0xffffffff;
const FIXED_DATA_OFFSET = 0xffffffffffffffffn;
const FOOTER_CHECKSUM_AT = 64;
const HEADER_CHECKSUM_AT = 36;

/** How an image is read and stored: `vhd-fixed` and `vhd-dynamic` keep their footer, so a restore can rebuild a VHD. */
export type DiskImageFormat = 'raw' | 'vhd-fixed' | 'vhd-dynamic';
/** What a restore writes: `raw` (the disk's bytes) or `vhd` (a fixed VHD: the disk's bytes and a footer). */
export type ImageRestoreFormat = 'raw' | 'vhd';

export interface VhdFooter {
  diskType: number;
  /** The virtual disk's size in bytes. */
  currentSize: number;
  /** Dynamic: where the dynamic header is; fixed: undefined. */
  dynamicHeaderOffset?: number;
  uniqueId: string;
}

export interface VhdDynamicHeader {
  tableOffset: number;
  maxTableEntries: number;
  blockSize: number;
}

/** One's complement of the byte sum, the 4-byte checksum field at `checksumAt` left out. */
export function vhdChecksum(bytes: Uint8Array, checksumAt: number): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) if (i < checksumAt || i >= checksumAt + 4) sum = (sum + bytes[i]) >>> 0;
  return ~sum >>> 0;
}

function safeNumber(value: bigint, image: string, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw errors.diskImageInvalid(image, `its ${field} (${value}) is out of range`);
  return Number(value);
}

/** Whether the last 512 bytes of a file start with the VHD cookie (the file means to be a VHD). */
export function hasVhdCookie(tail: Uint8Array): boolean {
  return tail.length >= 8 && Buffer.from(tail.subarray(0, 8)).toString('latin1') === VHD_FOOTER_COOKIE;
}

export function parseVhdFooter(bytes: Uint8Array, image: string): VhdFooter {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length !== VHD_FOOTER_SIZE) throw errors.diskImageInvalid(image, `its footer is ${b.length} bytes, not ${VHD_FOOTER_SIZE}`);
  if (!hasVhdCookie(b)) throw errors.diskImageInvalid(image, `its footer does not start with the cookie '${VHD_FOOTER_COOKIE}'`);
  const stored = b.readUInt32BE(FOOTER_CHECKSUM_AT);
  const computed = vhdChecksum(b, FOOTER_CHECKSUM_AT);
  if (stored !== computed) throw errors.diskImageInvalid(image, `its footer checksum is 0x${stored.toString(16)}, the footer's bytes give 0x${computed.toString(16)}`);
  const version = b.readUInt32BE(12);
  if (version >>> 16 !== 1) throw errors.diskImageInvalid(image, `its footer's format version is 0x${version.toString(16)}, not 1.x`);
  const diskType = b.readUInt32BE(60);
  if (diskType === VHD_TYPE.differencing) throw errors.diskImageInvalid(image, 'it is a differencing VHD, which needs its parent');
  if (diskType !== VHD_TYPE.fixed && diskType !== VHD_TYPE.dynamic) throw errors.diskImageInvalid(image, `its disk type is ${diskType}, neither fixed (2) nor dynamic (3)`);
  const currentSize = safeNumber(b.readBigUInt64BE(48), image, 'current size');
  if (currentSize % SECTOR !== 0) throw errors.diskImageInvalid(image, `its size ${currentSize} is not a whole number of 512-byte sectors`);
  const dataOffset = b.readBigUInt64BE(16);
  const footer: VhdFooter = { diskType, currentSize, uniqueId: b.subarray(68, 84).toString('hex') };
  if (diskType === VHD_TYPE.dynamic) {
    if (dataOffset === FIXED_DATA_OFFSET) throw errors.diskImageInvalid(image, 'it is dynamic but its footer names no dynamic header');
    footer.dynamicHeaderOffset = safeNumber(dataOffset, image, 'data offset');
  }
  return footer;
}

export function parseVhdDynamicHeader(bytes: Uint8Array, footer: VhdFooter, fileSize: number, image: string): VhdDynamicHeader {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length !== VHD_DYNAMIC_HEADER_SIZE || b.subarray(0, 8).toString('latin1') !== VHD_DYNAMIC_COOKIE) {
    throw errors.diskImageInvalid(image, `its dynamic header does not start with the cookie '${VHD_DYNAMIC_COOKIE}'`);
  }
  const stored = b.readUInt32BE(HEADER_CHECKSUM_AT);
  const computed = vhdChecksum(b, HEADER_CHECKSUM_AT);
  if (stored !== computed) throw errors.diskImageInvalid(image, `its dynamic header checksum is 0x${stored.toString(16)}, the header's bytes give 0x${computed.toString(16)}`);
  const tableOffset = safeNumber(b.readBigUInt64BE(16), image, 'block table offset');
  const maxTableEntries = b.readUInt32BE(28);
  const blockSize = b.readUInt32BE(32);
  if (blockSize === 0 || blockSize % SECTOR !== 0 || (blockSize & (blockSize - 1)) !== 0) throw errors.diskImageInvalid(image, `its block size ${blockSize} is not a power of two of whole sectors`);
  if (maxTableEntries * blockSize < footer.currentSize) throw errors.diskImageInvalid(image, `its ${maxTableEntries} blocks of ${blockSize} bytes do not cover its size ${footer.currentSize}`);
  if (tableOffset + maxTableEntries * 4 > fileSize) throw errors.diskImageInvalid(image, 'its block table lies beyond the end of the file');
  return { tableOffset, maxTableEntries, blockSize };
}

/** Bytes of a block's sector bitmap (one bit a sector), padded to whole sectors. */
export function sectorBitmapBytes(blockSize: number): number {
  return Math.ceil(blockSize / SECTOR / 8 / SECTOR) * SECTOR;
}

/** The BAT: each block's file offset in bytes (its sector bitmap), or undefined for an unallocated block (zeros). */
export function parseBlockTable(bytes: Uint8Array, header: VhdDynamicHeader, fileSize: number, image: string): Array<number | undefined> {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blockBytes = sectorBitmapBytes(header.blockSize) + header.blockSize;
  const table: Array<number | undefined> = [];
  for (let i = 0; i < header.maxTableEntries; i++) {
    const sector = b.readUInt32BE(i * 4);
    if (sector === UNALLOCATED_BLOCK) {
      table.push(undefined);
      continue;
    }
    const offset = sector * SECTOR;
    if (offset + blockBytes > fileSize - VHD_FOOTER_SIZE) throw errors.diskImageInvalid(image, `block ${i} lies beyond the end of its data (sector ${sector})`);
    table.push(offset);
  }
  return table;
}

/** Zeroes the sectors of a dynamic block's data its bitmap marks as not written (they read as zeros). */
export function applySectorBitmap(bitmap: Uint8Array, data: Buffer): Buffer {
  for (let sector = 0; sector * SECTOR < data.length; sector++) {
    if ((bitmap[sector >> 3] & (0x80 >> (sector & 7))) === 0) data.fill(0, sector * SECTOR, (sector + 1) * SECTOR);
  }
  return data;
}

/**
 * The footer of a fixed VHD for the same disk as `footer` (a fixed or dynamic footer): disk type 2, no data
 * offset, the checksum recomputed; size, geometry, unique id and times kept.
 */
export function fixedFooterFrom(footer: Uint8Array): Buffer {
  const b = Buffer.from(footer);
  b.writeBigUInt64BE(FIXED_DATA_OFFSET, 16);
  b.writeUInt32BE(VHD_TYPE.fixed, 60);
  b.writeUInt32BE(vhdChecksum(b, FOOTER_CHECKSUM_AT), FOOTER_CHECKSUM_AT);
  return b;
}

const ZEROS = Buffer.alloc(64 * 1024);

/** Whether every byte is zero (compared natively, 64 KiB at a time). */
export function isAllZero(bytes: Uint8Array): boolean {
  for (let at = 0; at < bytes.length; at += ZEROS.length) {
    const part = bytes.subarray(at, Math.min(bytes.length, at + ZEROS.length));
    if (Buffer.compare(part, ZEROS.subarray(0, part.length)) !== 0) return false;
  }
  return true;
}

/** What a restore of an image writes by default: a VHD source comes back as a fixed VHD, a raw one raw. */
export function defaultRestoreFormat(format: DiskImageFormat): ImageRestoreFormat {
  return format === 'raw' ? 'raw' : 'vhd';
}
