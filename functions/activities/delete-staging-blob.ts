import * as df from 'durable-functions';
import { deleteStagingBlob } from '../../lib/engine/sources/page-blob/staging';
import { Activities, type DeleteStagingBlobActivityInput } from '../../orchestrations/contracts';
import { engineDeps } from '../deps';

df.app.activity(Activities.DeleteStagingBlob, {
  handler: async (input: DeleteStagingBlobActivityInput, context): Promise<{ deleted: true }> => {
    await deleteStagingBlob(engineDeps(context), input);
    return { deleted: true };
  },
});
