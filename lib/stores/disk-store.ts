/**
 * What the backup slice needs from blob storage holding disks (the source account) or replicas
 * and manifests (the vault account). Implementations: `azure/blob-disk-store.ts`.
 *
 * Conventions (Azure SDK guidelines): options bags with `abortSignal`; `delete…` succeeds when the
 * thing is already gone; lists are async iterables; a missing blob read throws KluisBlobNotFound.
 */
import type { PageRange } from '../engine/domain/backup-job';
import type { BlobRef } from '../engine/domain/backup-job';
export type { BlobRef };

export type { PageRange };


export type BlobType = 'PageBlob' | 'BlockBlob' | 'AppendBlob';

export interface DiskBlobProperties {
  size: number;
  blobType: BlobType;
  etag?: string;
  lastModified?: Date;
  metadata: Record<string, string>;
}

export interface AbortOptions {
  abortSignal?: AbortSignal;
}

export interface UploadPagesOptions extends AbortOptions {
  /** MD5 of `data`; the service rejects the write if the bytes it received differ. Required. */
  transactionalContentMD5: Uint8Array;
}

export interface WriteBlockBlobOptions extends AbortOptions {
  contentType?: string;
  metadata?: Record<string, string>;
}

export interface DiskStore {
  /** Properties of a blob or snapshot, or undefined when it (or its container) does not exist. */
  getBlobProperties(ref: BlobRef, options?: AbortOptions): Promise<DiskBlobProperties | undefined>;
  /** The last 512 bytes of a blob of `blobSize` bytes (where a fixed VHD keeps its footer). */
  readFooter(ref: BlobRef, blobSize: number, options?: AbortOptions): Promise<Buffer>;
  /** Takes a point-in-time snapshot; returns its id. */
  createSnapshot(ref: BlobRef, options?: AbortOptions & { metadata?: Record<string, string> }): Promise<string>;
  /** Exactly `count` bytes from `offset`. */
  readRange(ref: BlobRef, offset: number, count: number, options?: AbortOptions): Promise<Buffer>;
  /** Allocated (written) page ranges in ascending order. */
  listPageRanges(ref: BlobRef, options?: AbortOptions): AsyncIterable<PageRange>;
  createContainerIfNotExists(container: string, options?: AbortOptions): Promise<void>;
  /** Creates the page blob, or resets an existing one to `size` bytes of zeros (its snapshots stay). */
  createPageBlob(ref: BlobRef, size: number, options?: AbortOptions & { metadata?: Record<string, string> }): Promise<void>;
  /** Writes `data` (a multiple of 512 bytes, at most 4 MiB) at `offset`. */
  uploadPages(ref: BlobRef, offset: number, data: Uint8Array, options: UploadPagesOptions): Promise<void>;
  /** Creates or replaces a block blob with `content` in one request. */
  writeBlockBlob(ref: BlobRef, content: Uint8Array | string, options?: WriteBlockBlobOptions): Promise<void>;
  /** Whole content of a (small) blob, e.g. a manifest. */
  readBlob(ref: BlobRef, options?: AbortOptions): Promise<Buffer>;
  /** Deletes one snapshot (`ref.snapshot` required); succeeds when it is already gone. */
  deleteSnapshot(ref: BlobRef, options?: AbortOptions): Promise<void>;
  /** Deletes a blob with its snapshots; succeeds when it is already gone. */
  deleteBlob(ref: BlobRef, options?: AbortOptions): Promise<void>;
}
