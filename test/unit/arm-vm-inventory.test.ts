/**
 * ArmVmInventory against recorded Azure Resource Manager responses (test/fixtures/arm-compute),
 * served through the SDK's own pipeline by an in-process HttpClient: no network.
 */
import { ArmVmInventory } from '../../lib/stores/azure/arm-vm-inventory';
import { listAll } from '../../lib/stores/vm-inventory';
import { vmResourceId, type VirtualMachine } from '../../lib/domain/virtual-machine';
import { fakeCredential, FAKE_TOKEN, RecordedArm, type Recording } from '../support/recorded-arm';

const SUB = 'c3d3a9f1-6d64-4c8e-9d0a-1f2b3c4d5e6f';
const OTHER_SUB = 'ffffffff-0000-4000-8000-000000000000';
const GIB = 1024 ** 3;
const KV = `/subscriptions/${SUB}/resourceGroups/rg-security/providers/Microsoft.KeyVault/vaults/kv-prod-weu`;
const vmPath = (rg: string, name: string, sub = SUB) => `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${name}`;

const recordings: Recording[] = [
  { method: 'GET', path: vmPath('rg-prod', 'web01'), query: { $expand: 'instanceView' }, status: 200, fixture: 'vm-get-web01-instanceview.json' },
  { method: 'GET', path: vmPath('rg-prod', 'app02'), query: { $expand: 'instanceView' }, status: 200, fixture: 'vm-get-app02-managed-instanceview.json' },
  { method: 'GET', path: vmPath('rg-prod', 'web99'), status: 404, fixture: 'error-resource-not-found.json' },
  { method: 'GET', path: `/subscriptions/${SUB}/providers/Microsoft.Compute/virtualMachines`, query: { $skiptoken: 'Mzl8YmF0Y2gwMw==' }, status: 200, fixture: 'vm-list-all-page2.json' },
  { method: 'GET', path: `/subscriptions/${SUB}/providers/Microsoft.Compute/virtualMachines`, status: 200, fixture: 'vm-list-all-page1.json' },
  { method: 'GET', path: `/subscriptions/${SUB}/providers/Microsoft.Compute/locations/northeurope/virtualMachines`, status: 200, fixture: 'vm-list-by-location-northeurope.json' },
  { method: 'GET', path: `${vmPath('rg-prod', 'web01')}/instanceView`, status: 200, fixture: 'vm-instance-view-web01.json' },
  { method: 'GET', path: `${vmPath('rg-prod', 'app02')}/instanceView`, status: 200, fixture: 'vm-instance-view-app02.json' },
  { method: 'GET', path: `${vmPath('rg-data', 'db01')}/instanceView`, status: 200, fixture: 'vm-instance-view-db01.json' },
  { method: 'GET', path: `${vmPath('rg-batch', 'batch03')}/instanceView`, status: 200, fixture: 'vm-instance-view-batch03.json' },
  { method: 'GET', path: `/subscriptions/${OTHER_SUB}/providers/Microsoft.Compute/virtualMachines`, status: 403, fixture: 'error-authorization-failed.json' },
];

function inventory(options: ConstructorParameters<typeof ArmVmInventory>[1] = {}) {
  const arm = new RecordedArm(recordings);
  const store = new ArmVmInventory(fakeCredential, { ...options, clientOptions: { httpClient: arm, retryOptions: { maxRetries: 0 } } });
  return { arm, store };
}

const web01: VirtualMachine & { etag: string } = {
  id: vmResourceId(SUB, 'rg-prod', 'web01'),
  subscriptionId: SUB,
  resourceGroup: 'rg-prod',
  name: 'web01',
  location: 'westeurope',
  vmSize: 'Standard_D2s_v3',
  osType: 'Windows',
  powerState: 'running',
  provisioningState: 'Succeeded',
  agent: { status: 'Ready', version: '2.7.41491.1102' },
  disks: [
    { kind: 'os', name: 'web01-osdisk', vhdUri: 'https://kluisprodweu.blob.core.windows.net/vhds/web01-osdisk.vhd', storageType: 'Standard', sizeBytes: 127 * GIB },
    { kind: 'data', lun: 0, name: 'web01-datadisk-0', vhdUri: 'https://kluisprodweu.blob.core.windows.net/vhds/web01-datadisk-0.vhd', storageType: 'Standard', sizeBytes: 128 * GIB },
    { kind: 'data', lun: 1, name: 'web01-datadisk-1', vhdUri: 'https://kluispremweu.blob.core.windows.net/vhds/web01-datadisk-1.vhd', storageType: 'Standard', sizeBytes: 256 * GIB },
  ],
  tags: { env: 'prod', owner: 'web-team' },
  createdAt: '2025-11-03T09:14:52.123Z',
  etag: '"7"',
};

