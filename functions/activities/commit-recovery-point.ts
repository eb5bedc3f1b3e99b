/** The point becomes visible: replica snapshots, checksums, manifest, catalog row last. */
import { commitRecoveryPoint, type CommitRecoveryPointInput } from '../../lib/engine/backup/commit-recovery-point';
import { declareActivity } from '../activity';
import { engineDeps } from '../deps';

export interface CommitRecoveryPointOutput {
  recoveryPointId: string;
  manifestBlobName: string;
  alreadyCommitted: boolean;
}

export const commitRecoveryPointActivity = declareActivity('commitRecoveryPoint', async (input: CommitRecoveryPointInput, context): Promise<CommitRecoveryPointOutput> => {
  const { recoveryPointId, manifestBlobName, alreadyCommitted } = await commitRecoveryPoint(engineDeps(context), input);
  return { recoveryPointId, manifestBlobName, alreadyCommitted };
});
