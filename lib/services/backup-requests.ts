/**
 * Backups of protected items as jobs: the on-demand request (`POST …/protectedItems/{i}/backup`),
 * the start of a scheduled slot, and what a running backup reports back (task progress, the
 * recovery point, the failure) to its job and item.
 *
 * One backup per item at a time: a backup claims the item (backup-claim.ts claimBackup) before its
 * job exists, and every ending (completed, failed, cancelled) releases the claim.
 *
 * API:
 *   triggerBackup(deps, vault, names, request, start): BackupStart       on demand (Backup job, isUserTriggered)
 * and the run's steps (the activities of orchestrations/backup.ts for a vault item):
 *   prepareBackupRun(deps, ref): PreparedBackupRun             PrepareVaultBackup: validate, disks from the VM inventory
 *   recordSnapshotTaken(deps, ref): {cancelled}                RecordSnapshotTaken
 *   recordTransferProgress(deps, ref, {disksDone, disksTotal}) RecordTransferProgress
 *   finishBackupRun(deps, ref, outcome): JobRecord             FinishVaultBackup → recordBackupCompleted/Failed/Cancelled
 */
import { TaskIds } from '../domain/arm/job-resource';
import type { VmDiskRequest } from '../engine/domain/backup-job';
import type { ViewPlacement } from '../engine/sources/source-disk';
import { describeChangeDetection, nameRow, type BackupRunOutcome, type JobErrorDetail, type JobRecord, type OperationRecord, type PolicyRecord, type ProtectedItemRecord, type VaultRecord } from '../domain/catalog';
import { planSnapshotConsistency } from '../domain/consistency';
import { errors, isKluisErrorCode, KluisError } from '../domain/errors';
import { instantRestoreDaysOf, maxInstantRecoveryPointsOf } from '../domain/instant-restore-rules';
import { MAX_ON_DEMAND_BACKUPS_PER_DAY, onDemandLimitReached, onDemandRetainUntil } from '../domain/policy-rules';
import type { LongTermRuleName } from '../domain/retention-rules';
import type { Consistency } from '../engine/domain/recovery-point-manifest';
import { encryptionToBackUp, type EncryptionToBackUp } from '../domain/disk-encryption';
import { diskSlot, isManagedDisk, type VirtualMachine } from '../domain/virtual-machine';
import { subscriptionRunsBackups, type SubscriptionState } from '../domain/tenancy';
import { tiersOfState } from '../engine/domain/restore-plan';
import { latestRecoveryPoint } from '../stores/recovery-point-catalog';
import type { VaultCatalog } from '../stores/vault-catalog';
import type { VmInventory } from '../stores/vm-inventory';
import {
  completeJob,
  createJob,
  failJob,
  jobErrorDetail,
  markJobCancelled,
  setTaskProgress,
  startTask,
  updateJob,
  vaultPartitionOf,
  type VaultScope,
} from './jobs';
import { createOperation } from './operations';
import { assertKeyVaultAccess, type KeyVaultAccessDeps } from './key-vault-access';
import { claimBackup, releaseBackup, withOnDemandBackup } from './backup-claim';
import { assertOneDiskKind, disksToBackUp, getProtectedItem, type ItemNames } from './protection';

export interface BackupRequestDeps {
  catalog: VaultCatalog;
  inventory: Pick<VmInventory, 'getById'>;
  clock: () => Date;
  newId: () => string;
  /**
   * Container and blob of a disk's page blob in the source account the engine reads
   * (KLUIS_SOURCE_STORAGE); undefined when no configured account holds it.
   */
  locateDisk: (vhdUri: string) => { container: string; blob: string } | undefined;
  /** Key Vault access for encrypted VMs (their key and secret are backed up with each point). */
  keyVault?: KeyVaultAccessDeps;
  /** The subscription's ARM state (admin-changeable locally): no backup starts while it is Disabled or Deleted. */
  subscriptionState?: (subscriptionId: string) => Promise<SubscriptionState>;
}

/** The job of one backup, as its activities name it (the payload of functions/activities/vault-backup.ts). */
export interface BackupJobRef {
  vault: VaultScope;
  itemName: string;
  jobId: string;
}

