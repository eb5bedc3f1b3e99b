/**
 * Names and ids of the ARM-shaped API (Microsoft.RecoveryServices): the naming rules of
 * subscriptions, resource groups, vaults and policies; builders and parsers of resource ids; and
 * the container/item names Azure Backup gives an IaaS VM (`IaasVMContainer;iaasvmcontainerv2;{rg};{vm}`,
 * `VM;iaasvmcontainerv2;{rg};{vm}`).
 *
 * ARM names are case-insensitive: parsers accept any casing, builders keep the caller's casing.
 * Rules for names Azure documents only loosely (policy names) are decided here, once.
 */
import { errors } from './errors';

export const RECOVERY_SERVICES_PROVIDER = 'Microsoft.RecoveryServices';
export const VAULT_RESOURCE_TYPE = 'Microsoft.RecoveryServices/vaults';
export const POLICY_RESOURCE_TYPE = 'Microsoft.RecoveryServices/vaults/backupPolicies';
export const VIRTUAL_MACHINE_RESOURCE_TYPE = 'Microsoft.Compute/virtualMachines';
/** The one backup fabric of Azure VMs. */
export const AZURE_FABRIC = 'Azure';
export const DEFAULT_POLICY_NAME = 'DefaultPolicy';

/** Where a vault lives; everything inside a vault is addressed from it. */
export interface VaultRef {
  subscriptionId: string;
  resourceGroup: string;
  vaultName: string;
}

export interface VirtualMachineRef {
  subscriptionId: string;
  resourceGroup: string;
  vmName: string;
}

// ---- naming rules -------------------------------------------------------------------------------

// Any GUID-shaped value (8-4-4-4-12 hex digits), whatever its version bits.
const SUBSCRIPTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// ARM: 1–90 letters (Unicode), digits, '_', '-', '.', '(' and ')'; not ending with '.'.
const RESOURCE_GROUP = /^[\p{L}\p{N}_\-.()]{1,90}$/u;
// Recovery Services: 2–50 characters, a letter first, then letters, digits and hyphens.
const VAULT_NAME = /^[A-Za-z][A-Za-z0-9-]{1,49}$/;
// Decided for Kluis (Azure's portal enforces about the same): 3–150 characters, a letter first,
// then letters, digits, hyphens and underscores. No ';', '/', '~': they separate ids and keys.
const POLICY_NAME = /^[A-Za-z][A-Za-z0-9_-]{2,149}$/;
// Azure VM names: 1–64 letters, digits, '_', '.', '-'; not starting with '.' or '-', not ending with '.' or '-'.
const VM_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?$/;

export const NAME_RULES = {
  subscriptionId: 'a subscription id is a GUID (8-4-4-4-12 hexadecimal digits)',
  resourceGroupName: 'a resource group name is 1–90 letters, digits, underscores, hyphens, periods and parentheses, and does not end with a period',
  vaultName: 'a vault name is 2–50 characters: a letter first, then letters, digits and hyphens',
  policyName: 'a policy name is 3–150 characters: a letter first, then letters, digits, hyphens and underscores',
  vmName: 'a virtual machine name is 1–64 letters, digits, underscores, periods and hyphens, starting and ending with a letter, digit or underscore',
} as const;

export function isValidSubscriptionId(value: string): boolean {
  return SUBSCRIPTION_ID.test(value);
}

export function isValidResourceGroupName(value: string): boolean {
  return RESOURCE_GROUP.test(value) && !value.endsWith('.');
}

export function isValidVaultName(value: string): boolean {
  return VAULT_NAME.test(value);
}

export function isValidPolicyName(value: string): boolean {
  return POLICY_NAME.test(value);
}

export function isValidVmName(value: string): boolean {
  return VM_NAME.test(value);
}

export function assertValidSubscriptionId(value: string, target = 'subscriptionId'): void {
  if (!isValidSubscriptionId(value)) throw errors.invalidSubscriptionId(value, target);
}

