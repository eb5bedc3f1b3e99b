/**
 * Building blocks the orchestrators share: the retry policy of activities, and a bounded fan-out that
 * keeps at most `limit` tasks running (a sliding window over Task.any). Deterministic.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import { describeFailure, isRetryableCode } from '../lib/domain/errors';

/**
 * Activities are idempotent and retried on any thrown error: 3 attempts, 5 s then 10 s apart. Storage
 * calls already retry transient faults inside the SDK; this covers a worker dying or a store timing out.
 */
export function activityRetryOptions(): df.RetryOptions {
  const retry = new df.RetryOptions(5_000, 3);
  retry.backoffCoefficient = 2;
  retry.maxRetryIntervalInMilliseconds = 60_000;
  return retry;
}

/** Runs `start(item)` for every item with at most `limit` tasks in flight; results keep the items' order. */
export function* boundedFanOut<T, R>(
  context: OrchestrationContext,
  items: readonly T[],
  limit: number,
  start: (item: T) => Task,
  /** Called after each completion; may yield tasks of its own (e.g. a progress activity). */
  onDone?: (done: number) => Generator<Task, void, unknown> | void,
): Generator<Task, R[], unknown> {
  const results = new Array<R>(items.length);
  const running: Array<{ task: Task; index: number }> = [];
  let next = 0;
  let done = 0;
  while (next < items.length || running.length > 0) {
    while (running.length < Math.max(1, limit) && next < items.length) {
      running.push({ task: start(items[next]), index: next });
      next++;
    }
    // A task that finished while the orchestrator awaited something else (an onDone activity) must not be
    // put into a new Task.any: durable-functions resolves a composite only on a child's completion event.
    const ready = running.find((r) => r.task.isCompleted || r.task.isFaulted);
    const winner = ready ? ready.task : ((yield context.df.Task.any(running.map((r) => r.task))) as Task);
    const position = running.findIndex((r) => r.task === winner);
    const [finished] = running.splice(position, 1);
    if (winner.isFaulted) throw winner.result;
    results[finished.index] = winner.result as R;
    const after = onDone?.(++done);
    if (after) yield* after;
  }
  return results;
}

/**
 * An activity as its handler module declares it (functions/activities/*.ts, `declareActivity`): the name it
 * is registered and called by, and its payload types. Orchestrators import the declaration's type only
 * (`import type`), so they stay free of the handlers' I/O, and the compiler holds each call to the name and
 * payloads declared next to the handler.
 */
export interface ActivityDeclaration<Name extends string = string, Input = unknown, Output = unknown> {
  readonly name: Name;
  /** Never set: carries the payload types. */
  readonly payload?: { input: Input; output: Output };
}

export type InputOf<A extends ActivityDeclaration> = NonNullable<A['payload']>['input'];
export type OutputOf<A extends ActivityDeclaration> = NonNullable<A['payload']>['output'];

/** Schedules the declared activity `A` (with the shared retry policy unless `retry` is `false`); its result is `OutputOf<A>`. */
export function callActivity<A extends ActivityDeclaration>(context: OrchestrationContext, name: A['name'], input: InputOf<A>, retry: df.RetryOptions | false = activityRetryOptions()): Task {
  return retry === false ? context.df.callActivity(name, input) : context.df.callActivityWithRetry(name, retry, input);
}

/** Tries of `callActivityRetryingTransient`, and the durable wait before the second (doubled after each try). */
export const TRANSIENT_RETRY = { attempts: 4, firstDelayMs: 5_000 } as const;

/**
 * Calls an activity that must not be retried blindly (a verification failure or an existing target
 * does not heal) again only when it failed with a retryable code (storage unavailable, a conflict):
 * storage that stayed unavailable through the SDK's own tries often answers a few seconds later. The
 * waits are durable timers; any other failure is thrown at once, as is the last try's.
 */
export function* callActivityRetryingTransient<A extends ActivityDeclaration>(context: OrchestrationContext, name: A['name'], input: InputOf<A>): Generator<Task, unknown, unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      return yield callActivity<A>(context, name, input, false);
    } catch (err) {
      if (attempt >= TRANSIENT_RETRY.attempts || !isRetryableCode(describeFailure(err).code)) throw err;
      const waitMs = TRANSIENT_RETRY.firstDelayMs * 2 ** (attempt - 1);
      yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + waitMs));
    }
  }
}