/**
 * What the backup orchestration starts with (orchestrations/backup.ts BackupInput; the run reads the
 * disks from the VM inventory when it starts, see prepareBackupRun).
 */
export interface VaultBackupRun {
  itemId: string;
  instantRestoreDays: number;
  /** Standard policies: at most this many points keep a snapshot tier (the oldest beyond it lose theirs before the snapshot). */
  maxInstantPoints?: number;
  vault: {
    vault: VaultScope;
    itemName: string;
    isOnDemand: boolean;
    retainUntil?: string;
    scheduledTime?: string;
    /** Scheduled backups: the long-term rules that select the slot's day under the policy now (kept with the point). */
    longTermTags?: LongTermRuleName[];
  };
}

/** Starts the backup orchestration with the job id as its instance id. */
export type StartBackupOrchestration = (instanceId: string, run: VaultBackupRun) => Promise<void>;

export interface BackupStart {
  job: JobRecord;
  operation: OperationRecord;
  ref: BackupJobRef;
  /** Retain-until of an on-demand point (ISO). */
  retainUntil?: string;
}

export interface OnDemandBackupRequest {
  /** ISO 8601; default now + 30 days. */
  recoveryPointExpiryTimeInUTC?: string;
}

export const MAX_RECOVERY_POINTS_PER_ITEM = 9999;
const DAY_MS = 24 * 60 * 60 * 1000;

export const BACKUP_JOB_PROPERTIES = {
  vmName: 'VM Name',
  retainUntil: 'Recovery point expiry time in UTC',
  scheduledFor: 'Scheduled time',
  consistency: 'Consistency',
  changeDetection: 'Change detection',
  recoveryPointId: 'Recovery point',
  bytesTransferred: 'Backup Size',
  instantSnapshotKept: 'Instant restore snapshot kept',
} as const;

// ---- on demand -----------------------------------------------------------------------------------

/**
 * Backup now. Refused before anything is written when the subscription is Disabled or Deleted
 * (ReadOnlyDisabledSubscription, ARM's answer to writes on a disabled subscription), the item is not protected
 * (UserErrorBcmDatasourceNotPresent), soft-deleted, stopped, already backing up, over the 3-a-day
 * limit of a Standard policy, or the retain-until is invalid. Then: claim the item → Backup job →
 * start the run → an operation (succeeded) pointing at the job. A failure to start fails the job,
 * releases the claim and is rethrown.
 */
export async function triggerBackup(
  deps: BackupRequestDeps,
  vault: VaultRecord,
  names: ItemNames,
  request: OnDemandBackupRequest,
  start: StartBackupOrchestration,
): Promise<BackupStart> {
  const subscription = await deps.subscriptionState?.(vault.subscriptionId);
  if (subscription !== undefined && !subscriptionRunsBackups(subscription)) throw errors.readOnlyDisabledSubscription(vault.subscriptionId);
  const item = await getProtectedItem(deps, vault, names);
  assertBackupAllowed(item);
  const now = deps.clock();
  const policy = await policyOfItem(deps, vault, item);
  if (policy.properties.policyType !== 'V2' && onDemandLimitReached(item.onDemandBackups, now, policy.properties.timeZone ?? 'UTC')) {
    throw errors.onDemandBackupLimitReached(item.vm.name, MAX_ON_DEMAND_BACKUPS_PER_DAY);
  }
  const retainUntil = onDemandRetainUntil(request.recoveryPointExpiryTimeInUTC, now).toISOString();
  const jobId = deps.newId();
  const claimed = await claimBackup(deps, vault, item.itemName, jobId, (current) => withOnDemandBackup(current, now));
  const ref: BackupJobRef = { vault: scopeOf(vault), itemName: claimed.itemName, jobId };
  let job: JobRecord;
  try {
    job = await createJob(deps, vault, {
      jobId,
      operation: 'Backup',
      entityFriendlyName: claimed.vm.name,
      containerName: claimed.containerName,
      itemName: claimed.itemName,
      isUserTriggered: true,
      propertyBag: { [BACKUP_JOB_PROPERTIES.vmName]: claimed.vm.name, [BACKUP_JOB_PROPERTIES.retainUntil]: retainUntil },
    });
  } catch (err) {
    await releaseBackup(deps, vault, claimed.itemName, jobId);
    throw err;
  }
  const run: VaultBackupRun = {
    itemId: claimed.engineItemId,
    instantRestoreDays: instantRestoreDaysOf(policy.properties),
    vault: { vault: ref.vault, itemName: ref.itemName, isOnDemand: true, retainUntil },
  };
  const maxInstantPoints = maxInstantRecoveryPointsOf(policy.properties);
  await startRun(deps, ref, maxInstantPoints === undefined ? run : { ...run, maxInstantPoints }, start);
  const operation = await createOperation(deps, vault, { name: 'Backup', jobId, status: 'Succeeded' });
  return { job, operation, ref, retainUntil };
}

