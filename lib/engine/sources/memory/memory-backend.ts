/**
 * The memory backend: disks held in this process, for fast tests of the engine and as the reference the
 * conformance suite holds the other backends to. A view is a copy of the disk (bytes and, per 512-byte page,
 * the generation of its last write), so changed and cleared ranges between two views are exact. Reading a
 * view takes access to it, `release` ends it (tests assert nothing is left held), and failures are made to
 * order: a view that disappears (`removeView`), access that expires (`expireAccess`).
 *
 * Handles: `{disk, view}` (the disk's id and the view's id). Not shared between processes.
 */
import { errors } from '../../../domain/errors';
import type { DiscoveredVmDisk, VmDiskRequest } from '../../domain/backup-job';
import type { DiskView, ViewState } from '../../domain/disk-view';
import { AZURE_PAGE_SIZE as PAGE, intersectRanges, type ByteRange, type PageRangesDiff } from '../../domain/page-ranges';
import type { OpenViewsRequest, SourceCapabilities, SourceDiskBackend } from '../source-disk';

interface DiskImage {
  data: Buffer;
  /** Per page: 0 = never written or cleared (unallocated), else the write that last touched it. */
  generations: Uint32Array;
}

interface StoredView extends DiskImage {
  disk: string;
  itemId: string;
  recoveryPointId: string;
  lun: number;
}

export interface MemoryBackendOptions {
  /** Default: a true diff, no server-side copies. */
  capabilities?: Partial<SourceCapabilities>;
}

export class MemoryDiskBackend implements SourceDiskBackend {
  readonly kind = 'memory' as const;
  private readonly disks = new Map<string, DiskImage>();
  private readonly views = new Map<string, StoredView>();
  /** Views read since their last release. */
  private readonly held = new Set<string>();
  private readonly expired = new Set<string>();
  private generation = 0;
  private viewCount = 0;
  private readonly capabilityFacts: SourceCapabilities;

  constructor(options: MemoryBackendOptions = {}) {
    this.capabilityFacts = { trueDiff: true, serverSideCopySafe: false, ...options.capabilities };
  }

  // ---- the disks (what a VM writes) --------------------------------------------------------------

  /** A new disk of `sizeBytes` (a multiple of 512) reading as zeros, nothing allocated. */
  createDisk(id: string, sizeBytes: number): void {
    if (sizeBytes <= 0 || sizeBytes % PAGE !== 0) throw new RangeError(`A disk is a positive multiple of ${PAGE} bytes, not ${sizeBytes}.`);
    this.disks.set(id, { data: Buffer.alloc(sizeBytes), generations: new Uint32Array(sizeBytes / PAGE) });
  }

  /** Writes whole pages at `offset` (they become allocated). */
  write(id: string, offset: number, data: Uint8Array): void {
    const disk = this.diskOf(id);
    checkPages(offset, data.length, disk.data.length);
    disk.data.set(data, offset);
    const generation = ++this.generation;
    disk.generations.fill(generation, offset / PAGE, (offset + data.length) / PAGE);
  }

  /** Clears whole pages (they read as zeros and are no longer allocated). */
  clear(id: string, offset: number, length: number): void {
    const disk = this.diskOf(id);
    checkPages(offset, length, disk.data.length);
    disk.data.fill(0, offset, offset + length);
    disk.generations.fill(0, offset / PAGE, (offset + length) / PAGE);
  }

  /** Every byte of the disk as it is now. */
  contents(id: string): Buffer {
    return Buffer.from(this.diskOf(id).data);
  }

  // ---- failures and checks for tests -------------------------------------------------------------

  /** The view disappears (as a snapshot deleted behind the engine's back). */
  removeView(view: DiskView): void {
    this.views.delete(viewKey(view));
  }

  /** Access to the view expires: reads fail with KluisSourceViewAccessExpired until it is released. */
  expireAccess(view: DiskView): void {
    this.expired.add(viewKey(view));
  }

  /** Views read and not released since. */
  heldViews(): string[] {
    return [...this.held].sort();
  }

  /** Every view that exists, as `disk:view`. */
  viewIds(): string[] {
    return [...this.views.keys()].sort();
  }

  // ---- the seam ----------------------------------------------------------------------------------

  async capabilities(): Promise<SourceCapabilities> {
    return { ...this.capabilityFacts };
  }

  async discover(disks: readonly VmDiskRequest[]): Promise<DiscoveredVmDisk[]> {
    if (disks.length === 0) throw errors.invalidRequest('disks', 'A VM backup needs at least one disk.');
    return disks.map((disk) => {
      if (!('id' in disk) || disk.kind !== 'memory') throw errors.sourceKindNotSupported(disk.kind ?? 'pageBlob', `disk lun ${disk.lun} is not a memory disk`);
      const image = this.disks.get(disk.id);
      if (image === undefined) throw errors.sourceDiskNotFound('memory', disk.id);
      return { ...disk, kind: 'memory', name: disk.name ?? disk.id, sizeBytes: image.data.length };
    });
  }

