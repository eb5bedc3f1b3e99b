/**
 * What the fabric stores about each Compute resource (resource-store.ts keeps them as JSON), and the
 * rules that derive what ARM shows from it: a disk's `diskState` follows from its grant, its pending
 * upload and the power state of the VM it is attached to.
 */
import { MANAGED_DISK_SKUS, type ManagedDiskSku, type PowerState } from '../../../lib/domain/virtual-machine';
import type { BlobLocation } from './disk-blobs';

export const DISK_SKUS = MANAGED_DISK_SKUS;
export type DiskSku = ManagedDiskSku;
export const SNAPSHOT_SKUS = ['Standard_LRS', 'Premium_LRS', 'Standard_ZRS'] as const;
export type SnapshotSku = (typeof SNAPSHOT_SKUS)[number];

export const DISK_STATES = ['Unattached', 'Attached', 'Reserved', 'ActiveSAS', 'ReadyToUpload', 'ActiveUpload'] as const;
export type DiskState = (typeof DISK_STATES)[number];

export type OsType = 'Windows' | 'Linux';
export type HyperVGeneration = 'V1' | 'V2';
export type AccessLevel = 'Read' | 'Write';

/** An outstanding SAS (beginGetAccess): the stored access policy `id` on the lineage container. */
export interface Grant {
  id: string;
  access: AccessLevel;
  /** ISO time on the fabric's clock. */
  expiresAt: string;
  container: string;
}

export interface CreationData {
  createOption: 'Empty' | 'Upload' | 'Copy' | 'Restore' | 'Import';
  sourceResourceId?: string;
  /** Import: the page blob (a fixed VHD) the disk was made from, and its storage account. */
  sourceUri?: string;
  storageAccountId?: string;
  sourceUniqueId?: string;
  uploadSizeBytes?: number;
}

interface DiskLike {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
  uniqueId: string;
  timeCreated: string;
  osType?: OsType;
  hyperVGeneration?: HyperVGeneration;
  creationData: CreationData;
  /** Capacity as a VM sees it; the backing blob is 512 bytes longer (fixed-VHD footer). */
  sizeBytes: number;
  backing: BlobLocation;
  grant?: Grant;
}

/**
 * Azure Disk Encryption on a managed disk (ARM's `encryptionSettingsCollection`, ADE 1.1 single pass): the
 * BEK secret and the KEK wrapping it, in Key Vault. Set on every disk of a VM the fabric encrypts, given
 * on a new disk's PUT (a restore keeps them), and a VM attaching an OS disk that has them is encrypted.
 */
export interface DiskEncryptionSettings {
  enabled: boolean;
  bek?: { secretUrl: string; vaultId: string };
  kek?: { keyUrl: string; vaultId: string };
}

export interface DiskRecord extends DiskLike {
  sku: DiskSku;
  encryptionSettings?: DiskEncryptionSettings;
  /** The VM the disk is attached to. */
  managedBy?: string;
  /** What happens to the disk when that VM is deleted through the fabric. */
  deleteOption?: 'Delete' | 'Detach';
  /** Created for upload and not yet finished (endGetAccess after a Write grant finishes it). */
  awaitingUpload?: boolean;
  lastOwnershipUpdateTime?: string;
}

export interface SnapshotRecord extends DiskLike {
  sku: SnapshotSku;
  incremental: boolean;
  /** Incremental snapshots of one disk share the family (the disk's lineage). */
  familyId?: string;
}

export interface CollectionRecord {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
  sourceVmId: string;
  sourceLocation: string;
  collectionId: string;
  timeCreated: string;
}

export interface DiskRestorePointRecord {
  name: string;
  kind: 'os' | 'data';
  lun?: number;
  sourceDiskId: string;
  sourceDiskName: string;
  sourceUniqueId: string;
  familyId: string;
  sku: DiskSku;
  sizeBytes: number;
  osType?: OsType;
  hyperVGeneration?: HyperVGeneration;
  /** A blob snapshot of the source disk's lineage. */
  backing: BlobLocation & { snapshot: string };
  grant?: Grant;
}

/** The VM as a restore point captured it (ARM's sourceMetadata is built from this). */
export interface SourceVmMetadata {
  vmId: string;
  vmSize: string;
  location: string;
  osType: OsType;
  encryption?: { enabled: boolean; bek?: { secretUrl: string; vaultId: string }; kek?: { keyUrl: string; vaultId: string } };
}

export type ConsistencyMode = 'CrashConsistent' | 'FileSystemConsistent' | 'ApplicationConsistent';

export interface RestorePointRecord {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  collection: string;
  name: string;
  timeCreated: string;
  consistencyMode: ConsistencyMode;
  excludeDisks: string[];
  instantAccessDurationMinutes?: number;
  source: SourceVmMetadata;
  disks: DiskRestorePointRecord[];
}

export interface OperationRecord {
  id: string;
  subscriptionId: string;
  location: string;
  family: 'disk' | 'compute';
  status: 'Succeeded' | 'Failed';
  startTime: string;
  endTime: string;
  /** The operation's result, served at its Location (e.g. `{accessSAS}`). */
  output?: unknown;
  error?: { code: string; message: string };
}

export function diskStateOf(disk: Pick<DiskRecord, 'grant' | 'awaitingUpload' | 'managedBy'>, vmPowerState: PowerState | undefined): DiskState {
  if (disk.grant !== undefined) return disk.grant.access === 'Write' ? 'ActiveUpload' : 'ActiveSAS';
  if (disk.awaitingUpload === true) return 'ReadyToUpload';
  if (disk.managedBy !== undefined) return vmPowerState === 'deallocated' ? 'Reserved' : 'Attached';
  return 'Unattached';
}

/** The earliest grant expiry of a record (what resource-store's `grantExpiresAt` holds). */
export function earliestExpiry(grants: ReadonlyArray<Grant | undefined>): string | undefined {
  const times = grants.filter((grant): grant is Grant => grant !== undefined).map((grant) => grant.expiresAt);
  return times.length === 0 ? undefined : times.sort()[0];
}

export const GIB = 1024 ** 3;
export const diskSizeGbOf = (sizeBytes: number) => Math.ceil(sizeBytes / GIB);
