import * as df from 'durable-functions';
import { snapshotDisk } from '../../lib/services/backup-slice';
import { Activities, type SnapshotActivityOutput } from '../../orchestrations/contracts';
import { backupSliceDeps } from '../deps';
import { parseActivityInput, snapshotInput } from './inputs';

df.app.activity(Activities.Snapshot, {
  handler: (input: unknown, context): Promise<SnapshotActivityOutput> =>
    snapshotDisk(backupSliceDeps(context), parseActivityInput(snapshotInput, input)),
});