export function assertValidResourceGroupName(value: string, target = 'resourceGroupName'): void {
  if (!isValidResourceGroupName(value)) throw errors.invalidResourceName(target, value, NAME_RULES.resourceGroupName);
}

export function assertValidVaultName(value: string, target = 'vaultName'): void {
  if (!isValidVaultName(value)) throw errors.invalidResourceName(target, value, NAME_RULES.vaultName);
}

export function assertValidPolicyName(value: string, target = 'policyName'): void {
  if (!isValidPolicyName(value)) throw errors.invalidResourceName(target, value, NAME_RULES.policyName);
}

/** Checks the three parts of a vault's address, naming the route parameter that breaks its rule. */
export function assertValidVaultRef(ref: VaultRef): void {
  assertValidSubscriptionId(ref.subscriptionId);
  assertValidResourceGroupName(ref.resourceGroup);
  assertValidVaultName(ref.vaultName);
}

// ---- resource ids -------------------------------------------------------------------------------

export function vaultId(ref: VaultRef): string {
  return `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroup}/providers/${VAULT_RESOURCE_TYPE}/${ref.vaultName}`;
}

export function policyId(ref: VaultRef, policyName: string): string {
  return `${vaultId(ref)}/backupPolicies/${policyName}`;
}

export function containerId(ref: VaultRef, containerName: string): string {
  return `${vaultId(ref)}/backupFabrics/${AZURE_FABRIC}/protectionContainers/${containerName}`;
}

export function protectedItemId(ref: VaultRef, containerName: string, itemName: string): string {
  return `${containerId(ref, containerName)}/protectedItems/${itemName}`;
}

export function recoveryPointId(ref: VaultRef, containerName: string, itemName: string, recoveryPointName: string): string {
  return `${protectedItemId(ref, containerName, itemName)}/recoveryPoints/${recoveryPointName}`;
}

export function jobId(ref: VaultRef, jobName: string): string {
  return `${vaultId(ref)}/backupJobs/${jobName}`;
}

export function virtualMachineId(vm: VirtualMachineRef): string {
  return `/subscriptions/${vm.subscriptionId}/resourceGroups/${vm.resourceGroup}/providers/${VIRTUAL_MACHINE_RESOURCE_TYPE}/${vm.vmName}`;
}

const VAULT_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.RecoveryServices\/vaults\/([^/]+)$/i;
const POLICY_ID = /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.RecoveryServices\/vaults\/[^/]+)\/backupPolicies\/([^/]+)$/i;
const VM_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)$/i;

/** The vault a vault id names, with its names validated; KluisError naming `target` otherwise. */
export function parseVaultId(id: string, target = 'vaultId'): VaultRef {
  const match = VAULT_ID.exec(id.trim().replace(/\/+$/, ''));
  if (!match) throw errors.invalidRequest(target, `'${shorten(id)}' is not a Recovery Services vault id (/subscriptions/{id}/resourceGroups/{name}/providers/Microsoft.RecoveryServices/vaults/{name}).`);
  const ref = { subscriptionId: match[1], resourceGroup: match[2], vaultName: match[3] };
  assertValidSubscriptionId(ref.subscriptionId, target);
  assertValidResourceGroupName(ref.resourceGroup, target);
  assertValidVaultName(ref.vaultName, target);
  return ref;
}

/** The VM a virtual machine id names; KluisError naming `target` when it is not one. */
export function parseVirtualMachineId(id: string, target = 'sourceResourceId'): VirtualMachineRef {
  const match = VM_ID.exec(id.trim().replace(/\/+$/, ''));
  if (!match) throw errors.invalidRequest(target, `'${shorten(id)}' is not a virtual machine id (/subscriptions/{id}/resourceGroups/{name}/providers/Microsoft.Compute/virtualMachines/{name}).`);
  const vm = { subscriptionId: match[1], resourceGroup: match[2], vmName: match[3] };
  assertValidSubscriptionId(vm.subscriptionId, target);
  assertValidResourceGroupName(vm.resourceGroup, target);
  if (!isValidVmName(vm.vmName)) throw errors.invalidResourceName(target, vm.vmName, NAME_RULES.vmName);
  return vm;
}

