/**
 * A protection container as ARM returns it for an Azure VM (`AzureIaaSComputeVMContainer`,
 * `containerType` Microsoft.Compute/virtualMachines): Azure registers one per protected VM when
 * protection is enabled and keeps it while the VM has backup data in the vault (protected, stopped
 * with retained data, soft-deleted). Kluis derives it from the protected item.
 */
import { containerId, type VaultRef } from '../arm-names';
import type { ProtectedItemRecord } from '../catalog';
import { parseODataFilter } from './odata-filter';

export const PROTECTION_CONTAINER_RESOURCE_TYPE = 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers';

export interface ArmProtectionContainerResource {
  id: string;
  name: string;
  type: typeof PROTECTION_CONTAINER_RESOURCE_TYPE;
  properties: {
    containerType: 'Microsoft.Compute/virtualMachines';
    friendlyName: string;
    backupManagementType: 'AzureIaasVM';
    registrationStatus: 'Registered';
    healthStatus: 'Healthy';
    virtualMachineId: string;
    virtualMachineVersion: 'Compute';
    resourceGroup: string;
  };
}

export function protectionContainerResource(vault: VaultRef, item: ProtectedItemRecord): ArmProtectionContainerResource {
  return {
    id: containerId(vault, item.containerName),
    name: item.containerName,
    type: PROTECTION_CONTAINER_RESOURCE_TYPE,
    properties: {
      containerType: 'Microsoft.Compute/virtualMachines',
      friendlyName: item.vm.name,
      backupManagementType: 'AzureIaasVM',
      registrationStatus: 'Registered',
      healthStatus: 'Healthy',
      virtualMachineId: item.vm.id,
      virtualMachineVersion: 'Compute',
      resourceGroup: item.vm.resourceGroup,
    },
  };
}

export interface ContainerFilter {
  friendlyName?: string;
  /** Another workload or a registration status Kluis's containers never have: nothing matches. */
  matchesNone?: boolean;
}

/**
 * `backupManagementType eq 'AzureIaasVM' and status eq 'Registered' [and friendlyName eq '…']`, as
 * `az backup container list` and `restore-disks -c NAME` send it; Azure requires backupManagementType.
 */
export function parseContainerFilter(text: string | null | undefined): ContainerFilter {
  const clauses = parseODataFilter(text, ['backupManagementType', 'status', 'friendlyName', 'fabricName'] as const);
  const filter: ContainerFilter = {};
  if (clauses.backupManagementType !== undefined && clauses.backupManagementType.toLowerCase() !== 'azureiaasvm') filter.matchesNone = true;
  if (clauses.status !== undefined && clauses.status.toLowerCase() !== 'registered') filter.matchesNone = true;
  if (clauses.fabricName !== undefined && clauses.fabricName.toLowerCase() !== 'azure') filter.matchesNone = true;
  if (clauses.friendlyName !== undefined) filter.friendlyName = clauses.friendlyName;
  return filter;
}

/** The containers of a vault's items (one per VM), by container name. */
export function containersOf(vault: VaultRef, items: readonly ProtectedItemRecord[], filter: ContainerFilter = {}): ArmProtectionContainerResource[] {
  if (filter.matchesNone === true) return [];
  const wanted = filter.friendlyName?.toLowerCase();
  return items
    .filter((item) => wanted === undefined || item.vm.name.toLowerCase() === wanted)
    .map((item) => protectionContainerResource(vault, item))
    .sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
}
