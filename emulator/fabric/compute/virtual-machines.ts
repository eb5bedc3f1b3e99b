/**
 * Virtual machines (`Microsoft.Compute/virtualMachines`) as ARM shows the fabric's VMs (its inventory
 * table): GET (with `$expand=instanceView`), the instance view, lists by subscription, resource group and
 * location; and PUT to create a VM from existing managed disks (`createOption: Attach`, as a restore
 * creates one), or to change an existing VM's tags or size. New VMs start running with a ready agent;
 * their disks become Attached. VMs of other shapes are made with kluis-fabric (`/fabric/…`).
 */
import {
  DEFAULT_AGENT_VERSION,
  DEFAULT_VM_SIZE,
  isManagedDisk,
  MAX_DATA_DISK_LUN,
  vmNameProblem,
  vmResourceId,
  type VirtualMachine,
  type VmDisk,
} from '../../../lib/domain/virtual-machine';
import type { StoredVirtualMachine } from '../../../lib/stores/vm-inventory';
import { normalizeLocation, type ComputeContext } from './context';
import { computeErrors } from './errors';
import type { ManagedDisks } from './managed-disks';
import type { DiskRecord } from './records';
import type { VirtualMachineBody } from './requests';
import { parseComputeId, RESOURCE_TYPES, sameId, type ResourceRef } from './resource-ids';
import type { VmShapeOptions } from './shapes';

type AttachSpec = { kind: 'os' | 'data'; lun?: number; id: string };

export class VirtualMachines {
  constructor(
    private readonly ctx: ComputeContext,
    private readonly disks: ManagedDisks,
  ) {}

  async get(ref: ResourceRef): Promise<StoredVirtualMachine> {
    const vm = await this.ctx.inventory.get(ref);
    if (vm === undefined) throw computeErrors.resourceNotFound(RESOURCE_TYPES.virtualMachine, ref.name, ref.resourceGroup);
    return vm;
  }

  async list(subscriptionId: string, filter: { resourceGroup?: string; location?: string } = {}): Promise<StoredVirtualMachine[]> {
    const vms: StoredVirtualMachine[] = [];
    for await (const vm of this.ctx.inventory.list(subscriptionId, filter.location === undefined ? {} : { location: filter.location })) {
      if (filter.resourceGroup === undefined || sameId(vm.resourceGroup, filter.resourceGroup)) vms.push(vm);
    }
    return vms.sort((a, b) => (a.id.toLowerCase() < b.id.toLowerCase() ? -1 : 1));
  }

  /** How each managed disk of `vm` was made and what happens to it with the VM (for the VM's ARM shape). */
  async shapeOptions(vm: VirtualMachine): Promise<Pick<VmShapeOptions, 'diskInfo'>> {
    const records = new Map<string, DiskRecord>();
    for (const disk of vm.disks.filter(isManagedDisk)) {
      const record = await this.disks.getById(disk.managedDisk.id);
      if (record !== undefined) records.set(disk.managedDisk.id.toLowerCase(), record);
    }
    return {
      diskInfo: (disk: VmDisk) => {
        const record = disk.managedDisk === undefined ? undefined : records.get(disk.managedDisk.id.toLowerCase());
        return record === undefined ? undefined : { createOption: record.creationData.createOption, deleteOption: record.deleteOption, sku: record.sku };
      },
    };
  }