async function startRun(deps: BackupRequestDeps, ref: BackupJobRef, run: VaultBackupRun, start: StartBackupOrchestration): Promise<void> {
  try {
    await start(ref.jobId, run);
  } catch (err) {
    await recordBackupFailed(deps, ref, err);
    throw err;
  }
}

// ---- the run -------------------------------------------------------------------------------------

export interface PreparedBackupRun {
  /** The disks to back up, `lun` = the engine's slot (OS disk 0, data disk LUN k → k + 1). */
  disks: VmDiskRequest[];
  /** The consistency the VM allows now (the freeze may still fall back). */
  consistency: Consistency;
  vmConfig: Record<string, unknown>;
  warnings: Array<{ code: string; message: string }>;
  /** Encrypted VMs: the BEK secret and KEK key to back up with the point (access checked). */
  encryption?: EncryptionToBackUp;
  /** Managed disks: where the instant-restore points go (the policy's instantRPDetails), when the policy names it. */
  placement?: ViewPlacement;
}

/** The policy's `instantRPDetails` as the managed-disk backend's placement of restore points; undefined when it names none. */
function placementOf(properties: PolicyRecord['properties']): ViewPlacement | undefined {
  const details = (properties as { instantRPDetails?: { azureBackupRGNamePrefix?: string; azureBackupRGNameSuffix?: string } }).instantRPDetails;
  const prefix = details?.azureBackupRGNamePrefix?.trim();
  if (prefix === undefined || prefix === '') return undefined;
  const suffix = details?.azureBackupRGNameSuffix?.trim();
  return { resourceGroupPrefix: prefix, ...(suffix === undefined || suffix === '' ? {} : { resourceGroupSuffix: suffix }) };
}

/**
 * The run's first step: checks the item is still protected and the VM can be backed up, then
 * starts the "Take Snapshot" task. Returns the disks to back up (OS disk always; data disks per the
 * item's exclusion) in the source account, the consistency the VM allows and the VM configuration.
 * Throws the reason the backup cannot run (UserErrorVmNotFoundV2, agent and VM state errors,
 * UserErrorItemProtectionStopped, UserErrorItemSoftDeleted, UserErrorBcmDatasourceNotPresent; for a VM
 * encrypted since it was protected: UserErrorEncryptedVmBekOnlyNotSupported, and the Key Vault checks of
 * key-vault-access.ts, UserErrorKeyvaultPermissionsNotConfigured until the permissions are granted).
 */
