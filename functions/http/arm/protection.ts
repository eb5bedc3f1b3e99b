/**
 * Protected items over the ARM-shaped API: PUT `{item}` (enable, change policy, stop and retain,
 * undelete, resume — 202 with the operation naming the job), GET `{item}`, DELETE `{item}` (stop and
 * delete: soft delete, or purge when the vault's soft delete is off — 202; 204 when there is no
 * such item) and GET `{vault}/backupProtectedItems`.
 */
import { protectedItemPutBodySchema, type ProtectedItemPutBody } from '../../../lib/domain/arm/item-resource';
import {
  assertAzureFabric,
  findProtectedItem,
  getProtectedItem,
  listProtectedItems,
  parseItemFilter,
  protectedItemView,
  putProtectedItem,
  type ItemNames,
  type ProtectionDeps,
} from '../../../lib/services/protection';
import { deleteProtectedItem } from '../../../lib/services/soft-delete';
import { keyVaultAccessCheck } from '../../../lib/services/key-vault-access';
import { getVault } from '../../../lib/services/vaults';
import { backupRequestDeps, deleteDeps, keyVaultAccessDeps, vmInventory } from '../../deps';
import { refuseServerItemChange, serverItemOfRoute, serverItemResourceOf, serverItemResources } from './backup-server-views';
import { accepted, armRoute, asyncOperationPaths, initiatorOf, ITEM_ROUTE, itemPathOf, list, noContent, ok, VAULT_ROUTE, vaultPathOf, vaultRefOf } from './route';

const TAG = 'Protected items';

export function protectionDeps(): ProtectionDeps {
  return { ...backupRequestDeps(), inventory: vmInventory(), keyVaultAccess: keyVaultAccessCheck(keyVaultAccessDeps()) };
}

/** The container and item of an item route, after checking the fabric. */
export function itemNamesOf(params: Record<string, string>): ItemNames {
  assertAzureFabric(params.fabricName ?? '');
  return { containerName: params.containerName ?? '', itemName: params.protectedItemName ?? '' };
}

armRoute<ProtectedItemPutBody>({
  operationId: 'ProtectedItems_CreateOrUpdate',
  action: 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/write',
  method: 'PUT',
  route: ITEM_ROUTE,
  summary:
    'Enables protection of a VM (sourceResourceId + policyId; optional diskExclusionProperties), changes its policy or resumes it (policyId), stops protection and retains data (protectionState ProtectionStopped), or undeletes a soft-deleted item (isRehydrate true).',
  tag: TAG,
  body: protectedItemPutBodySchema,
  responses: {
    202: 'Accepted: the operation (Azure-AsyncOperation) names the job (ConfigureBackup, DisableBackup, Undelete).',
    400: 'Invalid body, VM in another region, agent not ready, too many disks, encryption rules.',
    404: 'No such vault, VM, policy or item.',
    409: 'The VM is protected by another vault, or the item is soft-deleted.',
  },
  handler: async ({ params, body, baseUrl, context, caller, access, scope, action }) => {
    const names = itemNamesOf(params);
    const deps = { ...protectionDeps(), initiator: initiatorOf(caller) };
    const vault = (await getVault(deps, vaultRefOf(params))).value;
    await refuseServerItemChange(vaultRefOf(params), params, 'ProtectedItems_CreateOrUpdate');
    // Azure's linked check: enabling protection of a VM needs write access to the VM itself (Virtual Machine Contributor).
    const vmId = body.properties.sourceResourceId ?? body.properties.virtualMachineId;
    if (vmId !== undefined && (await findProtectedItem(deps, vault, names)) === undefined) await access.demandLinked('Microsoft.Compute/virtualMachines/write', vmId, { action, scope });
    const change = await putProtectedItem(deps, vault, names, body.properties);
    context.info(`Protection of ${names.itemName}: ${change.action}${change.job ? ` (job ${change.job.jobId})` : ''}.`);
    return accepted(baseUrl, asyncOperationPaths.item(itemPathOf(params), change.operation.operationId));
  },
});

armRoute({
  operationId: 'ProtectedItems_Get',
  action: 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/read',
  method: 'GET',
  route: ITEM_ROUTE,
  summary: 'Gets a protected item: protection state (IRPending until the first backup), health, last backup, recovery point summary and soft-delete state.',
  tag: TAG,
  responses: { 200: 'The item.', 404: 'No such vault or item (UserErrorBcmDatasourceNotPresent).' },
  handler: async ({ params }) => {
    const names = itemNamesOf(params);
    const deps = protectionDeps();
    const vault = (await getVault(deps, vaultRefOf(params))).value;
    const serverItem = await serverItemOfRoute(vaultRefOf(params), params);
    if (serverItem !== undefined) return ok(serverItemResourceOf(vaultRefOf(params), serverItem));
    return ok(await protectedItemView(deps, vault, await getProtectedItem(deps, vault, names)));
  },
});

armRoute({
  operationId: 'ProtectedItems_Delete',
  action: 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/delete',
  method: 'DELETE',
  route: ITEM_ROUTE,
  summary:
    "Stops protection and deletes the backup data: with the vault's soft delete on, the item is soft-deleted (kept, visible, until the purge date; undelete with isRehydrate); with it off, the recovery points are deleted now.",
  tag: TAG,
  responses: {
    202: 'Accepted: the operation names the DeleteBackupData job.',
    204: 'There was no such item.',
    404: 'No such vault.',
    409: 'The item is already soft-deleted (the error names the purge date), or a backup of it is running.',
  },
  handler: async ({ params, baseUrl, context, caller }) => {
    const names = itemNamesOf(params);
    const deps = { ...protectionDeps(), initiator: initiatorOf(caller) };
    const vault = (await getVault(deps, vaultRefOf(params))).value;
    await refuseServerItemChange(vaultRefOf(params), params, 'ProtectedItems_Delete');
    const change = await deleteProtectedItem(deps, vault, names, deleteDeps(context));
    if (change === undefined) return noContent();
    context.info(`Protection of ${names.itemName} stopped with delete: ${change.action}.`);
    // As Azure: a delete is tracked at the vault (backupOperations / backupOperationResults).
    return accepted(baseUrl, asyncOperationPaths.vault(vaultPathOf(params), change.operation.operationId));
  },
});

armRoute({
  operationId: 'BackupProtectedItems_List',
  action: 'Microsoft.RecoveryServices/Vaults/backupProtectedItems/read',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupProtectedItems`,
  summary:
    "Lists the vault's items: protected, stopped with retained data, and soft-deleted, and the data sources backup servers reported (DPMProtectedItem). $filter: backupManagementType eq 'AzureIaasVM' | 'AzureBackupServer' and itemType eq 'VM' | 'FileFolder' [and policyName eq '…'].",
  tag: TAG,
  responses: { 200: 'The items, in `value`.', 400: 'Invalid $filter.', 404: 'No such vault.' },
  handler: async ({ params, query }) => {
    const filter = parseItemFilter(query.get('$filter'));
    const deps = protectionDeps();
    const vault = (await getVault(deps, vaultRefOf(params))).value;
    const items = await listProtectedItems(deps, vault, filter);
    const vms = await Promise.all(items.map((item) => protectedItemView(deps, vault, item)));
    return list([...vms, ...(await serverItemResources(vaultRefOf(params), query.get('$filter')))]);
  },
});
