/**
 * The page-blob backend: VM disks that are fixed-VHD page blobs in a storage account (unmanaged disks).
 * A view is a blob snapshot (instant-snapshots.ts) and its handle is `{blobUrl, snapshot}` (the URL
 * without any query string), exactly what a recovery point's manifest has always recorded; reads resolve
 * the URL to one of the accounts this backend was given (the source account first). Access never expires
 * with an account key; with a SAS connection string it does, and Azure Storage's 403 says so.
 *
 * Capabilities come from the capability probe (true page-range diff, safe server-side copies). Staging
 * (Premium disks) and blob-level access (seeding the vault replica, restoring by a server-side copy) are
 * this backend's extras. `release` has nothing to end.
 */
import { errors, isKluisErrorLike } from '../../../domain/errors';
import type { DiscoveredVmDisk, VmDiskRequest } from '../../domain/backup-job';
import type { DiskView, ViewState } from '../../domain/disk-view';
import type { ByteRange, PageRangesDiff } from '../../domain/page-ranges';
import type { AbortOptions, BlobRef } from '../../../stores/disk-store';
import type { PageBlobStore } from '../../../stores/page-blob-store';
import type { EngineLogger } from '../../engine-deps';
import type { BlobOfView, OpenViewsRequest, SourceCapabilities, SourceDiskBackend, StagingKey, StagingSupport } from '../source-disk';
import { probeStoreCapabilities } from './capability-probe';
import { discoverVmDisks } from './discover-disks';
import { EndpointDiskLocator, type LocatedDisk } from './endpoint-disk-locator';
import { deleteInstantSnapshots, deleteInstantSnapshotWithTwins, snapshotDisks } from './instant-snapshots';
import type { PageBlobSourceDeps } from './page-blob-deps';
import { deleteStagingBlob, stageDisk, sweepStagingBlobs } from './staging';

export interface PageBlobBackendOptions {
  /** The account holding the VMs' disks: they are discovered, snapshotted and staged there. */
  source: PageBlobStore;
  /** Further accounts whose snapshots may be read or deleted (points of disks that lived there). */
  otherAccounts?: readonly PageBlobStore[];
  /** A container the capability probe may use for scratch blobs in the source account. */
  probeContainer?: string;
  clock?: () => Date;
  log?: EngineLogger;
}

/** A page-blob view's handle: the blob's URL without a query string, and the snapshot (absent for a staging blob). */
export interface PageBlobHandle {
  blobUrl: string;
  snapshot?: string;
}

