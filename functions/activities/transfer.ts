import * as df from 'durable-functions';
import { transferFull } from '../../lib/services/backup-slice';
import { Activities, type TransferActivityOutput } from '../../orchestrations/contracts';
import { backupSliceDeps } from '../deps';
import { parseActivityInput, transferInput } from './inputs';

df.app.activity(Activities.Transfer, {
  handler: (input: unknown, context): Promise<TransferActivityOutput> =>
    transferFull(backupSliceDeps(context), parseActivityInput(transferInput, input)),
});