/**
 * The policy name in a request's `policyId`, which may be the full policy id or just the name. A
 * full id must point into `vault` (case-insensitive): a policy of another vault is an error.
 */
export function policyNameFromId(vault: VaultRef, policyIdOrName: string, target = 'properties.policyId'): string {
  const value = policyIdOrName.trim();
  if (!value.includes('/')) {
    assertValidPolicyName(value, target);
    return value;
  }
  const match = POLICY_ID.exec(value.replace(/\/+$/, ''));
  if (!match) throw errors.invalidRequest(target, `'${shorten(value)}' is neither a policy name nor a backup policy id ({vault id}/backupPolicies/{name}).`);
  if (match[1].toLowerCase() !== vaultId(vault).toLowerCase()) {
    throw errors.invalidRequest(target, `The policy '${shorten(value)}' belongs to another vault; use a policy of vault '${vault.vaultName}'.`);
  }
  assertValidPolicyName(match[2], target);
  return match[2];
}

// ---- IaaS VM containers and items ---------------------------------------------------------------

const CONTAINER_PREFIX = 'IaasVMContainer;iaasvmcontainerv2';
const ITEM_PREFIX = 'VM;iaasvmcontainerv2';

/** The VM behind a container or item name. */
export interface VmNameParts {
  resourceGroup: string;
  vmName: string;
}

export function containerName(vmResourceGroup: string, vmName: string): string {
  return `${CONTAINER_PREFIX};${vmResourceGroup};${vmName}`;
}

export function itemName(vmResourceGroup: string, vmName: string): string {
  return `${ITEM_PREFIX};${vmResourceGroup};${vmName}`;
}

/**
 * Parses `IaasVMContainer;iaasvmcontainerv2;{rg};{vm}` (any casing); the short form
 * `iaasvmcontainerv2;{rg};{vm}` that `az backup` also accepts is taken too.
 */
export function parseContainerName(name: string, target = 'containerName'): VmNameParts {
  const parts = name.split(';');
  const full = parts.length === 4 && parts[0].toLowerCase() === 'iaasvmcontainer' && parts[1].toLowerCase() === 'iaasvmcontainerv2';
  const short = parts.length === 3 && parts[0].toLowerCase() === 'iaasvmcontainerv2';
  if (!full && !short) {
    throw errors.invalidRequest(target, `'${shorten(name)}' is not an Azure VM container name (IaasVMContainer;iaasvmcontainerv2;{resourceGroup};{vmName}).`);
  }
  return vmParts(parts.slice(-2), target);
}

/** Parses `VM;iaasvmcontainerv2;{rg};{vm}` (any casing). */
export function parseItemName(name: string, target = 'protectedItemName'): VmNameParts {
  const parts = name.split(';');
  if (parts.length !== 4 || parts[0].toLowerCase() !== 'vm' || parts[1].toLowerCase() !== 'iaasvmcontainerv2') {
    throw errors.invalidRequest(target, `'${shorten(name)}' is not an Azure VM item name (VM;iaasvmcontainerv2;{resourceGroup};{vmName}).`);
  }
  return vmParts(parts.slice(-2), target);
}

function vmParts([resourceGroup, vmName]: string[], target: string): VmNameParts {
  if (!isValidResourceGroupName(resourceGroup)) throw errors.invalidResourceName(target, resourceGroup, NAME_RULES.resourceGroupName);
  if (!isValidVmName(vmName)) throw errors.invalidResourceName(target, vmName, NAME_RULES.vmName);
  return { resourceGroup, vmName };
}

function shorten(value: string, max = 200): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}
