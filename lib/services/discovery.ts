/**
 * Discovery: which VMs a vault can protect. `refreshContainers` is Azure's explicit discovery
 * step; Kluis reads the VM inventory live, so the refresh is an operation that has succeeded at once.
 * `listProtectableItems` returns the subscription's VMs in the vault's region that no vault of the
 * subscription holds yet (Azure allows one vault per VM; a stopped or soft-deleted item still
 * holds its VM). VMs of other regions are not listed; protecting one is refused with
 * UserErrorVmLocationMismatch (protection.ts).
 */
import { parseODataFilter } from '../domain/arm/odata-filter';
import type { OperationRecord, VaultRecord } from '../domain/catalog';
import type { VirtualMachine } from '../domain/virtual-machine';
import type { VaultCatalog } from '../stores/vault-catalog';
import type { VmInventory } from '../stores/vm-inventory';
import { createOperation } from './operations';
import { vmIdsWithItems } from './protection';

export interface DiscoveryDeps {
  catalog: VaultCatalog;
  inventory: VmInventory;
  clock: () => Date;
  newId: () => string;
}

export interface ProtectableItemFilter {
  /** Another workload than Azure VMs: nothing matches. */
  otherWorkload?: boolean;
  /** Only VMs with this name (case-insensitive). */
  friendlyName?: string;
}

/** `backupManagementType eq 'AzureIaasVM' [and workloadType eq 'VM'] [and friendlyName eq '…']`. */
export function parseProtectableItemFilter(text: string | null | undefined): ProtectableItemFilter {
  const clauses = parseODataFilter(text, ['backupManagementType', 'workloadType', 'friendlyName'] as const);
  const filter: ProtectableItemFilter = {};
  if (clauses.backupManagementType !== undefined && clauses.backupManagementType.toLowerCase() !== 'azureiaasvm') filter.otherWorkload = true;
  if (clauses.workloadType !== undefined && clauses.workloadType.toLowerCase() !== 'vm') filter.otherWorkload = true;
  if (clauses.friendlyName !== undefined) filter.friendlyName = clauses.friendlyName;
  return filter;
}

/** POST `{vault}/backupFabrics/Azure/refreshContainers`: an operation that has already succeeded. */
export async function refreshContainers(deps: DiscoveryDeps, vault: VaultRecord): Promise<OperationRecord> {
  return createOperation(deps, vault, { name: 'RefreshContainers', status: 'Succeeded' });
}

/** The VMs the vault can protect now, by resource group and name. */
export async function listProtectableItems(deps: DiscoveryDeps, vault: VaultRecord, filter: ProtectableItemFilter = {}): Promise<VirtualMachine[]> {
  if (filter.otherWorkload === true) return [];
  const held = await vmIdsWithItems(deps, vault.subscriptionId);
  const found: VirtualMachine[] = [];
  for await (const stored of deps.inventory.list(vault.subscriptionId, { location: vault.location })) {
    const { etag: _etag, ...vm } = stored;
    if (held.has(vm.id.toLowerCase())) continue;
    if (filter.friendlyName !== undefined && vm.name.toLowerCase() !== filter.friendlyName.toLowerCase()) continue;
    found.push(vm);
  }
  return found.sort((a, b) => `${a.resourceGroup}/${a.name}`.toLowerCase().localeCompare(`${b.resourceGroup}/${b.name}`.toLowerCase()));
}
