/**
 * Managed disks (`Microsoft.Compute/disks`): create (Empty, Upload, Copy from a disk or snapshot,
 * Restore from a disk restore point), get, list, delete, and SAS access (beginGetAccess/endGetAccess)
 * with Azure's disk states and the refusals that go with them:
 *
 *   Unattached ──grant Read──► ActiveSAS ──end──► Unattached      (Reserved ──grant Read──► ActiveSAS ──end──► Reserved)
 *   Upload: ReadyToUpload ──grant Write──► ActiveUpload ──end──► Unattached   (expiry: back to ReadyToUpload)
 *   Attached (VM not deallocated): no SAS, no delete. Write access only for upload. Delete refused while
 *   attached, reserved or with an active SAS.
 *
 * Each disk is a lineage of disk-blobs.ts; a disk from a snapshot or disk restore point is a server-side
 * copy of that blob snapshot into a lineage of its own.
 */
import { buildVhdFooter, VHD_FOOTER_SIZE } from '../../../lib/engine/domain/vhd';
import { grantOf, grantRequestOf, isExpired, type GrantRequest } from './access';
import { keys, normalizeLocation, type ComputeContext } from './context';
import { DiskBlobs, type BlobLocation } from './disk-blobs';
import { computeErrors } from './errors';
import { retireLineage } from './lineages';
import {
  DISK_SKUS,
  diskSizeGbOf,
  diskStateOf,
  type CreationData,
  type DiskEncryptionSettings,
  type DiskRecord,
  type DiskSku,
  type DiskState,
  type HyperVGeneration,
  type OsType,
  type RestorePointRecord,
  type SnapshotRecord,
} from './records';
import type { DiskBody, GrantAccessBody } from './requests';
import { diskId, parseComputeId, RESOURCE_TYPES, sameId, type ResourceRef } from './resource-ids';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
/** Azure: 1–32,767 GiB for Standard HDD, Standard SSD and Premium SSD. */
export const MAX_DISK_SIZE_GB = 32_767;
/** Page blobs hold at most 8 TiB: the fabric's disks (data + footer) fit in that. */
export const MAX_FABRIC_DISK_BYTES = 8 * 1024 * GIB - VHD_FOOTER_SIZE;
/** `uploadSizeBytes` bounds (contents including the 512-byte VHD footer), from the published API. */
export const MIN_UPLOAD_SIZE_BYTES = 20 * MIB + VHD_FOOTER_SIZE;
export const MAX_UPLOAD_SIZE_BYTES = 32 * 1024 * GIB + VHD_FOOTER_SIZE;

/** A disk the fabric makes for one of its own VMs (kluis-fabric vm create --managed). */
export interface VmDiskSpec {
  ref: ResourceRef;
  location: string;
  sku: DiskSku;
  sizeBytes: number;
  osType?: OsType;
  managedBy: string;
  tags?: Record<string, string>;
}

/** The disk's ADE settings from a PUT body's `encryptionSettingsCollection` (undefined when it names none). */
function encryptionSettingsOfBody(body: DiskBody): DiskEncryptionSettings | undefined {
  const collection = body.properties.encryptionSettingsCollection;
  if (collection === undefined) return undefined;
  const [first] = collection.encryptionSettings ?? [];
  if (collection.enabled && first?.diskEncryptionKey === undefined) {
    throw computeErrors.invalidParameter('encryptionSettingsCollection.encryptionSettings', 'An enabled disk encryption needs its disk encryption key (the BEK secret URL and its Key Vault).');
  }
  return withoutUndefined({
    enabled: collection.enabled,
    bek: first?.diskEncryptionKey === undefined ? undefined : { secretUrl: first.diskEncryptionKey.secretUrl, vaultId: first.diskEncryptionKey.sourceVault.id },
    kek: first?.keyEncryptionKey === undefined ? undefined : { keyUrl: first.keyEncryptionKey.keyUrl, vaultId: first.keyEncryptionKey.sourceVault.id },
  });
}

