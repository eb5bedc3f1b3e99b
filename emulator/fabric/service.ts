/**
 * The local VM fabric: virtual machines whose disks are real fixed-VHD page blobs in the source
 * storage account — unmanaged (a VHD blob per disk in the VM's container) or managed (Microsoft.Compute
 * disks of the fabric's Compute service, compute/, each backed by a page blob) — and whose records live
 * in the VM inventory. It creates and deletes VMs, starts and
 * stops them, writes or clears data on their disks, and injects agent faults (agent status, VSS,
 * fsfreeze, snapshot-status reporting, provisioning state) so that every backup path can be exercised.
 *
 * Create claims the name first (record in state Creating), then writes the blobs (for managed disks:
 * creates the disks, attached to the VM), then marks the VM Succeeded (Failed when a blob could not be
 * written); delete marks it Deleting, deletes the blobs (with their snapshots) or the managed disks, and
 * removes the record last. Guest writes to managed disks wait for a restore point being taken, so a
 * restore point is one point in time across the VM's disks.
 *
 * `encryptVm` plays Azure Disk Encryption: it makes the KEK key and the wrapped BEK secret in a Key Vault
 * (ade-keys.ts, the real SDK) and records the VM's encryption settings as Azure shows them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { errors, isKluisErrorLike } from '../../lib/domain/errors';
import type { ByteRange } from '../../lib/engine/domain/page-ranges';
import {
  assertValidVmRef,
  createVmRequestSchema,
  DEFAULT_AGENT_VERSION,
  diskSlot,
  isManagedDisk,
  storageTypeOfSku,
  vmResourceId,
  type CreateVmRequestInput,
  type PowerState,
  type VirtualMachine,
  type VmDisk,
  type VmRef,
} from '../../lib/domain/virtual-machine';
import { buildVhdFooter, PAGE_SIZE } from '../../lib/engine/domain/vhd';
import type { BlobRef } from '../../lib/stores/disk-store';
import type { PageBlobStore } from '../../lib/stores/page-blob-store';
import type { KeyVaultLocator } from '../../lib/stores/key-vault-locator';
import type { StoredVirtualMachine, VmInventory, VmListFilter } from '../../lib/stores/vm-inventory';
import type { AdeKeyWriter } from './ade-keys';
import type { ComputeFabric } from './compute/compute-fabric';
import { diskId } from './compute/resource-ids';
import { clearRanges, planRandomBlocks, writeRandomRanges } from './disk-activity';
import { vmDiskBlobName, vmDiskContainer, vmDiskName } from './disk-names';
import { seededRandom } from '../seeded-random';
import {
  clearDataRequestSchema,
  encryptVmRequestSchema,
  faultsRequestSchema,
  parseRequest,
  writeDataRequestSchema,
  type ClearDataRequestInput,
  type DiskSelector,
  type EncryptVmRequestInput,
  type FaultsRequest,
  type WriteDataRequestInput,
} from './requests';

/** Where `kluis-fabric` and the sample fabric put VMs unless told otherwise. */
export const FABRIC_DEFAULTS = {
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroup: 'kluis-vms',
} as const;

/** The OS disk's first 64 KiB is always written at creation: a disk that boots has a boot area. */
const BOOT_AREA_BYTES = 64 * 1024;
const UPDATE_ATTEMPTS = 5;

export interface FabricServiceOptions {
  inventory: VmInventory;
  /** The source storage account. */
  disks: PageBlobStore;
  clock?: () => Date;
  /** Seeds for writes that give none; default: random. */
  newSeed?: () => string;
  /** Disk encryption (encryptVm): where Key Vaults are, and the ADE side that writes the KEK and BEK. */
  keyVaults?: { locator: KeyVaultLocator; writer: AdeKeyWriter };
  /** The fabric's Compute service (same storage account as `disks`): needed for VMs with managed disks. */
  compute?: ComputeFabric;
  /** Creates a VM's resource group when it does not exist yet (the ARM routes need it); absent: groups are not tracked. */
  ensureResourceGroup?: (subscriptionId: string, name: string, location: string) => Promise<void>;
}

export interface DiskActivity {
  kind: VmDisk['kind'];
  lun?: number;
  /** The engine's disk slot (OS 0, data LUN k → k + 1). */
  slot: number;
  name: string;
  bytes: number;
  ranges: ByteRange[];
}

export interface DiskActivityResult {
  vm: string;
  /** The seed used for random blocks and bytes (absent for an explicit clear range). */
  seed?: string;
  disks: DiskActivity[];
}

