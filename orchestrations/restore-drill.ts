/**
 * A restore drill (lib/services/restore-drills.ts): one activity restores the point into scratch, verifies
 * every block, deletes the scratch and records the job and the item's health. A drill that could not run (a
 * retryable failure through all of the activity's retries) fails its job with that code; the orchestration
 * then fails with the same one-line `KluisError [Code]: message`. The instance id is the job id.
 *
 * Deterministic: only context.df.* calls.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { describeFailure, formatFailure } from '../lib/domain/errors';
import type { RestoreDrillResult, RestoreDrillRun } from '../lib/services/restore-drills';
import type { failRestoreDrillActivity, runRestoreDrillActivity } from '../functions/activities/restore-drill';
import { activityRetryOptions, callActivity } from './steps';

export type RestoreDrillInput = RestoreDrillRun;

export function* restoreDrillOrchestrator(context: OrchestrationContext): Generator<Task, RestoreDrillResult, unknown> {
  const input = context.df.getInput<RestoreDrillInput>();
  try {
    return (yield callActivity<typeof runRestoreDrillActivity>(context, 'runRestoreDrill', input, activityRetryOptions())) as RestoreDrillResult;
  } catch (err) {
    const failure = describeFailure(err);
    yield callActivity<typeof failRestoreDrillActivity>(context, 'failRestoreDrill', { run: input, error: formatFailure(failure) });
    throw new Error(formatFailure(failure), { cause: err });
  }
}
