/**
 * Fixed-VHD footer (Microsoft "Virtual Hard Disk Image Format Specification" v1.0): the last 512
 * bytes of a fixed VHD, all fields big-endian.
 */
import { createHash } from 'node:crypto';
import { DISK_SIZE_LIMIT_IN_BYTES, errors } from '../../domain/errors';

export const VHD_FOOTER_SIZE = 512;
export const PAGE_SIZE = 512;
export const VHD_COOKIE = 'conectix';

export const VhdDiskType = { Fixed: 2, Dynamic: 3, Differencing: 4 } as const;

const FEATURES_RESERVED = 0x00000002;
const FILE_FORMAT_VERSION = 0x00010000;
const FIXED_DATA_OFFSET = 0xffffffffffffffffn;
/** VHD timestamps count seconds from 2000-01-01T00:00:00Z. */
const VHD_EPOCH_MS = Date.UTC(2000, 0, 1);

const OFFSET = {
  cookie: 0,
  features: 8,
  formatVersion: 12,
  dataOffset: 16,
  timestamp: 24,
  creatorApplication: 28,
  creatorVersion: 32,
  creatorHostOs: 36,
  originalSize: 40,
  currentSize: 48,
  geometry: 56,
  diskType: 60,
  checksum: 64,
  uniqueId: 68,
  savedState: 84,
} as const;

