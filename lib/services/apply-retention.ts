/**
 * Retention cleanup of one protected item (DESIGN §1 "Retention cleanup"):
 * - a soft-deleted item whose 14 days are over is purged: every point's data, then the item row;
 * - a stopped (retain data) or soft-deleted item is left alone: no pruning;
 * - otherwise every point is evaluated against the item's *current* policy (domain/retention.ts):
 *   expired points lose both tiers (snapshot tier first, never orphaning blobs); kept points record
 *   the rule that keeps them, until when and why, and their long-term tags; snapshot tiers go when
 *   their instant-restore days are over (the latest point keeps its own) or beyond the Standard
 *   policies' 18-point cap.
 * Whatever a run deletes is recorded, point by point with its reason, on a system-triggered
 * DeleteBackupData job of the item's vault (one per run and item; its id is derived from both, so a
 * retried activity completes the same job).
 * Idempotent: a re-run after a crash finishes what the previous run started.
 */
import { nameRow, type ProtectedItemRecord, type VaultRecord } from '../domain/catalog';
import { evaluateRetention, type RetentionDecision } from '../domain/retention';
import { tiersOfState, RecoveryPointStates } from '../engine/domain/restore-plan';
import { resolveTimeZone } from '../domain/time-zones';
import { collect } from '../stores/document-store';
import type { StoredRecoveryPoint } from '../stores/recovery-point-catalog';
import type { VaultCatalog } from '../stores/vault-catalog';
import { deleteRecoveryPointSnapshotTier, deleteRecoveryPointVaultData } from '../engine/recovery-points/delete-recovery-point';
import { deleteItemVaultData, type DeleteItemDataDeps } from '../engine/recovery-points/delete-item-data';
import { completeJob, createJob, derivedJobId, failJob, findJob, updateJob, vaultPartitionOf, type VaultScope } from './jobs';

export interface ApplyRetentionDeps extends DeleteItemDataDeps {
  vaultCatalog: VaultCatalog;
  clock: () => Date;
  newId: () => string;
}

export interface ApplyRetentionInput {
  vault: VaultScope;
  itemName: string;
  /** The retention run (orchestration instance): one deletion job per run and item. Default: a new id. */
  runId?: string;
}

export interface ApplyRetentionResult {
  itemName: string;
  outcome: 'Pruned' | 'Purged' | 'Skipped' | 'Missing';
  /** Why the item was skipped, in words. */
  reason?: string;
  expired: string[];
  snapshotTierExpired: string[];
  kept: number;
  /** The DeleteBackupData job recording what this run deleted. */
  jobId?: string;
}

/** Property-bag entries a deletion job lists one by one; beyond them, a count. */
const MAX_LISTED_DELETIONS = 40;

/** Every item of every vault, for the retention run. */
export async function listRetentionItems(deps: Pick<ApplyRetentionDeps, 'vaultCatalog'>): Promise<ApplyRetentionInput[]> {
  const items: ApplyRetentionInput[] = [];
  for await (const { value: vault } of deps.vaultCatalog.vaults.listAll()) {
    for await (const { value: item } of deps.vaultCatalog.items.list(vaultPartitionOf(vault))) items.push({ vault: scopeOf(vault), itemName: item.itemName });
  }
  return items;
}

