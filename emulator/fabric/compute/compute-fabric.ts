/**
 * The fabric's Microsoft.Compute service: managed disks, snapshots, restore points and the VM view,
 * sharing one store, one blob backing and one clock. Also what the fabric's own VM tools need from it
 * (managed disks for `vm create --managed`, the blob behind a disk for guest writes, the rules for
 * starting and deleting a VM with managed disks).
 *
 * `start()` (once, before serving) arms the expiry timers of grants a previous run left open; grants due
 * meanwhile end at once. `stop()` drops the timers.
 */
import { randomUUID } from 'node:crypto';
import { isManagedDisk, type VirtualMachine, type VmDisk } from '../../../lib/domain/virtual-machine';
import type { VmInventory } from '../../../lib/stores/vm-inventory';
import type { Clock } from '../../clock';
import { GrantTimers, type GrantHolder } from './access';
import type { ComputeContext } from './context';
import { DiskBlobs, type BlobLocation } from './disk-blobs';
import { computeErrors } from './errors';
import { KeyedLock } from './keyed-lock';
import { ResourceLocks } from './locks';
import { ManagedDisks, type VmDiskSpec } from './managed-disks';
import { OperationLog } from './operations';
import type { DiskEncryptionSettings, DiskRecord, RestorePointRecord, SnapshotRecord } from './records';
import { parseComputeId } from './resource-ids';
import { ComputeResourceStore, DEFAULT_COMPUTE_TABLE } from './resource-store';
import { RestorePoints } from './restore-points';
import { Snapshots } from './snapshots';
import { VirtualMachines } from './virtual-machines';

export interface ComputeFabricOptions {
  store: ComputeResourceStore;
  blobs: DiskBlobs;
  inventory: VmInventory;
  clock: Clock;
  /** Failures of background work (grant expiry); default: ignored. */
  onError?: (err: unknown) => void;
  newUuid?: () => string;
}

export class ComputeFabric {
  readonly disks: ManagedDisks;
  readonly snapshots: Snapshots;
  readonly restorePoints: RestorePoints;
  readonly virtualMachines: VirtualMachines;
  readonly operations: OperationLog;
  readonly locks: ResourceLocks;
  readonly clock: Clock;
  private readonly ctx: ComputeContext;
  private started?: Promise<void>;

  constructor(options: ComputeFabricOptions) {
    const onError = options.onError ?? (() => undefined);
    this.clock = options.clock;
    this.ctx = {
      store: options.store,
      blobs: options.blobs,
      inventory: options.inventory,
      clock: options.clock,
      timers: new GrantTimers(options.clock, (holder, grantId) => this.expire(holder, grantId), onError),
      vmLocks: new KeyedLock(),
      newUuid: options.newUuid ?? randomUUID,
    };
    this.disks = new ManagedDisks(this.ctx);
    this.snapshots = new Snapshots(this.ctx, this.disks);
    this.restorePoints = new RestorePoints(this.ctx, this.disks);
    this.virtualMachines = new VirtualMachines(this.ctx, this.disks);
    this.operations = new OperationLog(this.ctx);
    this.locks = new ResourceLocks(this.ctx);
  }

  /** Backing blobs and Compute state in the source storage account; VMs from `inventory`. */
  static fromConnectionString(
    connectionString: string,
    options: { inventory: VmInventory; clock: Clock; table?: string; onError?: (err: unknown) => void },
  ): ComputeFabric {
    return new ComputeFabric({
      store: ComputeResourceStore.fromConnectionString(connectionString, options.table ?? DEFAULT_COMPUTE_TABLE),
      blobs: DiskBlobs.fromConnectionString(connectionString),
      inventory: options.inventory,
      clock: options.clock,
      ...(options.onError === undefined ? {} : { onError: options.onError }),
    });
  }

  start(): Promise<void> {
    this.started ??= this.resumeGrants().catch((err: unknown) => {
      this.started = undefined;
      throw err;
    });
    return this.started;
  }

  stop(): void {
    this.ctx.timers.stop();
  }

  /** Outstanding grants with a timer (for tests and diagnostics). */
  get armedGrants(): number {
    return this.ctx.timers.armed;
  }

  // ---- for the fabric's VM tools -----------------------------------------------------------------

  /** Empty managed disks attached to the fabric VM `vm` from the start; deleted with it. */
  async createVmDisks(vm: Pick<VirtualMachine, 'id' | 'location'>, specs: ReadonlyArray<Omit<VmDiskSpec, 'managedBy' | 'location'>>): Promise<DiskRecord[]> {
    await this.start();
    const created: DiskRecord[] = [];
    try {
      for (const spec of specs) created.push(await this.disks.createForVm({ ...spec, location: vm.location, managedBy: vm.id }));
    } catch (err) {
      await this.deleteDisks(created, vm.id);
      throw err;
    }
    return created;
  }

