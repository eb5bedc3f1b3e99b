/**
 * Builds the local fabric from the app's settings: VM disks and the inventory table both live in the
 * source storage account (KLUIS_SOURCE_STORAGE, default AzureWebJobsStorage). With KLUIS_INVENTORY=arm
 * the VMs come from Azure Resource Manager and there is no local fabric.
 */
import { errors } from '../../lib/domain/errors';
import type { KluisConfig } from '../../lib/config';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { TableVmInventory } from '../../lib/stores/azure/table-vm-inventory';
import { FabricService } from './service';

export function fabricServiceFromConfig(config: Pick<KluisConfig, 'sourceStorage' | 'inventory' | 'inventoryTable'>): FabricService {
  if (config.inventory !== 'table') throw errors.inventoryReadOnly('the local VM fabric');
  return new FabricService({
    inventory: TableVmInventory.fromConnectionString(config.sourceStorage, config.inventoryTable),
    disks: BlobPageStore.fromConnectionString(config.sourceStorage),
  });
}
