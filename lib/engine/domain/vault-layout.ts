/**
 * The only place blob names are built (Velero's object_store_layout in spirit).
 *
 * Vault account, container KLUIS_VAULT_CONTAINER:
 *   items/<itemId>/disks/<lun>/replica.vhd                         page blob, one per protected disk
 *   items/<itemId>/recoveryPoints/<recoveryPointId>/disks/<lun>/checksums.bin   BlockSums (block-sums.ts)
 *   items/<itemId>/recoveryPoints/<recoveryPointId>/manifest.json  block blob, written last
 *   items/<itemId>/recoveryPoints/<recoveryPointId>/keyAndSecret/secret.kvbackup  Key Vault backup of the BEK secret (encrypted VMs)
 *   items/<itemId>/recoveryPoints/<recoveryPointId>/keyAndSecret/key.kvbackup     Key Vault backup of the KEK key
 *   items/<itemId>/jobs/<jobId>/disks/<lun>/checksums/<segment 6 digits>.part  staging, per segment
 *   items/<itemId>/drills/<jobId>/…                                a restore drill's scratch restore, deleted when it ends
 * Source account, next to the disk (Azure Backup's staging convention):
 *   AzureBackup-<itemId>-<jobId>-<lun>
 */
import { createHash } from 'node:crypto';
import { errors } from '../../domain/errors';

export const MAX_BLOB_NAME_LENGTH = 1024;
export const MAX_BLOB_NAME_SEGMENTS = 254;
export const MAX_LUN = 63;
export const STAGING_BLOB_PREFIX = 'AzureBackup-';

const ITEMS_ROOT = 'items';
const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

export function replicaBlobName(itemId: string, lun: number): string {
  return checked(`${itemPrefix(itemId)}disks/${checkedLun(lun)}/replica.vhd`);
}

export function manifestBlobName(itemId: string, recoveryPointId: string): string {
  return checked(`${recoveryPointPrefix(itemId, recoveryPointId)}manifest.json`);
}

/** The opaque Key Vault backup of an encrypted VM's BEK secret, taken with the recovery point. */
export function secretBackupBlobName(itemId: string, recoveryPointId: string): string {
  return checked(`${recoveryPointPrefix(itemId, recoveryPointId)}keyAndSecret/secret.kvbackup`);
}

/** The opaque Key Vault backup of an encrypted VM's KEK key, taken with the recovery point. */
export function keyBackupBlobName(itemId: string, recoveryPointId: string): string {
  return checked(`${recoveryPointPrefix(itemId, recoveryPointId)}keyAndSecret/key.kvbackup`);
}

/** Binary per-block checksums (block-sums.ts) of one disk of a recovery point. */
export function checksumsBlobName(itemId: string, recoveryPointId: string, lun: number): string {
  return checked(`${recoveryPointPrefix(itemId, recoveryPointId)}disks/${checkedLun(lun)}/checksums.bin`);
}

/** Prefix of every recovery point's blobs of one item (the uncommitted-point sweeper lists it). */
export function recoveryPointsPrefix(itemId: string): string {
  return `${itemPrefix(itemId)}recoveryPoints/`;
}

/** The recovery point id of a blob under `recoveryPointsPrefix(itemId)`, or undefined. */
export function recoveryPointIdOfBlobName(itemId: string, blobName: string): string | undefined {
  const prefix = recoveryPointsPrefix(itemId);
  if (!blobName.startsWith(prefix)) return undefined;
  const id = blobName.slice(prefix.length).split('/')[0];
  return isValidIdentifier(id) ? id : undefined;
}

/** Prefix of one backup job's scratch blobs in the vault (checksum parts); deleted after commit. */
export function jobStagingPrefix(itemId: string, jobId: string): string {
  return `${itemPrefix(itemId)}jobs/${checkedId('jobId', jobId)}/`;
}

/** Where a restore drill restores its point (scratch, deleted when the drill ends); no trailing '/'. */
export function drillScratchPrefix(itemId: string, jobId: string): string {
  return `${drillsScratchPrefix(itemId)}${checkedId('jobId', jobId)}`;
}

/** Prefix of every restore drill's scratch of one item (left only by a drill that died: swept and reported). */
export function drillsScratchPrefix(itemId: string): string {
  return `${itemPrefix(itemId)}drills/`;
}

/** Prefix of every job's scratch blobs of one item (for sweeping). */
export function jobsStagingPrefix(itemId: string): string {
  return `${itemPrefix(itemId)}jobs/`;
}

/** Prefix of the checksum parts of one disk in one job. */
export function checksumPartsPrefix(itemId: string, jobId: string, lun: number): string {
  return `${jobStagingPrefix(itemId, jobId)}disks/${checkedLun(lun)}/checksums/`;
}

