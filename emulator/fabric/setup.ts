/**
 * Builds the local fabric from the app's settings: VM disks, the inventory table and the Compute
 * service's state (table KluisFabricCompute, managed disks' blobs) all live in the source storage account
 * (KLUIS_SOURCE_STORAGE, default AzureWebJobsStorage). With KLUIS_INVENTORY=arm the VMs come from Azure
 * Resource Manager and there is no local fabric. Disk encryption reaches Key Vault as the app does
 * (KLUIS_KEYVAULT_*), as the ADE operator principal (ade-keys.ts) with the local credential. The fabric's
 * time (SAS expiry) is the host's clock.
 */
import { errors } from '../../lib/domain/errors';
import { loadConfig, type KluisConfig } from '../../lib/config';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { DefaultAzureCredential } from '@azure/identity';
import { keyVaultClientOptions } from '../../lib/stores/azure/keyvault-client-options';
import { LocalPrincipalCredential } from '../../lib/stores/azure/keyvault-credential';
import { keyVaultLocatorFromConfig } from '../../lib/stores/azure/keyvault-locator';
import { localIdentityOf } from '../../lib/stores/azure/keyvault-key-store';
import { TableVmInventory } from '../../lib/stores/azure/table-vm-inventory';
import { SystemClock, type Clock } from '../clock';
import { ADE_OPERATOR_OBJECT_ID, SdkAdeKeyWriter } from './ade-keys';
import { ComputeFabric } from './compute/compute-fabric';
import { ensureResourceGroup } from '../../lib/services/resource-groups';
import { tableTenancyCatalog } from '../../lib/stores/tenancy-catalog';
import { FabricService } from './service';

export type FabricConfig = Pick<KluisConfig, 'sourceStorage' | 'inventory' | 'inventoryTable'> &
  Partial<Pick<KluisConfig, 'keyVault' | 'vaultStorage' | 'catalogTablePrefix' | 'tenancy'>>;

export interface LocalFabric {
  /** The VM tools (`/fabric/…`, kluis-fabric). */
  service: FabricService;
  /** The Microsoft.Compute service (its own HTTPS endpoint, compute/index.ts). */
  compute: ComputeFabric;
}

export interface LocalFabricOptions {
  /** Default: the system clock. */
  clock?: Clock;
  /** Failures of the fabric's background work (SAS expiry). */
  onError?: (err: unknown) => void;
}

export function localFabricFromConfig(config: FabricConfig, options: LocalFabricOptions = {}): LocalFabric {
  if (config.inventory !== 'table') throw errors.inventoryReadOnly('the local VM fabric');
  const clock = options.clock ?? new SystemClock();
  const inventory = TableVmInventory.fromConnectionString(config.sourceStorage, config.inventoryTable);
  const compute = ComputeFabric.fromConnectionString(config.sourceStorage, { inventory, clock, ...(options.onError === undefined ? {} : { onError: options.onError }) });
  return { service: fabricServiceFromConfig(config, { inventory, compute, clock }), compute };
}

/**
 * The local fabric of a hosting process, built on first use from the settings then in `process.env` (the
 * host applies the app's settings when it starts), shared by the `/fabric/…` routes and the Compute endpoint.
 */
export function lazyLocalFabric(options: () => LocalFabricOptions): () => LocalFabric {
  let local: LocalFabric | undefined;
  return () => (local ??= localFabricFromConfig(loadConfig(process.env), options()));
}

export function fabricServiceFromConfig(
  config: FabricConfig,
  shared: { inventory?: TableVmInventory; compute?: ComputeFabric; clock?: Clock } = {},
): FabricService {
  if (config.inventory !== 'table') throw errors.inventoryReadOnly('the local VM fabric');
  const keyVault = config.keyVault;
  const clock = shared.clock;
  const { vaultStorage, catalogTablePrefix, tenancy } = config;
  const groups =
    vaultStorage === undefined || catalogTablePrefix === undefined || tenancy === undefined
      ? undefined
      : { tenancy: tableTenancyCatalog(vaultStorage, catalogTablePrefix), local: tenancy, clock: () => new Date() };
  return new FabricService({
    ...(groups === undefined ? {} : { ensureResourceGroup: (subscriptionId: string, name: string, location: string) => ensureResourceGroup(groups, subscriptionId, name, location) }),
    inventory: shared.inventory ?? TableVmInventory.fromConnectionString(config.sourceStorage, config.inventoryTable),
    disks: BlobPageStore.fromConnectionString(config.sourceStorage),
    ...(shared.compute === undefined ? {} : { compute: shared.compute }),
    ...(clock === undefined ? {} : { clock: () => clock.now() }),
    ...(keyVault === undefined
      ? {}
      : {
          keyVaults: {
            locator: keyVaultLocatorFromConfig(keyVault),
            writer: new SdkAdeKeyWriter({
              credential: keyVault.credential === 'local' ? new LocalPrincipalCredential({ objectId: ADE_OPERATOR_OBJECT_ID }, localIdentityOf(keyVault)) : new DefaultAzureCredential(),
              clientOptions: (vaultUrl) => keyVaultClientOptions(vaultUrl, { caCertificateFile: keyVault.caCertificateFile }),
              ...(keyVault.credential === 'local' ? { principalId: ADE_OPERATOR_OBJECT_ID } : {}),
            }),
          },
        }),
  });
}
