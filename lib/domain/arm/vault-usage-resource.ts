/**
 * The vault's usages as Azure Resource Manager lists them (`GET {vault}/usages`, Usages_ListByVaults
 * of Microsoft.RecoveryServices): `ProtectedItemCount`, and the backup storage of the vault tier
 * under its redundancy's name (`GRSStorageUsage`, `LRSStorageUsage` or `ZRSStorageUsage`, bytes),
 * as scripts and the portal read them. Kluis adds `SnapshotStorageUsage`: the instant-restore
 * snapshots it keeps in the source storage account (Azure bills those to the VM's subscription and
 * lists them nowhere in the vault).
 *
 * What the bytes count: the data each backup wrote (its job's "Backup Size": a full backup's
 * allocated data, an incremental one's changes) for every recovery point whose tier still exists —
 * what the tier holds, as long as the first full backup of an item is still among them. Pure.
 */
import type { JobRecord, ProtectedItemRecord, StorageModelType } from '../catalog';

export interface VaultUsage {
  unit: 'Count' | 'Bytes';
  currentValue: number;
  name: { value: string; localizedValue: string };
}

export const REDUNDANCY_USAGE_NAMES: Record<StorageModelType, { value: string; localizedValue: string }> = {
  GeoRedundant: { value: 'GRSStorageUsage', localizedValue: 'Backup storage (geo-redundant)' },
  LocallyRedundant: { value: 'LRSStorageUsage', localizedValue: 'Backup storage (locally redundant)' },
  ZoneRedundant: { value: 'ZRSStorageUsage', localizedValue: 'Backup storage (zone-redundant)' },
};

export const SNAPSHOT_USAGE_NAME = { value: 'SnapshotStorageUsage', localizedValue: 'Instant restore snapshots' };
export const PROTECTED_ITEM_COUNT_NAME = { value: 'ProtectedItemCount', localizedValue: 'Protected Items' };

/** A recovery point that still exists, with which of its tiers do. */
export interface LivePoint {
  /** The item's row name (the job's `itemName`), lower case. */
  itemKey: string;
  recoveryPointId: string;
  hasVaultTier: boolean;
  hasSnapshotTier: boolean;
}

/** `"123 bytes"` → 123 (backup-requests.ts writes it so); undefined otherwise. */
export function backupSizeOf(job: Pick<JobRecord, 'propertyBag'>): number | undefined {
  const match = /^(\d+) bytes$/.exec(job.propertyBag['Backup Size'] ?? '');
  return match === null ? undefined : Number(match[1]);
}

export function vaultUsages(input: {
  storageModelType: StorageModelType;
  items: readonly Pick<ProtectedItemRecord, 'softDelete'>[];
  jobs: readonly Pick<JobRecord, 'operation' | 'status' | 'itemName' | 'propertyBag'>[];
  points: readonly LivePoint[];
}): VaultUsage[] {
  const bytesOfPoint = new Map<string, number>();
  for (const job of input.jobs) {
    if (job.operation !== 'Backup' || (job.status !== 'Completed' && job.status !== 'CompletedWithWarnings')) continue;
    const point = job.propertyBag['Recovery point'];
    const bytes = backupSizeOf(job);
    if (point === undefined || bytes === undefined || job.itemName === undefined) continue;
    bytesOfPoint.set(`${job.itemName.toLowerCase()}/${point}`, bytes);
  }
  let vaultBytes = 0;
  let snapshotBytes = 0;
  for (const point of input.points) {
    const bytes = bytesOfPoint.get(`${point.itemKey}/${point.recoveryPointId}`) ?? 0;
    if (point.hasVaultTier) vaultBytes += bytes;
    if (point.hasSnapshotTier) snapshotBytes += bytes;
  }
  return [
    { unit: 'Count', currentValue: input.items.filter((item) => item.softDelete === undefined).length, name: PROTECTED_ITEM_COUNT_NAME },
    { unit: 'Bytes', currentValue: vaultBytes, name: REDUNDANCY_USAGE_NAMES[input.storageModelType] },
    { unit: 'Bytes', currentValue: snapshotBytes, name: SNAPSHOT_USAGE_NAME },
  ];
}
