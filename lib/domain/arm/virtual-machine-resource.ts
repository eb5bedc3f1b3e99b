/**
 * A VM of the inventory as Microsoft.Compute shows it (`virtualMachines` GET, api-version 2022-11-01
 * and later): id, type, location, tags, `vmId`, hardware, storage (managed disks: `managedDisk`; unmanaged
 * disks: `vhd.uri`), OS
 * and — with `$expand=instanceView` — the power state and VM agent. Fabric VMs are the Standard
 * security type, which Azure shows without a `securityProfile`.
 */
import { createHash } from 'node:crypto';
import { VIRTUAL_MACHINE_RESOURCE_TYPE } from '../arm-names';
import type { VirtualMachine, VmDisk } from '../virtual-machine';

const GIB = 1024 ** 3;
const ADMIN_USERNAME = 'kluisadmin';

/** A stable GUID for the VM (Azure's `vmId`): derived from its id and creation time, so a re-created VM gets a new one. */
export function vmUniqueId(vm: Pick<VirtualMachine, 'id' | 'createdAt'>): string {
  const hex = createHash('sha256').update(`${vm.id.toLowerCase()}|${vm.createdAt}`).digest('hex');
  // RFC 4122 layout, version 5 style bits, so clients that parse it as a UUID accept it.
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface VirtualMachineResourceOptions {
  /** `$expand=instanceView`: include `properties.instanceView`. */
  instanceView?: boolean;
}

export function virtualMachineResource(vm: VirtualMachine, options: VirtualMachineResourceOptions = {}): Record<string, unknown> {
  const osDisk = vm.disks.find((disk) => disk.kind === 'os');
  const dataDisks = vm.disks.filter((disk) => disk.kind === 'data').sort((a, b) => (a.lun ?? 0) - (b.lun ?? 0));
  return {
    id: vm.id,
    name: vm.name,
    type: VIRTUAL_MACHINE_RESOURCE_TYPE,
    location: vm.location,
    tags: vm.tags ?? {},
    properties: {
      vmId: vmUniqueId(vm),
      hardwareProfile: { vmSize: vm.vmSize },
      storageProfile: {
        ...(osDisk === undefined ? {} : { osDisk: osDiskResource(vm, osDisk) }),
        dataDisks: dataDisks.map(dataDiskResource),
      },
      osProfile: osProfile(vm),
      networkProfile: { networkInterfaces: [] },
      diagnosticsProfile: { bootDiagnostics: { enabled: false } },
      provisioningState: vm.provisioningState,
      timeCreated: vm.createdAt,
      ...(options.instanceView ? { instanceView: instanceView(vm) } : {}),
    },
  };
}

/** `…/virtualMachines/{vm}/instanceView` (VirtualMachineInstanceView). */
export function instanceView(vm: VirtualMachine): Record<string, unknown> {
  const agentReady = vm.agent.status === 'Ready';
  return {
    computerName: computerName(vm),
    osName: vm.osType === 'Windows' ? 'Windows Server 2022 Datacenter' : 'ubuntu',
    vmAgent: {
      vmAgentVersion: vm.agent.version ?? 'Unknown',
      statuses: [
        {
          code: 'ProvisioningState/succeeded',
          level: agentReady ? 'Info' : 'Warning',
          displayStatus: vm.agent.status === 'Unavailable' ? 'Not Ready' : agentReady ? 'Ready' : 'Not Ready',
          message: agentReady ? 'Guest Agent is running' : 'VM Agent is unresponsive.',
        },
      ],
    },
    disks: vm.disks.map((disk) => ({ name: disk.name, statuses: [{ code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded' }] })),
    statuses: [provisioningStatus(vm), powerStatus(vm)],
  };
}

function osDiskResource(vm: VirtualMachine, disk: VmDisk): Record<string, unknown> {
  return {
    osType: vm.osType,
    name: disk.name,
    ...diskStorage(disk),
    caching: 'ReadWrite',
    createOption: 'FromImage',
    ...diskSize(disk),
    ...(vm.encryption?.enabled ? { encryptionSettings: encryptionSettings(vm) } : {}),
  };
}

function dataDiskResource(disk: VmDisk): Record<string, unknown> {
  return {
    lun: disk.lun ?? 0,
    name: disk.name,
    ...diskStorage(disk),
    caching: 'None',
    createOption: 'Empty',
    ...diskSize(disk),
    toBeDetached: false,
  };
}

/** Where the disk lives: the managed disk resource, or the unmanaged VHD's URI. */
function diskStorage(disk: VmDisk): Record<string, unknown> {
  if (disk.managedDisk !== undefined) {
    return { managedDisk: { id: disk.managedDisk.id, ...(disk.managedDisk.storageAccountType === undefined ? {} : { storageAccountType: disk.managedDisk.storageAccountType }) } };
  }
  return { vhd: { uri: disk.vhdUri } };
}

function diskSize(disk: VmDisk): { diskSizeGB?: number } {
  return disk.sizeBytes > 0 ? { diskSizeGB: Math.max(1, Math.ceil(disk.sizeBytes / GIB)) } : {};
}

/** Azure Disk Encryption settings as an unmanaged OS disk shows them (BEK secret, optional KEK). */
function encryptionSettings(vm: VirtualMachine): Record<string, unknown> {
  const encryption = vm.encryption;
  return {
    enabled: true,
    ...(encryption?.bek === undefined ? {} : { diskEncryptionKey: { secretUrl: encryption.bek.secretUrl, sourceVault: { id: encryption.bek.vaultId } } }),
    ...(encryption?.kek === undefined ? {} : { keyEncryptionKey: { keyUrl: encryption.kek.keyUrl, sourceVault: { id: encryption.kek.vaultId } } }),
  };
}

function osProfile(vm: VirtualMachine): Record<string, unknown> {
  return {
    computerName: computerName(vm),
    adminUsername: ADMIN_USERNAME,
    ...(vm.osType === 'Windows'
      ? { windowsConfiguration: { provisionVMAgent: true, enableAutomaticUpdates: true } }
      : { linuxConfiguration: { disablePasswordAuthentication: false, provisionVMAgent: true } }),
    secrets: [],
    allowExtensionOperations: true,
    requireGuestProvisionSignal: true,
  };
}

/** Windows computer names are at most 15 characters; Linux host names at most 64. */
function computerName(vm: VirtualMachine): string {
  return vm.osType === 'Windows' ? vm.name.slice(0, 15) : vm.name;
}

function provisioningStatus(vm: VirtualMachine): Record<string, unknown> {
  const state = vm.provisioningState.toLowerCase();
  return {
    code: `ProvisioningState/${state}`,
    level: vm.provisioningState === 'Failed' ? 'Error' : 'Info',
    displayStatus: `Provisioning ${state === 'succeeded' ? 'succeeded' : state === 'failed' ? 'failed' : state}`,
  };
}

function powerStatus(vm: VirtualMachine): Record<string, unknown> {
  const display = { running: 'VM running', stopped: 'VM stopped', deallocated: 'VM deallocated' }[vm.powerState];
  return { code: `PowerState/${vm.powerState}`, level: 'Info', displayStatus: display };
}
