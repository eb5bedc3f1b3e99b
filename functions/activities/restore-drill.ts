/** A restore drill (lib/services/restore-drills.ts): restore a point into scratch, verify every block, delete the scratch, record the job. */
import { failRestoreDrill, runRestoreDrill, type RestoreDrillResult, type RestoreDrillRun } from '../../lib/services/restore-drills';
import { declareActivity } from '../activity';
import { restoreDrillDeps } from '../deps';

export const runRestoreDrillActivity = declareActivity('runRestoreDrill', (input: RestoreDrillRun, context): Promise<RestoreDrillResult> => runRestoreDrill(restoreDrillDeps(context), input));

export const failRestoreDrillActivity = declareActivity(
  'failRestoreDrill',
  async (input: { run: RestoreDrillRun; error: string }, context): Promise<void> => failRestoreDrill(restoreDrillDeps(context), input.run, new Error(input.error)),
);
