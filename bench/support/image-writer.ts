/**
 * Writes the benchmark disk (see disk-image.ts) to a page blob and/or a local raw file, piece by piece,
 * with a few writes in flight, so memory stays at a few 4 MiB buffers whatever the disk size.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { PageBlobClient } from '@azure/storage-blob';
import {
  ContentGenerator,
  footerFor,
  imageSize,
  initialPieces,
  rewritePieces,
  type DiskLayout,
  type Piece,
} from './disk-image';

const IN_FLIGHT = 4;

export interface ImageTargets {
  /** Created (or reset) at the image size before the initial write. */
  pageBlob?: PageBlobClient;
  /** Created (or truncated) sparse at the image size before the initial write. */
  file?: string;
}

/** Writes version 0 of the image: allocated extents and the footer; the rest stays unallocated / a hole. */
export async function writeInitialImage(layout: DiskLayout, targets: ImageTargets): Promise<void> {
  const size = imageSize(layout);
  if (targets.pageBlob) await targets.pageBlob.create(size);
  const file = targets.file ? await open(targets.file, 'w') : undefined;
  try {
    await file?.truncate(size);
    await writePieces(layout, initialPieces(layout), 0, targets.pageBlob, file);
    const footer = footerFor(layout);
    await targets.pageBlob?.uploadPages(footer, layout.dataSize, footer.length);
    await file?.write(footer, 0, footer.length, layout.dataSize);
  } finally {
    await file?.close();
  }
}

/** Applies the rewrite (version 1 of the rewritten 64 KiB blocks) to an existing blob and/or file. */
export async function applyRewrite(layout: DiskLayout, targets: ImageTargets): Promise<void> {
  const file = targets.file ? await open(targets.file, 'r+') : undefined;
  try {
    await writePieces(layout, rewritePieces(layout), 1, targets.pageBlob, file);
  } finally {
    await file?.close();
  }
}

async function writePieces(
  layout: DiskLayout,
  pieces: Iterable<Piece>,
  version: number,
  pageBlob: PageBlobClient | undefined,
  file: FileHandle | undefined,
): Promise<void> {
  const generator = new ContentGenerator(layout.seed);
  const iterator = pieces[Symbol.iterator]();
  const worker = async () => {
    for (let item = iterator.next(); !item.done; item = iterator.next()) {
      const piece = item.value;
      const data = Buffer.allocUnsafe(piece.count);
      generator.fill(data, piece.offset, version);
      await Promise.all([
        pageBlob?.uploadPages(data, piece.offset, piece.count),
        file?.write(data, 0, piece.count, piece.offset),
      ]);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

/** Writes version 0's allocated extents into an existing page blob of the image's size (its footer left as it is). */
export async function writeInitialData(layout: DiskLayout, pageBlob: PageBlobClient): Promise<void> {
  await writePieces(layout, initialPieces(layout), 0, pageBlob, undefined);
}
