/**
 * The records of the vault catalog (DESIGN §4) and their keys. One document per vault, policy,
 * protected item, job and async operation; recovery points have their own catalog
 * (stores/recovery-point-catalog.ts) keyed by the item's engine id.
 *
 * Keys are case-insensitive like ARM names: vaults are partitioned by subscription; everything inside
 * a vault is partitioned by the vault's key.
 */
import type { Consistency } from '../engine/domain/recovery-point-manifest';
import type { IaasVmPolicyProperties } from './policy';
import type { VaultIdentity } from './vault-identity';
import type { ImmutabilityState } from './immutability';
import type { RestoreDrillSettings } from './restore-drill';

export type StorageModelType = 'GeoRedundant' | 'LocallyRedundant' | 'ZoneRedundant';
export type SoftDeleteState = 'Enabled' | 'Disabled' | 'AlwaysON';

export interface VaultRecord {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
  storageModelType: StorageModelType;
  softDelete: { state: SoftDeleteState; retentionDays: number };
  /** The vault's default for restore drills (restore-drill.ts); a policy's own setting wins. Absent: off. */
  restoreDrill?: RestoreDrillSettings;
  createdAt: string;
  /** Set from the vault's first write until its DefaultPolicy exists, so a retried PUT finishes the creation. */
  defaultPolicyPending?: boolean;
  /** Last change of the vault or its configuration. */
  updatedAt?: string;
  /** The vault's managed identity (ARM `identity`). */
  identity?: VaultIdentity;
  /** ARM `properties.monitoringSettings`, as last sent. */
  monitoringSettings?: {
    azureMonitorAlertSettings?: {
      alertsForAllJobFailures?: 'Enabled' | 'Disabled';
      alertsForAllReplicationIssues?: 'Enabled' | 'Disabled';
      alertsForAllFailoverIssues?: 'Enabled' | 'Disabled';
    };
    classicAlertSettings?: { alertsForCriticalOperations?: 'Enabled' | 'Disabled'; emailNotificationsForSiteRecovery?: 'Enabled' | 'Disabled' };
  };
  /** ARM `properties.restoreSettings`, as last sent. */
  restoreSettings?: { crossSubscriptionRestoreSettings?: { crossSubscriptionRestoreState?: 'Enabled' | 'Disabled' | 'PermanentlyDisabled' } };
  /** `properties.securitySettings.immutabilitySettings.state` (absent: Disabled). */
  immutability?: ImmutabilityState;
}

export interface PolicyRecord {
  vaultId: string;
  name: string;
  /** As validated and normalised (defaults filled in). */
  properties: IaasVmPolicyProperties;
  createdAt: string;
  updatedAt: string;
}

export type ProtectionState =
  | 'IRPending'
  | 'Protected'
  | 'ProtectionError'
  | 'ProtectionStopped'
  | 'ProtectionPaused'
  | 'BackupsSuspended';
export type HealthStatus = 'Passed' | 'ActionRequired' | 'ActionSuggested';

export interface ProtectedVmSummary {
  id: string;
  name: string;
  resourceGroup: string;
  location: string;
  osType: 'Windows' | 'Linux';
  vmSize: string;
}

export interface RestoreDrillOutcome {
  jobId: string;
  status: 'Passed' | 'Failed';
  recoveryPointId: string;
  endTime: string;
  errorCode?: string;
  errorMessage?: string;
}

export interface ProtectedItemRecord {
  vaultId: string;
  containerName: string;
  itemName: string;
  /** Opaque id used by the backup engine and the vault layout (never an ARM name). */
  engineItemId: string;
  vm: ProtectedVmSummary;
  /** Absent once protection is stopped. */
  policyName?: string;
  protectionState: ProtectionState;
  healthStatus: HealthStatus;
  lastBackupStatus?: 'Healthy' | 'Failed' | 'CompletedWithWarnings';
  lastBackupTime?: string;
  lastRecoveryPoint?: string;
  diskExclusion?: { diskLunList: number[]; isInclusionList: boolean };
  /** Set while soft-deleted (stop protection with delete). */
  softDelete?: { deletedAt: string; purgeAt: string };
  /** Start times of on-demand backups (the last few days; for the 3-a-day limit). */
  onDemandBackups: string[];
  /** The last restore drill that finished (restore-drill.ts): a failed one shows in the item's health until one passes. */
  lastRestoreDrill?: RestoreDrillOutcome;
  /** The restore drill started and not yet recorded (the drill timer ends it when its orchestration ended without recording). */
  activeRestoreDrill?: { jobId: string; recoveryPointId: string; startedAt: string };
  /** The one backup that may run for this item; a new backup claims it with an ETag write. */
  activeBackup?: { jobId: string; startedAt: string };
  createdAt: string;
}