export class ManagedDisks {
  constructor(private readonly ctx: ComputeContext) {}

  /** PUT: creates the disk (201) or updates its tags / SKU (200). */
  async createOrUpdate(ref: ResourceRef, body: DiskBody): Promise<{ created: boolean; disk: DiskRecord }> {
    const existing = await this.find(ref);
    if (existing !== undefined) return { created: false, disk: await this.update(existing, body) };
    if (body.location === undefined || body.location.trim() === '') throw computeErrors.locationRequired();
    const location = normalizeLocation(body.location);
    const sku = skuOf(body.sku?.name);
    const uniqueId = this.ctx.newUuid();
    const backing = DiskBlobs.lineageOf(uniqueId);
    const { creationData, sizeBytes, source, osType, hyperVGeneration } = await this.plan(ref, location, body);
    const disk: DiskRecord = withoutUndefined({
      id: diskId(ref),
      subscriptionId: ref.subscriptionId,
      resourceGroup: ref.resourceGroup,
      name: ref.name,
      location,
      tags: body.tags,
      sku,
      uniqueId,
      timeCreated: this.ctx.clock.now().toISOString(),
      osType: body.properties.osType ?? osType,
      hyperVGeneration: body.properties.hyperVGeneration ?? hyperVGeneration,
      creationData,
      sizeBytes,
      backing,
      awaitingUpload: creationData.createOption === 'Upload' ? true : undefined,
      encryptionSettings: encryptionSettingsOfBody(body),
    });
    // The blob first, the record last: a record never names a blob that is not there.
    try {
      await this.materialize(disk, source);
    } catch (err) {
      await this.ctx.blobs.deleteLineage(backing.container).catch(() => undefined);
      throw err;
    }
    if ((await this.ctx.store.insert(keys.disk(ref), disk)) === undefined) {
      await this.ctx.blobs.deleteLineage(backing.container);
      throw computeErrors.conflict(`The disk '${ref.name}' was created by another request at the same time.`);
    }
    return { created: true, disk };
  }

  /** An empty disk attached to a fabric VM from the start (its VHD footer written, no data). */
  async createForVm(spec: VmDiskSpec): Promise<DiskRecord> {
    const uniqueId = this.ctx.newUuid();
    const now = this.ctx.clock.now().toISOString();
    const disk: DiskRecord = withoutUndefined({
      id: diskId(spec.ref),
      subscriptionId: spec.ref.subscriptionId,
      resourceGroup: spec.ref.resourceGroup,
      name: spec.ref.name,
      location: normalizeLocation(spec.location),
      tags: spec.tags,
      sku: spec.sku,
      uniqueId,
      timeCreated: now,
      osType: spec.osType,
      hyperVGeneration: spec.osType === undefined ? undefined : ('V1' as const),
      creationData: { createOption: 'Empty' as const },
      sizeBytes: spec.sizeBytes,
      backing: DiskBlobs.lineageOf(uniqueId),
      managedBy: spec.managedBy,
      deleteOption: 'Delete' as const,
      lastOwnershipUpdateTime: now,
    });
    if ((await this.ctx.store.get(keys.disk(spec.ref))) !== undefined) throw diskNameTaken(spec.ref);
    try {
      await this.materialize(disk, undefined);
    } catch (err) {
      await this.ctx.blobs.deleteLineage(disk.backing.container).catch(() => undefined);
      throw err;
    }
    if ((await this.ctx.store.insert(keys.disk(spec.ref), disk)) === undefined) {
      await this.ctx.blobs.deleteLineage(disk.backing.container);
      throw diskNameTaken(spec.ref);
    }
    return disk;
  }

  async find(ref: ResourceRef): Promise<DiskRecord | undefined> {
    const stored = await this.ctx.store.get<DiskRecord>(keys.disk(ref));
    if (stored === undefined) return undefined;
    const grant = stored.value.grant;
    if (grant !== undefined && isExpired(grant, this.ctx.clock.now())) {
      await this.endAccess(ref, { expiredGrantId: grant.id });
      return (await this.ctx.store.get<DiskRecord>(keys.disk(ref)))?.value;
    }
    return stored.value;
  }

