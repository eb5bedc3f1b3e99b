/** A backup's first step: the disks' backend checks them (exist, supported size and format) before anything is opened. */
import type { DiscoveredVmDisk, VmDiskRequest } from '../../lib/engine/domain/backup-job';
import { discoverSourceDisks } from '../../lib/engine/backup/source-views';
import { declareActivity } from '../activity';
import { sourceDisks } from '../deps';

export const discoverDisksActivity = declareActivity('discoverDisks', (input: { disks: VmDiskRequest[] }, context): Promise<DiscoveredVmDisk[]> =>
  discoverSourceDisks({ sources: sourceDisks(context) }, input),
);
