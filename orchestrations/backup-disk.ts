/**
 * Backup of one disk of a VM, as a sub-orchestration of `backupDisks`: plan (choose full / diff / checksum,
 * staging and seeding, and ready the replica) → stage where the plan says (page-blob Premium disks) → seed
 * the replica by a server-side copy where the plan says (a full backup; its segments then only read and
 * hash the replica) → transfer the segments, at most N at a time → release the previous point's view a diff
 * read, and delete the staging copy (always).
 * Deterministic: only context.df.* calls.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { describeFailure, formatFailure } from '../lib/domain/errors';
import type { DiscoveredVmDisk, DiskBackupPlan, SeededReplica, StagedDisk, TransferSegmentResult } from '../lib/engine/domain/backup-job';
import type { DiskView } from '../lib/engine/domain/disk-view';
import { diskChangeDetection } from '../lib/engine/domain/recovery-point-manifest';
import type { DiskSegment } from '../lib/engine/domain/transfer-plan';
import type { SourceCapabilities } from '../lib/engine/sources/source-disk';
import type { planDiskBackupActivity } from '../functions/activities/plan-disk-backup';
import type { releaseSourceViewsActivity } from '../functions/activities/release-source-views';
import type { seedReplicaActivity } from '../functions/activities/seed-replica';
import type { deleteStagingBlobActivity, stageDiskActivity } from '../functions/activities/stage-disk';
import type { transferSegmentActivity } from '../functions/activities/transfer-segment';
import { boundedFanOut, callActivity } from './steps';

export interface BackupDiskInput {
  itemId: string;
  jobId: string;
  disk: DiscoveredVmDisk;
  /** The disk's view, opened with the others of the VM. */
  view: DiskView;
  capabilities: SourceCapabilities;
  segmentParallelism: number;
}

export interface BackupDiskCustomStatus {
  lun: number;
  changeDetection?: string;
  segmentsDone: number;
  segmentsTotal: number;
}

export interface BackupDiskOutput {
  lun: number;
  /** What the segments did (diskChangeDetection): 'checksum' where a planned diff was refused by the source. */
  changeDetection: DiskBackupPlan['changeDetection'];
  /** Set when the segments differ: each segment's method (index = segment). */
  segmentChangeDetection?: Array<DiskBackupPlan['changeDetection']>;
  reason: string;
  segmentCount: number;
  staging?: StagedDisk['method'];
  /** Set when a server-side copy seeded the replica (a full backup; bytesWritten is then 0). */
  seed?: SeededReplica['seed'];
  bytesRead: number;
  bytesWritten: number;
  bytesCleared: number;
  blocksChanged: number;
}

export function* backupDiskOrchestrator(context: OrchestrationContext): Generator<Task, BackupDiskOutput, unknown> {
  try {
    return yield* backupDisk(context);
  } catch (err) {
    // A sub-orchestration's failure reaches the parent as `name: message`: put the code where describeFailure finds it.
    throw new Error(formatFailure(describeFailure(err)), { cause: err });
  }
}

function* backupDisk(context: OrchestrationContext): Generator<Task, BackupDiskOutput, unknown> {
  const { itemId, jobId, disk, view, capabilities, segmentParallelism } = context.df.getInput<BackupDiskInput>();
  const key = { itemId, jobId, lun: disk.lun };

  const plan = (yield callActivity<typeof planDiskBackupActivity>(context, 'planDiskBackup', {
    ...key,
    source: view,
    storageType: disk.storageType,
    capabilities,
  })) as DiskBackupPlan;
  const progress = (segmentsDone: number) =>
    context.df.setCustomStatus({
      lun: disk.lun,
      changeDetection: plan.changeDetection,
      segmentsDone,
      segmentsTotal: plan.segments.length,
    } satisfies BackupDiskCustomStatus);
  progress(0);

  try {
    const staged = plan.stage ? ((yield callActivity<typeof stageDiskActivity>(context, 'stageDisk', { ...key, view, capabilities })) as StagedDisk) : undefined;
    const readFrom = staged?.view;
    if (plan.seed !== undefined) {
      yield callActivity<typeof seedReplicaActivity>(context, 'seedReplica', { ...key, source: view, ...(readFrom === undefined ? {} : { readFrom }) });
    }
    const segments: TransferSegmentResult[] = yield* boundedFanOut<DiskSegment, TransferSegmentResult>(
      context,
      plan.segments,
      segmentParallelism,
      (segment) =>
        callActivity<typeof transferSegmentActivity>(context, 'transferSegment', {
          ...key,
          segment,
          diskSize: view.sizeBytes,
          source: view,
          ...(readFrom === undefined ? {} : { readFrom }),
          changeDetection: plan.detection,
        }),
      progress,
    );
    const total = (field: 'bytesRead' | 'bytesWritten' | 'bytesCleared' | 'blocksChanged') => segments.reduce((sum, s) => sum + s[field], 0);
    const used = diskChangeDetection(
      plan.changeDetection,
      [...segments].sort((a, b) => a.segmentIndex - b.segmentIndex).map((segment) => segment.changeDetection),
    );
    return {
      lun: disk.lun,
      ...used,
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
    // The diff read the previous point's view of the disk: its access ends here (this point's views are backupDisks').
    if (plan.detection.kind === 'diff') {
      try {
        yield callActivity<typeof releaseSourceViewsActivity>(context, 'releaseSourceViews', { views: [plan.detection.previous] });
      } catch (err) {
        if (!context.df.isReplaying) context.warn(`Releasing the previous view of lun ${disk.lun} failed: ${String(err)}`);
      }
    }
    // Always, on success and failure; if even the retried delete fails, the staging sweeper removes it.
    if (plan.stage) {
      try {
        yield callActivity<typeof deleteStagingBlobActivity>(context, 'deleteStagingBlob', { ...key, view });
      } catch (err) {
        if (!context.df.isReplaying) context.warn(`Deleting the staging copy of lun ${disk.lun} failed; the sweeper will remove it: ${String(err)}`);
      }
    }
  }
}
