import * as df from 'durable-functions';
import { backupOrchestrator } from '../orchestrations/backup';
import { backupDiskOrchestrator } from '../orchestrations/backup-disk';
import { backupDisksOrchestrator } from '../orchestrations/backup-disks';
import { Orchestrators } from '../orchestrations/contracts';
import { restoreOrchestrator } from '../orchestrations/restore';
import { restoreDrillOrchestrator } from '../orchestrations/restore-drill';
import { retentionOrchestrator } from '../orchestrations/retention';
import { vaultRestoreOrchestrator } from '../orchestrations/vault-restore';

df.app.orchestration(Orchestrators.Backup, backupOrchestrator);
df.app.orchestration(Orchestrators.BackupDisks, backupDisksOrchestrator);
df.app.orchestration(Orchestrators.BackupDisk, backupDiskOrchestrator);
df.app.orchestration(Orchestrators.Restore, restoreOrchestrator);
df.app.orchestration(Orchestrators.VaultRestore, vaultRestoreOrchestrator);
df.app.orchestration(Orchestrators.Retention, retentionOrchestrator);
df.app.orchestration(Orchestrators.RestoreDrill, restoreDrillOrchestrator);
