/**
 * Every 5 minutes: starts the scheduled backups that are due. Each slot's job id derives from the
 * item and the slot, and its job row is insert-only, so a slot runs once, even with two hosts or a
 * restarted host; the orchestration runs under the same id.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { findDueBackups, startScheduledBackup } from '../../lib/services/backup-scheduler';
import { Orchestrators, type BackupInput } from '../../orchestrations/contracts';
import { schedulerDeps } from '../deps';
import { startOnce } from './start-once';

export async function backupScheduler(_timer: Timer, context: InvocationContext): Promise<void> {
  const deps = schedulerDeps();
  const client = df.getClient(context);
  const due = await findDueBackups(deps);
  let started = 0;
  for (const backup of due) {
    try {
      const start = await startScheduledBackup(deps, backup);
      if (!start.run) continue;
      const input: BackupInput = { ...start.input, disks: [] };
      if (await startOnce(client, Orchestrators.Backup, backup.jobId, input)) started++;
    } catch (err) {
      context.error(`Scheduled backup of ${backup.itemName} (slot ${backup.slot.slotId}) could not start: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (due.length > 0) context.info(`Scheduler: ${due.length} item(s) due, ${started} backup(s) started.`);
}

app.timer('backupScheduler', { schedule: '0 */5 * * * *', extraInputs: [df.input.durableClient()], handler: backupScheduler });
