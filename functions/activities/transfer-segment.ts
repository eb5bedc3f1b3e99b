import * as df from 'durable-functions';
import { transferSegment } from '../../lib/engine/backup/transfer-segment';
import { Activities, type TransferSegmentActivityInput, type TransferSegmentResult } from '../../orchestrations/contracts';
import { engineDeps } from '../deps';

df.app.activity(Activities.TransferSegment, {
  handler: (input: TransferSegmentActivityInput, context): Promise<TransferSegmentResult> => transferSegment(engineDeps(context), input),
});
