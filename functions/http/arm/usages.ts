/** `GET {vault}/usages` (Usages_ListByVaults): protected items and backup storage used, per tier (lib/domain/arm/vault-usage-resource.ts). */
import { getVault } from '../../../lib/services/vaults';
import { listVaultUsages } from '../../../lib/services/vault-usage';
import { catalogDeps } from '../../deps';
import { armRoute, list, VAULT_ROUTE, vaultRefOf } from './route';

armRoute({
  operationId: 'Usages_ListByVaults',
  action: 'Microsoft.RecoveryServices/Vaults/usages/read',
  method: 'GET',
  route: `${VAULT_ROUTE}/usages`,
  summary:
    "The vault's usages: ProtectedItemCount, the vault tier's backup storage under its redundancy's name (GRSStorageUsage, LRSStorageUsage or ZRSStorageUsage, bytes) and Kluis's SnapshotStorageUsage (instant-restore snapshots, bytes).",
  tag: 'Vaults',
  responses: { 200: 'The usages, in `value`.', 404: 'No such vault.' },
  handler: async ({ params }) => {
    const deps = catalogDeps();
    const vault = (await getVault(deps, vaultRefOf(params))).value;
    return list(await listVaultUsages(deps, vault));
  },
});