export class FabricService {
  private readonly inventory: VmInventory;
  private readonly disks: PageBlobStore;
  private readonly clock: () => Date;
  private readonly newSeed: () => string;
  private readonly keyVaults?: FabricServiceOptions['keyVaults'];
  private readonly compute?: ComputeFabric;
  private readonly ensureResourceGroup?: FabricServiceOptions['ensureResourceGroup'];

  constructor(options: FabricServiceOptions) {
    this.ensureResourceGroup = options.ensureResourceGroup;
    this.inventory = options.inventory;
    this.disks = options.disks;
    this.clock = options.clock ?? (() => new Date());
    this.newSeed = options.newSeed ?? (() => randomBytes(8).toString('hex'));
    this.keyVaults = options.keyVaults;
    this.compute = options.compute;
  }

  async createVm(ref: VmRef, body: CreateVmRequestInput | unknown): Promise<StoredVirtualMachine> {
    assertValidVmRef(ref);
    const request = parseRequest(createVmRequestSchema, body);
    const compute = request.managedDisks ? this.requireCompute() : undefined;
    const container = vmDiskContainer(ref);
    const diskSpecs = [
      { kind: 'os' as const, lun: undefined, ...request.osDisk },
      ...request.dataDisks.map((d) => ({ kind: 'data' as const, ...d })),
    ];
    const skuOf = (spec: (typeof diskSpecs)[number]) => spec.sku ?? (spec.storageType === 'Premium' ? 'Premium_LRS' : 'Standard_LRS');
    const vm: VirtualMachine = {
      id: vmResourceId(ref.subscriptionId, ref.resourceGroup, ref.name),
      subscriptionId: ref.subscriptionId,
      resourceGroup: ref.resourceGroup,
      name: ref.name,
      location: request.location,
      vmSize: request.vmSize,
      osType: request.osType,
      powerState: request.powerState,
      provisioningState: 'Creating',
      agent: withoutUndefined(request.agent),
      disks: diskSpecs.map((spec) => {
        const name = vmDiskName(ref.name, spec);
        const disk: VmDisk =
          compute === undefined
            ? { kind: spec.kind, name, vhdUri: this.disks.blobUrl({ container, blob: vmDiskBlobName(ref.name, spec) }), storageType: spec.storageType, sizeBytes: spec.sizeBytes }
            : {
                kind: spec.kind,
                name,
                managedDisk: { id: diskId({ subscriptionId: ref.subscriptionId, resourceGroup: ref.resourceGroup, name }), storageAccountType: skuOf(spec) },
                storageType: storageTypeOfSku(skuOf(spec)),
                sizeBytes: spec.sizeBytes,
              };
        if (spec.kind === 'data') disk.lun = spec.lun;
        return disk;
      }),
      createdAt: this.clock().toISOString(),
    };
    if (request.encryption !== undefined) vm.encryption = withoutUndefined(request.encryption);
    if (request.tags !== undefined) vm.tags = request.tags;

    await this.ensureResourceGroup?.(ref.subscriptionId, ref.resourceGroup, vm.location);
    const stored = await this.inventory.create(vm);
    try {
      if (compute === undefined) {
        await this.disks.createContainerIfNotExists(container);
      } else {
        await compute.createVmDisks(
          vm,
          diskSpecs.map((spec) => ({
            ref: { subscriptionId: ref.subscriptionId, resourceGroup: ref.resourceGroup, name: vmDiskName(ref.name, spec) },
            sku: skuOf(spec),
            sizeBytes: spec.sizeBytes,
            ...(spec.kind === 'os' ? { osType: request.osType } : {}),
          })),
        );
      }
      const seed = request.initialData.seed ?? vm.id.toLowerCase();
      await Promise.all(vm.disks.map((disk) => this.writeInitialData(vm, disk, request.initialData.percent, seed)));
    } catch (err) {
      await this.inventory.update({ ...vm, provisioningState: 'Failed' }, { ifMatch: stored.etag }).catch(() => undefined);
      throw err;
    }
    return this.inventory.update({ ...vm, provisioningState: 'Succeeded' }, { ifMatch: stored.etag });
  }

  async getVm(ref: VmRef): Promise<StoredVirtualMachine> {
    const vm = await this.inventory.get(ref);
    if (vm === undefined) throw errors.vmNotFound(ref.name);
    return vm;
  }

