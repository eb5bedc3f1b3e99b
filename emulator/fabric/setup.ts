/**
 * Builds the local fabric from the app's settings: VM disks and the inventory table both live in the
 * source storage account (KLUIS_SOURCE_STORAGE, default AzureWebJobsStorage). With KLUIS_INVENTORY=arm
 * the VMs come from Azure Resource Manager and there is no local fabric. Disk encryption reaches Key Vault
 * as the app does (KLUIS_KEYVAULT_*), as the ADE operator principal (ade-keys.ts) with the local credential.
 */
import { errors } from '../../lib/domain/errors';
import type { KluisConfig } from '../../lib/config';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { DefaultAzureCredential } from '@azure/identity';
import { keyVaultClientOptions } from '../../lib/stores/azure/keyvault-client-options';
import { LocalPrincipalCredential } from '../../lib/stores/azure/keyvault-credential';
import { keyVaultLocatorFromConfig } from '../../lib/stores/azure/keyvault-locator';
import { TableVmInventory } from '../../lib/stores/azure/table-vm-inventory';
import { ADE_OPERATOR_OBJECT_ID, SdkAdeKeyWriter } from './ade-keys';
import { ensureResourceGroup } from '../../lib/services/resource-groups';
import { tableTenancyCatalog } from '../../lib/stores/tenancy-catalog';
import { FabricService } from './service';

export function fabricServiceFromConfig(
  config: Pick<KluisConfig, 'sourceStorage' | 'inventory' | 'inventoryTable'> & Partial<Pick<KluisConfig, 'keyVault' | 'vaultStorage' | 'catalogTablePrefix' | 'tenancy'>>,
): FabricService {
  if (config.inventory !== 'table') throw errors.inventoryReadOnly('the local VM fabric');
  const keyVault = config.keyVault;
  const { vaultStorage, catalogTablePrefix, tenancy } = config;
  const groups =
    vaultStorage === undefined || catalogTablePrefix === undefined || tenancy === undefined
      ? undefined
      : { tenancy: tableTenancyCatalog(vaultStorage, catalogTablePrefix), local: tenancy, clock: () => new Date() };
  return new FabricService({
    ...(groups === undefined ? {} : { ensureResourceGroup: (subscriptionId: string, name: string, location: string) => ensureResourceGroup(groups, subscriptionId, name, location) }),
    inventory: TableVmInventory.fromConnectionString(config.sourceStorage, config.inventoryTable),
    disks: BlobPageStore.fromConnectionString(config.sourceStorage),
    ...(keyVault === undefined
      ? {}
      : {
          keyVaults: {
            locator: keyVaultLocatorFromConfig(keyVault),
            writer: new SdkAdeKeyWriter({
              credential: keyVault.credential === 'local' ? new LocalPrincipalCredential({ objectId: ADE_OPERATOR_OBJECT_ID }) : new DefaultAzureCredential(),
              clientOptions: (vaultUrl) => keyVaultClientOptions(vaultUrl, { caCertificateFile: keyVault.caCertificateFile }),
              ...(keyVault.credential === 'local' ? { principalId: ADE_OPERATOR_OBJECT_ID } : {}),
            }),
          },
        }),
  });
}
