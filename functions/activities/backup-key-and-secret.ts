/** Encrypted VMs: Key Vault backups of the BEK secret and KEK key, stored with the recovery point before its commit. */
import * as df from 'durable-functions';
import type { KeyAndSecretBackup } from '../../lib/engine/domain/recovery-point-manifest';
import { backupKeyAndSecret } from '../../lib/services/backup-key-and-secret';
import { Activities, type BackupKeyAndSecretActivityInput } from '../../orchestrations/contracts';
import { keyAndSecretBackupDeps } from '../deps';

df.app.activity(Activities.BackupKeyAndSecret, {
  handler: (input: BackupKeyAndSecretActivityInput, context): Promise<KeyAndSecretBackup> => backupKeyAndSecret(keyAndSecretBackupDeps(context), input),
});
