/** Opens the point-in-time views of all of a VM's disks together (the new point's instant-restore tier). */
import type { DiskView } from '../../lib/engine/domain/disk-view';
import { openSourceViews, type OpenSourceViewsInput } from '../../lib/engine/backup/source-views';
import { declareActivity } from '../activity';
import { engineDeps } from '../deps';

export const snapshotDisksActivity = declareActivity('snapshotDisks', (input: OpenSourceViewsInput, context): Promise<DiskView[]> => openSourceViews(engineDeps(context), input));
