/**
 * The generic Azure Resource Manager the official clients call before Recovery Services — tenants,
 * subscriptions (and their aliases), resource groups, providers, Microsoft.Compute virtual machines
 * and Microsoft.Storage accounts — driven through the official SDKs (@azure/arm-resources,
 * @azure/arm-resources-subscriptions, @azure/arm-subscriptions, @azure/arm-compute, @azure/arm-storage)
 * against the embedded host running this app, plus the raw paths they build (`resourcegroups`,
 * `storageAccounts//{name}`) and the scope checks every vault route gets.
 */
import { ComputeManagementClient } from '@azure/arm-compute';
import { ResourceManagementClient } from '@azure/arm-resources';
import { SubscriptionClient as ResourcesSubscriptionClient } from '@azure/arm-resources-subscriptions';
import { StorageManagementClient } from '@azure/arm-storage';
import { SubscriptionClient as AliasClient } from '@azure/arm-subscriptions';
import { hostCredential, overHttp, sdkClientOptions } from '../support/arm-sdk-clients';
import { uniqueTableName, useAzurite } from '../support/azurite';
import { http, REPO_ROOT, startHostProcess, type HostProcess } from '../support/host-process';

const APP = process.env.KLUIS_E2E_APP ?? REPO_ROOT;
const SUB = '2d7c1b0a-9e8f-4d6c-8b5a-4f3e2d1c0b9a';
const SECOND_SUB = '2d7c1b0a-9e8f-4d6c-8b5a-00000000c0de';
const UNKNOWN_SUB = '2d7c1b0a-9e8f-4d6c-8b5a-000000000404';
const TENANT = '7e6d5c4b-3a29-4181-8f7e-6d5c4b3a2918';
const STORAGE_RG = 'rg-storage';
const MIB = 1024 * 1024;

interface ErrorEnvelope {
  error: { code: string; message: string };
}

