/**
 * Names and payload shapes shared by orchestrators, activities and HTTP starters. Types only
 * (plus name constants), so every layer may import it.
 */
import type {
  DiscoveredVmDisk,
  DiskBackupPlan,
  InstantSnapshot,
  SeededReplica,
  StagedDisk,
  TransferSegmentResult,
  VmDiskRequest,
} from '../lib/engine/domain/backup-job';
import type { BackupRunOutcome } from '../lib/domain/catalog';
import type { EncryptionToBackUp } from '../lib/domain/disk-encryption';
import type { Consistency, KeyAndSecretBackup, RecoveryPointManifest, StorageType } from '../lib/engine/domain/recovery-point-manifest';

export type VmConfig = RecoveryPointManifest['vmConfig'];
import type { DiskSegment } from '../lib/engine/domain/transfer-plan';
import type { LongTermRuleName } from '../lib/domain/retention-rules';
import type { RestoredVmSpec, RestoreJobEvent } from '../lib/domain/restore-request';

export const Orchestrators = {
  Backup: 'backup',
  BackupDisk: 'backupDisk',
  Restore: 'restore',
  VaultRestore: 'vaultRestore',
  Retention: 'retention',
} as const;

export const Activities = {
  DiscoverDisks: 'discoverDisks',
  ProbeStorage: 'probeStorage',
  SnapshotDisks: 'snapshotDisks',
  PlanDiskBackup: 'planDiskBackup',
  StageDisk: 'stageDisk',
  SeedReplica: 'seedReplica',
  TransferSegment: 'transferSegment',
  DeleteStagingBlob: 'deleteStagingBlob',
  CommitRecoveryPoint: 'commitRecoveryPoint',
  BackupKeyAndSecret: 'backupKeyAndSecret',
  DeleteInstantSnapshots: 'deleteInstantSnapshots',
  ExpireSnapshotTier: 'expireSnapshotTier',
  PrepareVaultBackup: 'prepareVaultBackup',
  SnapshotVm: 'snapshotVm',
  RecordSnapshotTaken: 'recordSnapshotTaken',
  RecordTransferProgress: 'recordTransferProgress',
  FinishVaultBackup: 'finishVaultBackup',
  ListRetentionItems: 'listRetentionItems',
  ApplyRetention: 'applyRetention',
  RestoreDisks: 'restoreDisks',
  UpdateRestoreJob: 'updateRestoreJob',
  RegisterRestoredVm: 'registerRestoredVm',
} as const;

export type OrchestratorName = (typeof Orchestrators)[keyof typeof Orchestrators];
export type ActivityName = (typeof Activities)[keyof typeof Activities];

// ---- backup ------------------------------------------------------------------------------------------

/** A backup of a protected item of a vault (scheduled or on demand): the orchestration keeps its job and item up to date. */
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
  itemId: string;
  /** The disks to back up; for vault backups the VM inventory is read again when the job starts. */
  disks: VmDiskRequest[];
  vault?: VaultBackupContext;
  consistency?: Consistency;
  vmConfig?: VmConfig;
  /** Instant-restore snapshots older than this many days are deleted after the backup (1–30). */
  instantRestoreDays: number;
  /** At most this many points keep a snapshot tier: before the snapshot, the oldest beyond one less lose theirs. */
  maxInstantPoints?: number;
  /** Segments of one disk transferred at once. */
  segmentParallelism?: number;
}

export type BackupStage = 'validate' | 'discover' | 'snapshot' | 'transfer' | 'commit' | 'cleanup' | 'completed' | 'failed';

export interface BackupCustomStatus {
  stage: BackupStage;
  recoveryPointId?: string;
  /** Set when stage is 'failed': the stage that failed and the error's stable code. */
  failedStage?: BackupStage;
  errorCode?: string;
  errorMessage?: string;
}

export interface StorageCapabilitiesSummary {
  trueDiff: boolean;
  serverSideCopySafe: boolean;
}

