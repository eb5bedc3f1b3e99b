/**
 * Restore point collections, VM restore points and disk restore points:
 *
 *   collection   PUT (source: a fabric VM; only tags change later), PATCH tags, GET ($expand=restorePoints),
 *                list, DELETE (with every restore point; refused while a disk restore point has a SAS).
 *   restore point  PUT snapshots every managed disk of the source VM at one point in time (the VM's guest
 *                writes wait: see FabricService.writeData), minus `excludeDisks` (data disks); one disk restore
 *                point per disk, named `<disk>_<guid>`, a blob snapshot in the disk's lineage. Updating an
 *                existing restore point is refused. `consistencyMode` accepts CrashConsistent only (as the API
 *                says); without it the VM's guest decides. DELETE is refused with DiskRestorePointUsedByCustomer
 *                while a disk restore point has an active SAS.
 *   disk restore point  GET, list, beginGetAccess (Read) / endGetAccess.
 */
import { isManagedDisk } from '../../../lib/domain/virtual-machine';
import { grantOf, grantRequestOf, isExpired } from './access';
import { keys, normalizeLocation, type ComputeContext } from './context';
import { computeErrors } from './errors';
import { releaseLineage } from './lineages';
import { withoutUndefined, type ManagedDisks } from './managed-disks';
import { earliestExpiry, type CollectionRecord, type ConsistencyMode, type DiskRestorePointRecord, type RestorePointRecord } from './records';
import type { CollectionBody, GrantAccessBody, RestorePointBody } from './requests';
import {
  collectionId,
  parseComputeId,
  RESOURCE_TYPES,
  restorePointId,
  sameId,
  type DiskRestorePointRef,
  type ResourceRef,
  type RestorePointRef,
} from './resource-ids';
import { defaultConsistencyOf, vmIdOf } from './vm-identity';

export class RestorePoints {
  constructor(
    private readonly ctx: ComputeContext,
    private readonly disks: ManagedDisks,
  ) {}

  // ---- collections ------------------------------------------------------------------------------

  async putCollection(ref: ResourceRef, body: CollectionBody): Promise<{ created: boolean; collection: CollectionRecord }> {
    const existing = (await this.ctx.store.get<CollectionRecord>(keys.collection(ref)))?.value;
    const sourceId = body.properties?.source?.id;
    if (existing !== undefined) {
      if (sourceId !== undefined && !sameId(sourceId, existing.sourceVmId)) throw computeErrors.propertyChangeNotAllowed('source.id');
      if (body.location !== undefined && normalizeLocation(body.location) !== existing.location) throw computeErrors.propertyChangeNotAllowed('location');
      return { created: false, collection: await this.patchCollection(ref, body.tags) };
    }
    if (body.location === undefined || body.location.trim() === '') throw computeErrors.locationRequired();
    if (sourceId === undefined) throw computeErrors.invalidParameter('properties.source.id', 'A restore point collection needs its source virtual machine (properties.source.id).');
    const source = parseComputeId(sourceId);
    if (source?.kind !== 'virtualMachine') throw computeErrors.invalidParameter('properties.source.id', `'${sourceId.slice(0, 200)}' is not a virtual machine id.`);
    const vm = await this.ctx.inventory.get(source);
    if (vm === undefined) throw computeErrors.resourceNotFound(RESOURCE_TYPES.virtualMachine, source.name, source.resourceGroup);
    const location = normalizeLocation(body.location);
    if (vm.location !== location) throw computeErrors.invalidParameter('location', `The VM ${vm.name} is in ${vm.location}; its restore point collection must be in the same region.`);
    const collection: CollectionRecord = withoutUndefined({
      id: collectionId(ref),
      subscriptionId: ref.subscriptionId,
      resourceGroup: ref.resourceGroup,
      name: ref.name,
      location,
      tags: body.tags,
      sourceVmId: vm.id,
      sourceLocation: vm.location,
      collectionId: this.ctx.newUuid(),
      timeCreated: this.ctx.clock.now().toISOString(),
    });
    if ((await this.ctx.store.insert(keys.collection(ref), collection)) === undefined) {
      return this.putCollection(ref, body);
    }
    return { created: true, collection };
  }