const DEFAULT_PROBE_CONTAINER = 'kluis-probe';
const silent: EngineLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export class PageBlobBackend implements SourceDiskBackend {
  readonly kind = 'pageBlob' as const;
  readonly staging: StagingSupport;
  private readonly deps: PageBlobSourceDeps;
  private readonly locator: EndpointDiskLocator;
  private readonly probeContainer: string;

  constructor(options: PageBlobBackendOptions) {
    this.deps = { source: options.source, clock: options.clock ?? (() => new Date()), log: options.log ?? silent };
    this.locator = EndpointDiskLocator.of(options.source, ...(options.otherAccounts ?? []));
    this.probeContainer = options.probeContainer ?? DEFAULT_PROBE_CONTAINER;
    this.staging = {
      stage: (view, key, capabilities) => this.stage(view, key, capabilities),
      unstage: (view, key) => this.unstage(view, key),
      sweep: async (olderThan) => ({ deleted: (await sweepStagingBlobs(this.deps, { olderThan })).deleted.length }),
    };
  }

  async capabilities(): Promise<SourceCapabilities> {
    const probed = await probeStoreCapabilities(this.deps.source, { scratchContainer: this.probeContainer });
    return { trueDiff: probed.trueDiff, serverSideCopySafe: probed.serverSideCopySafe };
  }

  discover(disks: readonly VmDiskRequest[]): Promise<DiscoveredVmDisk[]> {
    return discoverVmDisks(this.deps, { disks });
  }

  async openViews(request: OpenViewsRequest): Promise<DiskView[]> {
    const disks = request.disks.map((disk) => {
      if (!('container' in disk)) throw errors.sourceKindNotSupported(disk.kind, `disk lun ${disk.lun} is not a page blob`);
      return { lun: disk.lun, container: disk.container, blob: disk.blob };
    });
    const snapshots = await snapshotDisks(this.deps, { itemId: request.itemId, recoveryPointId: request.recoveryPointId, disks, createdAt: request.createdAt });
    return snapshots.map((s) => {
      const blobUrl = this.deps.source.blobUrl({ container: s.container, blob: s.blob });
      return { kind: this.kind, lun: s.lun, handle: { blobUrl, snapshot: s.snapshot }, sizeBytes: s.sizeBytes, diskId: blobUrl, createdAt: s.createdAt };
    });
  }

  async describeView(view: DiskView, options: AbortOptions = {}): Promise<ViewState> {
    const { blobUrl } = handleOf(view);
    const located = this.locate(view);
    if (located === undefined) return { status: 'unreachable', reason: `no configured storage account serves ${blobUrl}` };
    const props = await this.call(view, () => located.store.getBlobProperties(located.ref, options));
    return props === undefined ? { status: 'gone' } : { status: 'present', sizeBytes: props.size };
  }

  allocatedRanges(view: DiskView, range?: ByteRange, options: AbortOptions = {}): Promise<ByteRange[]> {
    const { store, ref } = this.require(view);
    return this.call(view, () => store.listAllocatedRanges(ref, range, options));
  }

  changedRanges(earlier: DiskView, view: DiskView, range?: ByteRange, options: AbortOptions = {}): Promise<PageRangesDiff> {
    const { store, ref } = this.require(view);
    const previous = handleOf(earlier);
    if (previous.blobUrl !== handleOf(view).blobUrl || previous.snapshot === undefined) {
      throw errors.invalidRequest('earlier', `Changed ranges of disk lun ${view.lun} need an earlier snapshot of the same blob.`);
    }
    return this.call(view, () => store.getPageRangesDiff(ref, previous.snapshot as string, range, options));
  }

  read(view: DiskView, offset: number, count: number, options: AbortOptions = {}): Promise<Buffer> {
    const { store, ref } = this.require(view);
    return this.call(view, () => store.readRange(ref, offset, count, options));
  }

  /** Snapshots are read with the account's own credentials: there is no access to end. */
  async release(): Promise<void> {}

  async deleteViews(views: readonly DiskView[]): Promise<void> {
    await settleAll(
      views.map(async (view) => {
        const located = this.locate(view);
        if (located === undefined) {
          throw errors.invalidConfiguration('sources', `no configured storage account holds the source disk of lun ${view.lun}`);
        }
        if (located.ref.snapshot === undefined) return;
        await deleteInstantSnapshotWithTwins(located.store, { ...located.ref, snapshot: located.ref.snapshot });
      }),
    );
  }

  async discardViews(request: Omit<OpenViewsRequest, 'createdAt'>): Promise<{ deleted: number }> {
    const containers = [...new Set(request.disks.flatMap((disk) => ('container' in disk ? [disk.container] : [])))];
    if (containers.length === 0) return { deleted: 0 };
    const { deleted } = await deleteInstantSnapshots(this.deps, { itemId: request.itemId, recoveryPointId: request.recoveryPointId, containers });
    return { deleted: deleted.length };
  }

  blobOf(view: DiskView): BlobOfView | undefined {
    const located = this.locate(view);
    return located && { endpoint: located.store.endpoint, store: located.store, ref: located.ref };
  }

  private async stage(view: DiskView, key: StagingKey, capabilities: SourceCapabilities): Promise<{ view: DiskView; method: 'server-copy' | 'streamed'; bytesCopied: number }> {
    const { ref } = this.requireInSource(view);
    const staged = await this.call(view, () =>
      stageDisk(this.deps, { itemId: key.itemId, jobId: key.jobId, lun: key.lun, snapshot: ref, sizeBytes: view.sizeBytes, capabilities }),
    );
    const stagedView: DiskView = { ...view, handle: { blobUrl: this.deps.source.blobUrl(staged.staging) } };
    return { view: stagedView, method: staged.method, bytesCopied: staged.bytesCopied };
  }

  private async unstage(view: DiskView, key: StagingKey): Promise<void> {
    const { ref } = this.requireInSource(view);
    await deleteStagingBlob(this.deps, { itemId: key.itemId, jobId: key.jobId, lun: key.lun, container: ref.container });
  }

  private locate(view: DiskView): LocatedDisk | undefined {
    const { blobUrl, snapshot } = handleOf(view);
    const located = this.locator.locate(blobUrl);
    return located && { store: located.store, ref: snapshot === undefined ? located.ref : { ...located.ref, snapshot } };
  }

  private require(view: DiskView): LocatedDisk {
    const located = this.locate(view);
    if (located === undefined) {
      throw errors.invalidConfiguration('sources', `no configured storage account serves the source disk of lun ${view.lun} (${handleOf(view).blobUrl})`);
    }
    return located;
  }

  /** Staging copies live next to the disk, in the source account this backend writes to. */
  private requireInSource(view: DiskView): LocatedDisk & { ref: BlobRef } {
    const located = this.require(view);
    if (located.store !== this.deps.source) {
      throw errors.invalidRequest('view', `Disk lun ${view.lun} is not in the source storage account (${this.deps.source.endpoint}); it cannot be staged there.`);
    }
    return located;
  }

  /** A snapshot that is gone, or access that was refused, as the seam's codes. */
  private async call<T>(view: DiskView, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      const where = describeHandle(view);
      if (isKluisErrorLike(err) && err.code === 'KluisBlobNotFound') throw errors.sourceViewNotFound(view.lun, `${where} was not found`, err);
      if (statusOf(err) === 403) throw errors.sourceViewAccessExpired(view.lun, `the storage account refused ${where} (${codeOf(err)})`, err);
      throw err;
    }
  }
}

/** The handle of a page-blob view; KluisInvalidRequest for anything else. */
export function handleOf(view: DiskView): PageBlobHandle {
  const { blobUrl, snapshot } = view.handle;
  if (view.kind !== 'pageBlob' || typeof blobUrl !== 'string' || (snapshot !== undefined && typeof snapshot !== 'string')) {
    throw errors.invalidRequest('view', `The view of disk lun ${view.lun} is not a page-blob view.`);
  }
  return snapshot === undefined ? { blobUrl } : { blobUrl, snapshot };
}

function describeHandle(view: DiskView): string {
  const { blobUrl, snapshot } = handleOf(view);
  return snapshot === undefined ? blobUrl : `${blobUrl}?snapshot=${snapshot}`;
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number } | undefined)?.statusCode;
}

function codeOf(err: unknown): string {
  return (err as { code?: string } | undefined)?.code ?? 'no code';
}

/** Like Promise.all, but waits for every request before rethrowing the first failure. */
async function settleAll(work: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
