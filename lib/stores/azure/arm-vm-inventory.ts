/**
 * VmInventory over Azure Resource Manager (`@azure/arm-compute`), read-only: the subscription's
 * virtual machines, mapped to Kluis's VirtualMachine record.
 *
 *   model      → id, name, location, hardwareProfile.vmSize, storageProfile.osDisk.osType,
 *                per disk (osDisk, dataDisks[] + lun): name, diskSizeGB, and either managedDisk
 *                (id, storageAccountType: a managed disk) or vhd.uri (an unmanaged page-blob VHD),
 *                provisioningState, osDisk.encryptionSettings (ADE with AAD), tags, timeCreated, etag
 *   instanceView → statuses `PowerState/…`, vmAgent (displayStatus Ready / Not Ready, vmAgentVersion),
 *                disks[].encryptionSettings (ADE without AAD keeps its settings here)
 *
 * `get` reads the model with `$expand=instanceView` (one call); `list` reads the models page by page
 * and each VM's instance view. A VM with a disk that is neither (an ephemeral OS disk) is left out of
 * lists and refused by `get` (KluisManagedDisksNotSupported). Fault flags (VSS, fsfreeze, scripts) are not
 * visible through ARM and stay unset. Writes throw KluisInventoryReadOnly: VMs are managed in Azure, not
 * through Kluis. Pointed at the local fabric's Compute endpoint (clientOptions.endpoint) it reads the
 * fabric's VMs the same way.
 */
import {
  ComputeManagementClient,
  type ComputeManagementClientOptionalParams,
  type DiskEncryptionSettings,
  type VirtualMachine as ArmVirtualMachine,
  type VirtualMachineInstanceView,
} from '@azure/arm-compute';
import { errors } from '../../domain/errors';
import {
  normalizeLocation,
  parseVmResourceId,
  storageTypeOfSku,
  vmRefFromResourceId,
  vmResourceId,
  type AgentStatus,
  type PowerState,
  type ProvisioningState,
  type StorageType,
  type VirtualMachine,
  type VmDisk,
  type VmEncryption,
  type VmRef,
} from '../../domain/virtual-machine';
import type { AbortOptions } from '../disk-store';
import type { DeleteVmOptions, StoredVirtualMachine, UpdateVmOptions, VmInventory, VmListFilter } from '../vm-inventory';
import { isStatus } from './rest-status';

export type ArmCredential = ConstructorParameters<typeof ComputeManagementClient>[0];

export interface ArmVmInventoryOptions {
  /** Passed to each ComputeManagementClient (endpoint, httpClient, retryOptions, …). */
  clientOptions?: ComputeManagementClientOptionalParams;
  /**
   * Standard or Premium for an unmanaged disk: it has its storage account's SKU, which the VM model
   * does not carry. Default: Standard for every disk. (A managed disk's SKU is in the model.)
   */
  storageTypeOf?: (vhdUri: string) => StorageType;
}

const GIB = 1024 ** 3;
const UNKNOWN_CREATION_TIME = new Date(0).toISOString();

export class ArmVmInventory implements VmInventory {
  private readonly clients = new Map<string, ComputeManagementClient>();

  constructor(
    private readonly credential: ArmCredential,
    private readonly options: ArmVmInventoryOptions = {},
  ) {}

