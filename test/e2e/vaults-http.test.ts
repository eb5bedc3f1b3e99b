/**
 * Vaults, backup policies and the OpenAPI document over HTTP through the embedded host, running this
 * repository's app (built into dist/) on Azurite: the vault life cycle with its DefaultPolicy,
 * policies, the storage and soft delete configuration, and bad input on every endpoint — each
 * answered with the ARM error envelope naming the field, and leaving every resource as it was.
 *
 * KLUIS_E2E_APP runs the suite against another build of the app (a folder with package.json,
 * host.json and dist/), e.g. one compiled with `tsc --outDir` next to KLUIS_HOST_BIN.
 */
import { createResourceGroups, subscriptionEnv } from '../support/arm-tenancy';
import { uniqueTableName, useAzurite } from '../support/azurite';
import { REPO_ROOT, startHostProcess, type HostProcess, type HttpResult } from '../support/host-process';
import { armHttp } from '../support/vault-api';

const APP = process.env.KLUIS_E2E_APP ?? REPO_ROOT;
const SUB = '3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d';
const RG = 'rg-e2e';
const PROVIDER = 'providers/Microsoft.RecoveryServices/vaults';
const RUN = '2026-01-01T21:30:00Z';

interface ErrorEnvelope {
  error: { code: string; message: string; target?: string; recommendation?: string; details?: unknown[] };
}

interface Resource {
  id: string;
  name: string;
  type: string;
  location?: string;
  tags?: Record<string, string>;
  properties: Record<string, unknown>;
}

const azurite = useAzurite();

function dailyPolicy(days: number): unknown {
  return {
    properties: {
      backupManagementType: 'AzureIaasVM',
      timeZone: 'W. Europe Standard Time',
      instantRpRetentionRangeInDays: 3,
      schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: [RUN] },
      retentionPolicy: {
        retentionPolicyType: 'LongTermRetentionPolicy',
        dailySchedule: { retentionTimes: [RUN], retentionDuration: { count: days, durationType: 'Days' } },
        monthlySchedule: {
          retentionScheduleFormatType: 'Daily',
          retentionScheduleDaily: { daysOfTheMonth: [{ date: 0, isLast: true }] },
          retentionTimes: [RUN],
          retentionDuration: { count: 12, durationType: 'Months' },
        },
      },
    },
  };
}

