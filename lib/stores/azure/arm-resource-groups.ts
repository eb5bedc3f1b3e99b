/**
 * Creates a resource group through Azure Resource Manager (Microsoft.Resources, @azure/arm-resources) when it
 * does not exist: what the managed-disk backend needs for Azure Backup's instant-restore group
 * (`AzureBackupRG_<region>_1`). Locally the app's own tenancy registry keeps resource groups instead (deps.ts).
 */
import { ResourceManagementClient } from '@azure/arm-resources';
import type { TokenCredential } from '@azure/identity';
import { ARM_SCOPE } from './arm-managed-disk-compute';

export function armResourceGroupEnsurer(credential: TokenCredential, endpoint: string): (subscriptionId: string, name: string, location: string) => Promise<void> {
  const clients = new Map<string, ResourceManagementClient>();
  return async (subscriptionId, name, location) => {
    let client = clients.get(subscriptionId.toLowerCase());
    if (client === undefined) {
      client = new ResourceManagementClient(credential, subscriptionId, { endpoint, credentialScopes: [ARM_SCOPE] });
      clients.set(subscriptionId.toLowerCase(), client);
    }
    if ((await client.resourceGroups.checkExistence(name)).body) return;
    await client.resourceGroups.createOrUpdate(name, { location });
  };
}