  async get(ref: ResourceRef): Promise<DiskRecord> {
    const disk = await this.find(ref);
    if (disk === undefined) throw computeErrors.resourceNotFound(RESOURCE_TYPES.disk, ref.name, ref.resourceGroup);
    return disk;
  }

  async getById(id: string): Promise<DiskRecord | undefined> {
    const parsed = parseComputeId(id);
    return parsed?.kind === 'disk' ? this.find(parsed) : undefined;
  }

  async list(subscriptionId: string, resourceGroup?: string): Promise<DiskRecord[]> {
    const disks: DiskRecord[] = [];
    for await (const stored of this.ctx.store.list<DiskRecord>(subscriptionId, 'disk', resourceGroup)) {
      const grant = stored.value.grant;
      disks.push(grant !== undefined && isExpired(grant, this.ctx.clock.now()) ? await this.get(stored.value) : stored.value);
    }
    return disks.sort((a, b) => compareIds(a.id, b.id));
  }

  /** The disk's state as ARM shows it (Attached or Reserved by the power state of its VM). */
  async stateOf(disk: DiskRecord): Promise<DiskState> {
    if (disk.managedBy === undefined || disk.grant !== undefined) return diskStateOf(disk, undefined);
    const vm = await this.ctx.inventory.getById(disk.managedBy).catch(() => undefined);
    return diskStateOf(disk, vm?.powerState);
  }

  /** DELETE: false when the disk was already gone. */
  async delete(ref: ResourceRef): Promise<boolean> {
    let deleted: DiskRecord | undefined;
    await this.ctx.store.mutate<DiskRecord>(keys.disk(ref), (current) => {
      if (current === undefined) return undefined;
      const disk = current.value;
      if (disk.managedBy !== undefined) {
        throw computeErrors.operationNotAllowed(`Disk ${disk.name} is attached to VM ${disk.managedBy}.`);
      }
      if (disk.grant !== undefined && !isExpired(disk.grant, this.ctx.clock.now())) {
        const state = diskStateOf(disk, undefined);
        throw computeErrors.operationNotAllowed(`Disk ${disk.name} cannot be deleted while it is in state ${state}: call EndGetAccess first.`);
      }
      deleted = disk;
      return 'delete';
    });
    if (deleted === undefined) return false;
    if (deleted.grant !== undefined) await this.releaseGrant(deleted.grant);
    await retireLineage(this.ctx.blobs, deleted.backing.container);
    return true;
  }

  /** beginGetAccess: a SAS URL (Read: Unattached or Reserved disks; Write: disks ReadyToUpload). */
  async grantAccess(ref: ResourceRef, body: GrantAccessBody): Promise<{ accessSAS: string }> {
    const request = grantRequestOf(body, ['Read', 'Write'], 'disk');
    const disk = await this.get(ref);
    assertGrantable(disk, await this.stateOf(disk), request);
    const { id, url } = await this.ctx.blobs.grant(disk.backing, request.access === 'Write' ? 'rw' : 'r', request.durationInSeconds);
    const grant = grantOf(id, request, disk.backing.container, this.ctx.clock.now());
    try {
      await this.ctx.store.mutate<DiskRecord>(keys.disk(ref), async (current) => {
        if (current === undefined) throw computeErrors.resourceNotFound(RESOURCE_TYPES.disk, ref.name, ref.resourceGroup);
        if (current.value.uniqueId !== disk.uniqueId) throw computeErrors.conflict(`The disk '${ref.name}' was replaced while access was being granted.`);
        assertGrantable(current.value, await this.stateOf(current.value), request);
        return { value: { ...current.value, grant }, grantExpiresAt: grant.expiresAt };
      });
    } catch (err) {
      await this.ctx.blobs.revoke(grant.container, grant.id);
      throw err;
    }
    this.ctx.timers.arm({ kind: 'disk', ref }, grant);
    return { accessSAS: url };
  }

