/**
 * What the backup engine needs from a storage account beyond `DiskStore`: page-range listings
 * and diffs limited to a segment, Clear Pages, resize, server-side copy, listings with metadata
 * (sweepers, instant snapshots) and the account's endpoint (the capability probe caches by it).
 * Implementation: `azure/blob-page-store.ts`. The same interface serves the source and the vault account.
 */
import type { ByteRange, PageRangesDiff } from '../engine/domain/page-ranges';
import type { AbortOptions, BlobRef, DiskStore } from './disk-store';

export interface ListedBlob {
  container: string;
  name: string;
  /** Set for snapshot entries (listings with `includeSnapshots`). */
  snapshot?: string;
  size: number;
  createdOn?: Date;
  lastModified?: Date;
  metadata: Record<string, string>;
}

export interface ListBlobsOptions extends AbortOptions {
  prefix?: string;
  /** Also list snapshots (each as its own entry, `snapshot` set). */
  includeSnapshots?: boolean;
}

export interface PageBlobStore extends DiskStore {
  /** The account's blob endpoint, e.g. `http://127.0.0.1:10000/devstoreaccount1` (no query string). */
  readonly endpoint: string;
  /** Allocated ranges within `range` (default: the whole blob), normalized, half-open. */
  listAllocatedRanges(ref: BlobRef, range?: ByteRange, options?: AbortOptions): Promise<ByteRange[]>;
  /**
   * Changed and cleared ranges of `ref` (a snapshot or the base blob) since `previousSnapshot`,
   * within `range`. What comes back is only a true diff when the probe says so.
   */
  getPageRangesDiff(ref: BlobRef, previousSnapshot: string, range?: ByteRange, options?: AbortOptions): Promise<PageRangesDiff>;
  /** Clear Pages over a page-aligned range (reads as zeros, unallocated afterwards). */
  clearPages(ref: BlobRef, range: ByteRange, options?: AbortOptions): Promise<void>;
  /** Sets a page blob's size, keeping its content up to the smaller size. */
  resizePageBlob(ref: BlobRef, size: number, options?: AbortOptions): Promise<void>;
  /**
   * Server-side copy of `source` (blob or snapshot, same account) onto `target`, waiting until the
   * service reports it complete. Whether the copy is point-in-time and isolated: ask the probe.
   */
  copyBlob(source: BlobRef, target: BlobRef, options?: AbortOptions & { metadata?: Record<string, string> }): Promise<void>;
  /** Replaces the blob's metadata (base blob only). */
  setBlobMetadata(ref: BlobRef, metadata: Record<string, string>, options?: AbortOptions): Promise<void>;
  /** The blob's URL without any query string (no SAS, no snapshot): safe for manifests and logs. */
  blobUrl(ref: BlobRef): string;
  listContainers(options?: AbortOptions): AsyncIterable<string>;
  /** Blobs (and optionally snapshots) of one container with their metadata. Missing container: nothing. */
  listBlobs(container: string, options?: ListBlobsOptions): AsyncIterable<ListedBlob>;
}
