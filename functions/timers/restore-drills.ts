/**
 * Every hour: starts the restore drills that are due (lib/services/restore-drills.ts). A drill's job id derives
 * from the item and the drill period, and its job row is insert-only, so an item is drilled once per period,
 * even with two hosts or a restarted host; the orchestration runs under the same id. First it ends the drills whose
 * orchestration ended without recording them (terminated from outside), or never started.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { Limiter } from '../../lib/domain/limiter';
import { endRestoreDrill, findDueRestoreDrills, listActiveRestoreDrills, startRestoreDrill, type ActiveRestoreDrill } from '../../lib/services/restore-drills';
import type { RestoreDrillInput } from '../../orchestrations/restore-drill';
import { Orchestrators } from '../../orchestrations/contracts';
import { restoreDrillDeps, restoreDrillScheduleDeps } from '../deps';
import { startOnce } from './start-once';

/** Drills started at once by one tick (each reads a whole point: a few at a time keep backups their bandwidth). */
const START_PARALLELISM = 2;
/** A drill whose orchestration does not exist this long after it was started never started (its host died in between). */
const NEVER_STARTED_MS = 10 * 60_000;
const ENDED = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

export async function restoreDrillScheduler(_timer: Timer, context: InvocationContext): Promise<void> {
  const deps = restoreDrillScheduleDeps();
  const client = df.getClient(context);
  for (const drill of await listActiveRestoreDrills(deps)) {
    try {
      const how = await howItEnded(client, drill, deps.clock());
      if (how !== undefined) await endRestoreDrill(restoreDrillDeps(context), drill, how);
    } catch (err) {
      context.error(`Restore drill ${drill.jobId} of ${drill.itemName} could not be checked: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const due = await findDueRestoreDrills(deps);
  const limiter = new Limiter(START_PARALLELISM);
  const started = await Promise.all(
    due.map((drill) =>
      limiter.run(async () => {
        try {
          const start = await startRestoreDrill(deps, drill);
          if (!start.run) return false;
          const input: RestoreDrillInput = start.input;
          return await startOnce(client, Orchestrators.RestoreDrill, drill.jobId, input);
        } catch (err) {
          context.error(`Restore drill of ${drill.itemName} (${drill.slot}) could not start: ${err instanceof Error ? err.message : String(err)}`);
          return false;
        }
      }),
    ),
  );
  if (due.length > 0) context.info(`Restore drills: ${due.length} item(s) due, ${started.filter(Boolean).length} drill(s) started.`);
}


/** Why a drill still recorded as running is not running any more, or undefined while it runs (or may yet start). */
async function howItEnded(client: df.DurableClient, drill: ActiveRestoreDrill, now: Date): Promise<string | undefined> {
  let status: string | undefined;
  try {
    status = (await client.getStatus(drill.jobId))?.runtimeStatus;
  } catch (err) {
    if (!(err instanceof Error && /404/.test(err.message))) throw err;
  }
  if (status === undefined) return now.getTime() - Date.parse(drill.startedAt) > NEVER_STARTED_MS ? 'its orchestration never started' : undefined;
  return ENDED.has(String(status)) ? `its orchestration is ${String(status)}` : undefined;
}

app.timer('restoreDrillScheduler', { schedule: '0 30 * * * *', extraInputs: [df.input.durableClient()], handler: restoreDrillScheduler });
