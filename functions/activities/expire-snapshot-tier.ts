/** Instant-restore retention of one item: points past the instant-restore days (or beyond a count cap) lose their views. */
import { expireSnapshotTier, type ExpireSnapshotTierInput, type ExpireSnapshotTierResult } from '../../lib/engine/recovery-points/expire-snapshot-tier';
import { declareActivity } from '../activity';
import { deleteDeps } from '../deps';

export const expireSnapshotTierActivity = declareActivity('expireSnapshotTier', (input: ExpireSnapshotTierInput, context): Promise<ExpireSnapshotTierResult> =>
  expireSnapshotTier(deleteDeps(context), input),
);
