/**
 * A backup of a vault's protected item (scheduled or on demand): the product around the engine. Validate
 * the item and read the VM's disks → the engine's steps up to the views (discover, probe, the instant-point
 * cap), with the views opened in one activity that freezes the guest (VSS / fsfreeze / scripts, or none),
 * opens the views and thaws (always) → a cancel requested while snapshotting stops here → for an encrypted
 * VM, Key Vault backups of its BEK secret and KEK key (the keys as they are at the snapshot) → the engine's
 * `backupDisks` as a sub-orchestration (transfer with the job's progress, commit with the point's retention,
 * instant-restore expiry) → the job and the item record the outcome, whatever it is.
 *
 * Why the freeze wraps only the opening, in one activity: the guest must never stay frozen while other work
 * queues for activity slots (the benchmark saw a minute between separate freeze and thaw activities).
 *
 * Deterministic: only context.df.* calls, time from context.df.currentUtcDateTime. Registered in
 * functions/orchestrators.ts so this module has no side effects and replays in unit tests.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { describeFailure, formatFailure, type FailureDescription } from '../lib/domain/errors';
import type { BackupRunOutcome } from '../lib/domain/catalog';
import type { LongTermRuleName } from '../lib/domain/retention-rules';
import { recoveryPointIdFor, type DiscoveredVmDisk } from '../lib/engine/domain/backup-job';
import type { KeyAndSecretBackup } from '../lib/engine/domain/recovery-point-manifest';
import type { SourceCapabilities } from '../lib/engine/sources/source-disk';
import type { RecoveryPointRetention } from '../lib/stores/recovery-point-catalog';
import type { BackupJobRef } from '../lib/services/backup-requests';
import type { backupKeyAndSecretActivity } from '../functions/activities/backup-key-and-secret';
import type {
  finishVaultBackupActivity,
  PreparedVaultBackup,
  prepareVaultBackupActivity,
  recordSnapshotTakenActivity,
  SnapshotVmOutput,
  snapshotVmActivity,
} from '../functions/activities/vault-backup';
import type { BackupDiskOutput } from './backup-disk';
import { discardViews, openBackupViews, releaseViews, type BackupDisksInput, type BackupDisksOutput } from './backup-disks';
import { Orchestrators, type BackupCustomStatus, type BackupStage, type VaultAddress, type VmConfig } from './contracts';
import { callActivity } from './steps';

/** A backup of a protected item of a vault: the orchestration keeps its job and item up to date. */
export interface VaultBackupContext {
  vault: VaultAddress;
  itemName: string;
  isOnDemand: boolean;
  /** On-demand backups: the point is kept until then (ISO). */
  retainUntil?: string;
  /** Scheduled backups: the schedule slot (ISO); its local date is the backup's day for retention. */
  scheduledTime?: string;
  /** Scheduled backups: the long-term rules that selected the slot's day (recorded with the point). */
  longTermTags?: LongTermRuleName[];
}

export interface BackupInput {
  /** The item's id in the engine (its blobs and recovery points). */
  itemId: string;
  vault: VaultBackupContext;
  /** Instant-restore views older than this many days are deleted after the backup (1–30). */
  instantRestoreDays: number;
  /** At most this many points keep a snapshot tier: before the snapshot, the oldest beyond one less lose theirs. */
  maxInstantPoints?: number;
  /** Segments of one disk transferred at once. */
  segmentParallelism?: number;
}

export interface BackupOutput {
  status: 'Completed' | 'CompletedWithWarnings' | 'Cancelled';
  jobId: string;
  itemId: string;
  recoveryPointId: string;
  manifestBlobName: string;
  disks: BackupDiskOutput[];
  bytesWritten: number;
  warnings: Array<{ code: string; message: string }>;
}

