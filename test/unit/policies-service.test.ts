/**
 * The policy service on the in-memory catalog: create, update (retroactive: stored only; type and
 * zone fixed), the 200-per-vault limit, computed protectedItemsCount, associated items and delete
 * refused while in use — and for every rejected request, that the catalog is exactly as it was.
 */
import { vaultKey } from '../../lib/domain/catalog';
import type { IaasVmPolicyProperties } from '../../lib/domain/policy';
import { collect } from '../../lib/stores/document-store';
import { memoryVaultCatalog, type VaultCatalog } from '../../lib/stores/vault-catalog';
import { createOrUpdatePolicy, deletePolicy, getPolicy, listAssociatedItems, listPolicies } from '../../lib/services/policies';
import { createOrUpdateVault, type VaultDeps } from '../../lib/services/vaults';
import { catalogSnapshot, itemRecord, putItem, rejection, vaultRef } from '../support/vault-fixtures';

const T0 = new Date('2026-03-01T10:00:00.000Z');
const RUN = '2026-01-01T22:00:00Z';

function dailyPolicy(days = 14, timeZone = 'W. Europe Standard Time'): IaasVmPolicyProperties {
  return {
    backupManagementType: 'AzureIaasVM',
    timeZone,
    schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: [RUN] },
    retentionPolicy: {
      retentionPolicyType: 'LongTermRetentionPolicy',
      dailySchedule: { retentionTimes: [RUN], retentionDuration: { count: days, durationType: 'Days' } },
    },
  };
}

function enhancedPolicy(timeZone = 'W. Europe Standard Time'): IaasVmPolicyProperties {
  return {
    backupManagementType: 'AzureIaasVM',
    policyType: 'V2',
    timeZone,
    schedulePolicy: {
      schedulePolicyType: 'SimpleSchedulePolicyV2',
      scheduleRunFrequency: 'Hourly',
      hourlySchedule: { interval: 4, scheduleWindowStartTime: '2026-01-01T08:00:00Z', scheduleWindowDuration: 12 },
    },
    retentionPolicy: { retentionPolicyType: 'LongTermRetentionPolicy', dailySchedule: { retentionDuration: { count: 30, durationType: 'Days' } } },
  };
}