  async patchCollection(ref: ResourceRef, tags: Record<string, string> | undefined): Promise<CollectionRecord> {
    const written = await this.ctx.store.mutate<CollectionRecord>(keys.collection(ref), (current) => {
      if (current === undefined) throw computeErrors.resourceNotFound(RESOURCE_TYPES.restorePointCollection, ref.name, ref.resourceGroup);
      return { value: withoutUndefined({ ...current.value, tags: tags ?? current.value.tags }) };
    });
    return written!.value;
  }

  async getCollection(ref: ResourceRef): Promise<CollectionRecord> {
    const collection = (await this.ctx.store.get<CollectionRecord>(keys.collection(ref)))?.value;
    if (collection === undefined) throw computeErrors.resourceNotFound(RESOURCE_TYPES.restorePointCollection, ref.name, ref.resourceGroup);
    return collection;
  }

  async listCollections(subscriptionId: string, resourceGroup?: string): Promise<CollectionRecord[]> {
    const collections: CollectionRecord[] = [];
    for await (const stored of this.ctx.store.list<CollectionRecord>(subscriptionId, 'rpc', resourceGroup)) collections.push(stored.value);
    return collections.sort((a, b) => (a.id.toLowerCase() < b.id.toLowerCase() ? -1 : 1));
  }

  /** The collection's restore points, oldest first. */
  async restorePointsOf(ref: ResourceRef): Promise<RestorePointRecord[]> {
    const points: RestorePointRecord[] = [];
    for await (const stored of this.ctx.store.list<RestorePointRecord>(ref.subscriptionId, 'rp', ref.resourceGroup, [ref.name])) {
      points.push(await this.settled(stored.value));
    }
    return points.sort((a, b) => (a.timeCreated < b.timeCreated ? -1 : a.timeCreated > b.timeCreated ? 1 : 0));
  }

  /** DELETE: the collection and all its restore points; false when it was already gone. */
  async deleteCollection(ref: ResourceRef): Promise<boolean> {
    const collection = (await this.ctx.store.get<CollectionRecord>(keys.collection(ref)))?.value;
    if (collection === undefined) return false;
    const points = await this.restorePointsOf(ref);
    const now = this.ctx.clock.now();
    if (points.some((point) => hasActiveGrant(point, now))) throw computeErrors.diskRestorePointUsedByCustomer();
    for (const point of points) await this.deleteRestorePoint({ ...ref, collection: ref.name, name: point.name });
    await this.ctx.store.delete(keys.collection(ref));
    return true;
  }

  // ---- restore points ---------------------------------------------------------------------------

