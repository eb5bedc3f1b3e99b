/**
 * A VM that can be protected, as ARM lists it under `backupProtectableItems`
 * (`Microsoft.Compute/virtualMachines` protectable item), with what a user checks before enabling
 * protection: OS, power state, VM agent, disks and disk encryption.
 */
import { containerName, itemName } from '../arm-names';
import type { VirtualMachine } from '../virtual-machine';

export const PROTECTABLE_ITEM_RESOURCE_TYPE = 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectableItems';

export interface ArmProtectableItemResource {
  id: string;
  name: string;
  type: typeof PROTECTABLE_ITEM_RESOURCE_TYPE;
  properties: {
    protectableItemType: 'Microsoft.Compute/virtualMachines';
    backupManagementType: 'AzureIaasVM';
    workloadType: 'VM';
    friendlyName: string;
    virtualMachineId: string;
    virtualMachineVersion: 'Compute';
    resourceGroup: string;
    location: string;
    protectionState: 'NotProtected';
    /** What Kluis reads from the VM inventory (not part of Azure's shape). */
    osType: VirtualMachine['osType'];
    vmSize: string;
    powerState: VirtualMachine['powerState'];
    provisioningState: VirtualMachine['provisioningState'];
    agent: { status: VirtualMachine['agent']['status']; version?: string };
    disks: Array<{ kind: 'os' | 'data'; lun?: number; name: string; storageType: string; sizeInGB: number }>;
    encryption: { enabled: boolean; bek: boolean; kek: boolean };
    /** The names to use when enabling protection. */
    containerName: string;
    protectedItemName: string;
  };
}

const GIB = 1024 ** 3;

/** `vaultId` is the vault's resource id; the item is addressed under the VM's container. */
export function protectableItemResource(vaultId: string, vm: VirtualMachine): ArmProtectableItemResource {
  const container = containerName(vm.resourceGroup, vm.name);
  const shortName = `iaasvmcontainerv2;${vm.resourceGroup};${vm.name}`;
  return {
    id: `${vaultId}/backupFabrics/Azure/protectionContainers/${container}/protectableItems/vm;${shortName}`,
    name: shortName,
    type: PROTECTABLE_ITEM_RESOURCE_TYPE,
    properties: {
      protectableItemType: 'Microsoft.Compute/virtualMachines',
      backupManagementType: 'AzureIaasVM',
      workloadType: 'VM',
      friendlyName: vm.name,
      virtualMachineId: vm.id,
      virtualMachineVersion: 'Compute',
      resourceGroup: vm.resourceGroup,
      location: vm.location,
      protectionState: 'NotProtected',
      osType: vm.osType,
      vmSize: vm.vmSize,
      powerState: vm.powerState,
      provisioningState: vm.provisioningState,
      agent: vm.agent.version === undefined ? { status: vm.agent.status } : { status: vm.agent.status, version: vm.agent.version },
      disks: vm.disks.map((disk) => ({
        kind: disk.kind,
        ...(disk.lun === undefined ? {} : { lun: disk.lun }),
        name: disk.name,
        storageType: disk.storageType,
        sizeInGB: Math.round((disk.sizeBytes / GIB) * 100) / 100,
      })),
      encryption: { enabled: vm.encryption?.enabled === true, bek: vm.encryption?.bek !== undefined, kek: vm.encryption?.kek !== undefined },
      containerName: container,
      protectedItemName: itemName(vm.resourceGroup, vm.name),
    },
  };
}
