/** Encrypted VMs: Key Vault backups of the BEK secret and KEK key, stored with the recovery point before its commit. */
import type { KeyAndSecretBackup } from '../../lib/engine/domain/recovery-point-manifest';
import { backupKeyAndSecret, type BackupKeyAndSecretInput } from '../../lib/services/backup-key-and-secret';
import { declareActivity } from '../activity';
import { keyAndSecretBackupDeps } from '../deps';

export const backupKeyAndSecretActivity = declareActivity('backupKeyAndSecret', (input: BackupKeyAndSecretInput & { jobId?: string }, context): Promise<KeyAndSecretBackup> =>
  backupKeyAndSecret(keyAndSecretBackupDeps(context), input),
);