export async function applyRetention(deps: ApplyRetentionDeps, input: ApplyRetentionInput): Promise<ApplyRetentionResult> {
  const now = deps.clock();
  const partition = vaultPartitionOf(input.vault);
  const result: ApplyRetentionResult = { itemName: input.itemName, outcome: 'Skipped', expired: [], snapshotTierExpired: [], kept: 0 };
  const stored = await deps.vaultCatalog.items.get(partition, nameRow(input.itemName));
  if (stored === undefined) return { ...result, outcome: 'Missing' };
  const item = stored.value;
  const journal = new DeletionJournal(deps, input, item);

  if (item.softDelete !== undefined) {
    if (Date.parse(item.softDelete.purgeAt) > now.getTime()) return { ...result, reason: `soft-deleted until ${item.softDelete.purgeAt}` };
    const purgeAt = item.softDelete.purgeAt;
    const points = await collect(deps.catalog.list(item.engineItemId));
    const deletions = points.map((p): Deletion => [`Recovery point ${p.recoveryPointId}`, `Deleted with the item: its soft-delete days ended at ${purgeAt}.`]);
    const jobId = await journal.record(deletions, async () => {
      const deleted = await deleteItemVaultData(deps, item.engineItemId, (id) => result.expired.push(id));
      const leftovers = deleted.blobs.length === 0 ? '' : `, its ${deleted.blobs.length} other blob(s) (replicas, leftovers)`;
      return `Purged: the item's ${deleted.recoveryPoints.length} recovery point(s)${leftovers}, then the item.`;
    });
    await deps.vaultCatalog.items.delete(partition, nameRow(input.itemName), { ifMatch: stored.etag });
    deps.log.info(`Purged soft-deleted item ${item.itemName}: ${result.expired.length} recovery point(s) deleted.`);
    return { ...result, outcome: 'Purged', jobId };
  }
  if (item.policyName === undefined || item.protectionState === 'ProtectionStopped') {
    return { ...result, reason: 'protection is stopped; data is retained' };
  }
  const policy = await deps.vaultCatalog.policies.get(partition, nameRow(item.policyName));
  if (policy === undefined) return { ...result, reason: `policy ${item.policyName} not found` };

  const allPoints = await collect(deps.catalog.list(item.engineItemId));
  const interrupted = allPoints.filter((p) => tiersOfState(p.state).vault === 'Deleting');
  const points = allPoints.filter((p) => tiersOfState(p.state).vault === 'Valid');
  const decisions = evaluateRetention({
    policy: policy.value.properties,
    timeZone: resolveTimeZone(policy.value.properties.timeZone ?? 'UTC'),
    // Points whose deletion an earlier (or concurrent) run started are evaluated too, for the reason they go.
    points: [...points, ...interrupted].map((p) => ({
      recoveryPointId: p.recoveryPointId,
      time: p.createdAt,
      isOnDemand: p.retention?.isOnDemand ?? false,
      retainUntil: p.retention?.retainUntil,
      scheduledTime: p.retention?.scheduledTime,
      longTermTags: p.retention?.longTermTags,
      hasSnapshotTier: tiersOfState(p.state).instant === 'Valid',
    })),
    now,
  });
  const byId = new Map(points.map((p) => [p.recoveryPointId, p]));
  const reasonOf = (id: string) => decisions.find((d) => d.recoveryPointId === id)?.reason ?? 'Expired.';
  const deletions = [
    ...interrupted.map((p): Deletion => [`Recovery point ${p.recoveryPointId}`, `${reasonOf(p.recoveryPointId)} (An earlier or concurrent cleanup had started deleting it.)`]),
    ...decisions.flatMap((d): Deletion[] => {
      if (!byId.has(d.recoveryPointId)) return [];
      if (!d.keep) return [[`Recovery point ${d.recoveryPointId}`, d.reason]];
      return d.snapshotTier?.keep === false ? [[`Snapshot of recovery point ${d.recoveryPointId}`, d.snapshotTier.reason]] : [];
    }),
  ];
  const apply = async (): Promise<string> => {
    // A delete interrupted by a crash left its row marked: finish it first.
    for (const point of interrupted) {
      await deleteRecoveryPointVaultData(deps, { itemId: item.engineItemId, recoveryPointId: point.recoveryPointId, force: true });
      result.expired.push(point.recoveryPointId);
    }
    for (const decision of decisions) {
      const point = byId.get(decision.recoveryPointId);
      if (point === undefined) continue;
      if (!decision.keep) {
        await deleteRecoveryPointVaultData(deps, { itemId: item.engineItemId, recoveryPointId: point.recoveryPointId, force: true });
        result.expired.push(point.recoveryPointId);
        continue;
      }
      result.kept += 1;
      await recordDecision(deps, point, decision);
      if (decision.snapshotTier?.keep === false) {
        await deleteRecoveryPointSnapshotTier(deps, { itemId: item.engineItemId, recoveryPointId: point.recoveryPointId });
        result.snapshotTierExpired.push(point.recoveryPointId);
      }
    }
    return `${result.expired.length} recovery point(s) and ${result.snapshotTierExpired.length} snapshot(s) deleted by the policy ${item.policyName}; ${result.kept} point(s) kept.`;
  };
  if (deletions.length === 0) {
    await apply();
    return { ...result, outcome: 'Pruned' };
  }
  const jobId = await journal.record(deletions, apply);
  deps.log.info(
    `Retention of ${item.itemName}: ${result.expired.length} point(s) expired, ${result.snapshotTierExpired.length} snapshot tier(s) expired, ${result.kept} kept.`,
  );
  return { ...result, outcome: 'Pruned', jobId };
}