  /**
   * endGetAccess (or, with `expiredGrantId`, the end of that grant's time): the SAS stops working; an
   * upload disk whose Write access is ended by endGetAccess becomes Unattached. Idempotent.
   */
  async endAccess(ref: ResourceRef, options: { expiredGrantId?: string } = {}): Promise<void> {
    const stored = await this.ctx.store.get<DiskRecord>(keys.disk(ref));
    if (stored === undefined) {
      if (options.expiredGrantId !== undefined) return;
      throw computeErrors.resourceNotFound(RESOURCE_TYPES.disk, ref.name, ref.resourceGroup);
    }
    const grant = stored.value.grant;
    if (grant === undefined || (options.expiredGrantId !== undefined && grant.id !== options.expiredGrantId)) return;
    // Access stops first: a record that still shows the grant is fixed by the next call, a live SAS would not be.
    await this.ctx.blobs.revoke(grant.container, grant.id);
    await this.ctx.store.mutate<DiskRecord>(keys.disk(ref), (current) => {
      if (current === undefined || current.value.grant?.id !== grant.id) return undefined;
      const { grant: _ended, ...rest } = current.value;
      const finishesUpload = grant.access === 'Write' && options.expiredGrantId === undefined;
      return { value: finishesUpload ? { ...rest, awaitingUpload: undefined } : rest };
    });
    this.ctx.timers.disarm(grant.id);
  }

  /** Attaches Unattached disks to `vmId` (all or none). */
  async attach(ids: readonly string[], vmId: string): Promise<DiskRecord[]> {
    const attached: DiskRecord[] = [];
    try {
      for (const id of ids) {
        const parsed = parseComputeId(id);
        if (parsed?.kind !== 'disk') throw computeErrors.invalidParameter('managedDisk.id', `'${id.slice(0, 200)}' is not a managed disk id.`);
        const written = await this.ctx.store.mutate<DiskRecord>(keys.disk(parsed), async (current) => {
          if (current === undefined) throw computeErrors.resourceNotFound(RESOURCE_TYPES.disk, parsed.name, parsed.resourceGroup);
          const state = await this.stateOf(current.value);
          if (current.value.managedBy !== undefined) throw computeErrors.operationNotAllowed(`Disk ${current.value.name} is already attached to VM ${current.value.managedBy}.`);
          if (state !== 'Unattached') throw computeErrors.operationNotAllowed(`Disk ${current.value.name} is in state ${state} and cannot be attached: it must be Unattached.`);
          return { value: { ...current.value, managedBy: vmId, deleteOption: 'Detach', lastOwnershipUpdateTime: this.ctx.clock.now().toISOString() } };
        });
        attached.push(written!.value);
      }
    } catch (err) {
      await this.detach(attached.map((disk) => disk.id), vmId);
      throw err;
    }
    return attached;
  }

  /** Azure Disk Encryption of a VM's disks (the fabric's encryptVm): the same BEK and KEK on each. */
  async setEncryption(ids: readonly string[], settings: DiskEncryptionSettings): Promise<void> {
    for (const id of ids) {
      const parsed = parseComputeId(id);
      if (parsed?.kind !== 'disk') continue;
      await this.ctx.store.mutate<DiskRecord>(keys.disk(parsed), (current) =>
        current === undefined ? undefined : { value: { ...current.value, encryptionSettings: settings }, grantExpiresAt: current.value.grant?.expiresAt },
      );
    }
  }

  /** Clears `managedBy` of the disks attached to `vmId`. */
  async detach(ids: readonly string[], vmId: string): Promise<void> {
    for (const id of ids) {
      const parsed = parseComputeId(id);
      if (parsed?.kind !== 'disk') continue;
      await this.ctx.store.mutate<DiskRecord>(keys.disk(parsed), (current) => {
        if (current === undefined || current.value.managedBy === undefined || !sameId(current.value.managedBy, vmId)) return undefined;
        const { managedBy: _vm, ...rest } = current.value;
        return { value: { ...rest, lastOwnershipUpdateTime: this.ctx.clock.now().toISOString() } };
      });
    }
  }

