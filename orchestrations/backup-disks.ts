/**
 * The engine's backup of a VM's disks: discover → probe the disks' backend → open the views of all disks
 * together (the new point's instant-restore tier) → one `backupDisk` sub-orchestration per disk, in parallel
 * → release the views (always) → commit the recovery point (visible only now) → expire old instant-restore
 * views. A failure before the commit releases and deletes this job's views.
 *
 * The raw engine API (POST /api/backups) starts it as is. A vault's backup (orchestrations/backup.ts)
 * opens the views itself, inside the guest's freeze, with `openBackupViews` below, and hands them over
 * (`opened`), with what the point records for the vault (retention, key and secret) and a progress hook.
 * The engine knows nothing of vaults: it records what it is given and calls the hook it is given.
 *
 * Deterministic: only context.df.* calls, time from context.df.currentUtcDateTime. Registered in
 * functions/orchestrators.ts so this module has no side effects and replays in unit tests.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { describeFailure, errors, formatFailure, type FailureDescription } from '../lib/domain/errors';
import { recoveryPointIdFor, type DiscoveredVmDisk, type VmDiskRequest } from '../lib/engine/domain/backup-job';
import { diskKindOf, type DiskView } from '../lib/engine/domain/disk-view';
import type { Consistency, KeyAndSecretBackup } from '../lib/engine/domain/recovery-point-manifest';
import type { OpenSourceViewsInput } from '../lib/engine/backup/source-views';
import type { SourceCapabilities, ViewPlacement } from '../lib/engine/sources/source-disk';
import type { RecoveryPointRetention } from '../lib/stores/recovery-point-catalog';
import type { commitRecoveryPointActivity, CommitRecoveryPointOutput } from '../functions/activities/commit-recovery-point';
import type { deleteInstantSnapshotsActivity } from '../functions/activities/delete-instant-snapshots';
import type { discoverDisksActivity } from '../functions/activities/discover-disks';
import type { expireSnapshotTierActivity } from '../functions/activities/expire-snapshot-tier';
import type { probeStorageActivity } from '../functions/activities/probe-storage';
import type { releaseSourceViewsActivity } from '../functions/activities/release-source-views';
import type { snapshotDisksActivity } from '../functions/activities/snapshot-disks';
import type { BackupDiskInput, BackupDiskOutput } from './backup-disk';
import { Orchestrators, type BackupCustomStatus, type BackupStage, type VmConfig } from './contracts';
import { activityRetryOptions, boundedFanOut, callActivity } from './steps';

const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_SEGMENT_PARALLELISM = 4;

/** Views a caller opened itself (a vault backup, inside the guest's freeze) and hands over. */
export interface OpenedViews {
  recoveryPointId: string;
  /** ISO time the backup started: the point's time. */
  createdAt: string;
  disks: DiscoveredVmDisk[];
  views: DiskView[];
  capabilities: SourceCapabilities;
  /** Where the views were opened (discarding them looks there). */
  placement?: ViewPlacement;
}

export interface BackupDisksInput {
  itemId: string;
  /** The disks to back up when this orchestration opens their views itself (the raw engine API). */
  disks: VmDiskRequest[];
  /** Views the caller opened: discovery, the probe and the opening are skipped. */
  opened?: OpenedViews;
  /** The job the blobs and staging copies are tagged with; default: this instance's id. */
  jobId?: string;
  consistency?: Consistency;
  vmConfig?: VmConfig;
  /** Encrypted VMs: the key and secret backups the point records. */
  keyAndSecret?: KeyAndSecretBackup;
  /** How long the point is kept (recorded with it for retention). */
  retention?: RecoveryPointRetention;
  /** Instant-restore views older than this many days are deleted after the backup (1–30). */
  instantRestoreDays: number;
  /** At most this many points keep a snapshot tier: before the views are opened, the oldest beyond one less lose theirs. */
  maxInstantPoints?: number;
  /** Segments of one disk transferred at once. */
  segmentParallelism?: number;
  /** After each disk's transfer, this activity is called with `input` plus `{disksDone, disksTotal}` (a job's progress). */
  progress?: { activity: string; input: Record<string, unknown> };
}

export interface BackupDisksOutput {
  status: 'Completed' | 'CompletedWithWarnings';
  jobId: string;
  itemId: string;
  recoveryPointId: string;
  manifestBlobName: string;
  disks: BackupDiskOutput[];
  bytesWritten: number;
  /** What reached the vault: bytes written, and for disks seeded by a server-side copy the bytes read back. */
  bytesTransferred: number;
  warnings: FailureDescription[];
}

