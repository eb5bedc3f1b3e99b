import * as df from 'durable-functions';
import { deleteInstantSnapshots } from '../../lib/engine/sources/page-blob/instant-snapshots';
import { Activities, type DeleteInstantSnapshotsActivityInput } from '../../orchestrations/contracts';
import { engineDeps } from '../deps';

df.app.activity(Activities.DeleteInstantSnapshots, {
  handler: async (input: DeleteInstantSnapshotsActivityInput, context): Promise<{ deleted: number }> => {
    const { deleted } = await deleteInstantSnapshots(engineDeps(context), input);
    return { deleted: deleted.length };
  },
});
