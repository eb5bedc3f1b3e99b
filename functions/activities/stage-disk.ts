import * as df from 'durable-functions';
import { stageDisk } from '../../lib/engine/sources/page-blob/staging';
import { Activities, type StageDiskActivityInput, type StagedDisk } from '../../orchestrations/contracts';
import { engineDeps } from '../deps';

df.app.activity(Activities.StageDisk, {
  handler: (input: StageDiskActivityInput, context): Promise<StagedDisk> => stageDisk(engineDeps(context), input),
});
