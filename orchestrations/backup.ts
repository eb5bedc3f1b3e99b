/**
 * Backup of a VM's disks: discover → probe the store → snapshot all disks together → one `backupDisk`
 * sub-orchestration per disk (in parallel) → commit the recovery point (visible only now) → expire old
 * instant-restore snapshots. A failure before the commit deletes this job's instant snapshots.
 *
 * Deterministic: only context.df.* calls, time from context.df.currentUtcDateTime. Registered in
 * functions/orchestrators.ts so this module has no side effects and replays in unit tests.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { recoveryPointIdFor } from '../lib/domain/backup-job';
import { describeFailure, formatFailure, type FailureDescription } from '../lib/domain/errors';
import {
  Activities,
  Orchestrators,
  type BackupCustomStatus,
  type BackupDiskInput,
  type BackupDiskOutput,
  type BackupInput,
  type BackupOutput,
  type BackupStage,
  type CommitRecoveryPointActivityInput,
  type CommitRecoveryPointActivityOutput,
  type DeleteInstantSnapshotsActivityInput,
  type DiscoveredVmDisk,
  type ExpireSnapshotTierActivityInput,
  type InstantSnapshot,
  type SnapshotDisksActivityInput,
  type StorageCapabilitiesSummary,
} from './contracts';
import { activityRetryOptions } from './steps';

const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_SEGMENT_PARALLELISM = 4;

export function* backupOrchestrator(context: OrchestrationContext): Generator<Task, BackupOutput, unknown> {
  const input = context.df.getInput<BackupInput>();
  const jobId = context.df.instanceId;
  const startedAt = context.df.currentUtcDateTime;
  const recoveryPointId = recoveryPointIdFor(startedAt);
  const retry = activityRetryOptions();
  const call = (name: string, payload: unknown): Task => context.df.callActivityWithRetry(name, retry, payload);
  let stage: BackupStage = 'discover';
  const enter = (next: BackupStage) => {
    stage = next;
    context.df.setCustomStatus({ stage, recoveryPointId } satisfies BackupCustomStatus);
  };
  const fail = (failedStage: BackupStage, err: unknown): Error => {
    const failure = describeFailure(err);
    context.df.setCustomStatus({
      stage: 'failed',
      recoveryPointId,
      failedStage,
      errorCode: failure.code,
      errorMessage: failure.message,
    } satisfies BackupCustomStatus);
    // A one-line error carrying the code, instead of the activity's text with its stack trace.
    return new Error(formatFailure(failure));
  };

  let disks: DiscoveredVmDisk[];
  let capabilities: StorageCapabilitiesSummary;
  let snapshots: InstantSnapshot[];
  try {
    enter('discover');
    // Discovery only validates: what it finds wrong (a missing disk, a bad footer) does not heal with retries.
    disks = (yield context.df.callActivity(Activities.DiscoverDisks, { disks: input.disks })) as DiscoveredVmDisk[];
    capabilities = (yield call(Activities.ProbeStorage, {})) as StorageCapabilitiesSummary;
    enter('snapshot');
    snapshots = (yield call(Activities.SnapshotDisks, {
      itemId: input.itemId,
      recoveryPointId,
      disks: disks.map(({ lun, container, blob }) => ({ lun, container, blob })),
    } satisfies SnapshotDisksActivityInput)) as InstantSnapshot[];
  } catch (err) {
    throw fail(stage, err);
  }

  let results: BackupDiskOutput[];
  let commit: CommitRecoveryPointActivityOutput;
  try {
    enter('transfer');
    results = (yield context.df.Task.all(
      disks.map((disk, i) =>
        context.df.callSubOrchestrator(
          Orchestrators.BackupDisk,
          {
            itemId: input.itemId,
            jobId,
            disk,
            snapshot: snapshots[i],
            capabilities,
            segmentParallelism: input.segmentParallelism ?? DEFAULT_SEGMENT_PARALLELISM,
          } satisfies BackupDiskInput,
          `${jobId}:lun${disk.lun}`,
        ),
      ),
    )) as BackupDiskOutput[];
    enter('commit');
    commit = (yield call(Activities.CommitRecoveryPoint, {
      itemId: input.itemId,
      jobId,
      recoveryPointId,
      createdAt: startedAt.toISOString(),
      consistency: input.consistency ?? 'CrashConsistent',
      vmConfig: input.vmConfig ?? {},
      disks: disks.map((disk, i) => ({
        lun: disk.lun,
        name: disk.name,
        sizeBytes: snapshots[i].sizeBytes,
        storageType: disk.storageType,
        source: snapshots[i],
        changeDetection: results[i].changeDetection,
        segmentCount: results[i].segmentCount,
      })),
    } satisfies CommitRecoveryPointActivityInput)) as CommitRecoveryPointActivityOutput;
  } catch (err) {
    const failedStage = stage;
    try {
      yield call(Activities.DeleteInstantSnapshots, {
        itemId: input.itemId,
        recoveryPointId,
        containers: [...new Set(disks.map((d) => d.container))],
      } satisfies DeleteInstantSnapshotsActivityInput);
    } catch {
      // The snapshots carry the item and recovery point in their metadata; the instant-snapshot expiry finds them.
    }
    throw fail(failedStage, err);
  }

  enter('cleanup');
  const warnings: FailureDescription[] = [];
  try {
    yield call(Activities.ExpireSnapshotTier, {
      itemId: input.itemId,
      olderThan: new Date(startedAt.getTime() - input.instantRestoreDays * DAY_MS).toISOString(),
    } satisfies ExpireSnapshotTierActivityInput);
  } catch (err) {
    warnings.push(describeFailure(err));
  }

  enter('completed');
  return {
    status: warnings.length === 0 ? 'Completed' : 'CompletedWithWarnings',
    jobId,
    itemId: input.itemId,
    recoveryPointId: commit.recoveryPointId,
    manifestBlobName: commit.manifestBlobName,
    disks: results,
    bytesWritten: results.reduce((sum, r) => sum + r.bytesWritten, 0),
    warnings,
  };
}
