import * as df from 'durable-functions';
import { commitManifest } from '../../lib/services/backup-slice';
import { Activities, type CommitActivityOutput } from '../../orchestrations/contracts';
import { backupSliceDeps } from '../deps';
import { commitInput, parseActivityInput } from './inputs';

df.app.activity(Activities.Commit, {
  handler: (input: unknown, context): Promise<CommitActivityOutput> =>
    commitManifest(backupSliceDeps(context), parseActivityInput(commitInput, input)),
});
