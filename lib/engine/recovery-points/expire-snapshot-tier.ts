/**
 * Instant-restore retention at the end of a backup, through the catalog so each point's row records
 * it (the vault tier stays): points created before a cutoff lose their snapshot tier, and — for a
 * count cap (Standard policies: 18 per VM, instant-restore-rules.ts) — so do the oldest beyond the
 * newest `keepNewest`. The newest point always keeps its snapshot (it is the latest recovery point
 * when the cap runs before a backup, and newer than any cutoff after one).
 */
import { tiersOfState } from '../domain/restore-plan';
import { deleteRecoveryPointSnapshotTier, type DeleteRecoveryPointDeps } from './delete-recovery-point';

export interface ExpireSnapshotTierInput {
  itemId: string;
  /** ISO time: points created before it lose their instant snapshots. */
  olderThan?: string;
  /** Only the newest this many points (at least 1) keep their instant snapshots. */
  keepNewest?: number;
}

export interface ExpireSnapshotTierResult {
  expired: string[];
}

export async function expireSnapshotTier(deps: DeleteRecoveryPointDeps, input: ExpireSnapshotTierInput): Promise<ExpireSnapshotTierResult> {
  const cutoff = input.olderThan === undefined ? Number.NEGATIVE_INFINITY : Date.parse(input.olderThan);
  if (Number.isNaN(cutoff)) throw new RangeError(`olderThan must be an ISO time, got "${input.olderThan}"`);
  const keepNewest = input.keepNewest === undefined ? Number.POSITIVE_INFINITY : Math.max(1, input.keepNewest);
  const withSnapshot = [];
  for await (const point of deps.catalog.list(input.itemId)) if (tiersOfState(point.state).instant !== 'Deleted') withSnapshot.push(point);
  // Oldest first (the catalog lists ascending ids); the newest `keepNewest` are the tail.
  const overCap = new Set(withSnapshot.slice(0, Math.max(0, withSnapshot.length - keepNewest)).map((p) => p.recoveryPointId));
  const newest = withSnapshot.at(-1)?.recoveryPointId;
  const expired: string[] = [];
  for (const point of withSnapshot) {
    if (point.recoveryPointId === newest) continue;
    if (Date.parse(point.createdAt) >= cutoff && !overCap.has(point.recoveryPointId)) continue;
    await deleteRecoveryPointSnapshotTier(deps, { itemId: input.itemId, recoveryPointId: point.recoveryPointId });
    expired.push(point.recoveryPointId);
  }
  if (expired.length > 0) deps.log.info(`Expired the instant-restore snapshots of ${expired.length} recovery point(s) of ${input.itemId}.`);
  return { expired };
}
