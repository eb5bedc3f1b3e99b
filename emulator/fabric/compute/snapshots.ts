/**
 * Snapshots (`Microsoft.Compute/snapshots`) of managed disks: `createOption: Copy` from a disk, either
 * incremental (a blob snapshot in the disk's lineage: it shares unchanged pages, and two incremental
 * snapshots of one disk diff against each other by SAS URL) or full (a copy into a lineage of its own).
 * Read access by SAS (beginGetAccess/endGetAccess; `diskState` ActiveSAS meanwhile); delete is refused
 * while a SAS is active. Snapshots outlive their disk.
 */
import { grantOf, grantRequestOf, isExpired } from './access';
import { keys, normalizeLocation, type ComputeContext } from './context';
import { DiskBlobs, type BlobLocation } from './disk-blobs';
import { computeErrors } from './errors';
import { releaseLineage } from './lineages';
import { withoutUndefined, type ManagedDisks } from './managed-disks';
import { SNAPSHOT_SKUS, type SnapshotRecord, type SnapshotSku } from './records';
import type { GrantAccessBody, SnapshotBody } from './requests';
import { parseComputeId, RESOURCE_TYPES, sameId, snapshotId, type ResourceRef } from './resource-ids';

export class Snapshots {
  constructor(
    private readonly ctx: ComputeContext,
    private readonly disks: ManagedDisks,
  ) {}

  async createOrUpdate(ref: ResourceRef, body: SnapshotBody): Promise<{ created: boolean; snapshot: SnapshotRecord }> {
    const existing = await this.find(ref);
    if (existing !== undefined) return { created: false, snapshot: await this.update(existing, body) };
    if (body.location === undefined || body.location.trim() === '') throw computeErrors.locationRequired();
    const location = normalizeLocation(body.location);
    const { createOption, sourceResourceId } = body.properties.creationData;
    if (createOption.toLowerCase() !== 'copy') {
      throw computeErrors.invalidParameter('creationData.createOption', `The local fabric makes snapshots of managed disks with createOption Copy; '${createOption.slice(0, 64)}' is not supported.`);
    }
    const parsed = sourceResourceId === undefined ? undefined : parseComputeId(sourceResourceId);
    if (sourceResourceId === undefined || parsed?.kind !== 'disk') {
      throw computeErrors.invalidParameter('creationData.sourceResourceId', 'A snapshot needs the id of a managed disk in creationData.sourceResourceId.');
    }
    if (!sameId(parsed.subscriptionId, ref.subscriptionId)) throw computeErrors.invalidParameter('creationData.sourceResourceId', 'The disk must be in the same subscription as the snapshot.');
    const disk = await this.disks.find(parsed);
    if (disk === undefined) throw computeErrors.copySourceNotFound(sourceResourceId);
    if (disk.location !== location) throw computeErrors.invalidParameter('location', `Disk ${disk.name} is in ${disk.location}; its snapshots must be in the same region.`);
    if (disk.awaitingUpload === true) throw computeErrors.operationNotAllowed(`Disk ${disk.name} is awaiting its upload: snapshot it after EndGetAccess.`);
    const incremental = body.properties.incremental ?? false;
    const uniqueId = this.ctx.newUuid();
    const snapshot: SnapshotRecord = withoutUndefined({
      id: snapshotId(ref),
      subscriptionId: ref.subscriptionId,
      resourceGroup: ref.resourceGroup,
      name: ref.name,
      location,
      tags: body.tags,
      sku: skuOf(body.sku?.name),
      uniqueId,
      timeCreated: this.ctx.clock.now().toISOString(),
      osType: body.properties.osType ?? disk.osType,
      hyperVGeneration: body.properties.hyperVGeneration ?? disk.hyperVGeneration,
      creationData: { createOption: 'Copy' as const, sourceResourceId, sourceUniqueId: disk.uniqueId },
      sizeBytes: disk.sizeBytes,
      incremental,
      familyId: incremental ? disk.uniqueId : undefined,
      backing: incremental ? { ...disk.backing } : DiskBlobs.lineageOf(uniqueId),
    });
    // The blobs first, the record last: a record never names a blob that is not there.
    if (incremental) snapshot.backing = { ...disk.backing, snapshot: await this.ctx.blobs.snapshot(disk.backing) };
    else await this.ctx.blobs.copy(disk.backing, snapshot.backing, { kluissnapshotid: encodeURIComponent(snapshot.id) });
    if ((await this.ctx.store.insert(keys.snapshot(ref), snapshot)) === undefined) {
      await this.dropBacking(snapshot.backing, incremental);
      throw computeErrors.conflict(`The snapshot '${ref.name}' was created by another request at the same time.`);
    }
    return { created: true, snapshot };
  }

  async find(ref: ResourceRef): Promise<SnapshotRecord | undefined> {
    const stored = await this.ctx.store.get<SnapshotRecord>(keys.snapshot(ref));
    if (stored === undefined) return undefined;
    const grant = stored.value.grant;
    if (grant !== undefined && isExpired(grant, this.ctx.clock.now())) {
      await this.endAccess(ref, { expiredGrantId: grant.id });
      return (await this.ctx.store.get<SnapshotRecord>(keys.snapshot(ref)))?.value;
    }
    return stored.value;
  }

  async get(ref: ResourceRef): Promise<SnapshotRecord> {
    const snapshot = await this.find(ref);
    if (snapshot === undefined) throw computeErrors.resourceNotFound(RESOURCE_TYPES.snapshot, ref.name, ref.resourceGroup);
    return snapshot;
  }

