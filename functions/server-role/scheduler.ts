/**
 * Every minute (KLUIS_ROLE=server): the backup server checks in with its vault and starts one orchestration per due
 * protection group, under the run's instance id (server, group, due time: domain/group-runs.ts), once — a restarted
 * or second host finds the instance and starts nothing (start-once.ts).
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { appNow } from '../../lib/config/host-clock';
import { checkInAndFindDueRuns } from '../../lib/backup-server/server/scheduled-runs';
import { BACKUP_SERVER_GROUP_RUN, type GroupRunInput } from '../../orchestrations/backup-server-group-run';
import { startOnce } from '../timers/start-once';
import { withServer } from './server';

export async function backupServerScheduler(_timer: Timer, context: InvocationContext): Promise<void> {
  const client = df.getClient(context);
  let due;
  try {
    due = await withServer((server) => checkInAndFindDueRuns(server, appNow));
  } catch (err) {
    context.error(`Backup server: no runs started: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  if (due.checkInError !== undefined) context.warn(`Backup server ${due.serverName}: the vault could not be reached: ${due.checkInError}`);
  for (const run of due.runs) {
    const input: GroupRunInput = run;
    if (await startOnce(client, BACKUP_SERVER_GROUP_RUN, run.instanceId, input)) {
      context.info(`Backup server ${due.serverName}: group ${run.group} run started (${run.instanceId}; local ${run.localDue.length}, online ${run.onlineDue.length} source(s) due).`);
    }
  }
}

app.timer('backupServerScheduler', { schedule: '0 * * * * *', extraInputs: [df.input.durableClient()], handler: backupServerScheduler });