export interface DiskGeometry {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

export interface VhdFooter {
  cookie: string;
  features: number;
  formatVersion: number;
  /** 0xFFFFFFFFFFFFFFFF for fixed disks. */
  dataOffset: bigint;
  timestamp: Date;
  creatorApplication: string;
  creatorVersion: number;
  creatorHostOs: string;
  originalSize: number;
  currentSize: number;
  geometry: DiskGeometry;
  diskType: number;
  checksum: number;
  /** 32 lowercase hex digits. */
  uniqueId: string;
  savedState: boolean;
}

export interface BuildVhdFooterOptions {
  /** 16 bytes, or 32 hex digits. Default: derived from the data size and `seed`. */
  uniqueId?: Uint8Array | string;
  /** Input for the derived unique id; ignored when `uniqueId` is given. */
  seed?: string;
  /** Default 2000-01-01T00:00:00Z (the VHD epoch), so the footer is a pure function of its inputs. */
  timestamp?: Date;
  /** Four ASCII characters; default `klus`. */
  creatorApplication?: string;
  /** Default 0x00010000 (1.0). */
  creatorVersion?: number;
  /** Four ASCII characters; default `Wi2k`, as Azure's tools write. */
  creatorHostOs?: string;
}

/** A 512-byte fixed-VHD footer for a disk of `dataSize` bytes (the footer itself not counted). */
export function buildVhdFooter(dataSize: number, opts: BuildVhdFooterOptions = {}): Buffer {
  assertDataSize(dataSize);
  const footer = Buffer.alloc(VHD_FOOTER_SIZE);
  footer.write(VHD_COOKIE, OFFSET.cookie, 'ascii');
  footer.writeUInt32BE(FEATURES_RESERVED, OFFSET.features);
  footer.writeUInt32BE(FILE_FORMAT_VERSION, OFFSET.formatVersion);
  footer.writeBigUInt64BE(FIXED_DATA_OFFSET, OFFSET.dataOffset);
  footer.writeUInt32BE(vhdTimestamp(opts.timestamp ?? new Date(VHD_EPOCH_MS)), OFFSET.timestamp);
  footer.write(fourCc(opts.creatorApplication ?? 'klus', 'creatorApplication'), OFFSET.creatorApplication, 'ascii');
  footer.writeUInt32BE(opts.creatorVersion ?? 0x00010000, OFFSET.creatorVersion);
  footer.write(fourCc(opts.creatorHostOs ?? 'Wi2k', 'creatorHostOs'), OFFSET.creatorHostOs, 'ascii');
  footer.writeBigUInt64BE(BigInt(dataSize), OFFSET.originalSize);
  footer.writeBigUInt64BE(BigInt(dataSize), OFFSET.currentSize);
  const geometry = chsGeometry(dataSize);
  footer.writeUInt16BE(geometry.cylinders, OFFSET.geometry);
  footer.writeUInt8(geometry.heads, OFFSET.geometry + 2);
  footer.writeUInt8(geometry.sectorsPerTrack, OFFSET.geometry + 3);
  footer.writeUInt32BE(VhdDiskType.Fixed, OFFSET.diskType);
  uniqueIdBytes(dataSize, opts).copy(footer, OFFSET.uniqueId);
  footer.writeUInt8(0, OFFSET.savedState);
  footer.writeUInt32BE(vhdChecksum(footer), OFFSET.checksum);
  return footer;
}

/** Parses and checks a fixed-VHD footer; throws KluisError on a bad cookie, bad checksum or non-fixed disk. */
export function parseVhdFooter(buf: Uint8Array): VhdFooter {
  if (buf.length !== VHD_FOOTER_SIZE) {
    throw errors.invalidVhdFooter(`expected ${VHD_FOOTER_SIZE} bytes, got ${buf.length}`);
  }
  const footer = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const cookie = footer.toString('latin1', OFFSET.cookie, OFFSET.cookie + 8);
  if (cookie !== VHD_COOKIE) throw errors.invalidVhdFooter(`the cookie is not '${VHD_COOKIE}'`);
  const checksum = footer.readUInt32BE(OFFSET.checksum);
  const expected = vhdChecksum(footer);
  if (checksum !== expected) {
    throw errors.invalidVhdFooter(`the checksum is 0x${hex32(checksum)}, expected 0x${hex32(expected)}`);
  }
  const diskType = footer.readUInt32BE(OFFSET.diskType);
  if (diskType !== VhdDiskType.Fixed) throw errors.unsupportedVhdType(diskType);
  return {
    cookie,
    features: footer.readUInt32BE(OFFSET.features),
    formatVersion: footer.readUInt32BE(OFFSET.formatVersion),
    dataOffset: footer.readBigUInt64BE(OFFSET.dataOffset),
    timestamp: new Date(VHD_EPOCH_MS + footer.readUInt32BE(OFFSET.timestamp) * 1000),
    creatorApplication: footer.toString('latin1', OFFSET.creatorApplication, OFFSET.creatorApplication + 4),
    creatorVersion: footer.readUInt32BE(OFFSET.creatorVersion),
    creatorHostOs: footer.toString('latin1', OFFSET.creatorHostOs, OFFSET.creatorHostOs + 4),
    originalSize: safeSize(footer.readBigUInt64BE(OFFSET.originalSize), 'original size'),
    currentSize: safeSize(footer.readBigUInt64BE(OFFSET.currentSize), 'current size'),
    geometry: {
      cylinders: footer.readUInt16BE(OFFSET.geometry),
      heads: footer.readUInt8(OFFSET.geometry + 2),
      sectorsPerTrack: footer.readUInt8(OFFSET.geometry + 3),
    },
    diskType,
    checksum,
    uniqueId: footer.toString('hex', OFFSET.uniqueId, OFFSET.uniqueId + 16),
    savedState: footer.readUInt8(OFFSET.savedState) !== 0,
  };
}

/** One's complement of the byte sum of the footer, the checksum field counted as zero. */
export function vhdChecksum(footer: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < VHD_FOOTER_SIZE; i++) {
    if (i >= OFFSET.checksum && i < OFFSET.checksum + 4) continue;
    sum += footer[i];
  }
  return ~sum >>> 0;
}

