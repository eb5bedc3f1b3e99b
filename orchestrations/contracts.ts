/**
 * What the orchestrators share with each other and with their starters: the orchestrators' names (each is
 * registered in functions/orchestrators.ts), the vault a job belongs to, and the status a backup reports.
 * Everything else is declared next to its handler: activity names and payloads in functions/activities/*.ts
 * (and the lib use cases they call), orchestration inputs and outputs in the orchestrator's own module.
 */
import type { RecoveryPointManifest } from '../lib/engine/domain/recovery-point-manifest';

export const Orchestrators = {
  /** A vault's protected item (orchestrations/backup.ts). */
  Backup: 'backup',
  /** The engine's backup of a VM's disks (orchestrations/backup-disks.ts): the raw API's, and the vault backup's sub-orchestration. */
  BackupDisks: 'backupDisks',
  /** One disk of it (orchestrations/backup-disk.ts). */
  BackupDisk: 'backupDisk',
  Restore: 'restore',
  VaultRestore: 'vaultRestore',
  Retention: 'retention',
  /** A scheduled restore drill of one protected item (orchestrations/restore-drill.ts). */
  RestoreDrill: 'restoreDrill',
} as const;

export type OrchestratorName = (typeof Orchestrators)[keyof typeof Orchestrators];

/** The VM's configuration as a point records it (opaque JSON; restore writes it next to the disks). */
export type VmConfig = RecoveryPointManifest['vmConfig'];

/** The vault a job belongs to (the fields of services/jobs.ts VaultScope). */
export interface VaultAddress {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export type BackupStage = 'validate' | 'discover' | 'snapshot' | 'transfer' | 'commit' | 'cleanup' | 'completed' | 'failed';

/** The custom status of a backup, the engine's (backupDisks) and a vault item's (backup) alike. */
export interface BackupCustomStatus {
  stage: BackupStage;
  recoveryPointId?: string;
  /** Set when stage is 'failed': the stage that failed and the error's stable code. */
  failedStage?: BackupStage;
  errorCode?: string;
  errorMessage?: string;
}