  private async update(disk: DiskRecord, body: DiskBody): Promise<DiskRecord> {
    const createOption = createOptionOf(body.properties.creationData.createOption);
    if (createOption !== disk.creationData.createOption) throw computeErrors.propertyChangeNotAllowed('creationData.createOption');
    if (body.properties.diskSizeGB !== undefined && body.properties.diskSizeGB !== diskSizeGbOf(disk.sizeBytes)) {
      throw computeErrors.operationNotAllowed('The local fabric does not resize disks: create a new disk of the size you need.', 'diskSizeGB');
    }
    if (body.location !== undefined && normalizeLocation(body.location) !== disk.location) throw computeErrors.propertyChangeNotAllowed('location');
    const ref = { subscriptionId: disk.subscriptionId, resourceGroup: disk.resourceGroup, name: disk.name };
    const written = await this.ctx.store.mutate<DiskRecord>(keys.disk(ref), async (current) => {
      if (current === undefined) throw computeErrors.resourceNotFound(RESOURCE_TYPES.disk, ref.name, ref.resourceGroup);
      const sku = body.sku === undefined ? current.value.sku : skuOf(body.sku.name);
      if (sku !== current.value.sku) {
        const state = await this.stateOf(current.value);
        if (state !== 'Unattached' && state !== 'Reserved') {
          throw computeErrors.operationNotAllowed(`The SKU of disk ${current.value.name} can change only while it is unattached or its VM is deallocated (it is ${state}).`, 'sku');
        }
      }
      const next = withoutUndefined({ ...current.value, sku, tags: body.tags ?? current.value.tags, encryptionSettings: encryptionSettingsOfBody(body) ?? current.value.encryptionSettings });
      return { value: next, grantExpiresAt: next.grant?.expiresAt };
    });
    return written!.value;
  }

  /** What a new disk is made of, checked against Azure's rules for its createOption. */
  private async plan(
    ref: ResourceRef,
    location: string,
    body: DiskBody,
  ): Promise<{ creationData: CreationData; sizeBytes: number; source?: BlobLocation; osType?: OsType; hyperVGeneration?: HyperVGeneration }> {
    const { creationData, diskSizeGB } = body.properties;
    const createOption = createOptionOf(creationData.createOption);
    switch (createOption) {
      case 'Empty': {
        if (diskSizeGB === undefined) throw computeErrors.invalidParameter('diskSizeGB', 'diskSizeGB is required for a disk created with createOption Empty.');
        return { creationData: { createOption }, sizeBytes: checkedSizeGb(diskSizeGB) * GIB };
      }
      case 'Upload': {
        const size = creationData.uploadSizeBytes;
        if (size === undefined) throw computeErrors.invalidParameter('creationData.uploadSizeBytes', 'uploadSizeBytes is required for a disk created with createOption Upload.');
        checkUploadSize(size);
        return { creationData: { createOption, uploadSizeBytes: size }, sizeBytes: size - VHD_FOOTER_SIZE };
      }
      case 'Import': {
        const imported = await this.importSourceOf(creationData.sourceUri, creationData.storageAccountId);
        if (diskSizeGB !== undefined) {
          throw computeErrors.operationNotAllowed('The local fabric does not resize disks: leave diskSizeGB out to import the VHD at its size.', 'diskSizeGB');
        }
        return {
          creationData: { createOption, sourceUri: creationData.sourceUri, storageAccountId: creationData.storageAccountId },
          sizeBytes: imported.sizeBytes,
          source: imported.backing,
        };
      }
      case 'Copy':
      case 'Restore': {
        const sourceId = creationData.sourceResourceId;
        if (sourceId === undefined || sourceId.trim() === '') {
          throw computeErrors.invalidParameter('creationData.sourceResourceId', `sourceResourceId is required for a disk created with createOption ${createOption}.`);
        }
        const source = await this.sourceOf(ref, createOption, sourceId);
        if (source.location !== location) {
          throw computeErrors.invalidParameter('location', `The source '${sourceId}' is in ${source.location}; a disk made from it must be in the same region.`);
        }
        if (diskSizeGB !== undefined && diskSizeGB * GIB < source.sizeBytes) {
          throw computeErrors.invalidParameter('diskSizeGB', `A disk cannot be smaller than its source (${diskSizeGbOf(source.sizeBytes)} GiB).`);
        }
        if (diskSizeGB !== undefined && diskSizeGB !== diskSizeGbOf(source.sizeBytes)) {
          throw computeErrors.operationNotAllowed('The local fabric does not resize disks: leave diskSizeGB out to copy the source at its size.', 'diskSizeGB');
        }
        return {
          creationData: { createOption, sourceResourceId: sourceId, sourceUniqueId: source.uniqueId },
          sizeBytes: source.sizeBytes,
          source: source.backing,
          osType: source.osType,
          hyperVGeneration: source.hyperVGeneration,
        };
      }
    }
  }