describe('vaults and policies over HTTP (embedded host)', () => {
  let host: HostProcess;
  const api = () => `${host.origin}/api`;
  const vaults = (rg = RG, sub = SUB) => `${api()}/subscriptions/${sub}/resourceGroups/${rg}/${PROVIDER}`;
  const vaultUrl = (name = 'vault-e2e', rg = RG, sub = SUB) => `${vaults(rg, sub)}/${name}`;
  const withVersion = (url: string) => `${url}${url.includes('?') ? '&' : '?'}api-version=2023-06-01`;
  // Text bodies (malformed JSON) go out labelled JSON, as a JSON client sends them; a text/plain body is refused 415 before parsing.
  const call = <T = unknown>(method: string, url: string, body?: unknown): Promise<HttpResult<T>> =>
    armHttp<T>(withVersion(url), { method, body, ...(typeof body === 'string' ? { headers: { 'content-type': 'application/json' } } : {}) });

  beforeAll(async () => {
    host = await startHostProcess({
      app: APP,
      storage: azurite().connectionString,
      hubName: `Vaults${Date.now().toString(36)}`,
      env: {
        KLUIS_SOURCE_STORAGE: '',
        KLUIS_VAULT_STORAGE: '',
        KLUIS_CATALOG_TABLE: uniqueTableName('points'),
        KLUIS_CATALOG_TABLE_PREFIX: uniqueTableName('e2e').slice(0, 40),
        ...subscriptionEnv(SUB),
      },
      startupTimeoutInMs: 60_000,
    });
    await createResourceGroups(host, SUB, [RG, 'rg-other', 'rg-empty']);
  }, 90_000);

  afterAll(async () => {
    await host?.stop();
  });

  /** Everything a client can see of the test vault. */
  async function visibleState(): Promise<unknown> {
    const urls = [
      vaultUrl(),
      `${vaultUrl()}/backupPolicies`,
      `${vaultUrl()}/backupstorageconfig/vaultstorageconfig`,
      `${vaultUrl()}/backupconfig/vaultconfig`,
      `${api()}/subscriptions/${SUB}/${PROVIDER}`,
    ];
    return Promise.all(
      urls.map(async (url) => {
        const response = await call('GET', url);
        return { url, status: response.status, body: response.body };
      }),
    );
  }

  function expectError(response: HttpResult<unknown>, status: number, code: string, target?: string): void {
    const body = response.body as ErrorEnvelope;
    expect({ status: response.status, code: body.error?.code, target: body.error?.target }).toEqual({ status, code, target });
    expect(body.error.message.length).toBeGreaterThan(0);
    expect(body.error.recommendation?.length).toBeGreaterThan(0);
  }

  it('creates a vault with DefaultPolicy, updates it, lists it', async () => {
    const created = await call<Resource>('PUT', vaultUrl(), { location: 'West Europe', tags: { team: 'backup' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.RecoveryServices/vaults/vault-e2e`,
      name: 'vault-e2e',
      type: 'Microsoft.RecoveryServices/vaults',
      location: 'westeurope',
      tags: { team: 'backup' },
      sku: { name: 'RS0', tier: 'Standard' },
      properties: {
        provisioningState: 'Succeeded',
        redundancySettings: { standardTierStorageRedundancy: 'GeoRedundant' },
        securitySettings: { softDeleteSettings: { softDeleteState: 'Enabled', softDeleteRetentionPeriodInDays: 14 } },
      },
    });

    const updated = await call<Resource>('PUT', vaultUrl(), { location: 'westeurope', tags: { team: 'ops' } });
    expect(updated.status).toBe(200);
    expect(updated.body.tags).toEqual({ team: 'ops' });
    expect((await call<Resource>('GET', vaultUrl('VAULT-E2E'))).body.tags).toEqual({ team: 'ops' });

    const bySubscription = await call<{ value: Resource[] }>('GET', `${api()}/subscriptions/${SUB}/${PROVIDER}`);
    expect(bySubscription.body.value.map((v) => v.name)).toEqual(['vault-e2e']);
    const byGroup = await call<{ value: Resource[] }>('GET', vaults());
    expect(byGroup.body.value.map((v) => v.name)).toEqual(['vault-e2e']);
    expect((await call<{ value: Resource[] }>('GET', vaults('rg-empty'))).body.value).toEqual([]);

    const policies = await call<{ value: Resource[] }>('GET', `${vaultUrl()}/backupPolicies`);
    expect(policies.status).toBe(200);
    expect(policies.body.value).toEqual([
      expect.objectContaining({
        id: `${created.body.id}/backupPolicies/DefaultPolicy`,
        name: 'DefaultPolicy',
        type: 'Microsoft.RecoveryServices/vaults/backupPolicies',
        properties: expect.objectContaining({ backupManagementType: 'AzureIaasVM', policyType: 'V1', instantRpRetentionRangeInDays: 2, protectedItemsCount: 0 }),
      }),
    ]);
  });

  it('creates, reads, updates and lists a policy; an invalid one is refused with its field', async () => {
    const created = await call<Resource>('PUT', `${vaultUrl()}/backupPolicies/Daily-30`, dailyPolicy(30));
    expect(created.status).toBe(200);
    expect(created.body.properties).toMatchObject({ policyType: 'V1', timeZone: 'W. Europe Standard Time', instantRpRetentionRangeInDays: 3, protectedItemsCount: 0 });
    const updated = await call<Resource>('PUT', `${vaultUrl()}/backupPolicies/daily-30`, dailyPolicy(45));
    expect(updated.status).toBe(200);
    const read = await call<Resource>('GET', `${vaultUrl()}/backupPolicies/Daily-30`);
    expect(read.body).toMatchObject({ name: 'Daily-30', properties: { retentionPolicy: { dailySchedule: { retentionDuration: { count: 45 } } } } });

    // The body of a GET can be sent back as it is.
    const roundTrip = await call<Resource>('PUT', `${vaultUrl()}/backupPolicies/Daily-30`, read.body);
    expect(roundTrip.status).toBe(200);
    expect(roundTrip.body).toEqual(read.body);

    const before = await visibleState();
    const invalid = await call('PUT', `${vaultUrl()}/backupPolicies/Daily-3`, dailyPolicy(3));
    expectError(invalid, 400, 'KluisInvalidRequest', 'properties.retentionPolicy.dailySchedule.retentionDuration.count');
    expectError(await call('GET', `${vaultUrl()}/backupPolicies/Daily-3`), 404, 'ResourceNotFound', 'policyName');
    expect(await visibleState()).toEqual(before);
  });

  it('changes storage redundancy and soft delete while the vault is empty', async () => {
    const storage = `${vaultUrl()}/backupstorageconfig/vaultstorageconfig`;
    expect((await call<Resource>('GET', storage)).body).toMatchObject({
      name: 'vaultstorageconfig',
      properties: { storageModelType: 'GeoRedundant', storageTypeState: 'Unlocked' },
    });
    const patched = await call('PATCH', storage, { properties: { storageModelType: 'LocallyRedundant' } });
    expect([patched.status, patched.text]).toEqual([204, '']);
    expect((await call<Resource>('GET', storage)).body.properties).toMatchObject({ storageModelType: 'LocallyRedundant', storageType: 'LocallyRedundant' });
    expect((await call<Resource>('PUT', storage, { properties: { storageType: 'ZoneRedundant' } })).body.properties.storageModelType).toBe('ZoneRedundant');
    expect((await call<Resource>('GET', vaultUrl())).body.properties.redundancySettings).toMatchObject({ standardTierStorageRedundancy: 'ZoneRedundant' });

    const config = `${vaultUrl()}/backupconfig/vaultconfig`;
    expect((await call<Resource>('GET', config)).body.properties).toMatchObject({ softDeleteFeatureState: 'Enabled', softDeleteRetentionPeriodInDays: 14 });
    const changed = await call<Resource>('PATCH', config, { properties: { softDeleteRetentionPeriodInDays: 30 } });
    expect(changed.body.properties).toMatchObject({ softDeleteFeatureState: 'Enabled', softDeleteRetentionPeriodInDays: 30, isSoftDeleteFeatureStateEditable: true });
    const put = await call<Resource>('PUT', config, { properties: { softDeleteFeatureState: 'Disabled' } });
    expect(put.body.properties).toMatchObject({ softDeleteFeatureState: 'Disabled', softDeleteRetentionPeriodInDays: 30 });
  });

  describe('bad input: 4xx with code and target, nothing changed', () => {
    const policyUrl = (name = 'Daily-30') => `${vaultUrl()}/backupPolicies/${name}`;
    const storage = () => `${vaultUrl()}/backupstorageconfig/vaultstorageconfig`;
    const config = () => `${vaultUrl()}/backupconfig/vaultconfig`;
    const validPolicy = dailyPolicy(30) as { properties: Record<string, unknown> };

    const cases: Array<[name: string, request: () => [method: string, url: string, body?: unknown], status: number, code: string, target?: string]> = [
      // vault PUT
      ['vault: malformed JSON', () => ['PUT', vaultUrl(), '{"location":'], 400, 'KluisInvalidRequest', 'body'],
      ['vault: empty body', () => ['PUT', vaultUrl(), ''], 400, 'KluisInvalidRequest', 'body'],
      ['vault: body not an object', () => ['PUT', vaultUrl(), '[1]'], 400, 'KluisInvalidRequest', 'body'],
      ['vault: location of the wrong type', () => ['PUT', vaultUrl(), { location: 5 }], 400, 'KluisInvalidRequest', 'location'],
      ['vault: missing location', () => ['PUT', vaultUrl(), { tags: {} }], 400, 'KluisInvalidRequest', 'location'],
      ['vault: unknown field', () => ['PUT', vaultUrl(), { location: 'westeurope', color: 'red' }], 400, 'KluisInvalidRequest', 'color'],
      ['vault: tag value of the wrong type', () => ['PUT', vaultUrl(), { location: 'westeurope', tags: { a: 1 } }], 400, 'KluisInvalidRequest', 'tags.a'],
      ['vault: unknown sku', () => ['PUT', vaultUrl(), { location: 'westeurope', sku: { name: 'Basic' } }], 400, 'KluisInvalidRequest', 'sku.name'],
      [
        'vault: soft delete retention out of range',
        () => ['PUT', vaultUrl(), { location: 'westeurope', properties: { securitySettings: { softDeleteSettings: { softDeleteRetentionPeriodInDays: 500 } } } }],
        400,
        'KluisInvalidRequest',
        'properties.securitySettings.softDeleteSettings.softDeleteRetentionPeriodInDays',
      ],
      [
        'vault: unknown redundancy',
        () => ['PUT', vaultUrl(), { location: 'westeurope', properties: { redundancySettings: { standardTierStorageRedundancy: 'Triple' } } }],
        400,
        'KluisInvalidRequest',
        'properties.redundancySettings.standardTierStorageRedundancy',
      ],
      ['vault: a garbled location', () => ['PUT', vaultUrl(), { location: 'west/europe' }], 400, 'KluisInvalidRequest', 'location'],
      ['vault: moved to another region', () => ['PUT', vaultUrl(), { location: 'northeurope' }], 400, 'InvalidResourceLocation', 'location'],
      ['vault: name too short', () => ['PUT', vaultUrl('v'), { location: 'westeurope' }], 400, 'KluisInvalidResourceName', 'vaultName'],
      ['vault: name with an underscore', () => ['PUT', vaultUrl('my_vault'), { location: 'westeurope' }], 400, 'KluisInvalidResourceName', 'vaultName'],
      ['vault: name too long', () => ['PUT', vaultUrl(`v${'x'.repeat(50)}`), { location: 'westeurope' }], 400, 'KluisInvalidResourceName', 'vaultName'],
      ['vault: resource group ending with a period', () => ['PUT', vaultUrl('vault-x', 'rg.'), { location: 'westeurope' }], 400, 'KluisInvalidResourceName', 'resourceGroupName'],
      ['vault: subscription that is no GUID', () => ['PUT', vaultUrl('vault-x', RG, 'sub-1'), { location: 'westeurope' }], 400, 'InvalidSubscriptionId', 'subscriptionId'],
      ['vault: name in use in another resource group', () => ['PUT', vaultUrl('Vault-E2E', 'rg-other'), { location: 'westeurope' }], 409, 'KluisVaultNameInUse', 'vaultName'],
      // vault GET / DELETE / lists
      ['vault: GET of an unknown vault', () => ['GET', vaultUrl('ghost-vault')], 404, 'ResourceNotFound', 'vaultName'],
      ['vault: GET with a bad name', () => ['GET', vaultUrl('9lives')], 400, 'KluisInvalidResourceName', 'vaultName'],
      ['vault: DELETE with a bad name', () => ['DELETE', vaultUrl('a')], 400, 'KluisInvalidResourceName', 'vaultName'],
      ['vaults: list of a bad subscription', () => ['GET', `${api()}/subscriptions/xyz/${PROVIDER}`], 400, 'InvalidSubscriptionId', 'subscriptionId'],
      ['vaults: list of a bad resource group', () => ['GET', vaults('rg(x).')], 400, 'KluisInvalidResourceName', 'resourceGroupName'],
      // storage config
      ['storage: malformed JSON', () => ['PATCH', storage(), '{"properties":{'], 400, 'KluisInvalidRequest', 'body'],
      ['storage: PUT without a redundancy', () => ['PUT', storage(), { properties: {} }], 400, 'KluisInvalidRequest', 'properties.storageModelType'],
      ['storage: unknown redundancy', () => ['PATCH', storage(), { properties: { storageModelType: 'Cold' } }], 400, 'KluisInvalidRequest', 'properties.storageModelType'],
      ['storage: wrong type', () => ['PATCH', storage(), { properties: { storageModelType: 3 } }], 400, 'KluisInvalidRequest', 'properties.storageModelType'],
      ['storage: cross region restore', () => ['PATCH', storage(), { properties: { crossRegionRestoreFlag: true } }], 400, 'KluisInvalidRequest', 'properties.crossRegionRestoreFlag'],
      [
        'storage: two redundancies that disagree',
        () => ['PATCH', storage(), { properties: { storageModelType: 'GeoRedundant', storageType: 'LocallyRedundant' } }],
        400,
        'KluisInvalidRequest',
        'properties.storageType',
      ],
      ['storage: unknown vault', () => ['GET', `${vaultUrl('ghost-vault')}/backupstorageconfig/vaultstorageconfig`], 404, 'ResourceNotFound', 'vaultName'],
      ['storage: PATCH of an unknown vault', () => ['PATCH', `${vaultUrl('ghost-vault')}/backupstorageconfig/vaultstorageconfig`, { properties: { storageModelType: 'GeoRedundant' } }], 404, 'ResourceNotFound', 'vaultName'],
      // vault config
      ['config: retention below 14 days', () => ['PATCH', config(), { properties: { softDeleteRetentionPeriodInDays: 7 } }], 400, 'KluisInvalidRequest', 'properties.softDeleteRetentionPeriodInDays'],
      ['config: retention not a whole number', () => ['PUT', config(), { properties: { softDeleteRetentionPeriodInDays: 20.5 } }], 400, 'KluisInvalidRequest', 'properties.softDeleteRetentionPeriodInDays'],
      ['config: unknown state', () => ['PATCH', config(), { properties: { softDeleteFeatureState: 'Off' } }], 400, 'KluisInvalidRequest', 'properties.softDeleteFeatureState'],
      ['config: properties missing', () => ['PUT', config(), {}], 400, 'KluisInvalidRequest', 'properties'],
      ['config: unknown vault', () => ['PUT', `${vaultUrl('ghost-vault')}/backupconfig/vaultconfig`, { properties: {} }], 404, 'ResourceNotFound', 'vaultName'],
      // policies
      ['policy: malformed JSON', () => ['PUT', policyUrl(), '{"properties": [}'], 400, 'KluisInvalidRequest', 'body'],
      ['policy: properties missing', () => ['PUT', policyUrl(), {}], 400, 'KluisInvalidRequest', 'properties'],
      ['policy: run times of the wrong type', () => ['PUT', policyUrl(), { properties: { ...validPolicy.properties, schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: '21:30' } } }], 400, 'KluisInvalidRequest', 'properties.schedulePolicy.scheduleRunTimes'],
      ['policy: unknown workload', () => ['PUT', policyUrl(), { properties: { ...validPolicy.properties, backupManagementType: 'AzureSql' } }], 400, 'KluisInvalidRequest', 'properties.backupManagementType'],
      ['policy: instant restore days out of range', () => ['PUT', policyUrl(), { properties: { ...validPolicy.properties, instantRpRetentionRangeInDays: 9 } }], 400, 'KluisInvalidRequest', 'properties.instantRpRetentionRangeInDays'],
      ['policy: unknown time zone', () => ['PUT', policyUrl(), { properties: { ...validPolicy.properties, timeZone: 'Moon Standard Time' } }], 400, 'KluisInvalidRequest', 'properties.timeZone'],
      ['policy: another time zone for an existing policy', () => ['PUT', policyUrl(), { properties: { ...validPolicy.properties, timeZone: 'Tokyo Standard Time' } }], 400, 'KluisInvalidRequest', 'properties.timeZone'],
      ['policy: bad name', () => ['PUT', policyUrl('a%20b'), validPolicy], 400, 'KluisInvalidResourceName', 'policyName'],
      ['policy: PUT in an unknown vault', () => ['PUT', `${vaultUrl('ghost-vault')}/backupPolicies/Daily-30`, validPolicy], 404, 'ResourceNotFound', 'vaultName'],
      ['policy: GET of an unknown policy', () => ['GET', policyUrl('Weekly-1')], 404, 'ResourceNotFound', 'policyName'],
      ['policy: DELETE in an unknown vault', () => ['DELETE', `${vaultUrl('ghost-vault')}/backupPolicies/Daily-30`], 404, 'ResourceNotFound', 'vaultName'],
      ['policies: list with a bad $filter', () => ['GET', `${vaultUrl()}/backupPolicies?$filter=${encodeURIComponent('policyType ne 1')}`], 400, 'KluisInvalidRequest', '$filter'],
    ];

    it.each(cases)('%s', async (_name, request, status, code, target) => {
      const before = await visibleState();
      const [method, url, body] = request();
      expectError(await call(method, url, body), status, code, target);
      expect(await visibleState()).toEqual(before);
    });

    it('a $filter for another workload lists no policies', async () => {
      const none = await call<{ value: unknown[] }>('GET', `${vaultUrl()}/backupPolicies?$filter=${encodeURIComponent("backupManagementType eq 'AzureSql'")}`);
      expect(none.body.value).toEqual([]);
      const vm = await call<{ value: unknown[] }>('GET', `${vaultUrl()}/backupPolicies?$filter=${encodeURIComponent("backupManagementType eq 'AzureIaasVM'")}`);
      expect(vm.body.value).toHaveLength(2);
    });
  });

  it('serves an OpenAPI 3.1 document listing the vault and policy operations', async () => {
    const doc = await armHttp<{ openapi: string; paths: Record<string, Record<string, { operationId: string; requestBody?: unknown }>> }>(`${api()}/openapi.json`);
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    const vault = '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.RecoveryServices/vaults/{vaultName}';
    const operations = (path: string) => Object.values(doc.body.paths[path] ?? {}).map((op) => op.operationId).sort();
    expect(operations(vault)).toEqual(['Vaults_CreateOrUpdate', 'Vaults_Delete', 'Vaults_Get']);
    expect(operations('/subscriptions/{subscriptionId}/providers/Microsoft.RecoveryServices/vaults')).toEqual(['Vaults_ListBySubscriptionId']);
    expect(operations('/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.RecoveryServices/vaults')).toEqual(['Vaults_ListByResourceGroup']);
    expect(operations(`${vault}/backupstorageconfig/vaultstorageconfig`)).toHaveLength(3);
    expect(operations(`${vault}/backupconfig/vaultconfig`)).toHaveLength(3);
    expect(operations(`${vault}/backupPolicies`)).toEqual(['BackupPolicies_List']);
    expect(operations(`${vault}/backupPolicies/{policyName}`)).toEqual(['ProtectionPolicies_CreateOrUpdate', 'ProtectionPolicies_Delete', 'ProtectionPolicies_Get']);
    expect(doc.body.paths[`${vault}/backupPolicies/{policyName}`].put.requestBody).toBeDefined();
  });

  it('deletes policies and the vault; deleting a policy that is gone answers 204, a vault that is gone 200 (the spec declares only 200)', async () => {
    expect((await call('DELETE', `${vaultUrl()}/backupPolicies/Daily-30`)).status).toBe(200);
    expect((await call('DELETE', `${vaultUrl()}/backupPolicies/Daily-30`)).status).toBe(204);
    expect((await call('DELETE', vaultUrl())).status).toBe(200);
    expectError(await call('GET', vaultUrl()), 404, 'ResourceNotFound', 'vaultName');
    expectError(await call('GET', `${vaultUrl()}/backupPolicies`), 404, 'ResourceNotFound', 'vaultName');
    expect((await call('DELETE', vaultUrl())).status).toBe(200);
    expect((await call<{ value: unknown[] }>('GET', `${api()}/subscriptions/${SUB}/${PROVIDER}`)).body.value).toEqual([]);

    // The name is free again, and a new vault gets a fresh DefaultPolicy only.
    expect((await call('PUT', vaultUrl(), { location: 'westeurope' })).status).toBe(201);
    const policies = await call<{ value: Resource[] }>('GET', `${vaultUrl()}/backupPolicies`);
    expect(policies.body.value.map((p) => p.name)).toEqual(['DefaultPolicy']);
  });
});
