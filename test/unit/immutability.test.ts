/**
 * Backups an intruder cannot destroy: immutable vaults (Disabled / Unlocked / Locked) and soft delete
 * that cannot be turned off while it holds items — the pure rules, then the vault, policy and
 * protection services on the in-memory catalog (every refusal leaves the catalog unchanged).
 */
import { containerName, itemName } from '../../lib/domain/arm-names';
import { vaultKey } from '../../lib/domain/catalog';
import { assertPointsMayBeDeleted, assertRetentionNotReduced, nextImmutability, retentionReduction } from '../../lib/domain/immutability';
import type { IaasVmPolicyProperties } from '../../lib/domain/policy';
import { vmResourceId, type VirtualMachine } from '../../lib/domain/virtual-machine';
import { createOrUpdatePolicy } from '../../lib/services/policies';
import { getProtectedItem, putProtectedItem, type ProtectionDeps } from '../../lib/services/protection';
import { deleteProtectedItem } from '../../lib/services/soft-delete';
import { createOrUpdateVault, getVault, updateVaultConfig } from '../../lib/services/vaults';
import { collect } from '../../lib/stores/document-store';
import { MemoryVmInventory } from '../../lib/stores/memory/vm-inventory';
import { memoryVaultCatalog } from '../../lib/stores/vault-catalog';
import { catalogSnapshot, itemRecord, putItem, rejection, SUBSCRIPTION, vaultRef } from '../support/vault-fixtures';

const T0 = new Date('2026-11-01T08:00:00.000Z');
const DAY = 86_400_000;
const RUN = '2026-01-01T22:00:00Z';

function policy(daily: number, weeks?: number): IaasVmPolicyProperties {
  return {
    backupManagementType: 'AzureIaasVM',
    timeZone: 'UTC',
    schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: [RUN] },
    retentionPolicy: {
      retentionPolicyType: 'LongTermRetentionPolicy',
      dailySchedule: { retentionTimes: [RUN], retentionDuration: { count: daily, durationType: 'Days' } },
      ...(weeks === undefined ? {} : { weeklySchedule: { daysOfTheWeek: ['Sunday'], retentionTimes: [RUN], retentionDuration: { count: weeks, durationType: 'Weeks' } } }),
    },
  };
}

describe('immutability rules', () => {
  it('moves Disabled → Unlocked → Disabled and Unlocked → Locked; Locked stays Locked', () => {
    expect(nextImmutability(undefined, undefined)).toBe('Disabled');
    expect(nextImmutability(undefined, 'Unlocked')).toBe('Unlocked');
    expect(nextImmutability('Unlocked', 'Disabled')).toBe('Disabled');
    expect(nextImmutability('Unlocked', 'Locked')).toBe('Locked');
    expect(nextImmutability('Locked', undefined)).toBe('Locked');
    expect(nextImmutability('Locked', 'Locked')).toBe('Locked');
    for (const requested of ['Unlocked', 'Disabled'] as const) {
      expect(() => nextImmutability('Locked', requested)).toThrow(expect.objectContaining({ code: 'UserErrorUnsupportedVaultImmutabilityStateChange', status: 400 }));
    }
  });

  it('names each shortened or removed retention rule; a longer or added rule is no reduction', () => {
    expect(retentionReduction(policy(30, 12), policy(60, 12))).toBeUndefined();
    expect(retentionReduction(policy(30), policy(30, 4))).toBeUndefined();
    expect(retentionReduction(policy(30, 12), policy(30, 12))).toBeUndefined();
    expect(retentionReduction(policy(30, 12), policy(7, 12))).toBe('the daily retention would go from 30 Days to 7 Days');
    expect(retentionReduction(policy(30, 12), policy(30))).toBe('the weekly retention (12 Weeks) would be removed');
  });

  it('refuses a reduction only on an immutable vault', () => {
    expect(() => assertRetentionNotReduced(undefined, policy(30), policy(7), 'x')).not.toThrow();
    expect(() => assertRetentionNotReduced('Disabled', policy(30), policy(7), 'x')).not.toThrow();
    for (const state of ['Unlocked', 'Locked'] as const) {
      expect(() => assertRetentionNotReduced(state, policy(30), policy(7), 'properties.retentionPolicy')).toThrow(
        expect.objectContaining({ code: 'KluisImmutableVaultOperationBlocked', status: 409, target: 'properties.retentionPolicy' }),
      );
    }
  });

  it('refuses deleting points before they expire (undecided expiry counts as not expired)', () => {
    const expired = { recoveryPointId: '1', expiryTime: new Date(T0.getTime() - DAY).toISOString() };
    const later = { recoveryPointId: '2', expiryTime: new Date(T0.getTime() + 3 * DAY).toISOString() };
    expect(() => assertPointsMayBeDeleted('Locked', 'web1', [expired], T0)).not.toThrow();
    expect(() => assertPointsMayBeDeleted('Disabled', 'web1', [later], T0)).not.toThrow();
    expect(() => assertPointsMayBeDeleted('Locked', 'web1', [expired, later], T0)).toThrow(expect.objectContaining({ code: 'KluisImmutableVaultOperationBlocked', message: expect.stringContaining(later.expiryTime) }));
    expect(() => assertPointsMayBeDeleted('Unlocked', 'web1', [{ recoveryPointId: '3' }], T0)).toThrow(expect.objectContaining({ code: 'KluisImmutableVaultOperationBlocked' }));
  });
});