export type JobOperation =
  | 'Register'
  | 'UnRegister'
  | 'ConfigureBackup'
  | 'Backup'
  | 'Restore'
  | 'DisableBackup'
  | 'DeleteBackupData'
  | 'Undelete'
  /** Kluis only: a scheduled restore drill (restore-drill.ts). */
  | 'RestoreDrill';
export type JobStatus = 'InProgress' | 'Completed' | 'Failed' | 'CompletedWithWarnings' | 'Cancelled' | 'Cancelling';

export interface JobTask {
  taskId: string;
  status: 'NotStarted' | 'InProgress' | 'Completed' | 'Failed' | 'Cancelled';
  startTime?: string;
  endTime?: string;
  progressPercentage: number;
}

export interface JobErrorDetail {
  errorCode: string;
  errorTitle?: string;
  errorString: string;
  recommendations: string[];
}

export interface JobRecord {
  vaultId: string;
  jobId: string;
  operation: JobOperation;
  status: JobStatus;
  entityFriendlyName: string;
  containerName?: string;
  itemName?: string;
  startTime: string;
  endTime?: string;
  isUserTriggered: boolean;
  tasks: JobTask[];
  errorDetails?: JobErrorDetail[];
  propertyBag: Record<string, string>;
  /** The orchestration instance doing the work, if any. */
  instanceId?: string;
  /** Who asked for it (absent for what the scheduler and cleanup start). */
  initiatedBy?: Initiator;
}

/** Who started a job or operation: the signed-in caller, as the activity log names it too. */
export interface Initiator {
  objectId: string;
  name?: string;
  principalType: 'User' | 'ServicePrincipal';
}

/** The job's property bag keys that name who started it (Azure's jobs have no field of their own for it). */
export const INITIATED_BY_KEY = 'Initiated By';
export const INITIATOR_OBJECT_ID_KEY = 'Initiator Object Id';

export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';

export interface OperationRecord {
  vaultId: string;
  operationId: string;
  name: string;
  status: OperationStatus;
  startTime: string;
  endTime?: string;
  jobId?: string;
  error?: { code: string; message: string };
  initiatedBy?: Initiator;
}

export function vaultPartition(subscriptionId: string): string {
  return subscriptionId.toLowerCase();
}

export function vaultRow(resourceGroup: string, vaultName: string): string {
  return `${resourceGroup}~${vaultName}`.toLowerCase();
}

/** Partition of everything that belongs to one vault. */
export function vaultKey(subscriptionId: string, resourceGroup: string, vaultName: string): string {
  return `${subscriptionId}~${resourceGroup}~${vaultName}`.toLowerCase();
}

export function nameRow(name: string): string {
  return name.toLowerCase();
}

/** How a protected item's backup ended, as the orchestration reports it to the job and the item. */
export interface BackupRunOutcome {
  outcome: 'Completed' | 'CompletedWithWarnings' | 'Failed' | 'Cancelled';
  recoveryPointId?: string;
  consistency?: Consistency;
  bytesTransferred?: number;
  /** How each disk's changes were found (engine slot: 0 the OS disk, n the data disk of LUN n-1), as its segments found them. */
  changeDetection?: DiskChangeDetection[];
  error?: { code: string; message: string };
  warnings: Array<{ code: string; message: string }>;
}

export interface DiskChangeDetection {
  lun: number;
  changeDetection: string;
  /** Per segment, when they differ (a planned diff the source refused in some segments). */
  segmentChangeDetection?: string[];
}

/**
 * The job's "Change detection" entry: per disk, `full`, `diff` (the source's changed ranges) or `checksum`
 * (block checksums against the previous point), naming the segments whose planned diff was refused.
 */
export function describeChangeDetection(disks: readonly DiskChangeDetection[]): string {
  return [...disks]
    .sort((a, b) => a.lun - b.lun)
    .map((disk) => {
      const name = disk.lun === 0 ? 'OS disk' : `data disk LUN ${disk.lun - 1}`;
      const segments = disk.segmentChangeDetection;
      if (segments === undefined) return `${name}: ${disk.changeDetection}`;
      const refused = segments.flatMap((method, index) => (method === 'checksum' ? [index] : []));
      return `${name}: ${disk.changeDetection} (diff refused by the source in segment(s) ${refused.join(', ')} of ${segments.length}; compared by checksums)`;
    })
    .join('; ');
}
