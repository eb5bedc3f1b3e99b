/**
 * Where Azure Backup keeps the instant-restore points of a managed-disk VM, and what Kluis names them:
 *  - resource group `AzureBackupRG_<region>_1`, or the policy's `<prefix>1<suffix>` (instantRPDetails
 *    azureBackupRGNamePrefix / azureBackupRGNameSuffix; "n" is 1: Kluis does not scale out to a second group);
 *  - one restore point collection per VM, `AzureBackup_<vm>_<number>` (the number: a 64-bit hash of the VM's id,
 *    so the name is stable and two VMs of one name in different groups do not share a collection);
 *  - one restore point per opening of the VM's disks, `<recoveryPointId>_<item hash>_<attempt>`, so that
 *    whatever an attempt left is found again by item and recovery point.
 * Pure: no I/O.
 */
import { errors } from '../../../domain/errors';
import type { ViewPlacement } from '../source-disk';

/** ARM's limit for a resource group name. */
const MAX_RESOURCE_GROUP_NAME = 90;
/** The fabric's and Compute's limit for a restore point collection or restore point name. */
const MAX_COMPUTE_NAME = 80;

/** The policy's `instantRPDetails.azureBackupRGNamePrefix` (default `AzureBackupRG_<region>_`) and `…Suffix` (default none). */
export type RestorePointPlacement = ViewPlacement;

/** The resource group of the VM's instant-restore points in `location`. */
export function instantRestoreResourceGroup(location: string, placement: RestorePointPlacement = {}): string {
  const prefix = placement.resourceGroupPrefix ?? `AzureBackupRG_${location.replace(/\s+/g, '').toLowerCase()}_`;
  const name = `${prefix}1${placement.resourceGroupSuffix ?? ''}`;
  if (name.length > MAX_RESOURCE_GROUP_NAME || !/^[-\w.()]+$/.test(name) || name.endsWith('.')) {
    throw errors.invalidRequest('instantRPDetails', `The instant-restore resource group name '${name.slice(0, 100)}' is not a valid resource group name.`);
  }
  return name;
}

/** The VM's restore point collection. */
export function restorePointCollectionName(vmName: string, vmId: string): string {
  const number = fnv1a64(vmId.toLowerCase()).toString(10);
  const room = MAX_COMPUTE_NAME - 'AzureBackup_'.length - 1 - number.length;
  return `AzureBackup_${vmName.slice(0, room)}_${number}`;
}

/** What every restore point opened for this item's recovery point starts with. */
export function restorePointTag(itemId: string, recoveryPointId: string): string {
  return `${recoveryPointId}_${fnv1a64(itemId).toString(16).padStart(16, '0')}`;
}

/** The restore point of one attempt at opening views (`attempt`: a few random hex digits). */
export function restorePointName(itemId: string, recoveryPointId: string, attempt: string): string {
  const name = `${restorePointTag(itemId, recoveryPointId)}_${attempt}`;
  if (name.length > MAX_COMPUTE_NAME || !/^\w[\w.-]*\w$/.test(name)) throw errors.invalidRequest('recoveryPointId', `'${recoveryPointId.slice(0, 40)}' cannot name a restore point.`);
  return name;
}

/** FNV-1a, 64 bits. */
function fnv1a64(text: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash;
}
