/**
 * Discovery over the ARM-shaped API: POST `{vault}/backupFabrics/Azure/refreshContainers` (202; the
 * VM inventory is read live, so its operation has succeeded at once) and GET
 * `{vault}/backupProtectableItems` — the subscription's VMs in the vault's region that no vault holds.
 */
import { protectableItemResource } from '../../../lib/domain/arm/protectable-item-resource';
import { listProtectableItems, parseProtectableItemFilter, refreshContainers, type DiscoveryDeps } from '../../../lib/services/discovery';
import { assertAzureFabric } from '../../../lib/services/protection';
import { getVault } from '../../../lib/services/vaults';
import { backupRequestDeps, vmInventory } from '../../deps';
import { accepted, armRoute, asyncOperationPaths, fabricPathOf, list, VAULT_ROUTE, vaultRefOf, initiatorOf } from './route';

const TAG = 'Discovery';

function discoveryDeps(): DiscoveryDeps {
  return { ...backupRequestDeps(), inventory: vmInventory() };
}

armRoute({
  operationId: 'ProtectionContainers_Refresh',
  action: 'Microsoft.RecoveryServices/Vaults/backupFabrics/refreshContainers/action',
  method: 'POST',
  route: `${VAULT_ROUTE}/backupFabrics/{fabricName}/refreshContainers`,
  summary: 'Discovers the VMs that can be protected (Kluis reads its VM inventory live: the operation has succeeded at once).',
  tag: TAG,
  responses: { 202: 'Accepted: poll Location (backupFabrics/{fabric}/operationResults/{id}) until it answers 204.', 400: 'Not the Azure fabric.', 404: 'No such vault.' },
  handler: async ({ params, baseUrl, caller }) => {
    assertAzureFabric(params.fabricName ?? '');
    const deps = { ...discoveryDeps(), initiator: initiatorOf(caller) };
    const vault = (await getVault(deps, vaultRefOf(params))).value;
    const operation = await refreshContainers(deps, vault);
    return accepted(baseUrl, asyncOperationPaths.fabric(fabricPathOf(params), operation.operationId));
  },
});

armRoute({
  operationId: 'BackupProtectableItems_List',
  action: 'Microsoft.RecoveryServices/Vaults/backupProtectableItems/read',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupProtectableItems`,
  summary:
    "Lists the VMs the vault can protect: the subscription's VMs in the vault's region not yet held by any vault, with OS, power state, VM agent, disks and encryption. $filter: backupManagementType eq 'AzureIaasVM'.",
  tag: TAG,
  responses: { 200: 'The protectable VMs, in `value`.', 400: 'Invalid $filter.', 404: 'No such vault.' },
  handler: async ({ params, query }) => {
    const filter = parseProtectableItemFilter(query.get('$filter'));
    const deps = discoveryDeps();
    const vault = (await getVault(deps, vaultRefOf(params))).value;
    const vms = await listProtectableItems(deps, vault, filter);
    return list(vms.map((vm) => protectableItemResource(vault.id, vm)));
  },
});
