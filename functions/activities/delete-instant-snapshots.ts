/** A backup that failed or was cancelled before its commit: deletes whatever views it opened (found by item and point, whatever attempt opened them). */
import { discardSourceViews, type OpenSourceViewsInput } from '../../lib/engine/backup/source-views';
import { declareActivity } from '../activity';
import { engineDeps } from '../deps';

export const deleteInstantSnapshotsActivity = declareActivity('deleteInstantSnapshots', (input: OpenSourceViewsInput, context): Promise<{ deleted: number }> =>
  discardSourceViews(engineDeps(context), input),
);