// ---- internals ------------------------------------------------------------------------------------

function scopeOf(vault: VaultRecord): VaultScope {
  return { id: vault.id, subscriptionId: vault.subscriptionId, resourceGroup: vault.resourceGroup, name: vault.name };
}

/** Records the decision on the point's row when it changed (ETag; a concurrent change wins). */
async function recordDecision(deps: ApplyRetentionDeps, point: StoredRecoveryPoint, decision: RetentionDecision): Promise<void> {
  const retention = {
    isOnDemand: false,
    ...point.retention,
    ruleName: decision.ruleName,
    expiryTime: decision.expiryTime,
    reason: decision.reason,
    ...(decision.longTermTags === undefined ? {} : { longTermTags: decision.longTermTags }),
    snapshotTier: decision.snapshotTier && { expiryTime: decision.snapshotTier.expiryTime, reason: decision.snapshotTier.reason },
  };
  if (retention.expiryTime === undefined) delete retention.expiryTime;
  if (retention.snapshotTier === undefined) delete retention.snapshotTier;
  if (JSON.stringify(point.retention) === JSON.stringify(retention) || point.state === RecoveryPointStates.Deleting) return;
  const { etag, ...record } = point;
  try {
    await deps.catalog.put({ ...record, retention }, { ifMatch: etag });
  } catch (err) {
    if ((err as { code?: string }).code !== 'KluisCatalogConflict') throw err;
  }
}

/** A property-bag entry of a deletion job: what goes, and why. */
type Deletion = [string, string];

/**
 * The DeleteBackupData job of one run and item: opened (InProgress) with what is about to go and
 * why, before anything is deleted; Completed when it is gone, Failed with the error when a delete
 * failed. A retried run (the same run id) finds and finishes the same job.
 */
class DeletionJournal {
  private readonly jobId: string;
  private readonly jobDeps: { catalog: VaultCatalog; clock: () => Date; newId: () => string };

  constructor(
    deps: ApplyRetentionDeps,
    private readonly input: ApplyRetentionInput,
    private readonly item: ProtectedItemRecord,
  ) {
    this.jobId = derivedJobId('kluis-retention', input.runId ?? deps.newId(), item.engineItemId);
    this.jobDeps = { catalog: deps.vaultCatalog, clock: deps.clock, newId: deps.newId };
  }

  /** Opens the job, runs `work` (which returns the job's summary), and closes the job with its outcome. */
  async record(deletions: readonly Deletion[], work: () => Promise<string>): Promise<string> {
    await this.open(deletions);
    let summary: string;
    try {
      summary = await work();
    } catch (err) {
      await failJob(this.jobDeps, this.input.vault, this.jobId, err).catch(() => undefined);
      throw err;
    }
    await completeJob(this.jobDeps, this.input.vault, this.jobId, { propertyBag: { Summary: summary } });
    return this.jobId;
  }

  private async open(deletions: readonly Deletion[]): Promise<void> {
    const listed = Object.fromEntries(deletions.slice(0, MAX_LISTED_DELETIONS));
    const more: Record<string, string> = deletions.length > MAX_LISTED_DELETIONS ? { 'More deletions': `${deletions.length - MAX_LISTED_DELETIONS} more, not listed` } : {};
    if ((await findJob(this.jobDeps, this.input.vault, this.jobId)) !== undefined) {
      await updateJob(this.jobDeps, this.input.vault, this.jobId, (job) => ({ ...job, propertyBag: { ...job.propertyBag, ...listed, ...more } }));
      return;
    }
    await createJob(this.jobDeps, this.input.vault, {
      jobId: this.jobId,
      operation: 'DeleteBackupData',
      entityFriendlyName: this.item.vm.name,
      containerName: this.item.containerName,
      itemName: this.item.itemName,
      isUserTriggered: false,
      propertyBag: { 'Triggered by': 'Retention cleanup (the policy of the item)', ...listed, ...more },
    });
  }
}