  /**
   * The page blob an Import reads: a fixed VHD (its size a whole number of MiB plus the 512-byte footer, the footer
   * valid) in the storage account `storageAccountId` names, which must be the account the fabric's disks live in.
   */
  private async importSourceOf(sourceUri: string | undefined, storageAccountId: string | undefined): Promise<{ backing: BlobLocation; sizeBytes: number }> {
    if (sourceUri === undefined || sourceUri.trim() === '') throw computeErrors.invalidParameter('creationData.sourceUri', 'sourceUri is required for a disk created with createOption Import.');
    if (storageAccountId === undefined || storageAccountId.trim() === '') {
      throw computeErrors.invalidParameter('creationData.storageAccountId', 'storageAccountId is required for a disk created with createOption Import: the resource id of the storage account holding sourceUri.');
    }
    const located = this.ctx.blobs.locationOfUrl(sourceUri);
    if (located === undefined) {
      throw computeErrors.invalidParameter('creationData.sourceUri', `The local fabric imports page blobs of its own storage account (${this.ctx.blobs.accountName}) only; '${redactQuery(sourceUri)}' is elsewhere.`);
    }
    // Compute documents sourceUri as "the URI of a blob"; nothing documents a blob snapshot (`?snapshot=`) as a source, so
    // the fabric refuses one rather than let Kluis depend on what Azure may refuse (a restore stages the snapshot instead).
    if (located.snapshot !== undefined) {
      throw computeErrors.invalidParameter('creationData.sourceUri', `sourceUri must name a page blob, not a blob snapshot: '${redactQuery(sourceUri)}'.`);
    }
    const accountOfId = /\/providers\/Microsoft\.Storage\/storageAccounts\/([^/]+)$/i.exec(storageAccountId.trim())?.[1];
    if (accountOfId === undefined || accountOfId.toLowerCase() !== this.ctx.blobs.accountName.toLowerCase()) {
      throw computeErrors.invalidParameter('creationData.storageAccountId', `storageAccountId must name the storage account holding sourceUri (${this.ctx.blobs.accountName}).`);
    }
    const vhd = await this.ctx.blobs.fixedVhdSize(located);
    if (vhd === undefined) throw computeErrors.invalidParameter('creationData.sourceUri', `The source blob '${redactQuery(sourceUri)}' was not found.`);
    if ('problem' in vhd) throw computeErrors.invalidParameter('creationData.sourceUri', `The source blob is not a fixed VHD: ${vhd.problem}.`);
    return { backing: located, sizeBytes: vhd.dataSize };
  }