  async list(subscriptionId: string, resourceGroup?: string): Promise<SnapshotRecord[]> {
    const snapshots: SnapshotRecord[] = [];
    for await (const stored of this.ctx.store.list<SnapshotRecord>(subscriptionId, 'snapshot', resourceGroup)) {
      const grant = stored.value.grant;
      snapshots.push(grant !== undefined && isExpired(grant, this.ctx.clock.now()) ? await this.get(stored.value) : stored.value);
    }
    return snapshots.sort((a, b) => (a.id.toLowerCase() < b.id.toLowerCase() ? -1 : 1));
  }

  async delete(ref: ResourceRef): Promise<boolean> {
    let deleted: SnapshotRecord | undefined;
    await this.ctx.store.mutate<SnapshotRecord>(keys.snapshot(ref), (current) => {
      if (current === undefined) return undefined;
      const grant = current.value.grant;
      if (grant !== undefined && !isExpired(grant, this.ctx.clock.now())) {
        throw computeErrors.operationNotAllowed(`Snapshot ${current.value.name} cannot be deleted while it has an active SAS (ActiveSAS): call EndGetAccess first.`);
      }
      deleted = current.value;
      return 'delete';
    });
    if (deleted === undefined) return false;
    if (deleted.grant !== undefined) {
      await this.ctx.blobs.revoke(deleted.grant.container, deleted.grant.id);
      this.ctx.timers.disarm(deleted.grant.id);
    }
    await this.dropBacking(deleted.backing, deleted.incremental);
    return true;
  }

  async grantAccess(ref: ResourceRef, body: GrantAccessBody): Promise<{ accessSAS: string }> {
    const request = grantRequestOf(body, ['Read'], 'snapshot');
    const snapshot = await this.get(ref);
    assertNoGrant(snapshot);
    const { id, url } = await this.ctx.blobs.grant(snapshot.backing, 'r', request.durationInSeconds);
    const grant = grantOf(id, request, snapshot.backing.container, this.ctx.clock.now());
    try {
      await this.ctx.store.mutate<SnapshotRecord>(keys.snapshot(ref), (current) => {
        if (current === undefined || current.value.uniqueId !== snapshot.uniqueId) throw computeErrors.resourceNotFound(RESOURCE_TYPES.snapshot, ref.name, ref.resourceGroup);
        assertNoGrant(current.value);
        return { value: { ...current.value, grant }, grantExpiresAt: grant.expiresAt };
      });
    } catch (err) {
      await this.ctx.blobs.revoke(grant.container, grant.id);
      throw err;
    }
    this.ctx.timers.arm({ kind: 'snapshot', ref }, grant);
    return { accessSAS: url };
  }

  async endAccess(ref: ResourceRef, options: { expiredGrantId?: string } = {}): Promise<void> {
    const stored = await this.ctx.store.get<SnapshotRecord>(keys.snapshot(ref));
    if (stored === undefined) {
      if (options.expiredGrantId !== undefined) return;
      throw computeErrors.resourceNotFound(RESOURCE_TYPES.snapshot, ref.name, ref.resourceGroup);
    }
    const grant = stored.value.grant;
    if (grant === undefined || (options.expiredGrantId !== undefined && grant.id !== options.expiredGrantId)) return;
    await this.ctx.blobs.revoke(grant.container, grant.id);
    await this.ctx.store.mutate<SnapshotRecord>(keys.snapshot(ref), (current) => {
      if (current === undefined || current.value.grant?.id !== grant.id) return undefined;
      const { grant: _ended, ...rest } = current.value;
      return { value: rest };
    });
    this.ctx.timers.disarm(grant.id);
  }

  private async update(snapshot: SnapshotRecord, body: SnapshotBody): Promise<SnapshotRecord> {
    const { sourceResourceId } = body.properties.creationData;
    if (sourceResourceId !== undefined && !sameId(sourceResourceId, snapshot.creationData.sourceResourceId ?? '')) {
      throw computeErrors.propertyChangeNotAllowed('creationData.sourceResourceId');
    }
    if (body.properties.incremental !== undefined && body.properties.incremental !== snapshot.incremental) throw computeErrors.propertyChangeNotAllowed('incremental');
    const ref = { subscriptionId: snapshot.subscriptionId, resourceGroup: snapshot.resourceGroup, name: snapshot.name };
    const written = await this.ctx.store.mutate<SnapshotRecord>(keys.snapshot(ref), (current) => {
      if (current === undefined) throw computeErrors.resourceNotFound(RESOURCE_TYPES.snapshot, ref.name, ref.resourceGroup);
      const next = withoutUndefined({ ...current.value, tags: body.tags ?? current.value.tags });
      return { value: next, grantExpiresAt: next.grant?.expiresAt };
    });
    return written!.value;
  }

  private async dropBacking(backing: BlobLocation, incremental: boolean): Promise<void> {
    if (!incremental) {
      await this.ctx.blobs.deleteLineage(backing.container);
      return;
    }
    if (backing.snapshot === undefined) return;
    await this.ctx.blobs.deleteSnapshot({ ...backing, snapshot: backing.snapshot });
    await releaseLineage(this.ctx.blobs, backing.container);
  }
}

function assertNoGrant(snapshot: SnapshotRecord): void {
  if (snapshot.grant !== undefined) throw computeErrors.operationNotAllowed(`Snapshot ${snapshot.name} already has an active SAS (ActiveSAS): call EndGetAccess before granting access again.`);
}

function skuOf(name: string | undefined): SnapshotSku {
  if (name === undefined) return 'Standard_LRS';
  const sku = SNAPSHOT_SKUS.find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  if (sku === undefined) throw computeErrors.invalidParameter('sku.name', `The snapshot SKU '${name.slice(0, 64)}' is not supported: use ${SNAPSHOT_SKUS.join(', ')}.`);
  return sku;
}
