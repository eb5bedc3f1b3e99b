/** One segment of a disk: read, hash, upload what changed, write the segment's checksum part. Idempotent. */
import type { TransferSegmentResult } from '../../lib/engine/domain/backup-job';
import { transferSegment, type TransferSegmentInput } from '../../lib/engine/backup/transfer-segment';
import { declareActivity } from '../activity';
import { engineDeps } from '../deps';

export const transferSegmentActivity = declareActivity('transferSegment', (input: TransferSegmentInput, context): Promise<TransferSegmentResult> =>
  transferSegment(engineDeps(context), input),
);