export interface BackupDiskInput {
  itemId: string;
  jobId: string;
  disk: DiscoveredVmDisk;
  snapshot: InstantSnapshot;
  capabilities: StorageCapabilitiesSummary;
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
  changeDetection: DiskBackupPlan['changeDetection'];
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

export interface SnapshotDisksActivityInput {
  itemId: string;
  recoveryPointId: string;
  disks: Array<Pick<VmDiskRequest, 'lun' | 'container' | 'blob'>>;
}

export interface PlanDiskBackupActivityInput {
  itemId: string;
  jobId: string;
  lun: number;
  source: InstantSnapshot;
  sizeBytes: number;
  capabilities: StorageCapabilitiesSummary;
}

export interface StageDiskActivityInput {
  itemId: string;
  jobId: string;
  lun: number;
  snapshot: InstantSnapshot;
  sizeBytes: number;
  capabilities: StorageCapabilitiesSummary;
}

/** A full backup planned with `seed`: copy the disk onto the replica server-side, before the segments. */
export interface SeedReplicaActivityInput {
  itemId: string;
  jobId: string;
  lun: number;
  source: InstantSnapshot;
  readFrom?: StagedDisk['staging'];
  sizeBytes: number;
}

export interface TransferSegmentActivityInput {
  itemId: string;
  jobId: string;
  lun: number;
  segment: DiskSegment;
  diskSize: number;
  source: InstantSnapshot;
  readFrom?: StagedDisk['staging'];
  changeDetection: DiskBackupPlan['detection'];
}

export interface DeleteStagingBlobActivityInput {
  itemId: string;
  jobId: string;
  lun: number;
  container: string;
}

export interface CommitRecoveryPointActivityInput {
  itemId: string;
  jobId: string;
  recoveryPointId: string;
  createdAt: string;
  consistency: Consistency;
  vmConfig: VmConfig;
  disks: Array<{
    lun: number;
    name: string;
    sizeBytes: number;
    storageType: StorageType;
    source: InstantSnapshot;
    changeDetection: DiskBackupPlan['changeDetection'];
    segmentCount: number;
  }>;
  retention?: { isOnDemand: boolean; retainUntil?: string; scheduledTime?: string; longTermTags?: LongTermRuleName[] };
  /** Encrypted VMs: the key and secret backups BackupKeyAndSecret wrote. */
  keyAndSecret?: KeyAndSecretBackup;
}

/** Encrypted VMs, before the commit: Key Vault backups of the BEK secret and KEK key become vault blobs of the point. */
export interface BackupKeyAndSecretActivityInput {
  itemId: string;
  jobId: string;
  recoveryPointId: string;
  vmName: string;
  encryption: EncryptionToBackUp;
}

export interface CommitRecoveryPointActivityOutput {
  recoveryPointId: string;
  manifestBlobName: string;
  alreadyCommitted: boolean;
}

/** What the vault-backup activities share: the job (= orchestration instance) and its item. */
export interface VaultBackupActivityInput {
  vault: VaultAddress;
  itemName: string;
  jobId: string;
}

export interface PreparedVaultBackup {
  disks: VmDiskRequest[];
  /** The consistency the agent is expected to reach (the freeze may fall back). */
  consistency: Consistency;
  vmConfig: VmConfig;
  warnings: Array<{ code: string; message: string }>;
  /** Encrypted VMs: the key and secret to back up with the point (Key Vault access already checked). */
  encryption?: EncryptionToBackUp;
}

export interface SnapshotVmActivityInput extends VaultBackupActivityInput {
  snapshot: SnapshotDisksActivityInput;
}

/** The disks' instant snapshots, taken inside the guest's freeze, and the consistency the freeze reached. */
export interface SnapshotVmOutput {
  snapshots: InstantSnapshot[];
  consistency: Consistency;
  warnings: Array<{ code: string; message: string }>;
}

export interface RecordSnapshotTakenOutput {
  /** The job was cancelled while snapshotting: stop here. */
  cancelled: boolean;
}

export interface RecordTransferProgressInput extends VaultBackupActivityInput {
  disksDone: number;
  disksTotal: number;
}

export interface FinishVaultBackupInput extends VaultBackupActivityInput, BackupRunOutcome {}

export interface DeleteInstantSnapshotsActivityInput {
  itemId: string;
  recoveryPointId: string;
  containers: string[];
}

export interface ExpireSnapshotTierActivityInput {
  itemId: string;
  /** Points created before this ISO time lose their snapshot tier. */
  olderThan?: string;
  /** Only the newest this many points keep a snapshot tier. */
  keepNewest?: number;
}

export type { DiscoveredVmDisk, DiskBackupPlan, EncryptionToBackUp, InstantSnapshot, KeyAndSecretBackup, SeededReplica, StagedDisk, TransferSegmentResult, VmDiskRequest };

// ---- restore -----------------------------------------------------------------------------------------

export interface RestoreInput {
  itemId: string;
  recoveryPointId: string;
  targetContainer: string;
  targetStorageType?: StorageType;
  /** Disks to restore; all when omitted. */
  luns?: number[];
  tier?: 'Auto' | 'InstantRP' | 'HardenedRP';
}

export type RestoreStage = 'restore' | 'completed' | 'failed';

export interface RestoreCustomStatus {
  stage: RestoreStage;
  errorCode?: string;
  errorMessage?: string;
}

export interface RestoreDisksActivityInput extends RestoreInput {
  jobId: string;
}

export interface RestoredDiskSummary {
  lun: number;
  blobName: string;
  blobUrl: string;
  tier: 'InstantRP' | 'HardenedRP';
  /** How the bytes reached the target: a server-side copy read back and verified, or streamed and verified. */
  method: 'serverSideCopy' | 'streamed';
  sizeBytes: number;
  bytesCopied: number;
  blocksVerified: number;
}

export interface RestoreOutput {
  jobId: string;
  itemId: string;
  recoveryPointId: string;
  targetContainer: string;
  vmConfigBlobName: string;
  disks: RestoredDiskSummary[];
}

// ---- vault restore (ARM API: restore disks, or create a new VM from them) ----------------------------

/** The vault a job belongs to (the fields of services/jobs.ts VaultScope). */
export interface VaultAddress {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export interface VaultRestoreInput {
  vault: VaultAddress;
  /** The Restore job; also the orchestration's instance id. */
  jobId: string;
  restore: RestoreInput;
  /** AlternateLocation: the VM registered from the restored disks. */
  targetVm?: RestoredVmSpec;
}

export type VaultRestoreStage = 'restore' | 'createVm' | 'completed' | 'failed';

export interface VaultRestoreCustomStatus {
  stage: VaultRestoreStage;
  errorCode?: string;
  errorMessage?: string;
}

export interface VaultRestoreOutput {
  jobId: string;
  restore: RestoreOutput;
  /** AlternateLocation: the new VM's resource id. */
  vmId?: string;
}

export type { RestoreJobEvent, RestoredVmSpec };

export interface UpdateRestoreJobActivityInput {
  vault: VaultAddress;
  jobId: string;
  event: RestoreJobEvent;
}

export interface RegisterRestoredVmActivityInput {
  jobId: string;
  targetVm: RestoredVmSpec;
  disks: RestoredDiskSummary[];
}

export interface RegisterRestoredVmActivityOutput {
  vmId: string;
  /** False when a retried registration found the VM this job had already created. */
  created: boolean;
}


// ---- retention ---------------------------------------------------------------------------------------

export interface RetentionItemRef {
  vault: VaultAddress;
  itemName: string;
  /** The retention run (its instance id): the deletion job of the run and item derives its id from it. */
  runId?: string;
}

export interface ApplyRetentionActivityOutput {
  itemName: string;
  outcome: 'Pruned' | 'Purged' | 'Skipped' | 'Missing' | 'Failed';
  reason?: string;
  /** Set when outcome is 'Failed' (the activity reports an item's failure instead of throwing it). */
  error?: { code: string; message: string };
  expired: string[];
  snapshotTierExpired: string[];
  kept: number;
}

export interface RetentionOutput {
  items: number;
  purgedItems: number;
  expiredPoints: number;
  expiredSnapshotTiers: number;
  failures: Array<{ itemName: string; code: string; message: string }>;
}
