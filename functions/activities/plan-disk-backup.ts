/** Per disk, before its segments: ready the vault replica and choose full / diff / checksum, staging and seeding. */
import type { DiskBackupPlan } from '../../lib/engine/domain/backup-job';
import { planDiskBackup, type PlanDiskBackupInput } from '../../lib/engine/backup/plan-disk-backup';
import { declareActivity } from '../activity';
import { engineDeps } from '../deps';

export const planDiskBackupActivity = declareActivity('planDiskBackup', (input: PlanDiskBackupInput, context): Promise<DiskBackupPlan> => planDiskBackup(engineDeps(context), input));
