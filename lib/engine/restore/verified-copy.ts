/**
 * The verified copy of one disk of a recovery point: reads only allocated blocks from the chosen tier,
 * checks every 64 KiB block against the point's checksums (zero blocks must read as zero; `verified-read.ts`),
 * and writes the allocated parts to the target with a transactional MD5 in Put Pages of at most 4 MiB,
 * reads running ahead of uploads, memory bounded.
 */
import { createHash } from 'node:crypto';
import { uploadPiecesFor } from '../domain/restore-plan';
import type { BlobRef } from '../../stores/disk-store';
import type { RestoreTargetStore } from '../../stores/restore-target-store';
import { readDiskVerified, type VerifiedReadInput, type VerifiedReadOptions } from './verified-read';

export interface VerifiedCopyInput extends VerifiedReadInput {
  target: { store: RestoreTargetStore; ref: BlobRef };
}

export interface VerifiedCopyOptions extends VerifiedReadOptions {
  /** Uploads in flight while later chunks are verified. Default 4. */
  maxUploadsInFlight?: number;
}

export interface VerifiedCopyResult {
  /** Bytes read from the source (whole blocks around its allocated ranges). */
  bytesRead: number;
  /** Bytes written to the target. */
  bytesCopied: number;
  /** Every block of the disk: the ones read and hashed, and the unread ones checked to be recorded zero. */
  blocksVerified: number;
  uploads: number;
}

export async function copyDiskVerified(input: VerifiedCopyInput, options: VerifiedCopyOptions = {}): Promise<VerifiedCopyResult> {
  const maxUploads = Math.max(1, options.maxUploadsInFlight ?? 4);
  const signal = options.abortSignal;
  const blockSize = input.sums.blockSize;
  const uploads: Array<Promise<void>> = [];
  let bytesCopied = 0;
  let uploadCount = 0;

  try {
    const read = await readDiskVerified(input, options, async (chunk, data, zeroBlocks) => {
      for (const piece of uploadPiecesFor(chunk, zeroBlocks, blockSize)) {
        const bytes = data.subarray(piece.start - chunk.start, piece.end - chunk.start);
        const upload = input.target.store.uploadPages(input.target.ref, piece.start, bytes, {
          transactionalContentMD5: createHash('md5').update(bytes).digest(),
          abortSignal: signal,
        });
        upload.catch(ignore); // awaited below; this only keeps an early rejection from being "unhandled"
        uploads.push(upload);
        bytesCopied += bytes.length;
        uploadCount += 1;
        while (uploads.length >= maxUploads) await uploads.shift();
      }
    });
    await Promise.all(uploads);
    return { bytesRead: read.bytesRead, bytesCopied, blocksVerified: read.blocksVerified, uploads: uploadCount };
  } catch (err) {
    // Let every started upload settle so none writes after the caller deletes the partial target.
    await Promise.allSettled(uploads);
    throw err;
  }
}

function ignore(): void {}
