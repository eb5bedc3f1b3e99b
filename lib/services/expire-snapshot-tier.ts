/**
 * Instant-restore retention: the snapshot tier of every recovery point of an item created before a
 * cutoff is deleted (the vault tier stays), through the catalog so each point's row records it.
 */
import { tiersOfState } from '../domain/restore-plan';
import { deleteRecoveryPointSnapshotTier, type DeleteRecoveryPointDeps } from './delete-recovery-point';

export interface ExpireSnapshotTierInput {
  itemId: string;
  /** ISO time: points created before it lose their instant snapshots. */
  olderThan: string;
}

export interface ExpireSnapshotTierResult {
  expired: string[];
}

export async function expireSnapshotTier(deps: DeleteRecoveryPointDeps, input: ExpireSnapshotTierInput): Promise<ExpireSnapshotTierResult> {
  const cutoff = Date.parse(input.olderThan);
  if (Number.isNaN(cutoff)) throw new RangeError(`olderThan must be an ISO time, got "${input.olderThan}"`);
  const expired: string[] = [];
  for await (const point of deps.catalog.list(input.itemId)) {
    if (Date.parse(point.createdAt) >= cutoff || tiersOfState(point.state).instant === 'Deleted') continue;
    await deleteRecoveryPointSnapshotTier(deps, { itemId: input.itemId, recoveryPointId: point.recoveryPointId });
    expired.push(point.recoveryPointId);
  }
  if (expired.length > 0) deps.log.info(`Expired the instant-restore snapshots of ${expired.length} recovery point(s) of ${input.itemId}.`);
  return { expired };
}
