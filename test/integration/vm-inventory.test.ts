/**
 * The VM inventory contract on Azure Tables (Azurite) and in memory: insert-only create, ETag updates,
 * case-insensitive keys, filtered lists, idempotent delete.
 */
import { TableVmInventory } from '../../lib/stores/azure/table-vm-inventory';
import { MemoryVmInventory } from '../../lib/stores/memory/vm-inventory';
import { listAll, type VmInventory } from '../../lib/stores/vm-inventory';
import { vmResourceId, type VirtualMachine } from '../../lib/domain/virtual-machine';
import { tableClient, uniqueTableName, useAzurite } from '../support/azurite';

const azurite = useAzurite();
const SUB = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const OTHER_SUB = 'aaaaaaaa-bbbb-4ccc-8ddd-ffffffffffff';

function vm(name: string, over: Partial<VirtualMachine> = {}): VirtualMachine {
  const resourceGroup = over.resourceGroup ?? 'rg-One';
  const subscriptionId = over.subscriptionId ?? SUB;
  return {
    id: vmResourceId(subscriptionId, resourceGroup, name),
    subscriptionId,
    resourceGroup,
    name,
    location: 'westeurope',
    vmSize: 'Standard_D2s_v3',
    osType: 'Linux',
    powerState: 'running',
    provisioningState: 'Succeeded',
    agent: { status: 'Ready', version: '2.7.41491.1102', preScript: '/pre.sh', postScript: '/post.sh' },
    disks: [
      { kind: 'os', name: `${name}-osdisk`, vhdUri: `http://127.0.0.1:10000/devstoreaccount1/vhds/${name}-osdisk.vhd`, storageType: 'Premium', sizeBytes: 4194304 },
      { kind: 'data', lun: 0, name: `${name}-datadisk-0`, vhdUri: `http://127.0.0.1:10000/devstoreaccount1/vhds/${name}-datadisk-0.vhd`, storageType: 'Standard', sizeBytes: 2097152 },
    ],
    encryption: { enabled: true, bek: { secretUrl: 'https://kv.vault.azure.net/secrets/bek/1', vaultId: '/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv' } },
    tags: { env: 'test' },
    createdAt: '2026-01-02T03:04:05.000Z',
    ...over,
  };
}

describe.each([
  {
    name: 'Azure Tables',
    create: (): VmInventory => TableVmInventory.fromConnectionString(azurite().connectionString, uniqueTableName('vms'), { retryOptions: { maxRetries: 0 } }),
  },
  { name: 'memory', create: (): VmInventory => new MemoryVmInventory() },
])('VmInventory on $name', ({ create }) => {
  it('inserts once, finds the VM under any casing, and by resource id', async () => {
    const inventory = create();
    const record = vm('Web01');
    expect(await inventory.get({ subscriptionId: SUB, resourceGroup: 'rg-one', name: 'web01' })).toBeUndefined();
    const stored = await inventory.create(record);
    expect(stored).toEqual({ ...record, etag: expect.any(String) });
    expect(stored.etag).not.toBe('');
    expect(await inventory.get({ subscriptionId: SUB.toUpperCase(), resourceGroup: 'RG-ONE', name: 'WEB01' })).toEqual(stored);
    expect(await inventory.getById(vmResourceId(SUB, 'rg-one', 'web01'))).toEqual(stored);
    await expect(inventory.getById('/subscriptions/x/resourceGroups/rg')).rejects.toMatchObject({ code: 'KluisInvalidRequest' });
    await expect(inventory.create({ ...vm('WEB01'), vmSize: 'other' })).rejects.toMatchObject({ code: 'KluisVmAlreadyExists', status: 409 });
    expect((await inventory.get(record))?.vmSize).toBe('Standard_D2s_v3');
  });

  it('updates under an ETag and refuses a stale one', async () => {
    const inventory = create();
    const first = await inventory.create(vm('db01'));
    const stopped = await inventory.update({ ...first, powerState: 'stopped' }, { ifMatch: first.etag });
    expect(stopped.etag).not.toBe(first.etag);
    await expect(inventory.update({ ...first, agent: { status: 'Unavailable' } }, { ifMatch: first.etag })).rejects.toMatchObject({
      code: 'KluisCatalogConflict',
    });
    const current = await inventory.get(first);
    expect(current).toMatchObject({ powerState: 'stopped', agent: { status: 'Ready' }, etag: stopped.etag });
    await expect(inventory.update(vm('nobody'), { ifMatch: stopped.etag })).rejects.toMatchObject({ code: 'UserErrorVmNotFoundV2' });
  });

  it('lists one subscription, optionally one region', async () => {
    const inventory = create();
    await inventory.create(vm('a1'));
    await inventory.create(vm('a2', { resourceGroup: 'rg-two', location: 'northeurope' }));
    await inventory.create(vm('b1', { subscriptionId: OTHER_SUB }));
    const names = async (subscriptionId: string, location?: string) =>
      (await listAll(inventory, subscriptionId, location === undefined ? undefined : { location })).map((v) => v.name).sort();
    expect(await names(SUB)).toEqual(['a1', 'a2']);
    expect(await names(SUB.toUpperCase())).toEqual(['a1', 'a2']);
    expect(await names(SUB, 'North Europe')).toEqual(['a2']);
    expect(await names(SUB, "west'europe")).toEqual([]);
    expect(await names(OTHER_SUB)).toEqual(['b1']);
  });

  it('deletes idempotently, and only under a matching ETag when one is given', async () => {
    const inventory = create();
    const stored = await inventory.create(vm('gone'));
    const changed = await inventory.update({ ...stored, powerState: 'deallocated' }, { ifMatch: stored.etag });
    await expect(inventory.delete(stored, { ifMatch: stored.etag })).rejects.toMatchObject({ code: 'KluisCatalogConflict' });
    await inventory.delete({ subscriptionId: SUB, resourceGroup: 'RG-ONE', name: 'GONE' }, { ifMatch: changed.etag });
    await inventory.delete(stored);
    expect(await inventory.get(stored)).toBeUndefined();
  });
});

describe('TableVmInventory rows', () => {
  it('keys rows by lower-cased subscription and resource group~name, and refuses a damaged record', async () => {
    const table = uniqueTableName('vmrows');
    const inventory = TableVmInventory.fromConnectionString(azurite().connectionString, table, { retryOptions: { maxRetries: 0 } });
    await inventory.create(vm('MixedCase', { resourceGroup: 'RG-Mixed' }));
    const client = tableClient(azurite().connectionString, table);
    const entity = await client.getEntity<{ vm: string; location: string }>(SUB, 'rg-mixed~mixedcase');
    expect(JSON.parse(entity.vm)).toMatchObject({ name: 'MixedCase', resourceGroup: 'RG-Mixed' });
    expect(entity.location).toBe('westeurope');

    await client.upsertEntity({ partitionKey: SUB, rowKey: 'rg-mixed~broken', vm: JSON.stringify({ name: 'broken' }), location: 'westeurope' });
    await expect(inventory.get({ subscriptionId: SUB, resourceGroup: 'rg-mixed', name: 'broken' })).rejects.toMatchObject({
      code: 'KluisInventoryRecordInvalid',
    });
    await client.upsertEntity({ partitionKey: SUB, rowKey: 'rg-mixed~notjson', vm: '{', location: 'westeurope' });
    await expect(inventory.get({ subscriptionId: SUB, resourceGroup: 'rg-mixed', name: 'notjson' })).rejects.toMatchObject({
      code: 'KluisInventoryRecordInvalid',
      message: expect.stringContaining('not JSON'),
    });
  });
});
