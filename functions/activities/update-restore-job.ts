import { randomUUID } from 'node:crypto';
import * as df from 'durable-functions';
import { recordRestoreJobEvent } from '../../lib/services/restore-requests';
import { Activities, type UpdateRestoreJobActivityInput } from '../../orchestrations/contracts';
import { catalogDeps } from '../deps';

/** Records a step of a Restore job (started, disks restored, completed, failed); returns its status. */
df.app.activity(Activities.UpdateRestoreJob, {
  handler: async (input: UpdateRestoreJobActivityInput): Promise<{ status: string }> => {
    const job = await recordRestoreJobEvent({ ...catalogDeps(), newId: randomUUID }, input.vault, input.jobId, input.event);
    return { status: job.status };
  },
});
