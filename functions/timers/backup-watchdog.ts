/**
 * Every 5 minutes: the backup watchdog (lib/services/backup-watchdog.ts) finishes the bookkeeping of backups
 * whose orchestration ended without it (terminated, failed uncaught): the job gets its end, the item's claim is
 * released and the run's leftovers (views, uncommitted blobs) are swept. This adapter reads the runs from the
 * Durable runtime (instance id = job id) and sweeps through the engine.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { watchBackups, type BackupRunState, type BackupRuns, type OpenedViews } from '../../lib/services/backup-watchdog';
import { sweepUncommitted } from '../../lib/engine/backup/commit-recovery-point';
import { discardSourceViews } from '../../lib/engine/backup/source-views';
import type { DiscoveredVmDisk } from '../../lib/engine/domain/backup-job';
import { appNow } from '../../lib/config/host-clock';
import type { BackupCustomStatus } from '../../orchestrations/contracts';
import { engineDeps, vaultCatalog } from '../deps';

/** The activities that open a backup's views; their input names the item, the point and the disks. */
const OPENING_ACTIVITIES = new Set(['snapshotVm', 'snapshotDisks']);
/** Everything a run of this item left is older than this: the claim is still held, so nothing else of the item runs. */
const EVERYTHING = new Date(8.64e15);

export async function backupWatchdog(_timer: Timer, context: InvocationContext): Promise<void> {
  const client = df.getClient(context);
  const engine = engineDeps(context);
  const runs: BackupRuns = {
    state: (jobId) => runState(client, jobId),
    async sweep(run) {
      if (run.recoveryPointId !== undefined && (await engine.catalog.get(run.itemId, run.recoveryPointId)) !== undefined) return;
      if (run.views !== undefined) await discardSourceViews(engine, { itemId: run.views.itemId, recoveryPointId: run.views.recoveryPointId, disks: run.views.disks as DiscoveredVmDisk[] });
      await sweepUncommitted(engine, { itemId: run.itemId, olderThan: EVERYTHING });
    },
  };
  const actions = await watchBackups({ catalog: vaultCatalog(), clock: appNow, runs, log: { info: (m) => context.info(m), warn: (m) => context.warn(m) } });
  if (actions.length > 0) context.info(`Backup watchdog: ${actions.map((a) => `${a.jobId} ${a.action} (${a.outcome})`).join('; ')}.`);
}

/**
 * The run's status with its history, read from the Durable HTTP API (the status query URL the client hands
 * out, with its system key): durable-functions' getStatus drops the history the API returns (`historyEvents`).
 */
async function runState(client: df.DurableClient, jobId: string): Promise<BackupRunState> {
  const url = new URL(client.createHttpManagementPayload(jobId).statusQueryGetUri);
  url.searchParams.set('showHistory', 'true');
  url.searchParams.set('showHistoryOutput', 'true');
  url.searchParams.set('showInput', 'false');
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (response.status === 404) return { status: 'NotFound' };
  // As in Azure: 200 completed, 202 running or pending, 400 failed or terminated.
  if (![200, 202, 400].includes(response.status)) throw new Error(`The Durable status of ${jobId} answered HTTP ${response.status}.`);
  const status = (await response.json()) as { runtimeStatus?: string; customStatus?: BackupCustomStatus | null; output?: unknown; historyEvents?: unknown[] };
  const ended = { ...(status.customStatus?.recoveryPointId === undefined ? {} : { recoveryPointId: status.customStatus.recoveryPointId }), ...viewsOf(status.historyEvents) };
  switch (status.runtimeStatus) {
    case 'Completed':
      return { status: 'Completed', output: status.output, ...ended };
    case 'Failed':
      return { status: 'Failed', failure: typeof status.output === 'string' ? status.output : JSON.stringify(status.output ?? ''), ...ended };
    case 'Terminated':
      return { status: 'Terminated', reason: typeof status.output === 'string' ? status.output : '', ...ended };
    default:
      return { status: 'Running' };
  }
}

/** The views the run asked to open, from the input of its opening activity in the history (when it got that far). */
function viewsOf(history: unknown[] | undefined): { views?: OpenedViews } {
  for (const event of history ?? []) {
    const e = event as { EventType?: unknown; FunctionName?: unknown; Name?: unknown; Input?: unknown };
    if (e.EventType !== 'TaskScheduled' || !OPENING_ACTIVITIES.has(String(e.FunctionName ?? e.Name))) continue;
    const input = typeof e.Input === 'string' ? safeParse(e.Input) : e.Input;
    const request = ((input as { snapshot?: unknown } | undefined)?.snapshot ?? input) as Partial<OpenedViews> | undefined;
    if (typeof request?.itemId === 'string' && typeof request.recoveryPointId === 'string' && Array.isArray(request.disks)) {
      return { views: { itemId: request.itemId, recoveryPointId: request.recoveryPointId, disks: request.disks } };
    }
  }
  return {};
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

app.timer('backupWatchdog', { schedule: '0 */5 * * * *', extraInputs: [df.input.durableClient()], handler: backupWatchdog });
