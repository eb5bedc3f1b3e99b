/** A full backup planned with a seed: one server-side copy of the disk onto the vault replica, before the segments. */
import type { SeededReplica } from '../../lib/engine/domain/backup-job';
import { seedReplica, type SeedReplicaInput } from '../../lib/engine/backup/seed-replica';
import { declareActivity } from '../activity';
import { engineDeps } from '../deps';

export const seedReplicaActivity = declareActivity('seedReplica', (input: SeedReplicaInput, context): Promise<SeededReplica> => seedReplica(engineDeps(context), input));
