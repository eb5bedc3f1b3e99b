/** Premium disks where the backend stages them: a staging copy of the view, read by the segments; always deleted afterwards. */
import type { StagedDisk } from '../../lib/engine/domain/backup-job';
import { deleteStagingCopy, stageDisk, type StageDiskInput } from '../../lib/engine/backup/stage-disk';
import { declareActivity } from '../activity';
import { engineDeps } from '../deps';

export const stageDiskActivity = declareActivity('stageDisk', (input: StageDiskInput, context): Promise<StagedDisk> => stageDisk(engineDeps(context), input));

export const deleteStagingBlobActivity = declareActivity('deleteStagingBlob', async (input: Omit<StageDiskInput, 'capabilities'>, context): Promise<{ deleted: true }> => {
  await deleteStagingCopy(engineDeps(context), input);
  return { deleted: true };
});