export function* backupDisksOrchestrator(context: OrchestrationContext): Generator<Task, BackupDisksOutput, unknown> {
  const input = context.df.getInput<BackupDisksInput>();
  const jobId = input.jobId ?? context.df.instanceId;
  const startedAt = context.df.currentUtcDateTime;
  const recoveryPointId = input.opened?.recoveryPointId ?? recoveryPointIdFor(startedAt);
  const createdAt = input.opened?.createdAt ?? startedAt.toISOString();
  let stage: BackupStage = 'discover';
  const enter = (next: BackupStage) => {
    stage = next;
    context.df.setCustomStatus({ stage, recoveryPointId } satisfies BackupCustomStatus);
  };
  const fail = (failedStage: BackupStage, err: unknown): Error => {
    const failure = describeFailure(err);
    context.df.setCustomStatus({ stage: 'failed', recoveryPointId, failedStage, errorCode: failure.code, errorMessage: failure.message } satisfies BackupCustomStatus);
    // A one-line error carrying the code, instead of the activity's text with its stack trace.
    return new Error(formatFailure(failure));
  };
  const warnings: FailureDescription[] = [];

  let opened: OpenedViews;
  if (input.opened !== undefined) {
    opened = input.opened;
  } else {
    try {
      const views = yield* openBackupViews(context, { itemId: input.itemId, recoveryPointId, disks: input.disks, maxInstantPoints: input.maxInstantPoints }, enter, (request) =>
        callActivity<typeof snapshotDisksActivity>(context, 'snapshotDisks', request),
      );
      opened = { recoveryPointId, createdAt, disks: views.disks, views: views.opened as DiskView[], capabilities: views.capabilities };
    } catch (err) {
      throw fail(stage, err);
    }
  }
  const { disks, views } = opened;
  let released = false;
  const release = function* (): Generator<Task, void, unknown> {
    if (released) return;
    released = true;
    yield* releaseViews(context, views);
  };

  let results: BackupDiskOutput[];
  let commit: CommitRecoveryPointOutput;
  try {
    enter('transfer');
    const perDisk = disks.map((disk, i) =>
      context.df.callSubOrchestrator(
        Orchestrators.BackupDisk,
        {
          itemId: input.itemId,
          jobId,
          disk,
          view: views[i],
          capabilities: opened.capabilities,
          segmentParallelism: input.segmentParallelism ?? DEFAULT_SEGMENT_PARALLELISM,
        } satisfies BackupDiskInput,
        `${jobId}:lun${disk.lun}`,
      ),
    );
    const { progress } = input;
    try {
      results = yield* boundedFanOut<Task, BackupDiskOutput>(context, perDisk, perDisk.length, (task) => task, progress && function* (done) {
        try {
          yield context.df.callActivityWithRetry(progress.activity, activityRetryOptions(), { ...progress.input, disksDone: done, disksTotal: perDisk.length });
        } catch (err) {
          // Progress is for show: a catalog that cannot take it must not fail the backup.
          if (!context.df.isReplaying) context.warn(`Recording the backup's progress failed: ${describeFailure(err).code}`);
        }
      });
    } finally {
      // Every read is done (or failed): access to the views ends, always; the views stay as the instant-restore tier.
      yield* release();
    }
    enter('commit');
    commit = (yield callActivity<typeof commitRecoveryPointActivity>(context, 'commitRecoveryPoint', {
      itemId: input.itemId,
      jobId,
      recoveryPointId,
      createdAt,
      consistency: input.consistency ?? 'CrashConsistent',
      vmConfig: input.vmConfig ?? {},
      disks: disks.map((disk, i) => ({
        lun: disk.lun,
        name: disk.name,
        storageType: disk.storageType,
        source: views[i],
        changeDetection: results[i].changeDetection,
        segmentCount: results[i].segmentCount,
      })),
      ...(input.retention === undefined ? {} : { retention: input.retention }),
      ...(input.keyAndSecret === undefined ? {} : { keyAndSecret: input.keyAndSecret }),
    })) as CommitRecoveryPointOutput;
  } catch (err) {
    const failedStage = stage;
    yield* release();
    yield* discardViews(context, { itemId: input.itemId, recoveryPointId, disks, ...(opened.placement === undefined ? {} : { placement: opened.placement }) });
    throw fail(failedStage, err);
  }

  enter('cleanup');
  try {
    yield callActivity<typeof expireSnapshotTierActivity>(context, 'expireSnapshotTier', {
      itemId: input.itemId,
      olderThan: new Date(startedAt.getTime() - input.instantRestoreDays * DAY_MS).toISOString(),
      ...(input.maxInstantPoints === undefined ? {} : { keepNewest: input.maxInstantPoints }),
    });
  } catch (err) {
    warnings.push(describeFailure(err));
  }

  const bytesWritten = results.reduce((sum, r) => sum + r.bytesWritten, 0);
  // A disk seeded by a server-side copy uploaded nothing; what reached the vault is what its segments read back.
  const bytesTransferred = results.reduce((sum, r) => sum + (r.seed === undefined ? r.bytesWritten : r.bytesRead), 0);
  enter('completed');
  return {
    status: warnings.length === 0 ? 'Completed' : 'CompletedWithWarnings',
    jobId,
    itemId: input.itemId,
    recoveryPointId: commit.recoveryPointId,
    manifestBlobName: commit.manifestBlobName,
    disks: results,
    bytesWritten,
    bytesTransferred,
    warnings,
  };
}

