/**
 * Every 5 minutes: starts the scheduled backups that are due. Each slot's job id derives from the
 * item and the slot, and its job row is insert-only, so a slot runs once, even with two hosts or a
 * restarted host; the orchestration runs under the same id. Vaults of a Disabled or Deleted subscription are
 * skipped, with a warning naming the reason.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { Limiter } from '../../lib/domain/limiter';
import { findDueAndSkippedBackups, startScheduledBackup } from '../../lib/services/backup-scheduler';
import type { BackupInput } from '../../orchestrations/backup';
import { Orchestrators } from '../../orchestrations/contracts';
import { schedulerDeps } from '../deps';
import { startOnce } from './start-once';

const START_PARALLELISM = 8;

export async function backupScheduler(_timer: Timer, context: InvocationContext): Promise<void> {
  const deps = schedulerDeps();
  const client = df.getClient(context);
  const { due, skipped } = await findDueAndSkippedBackups(deps);
  for (const s of skipped) context.warn(`Scheduler: scheduled backups of vault ${s.vault.name} skipped: ${s.reason}.`);
  // A few at a time: a tick with many due items starts them quickly without flooding the catalog.
  const limiter = new Limiter(START_PARALLELISM);
  const started = await Promise.all(
    due.map((backup) =>
      limiter.run(async () => {
        try {
          const start = await startScheduledBackup(deps, backup);
          if (!start.run) return false;
          const input: BackupInput = start.input;
          return await startOnce(client, Orchestrators.Backup, backup.jobId, input);
        } catch (err) {
          context.error(`Scheduled backup of ${backup.itemName} (slot ${backup.slot.slotId}) could not start: ${err instanceof Error ? err.message : String(err)}`);
          return false;
        }
      }),
    ),
  );
  if (due.length > 0) context.info(`Scheduler: ${due.length} item(s) due, ${started.filter(Boolean).length} backup(s) started.`);
}

app.timer('backupScheduler', { schedule: '0 */5 * * * *', extraInputs: [df.input.durableClient()], handler: backupScheduler });
