import * as df from 'durable-functions';
import { planDiskBackup } from '../../lib/engine/backup/plan-disk-backup';
import { Activities, type DiskBackupPlan, type PlanDiskBackupActivityInput } from '../../orchestrations/contracts';
import { engineDeps } from '../deps';

df.app.activity(Activities.PlanDiskBackup, {
  handler: (input: PlanDiskBackupActivityInput, context): Promise<DiskBackupPlan> => planDiskBackup(engineDeps(context), input),
});
