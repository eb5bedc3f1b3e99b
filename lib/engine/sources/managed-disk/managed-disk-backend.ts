/**
 * The managed-disk backend: VM disks that are managed disks, read through Microsoft.Compute as Azure Backup
 * reads them. Opening the views of a VM's disks takes ONE VM restore point (all included disks at one point
 * in time) in the VM's restore point collection in the instant-restore resource group
 * (restore-point-names.ts); each disk's view is its disk restore point, and its handle is that resource's
 * id (`{diskRestorePointId}`: no SAS, no key). The restore point is the point's instant-restore tier.
 *
 * Access: a read takes a Read SAS on the disk restore point (beginGetAccess, for `accessDurationInSeconds`),
 * cached in this process and granted again (endGetAccess first) before it would expire; a grant another
 * process (or a crashed one) left is ended and granted anew. `release` always calls endGetAccess, whatever
 * this process knows, so a later activity ends what a crashed one granted. A SAS that Compute revoked or
 * that expired early is refused by Storage (403): KluisSourceViewAccessExpired until the view is released
 * (as the seam says); a restarted process, which holds no SAS, grants again.
 *
 * Changed ranges: Get Page Ranges on the view's SAS with the earlier view's SAS as `x-ms-previous-snapshot-url`
 * (two SAS of one disk's snapshot family at once: within Azure's five). When Storage cannot diff (the earlier
 * snapshot is gone, the disk was recreated) the error is KluisSourceDiffUnavailable.
 *
 * Deleting views deletes their restore points (ending any access first): the views of one opening go together.
 */
import { randomBytes } from 'node:crypto';
import { errors, isKluisErrorLike } from '../../../domain/errors';
import type { DiscoveredVmDisk, VmDiskRequest } from '../../domain/backup-job';
import type { DiskView, ViewState } from '../../domain/disk-view';
import type { ByteRange, PageRangesDiff } from '../../domain/page-ranges';
import { VHD_FOOTER_SIZE } from '../../domain/vhd';
import type { AbortOptions } from '../../../stores/disk-store';
import type { CollectionRef, ManagedDiskCompute, ManagedDiskInfo, SasPageReader } from '../../../stores/managed-disk-compute';
import type { EngineLogger } from '../../engine-deps';
import type { OpenViewsRequest, SourceCapabilities, SourceDiskBackend } from '../source-disk';
import { instantRestoreResourceGroup, restorePointCollectionName, restorePointName, restorePointTag, type RestorePointPlacement } from './restore-point-names';

export interface ManagedDiskBackendOptions {
  compute: ManagedDiskCompute;
  sas: SasPageReader;
  /** How long a read SAS lasts; default 4 hours (a transfer's worth; it is granted again before it ends). */
  accessDurationInSeconds?: number;
  /** A cached SAS with less than this left is granted again before use; default 15 minutes (a quarter of a shorter duration). */
  renewBeforeExpiryInMs?: number;
  /** Where instant-restore points go unless a request says otherwise. */
  placement?: RestorePointPlacement;
  clock?: () => Date;
  log?: EngineLogger;
}

/** A managed-disk view's handle: its disk restore point's resource id. */
export interface ManagedDiskHandle {
  diskRestorePointId: string;
}

/** Azure Backup's limits for a managed disk. */
export const MAX_MANAGED_DISK_BYTES = 32 * 1024 ** 4;
export const SUPPORTED_MANAGED_DISK_SKUS = ['Standard_LRS', 'StandardSSD_LRS', 'Premium_LRS'] as const;

const DEFAULT_ACCESS_SECONDS = 4 * 3600;
const DEFAULT_RENEW_BEFORE_MS = 15 * 60 * 1000;
/** Storage's answers when a diff against the previous snapshot URL cannot be made. */
const DIFF_UNAVAILABLE_CODES = new Set(['PreviousSnapshotNotFound', 'PreviousSnapshotOperationNotSupported', 'BlobGenerationMismatch', 'BlobOverwritten', 'PreviousSnapshotCannotBeNewer']);
const silent: EngineLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface Grant {
  sas: string;
  expiresAtMs: number;
  /** Storage refused the SAS: reads fail as expired access until the view is released (as every backend's). */
  refused?: boolean;
}

export class ManagedDiskBackend implements SourceDiskBackend {
  readonly kind = 'managedDisk' as const;
  private readonly grants = new Map<string, Grant>();
  private readonly granting = new Map<string, Promise<Grant>>();
  private readonly accessSeconds: number;
  private readonly renewBeforeMs: number;
  private readonly now: () => Date;
  private readonly log: EngineLogger;

