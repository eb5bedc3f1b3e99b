/**
 * The engine's one seam to the disks it backs up: a source-disk backend opens point-in-time views of a
 * VM's disks taken together, and reads them. Backends: page blobs in a storage account (page-blob/),
 * managed disks through Microsoft.Compute (managed-disk/), memory (memory/, for tests). The registry picks one
 * by the disks' kind (registry.ts); the engine never asks which it got.
 *
 * Lifecycle of a view: `openViews` (all disks of a VM at one point in time) → `allocatedRanges`,
 * `changedRanges`, `read` (any process, any time: the handle is JSON and survives crashes; a backend
 * obtains access to a view when it reads and caches it per process) → `release` (ends every access;
 * idempotent; the engine always calls it, also on failure) → the view stays as the point's instant-restore
 * tier until `deleteViews`. `discardViews` removes whatever an `openViews` of a request left (a failed or
 * cancelled backup, whose handles may never have reached the orchestration).
 *
 * Failures: a view that no longer exists → KluisSourceViewNotFound; access that expired or was revoked →
 * KluisSourceViewAccessExpired. `test/engine/source-disk-conformance.ts` holds every backend to this.
 *
 * Staging copies and blob-level access (server-side copies within a storage account) are page-blob
 * capabilities: optional members, asked for, never assumed.
 */
import type { DiscoveredVmDisk, VmDiskRequest } from '../domain/backup-job';
import type { DiskKind, DiskView, ViewState } from '../domain/disk-view';
import type { ByteRange, PageRangesDiff } from '../domain/page-ranges';
import type { AbortOptions, BlobRef, DiskStore } from '../../stores/disk-store';

/** What a backend can do, as measured where it runs (the page-blob backend probes its account). Travels with a job. */
export interface SourceCapabilities {
  /** `changedRanges` returns exactly the changed and cleared ranges between two views of a disk. */
  trueDiff: boolean;
  /** Server-side copies of views are point-in-time and write-isolated (staging and seeding may copy). */
  serverSideCopySafe: boolean;
}

export interface OpenViewsRequest {
  itemId: string;
  /** The recovery point the views are for: a backend tags its views with it, so `discardViews` finds them. */
  recoveryPointId: string;
  disks: readonly DiscoveredVmDisk[];
  /** ISO time recorded on the views. */
  createdAt: string;
  /**
   * Where a backend that has a choice keeps the views (managed disks: the instant-restore resource group,
   * from a vault policy's `instantRPDetails`). Absent: the backend's default.
   */
  placement?: ViewPlacement;
}

export interface ViewPlacement {
  resourceGroupPrefix?: string;
  resourceGroupSuffix?: string;
}

/** The key of one disk's staging copy in one job. */
export interface StagingKey {
  itemId: string;
  jobId: string;
  lun: number;
}

/** Page-blob staging (Azure Backup stages Premium disks): a copy of a view next to the disk, read instead of it. */
export interface StagingSupport {
  /** Copies the view into its staging blob (server-side when `capabilities.serverSideCopySafe`); idempotent. */
  stage(view: DiskView, key: StagingKey, capabilities: SourceCapabilities): Promise<{ view: DiskView; method: 'server-copy' | 'streamed'; bytesCopied: number }>;
  /** Deletes the staging copy of `key` made from `view`; succeeds when it is gone already. */
  unstage(view: DiskView, key: StagingKey): Promise<void>;
  /** Deletes staging copies a crashed job left, created before `olderThan`. */
  sweep(olderThan: Date): Promise<{ deleted: number }>;
}

/** A view that is a blob in a storage account the engine can address (server-side copies within one account). */
export interface BlobOfView {
  /** The account's blob endpoint (as `PageBlobStore.endpoint`). */
  endpoint: string;
  store: DiskStore;
  ref: BlobRef;
}

export interface SourceDiskBackend {
  readonly kind: DiskKind;
  /** What this backend can do here (cached after the first call). */
  capabilities(options?: AbortOptions): Promise<SourceCapabilities>;
  /** Checks the disks before anything is opened (they exist, are of a supported size and format). */
  discover(disks: readonly VmDiskRequest[]): Promise<DiscoveredVmDisk[]>;
  /** Point-in-time views of all the disks, taken together; all or nothing. In the order of `request.disks`. */
  openViews(request: OpenViewsRequest): Promise<DiskView[]>;
  describeView(view: DiskView, options?: AbortOptions): Promise<ViewState>;
  /** The view's allocated (written) ranges within `range` (default: all), ascending, page-aligned. */
  allocatedRanges(view: DiskView, range?: ByteRange, options?: AbortOptions): Promise<ByteRange[]>;
  /**
   * Ranges written or cleared in `view` since `earlier` (a view of the same disk), within `range`. Exact
   * only where `capabilities().trueDiff`; the engine asks only then, and only for views of one `diskId`.
   */
  changedRanges(earlier: DiskView, view: DiskView, range?: ByteRange, options?: AbortOptions): Promise<PageRangesDiff>;
  /** Exactly `count` bytes from `offset`. */
  read(view: DiskView, offset: number, count: number, options?: AbortOptions): Promise<Buffer>;
  /** Ends every access to the views (the views stay). Idempotent. */
  release(views: readonly DiskView[]): Promise<void>;
  /** Deletes views kept as an instant-restore tier; views already gone are fine. */
  deleteViews(views: readonly DiskView[]): Promise<void>;
  /** Deletes every view an `openViews` of this request may have created (whatever attempt made it). */
  discardViews(request: Omit<OpenViewsRequest, 'createdAt'>): Promise<{ deleted: number }>;
  /** Page blobs: staging copies of views. */
  readonly staging?: StagingSupport;
  /** Page blobs: the view as a blob in a storage account (for server-side copies into the same account). */
  blobOf?(view: DiskView): BlobOfView | undefined;
}
