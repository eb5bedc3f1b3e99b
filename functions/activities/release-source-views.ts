/** Ends all access to a backup's views (they stay as the instant-restore tier); always run, also after a failure. */
import type { DiskView } from '../../lib/engine/domain/disk-view';
import { releaseSourceViews } from '../../lib/engine/backup/source-views';
import { declareActivity } from '../activity';
import { engineDeps } from '../deps';

export const releaseSourceViewsActivity = declareActivity('releaseSourceViews', (input: { views: DiskView[] }, context): Promise<{ released: number }> =>
  releaseSourceViews(engineDeps(context), input),
);