  async createRestorePoint(ref: RestorePointRef, body: RestorePointBody): Promise<RestorePointRecord> {
    const collectionRef = { subscriptionId: ref.subscriptionId, resourceGroup: ref.resourceGroup, name: ref.collection };
    const collection = (await this.ctx.store.get<CollectionRecord>(keys.collection(collectionRef)))?.value;
    if (collection === undefined) throw computeErrors.parentResourceNotFound(RESOURCE_TYPES.restorePointCollection, ref.collection);
    if ((await this.ctx.store.get(keys.restorePoint(ref))) !== undefined) {
      throw computeErrors.operationNotAllowed(`Restore point ${ref.name} exists: updating properties of an existing restore point is not allowed.`);
    }
    const properties = body.properties ?? {};
    if (properties.sourceRestorePoint !== undefined) {
      throw computeErrors.invalidParameter('properties.sourceRestorePoint', 'The local fabric has one region: copying a restore point from another region is not supported.');
    }
    const consistencyMode = consistencyModeOf(properties.consistencyMode);
    const vm = await this.ctx.inventory.getById(collection.sourceVmId);
    const vmRef = parseComputeId(collection.sourceVmId);
    if (vm === undefined) throw computeErrors.resourceNotFound(RESOURCE_TYPES.virtualMachine, vmRef?.name ?? collection.sourceVmId, vmRef?.resourceGroup ?? '');
    if (vm.provisioningState === 'Creating' || vm.provisioningState === 'Deleting') {
      throw computeErrors.operationNotAllowed(`The VM ${vm.name} is ${vm.provisioningState.toLowerCase()}: a restore point can be created once it is provisioned.`);
    }
    if (!vm.disks.every(isManagedDisk)) {
      throw computeErrors.operationNotAllowed(`The VM ${vm.name} has unmanaged (VHD) disks: VM restore points support only VMs whose disks are all managed disks.`);
    }
    const excluded = (properties.excludeDisks ?? []).map((disk) => disk.id);
    for (const id of excluded) {
      const disk = vm.disks.find((candidate) => sameId(candidate.managedDisk!.id, id));
      if (disk === undefined) throw computeErrors.invalidParameter('properties.excludeDisks', `'${id.slice(0, 200)}' is not a disk of VM ${vm.name}.`);
      if (disk.kind === 'os') throw computeErrors.invalidParameter('properties.excludeDisks', 'The OS disk cannot be excluded from a restore point.');
    }
    const included = vm.disks.filter((disk) => !excluded.some((id) => sameId(id, disk.managedDisk!.id)));

    const point: RestorePointRecord = await this.ctx.vmLocks.run(vm.id, async () => {
      const records = await Promise.all(
        included.map(async (vmDisk) => {
          const disk = await this.disks.getById(vmDisk.managedDisk!.id);
          if (disk === undefined) throw computeErrors.operationNotAllowed(`The disk(s) of VM ${vm.name} have not been allocated successfully: disk ${vmDisk.name} is missing.`);
          return { vmDisk, disk };
        }),
      );
      // Every disk's snapshot inside one section that guest writes also take: a single point in time.
      const snapshots = await Promise.all(records.map(({ disk }) => this.ctx.blobs.snapshot(disk.backing)));
      const now = this.ctx.clock.now().toISOString();
      return withoutUndefined({
        id: restorePointId(ref),
        subscriptionId: ref.subscriptionId,
        resourceGroup: ref.resourceGroup,
        collection: collection.name,
        name: ref.name,
        timeCreated: now,
        consistencyMode: consistencyMode ?? defaultConsistencyOf(vm),
        excludeDisks: excluded,
        instantAccessDurationMinutes: properties.instantAccessDurationMinutes,
        source: withoutUndefined({ vmId: vmIdOf(vm), vmSize: vm.vmSize, location: vm.location, osType: vm.osType, encryption: vm.encryption }),
        disks: records.map(({ vmDisk, disk }, index): DiskRestorePointRecord =>
          withoutUndefined({
            name: `${disk.name}_${this.ctx.newUuid()}`,
            kind: vmDisk.kind,
            lun: vmDisk.lun,
            sourceDiskId: disk.id,
            sourceDiskName: disk.name,
            sourceUniqueId: disk.uniqueId,
            familyId: disk.uniqueId,
            sku: disk.sku,
            sizeBytes: disk.sizeBytes,
            osType: disk.osType,
            hyperVGeneration: disk.hyperVGeneration,
            backing: { ...disk.backing, snapshot: snapshots[index] },
          }),
        ),
      });
    });
    if ((await this.ctx.store.insert(keys.restorePoint(ref), point)) === undefined) {
      await this.dropBackings(point);
      throw computeErrors.operationNotAllowed(`Restore point ${ref.name} exists: updating properties of an existing restore point is not allowed.`);
    }
    return point;
  }