export async function prepareBackupRun(deps: BackupRequestDeps, ref: BackupJobRef): Promise<PreparedBackupRun> {
  const item = (await deps.catalog.items.get(vaultPartitionOf(ref.vault), nameRow(ref.itemName)))?.value;
  if (item === undefined) throw errors.datasourceNotPresent(ref.itemName);
  assertBackupAllowed(item);
  const vm = await deps.inventory.getById(item.vm.id);
  if (vm === undefined) throw errors.vmNotFound(item.vm.name);
  const plan = planSnapshotConsistency(vm);
  await assertRoomForRecoveryPoint(deps, item);
  const encryption = await encryptionOf(deps, vm);
  assertOneDiskKind(vm);
  const disks = disksToBackUp(vm, item.diskExclusion).map((disk): VmDiskRequest => {
    if (isManagedDisk(disk)) return { lun: diskSlot(disk), kind: 'managedDisk', id: disk.managedDisk.id, storageType: disk.storageType, name: disk.name };
    if (disk.vhdUri === undefined) throw errors.managedDisksNotSupported(vm.name);
    const located = deps.locateDisk(disk.vhdUri);
    if (located === undefined) {
      throw errors.invalidConfiguration('KLUIS_SOURCE_STORAGE', `the disk '${disk.name}' of VM '${vm.name}' is in a storage account Kluis does not read`);
    }
    return { lun: diskSlot(disk), container: located.container, blob: located.blob, storageType: disk.storageType, name: disk.name };
  });
  await updateJob(deps, ref.vault, ref.jobId, (job) => ({
    ...job,
    propertyBag: { ...job.propertyBag, [BACKUP_JOB_PROPERTIES.consistency]: `${plan.consistency} (${plan.reason})` },
  }));
  await startTask(deps, ref.vault, ref.jobId, TaskIds.TakeSnapshot);
  const placement = disks.some((disk) => disk.kind === 'managedDisk') ? placementOf((await policyOfItem(deps, ref.vault, item)).properties) : undefined;
  // Consistency fallbacks (VSS) are reported by the freeze step, which knows what really happened.
  return {
    disks,
    consistency: plan.consistency,
    vmConfig: vmConfigOf(vm, item),
    warnings: [],
    ...(encryption === undefined ? {} : { encryption }),
    ...(placement === undefined ? {} : { placement }),
  };
}

/** The key and secret an encrypted VM's backup saves, once the backup identity is known to be able to. */
async function encryptionOf(deps: Pick<BackupRequestDeps, 'keyVault'>, vm: VirtualMachine): Promise<EncryptionToBackUp | undefined> {
  if (vm.encryption?.enabled !== true) return undefined;
  if (vm.encryption.kek === undefined) throw errors.encryptedVmBekOnly(vm.name);
  if (deps.keyVault === undefined || encryptionToBackUp(vm.encryption) === undefined) {
    throw errors.invalidConfiguration('KLUIS_KEYVAULT_CREDENTIAL', `the VM '${vm.name}' is encrypted, and Kluis has no Key Vault access configured to back up its key and secret`);
  }
  return assertKeyVaultAccess(deps.keyVault, vm, 'vm.encryption');
}

/** Azure keeps at most 9,999 recovery points per item; a backup beyond that fails before its snapshot. */
async function assertRoomForRecoveryPoint(deps: Pick<BackupRequestDeps, 'catalog'>, item: ProtectedItemRecord): Promise<void> {
  let count = 0;
  for await (const _point of deps.catalog.recoveryPoints.list(item.engineItemId)) count++;
  if (count >= MAX_RECOVERY_POINTS_PER_ITEM) throw errors.rpCollectionLimitReached(item.vm.name, MAX_RECOVERY_POINTS_PER_ITEM);
}

/** The VM as a recovery point records it (restore writes it next to the disks). */
function vmConfigOf(vm: VirtualMachine, item: ProtectedItemRecord): Record<string, unknown> {
  return {
    vmId: vm.id,
    name: vm.name,
    resourceGroup: vm.resourceGroup,
    location: vm.location,
    vmSize: vm.vmSize,
    osType: vm.osType,
    disks: vm.disks.map((disk) => ({
      slot: diskSlot(disk),
      kind: disk.kind,
      ...(disk.lun === undefined ? {} : { lun: disk.lun }),
      name: disk.name,
      storageType: disk.storageType,
      sizeBytes: disk.sizeBytes,
      ...(disk.managedDisk === undefined ? {} : { managedDisk: { ...disk.managedDisk } }),
    })),
    ...(item.diskExclusion === undefined ? {} : { diskExclusion: item.diskExclusion }),
    encrypted: vm.encryption?.enabled === true,
    ...(vm.tags === undefined ? {} : { tags: vm.tags }),
  };
}

/**
 * The snapshots exist: in one write "Take Snapshot" completes and "Transfer data to vault" starts,
 * unless a cancel was requested meanwhile (then `cancelled`: the run stops and finishes Cancelled).
 */