  /** The subscription's VMs, optionally of one resource group and/or region, sorted by resource group and name. */
  async listVms(subscriptionId: string, filter: VmListFilter & { resourceGroup?: string } = {}): Promise<StoredVirtualMachine[]> {
    const all: StoredVirtualMachine[] = [];
    for await (const vm of this.inventory.list(subscriptionId, { location: filter.location })) {
      if (filter.resourceGroup === undefined || vm.resourceGroup.toLowerCase() === filter.resourceGroup.toLowerCase()) all.push(vm);
    }
    const key = (vm: VirtualMachine) => `${vm.resourceGroup}/${vm.name}`.toLowerCase();
    return all.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }

  /**
   * Deletes the VM and its disk blobs (with their snapshots), or its managed disks (those it was created
   * with; attached ones are detached); succeeds when the VM is already gone. Refused while a managed disk
   * of the VM has an active SAS.
   */
  async deleteVm(ref: VmRef): Promise<void> {
    const vm = await this.inventory.get(ref);
    if (vm === undefined) return;
    const managed = vm.disks.some(isManagedDisk);
    if (managed) await this.requireCompute().releaseVmDisks(vm);
    const deleting = await this.mutate(ref, (current) => ({ ...current, provisioningState: 'Deleting' }));
    await Promise.all(deleting.disks.filter((disk) => !isManagedDisk(disk)).map((disk) => this.disks.deleteBlob(this.blobOf(deleting, disk))));
    await this.inventory.delete(ref);
  }

  start(ref: VmRef): Promise<StoredVirtualMachine> {
    return this.setPowerState(ref, 'running');
  }

  stop(ref: VmRef): Promise<StoredVirtualMachine> {
    return this.setPowerState(ref, 'stopped');
  }

  deallocate(ref: VmRef): Promise<StoredVirtualMachine> {
    return this.setPowerState(ref, 'deallocated');
  }

  /** A VM whose managed disk has an active SAS cannot start (OperationNotAllowed), as in Azure. */
  async setPowerState(ref: VmRef, powerState: PowerState): Promise<StoredVirtualMachine> {
    if (powerState === 'running') {
      const vm = await this.getVm(ref);
      if (vm.powerState !== 'running' && vm.disks.some(isManagedDisk)) await this.requireCompute().assertCanStart(vm);
    }
    return this.mutate(ref, (vm) => {
      assertSettled(vm);
      return { ...vm, powerState };
    });
  }

  /** Overwrites random 64 KiB blocks covering `percent` of each selected disk with random bytes. */
  async writeData(ref: VmRef, body: WriteDataRequestInput | unknown): Promise<DiskActivityResult> {
    const request = parseRequest(writeDataRequestSchema, body);
    const vm = await this.getVm(ref);
    assertSettled(vm);
    const seed = request.seed ?? this.newSeed();
    const disks = await this.asGuest(vm, () =>
      Promise.all(
        selectDisks(vm, request.disk).map(async (disk) => {
          const random = seededRandom(`${seed}/${diskSlot(disk)}`);
          const ranges = planRandomBlocks(disk.sizeBytes, request.percent, random);
          const bytes = await writeRandomRanges(this.disks, await this.diskBlobOf(vm, disk), ranges, random);
          return activity(disk, bytes, ranges);
        }),
      ),
    );
    return { vm: vm.id, seed, disks };
  }

  /** Clears one range (default: the whole data area) or random blocks of each selected disk; the footer stays. */
  async clearData(ref: VmRef, body: ClearDataRequestInput | unknown): Promise<DiskActivityResult> {
    const request = parseRequest(clearDataRequestSchema, body);
    const vm = await this.getVm(ref);
    assertSettled(vm);
    const selected = selectDisks(vm, request.disk);
    const seed = request.percent === undefined ? undefined : (request.seed ?? this.newSeed());
    const plans = selected.map((disk) => {
      if (request.percent !== undefined) {
        return { disk, ranges: planRandomBlocks(disk.sizeBytes, request.percent, seededRandom(`${seed}/${diskSlot(disk)}`)) };
      }
      const offset = request.offset ?? 0;
      const end = request.length === undefined ? disk.sizeBytes : offset + request.length;
      if (offset >= disk.sizeBytes || end > disk.sizeBytes) {
        throw errors.invalidRequest(
          request.length === undefined ? 'offset' : 'length',
          `The range ${offset}–${end} does not fit the ${disk.sizeBytes}-byte data area of disk '${disk.name}' (the VHD footer cannot be cleared).`,
        );
      }
      return { disk, ranges: [{ start: offset, end }] };
    });
    const disks = await this.asGuest(vm, () =>
      Promise.all(plans.map(async ({ disk, ranges }) => activity(disk, await clearRanges(this.disks, await this.diskBlobOf(vm, disk), ranges), ranges))),
    );
    return seed === undefined ? { vm: vm.id, disks } : { vm: vm.id, seed, disks };
  }