describe('policy service', () => {
  let catalog: VaultCatalog;
  let now: Date;
  let deps: VaultDeps;
  const ref = vaultRef();
  const partition = vaultKey(ref.subscriptionId, ref.resourceGroup, ref.vaultName);

  beforeEach(async () => {
    catalog = memoryVaultCatalog();
    now = T0;
    deps = { catalog, clock: () => now };
    await createOrUpdateVault(deps, ref, { location: 'westeurope' });
  });

  async function rejected(request: () => Promise<unknown>) {
    const before = await catalogSnapshot(catalog);
    const error = await rejection(request());
    expect(await catalogSnapshot(catalog)).toEqual(before);
    return error;
  }

  it('creates a policy, stores it normalized, and updates it in place', async () => {
    const created = await createOrUpdatePolicy(deps, ref, 'Daily14', { ...dailyPolicy(), protectedItemsCount: 99 });
    expect(created).toMatchObject({ created: true, protectedItemsCount: 0 });
    const stored = created.policy.value;
    expect(stored).toMatchObject({ name: 'Daily14', createdAt: T0.toISOString(), updatedAt: T0.toISOString() });
    expect(stored.properties).toMatchObject({ policyType: 'V1', instantRpRetentionRangeInDays: 2, timeZone: 'W. Europe Standard Time' });
    expect(stored.properties).not.toHaveProperty('protectedItemsCount');
    expect(stored.properties).not.toHaveProperty('ianaTimeZone');

    now = new Date('2026-03-02T10:00:00.000Z');
    const updated = await createOrUpdatePolicy(deps, ref, 'daily14', dailyPolicy(60));
    expect(updated.created).toBe(false);
    expect(updated.policy.value).toMatchObject({ name: 'Daily14', createdAt: T0.toISOString(), updatedAt: now.toISOString() });
    expect(updated.policy.value.properties.retentionPolicy.dailySchedule?.retentionDuration.count).toBe(60);
    expect((await listPolicies(deps, ref)).map((v) => v.policy.value.name)).toEqual(['Daily14', 'DefaultPolicy']);
  });

  it('refuses a policy that breaks a rule, naming the field', async () => {
    expect(await rejected(() => createOrUpdatePolicy(deps, ref, 'Daily3', dailyPolicy(3)))).toMatchObject({
      code: 'KluisInvalidRequest',
      status: 400,
      target: 'properties.retentionPolicy.dailySchedule.retentionDuration.count',
    });
    expect(await rejected(() => createOrUpdatePolicy(deps, ref, 'Zoned', dailyPolicy(30, 'Mars/Olympus_Mons')))).toMatchObject({
      code: 'KluisInvalidRequest',
      target: 'properties.timeZone',
    });
  });

  it('refuses bad names and unknown vaults', async () => {
    expect(await rejected(() => createOrUpdatePolicy(deps, ref, 'a b', dailyPolicy()))).toMatchObject({ code: 'KluisInvalidResourceName', target: 'policyName' });
    expect(await rejected(() => createOrUpdatePolicy(deps, vaultRef('ghost'), 'Daily', dailyPolicy()))).toMatchObject({ code: 'ResourceNotFound', status: 404 });
    expect(await rejection(getPolicy(deps, ref, 'Missing'))).toMatchObject({ code: 'ResourceNotFound', target: 'policyName', status: 404 });
    expect(await rejection(listPolicies(deps, vaultRef('ghost')))).toMatchObject({ code: 'ResourceNotFound', target: 'vaultName' });
  });

  it("keeps a policy's type and time zone (an equivalent zone id is the same zone)", async () => {
    await createOrUpdatePolicy(deps, ref, 'Daily', dailyPolicy());
    expect(await rejected(() => createOrUpdatePolicy(deps, ref, 'Daily', enhancedPolicy()))).toMatchObject({
      code: 'KluisInvalidRequest',
      target: 'properties.policyType',
    });
    expect(await rejected(() => createOrUpdatePolicy(deps, ref, 'Daily', dailyPolicy(30, 'Pacific Standard Time')))).toMatchObject({
      code: 'KluisInvalidRequest',
      target: 'properties.timeZone',
    });
    const sameZone = await createOrUpdatePolicy(deps, ref, 'Daily', dailyPolicy(30, 'Europe/Berlin'));
    expect(sameZone.policy.value.properties.timeZone).toBe('Europe/Berlin');
  });

  it('refuses the 201st policy of a vault, but still updates existing ones', async () => {
    const template = (await createOrUpdatePolicy(deps, ref, 'Template', dailyPolicy())).policy.value;
    for (let i = 2; i < 200; i++) await catalog.policies.insert(partition, `bulk${i}`, { ...template, name: `bulk${i}` });
    expect(await collect(catalog.policies.list(partition))).toHaveLength(200);
    expect(await rejected(() => createOrUpdatePolicy(deps, ref, 'OneMore', dailyPolicy()))).toMatchObject({ code: 'KluisPolicyLimitReached', status: 409 });
    expect((await createOrUpdatePolicy(deps, ref, 'Template', dailyPolicy(20))).created).toBe(false);
  });

  it('counts and lists the items a policy protects, whatever the casing of their policy name', async () => {
    await createOrUpdatePolicy(deps, ref, 'Daily', dailyPolicy());
    await putItem(catalog, ref, itemRecord(ref, 'vm1', 'protected', 'daily'));
    await putItem(catalog, ref, itemRecord(ref, 'vm2', 'protected', 'Daily'));
    await putItem(catalog, ref, itemRecord(ref, 'vm3', 'protected', 'DefaultPolicy'));
    await putItem(catalog, ref, itemRecord(ref, 'vm4', 'retained'));
    expect((await getPolicy(deps, ref, 'DAILY')).protectedItemsCount).toBe(2);
    expect((await listPolicies(deps, ref)).map((v) => [v.policy.value.name, v.protectedItemsCount])).toEqual([
      ['Daily', 2],
      ['DefaultPolicy', 1],
    ]);
    expect((await listAssociatedItems(deps, ref, 'Daily')).map((i) => i.value.vm.name).sort()).toEqual(['vm1', 'vm2']);
    expect((await createOrUpdatePolicy(deps, ref, 'Daily', dailyPolicy(90))).protectedItemsCount).toBe(2);
    expect(await rejection(listAssociatedItems(deps, ref, 'Nope'))).toMatchObject({ code: 'ResourceNotFound' });
  });

  it('refuses to delete a policy in use, naming the items; deletes it once unused', async () => {
    await createOrUpdatePolicy(deps, ref, 'Daily', dailyPolicy());
    await putItem(catalog, ref, itemRecord(ref, 'web1', 'protected', 'Daily'));
    const error = await rejected(() => deletePolicy(deps, ref, 'Daily'));
    expect(error).toMatchObject({ code: 'KluisPolicyInUse', status: 409, target: 'policyName' });
    expect(error.message).toContain("1 backup item: 'web1' (protected)");

    await catalog.items.delete(partition, 'vm;iaasvmcontainerv2;rg-vms;web1');
    expect(await deletePolicy(deps, ref, 'daily')).toEqual({ deleted: true });
    expect(await deletePolicy(deps, ref, 'Daily')).toEqual({ deleted: false });
    expect((await listPolicies(deps, ref)).map((v) => v.policy.value.name)).toEqual(['DefaultPolicy']);
    expect(await rejected(() => deletePolicy(deps, vaultRef('ghost'), 'Daily'))).toMatchObject({ code: 'ResourceNotFound' });
    expect(await rejected(() => deletePolicy(deps, ref, 'x'))).toMatchObject({ code: 'KluisInvalidResourceName' });
  });

  it('lets exactly one of two concurrent PUTs create a policy', async () => {
    const results = await Promise.all([createOrUpdatePolicy(deps, ref, 'Race', dailyPolicy()), createOrUpdatePolicy(deps, ref, 'Race', dailyPolicy(20))]);
    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    expect((await listPolicies(deps, ref)).map((v) => v.policy.value.name)).toEqual(['DefaultPolicy', 'Race']);
  });
});