  async openViews(request: OpenViewsRequest): Promise<DiskView[]> {
    const images = request.disks.map((disk) => {
      const id = 'id' in disk ? disk.id : undefined;
      const image = id === undefined ? undefined : this.disks.get(id);
      if (id === undefined || image === undefined) throw errors.sourceDiskNotFound('memory', id ?? `lun ${disk.lun}`);
      return { id, lun: disk.lun, image };
    });
    return images.map(({ id, lun, image }) => {
      const view = `${request.itemId}/${request.recoveryPointId}/${lun}#${++this.viewCount}`;
      this.views.set(`${id}:${view}`, {
        disk: id,
        itemId: request.itemId,
        recoveryPointId: request.recoveryPointId,
        lun,
        data: Buffer.from(image.data),
        generations: Uint32Array.from(image.generations),
      });
      return { kind: this.kind, lun, handle: { disk: id, view }, sizeBytes: image.data.length, diskId: id, createdAt: request.createdAt };
    });
  }

  async describeView(view: DiskView): Promise<ViewState> {
    const stored = this.views.get(viewKey(view));
    return stored === undefined ? { status: 'gone' } : { status: 'present', sizeBytes: stored.data.length };
  }

  async allocatedRanges(view: DiskView, range?: ByteRange): Promise<ByteRange[]> {
    const stored = this.access(view);
    const allocated = pagesWhere(stored.generations.length, (page) => stored.generations[page] !== 0);
    return range === undefined ? allocated : intersectRanges(allocated, [range]);
  }

  async changedRanges(earlier: DiskView, view: DiskView, range?: ByteRange): Promise<PageRangesDiff> {
    const then = this.access(earlier);
    const now = this.access(view);
    if (then.disk !== now.disk) throw errors.invalidRequest('earlier', `Changed ranges of disk lun ${view.lun} need an earlier view of the same disk.`);
    const pages = Math.min(then.generations.length, now.generations.length);
    const changed = pagesWhere(now.generations.length, (page) => now.generations[page] !== 0 && (page >= pages || now.generations[page] !== then.generations[page]));
    const cleared = pagesWhere(pages, (page) => now.generations[page] === 0 && then.generations[page] !== 0);
    return range === undefined ? { changed, cleared } : { changed: intersectRanges(changed, [range]), cleared: intersectRanges(cleared, [range]) };
  }

  async read(view: DiskView, offset: number, count: number): Promise<Buffer> {
    const stored = this.access(view);
    if (offset < 0 || count < 0 || offset + count > stored.data.length) {
      throw errors.invalidRequest('range', `Bytes [${offset}, ${offset + count}) are outside the ${stored.data.length}-byte disk lun ${view.lun}.`);
    }
    return Buffer.from(stored.data.subarray(offset, offset + count));
  }

  async release(views: readonly DiskView[]): Promise<void> {
    for (const view of views) {
      this.held.delete(viewKey(view));
      this.expired.delete(viewKey(view));
    }
  }

  async deleteViews(views: readonly DiskView[]): Promise<void> {
    for (const view of views) {
      this.views.delete(viewKey(view));
      this.held.delete(viewKey(view));
    }
  }

  async discardViews(request: Omit<OpenViewsRequest, 'createdAt'>): Promise<{ deleted: number }> {
    const disks = new Set(request.disks.flatMap((disk) => ('id' in disk ? [disk.id] : [])));
    let deleted = 0;
    for (const [key, stored] of this.views) {
      if (stored.itemId !== request.itemId || stored.recoveryPointId !== request.recoveryPointId || !disks.has(stored.disk)) continue;
      this.views.delete(key);
      this.held.delete(key);
      deleted += 1;
    }
    return { deleted };
  }

  private diskOf(id: string): DiskImage {
    const disk = this.disks.get(id);
    if (disk === undefined) throw new RangeError(`No memory disk '${id}'.`);
    return disk;
  }

  /** The view, with access taken (as a SAS granted on first use). */
  private access(view: DiskView): StoredView {
    const key = viewKey(view);
    const stored = this.views.get(key);
    if (stored === undefined) throw errors.sourceViewNotFound(view.lun, `the memory view ${key} was deleted`);
    if (this.expired.has(key)) throw errors.sourceViewAccessExpired(view.lun, `access to the memory view ${key} expired`);
    this.held.add(key);
    return stored;
  }
}

function viewKey(view: DiskView): string {
  const { disk, view: id } = view.handle;
  if (view.kind !== 'memory' || typeof disk !== 'string' || typeof id !== 'string') {
    throw errors.invalidRequest('view', `The view of disk lun ${view.lun} is not a memory view.`);
  }
  return `${disk}:${id}`;
}

function checkPages(offset: number, length: number, size: number): void {
  if (offset % PAGE !== 0 || length % PAGE !== 0 || offset < 0 || offset + length > size) {
    throw new RangeError(`[${offset}, ${offset + length}) is not whole pages within the ${size}-byte disk.`);
  }
}

/** The pages passing `test`, as ascending runs. */
function pagesWhere(pages: number, test: (page: number) => boolean): ByteRange[] {
  const ranges: Array<{ start: number; end: number }> = [];
  for (let page = 0; page < pages; page++) {
    if (!test(page)) continue;
    const last = ranges.at(-1);
    if (last !== undefined && last.end === page * PAGE) last.end += PAGE;
    else ranges.push({ start: page * PAGE, end: (page + 1) * PAGE });
  }
  return ranges;
}
