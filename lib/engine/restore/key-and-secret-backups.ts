/**
 * The Key Vault backups of an encrypted VM's key and secret stored with a recovery point (vault blobs the
 * manifest names): where they are and their bytes, for "restore disks" (the encryption info written next to
 * the disks) and the vault's "restore key and secret". Opaque backup data: never log it.
 */
import { errors, isKluisErrorLike } from '../../domain/errors';
import type { KeyAndSecretBackup } from '../domain/recovery-point-manifest';
import type { DiskStore } from '../../stores/disk-store';

export interface KeyAndSecretBackupBlobs {
  secretBlob: string;
  keyBlob: string;
}

/** Where a point's key and secret backups are (undefined: not encrypted, or no KEK backup). */
export function keyAndSecretBackupBlobs(keyAndSecret: KeyAndSecretBackup | null): KeyAndSecretBackupBlobs | undefined {
  const secretBlob = keyAndSecret?.bek.backupBlobName;
  const keyBlob = keyAndSecret?.kek?.backupBlobName;
  return secretBlob === undefined || keyBlob === undefined ? undefined : { secretBlob, keyBlob };
}

export interface KeyAndSecretBackupData {
  /** Key Vault backup of the BEK secret, base64. Never log it. */
  secretData: string;
  /** Key Vault backup of the KEK key, base64. Never log it. */
  keyBackupData: string;
}

/** Both backups of a point, base64 (what Key Vault's restore takes); a missing blob is KluisRecoveryPointDataNotFound. */
export async function readKeyAndSecretBackups(
  vault: Pick<DiskStore, 'readBlob'>,
  container: string,
  blobs: KeyAndSecretBackupBlobs,
  itemName: string,
  recoveryPointId: string,
): Promise<KeyAndSecretBackupData> {
  const read = async (blob: string, what: string): Promise<string> => {
    try {
      return (await vault.readBlob({ container, blob })).toString('base64');
    } catch (err) {
      if (isKluisErrorLike(err) && err.code === 'KluisBlobNotFound') throw errors.recoveryPointDataNotFound(itemName, recoveryPointId, `its ${what} backup is missing from the vault`);
      throw err;
    }
  };
  const [secretData, keyBackupData] = await Promise.all([read(blobs.secretBlob, 'BEK secret'), read(blobs.keyBlob, 'KEK key')]);
  return { secretData, keyBackupData };
}