export function* backupOrchestrator(context: OrchestrationContext): Generator<Task, BackupOutput, unknown> {
  const input = context.df.getInput<BackupInput>();
  const jobId = context.df.instanceId;
  const startedAt = context.df.currentUtcDateTime;
  const recoveryPointId = recoveryPointIdFor(startedAt);
  const job: BackupJobRef = { vault: input.vault.vault, itemName: input.vault.itemName, jobId };
  let stage: BackupStage = 'validate';
  const enter = (next: BackupStage) => {
    stage = next;
    context.df.setCustomStatus({ stage, recoveryPointId } satisfies BackupCustomStatus);
  };
  const warnings: FailureDescription[] = [];
  let consistency: BackupRunOutcome['consistency'] = 'CrashConsistent';
  /** Records the outcome on the job and the item; never lets that hide the backup's own result. */
  function* finish(outcome: BackupRunOutcome['outcome'], extra: Partial<BackupRunOutcome> = {}): Generator<Task, void, unknown> {
    try {
      yield callActivity<typeof finishVaultBackupActivity>(context, 'finishVaultBackup', { ...job, outcome, consistency, warnings, ...extra });
    } catch {
      // The job stays InProgress; the item's claim expires with the next backup's stale-claim check.
    }
  }
  function* fail(failedStage: BackupStage, err: unknown): Generator<Task, Error, unknown> {
    const failure = describeFailure(err);
    context.df.setCustomStatus({ stage: 'failed', recoveryPointId, failedStage, errorCode: failure.code, errorMessage: failure.message } satisfies BackupCustomStatus);
    yield* finish('Failed', { error: failure });
    // A one-line error carrying the code, instead of the activity's text with its stack trace.
    return new Error(formatFailure(failure));
  }

  let prepared: PreparedVaultBackup;
  let opened: { disks: DiscoveredVmDisk[]; capabilities: SourceCapabilities };
  let taken: SnapshotVmOutput;
  try {
    enter('validate');
    // Validation does not heal with retries: the VM is gone, the agent is down, the item is not protected.
    prepared = (yield callActivity<typeof prepareVaultBackupActivity>(context, 'prepareVaultBackup', job, false)) as PreparedVaultBackup;
    consistency = prepared.consistency;
    warnings.push(...prepared.warnings.map(toFailure));
    const request = { itemId: input.itemId, recoveryPointId, disks: prepared.disks, maxInstantPoints: input.maxInstantPoints, ...(prepared.placement === undefined ? {} : { placement: prepared.placement }) };
    const views = yield* openBackupViews(context, request, enter, (snapshot) =>
      // Freeze, open the views and thaw in one activity: the guest is never left frozen while work queues.
      callActivity<typeof snapshotVmActivity>(context, 'snapshotVm', { ...job, snapshot }),
    );
    opened = views;
    taken = views.opened as SnapshotVmOutput;
    consistency = taken.consistency;
    warnings.push(...taken.warnings.map(toFailure));
  } catch (err) {
    throw yield* fail(stage, err);
  }
  const placement = prepared.placement === undefined ? {} : { placement: prepared.placement };
  const viewsRequest = { itemId: input.itemId, recoveryPointId, disks: opened.disks, ...placement };
  const forgetViews = function* (): Generator<Task, void, unknown> {
    yield* releaseViews(context, taken.views);
    yield* discardViews(context, viewsRequest);
  };

  const snapshot = (yield callActivity<typeof recordSnapshotTakenActivity>(context, 'recordSnapshotTaken', job)) as { cancelled: boolean };
  if (snapshot.cancelled) {
    yield* forgetViews();
    yield* finish('Cancelled');
    enter('completed');
    return { status: 'Cancelled', jobId, itemId: input.itemId, recoveryPointId: '', manifestBlobName: '', disks: [], bytesWritten: 0, warnings };
  }

  let keyAndSecret: KeyAndSecretBackup | undefined;
  let result: BackupDisksOutput;
  try {
    if (prepared.encryption !== undefined) {
      keyAndSecret = (yield callActivity<typeof backupKeyAndSecretActivity>(context, 'backupKeyAndSecret', {
        itemId: input.itemId,
        jobId,
        recoveryPointId,
        vmName: vmNameOf(prepared.vmConfig, input.vault.itemName),
        encryption: prepared.encryption,
      })) as KeyAndSecretBackup;
    }
    enter('transfer');
    result = (yield context.df.callSubOrchestrator(
      Orchestrators.BackupDisks,
      {
        itemId: input.itemId,
        disks: [],
        opened: { recoveryPointId, createdAt: startedAt.toISOString(), disks: opened.disks, views: taken.views, capabilities: opened.capabilities, ...placement },
        jobId,
        consistency,
        vmConfig: prepared.vmConfig,
        ...(keyAndSecret === undefined ? {} : { keyAndSecret }),
        retention: retentionOf(input.vault),
        instantRestoreDays: input.instantRestoreDays,
        ...(input.maxInstantPoints === undefined ? {} : { maxInstantPoints: input.maxInstantPoints }),
        ...(input.segmentParallelism === undefined ? {} : { segmentParallelism: input.segmentParallelism }),
        progress: { activity: 'recordTransferProgress', input: { ...job } },
      } satisfies BackupDisksInput,
      `${jobId}:disks`,
    )) as BackupDisksOutput;
  } catch (err) {
    const failedStage = stage;
    // The engine releases and deletes the views it was handed when it fails; this covers failing before it ran.
    yield* forgetViews();
    throw yield* fail(failedStage, err);
  }

  warnings.push(...result.warnings);
  const status = warnings.length === 0 ? 'Completed' : 'CompletedWithWarnings';
  const changeDetection = result.disks.map((disk) => ({
    lun: disk.lun,
    changeDetection: disk.changeDetection,
    ...(disk.segmentChangeDetection === undefined ? {} : { segmentChangeDetection: disk.segmentChangeDetection }),
  }));
  yield* finish(status, { recoveryPointId: result.recoveryPointId, bytesTransferred: result.bytesTransferred, changeDetection });
  enter('completed');
  return {
    status,
    jobId,
    itemId: input.itemId,
    recoveryPointId: result.recoveryPointId,
    manifestBlobName: result.manifestBlobName,
    disks: result.disks,
    bytesWritten: result.bytesWritten,
    warnings,
  };
}

/** What the recovery point keeps of a vault backup for retention (retention.ts). */
function retentionOf(vault: VaultBackupContext): RecoveryPointRetention {
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