export interface OpenBackupViewsRequest {
  itemId: string;
  recoveryPointId: string;
  disks: VmDiskRequest[];
  maxInstantPoints?: number;
  placement?: ViewPlacement;
}

/**
 * The engine's steps up to the views, shared with the vault's backup: discover (no retries: what it finds
 * wrong does not heal) → probe the disks' backend → under an instant-point cap, the oldest points lose their
 * views first → `open` the views (the engine's snapshotDisks, or a caller's activity around it: a guest's
 * freeze). `enter` hears each stage. A failure while opening discards whatever an attempt opened.
 * Returns the discovered disks, the backend's capabilities and what `open` returned.
 */
export function* openBackupViews(
  context: OrchestrationContext,
  request: OpenBackupViewsRequest,
  enter: (stage: 'discover' | 'snapshot') => void,
  open: (request: OpenSourceViewsInput) => Task,
): Generator<Task, { disks: DiscoveredVmDisk[]; capabilities: SourceCapabilities; opened: unknown }, unknown> {
  enter('discover');
  const disks = (yield callActivity<typeof discoverDisksActivity>(context, 'discoverDisks', { disks: request.disks }, false)) as DiscoveredVmDisk[];
  const capabilities = (yield callActivity<typeof probeStorageActivity>(context, 'probeStorage', { kind: disks[0] === undefined ? undefined : diskKindOf(disks[0]) })) as SourceCapabilities;
  enter('snapshot');
  const toOpen: OpenSourceViewsInput = { itemId: request.itemId, recoveryPointId: request.recoveryPointId, disks, ...(request.placement === undefined ? {} : { placement: request.placement }) };
  try {
    if (request.maxInstantPoints !== undefined) {
      // The cap counts this backup's views too: the oldest beyond one less lose theirs first.
      try {
        yield callActivity<typeof expireSnapshotTierActivity>(context, 'expireSnapshotTier', { itemId: request.itemId, keepNewest: request.maxInstantPoints - 1 });
      } catch (err) {
        throw errors.instantRpCollectionLimitReached(request.maxInstantPoints, describeFailure(err).message);
      }
    }
    const opened: unknown = yield open(toOpen);
    return { disks, capabilities, opened };
  } catch (err) {
    yield* discardViews(context, toOpen);
    throw err;
  }
}

/** Ends access to the views; a failure is only logged (the views' backend ends access when they are deleted). */
export function* releaseViews(context: OrchestrationContext, views: readonly DiskView[]): Generator<Task, void, unknown> {
  try {
    yield callActivity<typeof releaseSourceViewsActivity>(context, 'releaseSourceViews', { views: [...views] });
  } catch (err) {
    if (!context.df.isReplaying) context.warn(`Releasing the source views failed: ${String(err)}`);
  }
}

/** Deletes whatever views an opening of this request left; a failure is only logged (the views carry the item and point, so they can be found later). */
export function* discardViews(context: OrchestrationContext, request: OpenSourceViewsInput): Generator<Task, void, unknown> {
  try {
    yield callActivity<typeof deleteInstantSnapshotsActivity>(context, 'deleteInstantSnapshots', request);
  } catch (err) {
    if (!context.df.isReplaying) context.warn(`Deleting the views of recovery point ${request.recoveryPointId} failed: ${String(err)}`);
  }
}
