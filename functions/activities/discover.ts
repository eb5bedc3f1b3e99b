import * as df from 'durable-functions';
import { discoverDisk } from '../../lib/services/backup-slice';
import { Activities, type DiscoverActivityOutput } from '../../orchestrations/contracts';
import { backupSliceDeps } from '../deps';
import { discoverInput, parseActivityInput } from './inputs';

df.app.activity(Activities.Discover, {
  handler: (input: unknown, context): Promise<DiscoverActivityOutput> => {
    const { request } = parseActivityInput(discoverInput, input);
    return discoverDisk(backupSliceDeps(context), request);
  },
});
