import * as df from 'durable-functions';
import { discoverVmDisks } from '../../lib/engine/sources/page-blob/discover-disks';
import { Activities, type DiscoveredVmDisk, type VmDiskRequest } from '../../orchestrations/contracts';
import { engineDeps } from '../deps';

df.app.activity(Activities.DiscoverDisks, {
  handler: (input: { disks: VmDiskRequest[] }, context): Promise<DiscoveredVmDisk[]> => discoverVmDisks(engineDeps(context), input),
});
