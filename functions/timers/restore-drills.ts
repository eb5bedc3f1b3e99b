/**
 * Every hour: starts the restore drills that are due (lib/services/restore-drills.ts). A drill's job id derives
 * from the item and the drill period, and its job row is insert-only, so an item is drilled once per period,
 * even with two hosts or a restarted host; the orchestration runs under the same id.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { Limiter } from '../../lib/domain/limiter';
import { findDueRestoreDrills, startRestoreDrill } from '../../lib/services/restore-drills';
import type { RestoreDrillInput } from '../../orchestrations/restore-drill';
import { Orchestrators } from '../../orchestrations/contracts';
import { restoreDrillScheduleDeps } from '../deps';
import { startOnce } from './start-once';

/** Drills started at once by one tick (each reads a whole point: a few at a time keep backups their bandwidth). */
const START_PARALLELISM = 2;

export async function restoreDrillScheduler(_timer: Timer, context: InvocationContext): Promise<void> {
  const deps = restoreDrillScheduleDeps();
  const client = df.getClient(context);
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

app.timer('restoreDrillScheduler', { schedule: '0 30 * * * *', extraInputs: [df.input.durableClient()], handler: restoreDrillScheduler });
