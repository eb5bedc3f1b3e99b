/**
 * The verified copy of one disk of a recovery point: reads only allocated blocks from the chosen tier,
 * checks every 64 KiB block against the point's checksums (zero blocks must read as zero; `verified-read.ts`),
 * and writes the allocated parts to the target with a transactional MD5 in Put Pages of at most 4 MiB,
 * reads running ahead of uploads, memory bounded. The target is a page blob (the restore to a storage account)
 * or a managed disk created for upload, written through its Write SAS (`restore-managed-disks.ts`).
 */
import { createHash } from 'node:crypto';
import { uploadPiecesFor } from '../domain/restore-plan';
import type { BlobRef } from '../../stores/disk-store';
import type { SasPageWriter } from '../../stores/managed-disk-compute';
import type { RestoreTargetStore } from '../../stores/restore-target-store';
import { readDiskVerified, type VerifiedReadInput, type VerifiedReadOptions } from './verified-read';

/** Where verified pages are written: a page blob in the target account, or a managed disk's Write SAS URL. */
export type VerifiedCopyTarget = { store: RestoreTargetStore; ref: BlobRef } | { sas: SasPageWriter; url: string };

export interface VerifiedCopyInput extends VerifiedReadInput {
  target: VerifiedCopyTarget;
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
        const upload = writePages(input.target, piece.start, bytes, createHash('md5').update(bytes).digest(), signal);
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

function writePages(target: VerifiedCopyTarget, offset: number, bytes: Buffer, md5: Buffer, abortSignal: AbortSignal | undefined): Promise<void> {
  if ('sas' in target) return target.sas.uploadPages(target.url, offset, bytes, md5, { abortSignal });
  return target.store.uploadPages(target.ref, offset, bytes, { transactionalContentMD5: md5, abortSignal });
}

function ignore(): void {}