  constructor(private readonly options: ManagedDiskBackendOptions) {
    this.accessSeconds = options.accessDurationInSeconds ?? DEFAULT_ACCESS_SECONDS;
    this.renewBeforeMs = options.renewBeforeExpiryInMs ?? Math.min(DEFAULT_RENEW_BEFORE_MS, (this.accessSeconds * 1000) / 4);
    this.now = options.clock ?? (() => new Date());
    this.log = options.log ?? silent;
  }

  /** Diffs between disk restore points are exact; there are no server-side copies into a vault account. */
  async capabilities(): Promise<SourceCapabilities> {
    return { trueDiff: true, serverSideCopySafe: false };
  }

  async discover(disks: readonly VmDiskRequest[]): Promise<DiscoveredVmDisk[]> {
    if (disks.length === 0) throw errors.invalidRequest('disks', 'A VM backup needs at least one disk.');
    return Promise.all(
      disks.map(async (disk) => {
        const id = managedIdOf(disk);
        const info = await this.options.compute.getDisk(id);
        if (info === undefined) throw errors.sourceDiskNotFound('managed disk', id);
        checkSupported(disk.lun, info);
        return { ...disk, kind: 'managedDisk', name: disk.name ?? info.name, sizeBytes: info.sizeBytes + VHD_FOOTER_SIZE } as DiscoveredVmDisk;
      }),
    );
  }

  async openViews(request: OpenViewsRequest): Promise<DiskView[]> {
    const disks = request.disks.map((disk) => ({ disk, id: managedIdOf(disk) }));
    const infos = await Promise.all(
      disks.map(async ({ id }) => {
        const info = await this.options.compute.getDisk(id);
        if (info === undefined) throw errors.sourceDiskNotFound('managed disk', id);
        return info;
      }),
    );
    const byVm = new Map<string, ManagedDiskInfo[]>();
    for (const info of infos) {
      if (info.managedBy === undefined) {
        throw errors.invalidRequest('disks', `The managed disk ${info.name} is not attached to a VM: Kluis takes a VM restore point of the disks of one VM.`);
      }
      byVm.set(info.managedBy.toLowerCase(), [...(byVm.get(info.managedBy.toLowerCase()) ?? []), info]);
    }
    const attempt = randomBytes(3).toString('hex');
    const name = restorePointName(request.itemId, request.recoveryPointId, attempt);
    const created: string[] = [];
    const drpOfDisk = new Map<string, string>();
    try {
      for (const [vmId, vmDisks] of byVm) {
        const vm = await this.options.compute.getVm(vmId);
        if (vm === undefined) throw errors.vmNotFound(vmId.split('/').pop() ?? vmId, 'disks');
        const collection = await this.collectionOf(vm, request.placement);
        const wanted = new Set(vmDisks.map((disk) => disk.id.toLowerCase()));
        const exclude = vm.disks.filter((disk) => disk.kind === 'data' && !wanted.has(disk.id.toLowerCase())).map((disk) => disk.id);
        const point = await this.options.compute.createRestorePoint(collection, name, { excludeDiskIds: exclude });
        created.push(point.id);
        for (const disk of point.disks) drpOfDisk.set(disk.diskId.toLowerCase(), disk.diskRestorePointId);
      }
      return disks.map(({ disk, id }, index) => {
        const diskRestorePointId = drpOfDisk.get(id.toLowerCase());
        if (diskRestorePointId === undefined) throw errors.managedDiskSnapshotFailed(`the restore point has no disk restore point of disk lun ${disk.lun}`);
        return { kind: this.kind, lun: disk.lun, handle: { diskRestorePointId }, sizeBytes: infos[index].sizeBytes + VHD_FOOTER_SIZE, diskId: id, createdAt: request.createdAt };
      });
    } catch (err) {
      for (const id of created) await this.options.compute.deleteRestorePoint(id).catch((cleanup: unknown) => this.log.warn(`Deleting restore point ${id} after a failed opening failed: ${String(cleanup)}`));
      if (isKluisErrorLike(err)) throw err;
      throw errors.managedDiskSnapshotFailed(`Compute refused the restore point (${describe(err)})`, err);
    }
  }

  async describeView(view: DiskView): Promise<ViewState> {
    const exists = await this.options.compute.diskRestorePointExists(handleOf(view).diskRestorePointId);
    return exists ? { status: 'present', sizeBytes: view.sizeBytes } : { status: 'gone' };
  }

  allocatedRanges(view: DiskView, range?: ByteRange, options: AbortOptions = {}): Promise<ByteRange[]> {
    return this.withAccess(view, (sas) => this.options.sas.allocatedRanges(sas, range ?? { start: 0, end: view.sizeBytes }, options));
  }