  /** Azure Disk Encryption of the VM's managed disks: each disk's `encryptionSettingsCollection` names the BEK and KEK. */
  async encryptVmDisks(vm: Pick<VirtualMachine, 'disks'>, settings: DiskEncryptionSettings): Promise<void> {
    await this.disks.setEncryption(
      vm.disks.filter(isManagedDisk).map((disk) => disk.managedDisk.id),
      settings,
    );
  }

  /** The page blob behind a VM's managed disk (what guest writes change). */
  async diskBlobOf(disk: VmDisk): Promise<BlobLocation> {
    if (!isManagedDisk(disk)) throw new Error(`Disk ${disk.name} is not a managed disk.`);
    const record = await this.disks.getById(disk.managedDisk.id);
    if (record === undefined) throw computeErrors.operationNotAllowed(`The managed disk ${disk.managedDisk.id} of this VM no longer exists.`);
    return record.backing;
  }

  pageBlobOf(location: BlobLocation) {
    return this.ctx.blobs.pageBlob(location);
  }

  /** Runs guest I/O on `vmId`'s disks outside any restore point's snapshots. */
  guestWrite<T>(vmId: string, write: () => Promise<T>): Promise<T> {
    return this.ctx.vmLocks.run(vmId, write);
  }

  /** OperationNotAllowed when a managed disk of `vm` has an active SAS (a VM cannot start then). */
  async assertCanStart(vm: VirtualMachine): Promise<void> {
    for (const disk of vm.disks.filter(isManagedDisk)) {
      const record = await this.disks.getById(disk.managedDisk.id);
      if (record?.grant !== undefined) {
        const state = record.grant.access === 'Write' ? 'ActiveUpload' : 'ActiveSAS';
        throw computeErrors.operationNotAllowed(`VM ${vm.name} cannot start: its disk ${record.name} is in state ${state}. Call EndGetAccess on the disk first.`);
      }
    }
  }

  /** Before a fabric VM is deleted: its managed disks are deleted (deleteOption Delete) or detached. */
  async releaseVmDisks(vm: VirtualMachine): Promise<void> {
    const records: DiskRecord[] = [];
    for (const disk of vm.disks.filter(isManagedDisk)) {
      const record = await this.disks.getById(disk.managedDisk.id);
      if (record === undefined) continue;
      if (record.grant !== undefined) {
        throw computeErrors.operationNotAllowed(`VM ${vm.name} cannot be deleted while its disk ${record.name} has an active SAS: call EndGetAccess on the disk first.`);
      }
      records.push(record);
    }
    await this.deleteDisks(records.filter((record) => record.deleteOption === 'Delete'), vm.id);
    await this.disks.detach(
      records.filter((record) => record.deleteOption !== 'Delete').map((record) => record.id),
      vm.id,
    );
  }

  private async deleteDisks(disks: readonly DiskRecord[], vmId: string): Promise<void> {
    await this.disks.detach(
      disks.map((disk) => disk.id),
      vmId,
    );
    for (const disk of disks) await this.disks.delete(disk);
  }

  // ---- grant expiry -------------------------------------------------------------------------------

  private async expire(holder: GrantHolder, grantId: string): Promise<void> {
    switch (holder.kind) {
      case 'disk':
        return this.disks.endAccess(holder.ref, { expiredGrantId: grantId });
      case 'snapshot':
        return this.snapshots.endAccess(holder.ref, { expiredGrantId: grantId });
      case 'diskRestorePoint':
        return this.restorePoints.endDiskRestorePointAccess(holder.ref, { expiredGrantId: grantId });
    }
  }

  private async resumeGrants(): Promise<void> {
    for await (const stored of this.ctx.store.listWithGrants<DiskRecord | SnapshotRecord | RestorePointRecord>()) {
      const kind = stored.key.kind;
      if (kind === 'disk' || kind === 'snapshot') {
        const record = stored.value as DiskRecord | SnapshotRecord;
        const ref = parseComputeId(record.id);
        if (ref !== undefined && record.grant !== undefined) this.ctx.timers.arm({ kind, ref: { subscriptionId: ref.subscriptionId, resourceGroup: ref.resourceGroup, name: ref.name } }, record.grant);
      } else if (kind === 'rp') {
        const point = stored.value as RestorePointRecord;
        for (const drp of point.disks) {
          if (drp.grant === undefined) continue;
          this.ctx.timers.arm(
            {
              kind: 'diskRestorePoint',
              ref: { subscriptionId: point.subscriptionId, resourceGroup: point.resourceGroup, collection: point.collection, restorePoint: point.name, name: drp.name },
            },
            drp.grant,
          );
        }
      }
    }
  }
}
