/**
 * Puts the engine benchmark's disk content (disk-image.ts: 4 KiB-aligned extents of 64 KiB–8 MiB,
 * mixed random / text-like / zero cells) onto a fabric VM's existing disk blob, so vault benchmarks move
 * the same kind of data as the engine benchmark. The fabric's blob (its metadata and VHD footer) stays;
 * only the data extents are written, in 4 MiB pieces, a few in flight.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { ContentGenerator, initialPieces, planDiskLayout, type DiskLayout } from './disk-image';

const IN_FLIGHT = 4;

/** `{container, blob}` of a blob URL (`http://host:port/account/container/blob` for Azurite). */
export function blobOfUrl(url: string): { container: string; blob: string } {
  const parts = new URL(url).pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length < 2) throw new Error(`Not a blob URL: ${url}`);
  return { container: parts[parts.length - 2], blob: parts[parts.length - 1] };
}

/** The layout for one disk: its own seed, so no two disks hold the same bytes. */
export function diskLayoutFor(seed: string, dataSize: number, allocatedFraction: number): DiskLayout {
  return planDiskLayout({ dataSize, seed, allocatedFraction, rewriteFraction: 0 });
}

/** Writes the layout's version-0 extents onto the blob at `url` (which already exists at the right size). */
export async function writeExtentsOnto(connectionString: string, url: string, layout: DiskLayout): Promise<void> {
  const { container, blob } = blobOfUrl(url);
  const pageBlob = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container).getPageBlobClient(blob);
  const generator = new ContentGenerator(layout.seed);
  const pieces = initialPieces(layout)[Symbol.iterator]();
  const worker = async () => {
    for (let item = pieces.next(); !item.done; item = pieces.next()) {
      const piece = item.value;
      const data = Buffer.allocUnsafe(piece.count);
      generator.fill(data, piece.offset, 0);
      await pageBlob.uploadPages(data, piece.offset, piece.count);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}
