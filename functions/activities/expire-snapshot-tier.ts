import * as df from 'durable-functions';
import { expireSnapshotTier, type ExpireSnapshotTierResult } from '../../lib/engine/recovery-points/expire-snapshot-tier';
import { Activities, type ExpireSnapshotTierActivityInput } from '../../orchestrations/contracts';
import { deleteDeps } from '../deps';

df.app.activity(Activities.ExpireSnapshotTier, {
  handler: (input: ExpireSnapshotTierActivityInput, context): Promise<ExpireSnapshotTierResult> => expireSnapshotTier(deleteDeps(context), input),
});
