/**
 * Names of the blobs "restore disks" writes in the target container (vault-layout.ts builds the
 * vault's names; this module builds the restore target's, the same way):
 *   <prefix>/lun<lun>-<disk name slug>.vhd   one page blob per restored disk
 *   <prefix>/vmconfig.json                   the VM configuration, written after the disks
 *   <prefix>/encryptioninfo.json             encrypted VMs: the key and secret backups and URLs (after vmconfig.json)
 * The default prefix is `restores/<itemId>/<recoveryPointId>/<jobId>`.
 * A restore to managed disks stages each disk it imports as `<jobId>/lun<lun>.vhd` in the container
 * `kluis-import-staging` of the restore account (deleted once the disk is made; tagged with the job).
 */
import { assertValidBlobName, assertValidIdentifier, assertValidRecoveryPointId, MAX_LUN } from './vault-layout';
import { errors } from '../../domain/errors';

export const VM_CONFIG_BLOB_NAME = 'vmconfig.json';
export const ENCRYPTION_INFO_BLOB_NAME = 'encryptioninfo.json';
const MAX_NAME_SLUG_LENGTH = 64;
/** Leaves room under the 1024-character limit for `/lun63-<slug>.vhd`. */
const MAX_PREFIX_LENGTH = 900;

export function defaultRestorePrefix(itemId: string, recoveryPointId: string, jobId: string): string {
  return [
    'restores',
    assertValidIdentifier('itemId', itemId),
    assertValidRecoveryPointId(recoveryPointId),
    assertValidIdentifier('jobId', jobId),
  ].join('/');
}

/** Validates a caller's prefix: a valid blob name of at most 900 characters (a leading or trailing '/' is dropped). */
export function normalizeRestorePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  if (trimmed.length > MAX_PREFIX_LENGTH) {
    throw errors.invalidRequest('targetBlobPrefix', `The target blob prefix is longer than ${MAX_PREFIX_LENGTH} characters.`);
  }
  try {
    return assertValidBlobName(trimmed);
  } catch (err) {
    throw errors.invalidRequest('targetBlobPrefix', (err as Error).message);
  }
}

export function restoredDiskBlobName(prefix: string, lun: number, diskName: string): string {
  if (!Number.isInteger(lun) || lun < 0 || lun > MAX_LUN) throw errors.invalidIdentifier('lun', String(lun));
  return assertValidBlobName(`${prefix}/lun${lun}-${diskNameSlug(diskName)}.vhd`);
}

export const IMPORT_STAGING_CONTAINER = 'kluis-import-staging';

/** The staged VHD a restore imports as a managed disk (`<jobId>/lun<lun>.vhd` in IMPORT_STAGING_CONTAINER). */
export function importStagingBlobName(jobId: string, lun: number): string {
  if (!Number.isInteger(lun) || lun < 0 || lun > MAX_LUN) throw errors.invalidIdentifier('lun', String(lun));
  return assertValidBlobName(`${assertValidIdentifier('jobId', jobId)}/lun${lun}.vhd`);
}

/** True for a name importStagingBlobName makes (`<jobId>/lun<lun>.vhd`): the sweep deletes nothing else. */
export function isImportStagingBlobName(name: string): boolean {
  const match = /^([^/]+)\/lun(\d{1,2})\.vhd$/.exec(name);
  if (match === null) return false;
  try {
    return importStagingBlobName(match[1], Number(match[2])) === name;
  } catch {
    return false;
  }
}

export function restoredVmConfigBlobName(prefix: string): string {
  return assertValidBlobName(`${prefix}/${VM_CONFIG_BLOB_NAME}`);
}

export function restoredEncryptionInfoBlobName(prefix: string): string {
  return assertValidBlobName(`${prefix}/${ENCRYPTION_INFO_BLOB_NAME}`);
}

/** The disk's own name, reduced to [A-Za-z0-9_-] runs joined by '-', without a `.vhd` suffix; 'disk' if nothing is left. */
export function diskNameSlug(diskName: string): string {
  const base = diskName.split('/').pop() ?? '';
  const slug = base
    .replace(/\.vhd$/i, '')
    .replace(/[^A-Za-z0-9_]+/g, '-')
    .slice(0, MAX_NAME_SLUG_LENGTH)
    .replace(/^-+|-+$/g, '');
  return slug === '' ? 'disk' : slug;
}