export async function recordSnapshotTaken(deps: Pick<BackupRequestDeps, 'catalog' | 'clock'>, ref: BackupJobRef): Promise<{ cancelled: boolean }> {
  const now = deps.clock().toISOString();
  const job = await updateJob(deps, ref.vault, ref.jobId, (current) => {
    if (current.status !== 'InProgress') return undefined;
    return {
      ...current,
      tasks: current.tasks.map((task) => {
        if (task.taskId === TaskIds.TakeSnapshot && task.status !== 'Completed') {
          return { ...task, status: 'Completed', startTime: task.startTime ?? now, endTime: now, progressPercentage: 100 };
        }
        if (task.taskId === TaskIds.TransferData && task.status === 'NotStarted') return { ...task, status: 'InProgress', startTime: now };
        return task;
      }),
    };
  });
  return { cancelled: job.status === 'Cancelling' || job.status === 'Cancelled' };
}

/** Progress of the transfer: the share of disks done. */
export async function recordTransferProgress(
  deps: Pick<BackupRequestDeps, 'catalog' | 'clock'>,
  ref: BackupJobRef,
  progress: { disksDone: number; disksTotal: number },
): Promise<JobRecord> {
  const percent = progress.disksTotal <= 0 ? 100 : (100 * Math.min(progress.disksDone, progress.disksTotal)) / progress.disksTotal;
  return setTaskProgress(deps, ref.vault, ref.jobId, TaskIds.TransferData, percent);
}


/**
 * The run's last step, whatever the outcome (functions/activities/vault-backup.ts finishVaultBackup):
 * the job and the item record it and the item's claim is released.
 */
export async function finishBackupRun(deps: Pick<BackupRequestDeps, 'catalog' | 'clock'>, ref: BackupJobRef, run: BackupRunOutcome): Promise<JobRecord> {
  const warnings = run.warnings.map((warning) => jobErrorDetail(asFailure(warning)));
  switch (run.outcome) {
    case 'Cancelled':
      return recordBackupCancelled(deps, ref);
    case 'Failed':
      return recordBackupFailed(deps, ref, run.error === undefined ? errors.backupOperationFailed() : asFailure(run.error));
    default: {
      if (run.recoveryPointId === undefined) return recordBackupFailed(deps, ref, errors.backupOperationFailed('The backup finished without a recovery point.'));
      const propertyBag: Record<string, string> = {};
      if (run.consistency !== undefined) propertyBag[BACKUP_JOB_PROPERTIES.consistency] = run.consistency;
      if (run.bytesTransferred !== undefined) propertyBag[BACKUP_JOB_PROPERTIES.bytesTransferred] = `${run.bytesTransferred} bytes`;
      if (run.changeDetection !== undefined && run.changeDetection.length > 0) propertyBag[BACKUP_JOB_PROPERTIES.changeDetection] = describeChangeDetection(run.changeDetection);
      return recordBackupCompleted(deps, ref, {
        recoveryPointId: run.recoveryPointId,
        recoveryPointTime: recoveryPointTimeOf(run.recoveryPointId),
        warnings,
        propertyBag,
      });
    }
  }
}

export interface BackupOutcome {
  recoveryPointId: string;
  /** ISO time of the point (the backup's start). */
  recoveryPointTime: string;
  warnings?: JobErrorDetail[];
  propertyBag?: Record<string, string>;
}

/**
 * The recovery point is committed: the job completes (with warnings if any were recorded), the
 * item shows the backup (IRPending → Protected, health Passed) and the claim is released.
 */
export async function recordBackupCompleted(deps: Pick<BackupRequestDeps, 'catalog' | 'clock'>, ref: BackupJobRef, outcome: BackupOutcome): Promise<JobRecord> {
  const warnings = outcome.warnings ?? [];
  const job = await completeJob(deps, ref.vault, ref.jobId, {
    status: warnings.length > 0 ? 'CompletedWithWarnings' : 'Completed',
    warnings,
    propertyBag: { ...(outcome.propertyBag ?? {}), [BACKUP_JOB_PROPERTIES.recoveryPointId]: outcome.recoveryPointId },
  });
  await releaseBackup(deps, ref.vault, ref.itemName, ref.jobId, (item) => ({
    ...item,
    lastBackupStatus: job.status === 'CompletedWithWarnings' ? 'CompletedWithWarnings' : 'Healthy',
    lastBackupTime: outcome.recoveryPointTime,
    lastRecoveryPoint: outcome.recoveryPointTime,
    protectionState: item.protectionState === 'IRPending' || item.protectionState === 'ProtectionError' ? 'Protected' : item.protectionState,
    healthStatus: 'Passed',
  }));
  return job;
}

