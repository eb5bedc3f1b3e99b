/**
 * What the engine's managed-disk backend needs from Microsoft.Compute and from the SAS URLs it hands out:
 * managed disks and their VM, restore point collections, VM restore points and their disk restore points,
 * read access by SAS (beginGetAccess / endGetAccess), and page reads through a SAS. Implementation:
 * `azure/arm-managed-disk-compute.ts` (the unchanged @azure/arm-compute client; in Azure against ARM,
 * locally against the fabric's Compute endpoint: one path).
 *
 * Conventions: ids are ARM resource ids as Compute returns them (compare case-insensitively); `get…`
 * returns undefined for a 404 (of the resource or any parent); `delete…` succeeds when it is gone already.
 * SAS URLs are secrets: they never leave the process (no log line, no handle, no response).
 */
import type { ByteRange, PageRangesDiff } from '../engine/domain/page-ranges';
import type { AbortOptions } from './disk-store';

export interface ManagedDiskInfo {
  id: string;
  name: string;
  location: string;
  /** The disk's size (`diskSizeBytes`); what a SAS reads is this plus the 512-byte VHD footer. */
  sizeBytes: number;
  sku?: string;
  /** The VM the disk is attached to (ARM's `managedBy`). */
  managedBy?: string;
  diskState?: string;
  tags?: Record<string, string>;
}

export interface VmOfDisks {
  id: string;
  name: string;
  location: string;
  /** The VM's managed disks: the OS disk (lun undefined) and data disks (Azure LUN). */
  disks: Array<{ id: string; kind: 'os' | 'data'; lun?: number }>;
}

export interface CollectionRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export interface CreatedRestorePoint {
  /** The restore point's resource id. */
  id: string;
  name: string;
  /** One per included disk: the source disk's id and its disk restore point's id. */
  disks: Array<{ diskId: string; diskRestorePointId: string }>;
}

export interface ListedRestorePoint {
  id: string;
  name: string;
  disks: CreatedRestorePoint['disks'];
}

export type SasAccess = 'Read' | 'Write';

export interface DiskRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

/** Azure Disk Encryption settings a disk carries (ARM's `encryptionSettingsCollection`): its BEK secret and the KEK wrapping it. */
export interface ManagedDiskEncryption {
  bek: { secretUrl: string; vaultId: string };
  kek?: { keyUrl: string; vaultId: string };
}

/**
 * A new managed disk: for an upload of `uploadSizeBytes` (contents incl. the 512-byte footer), restored from
 * a disk restore point, or imported from a fixed-VHD page blob in a storage account (Compute copies it); `encryption`: the ADE settings it keeps (a restore of an encrypted VM's disk).
 */
export type NewManagedDisk = { location: string; sku?: string; tags?: Record<string, string>; encryption?: ManagedDiskEncryption } & (
  | { createOption: 'Upload'; uploadSizeBytes: number }
  | { createOption: 'Restore'; sourceResourceId: string }
  | { createOption: 'Import'; sourceUri: string; storageAccountId: string }
);

/** A new VM attaching existing managed disks (a restore's "create new VM"). */
export interface NewVmFromDisks {
  location: string;
  vmSize?: string;
  osType: 'Windows' | 'Linux';
  osDiskId: string;
  dataDisks: Array<{ lun: number; id: string }>;
  tags?: Record<string, string>;
}

export interface ManagedDiskCompute {
  getDisk(id: string, options?: AbortOptions): Promise<ManagedDiskInfo | undefined>;
  getVm(id: string, options?: AbortOptions): Promise<VmOfDisks | undefined>;
  /** Creates the resource group when it does not exist (Azure Backup's `AzureBackupRG_<region>_1`). */
  ensureResourceGroup(subscriptionId: string, name: string, location: string, options?: AbortOptions): Promise<void>;
  /** Creates the restore point collection of `sourceVmId` unless it exists. */
  ensureRestorePointCollection(ref: CollectionRef, input: { location: string; sourceVmId: string }, options?: AbortOptions): Promise<void>;
  /** A VM restore point of every managed disk of the collection's VM but `excludeDiskIds` (data disks), at one point in time. */
  createRestorePoint(collection: CollectionRef, name: string, input: { excludeDiskIds: readonly string[] }, options?: AbortOptions): Promise<CreatedRestorePoint>;
  /** The collection's restore points (none when the collection or its group does not exist). */
  listRestorePoints(collection: CollectionRef, options?: AbortOptions): Promise<ListedRestorePoint[]>;
  /** Deletes a restore point with its disk restore points; false when it was gone already. */
  deleteRestorePoint(restorePointId: string, options?: AbortOptions): Promise<boolean>;
  /** Whether the disk restore point exists. */
  diskRestorePointExists(diskRestorePointId: string, options?: AbortOptions): Promise<boolean>;
  /** beginGetAccess on a disk restore point (Read) or a disk (Read, or Write for an upload): the SAS URL. */
  grantAccess(resourceId: string, access: SasAccess, durationInSeconds: number, options?: AbortOptions): Promise<string>;
  /** endGetAccess; succeeds when there is no access to end or the resource is gone. */
  revokeAccess(resourceId: string, options?: AbortOptions): Promise<void>;
  /** Creates a managed disk; KluisRestoreTargetExists-like refusals come back as Compute's errors. */
  createDisk(ref: DiskRef, disk: NewManagedDisk, options?: AbortOptions): Promise<ManagedDiskInfo>;
  /** Deletes a managed disk; succeeds when it is gone already. */
  deleteDisk(id: string, options?: AbortOptions): Promise<void>;
  /** Creates a VM from existing managed disks; returns its id. */
  createVm(ref: DiskRef, vm: NewVmFromDisks, options?: AbortOptions): Promise<string>;
}

/** Page writes through a Write SAS (a managed disk created for upload). */
export interface SasPageWriter {
  /** Writes `data` (whole pages, at most 4 MiB) at `offset`, with its transactional MD5. */
  uploadPages(sas: string, offset: number, data: Buffer, md5: Uint8Array, options?: AbortOptions): Promise<void>;
}

/** Page-blob reads through a SAS URL (a managed disk's or a disk restore point's). */
export interface SasPageReader {
  /** Allocated ranges within `range` (absolute offsets, ascending, page-aligned). */
  allocatedRanges(sas: string, range: ByteRange, options?: AbortOptions): Promise<ByteRange[]>;
  /** Ranges written or cleared in `sas` since `previousSas` (another point of the same disk), within `range`. */
  changedRanges(sas: string, previousSas: string, range: ByteRange, options?: AbortOptions): Promise<PageRangesDiff>;
  /** Exactly `count` bytes from `offset`. */
  read(sas: string, offset: number, count: number, options?: AbortOptions): Promise<Buffer>;
}