describe('ArmVmInventory (recorded ARM responses)', () => {
  it('gets a VM with its instance view in one call and maps disks, power state, agent and tags', async () => {
    const { arm, store } = inventory();
    expect(await store.get({ subscriptionId: SUB, resourceGroup: 'rg-prod', name: 'web01' })).toEqual(web01);
    expect(arm.requests).toHaveLength(1);
    const [request] = arm.requests;
    expect(request.url.origin).toBe('https://management.azure.com');
    expect(request.url.searchParams.get('api-version')).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(request.authorization).toBe(`Bearer ${FAKE_TOKEN}`);
  });

  it('gets by resource id and tells Premium disks by their storage account', async () => {
    const { store } = inventory({ storageTypeOf: (uri) => (new URL(uri).hostname.startsWith('kluisprem') ? 'Premium' : 'Standard') });
    const vm = await store.getById(web01.id);
    expect(vm?.disks.map((d) => d.storageType)).toEqual(['Standard', 'Standard', 'Premium']);
    await expect(store.getById('/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a')).rejects.toMatchObject({
      code: 'KluisInvalidRequest',
    });
  });

  it('answers undefined for a VM ARM does not know (404 ResourceNotFound)', async () => {
    const { store } = inventory();
    expect(await store.get({ subscriptionId: SUB, resourceGroup: 'rg-prod', name: 'web99' })).toBeUndefined();
  });

  it('maps a VM with managed disks: the disk id and SKU, no VHD URI', async () => {
    const { store } = inventory({ storageTypeOf: () => 'Standard' });
    const app02 = await store.get({ subscriptionId: SUB, resourceGroup: 'rg-prod', name: 'app02' });
    const diskId = `/subscriptions/${SUB}/resourceGroups/rg-prod/providers/Microsoft.Compute/disks/app02_OsDisk_1_5e1f0c2b7a9d4c3e8f6a1b2c3d4e5f60`;
    expect(app02).toMatchObject({ name: 'app02', osType: 'Linux', powerState: 'running', agent: { status: 'Ready', version: '2.11.1.12' } });
    expect(app02?.disks).toEqual([
      {
        kind: 'os',
        name: 'app02_OsDisk_1_5e1f0c2b7a9d4c3e8f6a1b2c3d4e5f60',
        managedDisk: { id: diskId, storageAccountType: 'Premium_LRS' },
        storageType: 'Premium',
        sizeBytes: 30 * GIB,
      },
    ]);
  });

  it('lists every page of the subscription and reads each instance view, managed-disk VMs included', async () => {
    const { arm, store } = inventory();
    const vms = await listAll(store, SUB);
    expect(vms.map((vm) => vm.name)).toEqual(['web01', 'app02', 'db01', 'batch03']);
    expect(vms[0]).toEqual(web01);

    const db01 = vms[2];
    expect(db01).toMatchObject({
      location: 'northeurope',
      osType: 'Linux',
      powerState: 'deallocated',
      provisioningState: 'Succeeded',
      agent: { status: 'Unavailable' },
      encryption: {
        enabled: true,
        bek: { secretUrl: 'https://kv-prod-weu.vault.azure.net/secrets/db01-bek/4f0b3c1d2e5a4b6c8d7e9f0a1b2c3d4e', vaultId: KV },
        kek: { keyUrl: 'https://kv-prod-weu.vault.azure.net/keys/kek-prod/9a8b7c6d5e4f40312a1b0c9d8e7f6a5b', vaultId: KV },
      },
    });
    expect(db01.tags).toBeUndefined();
    expect(db01.disks).toEqual([expect.objectContaining({ kind: 'os', sizeBytes: 30 * GIB })]);

    // Running, failed provisioning, agent Not Ready with an unknown version, ADE (BEK only) seen in the disk instance view.
    expect(vms[3]).toMatchObject({
      resourceGroup: 'rg-batch',
      powerState: 'running',
      provisioningState: 'Failed',
      agent: { status: 'NotReady' },
      encryption: { enabled: true, bek: { vaultId: KV } },
      disks: [expect.objectContaining({ kind: 'os' }), expect.objectContaining({ kind: 'data', lun: 4, name: 'batch03-scratch', sizeBytes: 512 * GIB })],
    });
    expect(vms[3].agent.version).toBeUndefined();
    expect(vms[3].encryption?.kek).toBeUndefined();

    const paths = arm.requests.map((r) => `${r.url.pathname}${r.url.searchParams.has('$skiptoken') ? ' (page 2)' : ''}`);
    expect(paths).toEqual([
      `/subscriptions/${SUB}/providers/Microsoft.Compute/virtualMachines`,
      `${vmPath('rg-prod', 'web01')}/instanceView`,
      `${vmPath('rg-prod', 'app02')}/instanceView`,
      `${vmPath('rg-data', 'db01')}/instanceView`,
      `/subscriptions/${SUB}/providers/Microsoft.Compute/virtualMachines (page 2)`,
      `${vmPath('rg-batch', 'batch03')}/instanceView`,
    ]);
  });

  it('lists one region through the by-location endpoint, normalizing the region name', async () => {
    const { arm, store } = inventory();
    const vms = await listAll(store, SUB, { location: 'North Europe' });
    expect(vms.map((vm) => vm.name)).toEqual(['db01']);
    expect(arm.requests[0].url.pathname).toBe(`/subscriptions/${SUB}/providers/Microsoft.Compute/locations/northeurope/virtualMachines`);
  });

  it('lets ARM errors other than 404 through (here 403 AuthorizationFailed)', async () => {
    const { store } = inventory();
    await expect(listAll(store, OTHER_SUB)).rejects.toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
  });

  it('is read-only: create, update and delete say so', async () => {
    const { arm, store } = inventory();
    await expect(store.create(web01)).rejects.toMatchObject({ code: 'KluisInventoryReadOnly', status: 405 });
    await expect(store.update(web01, { ifMatch: '"7"' })).rejects.toMatchObject({ code: 'KluisInventoryReadOnly' });
    await expect(store.delete(web01)).rejects.toMatchObject({ code: 'KluisInventoryReadOnly' });
    expect(arm.requests).toHaveLength(0);
  });
});
