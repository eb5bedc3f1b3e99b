/**
 * What "restore disks" needs from the target storage account: create blobs only where none
 * exists (by upload or by a server-side copy within the account), write pages with a transactional
 * MD5, read a restored disk back, and remove what it wrote. Implementation:
 * `azure/blob-restore-target-store.ts`.
 *
 * Conventions as in `disk-store.ts`: options bags with `abortSignal`; `deleteBlob` succeeds when
 * the blob is already gone.
 */
import type { AbortOptions, BlobRef, DiskStore, PageRange } from './disk-store';
import type { ListBlobsOptions, ListedBlob } from './page-blob-store';

export interface TargetAccountInfo {
  /** e.g. `Standard_LRS`, `Premium_LRS`; undefined when the account would not say. */
  skuName?: string;
  /** e.g. `StorageV2`, `BlockBlobStorage`. */
  accountKind?: string;
  /** True when page blobs in this account take a premium tier (P4…P80). */
  supportsPremiumPageBlobTiers: boolean;
}

export interface TargetBlobProperties {
  size: number;
  etag?: string;
  metadata: Record<string, string>;
  /** `P10` etc. on a premium account. */
  accessTier?: string;
}

export interface CreateTargetPageBlobOptions extends AbortOptions {
  /** Premium page blob tier; only on accounts whose `supportsPremiumPageBlobTiers` is true. */
  premiumTier?: string;
  metadata?: Record<string, string>;
}

export interface CreateTargetBlockBlobOptions extends AbortOptions {
  contentType?: string;
  metadata?: Record<string, string>;
}

/** `created: false` means a blob of that name already existed and nothing was written. */
export type CreateIfNotExistsResult = { created: true; etag?: string } | { created: false };

export interface RestoreTargetStore {
  /** The account's blob endpoint, e.g. `http://127.0.0.1:10000/devstoreaccount1` (no query string): tells same-account sources apart. */
  readonly endpoint: string;
  /** The blob's URL without any credential (safe to log and return). */
  blobUrl(ref: BlobRef): string;
  getAccountInfo(options?: AbortOptions): Promise<TargetAccountInfo>;
  createContainerIfNotExists(container: string, options?: AbortOptions): Promise<void>;
  /** Properties, or undefined when the blob (or its container) does not exist. */
  getBlobProperties(ref: BlobRef, options?: AbortOptions): Promise<TargetBlobProperties | undefined>;
  /** Creates an empty page blob of `size` bytes unless a blob of that name exists (`If-None-Match: *`). */
  createPageBlobIfNotExists(ref: BlobRef, size: number, options?: CreateTargetPageBlobOptions): Promise<CreateIfNotExistsResult>;
  /**
   * Server-side copy of `source` (a blob or snapshot in this same account) onto `target` unless a blob of
   * that name exists (`If-None-Match: *`), waiting until the service reports it complete. A copy that
   * fails after it started is aborted and its target deleted before the error is thrown.
   */
  copyBlobIfNotExists(source: BlobRef, target: BlobRef, options?: CreateTargetPageBlobOptions): Promise<CreateIfNotExistsResult>;
  /** Writes `data` (whole 512-byte pages, at most 4 MiB) at `offset`; the MD5 is checked by the service. */
  uploadPages(ref: BlobRef, offset: number, data: Uint8Array, options: { transactionalContentMD5: Uint8Array } & AbortOptions): Promise<void>;
  /** Allocated (written) page ranges of a page blob in ascending order (as `DiskStore.listPageRanges`). */
  listPageRanges(ref: BlobRef, options?: AbortOptions): AsyncIterable<PageRange>;
  /** Exactly `count` bytes from `offset` (as `DiskStore.readRange`). */
  readRange(ref: BlobRef, offset: number, count: number, options?: AbortOptions): Promise<Buffer>;
  /** Writes a block blob in one request unless a blob of that name exists (`If-None-Match: *`). */
  createBlockBlobIfNotExists(
    ref: BlobRef,
    content: Uint8Array | string,
    options?: CreateTargetBlockBlobOptions,
  ): Promise<CreateIfNotExistsResult>;
  /** Replaces the blob's metadata; with `ifMatch`, only while the blob still has that ETag. */
  setMetadata(ref: BlobRef, metadata: Record<string, string>, options?: AbortOptions & { ifMatch?: string }): Promise<void>;
  /** Deletes the blob and its snapshots; with `ifMatch`, only while it still has that ETag. Gone already: succeeds. */
  deleteBlob(ref: BlobRef, options?: AbortOptions & { ifMatch?: string }): Promise<void>;
  /** The container's blobs with their metadata (sweepers); a missing container lists nothing. */
  listBlobs(container: string, options?: ListBlobsOptions): AsyncIterable<ListedBlob>;
}

/**
 * What a restore may learn about the accounts it reads from, to restore a disk by a server-side copy
 * into the target account. Implementation: `azure/server-side-copy-facts.ts` (the capability probe).
 */
export interface ServerSideCopyFacts {
  /** The blob endpoint of the account behind `store` (as `PageBlobStore.endpoint`); undefined when unknown. */
  endpointOf(store: DiskStore): string | undefined;
  /** Whether server-side copies in the account behind `store` are point-in-time and write-isolated. */
  serverSideCopySafe(store: DiskStore): Promise<boolean>;
}
