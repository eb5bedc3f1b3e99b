import * as df from 'durable-functions';
import { snapshotDisks } from '../../lib/engine/sources/page-blob/instant-snapshots';
import { Activities, type InstantSnapshot, type SnapshotDisksActivityInput } from '../../orchestrations/contracts';
import { engineDeps } from '../deps';

df.app.activity(Activities.SnapshotDisks, {
  handler: (input: SnapshotDisksActivityInput, context): Promise<InstantSnapshot[]> => snapshotDisks(engineDeps(context), input),
});