/** The run failed: the job fails with the error's code, message and recommendation; the item shows it. */
export async function recordBackupFailed(deps: Pick<BackupRequestDeps, 'catalog' | 'clock'>, ref: BackupJobRef, error: unknown): Promise<JobRecord> {
  const job = await failJob(deps, ref.vault, ref.jobId, error, { propertyBag: await latestSnapshotNote(deps, ref) });
  await releaseBackup(deps, ref.vault, ref.itemName, ref.jobId, (item) => ({ ...item, lastBackupStatus: 'Failed', healthStatus: 'ActionRequired' }));
  return job;
}

/**
 * While backups fail, the item's latest recovery point keeps its snapshot past its instant-restore
 * days (retention.ts); a failed job says so, and why, when that is the case.
 */
async function latestSnapshotNote(deps: Pick<BackupRequestDeps, 'catalog' | 'clock'>, ref: BackupJobRef): Promise<Record<string, string>> {
  const item = (await deps.catalog.items.get(vaultPartitionOf(ref.vault), nameRow(ref.itemName)))?.value;
  if (item?.policyName === undefined) return {};
  const latest = await latestRecoveryPoint(deps.catalog.recoveryPoints, item.engineItemId);
  const policy = await deps.catalog.policies.get(vaultPartitionOf(ref.vault), nameRow(item.policyName));
  if (latest === undefined || policy === undefined || tiersOfState(latest.state).instant !== 'Valid') return {};
  const days = instantRestoreDaysOf(policy.value.properties);
  const ended = Date.parse(latest.createdAt) + days * DAY_MS;
  if (ended > deps.clock().getTime()) return {};
  return {
    [BACKUP_JOB_PROPERTIES.instantSnapshotKept]: `Recovery point ${latest.recoveryPointId} (${latest.createdAt}) keeps its snapshot past ${new Date(ended).toISOString()}, the end of its ${days} instant-restore day(s): the latest recovery point keeps its snapshot until a backup succeeds.`,
  };
}

/** The run stopped after a cancel request: the job is Cancelled and the claim released. */
export async function recordBackupCancelled(deps: Pick<BackupRequestDeps, 'catalog' | 'clock'>, ref: BackupJobRef): Promise<JobRecord> {
  const job = await markJobCancelled(deps, ref.vault, ref.jobId);
  await releaseBackup(deps, ref.vault, ref.itemName, ref.jobId);
  return job;
}

/** Recovery point ids are the backup's start in epoch milliseconds (domain/backup-job.ts). */
function recoveryPointTimeOf(recoveryPointId: string): string {
  const ms = Number(recoveryPointId);
  return Number.isSafeInteger(ms) ? new Date(ms).toISOString() : new Date(0).toISOString();
}

/** A `{code, message}` that crossed the activity boundary, as a failure describeFailure() reads. */
function asFailure(failure: { code: string; message: string }): unknown {
  return isKluisErrorCode(failure.code) ? new KluisError(failure.code, failure.message) : errors.backupOperationFailed(failure.message);
}

// ---- helpers -------------------------------------------------------------------------------------

function assertBackupAllowed(item: ProtectedItemRecord): void {
  if (item.softDelete !== undefined) throw errors.itemSoftDeleted(item.vm.name, item.softDelete.purgeAt, 'be backed up');
  if (item.protectionState === 'ProtectionStopped' || item.policyName === undefined) throw errors.itemProtectionStopped(item.vm.name);
}

async function policyOfItem(deps: Pick<BackupRequestDeps, 'catalog'>, vault: VaultScope, item: ProtectedItemRecord): Promise<PolicyRecord> {
  if (item.policyName === undefined) throw errors.itemProtectionStopped(item.vm.name);
  const policy = await deps.catalog.policies.get(vaultPartitionOf(vault), nameRow(item.policyName));
  if (policy === undefined) {
    throw errors.backupOperationFailed(`The policy '${item.policyName}' of '${item.vm.name}' no longer exists; assign another policy to the item.`);
  }
  return policy.value;
}

function scopeOf(vault: VaultScope): VaultScope {
  return { id: vault.id, subscriptionId: vault.subscriptionId, resourceGroup: vault.resourceGroup, name: vault.name };
}