  changedRanges(earlier: DiskView, view: DiskView, range?: ByteRange, options: AbortOptions = {}): Promise<PageRangesDiff> {
    handleOf(earlier);
    if (earlier.diskId.toLowerCase() !== view.diskId.toLowerCase()) {
      throw errors.invalidRequest('earlier', `Changed ranges of disk lun ${view.lun} need an earlier view of the same disk.`);
    }
    return this.withAccess(earlier, (previousSas) =>
      this.withAccess(view, async (sas) => {
        try {
          return await this.options.sas.changedRanges(sas, previousSas, range ?? { start: 0, end: view.sizeBytes }, options);
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code !== undefined && DIFF_UNAVAILABLE_CODES.has(code)) throw errors.sourceDiffUnavailable(view.lun, `Storage answered ${code}`, err);
          throw err;
        }
      }),
    );
  }

  read(view: DiskView, offset: number, count: number, options: AbortOptions = {}): Promise<Buffer> {
    return this.withAccess(view, (sas) => this.options.sas.read(sas, offset, count, options));
  }

  /** endGetAccess on every view's disk restore point, whether or not this process granted it. */
  async release(views: readonly DiskView[]): Promise<void> {
    await settleAll(
      unique(views.map((view) => handleOf(view).diskRestorePointId)).map(async (id) => {
        this.grants.delete(id.toLowerCase());
        await this.options.compute.revokeAccess(id);
      }),
    );
  }

  async deleteViews(views: readonly DiskView[]): Promise<void> {
    await this.release(views);
    const points = unique(views.map((view) => restorePointIdOf(handleOf(view).diskRestorePointId)));
    await settleAll(
      points.map(async (id) => {
        try {
          await this.options.compute.deleteRestorePoint(id);
        } catch (err) {
          // Compute's refusal says why (a CanNotDelete lock: ScopeLocked); its messages carry resource ids, never a SAS.
          const { statusCode, code, message } = err as { statusCode?: number; code?: string; message?: string };
          if (statusCode === undefined || statusCode >= 500 || code === undefined) throw err;
          throw errors.sourceViewDeleteRefused(`restore point ${nameOf(id)}`, `Compute answered ${statusCode} ${code}: ${message ?? ''}`, err);
        }
      }),
    );
  }

  async discardViews(request: Omit<OpenViewsRequest, 'createdAt'>): Promise<{ deleted: number }> {
    const wanted = new Set(request.disks.flatMap((disk) => ('id' in disk && disk.kind === 'managedDisk' ? [disk.id.toLowerCase()] : [])));
    const vmIds = new Set<string>();
    for (const id of wanted) {
      const info = await this.options.compute.getDisk(id);
      if (info?.managedBy !== undefined) vmIds.add(info.managedBy.toLowerCase());
    }
    const tag = `${restorePointTag(request.itemId, request.recoveryPointId)}_`.toLowerCase();
    let deleted = 0;
    for (const vmId of vmIds) {
      const vm = await this.options.compute.getVm(vmId);
      if (vm === undefined) continue;
      const collection = this.collectionRef(vm, request.placement);
      for (const point of await this.options.compute.listRestorePoints(collection)) {
        if (!point.name.toLowerCase().startsWith(tag)) continue;
        for (const disk of point.disks) await this.options.compute.revokeAccess(disk.diskRestorePointId);
        if (await this.options.compute.deleteRestorePoint(point.id)) deleted += point.disks.filter((disk) => wanted.has(disk.diskId.toLowerCase())).length;
      }
    }
    return { deleted };
  }

  private collectionRef(vm: { id: string; name: string; location: string }, placement: RestorePointPlacement | undefined): CollectionRef {
    const subscriptionId = vm.id.split('/')[2];
    return {
      subscriptionId,
      resourceGroup: instantRestoreResourceGroup(vm.location, placement ?? this.options.placement),
      name: restorePointCollectionName(vm.name, vm.id),
    };
  }

  private async collectionOf(vm: { id: string; name: string; location: string }, placement: RestorePointPlacement | undefined): Promise<CollectionRef> {
    const ref = this.collectionRef(vm, placement);
    await this.options.compute.ensureResourceGroup(ref.subscriptionId, ref.resourceGroup, vm.location);
    await this.options.compute.ensureRestorePointCollection(ref, { location: vm.location, sourceVmId: vm.id });
    return ref;
  }

  /** Runs `work` with a read SAS of the view; a refused SAS is dropped and reported as expired access (or a view that is gone). */
  private async withAccess<T>(view: DiskView, work: (sas: string) => Promise<T>): Promise<T> {
    const id = handleOf(view).diskRestorePointId;
    const grant = await this.access(view, id);
    if (grant.refused === true) throw errors.sourceViewAccessExpired(view.lun, `Storage refused the SAS of disk restore point ${nameOf(id)}; release the view to take access again`);
    try {
      return await work(grant.sas);
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status !== 403 && status !== 404) throw err;
      if (!(await this.options.compute.diskRestorePointExists(id))) {
        if (this.grants.get(id.toLowerCase()) === grant) this.grants.delete(id.toLowerCase());
        throw errors.sourceViewNotFound(view.lun, `its disk restore point ${id} was deleted`, err);
      }
      grant.refused = true;
      throw errors.sourceViewAccessExpired(view.lun, `Storage refused the SAS of disk restore point ${nameOf(id)} (${(err as { code?: string }).code ?? status})`, err);
    }
  }

  private access(view: DiskView, id: string): Promise<Grant> {
    const key = id.toLowerCase();
    const cached = this.grants.get(key);
    if (cached !== undefined && (cached.refused === true || cached.expiresAtMs - this.now().getTime() > this.renewBeforeMs)) return Promise.resolve(cached);
    let pending = this.granting.get(key);
    if (pending === undefined) {
      pending = this.grant(view, id, cached !== undefined).finally(() => this.granting.delete(key));
      this.granting.set(key, pending);
    }
    return pending;
  }

  private async grant(view: DiskView, id: string, renewing: boolean): Promise<Grant> {
    const compute = this.options.compute;
    if (renewing) await compute.revokeAccess(id);
    const requestedAt = this.now().getTime();
    let sas: string;
    try {
      sas = await compute.grantAccess(id, 'Read', this.accessSeconds);
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 404) throw errors.sourceViewNotFound(view.lun, `its disk restore point ${id} was not found`, err);
      if (status !== 409) throw err;
      // A grant this process does not know (another worker's, or one a crash left): end it and grant again.
      this.log.info(`Disk restore point ${nameOf(id)} had an active SAS granted elsewhere; ending it and granting again.`);
      await compute.revokeAccess(id);
      sas = await compute.grantAccess(id, 'Read', this.accessSeconds);
    }
    const grant = { sas, expiresAtMs: requestedAt + this.accessSeconds * 1000 };
    this.grants.set(id.toLowerCase(), grant);
    return grant;
  }
}

