/**
 * `kluis check` of a vault: the engine's check (lib/engine/recovery-points/check-vault.ts) over every item the
 * vault holds (protected, stopped and soft-deleted), reported with the items' names. Changes nothing unless
 * `repair` (orphans only).
 *
 * API: checkVault(deps, vaultRef, {readData?, repair?}): Promise<VaultCheckResult>
 */
import type { VaultRef } from '../domain/arm-names';
import { checkVaultItems, type CheckVaultDeps, type VaultProblem } from '../engine/recovery-points/check-vault';
import type { VaultCatalog } from '../stores/vault-catalog';
import { listProtectedItems } from './protection';
import { getVault } from './vaults';

export interface VaultCheckDeps {
  catalog: VaultCatalog;
  data: CheckVaultDeps;
  clock: () => Date;
}

export interface VaultCheckOptions {
  readData?: boolean;
  repair?: boolean;
}

export interface VaultCheckResult {
  vaultId: string;
  checkedAt: string;
  readData: boolean;
  repair: boolean;
  /** No problem found (or every one found was repaired). */
  healthy: boolean;
  items: number;
  recoveryPoints: number;
  bytesVerified: number;
  problems: Array<VaultProblem & { itemName?: string }>;
}

export async function checkVault(deps: VaultCheckDeps, ref: VaultRef, options: VaultCheckOptions = {}): Promise<VaultCheckResult> {
  const vault = (await getVault(deps, ref)).value;
  const items = await listProtectedItems(deps, { id: vault.id, subscriptionId: vault.subscriptionId, resourceGroup: vault.resourceGroup, name: vault.name });
  const names = new Map(items.map((item) => [item.engineItemId, item.itemName]));
  const report = await checkVaultItems(deps.data, { itemIds: [...names.keys()], readData: options.readData === true, repair: options.repair === true });
  return {
    vaultId: vault.id,
    checkedAt: deps.clock().toISOString(),
    readData: options.readData === true,
    repair: options.repair === true,
    healthy: report.problems.every((p) => p.repaired === true),
    items: report.items,
    recoveryPoints: report.recoveryPoints,
    bytesVerified: report.bytesVerified,
    problems: report.problems.map((p) => ({ ...p, ...(names.has(p.itemId) ? { itemName: names.get(p.itemId) } : {}) })),
  };
}
