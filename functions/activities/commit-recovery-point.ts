import * as df from 'durable-functions';
import { commitRecoveryPoint } from '../../lib/engine/backup/commit-recovery-point';
import { Activities, type CommitRecoveryPointActivityInput, type CommitRecoveryPointActivityOutput } from '../../orchestrations/contracts';
import { engineDeps } from '../deps';

df.app.activity(Activities.CommitRecoveryPoint, {
  handler: async (input: CommitRecoveryPointActivityInput, context): Promise<CommitRecoveryPointActivityOutput> => {
    const { recoveryPointId, manifestBlobName, alreadyCommitted } = await commitRecoveryPoint(engineDeps(context), input);
    return { recoveryPointId, manifestBlobName, alreadyCommitted };
  },
});
