/** The create-vault form's inline rules (ARM's own, lib/domain/arm-names). Pure. */
import { isValidResourceGroupName, isValidVaultName, NAME_RULES } from '../../../lib/domain/arm-names';

/** What is wrong with a vault name as typed, or undefined; `taken` are the subscription's vault names. */
export function vaultNameProblem(name: string, taken: readonly string[]): string | undefined {
  if (name === '') return 'Name the vault.';
  if (name.length < 2 || name.length > 50) return `${name.length} characters: ${NAME_RULES.vaultName}.`;
  if (!/^[A-Za-z]/.test(name)) return `It must start with a letter: ${NAME_RULES.vaultName}.`;
  if (!isValidVaultName(name)) return `Only letters, digits and hyphens: ${NAME_RULES.vaultName}.`;
  if (taken.some((existing) => existing.toLowerCase() === name.toLowerCase())) return `The subscription has a vault named ${name} already (names are unique per subscription, whatever the case).`;
  return undefined;
}

export function resourceGroupNameProblem(name: string): string | undefined {
  if (name === '') return 'Pick or name a resource group.';
  return isValidResourceGroupName(name) ? undefined : `Not a valid name: ${NAME_RULES.resourceGroupName}.`;
}

export const REDUNDANCY_OPTIONS = [
  { value: 'GeoRedundant', label: 'Geo-redundant (GRS)', hint: 'Copies in a second region: survives a regional outage.' },
  { value: 'LocallyRedundant', label: 'Locally-redundant (LRS)', hint: 'Three copies in one datacenter: the cheapest.' },
  { value: 'ZoneRedundant', label: 'Zone-redundant (ZRS)', hint: 'Copies in three availability zones of the region.' },
] as const;
