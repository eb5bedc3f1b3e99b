/**
 * Retention cleanup of one protected item (DESIGN §1 "Retention cleanup"):
 * - a soft-deleted item whose 14 days are over is purged: every point's data, then the item row;
 * - a stopped (retain data) or soft-deleted item is left alone: no pruning;
 * - otherwise every point is evaluated against the item's *current* policy (policy edits apply
 *   retroactively): expired points lose both tiers (snapshot tier first, never orphaning blobs),
 *   kept points record the rule that keeps them and until when, and points older than the policy's
 *   instant-restore days lose their snapshot tier.
 * Idempotent: a re-run after a crash finishes what the previous run started.
 */
import { nameRow, vaultKey, type ProtectedItemRecord } from '../domain/catalog';
import { evaluateRetention } from '../domain/retention';
import { tiersOfState, RecoveryPointStates } from '../domain/restore-plan';
import { resolveTimeZone } from '../domain/time-zones';
import { collect } from '../stores/document-store';
import type { StoredRecoveryPoint } from '../stores/recovery-point-catalog';
import type { VaultCatalog } from '../stores/vault-catalog';
import { deleteRecoveryPointSnapshotTier, deleteRecoveryPointVaultData, type DeleteRecoveryPointDeps } from './delete-recovery-point';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface ApplyRetentionDeps extends DeleteRecoveryPointDeps {
  vaultCatalog: VaultCatalog;
  clock: () => Date;
}

export interface ApplyRetentionInput {
  /** vaultKey() of the item's vault (the catalog partition). */
  vaultKey: string;
  itemName: string;
}

export interface ApplyRetentionResult {
  itemName: string;
  outcome: 'Pruned' | 'Purged' | 'Skipped' | 'Missing';
  /** Why the item was skipped, in words. */
  reason?: string;
  expired: string[];
  snapshotTierExpired: string[];
  kept: number;
}

/** Every item of every vault, for the retention run. */
export async function listRetentionItems(deps: Pick<ApplyRetentionDeps, 'vaultCatalog'>): Promise<ApplyRetentionInput[]> {
  const items: ApplyRetentionInput[] = [];
  for await (const { value: vault } of deps.vaultCatalog.vaults.listAll()) {
    const key = vaultKey(vault.subscriptionId, vault.resourceGroup, vault.name);
    for await (const { value: item } of deps.vaultCatalog.items.list(key)) items.push({ vaultKey: key, itemName: item.itemName });
  }
  return items;
}

export async function applyRetention(deps: ApplyRetentionDeps, input: ApplyRetentionInput): Promise<ApplyRetentionResult> {
  const now = deps.clock();
  const result: ApplyRetentionResult = { itemName: input.itemName, outcome: 'Skipped', expired: [], snapshotTierExpired: [], kept: 0 };
  const stored = await deps.vaultCatalog.items.get(input.vaultKey, nameRow(input.itemName));
  if (stored === undefined) return { ...result, outcome: 'Missing' };
  const item = stored.value;

  if (item.softDelete !== undefined) {
    if (Date.parse(item.softDelete.purgeAt) > now.getTime()) return { ...result, reason: `soft-deleted until ${item.softDelete.purgeAt}` };
    result.expired = await purgeItem(deps, item);
    await deps.vaultCatalog.items.delete(input.vaultKey, nameRow(input.itemName), { ifMatch: stored.etag });
    deps.log.info(`Purged soft-deleted item ${item.itemName}: ${result.expired.length} recovery point(s) deleted.`);
    return { ...result, outcome: 'Purged' };
  }
  if (item.policyName === undefined || item.protectionState === 'ProtectionStopped') {
    return { ...result, reason: 'protection is stopped; data is retained' };
  }
  const policy = await deps.vaultCatalog.policies.get(input.vaultKey, nameRow(item.policyName));
  if (policy === undefined) return { ...result, reason: `policy ${item.policyName} not found` };

  const allPoints = await collect(deps.catalog.list(item.engineItemId));
  // A delete interrupted by a crash left its row marked: finish it first.
  for (const point of allPoints.filter((p) => tiersOfState(p.state).vault === 'Deleting')) {
    await deleteRecoveryPointVaultData(deps, { itemId: item.engineItemId, recoveryPointId: point.recoveryPointId, force: true });
    result.expired.push(point.recoveryPointId);
  }
  const points = allPoints.filter((p) => tiersOfState(p.state).vault === 'Valid');
  const decisions = evaluateRetention({
    policy: policy.value.properties,
    timeZone: resolveTimeZone(policy.value.properties.timeZone ?? 'UTC'),
    points: points.map((p) => ({
      recoveryPointId: p.recoveryPointId,
      time: p.createdAt,
      isOnDemand: p.retention?.isOnDemand ?? false,
      retainUntil: p.retention?.retainUntil,
      scheduledTime: p.retention?.scheduledTime,
    })),
    now,
  });
  const byId = new Map(points.map((p) => [p.recoveryPointId, p]));
  const instantDays = policy.value.properties.instantRpRetentionRangeInDays ?? 2;
  const instantCutoff = now.getTime() - instantDays * DAY_MS;

  for (const decision of decisions) {
    const point = byId.get(decision.recoveryPointId);
    if (point === undefined) continue;
    if (!decision.keep) {
      await deleteRecoveryPointVaultData(deps, { itemId: item.engineItemId, recoveryPointId: point.recoveryPointId, force: true });
      result.expired.push(point.recoveryPointId);
      continue;
    }
    result.kept += 1;
    await recordDecision(deps, point, decision.ruleName, decision.expiryTime);
    if (Date.parse(point.createdAt) < instantCutoff && tiersOfState(point.state).instant !== 'Deleted') {
      await deleteRecoveryPointSnapshotTier(deps, { itemId: item.engineItemId, recoveryPointId: point.recoveryPointId });
      result.snapshotTierExpired.push(point.recoveryPointId);
    }
  }
  if (result.expired.length > 0 || result.snapshotTierExpired.length > 0) {
    deps.log.info(
      `Retention of ${item.itemName}: ${result.expired.length} point(s) expired, ${result.snapshotTierExpired.length} snapshot tier(s) expired, ${result.kept} kept.`,
    );
  }
  return { ...result, outcome: 'Pruned' };
}

async function purgeItem(deps: ApplyRetentionDeps, item: ProtectedItemRecord): Promise<string[]> {
  const deleted: string[] = [];
  for (const point of await collect(deps.catalog.list(item.engineItemId))) {
    await deleteRecoveryPointVaultData(deps, { itemId: item.engineItemId, recoveryPointId: point.recoveryPointId, force: true });
    deleted.push(point.recoveryPointId);
  }
  return deleted;
}

/** Records the governing rule and expiry on the point's row when they changed (ETag; a concurrent change wins). */
async function recordDecision(deps: ApplyRetentionDeps, point: StoredRecoveryPoint, ruleName?: string, expiryTime?: string): Promise<void> {
  const retention = { isOnDemand: false, ...point.retention, ruleName, expiryTime };
  if (point.retention?.ruleName === ruleName && point.retention?.expiryTime === expiryTime) return;
  if (point.state === RecoveryPointStates.Deleting) return;
  const { etag, ...record } = point;
  try {
    await deps.catalog.put({ ...record, retention }, { ifMatch: etag });
  } catch (err) {
    if ((err as { code?: string }).code !== 'KluisCatalogConflict') throw err;
  }
}
