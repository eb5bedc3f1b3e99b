import { backupSizeOf, vaultUsages } from '../../lib/domain/arm/vault-usage-resource';

const backup = (itemName: string, point: string, bytes: number, status = 'Completed') => ({
  operation: 'Backup' as const,
  status: status as 'Completed',
  itemName,
  propertyBag: { 'Recovery point': point, 'Backup Size': `${bytes} bytes` },
});

describe("the vault's usages", () => {
  it('counts items that are not soft-deleted, and the bytes of each tier from the backups of the points that still have it', () => {
    const usages = vaultUsages({
      storageModelType: 'LocallyRedundant',
      items: [{}, {}, { softDelete: { deletedAt: 'x', purgeAt: 'y' } }],
      jobs: [
        backup('VM;iaasvmcontainerv2;rg;web1', '1', 1000),
        backup('VM;iaasvmcontainerv2;rg;web1', '2', 100),
        backup('VM;iaasvmcontainerv2;rg;web1', '3', 10),
        backup('VM;iaasvmcontainerv2;rg;db1', '4', 5000, 'Failed'),
        { operation: 'Restore', status: 'Completed', itemName: 'VM;iaasvmcontainerv2;rg;web1', propertyBag: { 'Recovery point': '1', 'Backup Size': '77 bytes' } },
      ],
      points: [
        { itemKey: 'vm;iaasvmcontainerv2;rg;web1', recoveryPointId: '1', hasVaultTier: true, hasSnapshotTier: false },
        { itemKey: 'vm;iaasvmcontainerv2;rg;web1', recoveryPointId: '2', hasVaultTier: true, hasSnapshotTier: true },
        { itemKey: 'vm;iaasvmcontainerv2;rg;web1', recoveryPointId: '3', hasVaultTier: true, hasSnapshotTier: true },
        { itemKey: 'vm;iaasvmcontainerv2;rg;db1', recoveryPointId: '4', hasVaultTier: true, hasSnapshotTier: true },
      ],
    });
    expect(usages).toEqual([
      { unit: 'Count', currentValue: 2, name: { value: 'ProtectedItemCount', localizedValue: 'Protected Items' } },
      { unit: 'Bytes', currentValue: 1110, name: { value: 'LRSStorageUsage', localizedValue: 'Backup storage (locally redundant)' } },
      { unit: 'Bytes', currentValue: 110, name: { value: 'SnapshotStorageUsage', localizedValue: 'Instant restore snapshots' } },
    ]);
  });

  it('names the vault tier by the redundancy', () => {
    const names = (['GeoRedundant', 'ZoneRedundant'] as const).map((storageModelType) => vaultUsages({ storageModelType, items: [], jobs: [], points: [] })[1].name.value);
    expect(names).toEqual(['GRSStorageUsage', 'ZRSStorageUsage']);
  });

  it('reads the job’s backup size', () => {
    expect(backupSizeOf({ propertyBag: { 'Backup Size': '4194304 bytes' } })).toBe(4194304);
    expect(backupSizeOf({ propertyBag: { 'Backup Size': '4 MiB' } })).toBeUndefined();
    expect(backupSizeOf({ propertyBag: {} })).toBeUndefined();
  });
});
