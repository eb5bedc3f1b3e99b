/**
 * Backup of a VM's disks: discover → probe the store → snapshot all disks together → one `backupDisk`
 * sub-orchestration per disk (in parallel) → commit the recovery point (visible only now) → expire old
 * instant-restore snapshots. A failure before the commit deletes this job's instant snapshots.
 *
 * A backup of a vault's protected item (`input.vault`) adds the product around the engine: validate the
 * item and read the VM's disks → in one activity, freeze the guest (VSS / fsfreeze / scripts, or none),
 * snapshot and thaw (always) → a cancel requested while snapshotting stops here → transfer, with the job's progress → for an
 * encrypted VM, Key Vault backups of its BEK secret and KEK key → commit → the job and the item record the
 * outcome, whatever it is.
 *
 * Deterministic: only context.df.* calls, time from context.df.currentUtcDateTime. Registered in
 * functions/orchestrators.ts so this module has no side effects and replays in unit tests.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { recoveryPointIdFor } from '../lib/engine/domain/backup-job';
import { describeFailure, errors, formatFailure, type FailureDescription } from '../lib/domain/errors';
import {
  Activities,
  Orchestrators,
  type BackupCustomStatus,
  type BackupDiskInput,
  type BackupDiskOutput,
  type BackupInput,
  type BackupKeyAndSecretActivityInput,
  type BackupOutput,
  type BackupStage,
  type CommitRecoveryPointActivityInput,
  type CommitRecoveryPointActivityOutput,
  type DeleteInstantSnapshotsActivityInput,
  type DiscoveredVmDisk,
  type EncryptionToBackUp,
  type ExpireSnapshotTierActivityInput,
  type FinishVaultBackupInput,
  type InstantSnapshot,
  type KeyAndSecretBackup,
  type PreparedVaultBackup,
  type RecordSnapshotTakenOutput,
  type RecordTransferProgressInput,
  type SnapshotDisksActivityInput,
  type SnapshotVmActivityInput,
  type SnapshotVmOutput,
  type StorageCapabilitiesSummary,
  type VaultBackupActivityInput,
  type VaultBackupContext,
  type VmConfig,
} from './contracts';
import { activityRetryOptions, boundedFanOut } from './steps';

const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_SEGMENT_PARALLELISM = 4;

export function* backupOrchestrator(context: OrchestrationContext): Generator<Task, BackupOutput, unknown> {
  const input = context.df.getInput<BackupInput>();
  const jobId = context.df.instanceId;
  const startedAt = context.df.currentUtcDateTime;
  const recoveryPointId = recoveryPointIdFor(startedAt);
  const retry = activityRetryOptions();
  const call = (name: string, payload: unknown): Task => context.df.callActivityWithRetry(name, retry, payload);
  const vault: VaultBackupActivityInput | undefined = input.vault && { vault: input.vault.vault, itemName: input.vault.itemName, jobId };
  let stage: BackupStage = vault ? 'validate' : 'discover';
  const enter = (next: BackupStage) => {
    stage = next;
    context.df.setCustomStatus({ stage, recoveryPointId } satisfies BackupCustomStatus);
  };
  const warnings: FailureDescription[] = [];
  let consistency = input.consistency ?? 'CrashConsistent';
  /** Records the outcome on the job and the item (vault backups); never lets that hide the backup's own result. */
  function* finish(outcome: FinishVaultBackupInput['outcome'], extra: Partial<FinishVaultBackupInput> = {}): Generator<Task, void, unknown> {
    if (!vault) return;
    try {
      yield call(Activities.FinishVaultBackup, { ...vault, outcome, consistency, warnings, ...extra } satisfies FinishVaultBackupInput);
    } catch {
      // The job stays InProgress; the item's claim expires with the next backup's stale-claim check.
    }
  }
  function* fail(failedStage: BackupStage, err: unknown): Generator<Task, Error, unknown> {
    const failure = describeFailure(err);
    context.df.setCustomStatus({
      stage: 'failed',
      recoveryPointId,
      failedStage,
      errorCode: failure.code,
      errorMessage: failure.message,
    } satisfies BackupCustomStatus);
    yield* finish('Failed', { error: failure });
    // A one-line error carrying the code, instead of the activity's text with its stack trace.
    return new Error(formatFailure(failure));
  }

  let disks: DiscoveredVmDisk[] = [];
  // Snapshots carry the item and recovery point in their metadata, so this finds whatever an attempt left.
  const deleteSnapshots = function* (): Generator<Task, void, unknown> {
    try {
      yield call(Activities.DeleteInstantSnapshots, {
        itemId: input.itemId,
        recoveryPointId,
        containers: [...new Set(disks.map((d) => d.container))],
      } satisfies DeleteInstantSnapshotsActivityInput);
    } catch {
      // The snapshots carry the item and recovery point in their metadata; the instant-snapshot expiry finds them.
    }
  };

  /** The instant-point cap counts this backup's snapshot too: the oldest beyond one less lose theirs first. */
  const makeRoomForInstantPoint = function* (max: number): Generator<Task, void, unknown> {
    try {
      yield call(Activities.ExpireSnapshotTier, { itemId: input.itemId, keepNewest: max - 1 } satisfies ExpireSnapshotTierActivityInput);
    } catch (err) {
      throw errors.instantRpCollectionLimitReached(max, describeFailure(err).message);
    }
  };

  let requests = input.disks;
  let vmConfig: VmConfig = input.vmConfig ?? {};
  let capabilities: StorageCapabilitiesSummary;
  let snapshots: InstantSnapshot[];
  let encryption: EncryptionToBackUp | undefined;
  try {
    if (vault) {
      enter('validate');
      // Validation does not heal with retries: the VM is gone, the agent is down, the item is not protected.
      const prepared = (yield context.df.callActivity(Activities.PrepareVaultBackup, vault)) as PreparedVaultBackup;
      requests = prepared.disks;
      vmConfig = prepared.vmConfig;
      consistency = prepared.consistency;
      encryption = prepared.encryption;
      warnings.push(...prepared.warnings.map(toFailure));
    }
    enter('discover');
    // Discovery only validates: what it finds wrong (a missing disk, a bad footer) does not heal with retries.
    disks = (yield context.df.callActivity(Activities.DiscoverDisks, { disks: requests })) as DiscoveredVmDisk[];
    capabilities = (yield call(Activities.ProbeStorage, {})) as StorageCapabilitiesSummary;
    enter('snapshot');
    if (input.maxInstantPoints !== undefined) yield* makeRoomForInstantPoint(input.maxInstantPoints);
    const snapshotRequest: SnapshotDisksActivityInput = {
      itemId: input.itemId,
      recoveryPointId,
      disks: disks.map(({ lun, container, blob }) => ({ lun, container, blob })),
    };
    if (vault) {
      // Freeze, snapshot and thaw in one activity: the guest is never left frozen while work queues.
      const taken = (yield call(Activities.SnapshotVm, { ...vault, snapshot: snapshotRequest } satisfies SnapshotVmActivityInput)) as SnapshotVmOutput;
      snapshots = taken.snapshots;
      consistency = taken.consistency;
      warnings.push(...taken.warnings.map(toFailure));
    } else {
      snapshots = (yield call(Activities.SnapshotDisks, snapshotRequest)) as InstantSnapshot[];
    }
  } catch (err) {
    const failedStage = stage as BackupStage;
    if (failedStage === 'snapshot') yield* deleteSnapshots();
    throw yield* fail(failedStage, err);
  }


  if (vault) {
    const taken = (yield call(Activities.RecordSnapshotTaken, vault)) as RecordSnapshotTakenOutput;
    if (taken.cancelled) {
      yield* deleteSnapshots();
      yield* finish('Cancelled');
      enter('completed');
      return { status: 'Cancelled', jobId, itemId: input.itemId, recoveryPointId: '', manifestBlobName: '', disks: [], bytesWritten: 0, warnings };
    }
  }

  let results: BackupDiskOutput[];
  let commit: CommitRecoveryPointActivityOutput;
  try {
    enter('transfer');
    const perDisk = disks.map((disk, i) =>
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
    );
    results = vault
      ? yield* boundedFanOut<Task, BackupDiskOutput>(context, perDisk, perDisk.length, (task) => task, function* (done) {
          yield call(Activities.RecordTransferProgress, { ...vault, disksDone: done, disksTotal: perDisk.length } satisfies RecordTransferProgressInput);
        })
      : ((yield context.df.Task.all(perDisk)) as BackupDiskOutput[]);
    enter('commit');
    const keyAndSecret =
      input.vault && encryption
        ? ((yield call(Activities.BackupKeyAndSecret, {
            itemId: input.itemId,
            jobId,
            recoveryPointId,
            vmName: vmNameOf(vmConfig, input.vault.itemName),
            encryption,
          } satisfies BackupKeyAndSecretActivityInput)) as KeyAndSecretBackup)
        : undefined;
    commit = (yield call(Activities.CommitRecoveryPoint, {
      itemId: input.itemId,
      jobId,
      recoveryPointId,
      createdAt: startedAt.toISOString(),
      consistency,
      vmConfig,
      disks: disks.map((disk, i) => ({
        lun: disk.lun,
        name: disk.name,
        sizeBytes: snapshots[i].sizeBytes,
        storageType: disk.storageType,
        source: snapshots[i],
        changeDetection: results[i].changeDetection,
        segmentCount: results[i].segmentCount,
      })),
      ...(input.vault ? { retention: retentionOf(input.vault) } : {}),
      ...(keyAndSecret === undefined ? {} : { keyAndSecret }),
    } satisfies CommitRecoveryPointActivityInput)) as CommitRecoveryPointActivityOutput;
  } catch (err) {
    const failedStage = stage;
    yield* deleteSnapshots();
    throw yield* fail(failedStage, err);
  }

  enter('cleanup');
  try {
    yield call(Activities.ExpireSnapshotTier, {
      itemId: input.itemId,
      olderThan: new Date(startedAt.getTime() - input.instantRestoreDays * DAY_MS).toISOString(),
      ...(input.maxInstantPoints === undefined ? {} : { keepNewest: input.maxInstantPoints }),
    } satisfies ExpireSnapshotTierActivityInput);
  } catch (err) {
    warnings.push(describeFailure(err));
  }

  const bytesWritten = results.reduce((sum, r) => sum + r.bytesWritten, 0);
  // A disk seeded by a server-side copy uploaded nothing; what reached the vault is what its segments read back.
  const bytesTransferred = results.reduce((sum, r) => sum + (r.seed === undefined ? r.bytesWritten : r.bytesRead), 0);
  const status = warnings.length === 0 ? 'Completed' : 'CompletedWithWarnings';
  yield* finish(status, { recoveryPointId: commit.recoveryPointId, bytesTransferred });
  enter('completed');
  return {
    status,
    jobId,
    itemId: input.itemId,
    recoveryPointId: commit.recoveryPointId,
    manifestBlobName: commit.manifestBlobName,
    disks: results,
    bytesWritten,
    warnings,
  };
}

/** What the recovery point keeps of a vault backup for retention (retention.ts). */
function retentionOf(vault: VaultBackupContext): NonNullable<CommitRecoveryPointActivityInput['retention']> {
  return {
    isOnDemand: vault.isOnDemand,
    ...(vault.retainUntil === undefined ? {} : { retainUntil: vault.retainUntil }),
    ...(vault.scheduledTime === undefined ? {} : { scheduledTime: vault.scheduledTime }),
    ...(vault.longTermTags === undefined ? {} : { longTermTags: vault.longTermTags }),
  };
}

/** The VM's name as the backup recorded it, for messages (the item name otherwise). */
function vmNameOf(vmConfig: VmConfig, fallback: string): string {
  const name = typeof vmConfig === 'object' && vmConfig !== null && !Array.isArray(vmConfig) ? vmConfig.name : undefined;
  return typeof name === 'string' ? name : fallback;
}

function toFailure(warning: { code: string; message: string }): FailureDescription {
  return describeFailure(Object.assign(new Error(warning.message), { name: 'KluisError', code: warning.code }));
}