/** The RestError an SDK call rejects with: its code and HTTP status. */
async function restError(promise: Promise<unknown>): Promise<{ code?: string; statusCode?: number; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { code?: string; statusCode?: number; message: string; name?: string };
    if (e.name !== 'RestError') throw err;
    return { code: e.code, statusCode: e.statusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}

describe('generic ARM resources through the official SDKs (embedded host)', () => {
  const azurite = useAzurite();
  let host: HostProcess;
  const api = () => `${host.origin}/api`;
  const options = () => sdkClientOptions(api());
  const credential = () => hostCredential(host);
  const resources = () => overHttp(new ResourceManagementClient(credential(), SUB, options()), credential());
  const compute = () => overHttp(new ComputeManagementClient(credential(), SUB, options()), credential());
  const storage = () => overHttp(new StorageManagementClient(credential(), SUB, options()), credential());
  const subscriptions = () => overHttp(new ResourcesSubscriptionClient(credential(), options()), credential());
  const aliases = () => overHttp(new AliasClient(credential(), options()), credential());
  const raw = <T>(path: string, method = 'GET', body?: unknown) => http<T>(`${api()}${path}`, { method, body });

  beforeAll(async () => {
    host = await startHostProcess({
      app: APP,
      storage: azurite().connectionString,
      hubName: `Arm${Date.now().toString(36)}`,
      env: {
        KLUIS_SOURCE_STORAGE: '',
        KLUIS_VAULT_STORAGE: '',
        KLUIS_RESTORE_STORAGE: '',
        KLUIS_CATALOG_TABLE: uniqueTableName('points'),
        KLUIS_CATALOG_TABLE_PREFIX: uniqueTableName('arm').slice(0, 40),
        KLUIS_INVENTORY_TABLE: uniqueTableName('vms'),
        KLUIS_SUBSCRIPTION_ID: SUB,
        KLUIS_SUBSCRIPTION_NAME: 'Kluis e2e',
        KLUIS_TENANT_ID: TENANT,
        KLUIS_STORAGE_RESOURCE_GROUP: STORAGE_RG,
        KLUIS_LOCATION: 'West Europe',
      },
      startupTimeoutInMs: 60_000,
    });
  }, 90_000);

  afterAll(async () => {
    await host?.stop();
  });

  describe('tenants and subscriptions', () => {
    it('lists the one tenant and the default subscription in it', async () => {
      const tenants = [];
      for await (const tenant of subscriptions().tenants.list()) tenants.push(tenant);
      expect(tenants).toEqual([expect.objectContaining({ id: `/tenants/${TENANT}`, tenantId: TENANT, tenantCategory: 'Home' })]);

      const subs = [];
      for await (const subscription of subscriptions().subscriptions.list()) subs.push(subscription);
      expect(subs).toEqual([
        expect.objectContaining({ id: `/subscriptions/${SUB}`, subscriptionId: SUB, tenantId: TENANT, displayName: 'Kluis e2e', state: 'Enabled', authorizationSource: 'RoleBased' }),
      ]);
      const one = await subscriptions().subscriptions.get(SUB);
      expect(one).toMatchObject({ subscriptionId: SUB, displayName: 'Kluis e2e', subscriptionPolicies: { spendingLimit: 'Off' } });
    });

    it('answers the api-version az sends at login (2019-11-01) without the fields that version lacks', async () => {
      const old = await raw<{ value: Array<Record<string, unknown>> }>('/subscriptions?api-version=2019-11-01');
      expect(old.status).toBe(200);
      expect(old.body.value[0]).toMatchObject({ subscriptionId: SUB, tenantId: TENANT, managedByTenants: [] });
      expect(old.body.value[0]).not.toHaveProperty('tags');
      const current = await raw<{ value: Array<Record<string, unknown>> }>('/subscriptions?api-version=2022-12-01');
      expect(current.body.value[0]).toHaveProperty('tags', {});
      const tenants = await raw<{ value: Array<Record<string, unknown>> }>('/tenants?api-version=2022-12-01');
      expect(tenants.body.value[0]).toMatchObject({ tenantId: TENANT, defaultDomain: 'kluis.local', tenantType: 'AAD' });
    });

    it('answers SubscriptionNotFound for an unknown subscription and InvalidSubscriptionId for a malformed one', async () => {
      expect(await restError(subscriptions().subscriptions.get(UNKNOWN_SUB))).toMatchObject({ code: 'SubscriptionNotFound', statusCode: 404 });
      const malformed = await raw<ErrorEnvelope>('/subscriptions/not-a-guid?api-version=2022-12-01');
      expect(malformed.status).toBe(400);
      expect(malformed.body.error.code).toBe('InvalidSubscriptionId');
      // Every route under an unknown subscription, vault routes included, is refused before the provider sees it.
      const vaults = await raw<ErrorEnvelope>(`/subscriptions/${UNKNOWN_SUB}/providers/Microsoft.RecoveryServices/vaults?api-version=2023-06-01`);
      expect([vaults.status, vaults.body.error.code]).toEqual([404, 'SubscriptionNotFound']);
      expect((await raw<ErrorEnvelope>(`/subscriptions/${UNKNOWN_SUB}/resourcegroups?api-version=2022-09-01`)).body.error.code).toBe('SubscriptionNotFound');
    });

    it('registers another subscription with a Microsoft.Subscription alias, idempotently', async () => {
      const created = await aliases().alias.beginCreateAndWait('second-sub', {
        properties: { displayName: 'Second', workload: 'DevTest', subscriptionId: SECOND_SUB },
      });
      expect(created).toMatchObject({ name: 'second-sub', type: 'Microsoft.Subscription/aliases', properties: { subscriptionId: SECOND_SUB, provisioningState: 'Succeeded' } });
      const again = await raw<{ properties: { subscriptionId: string } }>('/providers/Microsoft.Subscription/aliases/second-sub?api-version=2021-10-01', 'PUT', {
        properties: { displayName: 'Second', workload: 'DevTest', subscriptionId: SECOND_SUB },
      });
      expect([again.status, again.body.properties.subscriptionId]).toEqual([200, SECOND_SUB]);
      expect((await aliases().alias.get('second-sub')).properties?.subscriptionId).toBe(SECOND_SUB);
      expect((await aliases().alias.list()).value?.map((alias) => alias.name)).toEqual(['second-sub']);

      const second = await subscriptions().subscriptions.get(SECOND_SUB);
      expect(second).toMatchObject({ displayName: 'Second', tenantId: TENANT, subscriptionPolicies: { quotaId: 'MSDNDevTest_2014-09-01' } });
      const ids = [];
      for await (const subscription of subscriptions().subscriptions.list()) ids.push(subscription.subscriptionId);
      expect(ids).toEqual([SUB, SECOND_SUB]);

      const taken = await raw<ErrorEnvelope>('/providers/Microsoft.Subscription/aliases/other?api-version=2021-10-01', 'PUT', { properties: { subscriptionId: SECOND_SUB } });
      expect([taken.status, taken.body.error.code]).toEqual([400, 'KluisInvalidRequest']);
      expect(await restError(aliases().alias.get('never-made'))).toMatchObject({ code: 'ResourceNotFound', statusCode: 404 });
    });
  });

  describe('resource groups', () => {
    it('creates (201), updates (200), reads, checks, patches and lists groups', async () => {
      const first = await raw<{ location: string }>(`/subscriptions/${SUB}/resourcegroups/rg-app?api-version=2022-09-01`, 'PUT', { location: 'West Europe', tags: { env: 'test' } });
      expect([first.status, first.body.location]).toEqual([201, 'westeurope']);
      const group = await resources().resourceGroups.createOrUpdate('rg-app', { location: 'westeurope', tags: { env: 'e2e' } });
      expect(group).toEqual({
        id: `/subscriptions/${SUB}/resourceGroups/rg-app`,
        name: 'rg-app',
        type: 'Microsoft.Resources/resourceGroups',
        location: 'westeurope',
        tags: { env: 'e2e' },
        properties: { provisioningState: 'Succeeded' },
      });
      expect((await resources().resourceGroups.checkExistence('rg-app')).body).toBe(true);
      expect((await resources().resourceGroups.checkExistence('rg-none')).body).toBe(false);
      expect(await resources().resourceGroups.get('RG-APP')).toMatchObject({ name: 'rg-app', tags: { env: 'e2e' } });
      expect(await resources().resourceGroups.update('rg-app', { tags: { env: 'patched' } })).toMatchObject({ tags: { env: 'patched' }, location: 'westeurope' });

      const names = [];
      for await (const listed of resources().resourceGroups.list()) names.push(listed.name);
      // The storage group exists from the start: it holds the storage accounts Kluis is configured with.
      expect(names).toEqual(expect.arrayContaining(['rg-app', STORAGE_RG]));
    });

    it('answers both spellings of the segment, and ResourceGroupNotFound / InvalidResourceGroupLocation as ARM does', async () => {
      await resources().resourceGroups.createOrUpdate('rg-spelling', { location: 'westeurope' });
      for (const segment of ['resourceGroups', 'resourcegroups', 'ResourceGroups']) {
        expect((await raw(`/subscriptions/${SUB}/${segment}/rg-spelling?api-version=2022-09-01`)).status).toBe(200);
      }
      expect(await restError(resources().resourceGroups.get('rg-missing'))).toMatchObject({ code: 'ResourceGroupNotFound', statusCode: 404 });
      expect(await restError(resources().resourceGroups.createOrUpdate('rg-spelling', { location: 'eastus' }))).toMatchObject({
        code: 'InvalidResourceGroupLocation',
        statusCode: 409,
      });
      const bad = await raw<ErrorEnvelope>(`/subscriptions/${SUB}/resourcegroups/bad%2Fname.?api-version=2022-09-01`, 'PUT', { location: 'westeurope' });
      expect(bad.status).toBe(400);
      const noLocation = await raw<ErrorEnvelope>(`/subscriptions/${SUB}/resourcegroups/rg-nolocation?api-version=2022-09-01`, 'PUT', { tags: {} });
      expect([noLocation.status, noLocation.body.error.code]).toEqual([400, 'KluisInvalidRequest']);
      expect((await raw(`/subscriptions/${SUB}/resourcegroups/rg-nolocation?api-version=2022-09-01`)).status).toBe(404);
    });

    it('makes vaults only in groups that exist, and does not delete a group that holds one', async () => {
      const vaultPath = (rg: string) => `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.RecoveryServices/vaults/vault-arm?api-version=2023-06-01`;
      const missing = await raw<ErrorEnvelope>(vaultPath('rg-absent'), 'PUT', { location: 'westeurope', properties: {} });
      expect([missing.status, missing.body.error.code]).toEqual([404, 'ResourceGroupNotFound']);
      expect((await raw<ErrorEnvelope>(vaultPath('rg-absent'))).body.error.code).toBe('ResourceGroupNotFound');

      await resources().resourceGroups.createOrUpdate('rg-vault', { location: 'westeurope' });
      expect((await raw(vaultPath('rg-vault'), 'PUT', { location: 'westeurope', properties: {} })).status).toBe(201);
      const blocked = await restError(resources().resourceGroups.beginDeleteAndWait('rg-vault'));
      expect(blocked).toMatchObject({ code: 'ResourceGroupDeletionBlocked', statusCode: 409 });
      expect(blocked.message).toContain('/providers/Microsoft.RecoveryServices/vaults/vault-arm');

      expect((await raw(vaultPath('rg-vault'), 'DELETE')).status).toBe(200);
      await resources().resourceGroups.beginDeleteAndWait('rg-vault');
      expect((await resources().resourceGroups.checkExistence('rg-vault')).body).toBe(false);
      expect(await restError(resources().resourceGroups.beginDeleteAndWait('rg-vault'))).toMatchObject({ code: 'ResourceGroupNotFound', statusCode: 404 });
    });
  });

  describe('providers', () => {
    it('shows the providers Kluis serves as registered, with their resource types and api-versions', async () => {
      const namespaces = [];
      for await (const provider of resources().providers.list()) namespaces.push([provider.namespace, provider.registrationState]);
      expect(namespaces).toEqual(
        ['Microsoft.Compute', 'Microsoft.KeyVault', 'Microsoft.RecoveryServices', 'Microsoft.Resources', 'Microsoft.Storage', 'Microsoft.Subscription'].map((ns) => [ns, 'Registered']),
      );
      const rs = await resources().providers.get('microsoft.recoveryservices');
      expect(rs).toMatchObject({ id: `/subscriptions/${SUB}/providers/Microsoft.RecoveryServices`, namespace: 'Microsoft.RecoveryServices', registrationState: 'Registered' });
      expect(rs.resourceTypes?.find((type) => type.resourceType === 'vaults')?.apiVersions).toContain('2023-06-01');
      const computeTypes = (await resources().providers.getAtTenantScope('Microsoft.Compute')).resourceTypes ?? [];
      expect(computeTypes.find((type) => type.resourceType === 'virtualMachines')?.apiVersions).toContain('2022-11-01');
      expect((await resources().providers.register('Microsoft.Storage')).registrationState).toBe('Registered');
      expect(await restError(resources().providers.get('Microsoft.Nothing'))).toMatchObject({ code: 'InvalidResourceNamespace', statusCode: 404 });
    });
  });

  describe('virtual machines (Microsoft.Compute)', () => {
    interface FabricVm {
      id: string;
      disks: Array<{ kind: string; lun?: number; vhdUri: string }>;
    }
    let web: FabricVm;

    beforeAll(async () => {
      const created = await http<FabricVm>(`${host.origin}/fabric/subscriptions/${SUB}/resourceGroups/rg-vms/virtualMachines/web01`, {
        method: 'PUT',
        body: { osType: 'Linux', location: 'westeurope', vmSize: 'Standard_B2s', osDisk: { sizeBytes: 2 * MIB }, dataDisks: [{ lun: 3, sizeBytes: MIB }], tags: { app: 'web' }, initialData: { percent: 0 } },
      });
      expect(created.status).toBe(201);
      web = created.body;
      const stopped = await http(`${host.origin}/fabric/subscriptions/${SUB}/resourceGroups/rg-vms/virtualMachines/app01`, {
        method: 'PUT',
        body: { osType: 'Windows', powerState: 'stopped', osDisk: { sizeBytes: MIB }, initialData: { percent: 0 } },
      });
      expect(stopped.status).toBe(201);
    }, 60_000);

    it('gets a fabric VM with its unmanaged disks, as enable-for-vm reads it', async () => {
      const vm = await compute().virtualMachines.get('rg-vms', 'web01');
      const os = web.disks.find((disk) => disk.kind === 'os');
      const data = web.disks.find((disk) => disk.kind === 'data');
      expect(vm).toMatchObject({
        id: web.id,
        name: 'web01',
        type: 'Microsoft.Compute/virtualMachines',
        location: 'westeurope',
        tags: { app: 'web' },
        hardwareProfile: { vmSize: 'Standard_B2s' },
        storageProfile: {
          osDisk: { osType: 'Linux', vhd: { uri: os?.vhdUri }, createOption: 'FromImage', diskSizeGB: 1 },
          dataDisks: [{ lun: 3, vhd: { uri: data?.vhdUri }, createOption: 'Empty' }],
        },
        osProfile: { computerName: 'web01', linuxConfiguration: { provisionVMAgent: true } },
        provisioningState: 'Succeeded',
      });
      expect(vm.vmId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(vm.securityProfile).toBeUndefined();
      expect(vm.instanceView).toBeUndefined();
      // The group a fabric VM is created in exists for ARM.
      expect(await resources().resourceGroups.get('rg-vms')).toMatchObject({ name: 'rg-vms', location: 'westeurope' });
    });

    it('shows power state and VM agent in the instance view', async () => {
      const expanded = await compute().virtualMachines.get('rg-vms', 'app01', { expand: 'instanceView' });
      expect(expanded.instanceView?.statuses?.map((status) => status.code)).toEqual(['ProvisioningState/succeeded', 'PowerState/stopped']);
      expect(expanded.osProfile).toMatchObject({ computerName: 'app01', windowsConfiguration: { provisionVMAgent: true } });
      const view = await compute().virtualMachines.instanceView('rg-vms', 'web01');
      expect(view.statuses?.[1]).toMatchObject({ code: 'PowerState/running', displayStatus: 'VM running' });
      expect(view.vmAgent?.statuses?.[0]).toMatchObject({ displayStatus: 'Ready' });
    });

    it('lists VMs by resource group and subscription, and answers the 2022-11-01 GET az sends', async () => {
      const inGroup = [];
      for await (const vm of compute().virtualMachines.list('rg-vms')) inGroup.push(vm.name);
      expect(inGroup).toEqual(['app01', 'web01']);
      const all = [];
      for await (const vm of compute().virtualMachines.listAll()) all.push(vm.id);
      expect(all).toHaveLength(2);
      const azCall = await raw<{ id: string }>(`/subscriptions/${SUB}/resourceGroups/rg-vms/providers/Microsoft.Compute/virtualMachines/WEB01?api-version=2022-11-01`);
      expect([azCall.status, azCall.body.id]).toEqual([200, web.id]);
    });

    it('answers ResourceNotFound for a VM that does not exist, and ResourceGroupNotFound for a missing group', async () => {
      const missing = await restError(compute().virtualMachines.get('rg-vms', 'nope'));
      expect(missing).toMatchObject({ code: 'ResourceNotFound', statusCode: 404 });
      expect(missing.message).toContain("'Microsoft.Compute/virtualMachines/nope'");
      expect(await restError(compute().virtualMachines.get('rg-elsewhere', 'web01'))).toMatchObject({ code: 'ResourceGroupNotFound', statusCode: 404 });
    });
  });

  describe('storage accounts (Microsoft.Storage)', () => {
    const blobEndpoint = () => `${new URL(azurite().connectionString.match(/BlobEndpoint=([^;]+)/)?.[1] ?? '').href.replace(/\/$/, '')}/`;

    it('shows the configured account in the storage resource group', async () => {
      const account = await storage().storageAccounts.getProperties(STORAGE_RG, 'devstoreaccount1');
      expect(account).toMatchObject({
        id: `/subscriptions/${SUB}/resourceGroups/${STORAGE_RG}/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`,
        name: 'devstoreaccount1',
        type: 'Microsoft.Storage/storageAccounts',
        location: 'westeurope',
        sku: { name: 'Standard_LRS', tier: 'Standard' },
        kind: 'StorageV2',
        provisioningState: 'Succeeded',
        primaryEndpoints: { blob: blobEndpoint() },
        tags: { 'kluis-roles': 'functions,source,vault,restore' },
      });
      const listed = [];
      for await (const each of storage().storageAccounts.list()) listed.push(each.name);
      expect(listed).toEqual(['devstoreaccount1']);
      const inGroup = [];
      for await (const each of storage().storageAccounts.listByResourceGroup(STORAGE_RG)) inGroup.push(each.name);
      expect(inGroup).toEqual(['devstoreaccount1']);
      expect(await restError(storage().storageAccounts.getProperties('rg-app', 'devstoreaccount1'))).toMatchObject({ code: 'ResourceNotFound', statusCode: 404 });
    });

    it("answers the lookup az restore-disks makes: ClassicStorage 404, then Storage with 'resourcegroups' and '//'", async () => {
      const path = (namespace: string) => `/subscriptions/${SUB}/resourcegroups/${STORAGE_RG}/providers/${namespace}/storageAccounts//devstoreaccount1`;
      const classic = await raw<ErrorEnvelope>(`${path('Microsoft.ClassicStorage')}?api-version=2015-12-01`);
      expect([classic.status, classic.body.error.code]).toEqual([404, 'ResourceNotFound']);
      const modern = await raw<{ id: string }>(`${path('Microsoft.Storage')}?api-version=2016-01-01`);
      expect([modern.status, modern.body.id]).toEqual([200, `/subscriptions/${SUB}/resourceGroups/${STORAGE_RG}/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`]);
      const generic = await resources().resources.get(STORAGE_RG, 'Microsoft.Storage', 'storageAccounts', '', 'devstoreaccount1', '2016-01-01');
      expect(generic.id).toBe(modern.body.id);
      // The storage group cannot be deleted while it holds the accounts.
      expect(await restError(resources().resourceGroups.beginDeleteAndWait(STORAGE_RG))).toMatchObject({ code: 'ResourceGroupDeletionBlocked', statusCode: 409 });
    });
  });

  it('lists the generic ARM operations in the OpenAPI document', async () => {
    const doc = await http<{ paths: Record<string, Record<string, { operationId: string }>> }>(`${api()}/openapi.json`);
    const ids = Object.values(doc.body.paths).flatMap((methods) => Object.values(methods).map((operation) => operation.operationId));
    expect(ids).toEqual(
      expect.arrayContaining(['Subscriptions_List', 'Tenants_List', 'ResourceGroups_CheckExistence', 'Providers_Get', 'VirtualMachines_Get', 'StorageAccounts_GetProperties', 'Alias_Create']),
    );
  });
});
