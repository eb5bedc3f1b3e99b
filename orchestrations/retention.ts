/**
 * Retention cleanup of every protected item of every vault: expire points by the current policy,
 * expire snapshot tiers after the instant-restore days, purge soft-deleted items whose time is up.
 * One activity per item, at most 8 at a time. The activity reports an item's failure instead of
 * throwing it, so one item never stops the others; the next run tries it again. Deterministic.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { Activities, type ApplyRetentionActivityOutput, type RetentionItemRef, type RetentionOutput } from './contracts';
import { activityRetryOptions, boundedFanOut } from './steps';

const ITEM_PARALLELISM = 8;

export function* retentionOrchestrator(context: OrchestrationContext): Generator<Task, RetentionOutput, unknown> {
  const retry = activityRetryOptions();
  const items = (yield context.df.callActivityWithRetry(Activities.ListRetentionItems, retry, {})) as RetentionItemRef[];
  const results = yield* boundedFanOut<RetentionItemRef, ApplyRetentionActivityOutput>(context, items, ITEM_PARALLELISM, (item) =>
    context.df.callActivityWithRetry(Activities.ApplyRetention, retry, { ...item, runId: context.df.instanceId } satisfies RetentionItemRef),
  );
  return {
    items: results.length,
    purgedItems: results.filter((r) => r.outcome === 'Purged').length,
    expiredPoints: results.reduce((sum, r) => sum + r.expired.length, 0),
    expiredSnapshotTiers: results.reduce((sum, r) => sum + r.snapshotTierExpired.length, 0),
    failures: results.flatMap((r) => (r.error ? [{ itemName: r.itemName, ...r.error }] : [])),
  };
}