  async findRestorePoint(ref: RestorePointRef): Promise<RestorePointRecord | undefined> {
    const stored = await this.ctx.store.get<RestorePointRecord>(keys.restorePoint(ref));
    return stored === undefined ? undefined : this.settled(stored.value);
  }

  async getRestorePoint(ref: RestorePointRef): Promise<RestorePointRecord> {
    const point = await this.findRestorePoint(ref);
    if (point !== undefined) return point;
    const collectionRef = { subscriptionId: ref.subscriptionId, resourceGroup: ref.resourceGroup, name: ref.collection };
    if ((await this.ctx.store.get(keys.collection(collectionRef))) === undefined) {
      throw computeErrors.parentResourceNotFound(RESOURCE_TYPES.restorePointCollection, ref.collection);
    }
    throw computeErrors.resourceNotFound(RESOURCE_TYPES.restorePoint, `${ref.collection}/${ref.name}`, ref.resourceGroup);
  }

  /** DELETE: false when it was already gone. */
  async deleteRestorePoint(ref: RestorePointRef): Promise<boolean> {
    let deleted: RestorePointRecord | undefined;
    await this.ctx.store.mutate<RestorePointRecord>(keys.restorePoint(ref), (current) => {
      if (current === undefined) return undefined;
      if (hasActiveGrant(current.value, this.ctx.clock.now())) throw computeErrors.diskRestorePointUsedByCustomer();
      deleted = current.value;
      return 'delete';
    });
    if (deleted === undefined) return false;
    for (const drp of deleted.disks) {
      if (drp.grant !== undefined) {
        await this.ctx.blobs.revoke(drp.grant.container, drp.grant.id);
        this.ctx.timers.disarm(drp.grant.id);
      }
    }
    await this.dropBackings(deleted);
    return true;
  }

  // ---- disk restore points ----------------------------------------------------------------------

  async getDiskRestorePoint(ref: DiskRestorePointRef): Promise<{ restorePoint: RestorePointRecord; diskRestorePoint: DiskRestorePointRecord }> {
    const restorePoint = await this.getRestorePoint(restorePointRefOf(ref));
    const diskRestorePoint = restorePoint.disks.find((drp) => sameId(drp.name, ref.name));
    if (diskRestorePoint === undefined) throw computeErrors.resourceNotFound(RESOURCE_TYPES.diskRestorePoint, `${ref.collection}/${ref.restorePoint}/${ref.name}`, ref.resourceGroup);
    return { restorePoint, diskRestorePoint };
  }

  async grantDiskRestorePointAccess(ref: DiskRestorePointRef, body: GrantAccessBody): Promise<{ accessSAS: string }> {
    const request = grantRequestOf(body, ['Read'], 'disk restore point');
    const { diskRestorePoint } = await this.getDiskRestorePoint(ref);
    assertNoGrant(diskRestorePoint);
    const { id, url } = await this.ctx.blobs.grant(diskRestorePoint.backing, 'r', request.durationInSeconds);
    const grant = grantOf(id, request, diskRestorePoint.backing.container, this.ctx.clock.now());
    try {
      await this.ctx.store.mutate<RestorePointRecord>(keys.restorePoint(restorePointRefOf(ref)), (current) => {
        const drp = current?.value.disks.find((candidate) => sameId(candidate.name, ref.name));
        if (current === undefined || drp === undefined) {
          throw computeErrors.resourceNotFound(RESOURCE_TYPES.diskRestorePoint, `${ref.collection}/${ref.restorePoint}/${ref.name}`, ref.resourceGroup);
        }
        assertNoGrant(drp);
        return withGrant(current.value, ref.name, grant);
      });
    } catch (err) {
      await this.ctx.blobs.revoke(grant.container, grant.id);
      throw err;
    }
    this.ctx.timers.arm({ kind: 'diskRestorePoint', ref }, grant);
    return { accessSAS: url };
  }

