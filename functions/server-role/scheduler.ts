/**
 * Every minute (KLUIS_ROLE=server): the backup server checks in with its vault and starts one orchestration per due
 * protection group, under the run's instance id (server, group, due time: domain/group-runs.ts), once — a restarted
 * or second host finds the instance and starts nothing (start-once.ts).
 * A machine in direct mode runs its pass here instead (DirectAgent.runDue: check-in, the due backups straight to
 * the vault, retention, the report), one at a time: a tick while a pass runs starts nothing. No orchestration: the
 * pass has no local step to resume — a pass cut short leaves no point, and the next tick finds the slot still due.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { appNow } from '../../lib/config/host-clock';
import { checkInAndFindDueRuns } from '../../lib/backup-server/server/scheduled-runs';
import { BACKUP_SERVER_GROUP_RUN, type GroupRunInput } from '../../orchestrations/backup-server-group-run';
import { startOnce } from '../timers/start-once';
import { isDirectModeData, withAgent, withServer } from './server';

let directPass: Promise<void> | undefined;

/** A direct-mode machine's pass, unless one is still running; what it did goes to the host's log. */
async function directModePass(context: InvocationContext): Promise<void> {
  if (directPass !== undefined) {
    context.info('Direct mode: the previous pass still runs; nothing started.');
    return;
  }
  directPass = (async () => {
    const report = await withAgent((agent) => agent.runDue());
    for (const b of report.backups) context.info(`Direct mode: backup ${b.snapshotId} of ${b.source}: ${b.filesRead} files read, ${b.filesUnchanged} unchanged, ${b.newChunkBytes} new bytes sent.`);
    for (const r of report.retention) context.info(`Direct mode: removed vault point ${r.snapshotId} of ${r.source}: ${r.reason}.`);
    if (report.stopped !== undefined) context.warn(`Direct mode: ${report.stopped}`);
    if (report.pruneDeferred !== undefined) context.warn(`Direct mode: expired points are removed next pass: ${report.pruneDeferred}`);
    if (report.vaultError !== undefined) context.error(`Direct mode: the pass failed against the vault: ${report.vaultError}`);
    if (report.vaultReportError !== undefined) context.warn(`Direct mode: the report to the vault failed (sent with the next one): ${report.vaultReportError}`);
  })();
  try {
    await directPass;
  } catch (err) {
    context.error(`Direct mode: no pass: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    directPass = undefined;
  }
}

export async function backupServerScheduler(_timer: Timer, context: InvocationContext): Promise<void> {
  if (isDirectModeData()) return directModePass(context);
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
