/**
 * The documents a restore writes next to the disks: the VM configuration/template (every restore) and,
 * for an encrypted VM, the encryption info with the key and secret backups (backup data: never log it).
 */
import { errors } from '../../domain/errors';
import type { RecoveryPointManifest } from '../domain/recovery-point-manifest';
import type { RestoreDisksRequest, RestoredDisk } from './restore-disks';
import type { KeyAndSecretBackupData } from './key-and-secret-backups';

/** The VM configuration/template document written next to the restored disks. */
export interface RestoredVmConfigDocument {
  schemaVersion: 1;
  kind: 'KluisRestoredVmConfiguration';
  itemId: string;
  recoveryPointId: string;
  recoveryPointTime: string;
  consistency: string;
  jobId: string;
  restoredAt: string;
  isSourceVmEncrypted: boolean;
  disks: Array<Pick<RestoredDisk, 'lun' | 'name' | 'blobName' | 'blobUrl' | 'sizeBytes' | 'storageType' | 'premiumTier' | 'tier'>>;
  /** The VM's configuration as recorded at backup. */
  vmConfig: unknown;
}

export function buildVmConfigDocument(
  manifest: RecoveryPointManifest,
  request: RestoreDisksRequest,
  disks: readonly RestoredDisk[],
  now: Date,
): RestoredVmConfigDocument {
  return {
    schemaVersion: 1,
    kind: 'KluisRestoredVmConfiguration',
    itemId: manifest.itemId,
    recoveryPointId: manifest.recoveryPointId,
    recoveryPointTime: manifest.createdAt,
    consistency: manifest.consistency,
    jobId: request.jobId,
    restoredAt: now.toISOString(),
    isSourceVmEncrypted: manifest.keyAndSecret !== null,
    disks: [...disks]
      .sort((a, b) => a.lun - b.lun)
      .map((d) => ({
        lun: d.lun,
        name: d.name,
        blobName: d.blobName,
        blobUrl: d.blobUrl,
        sizeBytes: d.sizeBytes,
        storageType: d.storageType,
        ...(d.premiumTier === undefined ? {} : { premiumTier: d.premiumTier }),
        tier: d.tier,
      })),
    vmConfig: manifest.vmConfig,
  };
}

/**
 * The encryption info written next to an encrypted VM's restored disks, in the shape of Azure's
 * encryption settings: the BEK secret and KEK key URLs and vaults, and their Key Vault backups (base64,
 * what Restore-AzKeyVaultSecret/-Key and Kluis's restoreKeyAndSecret take). Holds backup data: never log it.
 */
export interface EncryptionInfoDocument {
  schemaVersion: 1;
  kind: 'KluisEncryptionInfo';
  itemId: string;
  recoveryPointId: string;
  jobId: string;
  encryptionMechanism: string;
  encryptionSettings: {
    bek: { secretUrl: string; secretVaultId: string; secretData: string };
    kek: { keyUrl: string; keyVaultId: string; keyBackupData: string };
  };
}

export function buildEncryptionInfoDocument(manifest: RecoveryPointManifest, jobId: string, data: KeyAndSecretBackupData): EncryptionInfoDocument {
  const keys = manifest.keyAndSecret;
  if (keys === null || keys.kek === undefined) throw errors.invalidManifest('it records no key and secret backups');
  return {
    schemaVersion: 1,
    kind: 'KluisEncryptionInfo',
    itemId: manifest.itemId,
    recoveryPointId: manifest.recoveryPointId,
    jobId,
    encryptionMechanism: keys.encryptionMechanism,
    encryptionSettings: {
      bek: { secretUrl: keys.bek.secretUrl, secretVaultId: keys.bek.secretVaultId, secretData: data.secretData },
      kek: { keyUrl: keys.kek.keyUrl, keyVaultId: keys.kek.keyVaultId, keyBackupData: data.keyBackupData },
    },
  };
}
