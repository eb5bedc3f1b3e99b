/**
 * Restore disks of a recovery point to a target container: every disk from the instant snapshot while it
 * exists, else from the vault, each block verified against the point's checksums; the VM configuration is
 * written next to the disks. Deterministic: only context.df.* calls.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { describeFailure, formatFailure } from '../lib/domain/errors';
import { Activities, type RestoreCustomStatus, type RestoreDisksActivityInput, type RestoreInput, type RestoreOutput } from './contracts';

export function* restoreOrchestrator(context: OrchestrationContext): Generator<Task, RestoreOutput, unknown> {
  const input = context.df.getInput<RestoreInput>();
  const jobId = context.df.instanceId;
  context.df.setCustomStatus({ stage: 'restore' } satisfies RestoreCustomStatus);
  try {
    // No retry policy: restore failures (verification, existing target, missing data) are not transient,
    // and a worker that dies mid-copy runs the activity again anyway (it cleans up its own leftovers).
    const output = (yield context.df.callActivity(Activities.RestoreDisks, {
      ...input,
      jobId,
    } satisfies RestoreDisksActivityInput)) as RestoreOutput;
    context.df.setCustomStatus({ stage: 'completed' } satisfies RestoreCustomStatus);
    return output;
  } catch (err) {
    const failure = describeFailure(err);
    context.df.setCustomStatus({ stage: 'failed', errorCode: failure.code, errorMessage: failure.message } satisfies RestoreCustomStatus);
    throw new Error(formatFailure(failure), { cause: err });
  }
}
