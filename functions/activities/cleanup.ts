import * as df from 'durable-functions';
import { cleanupSnapshot } from '../../lib/services/backup-slice';
import { Activities, type CleanupActivityOutput } from '../../orchestrations/contracts';
import { backupSliceDeps } from '../deps';
import { cleanupInput, parseActivityInput } from './inputs';

df.app.activity(Activities.Cleanup, {
  handler: (input: unknown, context): Promise<CleanupActivityOutput> => {
    const { snapshot } = parseActivityInput(cleanupInput, input);
    return cleanupSnapshot(backupSliceDeps(context), snapshot);
  },
});