  /**
   * Azure Disk Encryption: a BEK secret wrapped by a KEK key (or a BEK only) in the Key Vault, recorded in
   * the VM's encryption settings (`{enabled, bek:{secretUrl, vaultId}, kek:{keyUrl, vaultId}}`). Running it
   * again encrypts with a new BEK (and the same KEK unless another is named).
   */
  async encryptVm(ref: VmRef, body: EncryptVmRequestInput | unknown): Promise<StoredVirtualMachine> {
    const request = parseRequest(encryptVmRequestSchema, body);
    if (this.keyVaults === undefined) {
      throw errors.invalidConfiguration('KLUIS_KEYVAULT_EMULATOR_URL', 'the fabric has no Key Vault to encrypt VMs with; start the Key Vault emulator and name its admin API');
    }
    const vm = await this.getVm(ref);
    assertSettled(vm);
    const located = await this.keyVaults.locator.locate(request.keyVaultId);
    if (located === undefined) throw errors.invalidRequest('keyVaultId', `The Key Vault '${request.keyVaultId.slice(0, 200)}' does not exist.`);
    const keys = await this.keyVaults.writer.writeKeys(request.keyVaultUrl ?? located.url, {
      vmName: vm.name,
      osType: vm.osType,
      bekOnly: request.bekOnly,
      ...(request.kekName === undefined ? {} : { kekName: request.kekName }),
    });
    const encryption = {
      enabled: true,
      bek: { secretUrl: keys.secretUrl, vaultId: located.id },
      ...(keys.keyUrl === undefined ? {} : { kek: { keyUrl: keys.keyUrl, vaultId: located.id } }),
    };
    // Managed disks carry ADE's settings themselves (encryptionSettingsCollection), as Azure shows them.
    if (vm.disks.some(isManagedDisk)) await this.requireCompute().encryptVmDisks(vm, encryption);
    return this.mutate(ref, (current) => ({ ...current, encryption }));
  }

  /** Sets agent faults and/or the provisioning state (see faultsRequestSchema). */
  async setFaults(ref: VmRef, body: FaultsRequest | unknown): Promise<StoredVirtualMachine> {
    const faults = parseRequest(faultsRequestSchema, body);
    return this.mutate(ref, (vm) => {
      if (vm.osType === 'Linux' && faults.vss !== undefined) throw errors.invalidRequest('vss', 'VSS exists only on Windows VMs.');
      if (vm.osType === 'Windows') {
        for (const field of ['fsFreeze', 'preScript', 'postScript'] as const) {
          if (faults[field] !== undefined) throw errors.invalidRequest(field, `${field} applies to Linux VMs only.`);
        }
      }
      const agent = { ...vm.agent };
      if (faults.agentStatus !== undefined) agent.status = faults.agentStatus;
      if (faults.agentVersion !== undefined) agent.version = faults.agentVersion;
      if (faults.vss !== undefined) agent.vss = faults.vss;
      if (faults.fsFreeze !== undefined) agent.fsFreeze = faults.fsFreeze;
      if (faults.snapshotStatus !== undefined) agent.snapshotStatus = faults.snapshotStatus;
      for (const field of ['preScript', 'postScript'] as const) {
        const value = faults[field];
        if (value === null) delete agent[field];
        else if (value !== undefined) agent[field] = value;
      }
      if ((agent.preScript === undefined) !== (agent.postScript === undefined)) {
        throw errors.invalidRequest(agent.preScript === undefined ? 'preScript' : 'postScript', 'Give both preScript and postScript, or neither.');
      }
      return { ...vm, agent, provisioningState: faults.provisioningState ?? vm.provisioningState };
    });
  }

  /** Clears every fault: agent Ready, VSS/fsfreeze healthy, snapshot status reported, provisioning Succeeded. Scripts stay. */
  async repair(ref: VmRef): Promise<StoredVirtualMachine> {
    return this.mutate(ref, (vm) => {
      const agent: VirtualMachine['agent'] = { status: 'Ready', version: vm.agent.version ?? DEFAULT_AGENT_VERSION };
      if (vm.agent.preScript !== undefined) agent.preScript = vm.agent.preScript;
      if (vm.agent.postScript !== undefined) agent.postScript = vm.agent.postScript;
      return { ...vm, agent, provisioningState: 'Succeeded' };
    });
  }

  /** The page blob behind an unmanaged disk of a fabric VM. */
  blobOf(vm: VmRef, disk: Pick<VmDisk, 'kind' | 'lun'>): BlobRef {
    return { container: vmDiskContainer(vm), blob: vmDiskBlobName(vm.name, disk) };
  }

