/**
 * Names and payload shapes shared by orchestrators, activities and HTTP starters. Types only
 * (plus name constants), so every layer may import it.
 */
import type {
  BackupRequest,
  DiscoveredDisk,
  SnapshotRef,
  TransferResult,
} from '../lib/domain/backup-slice';

export const Orchestrators = {
  Backup: 'backup',
} as const;

export const Activities = {
  Discover: 'discover',
  Snapshot: 'snapshot',
  Transfer: 'transfer',
  Commit: 'commit',
  Cleanup: 'cleanup',
} as const;

export type OrchestratorName = (typeof Orchestrators)[keyof typeof Orchestrators];
export type ActivityName = (typeof Activities)[keyof typeof Activities];

// ---- backup orchestration --------------------------------------------------------------------------

export type BackupInput = BackupRequest;

export type BackupStage = 'discover' | 'snapshot' | 'transfer' | 'commit' | 'cleanup' | 'completed' | 'failed';

export interface BackupCustomStatus {
  stage: BackupStage;
  /** Set when stage is 'failed': the stage that failed and the error's stable code. */
  failedStage?: BackupStage;
  errorCode?: string;
  errorMessage?: string;
}

export interface BackupOutput {
  status: 'Completed' | 'CompletedWithWarnings';
  jobId: string;
  itemId: string;
  recoveryPointId: string;
  manifestContainer: string;
  manifestBlob: string;
  replicaBlob: string;
  replicaSnapshot: string;
  bytesCopied: number;
  md5Base64: string;
  warnings: Array<{ code: string; message: string }>;
}

// ---- activity payloads -----------------------------------------------------------------------------

export interface DiscoverActivityInput {
  request: BackupRequest;
}
export type DiscoverActivityOutput = DiscoveredDisk;

export interface SnapshotActivityInput {
  disk: DiscoveredDisk;
  itemId: string;
  jobId: string;
}
export type SnapshotActivityOutput = SnapshotRef;

export interface TransferActivityInput {
  disk: DiscoveredDisk;
  snapshot: SnapshotRef;
  itemId: string;
  jobId: string;
}
export type TransferActivityOutput = TransferResult;

export interface CommitActivityInput {
  request: BackupRequest;
  jobId: string;
  recoveryPointId: string;
  disk: DiscoveredDisk;
  snapshot: SnapshotRef;
  transfer: TransferResult;
}
export interface CommitActivityOutput {
  recoveryPointId: string;
  manifestContainer: string;
  manifestBlob: string;
  replicaSnapshot: string;
}

export interface CleanupActivityInput {
  snapshot: SnapshotRef;
}
export interface CleanupActivityOutput {
  deleted: string;
}
