/**
 * The recovery-point catalog contract, on Azure Tables (Azurite) and in memory.
 */
import { TableRecoveryPointCatalog } from '../../lib/stores/azure/table-recovery-point-catalog';
import { MemoryRecoveryPointCatalog } from '../../lib/stores/memory/recovery-point-catalog';
import { latestRecoveryPoint, type RecoveryPointCatalog, type RecoveryPointRecord } from '../../lib/stores/recovery-point-catalog';
import { uniqueTableName, useAzurite } from '../support/azurite';

const azurite = useAzurite();

const record = (itemId: string, recoveryPointId: string): RecoveryPointRecord => ({
  itemId,
  recoveryPointId,
  createdAt: '2026-01-01T00:00:00.000Z',
  consistency: 'CrashConsistent',
  vaultContainer: 'vault',
  manifestBlobName: `items/${itemId}/recoveryPoints/${recoveryPointId}/manifest.json`,
  diskCount: 1,
  state: 'Committed',
});

describe.each([
  { name: 'Azure Tables', create: (): RecoveryPointCatalog => TableRecoveryPointCatalog.fromConnectionString(azurite().connectionString, uniqueTableName('rp'), { retryOptions: { maxRetries: 0 } }) },
  { name: 'memory', create: (): RecoveryPointCatalog => new MemoryRecoveryPointCatalog() },
])('RecoveryPointCatalog on $name', ({ create }) => {
  it('inserts once, updates under an ETag, lists in numeric order, deletes idempotently', async () => {
    const catalog = create();
    expect(await catalog.get('vm-1', '10')).toBeUndefined();
    expect(await latestRecoveryPoint(catalog, 'vm-1')).toBeUndefined();
    const stored = await catalog.put(record('vm-1', '10'));
    await catalog.put(record('vm-1', '9'));
    await catalog.put(record('vm-2', '1'));
    await expect(catalog.put(record('vm-1', '10'))).rejects.toMatchObject({ code: 'KluisCatalogConflict' });

    const updated = await catalog.put({ ...record('vm-1', '10'), state: 'Deleting' }, { ifMatch: stored.etag });
    expect(updated.etag).not.toBe(stored.etag);
    await expect(catalog.put({ ...record('vm-1', '10'), state: 'Other' }, { ifMatch: stored.etag })).rejects.toMatchObject({
      code: 'KluisCatalogConflict',
    });
    expect(await catalog.get('vm-1', '10')).toMatchObject({ state: 'Deleting', etag: updated.etag });

    const ids: string[] = [];
    for await (const point of catalog.list('vm-1')) ids.push(point.recoveryPointId);
    expect(ids).toEqual(['9', '10']);
    expect((await latestRecoveryPoint(catalog, 'vm-1'))?.recoveryPointId).toBe('10');

    await expect(catalog.delete('vm-1', '10', { ifMatch: stored.etag })).rejects.toMatchObject({ code: 'KluisCatalogConflict' });
    await catalog.delete('vm-1', '10', { ifMatch: updated.etag });
    await catalog.delete('vm-1', '10');
    expect(await catalog.get('vm-1', '10')).toBeUndefined();
    expect((await catalog.get('vm-2', '1'))?.manifestBlobName).toBe('items/vm-2/recoveryPoints/1/manifest.json');
  });
});