  /** The blob (snapshot) a Copy or Restore reads, and what the new disk inherits from it. */
  private async sourceOf(
    ref: ResourceRef,
    createOption: 'Copy' | 'Restore',
    sourceId: string,
  ): Promise<{ backing: BlobLocation; sizeBytes: number; uniqueId: string; location: string; osType?: OsType; hyperVGeneration?: HyperVGeneration }> {
    const parsed = parseComputeId(sourceId);
    const wanted = createOption === 'Copy' ? 'a disk or snapshot' : 'a disk restore point';
    const fits = createOption === 'Copy' ? parsed?.kind === 'disk' || parsed?.kind === 'snapshot' : parsed?.kind === 'diskRestorePoint';
    if (parsed === undefined || !fits) throw computeErrors.invalidParameter('creationData.sourceResourceId', `createOption ${createOption} needs the id of ${wanted}, got '${sourceId.slice(0, 200)}'.`);
    if (!sameId(parsed.subscriptionId, ref.subscriptionId)) {
      throw computeErrors.invalidParameter('creationData.sourceResourceId', 'The source must be in the same subscription as the new disk.');
    }
    if (parsed.kind === 'disk') {
      const disk = await this.find(parsed);
      if (disk === undefined) throw computeErrors.copySourceNotFound(sourceId);
      if (disk.awaitingUpload === true) throw computeErrors.operationNotAllowed(`Disk ${disk.name} is still awaiting its upload and cannot be copied.`);
      return { ...disk, backing: { container: disk.backing.container, blob: disk.backing.blob } };
    }
    if (parsed.kind === 'snapshot') {
      const snapshot = (await this.ctx.store.get<SnapshotRecord>(keys.snapshot(parsed)))?.value;
      if (snapshot === undefined) throw computeErrors.copySourceNotFound(sourceId);
      return snapshot;
    }
    if (parsed.kind !== 'diskRestorePoint') throw computeErrors.copySourceNotFound(sourceId);
    const restorePoint = (await this.ctx.store.get<RestorePointRecord>(keys.restorePoint({ ...parsed, name: parsed.restorePoint })))?.value;
    const drp = restorePoint?.disks.find((candidate) => sameId(candidate.name, parsed.name));
    if (restorePoint === undefined || drp === undefined) throw computeErrors.copySourceNotFound(sourceId);
    return { ...drp, uniqueId: drp.sourceUniqueId, location: restorePoint.source.location };
  }

  /** Writes the new disk's backing blob: a copy of its source, or zeros with a VHD footer (Empty), or nothing yet (Upload). */
  private async materialize(disk: DiskRecord, source: BlobLocation | undefined): Promise<void> {
    const metadata = { kluisdiskid: encodeURIComponent(disk.id) };
    if (source !== undefined) {
      if (!(await this.ctx.blobs.exists(source))) throw computeErrors.copySourceDataGone(disk.creationData.sourceResourceId ?? redactQuery(disk.creationData.sourceUri ?? ''));
      await this.ctx.blobs.copy(source, disk.backing, metadata);
      return;
    }
    if (disk.creationData.createOption === 'Upload') {
      await this.ctx.blobs.create(disk.backing, disk.sizeBytes + VHD_FOOTER_SIZE, metadata);
      return;
    }
    await this.ctx.blobs.create(disk.backing, disk.sizeBytes + VHD_FOOTER_SIZE, metadata);
    const footer = buildVhdFooter(disk.sizeBytes, { uniqueId: disk.uniqueId.replace(/-/g, ''), timestamp: new Date(disk.timeCreated) });
    await this.ctx.blobs.pageBlob(disk.backing).uploadPages(footer, disk.sizeBytes, VHD_FOOTER_SIZE);
  }

  private async releaseGrant(grant: NonNullable<DiskRecord['grant']>): Promise<void> {
    await this.ctx.blobs.revoke(grant.container, grant.id);
    this.ctx.timers.disarm(grant.id);
  }
}

function diskNameTaken(ref: ResourceRef) {
  return computeErrors.operationNotAllowed(`A disk named '${ref.name}' already exists in resource group '${ref.resourceGroup}'.`);
}

