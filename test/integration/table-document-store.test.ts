/**
 * The DocumentStore contract on Azure Tables (Azurite) and in memory: insert conflicts, replace
 * and delete under ETags, lists by partition and row prefix; then the vault service on a whole
 * Table-backed catalog.
 */
import { TableDocumentStore } from '../../lib/stores/azure/table-document-store';
import { collect, updateDocument, type DocumentStore } from '../../lib/stores/document-store';
import { MemoryDocumentStore } from '../../lib/stores/memory/document-store';
import { tableVaultCatalog } from '../../lib/stores/vault-catalog';
import { createOrUpdatePolicy, listPolicies } from '../../lib/services/policies';
import { createOrUpdateVault, deleteVault, listVaults } from '../../lib/services/vaults';
import { uniqueTableName, useAzurite } from '../support/azurite';
import { catalogSnapshot, itemRecord, putItem, rejection, SUBSCRIPTION, vaultRef } from '../support/vault-fixtures';

const azurite = useAzurite();

interface Doc {
  name: string;
  size: number;
  tags?: string[];
}

describe.each([
  {
    name: 'Azure Tables',
    create: (): DocumentStore<Doc> =>
      TableDocumentStore.fromConnectionString<Doc>(azurite().connectionString, uniqueTableName('docs'), 'Doc', { retryOptions: { maxRetries: 0 } }),
  },
  { name: 'memory', create: (): DocumentStore<Doc> => new MemoryDocumentStore<Doc>('Doc') },
])('DocumentStore on $name', ({ create }) => {
  it('inserts once: a second insert of the row is a KluisCatalogConflict and changes nothing', async () => {
    const store = create();
    expect(await store.get('p', 'a')).toBeUndefined();
    const first = await store.insert('p', 'a', { name: 'first', size: 1, tags: ['x'] });
    expect(first.etag).not.toBe('');
    await expect(store.insert('p', 'a', { name: 'second', size: 2 })).rejects.toMatchObject({ code: 'KluisCatalogConflict', status: 409 });
    expect(await store.get('p', 'a')).toEqual({ partition: 'p', row: 'a', etag: first.etag, value: { name: 'first', size: 1, tags: ['x'] } });
  });

  it('replaces only under the current ETag, and never a row that is gone', async () => {
    const store = create();
    const first = await store.insert('p', 'a', { name: 'v1', size: 1 });
    const second = await store.replace('p', 'a', { name: 'v2', size: 2 }, first.etag);
    expect(second.etag).not.toBe(first.etag);
    await expect(store.replace('p', 'a', { name: 'stale', size: 3 }, first.etag)).rejects.toMatchObject({ code: 'KluisCatalogConflict' });
    expect((await store.get('p', 'a'))?.value).toEqual({ name: 'v2', size: 2 });
    await expect(store.replace('p', 'missing', { name: 'x', size: 0 }, second.etag)).rejects.toMatchObject({ code: 'KluisCatalogConflict' });
    expect(await store.get('p', 'missing')).toBeUndefined();
  });

  it('deletes under an ETag if given, and succeeds when the row is already gone', async () => {
    const store = create();
    const first = await store.insert('p', 'a', { name: 'v1', size: 1 });
    const second = await store.replace('p', 'a', { name: 'v2', size: 2 }, first.etag);
    await expect(store.delete('p', 'a', { ifMatch: first.etag })).rejects.toMatchObject({ code: 'KluisCatalogConflict' });
    expect(await store.get('p', 'a')).toBeDefined();
    await store.delete('p', 'a', { ifMatch: second.etag });
    expect(await store.get('p', 'a')).toBeUndefined();
    await store.delete('p', 'a');
    await store.delete('p', 'a', { ifMatch: second.etag });
    await store.insert('p', 'b', { name: 'b', size: 1 });
    await store.delete('p', 'b');
    expect(await store.get('p', 'b')).toBeUndefined();
  });

  it('lists one partition in row order, optionally by row prefix, and every partition with listAll', async () => {
    const store = create();
    for (const [partition, row] of [
      ['sub1', 'rg~v2'],
      ['sub1', 'rg~v1'],
      ['sub1', 'rg2~v1'],
      ['sub1', 'rf~v9'],
      ['sub2', 'rg~v1'],
    ]) {
      await store.insert(partition, row, { name: `${partition}/${row}`, size: 0 });
    }
    const rows = async (partition: string, rowPrefix?: string) => (await collect(store.list(partition, { rowPrefix }))).map((d) => d.row);
    expect(await rows('sub1')).toEqual(['rf~v9', 'rg2~v1', 'rg~v1', 'rg~v2']);
    expect(await rows('sub1', 'rg~')).toEqual(['rg~v1', 'rg~v2']);
    expect(await rows('sub1', 'rg')).toEqual(['rg2~v1', 'rg~v1', 'rg~v2']);
    expect(await rows('sub1', 'zz')).toEqual([]);
    expect(await rows('sub3')).toEqual([]);
    expect((await collect(store.listAll())).map((d) => `${d.partition}/${d.row}`).sort()).toEqual([
      'sub1/rf~v9',
      'sub1/rg2~v1',
      'sub1/rg~v1',
      'sub1/rg~v2',
      'sub2/rg~v1',
    ]);
  });

  it('updateDocument retries a change that lost a race', async () => {
    const store = create();
    await store.insert('p', 'counter', { name: 'counter', size: 0 });
    await Promise.all(Array.from({ length: 4 }, () => updateDocument(store, 'p', 'counter', (doc) => ({ ...doc, size: doc.size + 1 }), { attempts: 10 })));
    expect((await store.get('p', 'counter'))?.value.size).toBe(4);
    expect(await updateDocument(store, 'p', 'absent', (doc) => doc)).toBeUndefined();
  });
});