/** The checksum part (BlockSums of one segment) written by the segment transfer. */
export function checksumPartBlobName(itemId: string, jobId: string, lun: number, segmentIndex: number): string {
  if (!Number.isInteger(segmentIndex) || segmentIndex < 0 || segmentIndex > 999_999) {
    throw errors.invalidIdentifier('segmentIndex', String(segmentIndex));
  }
  return checked(`${checksumPartsPrefix(itemId, jobId, lun)}${String(segmentIndex).padStart(6, '0')}.part`);
}

/** Recovery point ids are numeric strings (Azure Backup's convention). */
export function isValidRecoveryPointId(value: string): boolean {
  return /^[0-9]{1,20}$/.test(value);
}

export function assertValidRecoveryPointId(value: string, field = 'recoveryPointId'): string {
  if (!isValidRecoveryPointId(value)) throw errors.invalidIdentifier(field, value);
  return value;
}

export function stagingBlobName(itemId: string, jobId: string, lun: number): string {
  return checked(
    `${STAGING_BLOB_PREFIX}${checkedId('itemId', itemId)}-${checkedId('jobId', jobId)}-${checkedLun(lun)}`,
  );
}

/** Prefix of every vault blob of one protected item (for listing and deletion). */
export function itemPrefix(itemId: string): string {
  return `${ITEMS_ROOT}/${checkedId('itemId', itemId)}/`;
}

/** Prefix of every vault blob of one recovery point. */
export function recoveryPointPrefix(itemId: string, recoveryPointId: string): string {
  return `${itemPrefix(itemId)}recoveryPoints/${checkedId('recoveryPointId', recoveryPointId)}/`;
}

/** True when the name is one of ours in the source account (for the orphan sweeper). */
export function isStagingBlobName(name: string): boolean {
  return name.startsWith(STAGING_BLOB_PREFIX);
}

/** Ids that become path segments: 1–128 of [A-Za-z0-9._-], starting with a letter or digit. */
export function isValidIdentifier(value: string): boolean {
  return IDENTIFIER.test(value);
}

export function assertValidIdentifier(field: string, value: string): string {
  return checkedId(field, value);
}

export function isValidContainerName(name: string): boolean {
  return CONTAINER_NAME.test(name);
}

export function assertValidContainerName(name: string, target = 'container'): string {
  if (!isValidContainerName(name)) throw errors.invalidContainerName(name, target);
  return name;
}

/**
 * Azure blob name rules: 1–1024 characters, at most 254 segments, no trailing dot or slash; we
 * also refuse control characters, backslashes (the service turns them into slashes), empty
 * segments and `.`/`..` segments, which URL normalisation would change.
 */
export function blobNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > MAX_BLOB_NAME_LENGTH) return `it is longer than ${MAX_BLOB_NAME_LENGTH} characters`;
  if (CONTROL_CHARS.test(name)) return 'it contains control characters';
  if (name.includes('\\')) return 'it contains a backslash';
  if (name.endsWith('.') || name.endsWith('/')) return 'it ends with a dot or a slash';
  const segments = name.split('/');
  if (segments.length > MAX_BLOB_NAME_SEGMENTS) return `it has more than ${MAX_BLOB_NAME_SEGMENTS} path segments`;
  if (segments.some((s) => s === '')) return 'it has an empty path segment';
  if (segments.some((s) => s === '.' || s === '..')) return "it has a '.' or '..' path segment";
  return undefined;
}

export function isValidBlobName(name: string): boolean {
  return blobNameProblem(name) === undefined;
}

export function assertValidBlobName(name: string): string {
  const problem = blobNameProblem(name);
  if (problem !== undefined) throw errors.invalidBlobName(name, problem);
  return name;
}

/**
 * A stable item id for a disk given only by container and blob: `disk-<container>-<blob>-<hash>`,
 * every run of other characters turned into one hyphen and the slug cut to fit the identifier
 * rule; the hash of the exact `container/blob` keeps two disks from ever sharing an id.
 */
export function itemIdForSourceDisk(container: string, blob: string): string {
  const hash = createHash('sha256').update(`${container}/${blob}`).digest('hex').slice(0, 8);
  const slug = `disk-${container}-${blob}`
    .replace(/[^A-Za-z0-9_]+/g, '-')
    .slice(0, 128 - hash.length - 1)
    .replace(/-+$/, '');
  return checkedId('itemId', `${slug}-${hash}`);
}

function checkedId(field: string, value: string): string {
  if (!isValidIdentifier(value) || value.endsWith('.')) throw errors.invalidIdentifier(field, value);
  return value;
}

function checkedLun(lun: number): number {
  if (!Number.isInteger(lun) || lun < 0 || lun > MAX_LUN) throw errors.invalidIdentifier('lun', String(lun));
  return lun;
}

function checked(name: string): string {
  return assertValidBlobName(name);
}
