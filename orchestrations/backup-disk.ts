/**
 * Backup of one disk of a VM, as a sub-orchestration of `backup`: plan (choose full / diff / checksum and
 * ready the replica) → stage Premium disks → seed the replica by a server-side copy when the plan says so
 * (a full backup; its segments then only read and hash the replica) → transfer the segments, at most N at a
 * time → delete the staging blob (always). Deterministic: only context.df.* calls.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import type { DiskSegment } from '../lib/engine/domain/transfer-plan';
import {
  Activities,
  type BackupDiskCustomStatus,
  type BackupDiskInput,
  type BackupDiskOutput,
  type DeleteStagingBlobActivityInput,
  type DiskBackupPlan,
  type PlanDiskBackupActivityInput,
  type SeedReplicaActivityInput,
  type StageDiskActivityInput,
  type StagedDisk,
  type TransferSegmentActivityInput,
  type TransferSegmentResult,
} from './contracts';
import { activityRetryOptions, boundedFanOut } from './steps';

export function* backupDiskOrchestrator(context: OrchestrationContext): Generator<Task, BackupDiskOutput, unknown> {
  const { itemId, jobId, disk, snapshot, capabilities, segmentParallelism } = context.df.getInput<BackupDiskInput>();
  const retry = activityRetryOptions();
  const call = (name: string, input: unknown): Task => context.df.callActivityWithRetry(name, retry, input);

  const plan = (yield call(Activities.PlanDiskBackup, {
    itemId,
    jobId,
    lun: disk.lun,
    source: snapshot,
    sizeBytes: snapshot.sizeBytes,
    capabilities,
  } satisfies PlanDiskBackupActivityInput)) as DiskBackupPlan;
  const progress = (segmentsDone: number) =>
    context.df.setCustomStatus({
      lun: disk.lun,
      changeDetection: plan.changeDetection,
      segmentsDone,
      segmentsTotal: plan.segments.length,
    } satisfies BackupDiskCustomStatus);
  progress(0);

  const premium = disk.storageType === 'Premium';
  try {
    const staged = premium
      ? ((yield call(Activities.StageDisk, {
          itemId,
          jobId,
          lun: disk.lun,
          snapshot,
          sizeBytes: snapshot.sizeBytes,
          capabilities,
        } satisfies StageDiskActivityInput)) as StagedDisk)
      : undefined;
    if (plan.seed !== undefined) {
      yield call(Activities.SeedReplica, {
        itemId,
        jobId,
        lun: disk.lun,
        source: snapshot,
        readFrom: staged?.staging,
        sizeBytes: snapshot.sizeBytes,
      } satisfies SeedReplicaActivityInput);
    }
    const segments: TransferSegmentResult[] = yield* boundedFanOut<DiskSegment, TransferSegmentResult>(
      context,
      plan.segments,
      segmentParallelism,
      (segment) =>
        call(Activities.TransferSegment, {
          itemId,
          jobId,
          lun: disk.lun,
          segment,
          diskSize: snapshot.sizeBytes,
          source: snapshot,
          readFrom: staged?.staging,
          changeDetection: plan.detection,
        } satisfies TransferSegmentActivityInput),
      progress,
    );
    const total = (key: 'bytesRead' | 'bytesWritten' | 'bytesCleared' | 'blocksChanged') => segments.reduce((sum, s) => sum + s[key], 0);
    return {
      lun: disk.lun,
      changeDetection: plan.changeDetection,
      reason: plan.reason,
      segmentCount: plan.segments.length,
      staging: staged?.method,
      ...(plan.seed === undefined ? {} : { seed: plan.seed }),
      bytesRead: total('bytesRead'),
      bytesWritten: total('bytesWritten'),
      bytesCleared: total('bytesCleared'),
      blocksChanged: total('blocksChanged'),
    };
  } finally {
    // Always, on success and failure; if even the retried delete fails, the staging sweeper removes it.
    if (premium) {
      try {
        yield call(Activities.DeleteStagingBlob, {
          itemId,
          jobId,
          lun: disk.lun,
          container: disk.container,
        } satisfies DeleteStagingBlobActivityInput);
      } catch (err) {
        if (!context.df.isReplaying) context.warn(`Deleting the staging blob of lun ${disk.lun} failed; the sweeper will remove it: ${String(err)}`);
      }
    }
  }
}
