import { randomUUID } from 'node:crypto';
import type { RestoreJobEvent } from '../../lib/domain/restore-request';
import { recordRestoreJobEvent } from '../../lib/services/restore-requests';
import type { VaultAddress } from '../../orchestrations/contracts';
import { declareActivity } from '../activity';
import { catalogDeps } from '../deps';

/** Records a step of a Restore job (started, disks restored, completed, failed); returns its status. */
export const updateRestoreJobActivity = declareActivity('updateRestoreJob', async (input: { vault: VaultAddress; jobId: string; event: RestoreJobEvent }): Promise<{ status: string }> => {
  const job = await recordRestoreJobEvent({ ...catalogDeps(), newId: randomUUID }, input.vault, input.jobId, input.event);
  return { status: job.status };
});