  async endDiskRestorePointAccess(ref: DiskRestorePointRef, options: { expiredGrantId?: string } = {}): Promise<void> {
    const stored = await this.ctx.store.get<RestorePointRecord>(keys.restorePoint(restorePointRefOf(ref)));
    const drp = stored?.value.disks.find((candidate) => sameId(candidate.name, ref.name));
    if (stored === undefined || drp === undefined) {
      if (options.expiredGrantId !== undefined) return;
      throw computeErrors.resourceNotFound(RESOURCE_TYPES.diskRestorePoint, `${ref.collection}/${ref.restorePoint}/${ref.name}`, ref.resourceGroup);
    }
    const grant = drp.grant;
    if (grant === undefined || (options.expiredGrantId !== undefined && grant.id !== options.expiredGrantId)) return;
    await this.ctx.blobs.revoke(grant.container, grant.id);
    await this.ctx.store.mutate<RestorePointRecord>(keys.restorePoint(restorePointRefOf(ref)), (current) => {
      const now = current?.value.disks.find((candidate) => sameId(candidate.name, ref.name));
      if (current === undefined || now?.grant?.id !== grant.id) return undefined;
      return withGrant(current.value, ref.name, undefined);
    });
    this.ctx.timers.disarm(grant.id);
  }

  /** The record with every grant whose time is over ended. */
  private async settled(point: RestorePointRecord): Promise<RestorePointRecord> {
    const now = this.ctx.clock.now();
    const expired = point.disks.filter((drp) => drp.grant !== undefined && isExpired(drp.grant, now));
    if (expired.length === 0) return point;
    for (const drp of expired) {
      await this.endDiskRestorePointAccess(
        { subscriptionId: point.subscriptionId, resourceGroup: point.resourceGroup, collection: point.collection, restorePoint: point.name, name: drp.name },
        { expiredGrantId: drp.grant!.id },
      );
    }
    return (await this.ctx.store.get<RestorePointRecord>(keys.restorePoint({ ...point, collection: point.collection })))?.value ?? point;
  }

  private async dropBackings(point: RestorePointRecord): Promise<void> {
    for (const drp of point.disks) {
      await this.ctx.blobs.deleteSnapshot(drp.backing);
      await releaseLineage(this.ctx.blobs, drp.backing.container);
    }
  }
}

function restorePointRefOf(ref: DiskRestorePointRef): RestorePointRef {
  return { subscriptionId: ref.subscriptionId, resourceGroup: ref.resourceGroup, collection: ref.collection, name: ref.restorePoint };
}

function withGrant(point: RestorePointRecord, drpName: string, grant: DiskRestorePointRecord['grant']): { value: RestorePointRecord; grantExpiresAt?: string } {
  const disks = point.disks.map((drp): DiskRestorePointRecord => {
    if (!sameId(drp.name, drpName)) return drp;
    const { grant: _previous, ...rest } = drp;
    return grant === undefined ? rest : { ...rest, grant };
  });
  return { value: { ...point, disks }, grantExpiresAt: earliestExpiry(disks.map((drp) => drp.grant)) };
}

function hasActiveGrant(point: RestorePointRecord, now: Date): boolean {
  return point.disks.some((drp) => drp.grant !== undefined && !isExpired(drp.grant, now));
}

function assertNoGrant(drp: DiskRestorePointRecord): void {
  if (drp.grant !== undefined) {
    throw computeErrors.operationNotAllowed(`Disk restore point ${drp.name} already has an active SAS: call EndGetAccess before granting access again.`);
  }
}

function consistencyModeOf(value: string | undefined): ConsistencyMode | undefined {
  if (value === undefined) return undefined;
  if (value.toLowerCase() === 'crashconsistent') return 'CrashConsistent';
  throw computeErrors.invalidParameter(
    'properties.consistencyMode',
    `consistencyMode '${value.slice(0, 64)}' cannot be requested: only CrashConsistent is accepted; leave it out for the consistency the VM's guest gives.`,
  );
}
