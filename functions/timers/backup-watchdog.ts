/**
 * Every 5 minutes: the backup watchdog (lib/services/backup-watchdog.ts) finishes the bookkeeping of backups
 * whose orchestration ended without it (terminated, failed uncaught): the job gets its end, the item's claim is
 * released and the run's leftovers (views, uncommitted blobs) are swept. This adapter reads the runs from the
 * Durable runtime (instance id = job id; its sub-orchestrations from the histories), terminates the parts of an
 * ended run that still run, and sweeps through the engine.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { watchBackups, type BackupRunState, type BackupRuns, type OpenedViews } from '../../lib/services/backup-watchdog';
import { sweepUncommitted } from '../../lib/engine/backup/commit-recovery-point';
import { discardSourceViews } from '../../lib/engine/backup/source-views';
import { deleteRecoveryPointSnapshotTier } from '../../lib/engine/recovery-points/delete-recovery-point';
import type { DiscoveredVmDisk } from '../../lib/engine/domain/backup-job';
import { appNow } from '../../lib/config/host-clock';
import type { BackupCustomStatus } from '../../orchestrations/contracts';
import { deleteDeps, engineDeps, vaultCatalog } from '../deps';

/** The activities that open a backup's views (in the vault backup's history, or in a sub-orchestration's); their input names the item, the point and the disks. */
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
      if (run.views !== undefined) {
        const { itemId, recoveryPointId, disks } = run.views;
        const { deleted } = await discardSourceViews(engine, { itemId, recoveryPointId, disks: disks as DiscoveredVmDisk[] });
        // A commit still in flight when the run was stopped may have landed after the discard looked: its point keeps
        // the vault tier, and the catalog must not list a snapshot tier whose views were just deleted.
        if (deleted > 0 && (await engine.catalog.get(itemId, recoveryPointId)) !== undefined) await deleteRecoveryPointSnapshotTier(deleteDeps(context), { itemId, recoveryPointId });
      }
      await sweepUncommitted(engine, { itemId: run.itemId, olderThan: EVERYTHING });
    },
    async stop(instanceIds, reason) {
      for (const instanceId of instanceIds) {
        try {
          await client.terminate(instanceId, reason);
        } catch (err) {
          // One that ended since it was read cannot be terminated: it is stopped all the same.
          const status = await client.getStatus(instanceId);
          if (!ENDED.has(String(status.runtimeStatus))) throw err;
        }
      }
    },
  };
  const actions = await watchBackups({ catalog: vaultCatalog(), clock: appNow, runs, log: { info: (m) => context.info(m), warn: (m) => context.warn(m) } });
  if (actions.length > 0) context.info(`Backup watchdog: ${actions.map((a) => `${a.jobId} ${a.action} (${a.outcome})`).join('; ')}.`);
}

/** The Durable status document, as far as the watchdog reads it. */
interface DurableStatus {
  runtimeStatus?: string;
  customStatus?: BackupCustomStatus | null;
  output?: unknown;
  historyEvents?: unknown[];
}

/** How deep the watchdog follows sub-orchestrations (vault backup → backupDisks → backupDisk). */
const MAX_PART_DEPTH = 3;
const ENDED = new Set(['Completed', 'Failed', 'Terminated']);

/**
 * The run's status, and once it ended, what its orchestrations' histories tell (the root's and its
 * sub-orchestrations', recursively): the views it opened and the parts still running.
 */
async function runState(client: df.DurableClient, jobId: string): Promise<BackupRunState> {
  const status = await durableStatus(client, jobId);
  if (status === undefined) return { status: 'NotFound' };
  if (!ENDED.has(status.runtimeStatus ?? '')) return { status: 'Running' };
  const parts = await partsOf(client, status.historyEvents, 1);
  const views = [status, ...parts.map((p) => p.status)].map((s) => viewsOf(s.historyEvents)).find((v) => v.views !== undefined) ?? {};
  const runningParts = parts.filter((p) => !ENDED.has(p.status.runtimeStatus ?? '')).map((p) => p.instanceId);
  const ended = { ...(status.customStatus?.recoveryPointId === undefined ? {} : { recoveryPointId: status.customStatus.recoveryPointId }), ...views, ...(runningParts.length === 0 ? {} : { runningParts }) };
  switch (status.runtimeStatus) {
    case 'Completed':
      return { status: 'Completed', output: status.output, ...ended };
    case 'Failed':
      return { status: 'Failed', failure: typeof status.output === 'string' ? status.output : JSON.stringify(status.output ?? ''), ...ended };
    default:
      return { status: 'Terminated', reason: typeof status.output === 'string' ? status.output : '', ...ended };
  }
}

/** The sub-orchestrations a history created, with their statuses, and theirs in turn. */
async function partsOf(client: df.DurableClient, history: unknown[] | undefined, depth: number): Promise<Array<{ instanceId: string; status: DurableStatus }>> {
  if (depth > MAX_PART_DEPTH) return [];
  const parts: Array<{ instanceId: string; status: DurableStatus }> = [];
  for (const event of history ?? []) {
    const e = event as { EventType?: unknown; InstanceId?: unknown };
    if (e.EventType !== 'SubOrchestrationInstanceCreated' || typeof e.InstanceId !== 'string') continue;
    const status = await durableStatus(client, e.InstanceId);
    if (status === undefined) continue;
    parts.push({ instanceId: e.InstanceId, status }, ...(await partsOf(client, status.historyEvents, depth + 1)));
  }
  return parts;
}

/**
 * An instance's status with its history, read from the Durable HTTP API (the status query URL the client hands
 * out, with its system key): durable-functions' getStatus drops the history the API returns (`historyEvents`).
 * Undefined when there is no such instance.
 */
async function durableStatus(client: df.DurableClient, instanceId: string): Promise<DurableStatus | undefined> {
  const url = new URL(client.createHttpManagementPayload(instanceId).statusQueryGetUri);
  url.searchParams.set('showHistory', 'true');
  url.searchParams.set('showHistoryOutput', 'true');
  url.searchParams.set('showInput', 'false');
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (response.status === 404) return undefined;
  // As in Azure: 200 completed, 202 running or pending, 400 failed or terminated.
  if (![200, 202, 400].includes(response.status)) throw new Error(`The Durable status of ${instanceId} answered HTTP ${response.status}.`);
  return (await response.json()) as DurableStatus;
}

/** The views the run asked to open, from the input of an opening activity in a history (when it got that far). */
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