/** CHS geometry as computed by the VHD specification's appendix (capped at 65535/16/255). */
export function chsGeometry(dataSize: number): DiskGeometry {
  let totalSectors = Math.floor(dataSize / PAGE_SIZE);
  if (totalSectors > 65535 * 16 * 255) totalSectors = 65535 * 16 * 255;
  let sectorsPerTrack: number;
  let heads: number;
  let cylinderTimesHeads: number;
  if (totalSectors >= 65535 * 16 * 63) {
    sectorsPerTrack = 255;
    heads = 16;
    cylinderTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
  } else {
    sectorsPerTrack = 17;
    cylinderTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
    heads = Math.floor((cylinderTimesHeads + 1023) / 1024);
    if (heads < 4) heads = 4;
    if (cylinderTimesHeads >= heads * 1024 || heads > 16) {
      sectorsPerTrack = 31;
      heads = 16;
      cylinderTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
    }
    if (cylinderTimesHeads >= heads * 1024) {
      sectorsPerTrack = 63;
      heads = 16;
      cylinderTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
    }
  }
  return { cylinders: Math.floor(cylinderTimesHeads / heads), heads, sectorsPerTrack };
}

export interface DiskSize {
  /** The page blob's size: data plus the 512-byte footer. */
  blobSize: number;
  /** The disk's capacity as the VM sees it. */
  dataSize: number;
}

/**
 * Checks a page blob's size as a fixed-VHD disk: a whole number of 512-byte pages, room for data
 * and footer, data at most 32 TiB (Azure Backup's limit). Throws UserErrorUnsupportedDiskSize.
 */
export function validateDiskSize(blobSize: number): DiskSize {
  if (!Number.isSafeInteger(blobSize) || blobSize < 0) {
    throw errors.unsupportedDiskSize(blobSize, 'it is not a whole number of bytes');
  }
  if (blobSize % PAGE_SIZE !== 0) {
    throw errors.unsupportedDiskSize(blobSize, `it is not a multiple of ${PAGE_SIZE} bytes`);
  }
  if (blobSize <= VHD_FOOTER_SIZE) {
    throw errors.unsupportedDiskSize(blobSize, 'it leaves no room for data before the 512-byte VHD footer');
  }
  const dataSize = blobSize - VHD_FOOTER_SIZE;
  if (dataSize > DISK_SIZE_LIMIT_IN_BYTES) {
    throw errors.unsupportedDiskSize(blobSize, 'the data size exceeds the 32 TiB limit for backed-up disks');
  }
  return { blobSize, dataSize };
}

function assertDataSize(dataSize: number): void {
  if (!Number.isSafeInteger(dataSize) || dataSize <= 0 || dataSize % PAGE_SIZE !== 0) {
    throw errors.unsupportedDiskSize(dataSize, `the data size must be a positive multiple of ${PAGE_SIZE} bytes`);
  }
  if (dataSize > DISK_SIZE_LIMIT_IN_BYTES) {
    throw errors.unsupportedDiskSize(dataSize, 'the data size exceeds the 32 TiB limit for backed-up disks');
  }
}

function vhdTimestamp(date: Date): number {
  const seconds = Math.floor((date.getTime() - VHD_EPOCH_MS) / 1000);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 0xffffffff) {
    throw errors.invalidVhdFooter('the timestamp is outside the range a VHD footer can hold');
  }
  return seconds;
}

function fourCc(value: string, field: string): string {
  if (!/^[\x20-\x7e]{4}$/.test(value)) throw errors.invalidVhdFooter(`${field} must be 4 printable ASCII characters`);
  return value;
}

function uniqueIdBytes(dataSize: number, opts: BuildVhdFooterOptions): Buffer {
  const given = opts.uniqueId;
  if (given === undefined) {
    return createHash('md5').update(`kluis-vhd:${dataSize}:${opts.seed ?? ''}`).digest();
  }
  const bytes = typeof given === 'string' ? Buffer.from(given.replace(/-/g, ''), 'hex') : Buffer.from(given);
  if (bytes.length !== 16) throw errors.invalidVhdFooter('the unique id must be 16 bytes');
  return bytes;
}

function safeSize(value: bigint, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw errors.invalidVhdFooter(`the ${field} is too large`);
  return Number(value);
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}