describe('immutable vaults and soft delete in the services', () => {
  const ref = vaultRef();
  const names = { containerName: containerName('rg-vms', 'web1'), itemName: itemName('rg-vms', 'web1') };
  let deps: ProtectionDeps;
  let now: Date;

  beforeEach(async () => {
    now = T0;
    let ids = 0;
    const inventory = new MemoryVmInventory();
    deps = { catalog: memoryVaultCatalog(), inventory, clock: () => now, newId: () => `id-${++ids}`, keyVaultAccess: async () => undefined };
    const vm: VirtualMachine = {
      id: vmResourceId(SUBSCRIPTION, 'rg-vms', 'web1'),
      subscriptionId: SUBSCRIPTION,
      resourceGroup: 'rg-vms',
      name: 'web1',
      location: 'westeurope',
      vmSize: 'Standard_B2s',
      osType: 'Linux',
      powerState: 'running',
      provisioningState: 'Succeeded',
      agent: { status: 'Ready', version: '2.7.41491.1102' },
      disks: [{ kind: 'os', name: 'web1-os', vhdUri: 'http://127.0.0.1:10000/devstoreaccount1/vhds/web1-os.vhd', storageType: 'Standard', sizeBytes: 1024 ** 3 }],
      createdAt: T0.toISOString(),
    };
    await inventory.create(vm);
    await createOrUpdateVault(deps, ref, { location: 'westeurope' });
    await createOrUpdatePolicy(deps, ref, 'Long', policy(60, 12));
    await createOrUpdatePolicy(deps, ref, 'Short', policy(7));
    await putProtectedItem(deps, (await getVault(deps, ref)).value, names, {
      protectedItemType: 'Microsoft.Compute/virtualMachines',
      sourceResourceId: vm.id,
      policyId: `${(await getVault(deps, ref)).value.id}/backupPolicies/Long`,
    });
  });

  async function rejected(request: () => Promise<unknown>) {
    const before = await catalogSnapshot(deps.catalog);
    const error = await rejection(request());
    expect(await catalogSnapshot(deps.catalog)).toEqual(before);
    return error;
  }
  const immutable = (state: 'Unlocked' | 'Locked' | 'Disabled') => createOrUpdateVault(deps, ref, { location: 'westeurope', properties: { securitySettings: { immutabilitySettings: { state } } } });
  const vault = async () => (await getVault(deps, ref)).value;

  it('creates an immutable vault, locks it, and refuses to unlock or disable a Locked vault', async () => {
    const other = await createOrUpdateVault(deps, vaultRef('vault2'), { location: 'westeurope', properties: { securitySettings: { immutabilitySettings: { state: 'Unlocked' } } } });
    expect(other.vault.value.immutability).toBe('Unlocked');
    expect((await immutable('Unlocked')).vault.value.immutability).toBe('Unlocked');
    expect((await immutable('Disabled')).vault.value.immutability).toBeUndefined();
    await immutable('Locked');
    expect(await rejected(() => immutable('Unlocked'))).toMatchObject({ code: 'UserErrorUnsupportedVaultImmutabilityStateChange', status: 400 });
    expect(await rejected(() => immutable('Disabled'))).toMatchObject({ code: 'UserErrorUnsupportedVaultImmutabilityStateChange' });
    // A PUT that leaves immutability out keeps it Locked.
    expect((await createOrUpdateVault(deps, ref, { location: 'westeurope', tags: { a: 'b' } })).vault.value.immutability).toBe('Locked');
  });

  it('refuses shortening retention in a policy or by switching to a shorter policy; lengthening is allowed', async () => {
    await immutable('Locked');
    expect(await rejected(() => createOrUpdatePolicy(deps, ref, 'Long', policy(30, 12)))).toMatchObject({ code: 'KluisImmutableVaultOperationBlocked', target: 'properties.retentionPolicy' });
    expect(await rejected(() => createOrUpdatePolicy(deps, ref, 'Long', policy(60)))).toMatchObject({ code: 'KluisImmutableVaultOperationBlocked' });
    const current = await vault();
    expect(await rejected(() => putProtectedItem(deps, current, names, { policyId: 'Short' }))).toMatchObject({ code: 'KluisImmutableVaultOperationBlocked', target: 'properties.policyId' });
    await createOrUpdatePolicy(deps, ref, 'Long', policy(90, 20));
    await createOrUpdatePolicy(deps, ref, 'Longer', policy(120, 20));
    expect((await putProtectedItem(deps, await vault(), names, { policyId: 'Longer' })).action).toBe('policyChanged');
  });

  it('refuses stop-with-delete while points have not expired; allows it once they have, and stop-and-retain always', async () => {
    await immutable('Locked');
    const item = await getProtectedItem(deps, await vault(), names);
    await deps.catalog.recoveryPoints.put({
      itemId: item.engineItemId,
      recoveryPointId: '1000',
      createdAt: T0.toISOString(),
      consistency: 'CrashConsistent',
      vaultContainer: 'kluis-vault',
      manifestBlobName: 'm-1000',
      diskCount: 1,
      state: 'Committed',
      retention: { isOnDemand: true, retainUntil: new Date(T0.getTime() + 30 * DAY).toISOString() },
    });
    const locked = await vault();
    expect(await rejected(() => deleteProtectedItem(deps, locked, names))).toMatchObject({ code: 'KluisImmutableVaultOperationBlocked', status: 409 });
    expect(await collect(deps.catalog.recoveryPoints.list(item.engineItemId))).toHaveLength(1);

    expect((await putProtectedItem(deps, locked, names, { protectionState: 'ProtectionStopped', policyId: '' })).action).toBe('stopped');

    now = new Date(T0.getTime() + 31 * DAY);
    expect((await deleteProtectedItem(deps, await vault(), names))?.action).toBe('softDeleted');
  });

  it('refuses turning soft delete off while it holds soft-deleted items (vault config and vault PUT)', async () => {
    await putItem(deps.catalog, ref, itemRecord(ref, 'gone1', 'softDeleted'));
    expect(await rejected(() => updateVaultConfig(deps, ref, { properties: { softDeleteFeatureState: 'Disabled' } }))).toMatchObject({
      code: 'BMSUserErrorDisablingSoftDeleteStateNotAllowed',
      status: 409,
      message: expect.stringContaining("'gone1'"),
    });
    expect(
      await rejected(() => createOrUpdateVault(deps, ref, { location: 'westeurope', properties: { securitySettings: { softDeleteSettings: { softDeleteState: 'Disabled' } } } })),
    ).toMatchObject({ code: 'BMSUserErrorDisablingSoftDeleteStateNotAllowed' });
    // Retention may still change; once the item is gone, soft delete may be turned off.
    expect((await updateVaultConfig(deps, ref, { properties: { softDeleteRetentionPeriodInDays: 30 } })).softDelete.retentionDays).toBe(30);
    await deps.catalog.items.delete(vaultKey(ref.subscriptionId, ref.resourceGroup, ref.vaultName), itemName('rg-vms', 'gone1').toLowerCase());
    expect((await updateVaultConfig(deps, ref, { properties: { softDeleteFeatureState: 'Disabled' } })).softDelete.state).toBe('Disabled');
  });
});
