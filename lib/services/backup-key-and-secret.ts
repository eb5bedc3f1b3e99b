/**
 * The key and secret of an encrypted VM's recovery point: Key Vault backups of the BEK secret and the
 * KEK key, written as vault blobs next to the point's other blobs (vault-layout.ts) before the point is
 * committed; the manifest's `keyAndSecret` names them (commit-recovery-point.ts). A restore can then
 * bring both back even after they were deleted and purged from the Key Vault.
 *
 * Idempotent: a retry backs up again and overwrites the same two blobs. Until the point is committed the
 * blobs are under its prefix, so the uncommitted-point sweeper removes them if the backup never commits.
 * The backups are opaque Key Vault data: they are written and never logged.
 *
 * API:
 *   backupKeyAndSecret(deps, input): Promise<KeyAndSecretBackup>
 *     UserErrorKeyvaultPermissionsNotConfigured · UserErrorKeyAndSecretNotFound · UserErrorKeyVaultNotFound
 */
import { keyAndSecretRecord, keyVaultDisplayName, type EncryptionToBackUp } from '../domain/disk-encryption';
import { errors } from '../domain/errors';
import type { KeyAndSecretBackup } from '../engine/domain/recovery-point-manifest';
import { assertValidIdentifier, assertValidRecoveryPointId, keyBackupBlobName, secretBackupBlobName } from '../engine/domain/vault-layout';
import { isKeyStoreError, permissionLabel, type KeyStore, type ObjectBackup } from '../stores/key-store';
import type { PageBlobStore } from '../stores/page-blob-store';
import type { EngineLogger } from '../engine/engine-deps';

export interface BackupKeyAndSecretDeps {
  keyStore: Pick<KeyStore, 'backupSecret' | 'backupKey'>;
  vault: Pick<PageBlobStore, 'writeBlockBlob' | 'createContainerIfNotExists'>;
  vaultContainer: string;
  log: EngineLogger;
  /** Object id of Kluis's backup identity, named in permission errors. */
  principalId?: string;
}

export interface BackupKeyAndSecretInput {
  itemId: string;
  recoveryPointId: string;
  /** For messages. */
  vmName: string;
  encryption: EncryptionToBackUp;
}

export async function backupKeyAndSecret(deps: BackupKeyAndSecretDeps, input: BackupKeyAndSecretInput): Promise<KeyAndSecretBackup> {
  assertValidIdentifier('itemId', input.itemId);
  assertValidRecoveryPointId(input.recoveryPointId);
  const { bek, kek } = input.encryption;
  const secret = await backedUp(deps, input.vmName, bek.secretUrl, bek.vaultId, () => deps.keyStore.backupSecret(bek.secretUrl));
  const key = await backedUp(deps, input.vmName, kek.keyUrl, kek.vaultId, () => deps.keyStore.backupKey(kek.keyUrl));
  const blobs = {
    secretBackupBlobName: secretBackupBlobName(input.itemId, input.recoveryPointId),
    keyBackupBlobName: keyBackupBlobName(input.itemId, input.recoveryPointId),
  };
  await deps.vault.createContainerIfNotExists(deps.vaultContainer);
  const write = (blob: string, backup: ObjectBackup) =>
    deps.vault.writeBlockBlob({ container: deps.vaultContainer, blob }, Buffer.from(backup.backup, 'base64'), { contentType: 'application/octet-stream' });
  await Promise.all([write(blobs.secretBackupBlobName, secret), write(blobs.keyBackupBlobName, key)]);
  deps.log.info(`Backed up the BEK secret and KEK key of ${input.vmName} for recovery point ${input.recoveryPointId} of item ${input.itemId}.`);
  return keyAndSecretRecord(input.encryption, blobs);
}

/** One Key Vault backup, its failures as the error a user can act on. */
async function backedUp(deps: BackupKeyAndSecretDeps, vmName: string, url: string, vaultId: string, backup: () => Promise<ObjectBackup>): Promise<ObjectBackup> {
  const target = 'vm.encryption';
  try {
    return await backup();
  } catch (err) {
    if (isKeyStoreError(err, 'forbidden')) {
      const missing = err.permission === undefined ? ['access'] : [permissionLabel(err.permission)];
      throw errors.keyvaultPermissionsNotConfigured(vmName, [{ vault: keyVaultDisplayName(vaultId), missing }], deps.principalId, target);
    }
    if (isKeyStoreError(err, 'notFound')) throw errors.keyAndSecretNotFound(vmName, [url], target);
    if (isKeyStoreError(err, 'vaultNotFound')) throw errors.keyVaultNotFound(vmName, keyVaultDisplayName(vaultId), target);
    throw err;
  }
}
