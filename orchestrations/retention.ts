/**
 * Retention cleanup of every protected item of every vault: expire points by the current policy,
 * expire snapshot tiers after the instant-restore days, purge soft-deleted items whose time is up.
 * One activity per item, at most 8 at a time. The activity reports an item's failure instead of
 * throwing it, so one item never stops the others; the next run tries it again. Deterministic.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import type { ApplyRetentionInput } from '../lib/services/apply-retention';
import type { applyRetentionActivity, ApplyRetentionOutput, listRetentionItemsActivity } from '../functions/activities/retention';
import { boundedFanOut, callActivity } from './steps';

export interface RetentionOutput {
  items: number;
  purgedItems: number;
  expiredPoints: number;
  expiredSnapshotTiers: number;
  failures: Array<{ itemName: string; code: string; message: string }>;
}

const ITEM_PARALLELISM = 8;

export function* retentionOrchestrator(context: OrchestrationContext): Generator<Task, RetentionOutput, unknown> {
  const items = (yield callActivity<typeof listRetentionItemsActivity>(context, 'listRetentionItems', {})) as ApplyRetentionInput[];
  const results = yield* boundedFanOut<ApplyRetentionInput, ApplyRetentionOutput>(context, items, ITEM_PARALLELISM, (item) =>
    callActivity<typeof applyRetentionActivity>(context, 'applyRetention', { ...item, runId: context.df.instanceId }),
  );
  return {
    items: results.length,
    purgedItems: results.filter((r) => r.outcome === 'Purged').length,
    expiredPoints: results.reduce((sum, r) => sum + r.expired.length, 0),
    expiredSnapshotTiers: results.reduce((sum, r) => sum + r.snapshotTierExpired.length, 0),
    failures: results.flatMap((r) => (r.error ? [{ itemName: r.itemName, ...r.error }] : [])),
  };
}