describe('vault service on a Table catalog', () => {
  it('creates vaults with DefaultPolicy, refuses a delete while items exist without changing anything, then deletes', async () => {
    const catalog = tableVaultCatalog(azurite().connectionString, { prefix: uniqueTableName('k'), recoveryPoints: uniqueTableName('rp') });
    const deps = { catalog, clock: () => new Date('2026-03-01T00:00:00Z') };
    const ref = vaultRef('table-vault');
    expect((await createOrUpdateVault(deps, ref, { location: 'westeurope' })).created).toBe(true);
    expect((await createOrUpdateVault(deps, vaultRef('other', 'rg-other'), { location: 'westeurope' })).created).toBe(true);
    expect((await listVaults(deps, SUBSCRIPTION, 'rg-backup')).map((v) => v.value.name)).toEqual(['table-vault']);
    await createOrUpdatePolicy(deps, ref, 'Weekly', {
      backupManagementType: 'AzureIaasVM',
      schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Weekly', scheduleRunDays: ['Sunday'], scheduleRunTimes: ['2026-01-01T03:00:00Z'] },
      retentionPolicy: {
        retentionPolicyType: 'LongTermRetentionPolicy',
        weeklySchedule: { daysOfTheWeek: ['Sunday'], retentionDuration: { count: 12, durationType: 'Weeks' } },
      },
    });
    expect((await listPolicies(deps, ref)).map((p) => p.policy.value.name)).toEqual(['DefaultPolicy', 'Weekly']);

    await putItem(catalog, ref, itemRecord(ref, 'vm1', 'softDeleted'));
    const before = await catalogSnapshot(catalog);
    expect(await rejection(deleteVault(deps, ref))).toMatchObject({ code: 'ServiceResourceNotEmpty' });
    expect(await catalogSnapshot(catalog)).toEqual(before);

    for (const item of await collect(catalog.items.listAll())) await catalog.items.delete(item.partition, item.row);
    expect(await deleteVault(deps, ref)).toEqual({ deleted: true });
    expect((await listVaults(deps, SUBSCRIPTION)).map((v) => v.value.name)).toEqual(['other']);
    expect((await collect(catalog.policies.listAll())).map((p) => p.value.vaultId)).toEqual([expect.stringMatching(/\/vaults\/other$/)]);
  });
});
