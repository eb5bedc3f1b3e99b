/**
 * A deterministic sample disk for local runs and tests: a fixed-VHD page blob (data + 512-byte
 * footer) with a few written regions of seeded pseudo-random bytes; the rest stays unallocated.
 */
import { createHash } from 'node:crypto';
import type { BlobServiceClient, PageBlobClient } from '@azure/storage-blob';
import { buildVhdFooter, PAGE_SIZE } from '../lib/engine/domain/vhd';
import { seededRandom } from './seeded-random';

const KIB = 1024;
const MIB = 1024 * KIB;
const MAX_PAGES_PER_UPLOAD = 4 * MIB;

export interface SampleVhdOptions {
  container: string;
  blob: string;
  /** Disk capacity without the footer; a positive multiple of 512. Default 64 MiB. */
  dataSize?: number;
  /** Same seed, same bytes. Default 'kluis'. */
  seed?: number | string;
}

export interface SampleRegion {
  offset: number;
  count: number;
  /** Written, but all zero bytes (still an allocated page range). */
  zero: boolean;
}

export interface SampleVhd {
  url: string;
  /** Page blob size: dataSize + 512. */
  size: number;
  dataSize: number;
  /** SHA-256 of the data part (dataSize bytes, unwritten pages as zeros), hex. */
  sha256OfData: string;
  /** The written data regions, ascending (the footer not included). */
  regions: SampleRegion[];
}

/**
 * Regions chosen to exercise a transfer: the boot area, a write that spans a 4 MiB boundary and
 * is longer than one chunk, an allocated all-zero range, two adjacent writes, and the pages right
 * before the footer. Regions that do not fit a small disk are left out.
 */
export function sampleRegions(dataSize: number): SampleRegion[] {
  const tail = Math.min(128 * KIB, dataSize);
  const candidates: SampleRegion[] = [
    { offset: 0, count: 64 * KIB, zero: false },
    { offset: 1 * MIB + 3 * PAGE_SIZE, count: 5 * MIB + PAGE_SIZE, zero: false },
    { offset: 12 * MIB, count: 256 * KIB, zero: true },
    { offset: 20 * MIB, count: 64 * KIB, zero: false },
    { offset: 20 * MIB + 64 * KIB, count: 64 * KIB, zero: false },
  ];
  const fitting = candidates.filter((r) => r.offset + r.count <= dataSize - tail);
  return [...fitting, { offset: dataSize - tail, count: tail, zero: false }];
}

export async function createSampleVhd(blobService: BlobServiceClient, opts: SampleVhdOptions): Promise<SampleVhd> {
  const dataSize = opts.dataSize ?? 64 * MIB;
  if (!Number.isSafeInteger(dataSize) || dataSize <= 0 || dataSize % PAGE_SIZE !== 0) {
    throw new Error(`dataSize must be a positive multiple of ${PAGE_SIZE}, got ${dataSize}`);
  }
  const seed = String(opts.seed ?? 'kluis');
  const containerClient = blobService.getContainerClient(opts.container);
  await containerClient.createIfNotExists();
  const pageBlob = containerClient.getPageBlobClient(opts.blob);
  const size = dataSize + PAGE_SIZE;
  await pageBlob.create(size);

  const regions = sampleRegions(dataSize);
  const random = seededRandom(seed);
  const dataHash = createHash('sha256');
  let hashed = 0;
  for (const region of regions) {
    const bytes = Buffer.alloc(region.count);
    if (!region.zero) random.fill(bytes);
    await uploadInPieces(pageBlob, region.offset, bytes);
    hashZeros(dataHash, region.offset - hashed);
    dataHash.update(bytes);
    hashed = region.offset + region.count;
  }
  hashZeros(dataHash, dataSize - hashed);

  const footer = buildVhdFooter(dataSize, { seed });
  await pageBlob.uploadPages(footer, dataSize, footer.length);

  return { url: pageBlob.url, size, dataSize, sha256OfData: dataHash.digest('hex'), regions };
}

async function uploadInPieces(pageBlob: PageBlobClient, offset: number, bytes: Buffer): Promise<void> {
  for (let start = 0; start < bytes.length; start += MAX_PAGES_PER_UPLOAD) {
    const piece = bytes.subarray(start, Math.min(bytes.length, start + MAX_PAGES_PER_UPLOAD));
    await pageBlob.uploadPages(piece, offset + start, piece.length);
  }
}

function hashZeros(hash: ReturnType<typeof createHash>, count: number): void {
  const zeros = Buffer.alloc(Math.min(count, MIB));
  for (let left = count; left > 0; left -= zeros.length) {
    hash.update(left >= zeros.length ? zeros : zeros.subarray(0, left));
  }
}