function assertGrantable(disk: DiskRecord, state: DiskState, request: GrantRequest): void {
  if (request.access === 'Write') {
    if (state !== 'ReadyToUpload') {
      throw computeErrors.operationNotAllowed(
        `Write access is granted only to a disk created for upload (createOption Upload) that is ReadyToUpload; disk ${disk.name} is ${state}.`,
      );
    }
    return;
  }
  switch (state) {
    case 'Unattached':
    case 'Reserved':
      return;
    case 'Attached':
      throw computeErrors.operationNotAllowed(
        `Disk ${disk.name} is attached to VM ${disk.managedBy ?? ''}: access can be granted only when the disk is unattached or its VM is deallocated.`,
      );
    case 'ActiveSAS':
    case 'ActiveUpload':
      throw computeErrors.operationNotAllowed(`Disk ${disk.name} is in state ${state}: call EndGetAccess before granting access again.`);
    case 'ReadyToUpload':
      throw computeErrors.operationNotAllowed(`Disk ${disk.name} is ReadyToUpload: grant Write access to upload its contents, then call EndGetAccess.`);
  }
}

function skuOf(name: string | undefined): DiskSku {
  if (name === undefined) return 'Standard_LRS';
  const sku = DISK_SKUS.find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  if (sku === undefined) throw computeErrors.invalidParameter('sku.name', `The disk SKU '${name.slice(0, 64)}' is not supported by the local fabric: use ${DISK_SKUS.join(', ')}.`);
  return sku;
}

const CREATE_OPTIONS = ['Empty', 'Upload', 'Copy', 'Restore', 'Import'] as const;

function createOptionOf(value: string): CreationData['createOption'] {
  const option = CREATE_OPTIONS.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
  if (option === undefined) {
    throw computeErrors.invalidParameter(
      'creationData.createOption',
      `The local fabric creates disks with createOption ${CREATE_OPTIONS.join(', ')}; '${value.slice(0, 64)}' is not supported.`,
    );
  }
  return option;
}

/** A URL without its query (a SAS in a message is a secret). */
function redactQuery(url: string): string {
  return url.split('?')[0].slice(0, 300);
}

function checkedSizeGb(sizeGb: number): number {
  if (sizeGb < 1 || sizeGb > MAX_DISK_SIZE_GB) throw computeErrors.invalidParameter('diskSizeGB', `diskSizeGB must be 1–${MAX_DISK_SIZE_GB}, got ${sizeGb}.`);
  if (sizeGb * GIB > MAX_FABRIC_DISK_BYTES) {
    throw computeErrors.invalidParameter('diskSizeGB', `The local fabric backs a disk with one page blob of at most 8 TiB: diskSizeGB can be at most ${Math.floor(MAX_FABRIC_DISK_BYTES / GIB)}.`);
  }
  return sizeGb;
}

function checkUploadSize(size: number): void {
  const target = 'creationData.uploadSizeBytes';
  if (size < MIN_UPLOAD_SIZE_BYTES || size > MAX_UPLOAD_SIZE_BYTES) {
    throw computeErrors.invalidParameter(target, `uploadSizeBytes must be ${MIN_UPLOAD_SIZE_BYTES}–${MAX_UPLOAD_SIZE_BYTES} (20 MiB to 32 TiB, plus the 512-byte VHD footer), got ${size}.`);
  }
  if ((size - VHD_FOOTER_SIZE) % MIB !== 0) {
    throw computeErrors.invalidParameter(target, `uploadSizeBytes must be a whole number of MiB plus the 512-byte VHD footer, got ${size}.`);
  }
  if (size > MAX_FABRIC_DISK_BYTES + VHD_FOOTER_SIZE) {
    throw computeErrors.invalidParameter(target, 'The local fabric backs a disk with one page blob of at most 8 TiB.');
  }
}

function compareIds(a: string, b: string): number {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Drops keys whose value is undefined (records are stored as JSON and compared in tests). */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
