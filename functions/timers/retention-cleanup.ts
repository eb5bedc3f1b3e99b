/**
 * Every hour: starts the retention orchestration (expired points, snapshot tiers past the
 * instant-restore days, soft-deleted items past their 14 days). Azure cleans expired points within
 * 24 hours; hourly keeps Kluis well inside that. The instance id is the hour, so two hosts or a
 * restarted host start one run per hour.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { appNow } from '../../lib/config/host-clock';
import { Orchestrators } from '../../orchestrations/contracts';
import { startOnce } from './start-once';

export async function retentionCleanup(_timer: Timer, context: InvocationContext): Promise<void> {
  const hour = appNow().toISOString().slice(0, 13).replace(/[-T]/g, '');
  const instanceId = `retention-${hour}`;
  const started = await startOnce(df.getClient(context), Orchestrators.Retention, instanceId, {});
  context.info(started ? `Retention cleanup ${instanceId} started.` : `Retention cleanup ${instanceId} already ran.`);
}

app.timer('retentionCleanup', { schedule: '0 0 * * * *', extraInputs: [df.input.durableClient()], handler: retentionCleanup });