  /** PUT: a new VM from existing managed disks (201), or new tags / size for an existing one (200). */
  async createOrUpdate(ref: ResourceRef, body: VirtualMachineBody): Promise<{ created: boolean; vm: StoredVirtualMachine }> {
    const problem = vmNameProblem(ref.name);
    if (problem !== undefined) throw computeErrors.invalidParameter('name', `The virtual machine name '${ref.name.slice(0, 100)}' is invalid: ${problem}.`);
    const attachments = attachmentsOf(body);
    const existing = await this.ctx.inventory.get(ref);
    if (existing !== undefined) return { created: false, vm: await this.update(existing, body, attachments) };
    if (body.location === undefined || body.location.trim() === '') throw computeErrors.locationRequired();
    const location = normalizeLocation(body.location);

    const disks = await Promise.all(
      attachments.map(async (spec) => {
        const parsed = parseComputeId(spec.id);
        if (parsed?.kind !== 'disk') throw computeErrors.invalidParameter('managedDisk.id', `'${spec.id.slice(0, 200)}' is not a managed disk id.`);
        const disk = await this.disks.find(parsed);
        if (disk === undefined) throw computeErrors.resourceNotFound(RESOURCE_TYPES.disk, parsed.name, parsed.resourceGroup);
        if (disk.location !== location) throw computeErrors.invalidParameter('location', `Disk ${disk.name} is in ${disk.location}; the VM must be in the same region.`);
        return { spec, disk };
      }),
    );
    const osDisk = disks.find(({ spec }) => spec.kind === 'os')!.disk;
    const osType = body.properties.storageProfile.osDisk.osType ?? osDisk.osType;
    if (osType === undefined) {
      throw computeErrors.invalidParameter('storageProfile.osDisk.osType', 'osType is required when attaching an OS disk that does not name its OS type.');
    }
    const vm: VirtualMachine = {
      id: vmResourceId(ref.subscriptionId, ref.resourceGroup, ref.name),
      subscriptionId: ref.subscriptionId,
      resourceGroup: ref.resourceGroup,
      name: ref.name,
      location,
      vmSize: body.properties.hardwareProfile?.vmSize ?? DEFAULT_VM_SIZE,
      osType,
      powerState: 'running',
      provisioningState: 'Creating',
      agent: { status: 'Ready', version: DEFAULT_AGENT_VERSION },
      disks: disks.map(({ spec, disk }): VmDisk => ({
        kind: spec.kind,
        ...(spec.lun === undefined ? {} : { lun: spec.lun }),
        name: disk.name,
        managedDisk: { id: disk.id, storageAccountType: disk.sku },
        storageType: disk.sku === 'Premium_LRS' ? 'Premium' : 'Standard',
        sizeBytes: disk.sizeBytes,
      })),
      createdAt: this.ctx.clock.now().toISOString(),
      ...(body.tags === undefined ? {} : { tags: body.tags }),
      // An OS disk encrypted with ADE (a restored one keeps its settings) makes an encrypted VM, as in Azure.
      ...(osDisk.encryptionSettings?.enabled === true ? { encryption: { ...osDisk.encryptionSettings } } : {}),
    };
    let stored: StoredVirtualMachine;
    try {
      stored = await this.ctx.inventory.create(vm);
    } catch (err) {
      if ((err as { code?: string }).code === 'KluisVmAlreadyExists') throw computeErrors.conflict(`The VM '${ref.name}' was created by another request at the same time.`);
      throw err;
    }
    try {
      await this.disks.attach(
        disks.map(({ disk }) => disk.id),
        vm.id,
      );
    } catch (err) {
      await this.ctx.inventory.delete(ref, { ifMatch: stored.etag }).catch(() => undefined);
      throw err;
    }
    return { created: true, vm: await this.ctx.inventory.update({ ...vm, provisioningState: 'Succeeded' }, { ifMatch: stored.etag }) };
  }

  private async update(existing: StoredVirtualMachine, body: VirtualMachineBody, attachments: AttachSpec[]): Promise<StoredVirtualMachine> {
    const current = existing.disks.map((disk) => `${disk.kind}/${disk.lun ?? ''}/${(disk.managedDisk?.id ?? disk.vhdUri ?? '').toLowerCase()}`).sort();
    const wanted = attachments.map((spec) => `${spec.kind}/${spec.lun ?? ''}/${spec.id.toLowerCase()}`).sort();
    if (current.join('\n') !== wanted.join('\n')) throw computeErrors.propertyChangeNotAllowed('storageProfile');
    if (body.location !== undefined && normalizeLocation(body.location) !== existing.location) throw computeErrors.propertyChangeNotAllowed('location');
    const { etag: _etag, ...record } = existing;
    const next: VirtualMachine = {
      ...record,
      vmSize: body.properties.hardwareProfile?.vmSize ?? existing.vmSize,
      ...(body.tags === undefined ? {} : { tags: body.tags }),
    };
    return this.ctx.inventory.update(next, { ifMatch: existing.etag });
  }
}

/** The disks a PUT attaches; InvalidParameter for anything but managed disks with createOption Attach. */
function attachmentsOf(body: VirtualMachineBody): AttachSpec[] {
  const { storageProfile } = body.properties;
  const check = (disk: VirtualMachineBody['properties']['storageProfile']['osDisk'], target: string): string => {
    if (disk.createOption.toLowerCase() !== 'attach' || storageProfile.imageReference !== undefined) {
      throw computeErrors.invalidParameter(
        `${target}.createOption`,
        'The local fabric creates VMs from existing managed disks (createOption Attach) only; make other VMs with kluis-fabric vm create.',
      );
    }
    if (disk.managedDisk?.id === undefined) {
      throw computeErrors.invalidParameter(`${target}.managedDisk.id`, 'The local fabric attaches managed disks only: give managedDisk.id.');
    }
    return disk.managedDisk.id;
  };
  const specs: AttachSpec[] = [{ kind: 'os', id: check(storageProfile.osDisk, 'storageProfile.osDisk') }];
  for (const [index, disk] of (storageProfile.dataDisks ?? []).entries()) {
    const target = `storageProfile.dataDisks[${index}]`;
    if (disk.lun < 0 || disk.lun > MAX_DATA_DISK_LUN) throw computeErrors.invalidParameter(`${target}.lun`, `A data disk's LUN must be 0–${MAX_DATA_DISK_LUN}, got ${disk.lun}.`);
    if (specs.some((spec) => spec.lun === disk.lun)) throw computeErrors.invalidParameter(`${target}.lun`, `LUN ${disk.lun} is used twice.`);
    specs.push({ kind: 'data', lun: disk.lun, id: check(disk, target) });
  }
  const ids = specs.map((spec) => spec.id.toLowerCase());
  if (new Set(ids).size !== ids.length) throw computeErrors.invalidParameter('storageProfile', 'A disk can be attached to a VM once.');
  return specs;
}

