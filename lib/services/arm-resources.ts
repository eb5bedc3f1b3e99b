/**
 * The generic ARM reads the official clients make before Recovery Services calls: a VM of the
 * inventory (Microsoft.Compute) and the storage accounts Kluis is configured with (Microsoft.Storage).
 * The route's subscription and resource group are checked before these run (assertArmScope).
 */
import { VIRTUAL_MACHINE_RESOURCE_TYPE } from '../domain/arm-names';
import { errors } from '../domain/errors';
import type { KnownStorageAccount } from '../domain/storage-account';
import { sameName, type LocalTenancy } from '../domain/tenancy';
import { assertValidVmRef, type VirtualMachine, type VmRef } from '../domain/virtual-machine';
import { STORAGE_ACCOUNT_RESOURCE_TYPE, storageAccountResource } from '../domain/arm/storage-account-resource';
import type { VmInventory } from '../stores/vm-inventory';

export async function getVirtualMachine(deps: { inventory: Pick<VmInventory, 'get'> }, ref: VmRef): Promise<VirtualMachine> {
  assertValidVmRef(ref);
  const vm = await deps.inventory.get(ref);
  if (vm === undefined || vm.provisioningState === 'Deleting') {
    throw errors.resourceNotFound(VIRTUAL_MACHINE_RESOURCE_TYPE, ref.name, ref.resourceGroup, 'vmName');
  }
  return vm;
}

/** A subscription's VMs, or one resource group's, by resource group then name. */
export async function listVirtualMachines(deps: { inventory: Pick<VmInventory, 'list'> }, subscriptionId: string, resourceGroup?: string): Promise<VirtualMachine[]> {
  const vms: VirtualMachine[] = [];
  for await (const vm of deps.inventory.list(subscriptionId)) {
    if (vm.provisioningState === 'Deleting') continue;
    if (resourceGroup === undefined || sameName(vm.resourceGroup, resourceGroup)) vms.push(vm);
  }
  const key = (vm: VirtualMachine) => `${vm.resourceGroup.toLowerCase()}/${vm.name.toLowerCase()}`;
  return vms.sort((a, b) => key(a).localeCompare(key(b)));
}

export interface StorageAccountDeps {
  local: LocalTenancy;
  accounts: readonly KnownStorageAccount[];
}

/** Kluis's accounts live in the storage resource group of the default subscription; elsewhere there are none. */
function accountsIn(deps: StorageAccountDeps, subscriptionId: string, resourceGroup?: string): KnownStorageAccount[] {
  if (!sameName(subscriptionId, deps.local.subscriptionId)) return [];
  if (resourceGroup !== undefined && !sameName(resourceGroup, deps.local.storageResourceGroup)) return [];
  return [...deps.accounts];
}

function placement(deps: StorageAccountDeps) {
  return { subscriptionId: deps.local.subscriptionId, resourceGroup: deps.local.storageResourceGroup, location: deps.local.location };
}

export function getStorageAccount(deps: StorageAccountDeps, subscriptionId: string, resourceGroup: string, name: string): Record<string, unknown> {
  const account = accountsIn(deps, subscriptionId, resourceGroup).find((candidate) => sameName(candidate.name, name));
  if (account === undefined) throw errors.resourceNotFound(STORAGE_ACCOUNT_RESOURCE_TYPE, name, resourceGroup, 'accountName');
  return storageAccountResource(account, placement(deps));
}

export function listStorageAccounts(deps: StorageAccountDeps, subscriptionId: string, resourceGroup?: string): Record<string, unknown>[] {
  return accountsIn(deps, subscriptionId, resourceGroup).map((account) => storageAccountResource(account, placement(deps)));
}
