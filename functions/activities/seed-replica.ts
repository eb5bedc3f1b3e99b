import * as df from 'durable-functions';
import { seedReplica } from '../../lib/engine/backup/seed-replica';
import { Activities, type SeedReplicaActivityInput, type SeededReplica } from '../../orchestrations/contracts';
import { engineDeps } from '../deps';

df.app.activity(Activities.SeedReplica, {
  handler: (input: SeedReplicaActivityInput, context): Promise<SeededReplica> => seedReplica(engineDeps(context), input),
});
