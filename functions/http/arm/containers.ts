/**
 * Protection containers over the ARM-shaped API: GET `{vault}/backupProtectionContainers`
 * (`$filter=backupManagementType eq 'AzureIaasVM' and status eq 'Registered' [and friendlyName eq '…']`,
 * as `az backup container list` sends it) and GET `{vault}/backupFabrics/Azure/protectionContainers/{container}`.
 * An Azure VM's container exists while the vault holds the VM's item.
 */
import { containersOf, parseContainerFilter, PROTECTION_CONTAINER_RESOURCE_TYPE, protectionContainerResource } from '../../../lib/domain/arm/container-resource';
import { parseContainerName } from '../../../lib/domain/arm-names';
import { errors } from '../../../lib/domain/errors';
import { assertAzureFabric, listProtectedItems, vaultRefOf as vaultRefOfScope } from '../../../lib/services/protection';
import { getVault } from '../../../lib/services/vaults';
import { vaultCatalog } from '../../deps';
import { armRoute, list, ok, VAULT_ROUTE, vaultRefOf } from './route';
import { backupServerContainerFilter } from '../../../lib/domain/backup-server/registration';
import { listBackupServerContainers } from '../../../lib/services/backup-server-registration';
import type { VaultRef } from '../../../lib/domain/arm-names';
import { backupServerRegistrationDeps } from '../../deps';

const TAG = 'Protection containers';

armRoute({
  operationId: 'BackupProtectionContainers_List',
  action: 'Microsoft.RecoveryServices/Vaults/backupProtectionContainers/read',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupProtectionContainers`,
  summary:
    "Lists the vault's protection containers: one per protected VM (also stopped or soft-deleted), and one per registered backup server (AzureBackupServerContainer). $filter: backupManagementType eq 'AzureIaasVM' | 'AzureBackupServer' and status eq 'Registered' [and friendlyName eq '…'].",
  tag: TAG,
  responses: { 200: 'The containers, in `value`.', 400: 'Invalid $filter.', 404: 'No such vault.' },
  handler: async ({ params, query, baseUrl }) => {
    const filter = parseContainerFilter(query.get('$filter'));
    const deps = { catalog: vaultCatalog() };
    const vault = (await getVault(deps, vaultRefOf(params))).value;
    const vms = containersOf(vaultRefOfScope(vault), await listProtectedItems(deps, vault), filter);
    return list([...vms, ...(await backupServerContainers(vaultRefOf(params), query.get('$filter'), baseUrl))]);
  },
});

armRoute({
  operationId: 'ProtectionContainers_Get',
  action: 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/read',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupFabrics/{fabricName}/protectionContainers/{containerName}`,
  summary: "Gets a VM's protection container (IaasVMContainer;iaasvmcontainerv2;{resourceGroup};{vmName}): friendly name, registration, VM id; or a registered backup server's (AzureBackupServerContainer, named by the server).",
  tag: TAG,
  responses: { 200: 'The container.', 400: 'Not the Azure fabric, or not a VM container name.', 404: 'No such vault or container.' },
  handler: async ({ params, baseUrl }) => {
    assertAzureFabric(params.fabricName ?? '');
    const name = params.containerName ?? '';
    if (!/^iaasvmcontainer/i.test(name)) {
      // A backup server's container (AzureBackupServerContainer), named by the server.
      const server = (await backupServerContainers(vaultRefOf(params), null, baseUrl)).find((c) => c.name.toLowerCase() === name.toLowerCase());
      if (server !== undefined) return ok(server);
    }
    const wanted = parseContainerName(name);
    const deps = { catalog: vaultCatalog() };
    const vault = (await getVault(deps, vaultRefOf(params))).value;
    const items = await listProtectedItems(deps, vault);
    const item = items.find((i) => i.vm.resourceGroup.toLowerCase() === wanted.resourceGroup.toLowerCase() && i.vm.name.toLowerCase() === wanted.vmName.toLowerCase());
    if (item === undefined) throw errors.resourceNotFound(PROTECTION_CONTAINER_RESOURCE_TYPE, name, vault.resourceGroup, 'containerName');
    return ok(protectionContainerResource(vaultRefOfScope(vault), item));
  },
});

/** The registered backup servers' containers the filter asks for (issue 16). */
async function backupServerContainers(vault: VaultRef, filterText: string | null, baseUrl: string) {
  const filter = backupServerContainerFilter(filterText);
  if (!filter.wanted) return [];
  const all = await listBackupServerContainers(backupServerRegistrationDeps(baseUrl), vault);
  const wanted = filter.friendlyName?.toLowerCase();
  return all.filter((c) => (wanted === undefined || c.name.toLowerCase() === wanted) && (filter.backupManagementType === undefined || c.properties.backupManagementType === filter.backupManagementType));
}
