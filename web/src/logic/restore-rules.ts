/**
 * The restore wizard's checks before it sends anything: the new VM's name and resource group as ARM
 * names them, the region rule (a restore stays in the vault's region), and which target accounts fit.
 * The API checks the same and has the last word. Pure.
 */
import { isValidResourceGroupName, isValidVmName, NAME_RULES } from '../../../lib/domain/arm-names';
import type { StorageAccount } from '../api/types';

export function vmNameProblem(name: string, existing: readonly string[]): string | undefined {
  if (name === '') return 'Name the new VM.';
  if (!isValidVmName(name)) return `Not a valid name: ${NAME_RULES.vmName}.`;
  if (existing.some((vm) => vm.toLowerCase() === name.toLowerCase())) return `A VM named ${name} exists in that resource group: Kluis never replaces a VM. Pick another name.`;
  return undefined;
}

export function resourceGroupProblem(name: string): string | undefined {
  if (name === '') return 'Name the resource group of the new VM.';
  if (!isValidResourceGroupName(name)) return `Not a valid name: ${NAME_RULES.resourceGroupName}.`;
  return undefined;
}

const norm = (location: string) => location.replace(/\s+/g, '').toLowerCase();

/** Storage accounts a restore may write to: those in the vault's region (cross-region restore is refused). */
export function restoreTargets(accounts: readonly StorageAccount[], vaultLocation: string): StorageAccount[] {
  return accounts.filter((account) => norm(account.location) === norm(vaultLocation));
}
