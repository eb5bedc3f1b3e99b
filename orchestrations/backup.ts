/**
 * Backup of one disk: discover → snapshot → transfer → commit → cleanup.
 *
 * Deterministic: only context.df.* calls, time from context.df.currentUtcDateTime. Registered in
 * functions/orchestrators.ts so this module has no side effects and replays in unit tests.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import { recoveryPointIdFor } from '../lib/domain/backup-slice';
import { describeFailure, formatFailure, type FailureDescription } from '../lib/domain/errors';
import {
  Activities,
  type ActivityName,
  type BackupCustomStatus,
  type BackupInput,
  type BackupOutput,
  type BackupStage,
  type CleanupActivityInput,
  type CommitActivityInput,
  type CommitActivityOutput,
  type DiscoverActivityInput,
  type DiscoverActivityOutput,
  type SnapshotActivityInput,
  type SnapshotActivityOutput,
  type TransferActivityInput,
  type TransferActivityOutput,
} from './contracts';

/**
 * Activities retry on any thrown error: 3 attempts, 5 s then 10 s apart. Storage calls already
 * retry transient faults inside the SDK; this covers a worker dying or a store timing out.
 */
export function backupRetryOptions(): df.RetryOptions {
  const retry = new df.RetryOptions(5_000, 3);
  retry.backoffCoefficient = 2;
  retry.maxRetryIntervalInMilliseconds = 60_000;
  return retry;
}

export function* backupOrchestrator(context: OrchestrationContext): Generator<Task, BackupOutput, unknown> {
  const request = context.df.getInput<BackupInput>();
  const jobId = context.df.instanceId;
  const recoveryPointId = recoveryPointIdFor(context.df.currentUtcDateTime);
  const retry = backupRetryOptions();
  let stage: BackupStage = 'discover';

  const enter = (next: BackupStage): void => {
    stage = next;
    const status: BackupCustomStatus = { stage };
    context.df.setCustomStatus(status);
  };
  const call = (name: ActivityName, input: unknown): Task => context.df.callActivityWithRetry(name, retry, input);
  const fail = (failedStage: BackupStage, err: unknown): Error => {
    const failure = describeFailure(err);
    const status: BackupCustomStatus = {
      stage: 'failed',
      failedStage,
      errorCode: failure.code,
      errorMessage: failure.message,
    };
    context.df.setCustomStatus(status);
    // A one-line error carrying the code, instead of the activity's text with its stack trace.
    return new Error(formatFailure(failure));
  };

  let disk: DiscoverActivityOutput;
  let snapshot: SnapshotActivityOutput;
  try {
    enter('discover');
    disk = (yield call(Activities.Discover, { request } satisfies DiscoverActivityInput)) as DiscoverActivityOutput;
    enter('snapshot');
    snapshot = (yield call(Activities.Snapshot, {
      disk,
      itemId: request.itemId,
      jobId,
    } satisfies SnapshotActivityInput)) as SnapshotActivityOutput;
  } catch (err) {
    throw fail(stage, err);
  }

  let failure: { stage: BackupStage; error: unknown } | undefined;
  let transfer: TransferActivityOutput | undefined;
  let commit: CommitActivityOutput | undefined;
  try {
    enter('transfer');
    transfer = (yield call(Activities.Transfer, {
      disk,
      snapshot,
      itemId: request.itemId,
      jobId,
    } satisfies TransferActivityInput)) as TransferActivityOutput;
    enter('commit');
    commit = (yield call(Activities.Commit, {
      request,
      jobId,
      recoveryPointId,
      disk,
      snapshot,
      transfer,
    } satisfies CommitActivityInput)) as CommitActivityOutput;
  } catch (err) {
    failure = { stage, error: err };
  }

  // The snapshot is removed whether or not the transfer succeeded.
  enter('cleanup');
  const warnings: FailureDescription[] = [];
  try {
    yield call(Activities.Cleanup, { snapshot } satisfies CleanupActivityInput);
  } catch (err) {
    const cleanupFailure = describeFailure(err);
    if (!context.df.isReplaying) {
      context.warn(`Snapshot cleanup failed for job ${jobId}: ${formatFailure(cleanupFailure)}`);
    }
    // After a failed transfer the original error is what the user needs; the leftover snapshot
    // is tagged with the job id for the sweeper.
    if (failure === undefined) warnings.push(cleanupFailure);
  }

  if (failure !== undefined || transfer === undefined || commit === undefined) {
    throw fail(failure?.stage ?? stage, failure?.error);
  }

  enter('completed');
  return {
    status: warnings.length === 0 ? 'Completed' : 'CompletedWithWarnings',
    jobId,
    itemId: request.itemId,
    recoveryPointId: commit.recoveryPointId,
    manifestContainer: commit.manifestContainer,
    manifestBlob: commit.manifestBlob,
    replicaBlob: transfer.replicaBlob,
    replicaSnapshot: commit.replicaSnapshot,
    bytesCopied: transfer.bytesCopied,
    md5Base64: transfer.md5Base64,
    warnings,
  };
}
