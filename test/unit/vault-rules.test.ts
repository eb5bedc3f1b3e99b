import type { ProtectedItemRecord, VaultRecord } from '../../lib/domain/catalog';
import { isKluisErrorLike } from '../../lib/domain/errors';
import {
  assertItemQuota,
  assertPolicyQuota,
  assertSameLocation,
  assertStorageChangeAllowed,
  assertVaultDeletable,
  assertVaultQuota,
  describeHolds,
  itemHold,
  nextSoftDelete,
  normalizeLocation,
  storageLockReason,
  VAULT_LIMITS,
} from '../../lib/domain/vault-rules';
import { vaultRecord } from '../support/vault-fixtures';

const vault = vaultRecord('s', 'rg', 'v1');

function item(name: string, state: Partial<ProtectedItemRecord> = {}): ProtectedItemRecord {
  return {
    vaultId: vault.id,
    containerName: `IaasVMContainer;iaasvmcontainerv2;rg;${name}`,
    itemName: `VM;iaasvmcontainerv2;rg;${name}`,
    engineItemId: `e-${name}`,
    vm: { id: `/vm/${name}`, name, resourceGroup: 'rg', location: 'westeurope', osType: 'Linux', vmSize: 'Standard_B1s' },
    policyName: 'DefaultPolicy',
    protectionState: 'Protected',
    healthStatus: 'Passed',
    onDemandBackups: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    ...state,
  };
}

const protectedVm = item('vm1');
const retained = item('vm2', { protectionState: 'ProtectionStopped', policyName: undefined });
const softDeleted = item('vm3', { protectionState: 'ProtectionStopped', policyName: undefined, softDelete: { deletedAt: 'a', purgeAt: 'b' } });

function failure(run: () => unknown): { code: string; target?: string; message: string; details?: readonly unknown[] } {
  try {
    run();
  } catch (err) {
    if (isKluisErrorLike(err)) return { code: err.code, target: err.target, message: err.message, details: err.details };
    throw err;
  }
  throw new Error('expected a KluisError');
}

describe('limits', () => {
  it('allows up to the limit and refuses at it', () => {
    expect(() => assertVaultQuota('s', VAULT_LIMITS.vaultsPerSubscription - 1)).not.toThrow();
    expect(failure(() => assertVaultQuota('s', 500))).toMatchObject({ code: 'KluisVaultLimitReached', target: 'vaultName' });
    expect(() => assertPolicyQuota('v1', 199)).not.toThrow();
    expect(failure(() => assertPolicyQuota('v1', 200))).toMatchObject({ code: 'KluisPolicyLimitReached' });
    expect(() => assertItemQuota('v1', 999)).not.toThrow();
    expect(failure(() => assertItemQuota('v1', 1000))).toMatchObject({ code: 'KluisItemLimitReached' });
  });
});

describe('items that hold backup data', () => {
  it('classifies protected, stopped-with-retained-data and soft-deleted items', () => {
    expect([protectedVm, retained, softDeleted].map((i) => itemHold(i).reason)).toEqual(['protected', 'stopped, data retained', 'soft-deleted']);
  });

  it('names at most five items, then how many more', () => {
    const holds = Array.from({ length: 7 }, (_, i) => itemHold(item(`vm${i}`)));
    expect(describeHolds(holds)).toBe(
      "7 backup items: 'vm0' (protected), 'vm1' (protected), 'vm2' (protected), 'vm3' (protected), 'vm4' (protected) and 2 more",
    );
    expect(describeHolds([itemHold(softDeleted)])).toBe("1 backup item: 'vm3' (soft-deleted)");
  });

  it('refuses to delete a vault with any item, saying which and why', () => {
    expect(() => assertVaultDeletable('v1', [])).not.toThrow();
    for (const blocking of [protectedVm, retained, softDeleted]) {
      const err = failure(() => assertVaultDeletable('v1', [blocking]));
      expect(err.code).toBe('ServiceResourceNotEmpty');
      expect(err.message).toContain(`'${blocking.vm.name}' (${itemHold(blocking).reason})`);
      expect(err.details).toEqual([expect.objectContaining({ target: blocking.itemName })]);
    }
  });

  it('locks the redundancy while any item exists; the current value is always accepted', () => {
    expect(storageLockReason([])).toBeUndefined();
    expect(() => assertStorageChangeAllowed(vault, 'LocallyRedundant', [])).not.toThrow();
    expect(() => assertStorageChangeAllowed(vault, 'GeoRedundant', [protectedVm])).not.toThrow();
    const err = failure(() => assertStorageChangeAllowed(vault, 'LocallyRedundant', [softDeleted]));
    expect(err).toMatchObject({ code: 'KluisStorageRedundancyLocked', target: 'properties.storageModelType' });
    expect(err.message).toContain('GeoRedundant to LocallyRedundant');
    expect(err.message).toContain("'vm3' (soft-deleted)");
  });
});

describe('soft delete', () => {
  it('keeps unchanged fields and checks the retention range', () => {
    expect(nextSoftDelete(vault, {})).toEqual({ state: 'Enabled', retentionDays: 14 });
    expect(nextSoftDelete(vault, { state: 'Disabled' })).toEqual({ state: 'Disabled', retentionDays: 14 });
    expect(nextSoftDelete(vault, { retentionDays: 180 })).toEqual({ state: 'Enabled', retentionDays: 180 });
    for (const days of [13, 181, 14.5]) {
      expect(failure(() => nextSoftDelete(vault, { retentionDays: days }))).toMatchObject({
        code: 'KluisInvalidRequest',
        target: 'properties.softDeleteRetentionPeriodInDays',
      });
    }
  });

  it('never leaves AlwaysON, but its retention can change', () => {
    const always: VaultRecord = { ...vault, softDelete: { state: 'AlwaysON', retentionDays: 14 } };
    expect(nextSoftDelete(vault, { state: 'AlwaysON' }).state).toBe('AlwaysON');
    expect(nextSoftDelete(always, { retentionDays: 30 })).toEqual({ state: 'AlwaysON', retentionDays: 30 });
    for (const state of ['Enabled', 'Disabled'] as const) {
      expect(failure(() => nextSoftDelete(always, { state }))).toMatchObject({ code: 'KluisSoftDeleteAlwaysOn', target: 'properties.softDeleteFeatureState' });
    }
  });
});

describe('location', () => {
  it('compares regions without case or spaces', () => {
    expect(normalizeLocation('West Europe')).toBe('westeurope');
    expect(() => assertSameLocation(vault, 'West Europe')).not.toThrow();
    expect(failure(() => assertSameLocation(vault, 'northeurope'))).toMatchObject({ code: 'InvalidResourceLocation', target: 'location' });
    expect(failure(() => normalizeLocation('west/europe'))).toMatchObject({ code: 'KluisInvalidRequest', target: 'location' });
  });
});