/** The handle of a managed-disk view; KluisInvalidRequest for anything else. */
export function handleOf(view: DiskView): ManagedDiskHandle {
  const { diskRestorePointId } = view.handle;
  if (view.kind !== 'managedDisk' || typeof diskRestorePointId !== 'string' || !/\/diskRestorePoints\/[^/]+$/i.test(diskRestorePointId)) {
    throw errors.invalidRequest('view', `The view of disk lun ${view.lun} is not a managed-disk view.`);
  }
  return { diskRestorePointId };
}

/** The restore point a disk restore point belongs to. */
export function restorePointIdOf(diskRestorePointId: string): string {
  return diskRestorePointId.replace(/\/diskRestorePoints\/[^/]+$/i, '');
}

function managedIdOf(disk: VmDiskRequest): string {
  if (!('id' in disk) || disk.kind !== 'managedDisk') throw errors.sourceKindNotSupported(disk.kind ?? 'pageBlob', `disk lun ${disk.lun} is not a managed disk`);
  return disk.id;
}

function checkSupported(lun: number, info: ManagedDiskInfo): void {
  if (info.sizeBytes <= 0 || info.sizeBytes > MAX_MANAGED_DISK_BYTES) {
    throw errors.unsupportedDiskSize(info.sizeBytes, `managed disk ${info.name} (lun ${lun}) must be larger than 0 and at most 32 TiB`);
  }
  if (info.sku !== undefined && !(SUPPORTED_MANAGED_DISK_SKUS as readonly string[]).includes(info.sku)) {
    throw errors.invalidRequest('disks', `Managed disk ${info.name} (lun ${lun}) is ${info.sku}: Kluis backs up ${SUPPORTED_MANAGED_DISK_SKUS.join(', ')} disks.`);
  }
}

function nameOf(id: string): string {
  return id.split('/').pop() ?? id;
}

function describe(err: unknown): string {
  const { statusCode, code } = err as { statusCode?: number; code?: string };
  return [statusCode, code].filter((part) => part !== undefined).join(' ') || (err instanceof Error ? err.message.slice(0, 200) : 'error');
}

function unique(ids: readonly string[]): string[] {
  const seen = new Map<string, string>();
  for (const id of ids) if (!seen.has(id.toLowerCase())) seen.set(id.toLowerCase(), id);
  return [...seen.values()];
}

/** Like Promise.all, but waits for every request before rethrowing the first failure. */
async function settleAll(work: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
