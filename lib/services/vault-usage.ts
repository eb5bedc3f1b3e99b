/** The vault's usages (lib/domain/arm/vault-usage-resource.ts): its items, backup jobs and the recovery points that still exist. */
import { vaultUsages, type LivePoint, type VaultUsage } from '../domain/arm/vault-usage-resource';
import type { VaultRecord } from '../domain/catalog';
import { tiersOfState } from '../engine/domain/restore-plan';
import { collect } from '../stores/document-store';
import type { VaultCatalog } from '../stores/vault-catalog';
import { listJobs } from './jobs';
import { listProtectedItems } from './protection';

export async function listVaultUsages(deps: { catalog: VaultCatalog }, vault: VaultRecord): Promise<VaultUsage[]> {
  const [items, jobs] = await Promise.all([listProtectedItems(deps, vault), listJobs(deps, vault, { operation: 'Backup' })]);
  const points: LivePoint[] = [];
  for (const item of items) {
    for (const point of await collect(deps.catalog.recoveryPoints.list(item.engineItemId))) {
      const tiers = tiersOfState(point.state);
      points.push({ itemKey: item.itemName.toLowerCase(), recoveryPointId: point.recoveryPointId, hasVaultTier: tiers.vault === 'Valid', hasSnapshotTier: tiers.instant === 'Valid' });
    }
  }
  return vaultUsages({ storageModelType: vault.storageModelType, items, jobs, points });
}
