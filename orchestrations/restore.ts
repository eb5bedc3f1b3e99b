/**
 * Restore disks of a recovery point to a target container (the raw engine API): every disk from the instant
 * view while it exists, else from the vault, each block verified against the point's checksums; the VM
 * configuration is written next to the disks. Deterministic: only context.df.* calls.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { describeFailure, formatFailure } from '../lib/domain/errors';
import type { RestoreDisksRequest } from '../lib/engine/restore/restore-disks';
import type { RestoreDisksOutput, restoreDisksActivity } from '../functions/activities/restore-disks';
import { callActivityRetryingTransient } from './steps';

/** A restore of a point's disks; the job id is the orchestration's instance id. */
export type RestoreInput = Omit<RestoreDisksRequest, 'jobId' | 'targetBlobPrefix'>;
export type RestoreOutput = RestoreDisksOutput;

export type RestoreStage = 'restore' | 'completed' | 'failed';

export interface RestoreCustomStatus {
  stage: RestoreStage;
  errorCode?: string;
  errorMessage?: string;
}

export function* restoreOrchestrator(context: OrchestrationContext): Generator<Task, RestoreOutput, unknown> {
  const input = context.df.getInput<RestoreInput>();
  const jobId = context.df.instanceId;
  context.df.setCustomStatus({ stage: 'restore' } satisfies RestoreCustomStatus);
  try {
    // Retried only when storage was unavailable: other restore failures (verification, existing target,
    // missing data) are not transient. A re-run cleans up its own leftovers.
    const output = (yield* callActivityRetryingTransient<typeof restoreDisksActivity>(context, 'restoreDisks', { ...input, jobId })) as RestoreOutput;
    context.df.setCustomStatus({ stage: 'completed' } satisfies RestoreCustomStatus);
    return output;
  } catch (err) {
    const failure = describeFailure(err);
    context.df.setCustomStatus({ stage: 'failed', errorCode: failure.code, errorMessage: failure.message } satisfies RestoreCustomStatus);
    throw new Error(formatFailure(failure), { cause: err });
  }
}