  async get(ref: VmRef, options: AbortOptions = {}): Promise<StoredVirtualMachine | undefined> {
    let vm: ArmVirtualMachine;
    try {
      vm = await this.client(ref.subscriptionId).virtualMachines.get(ref.resourceGroup, ref.name, {
        expand: 'instanceView',
        abortSignal: options.abortSignal,
      });
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
    return this.toRecord(vm, vm.instanceView);
  }

  async getById(id: string, options: AbortOptions = {}): Promise<StoredVirtualMachine | undefined> {
    return this.get(vmRefFromResourceId(id), options);
  }

  async *list(subscriptionId: string, filter: VmListFilter = {}, options: AbortOptions = {}): AsyncIterable<StoredVirtualMachine> {
    const machines = this.client(subscriptionId).virtualMachines;
    const pages =
      filter.location === undefined
        ? machines.listAll({ abortSignal: options.abortSignal })
        : machines.listByLocation(normalizeLocation(filter.location), { abortSignal: options.abortSignal });
    for await (const vm of pages) {
      if (!hasReadableDisks(vm)) continue;
      const ref = parseVmResourceId(vm.id ?? '');
      if (ref === undefined) continue;
      let instanceView: VirtualMachineInstanceView;
      try {
        instanceView = await machines.instanceView(ref.resourceGroup, ref.name, { abortSignal: options.abortSignal });
      } catch (err) {
        if (isStatus(err, 404)) continue; // deleted while listing
        throw err;
      }
      yield this.toRecord(vm, instanceView);
    }
  }

  async create(_vm: VirtualMachine): Promise<StoredVirtualMachine> {
    throw errors.inventoryReadOnly('create');
  }

  async update(_vm: VirtualMachine, _options: UpdateVmOptions): Promise<StoredVirtualMachine> {
    throw errors.inventoryReadOnly('update');
  }

  async delete(_ref: VmRef, _options?: DeleteVmOptions): Promise<void> {
    throw errors.inventoryReadOnly('delete');
  }

  private client(subscriptionId: string): ComputeManagementClient {
    const key = subscriptionId.toLowerCase();
    let client = this.clients.get(key);
    if (client === undefined) {
      client = new ComputeManagementClient(this.credential, subscriptionId, this.options.clientOptions);
      this.clients.set(key, client);
    }
    return client;
  }

  private toRecord(vm: ArmVirtualMachine, instanceView: VirtualMachineInstanceView | undefined): StoredVirtualMachine {
    return { ...fromArmVirtualMachine(vm, instanceView, this.options.storageTypeOf ?? (() => 'Standard')), etag: vm.etag ?? '' };
  }
}

/** Maps an ARM VM (and its instance view) to Kluis's record; KluisManagedDisksNotSupported for a disk that is neither managed nor a VHD. */
export function fromArmVirtualMachine(
  vm: ArmVirtualMachine,
  instanceView: VirtualMachineInstanceView | undefined,
  storageTypeOf: (vhdUri: string) => StorageType,
): VirtualMachine {
  const ref = parseVmResourceId(vm.id ?? '');
  if (ref === undefined) throw errors.invalidRequest('id', `ARM returned a virtual machine without a valid resource id ('${vm.id ?? ''}').`);
  const name = vm.name ?? ref.name;
  if (!hasReadableDisks(vm)) throw errors.managedDisksNotSupported(name);
  const osDisk = vm.storageProfile!.osDisk!;
  const storageOf = (disk: ArmDisk): Pick<VmDisk, 'vhdUri' | 'managedDisk' | 'storageType'> => {
    const managed = disk.managedDisk;
    if (managed?.id !== undefined) {
      return {
        managedDisk: { id: managed.id, ...(managed.storageAccountType === undefined ? {} : { storageAccountType: managed.storageAccountType }) },
        storageType: storageTypeOfSku(managed.storageAccountType ?? 'Standard_LRS'),
      };
    }
    return { vhdUri: disk.vhd!.uri!, storageType: storageTypeOf(disk.vhd!.uri!) };
  };
  const disks: VmDisk[] = [
    { kind: 'os', name: osDisk.name ?? `${name}-osdisk`, ...storageOf(osDisk), sizeBytes: (osDisk.diskSizeGB ?? 0) * GIB },
    ...(vm.storageProfile!.dataDisks ?? []).map(
      (disk): VmDisk => ({ kind: 'data', lun: disk.lun, name: disk.name ?? `${name}-lun${disk.lun}`, ...storageOf(disk), sizeBytes: (disk.diskSizeGB ?? 0) * GIB }),
    ),
  ];
  const record: VirtualMachine = {
    id: vmResourceId(ref.subscriptionId, ref.resourceGroup, name),
    subscriptionId: ref.subscriptionId,
    resourceGroup: ref.resourceGroup,
    name,
    location: normalizeLocation(vm.location),
    vmSize: vm.hardwareProfile?.vmSize ?? '',
    osType: osDisk.osType ?? (vm.osProfile?.windowsConfiguration !== undefined ? 'Windows' : 'Linux'),
    powerState: powerStateOf(instanceView),
    provisioningState: provisioningStateOf(vm.provisioningState),
    agent: agentOf(instanceView),
    disks,
    createdAt: vm.timeCreated?.toISOString() ?? UNKNOWN_CREATION_TIME,
  };
  const encryption = encryptionOf(osDisk.encryptionSettings ?? instanceView?.disks?.find((d) => d.name === osDisk.name)?.encryptionSettings?.[0]);
  if (encryption !== undefined) record.encryption = encryption;
  if (vm.tags !== undefined && Object.keys(vm.tags).length > 0) record.tags = { ...vm.tags };
  return record;
}

type ArmDisk = Pick<NonNullable<NonNullable<ArmVirtualMachine['storageProfile']>['osDisk']>, 'managedDisk' | 'vhd'>;

/** Every disk is a managed disk (with an id) or an unmanaged VHD (with a URI). */
function hasReadableDisks(vm: ArmVirtualMachine): boolean {
  const osDisk = vm.storageProfile?.osDisk;
  const readable = (disk: ArmDisk) => disk.managedDisk?.id !== undefined || disk.vhd?.uri !== undefined;
  return osDisk !== undefined && readable(osDisk) && (vm.storageProfile?.dataDisks ?? []).every(readable);
}

/** `PowerState/running` → running; deallocated/deallocating → deallocated; anything else (stopped, starting, stopping, unknown) → stopped. */
function powerStateOf(instanceView: VirtualMachineInstanceView | undefined): PowerState {
  const code = instanceView?.statuses?.find((s) => s.code?.startsWith('PowerState/'))?.code?.slice('PowerState/'.length).toLowerCase();
  if (code === 'running') return 'running';
  if (code === 'deallocated' || code === 'deallocating') return 'deallocated';
  return 'stopped';
}

function provisioningStateOf(state: string | undefined): ProvisioningState {
  switch (state?.toLowerCase()) {
    case 'failed':
      return 'Failed';
    case 'creating':
      return 'Creating';
    case 'deleting':
      return 'Deleting';
    default:
      return 'Succeeded';
  }
}

function agentOf(instanceView: VirtualMachineInstanceView | undefined): VirtualMachine['agent'] {
  const agent = instanceView?.vmAgent;
  if (agent === undefined) return { status: 'Unavailable' };
  const display = agent.statuses?.[0]?.displayStatus?.replace(/\s+/g, '').toLowerCase();
  const status: AgentStatus = display === 'ready' ? 'Ready' : display === 'notready' ? 'NotReady' : 'Unavailable';
  const version = agent.vmAgentVersion;
  return version === undefined || version.toLowerCase() === 'unknown' ? { status } : { status, version };
}

function encryptionOf(settings: DiskEncryptionSettings | undefined): VmEncryption | undefined {
  if (settings === undefined) return undefined;
  const encryption: VmEncryption = { enabled: settings.enabled ?? settings.diskEncryptionKey !== undefined };
  if (settings.diskEncryptionKey !== undefined) {
    encryption.bek = { secretUrl: settings.diskEncryptionKey.secretUrl, vaultId: settings.diskEncryptionKey.sourceVault.id ?? '' };
  }
  if (settings.keyEncryptionKey !== undefined) {
    encryption.kek = { keyUrl: settings.keyEncryptionKey.keyUrl, vaultId: settings.keyEncryptionKey.sourceVault.id ?? '' };
  }
  return encryption;
}