  /** The page blob behind any disk of a fabric VM: its VHD blob, or the blob behind its managed disk. */
  async diskBlobOf(vm: VirtualMachine, disk: VmDisk): Promise<BlobRef> {
    if (!isManagedDisk(disk)) return this.blobOf(vm, disk);
    const { container, blob } = await this.requireCompute().diskBlobOf(disk);
    return { container, blob };
  }

  /** Runs guest I/O; for managed disks outside any restore point being taken of the VM. */
  private asGuest<T>(vm: VirtualMachine, write: () => Promise<T>): Promise<T> {
    return vm.disks.some(isManagedDisk) ? this.requireCompute().guestWrite(vm.id, write) : write();
  }

  private requireCompute(): ComputeFabric {
    if (this.compute === undefined) {
      throw errors.invalidConfiguration('KLUIS_INVENTORY', 'this fabric has no Compute service: VMs with managed disks need the local fabric of kluis-host');
    }
    return this.compute;
  }

  /** A new unmanaged disk gets its blob and VHD footer here (a managed one has both from the Compute service), then initial data. */
  private async writeInitialData(vm: VirtualMachine, disk: VmDisk, percent: number, seed: string): Promise<void> {
    const slot = diskSlot(disk);
    const ref = await this.diskBlobOf(vm, disk);
    if (!isManagedDisk(disk)) {
      await this.disks.createPageBlob(ref, disk.sizeBytes + PAGE_SIZE, { metadata: { kluisfabricvm: encodeURIComponent(vm.id), kluisfabricslot: String(slot) } });
      const footer = buildVhdFooter(disk.sizeBytes, { seed: `${vm.id.toLowerCase()}/${slot}`, timestamp: this.clock() });
      await this.disks.uploadPages(ref, disk.sizeBytes, footer, { transactionalContentMD5: md5(footer) });
    }
    const random = seededRandom(`${seed}/${slot}`);
    const ranges = planRandomBlocks(disk.sizeBytes, percent, random);
    if (disk.kind === 'os' && !ranges.some((r) => r.start === 0)) ranges.unshift({ start: 0, end: Math.min(BOOT_AREA_BYTES, disk.sizeBytes) });
    await writeRandomRanges(this.disks, ref, mergeAdjacent(ranges), random);
  }

  /** Read, change, write under the ETag; retried when another change came in between. */
  private async mutate(ref: VmRef, change: (vm: StoredVirtualMachine) => VirtualMachine): Promise<StoredVirtualMachine> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.getVm(ref);
      const next = change(current);
      try {
        return await this.inventory.update(next, { ifMatch: current.etag });
      } catch (err) {
        if (attempt < UPDATE_ATTEMPTS && isKluisErrorLike(err) && err.code === 'KluisCatalogConflict') continue;
        throw err;
      }
    }
  }
}

function assertSettled(vm: VirtualMachine): void {
  if (vm.provisioningState === 'Creating' || vm.provisioningState === 'Deleting') {
    throw errors.vmNotInDesirableState(vm.name, vm.provisioningState);
  }
}

function selectDisks(vm: VirtualMachine, selector: DiskSelector): VmDisk[] {
  if (selector === 'all') return [...vm.disks].sort((a, b) => diskSlot(a) - diskSlot(b));
  const disk = vm.disks.find((d) => (selector === 'os' ? d.kind === 'os' : d.kind === 'data' && d.lun === selector));
  if (disk === undefined) throw errors.invalidRequest('disk', `The VM '${vm.name}' has no data disk at LUN ${String(selector)}.`);
  return [disk];
}

function activity(disk: VmDisk, bytes: number, ranges: ByteRange[]): DiskActivity {
  const result: DiskActivity = { kind: disk.kind, slot: diskSlot(disk), name: disk.name, bytes, ranges };
  if (disk.lun !== undefined) result.lun = disk.lun;
  return result;
}

function mergeAdjacent(ranges: ByteRange[]): ByteRange[] {
  const merged: Array<{ start: number; end: number }> = [];
  for (const range of [...ranges].sort((a, b) => a.start - b.start)) {
    const last = merged[merged.length - 1];
    if (last !== undefined && range.start <= last.end) last.end = Math.max(last.end, range.end);
    else merged.push({ start: range.start, end: range.end });
  }
  return merged;
}

function md5(data: Uint8Array): Buffer {
  return createHash('md5').update(data).digest();
}

/** zod leaves optional keys present with `undefined`; the stored record has them absent. */
function withoutUndefined<T extends object>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
