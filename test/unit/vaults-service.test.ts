/**
 * The vault service on the in-memory catalog: create-or-update with DefaultPolicy, lists, delete,
 * storage redundancy and soft delete configuration — and for every rejected request, that the
 * catalog is exactly as it was.
 */
import { vaultId } from '../../lib/domain/arm-names';
import type { VaultPutBody } from '../../lib/domain/arm/vault-resource';
import { nameRow, vaultKey, vaultPartition, vaultRow, type VaultRecord } from '../../lib/domain/catalog';
import { defaultPolicy, policyPropertiesForResponse, validatePolicy } from '../../lib/domain/policy-rules';
import { collect } from '../../lib/stores/document-store';
import { memoryVaultCatalog, type VaultCatalog } from '../../lib/stores/vault-catalog';
import {
  createOrUpdateVault,
  deleteVault,
  getStorageConfig,
  getVault,
  getVaultConfig,
  listVaults,
  updateStorageConfig,
  updateVaultConfig,
  type VaultDeps,
} from '../../lib/services/vaults';
import { catalogSnapshot, itemRecord, putItem, rejection, SUBSCRIPTION, vaultRef } from '../support/vault-fixtures';

const T0 = new Date('2026-03-01T10:00:00.000Z');

describe('vault service', () => {
  let catalog: VaultCatalog;
  let now: Date;
  let deps: VaultDeps;
  const ref = vaultRef();
  const body: VaultPutBody = { location: 'West Europe' };

  beforeEach(() => {
    catalog = memoryVaultCatalog();
    now = T0;
    deps = { catalog, clock: () => now };
  });

  /** Runs a request that must be rejected and checks that it changed nothing. */
  async function rejected(request: () => Promise<unknown>) {
    const before = await catalogSnapshot(catalog);
    const error = await rejection(request());
    expect(await catalogSnapshot(catalog)).toEqual(before);
    return error;
  }

  const policiesOf = async (vault = ref) => collect(catalog.policies.list(vaultKey(vault.subscriptionId, vault.resourceGroup, vault.vaultName)));

  describe('createOrUpdateVault', () => {
    it('creates a vault with defaults and its DefaultPolicy', async () => {
      const { vault, created } = await createOrUpdateVault(deps, ref, { ...body, tags: { env: 'test' } });
      expect(created).toBe(true);
      expect(vault.value).toEqual({
        id: vaultId(ref),
        subscriptionId: SUBSCRIPTION,
        resourceGroup: 'rg-backup',
        name: 'vault1',
        location: 'westeurope',
        tags: { env: 'test' },
        storageModelType: 'GeoRedundant',
        softDelete: { state: 'Enabled', retentionDays: 14 },
        createdAt: T0.toISOString(),
        updatedAt: T0.toISOString(),
      });
      const policies = await policiesOf();
      expect(policies.map((p) => p.value.name)).toEqual(['DefaultPolicy']);
      expect(policies[0].value.properties).toEqual(policyPropertiesForResponse(validatePolicy(defaultPolicy())));
      expect(policies[0].value.vaultId).toBe(vaultId(ref));
    });

    it('takes redundancy and soft delete settings from the body on creation', async () => {
      const { vault } = await createOrUpdateVault(deps, ref, {
        location: 'eastus2',
        properties: {
          redundancySettings: { standardTierStorageRedundancy: 'ZoneRedundant' },
          securitySettings: { softDeleteSettings: { softDeleteState: 'AlwaysON', softDeleteRetentionPeriodInDays: 30 } },
        },
      });
      expect(vault.value).toMatchObject({ storageModelType: 'ZoneRedundant', softDelete: { state: 'AlwaysON', retentionDays: 30 } });
    });

    it('updates on a second PUT: tags replaced, redundancy and soft delete kept unless named, creation time kept', async () => {
      await createOrUpdateVault(deps, ref, { ...body, tags: { a: '1' } });
      now = new Date('2026-03-02T00:00:00.000Z');
      const { vault, created } = await createOrUpdateVault(deps, { ...ref, vaultName: 'VAULT1' }, { location: 'westeurope', tags: { b: '2' } });
      expect(created).toBe(false);
      expect(vault.value).toMatchObject({ name: 'vault1', tags: { b: '2' }, storageModelType: 'GeoRedundant', createdAt: T0.toISOString(), updatedAt: now.toISOString() });
      const untagged = await createOrUpdateVault(deps, ref, body);
      expect(untagged.vault.value.tags).toBeUndefined();
      const changed = await createOrUpdateVault(deps, ref, { ...body, properties: { redundancySettings: { standardTierStorageRedundancy: 'LocallyRedundant' } } });
      expect(changed.vault.value.storageModelType).toBe('LocallyRedundant');
      expect((await policiesOf()).length).toBe(1);
    });

    it('lets exactly one of two concurrent PUTs create the vault', async () => {
      const results = await Promise.all([createOrUpdateVault(deps, ref, body), createOrUpdateVault(deps, ref, body)]);
      expect(results.map((r) => r.created).sort()).toEqual([false, true]);
      expect(await collect(catalog.vaults.listAll())).toHaveLength(1);
      expect((await policiesOf()).map((p) => p.value.name)).toEqual(['DefaultPolicy']);
    });

    it('finishes a creation that stopped before DefaultPolicy, and never re-creates a deleted DefaultPolicy', async () => {
      const pending: VaultRecord = {
        id: vaultId(ref),
        subscriptionId: SUBSCRIPTION,
        resourceGroup: 'rg-backup',
        name: 'vault1',
        location: 'westeurope',
        storageModelType: 'GeoRedundant',
        softDelete: { state: 'Enabled', retentionDays: 14 },
        createdAt: T0.toISOString(),
        defaultPolicyPending: true,
      };
      await catalog.vaults.insert(vaultPartition(SUBSCRIPTION), vaultRow('rg-backup', 'vault1'), pending);
      const { vault, created } = await createOrUpdateVault(deps, ref, body);
      expect(created).toBe(false);
      expect(vault.value.defaultPolicyPending).toBeUndefined();
      expect((await policiesOf()).map((p) => p.value.name)).toEqual(['DefaultPolicy']);

      await catalog.policies.delete(vaultKey(SUBSCRIPTION, 'rg-backup', 'vault1'), nameRow('DefaultPolicy'));
      await createOrUpdateVault(deps, ref, body);
      expect(await policiesOf()).toEqual([]);
    });

    it.each([
      ['subscription id', { ...ref, subscriptionId: 'not-a-guid' }, 'InvalidSubscriptionId', 'subscriptionId'],
      ['resource group', { ...ref, resourceGroup: 'rg.' }, 'KluisInvalidResourceName', 'resourceGroupName'],
      ['vault name (too short)', { ...ref, vaultName: 'v' }, 'KluisInvalidResourceName', 'vaultName'],
      ['vault name (digit first)', { ...ref, vaultName: '1vault' }, 'KluisInvalidResourceName', 'vaultName'],
      ['vault name (underscore)', { ...ref, vaultName: 'my_vault' }, 'KluisInvalidResourceName', 'vaultName'],
    ])('refuses a bad %s without writing', async (_what, badRef, code, target) => {
      expect(await rejected(() => createOrUpdateVault(deps, badRef, body))).toMatchObject({ code, target, status: 400 });
    });

    it('refuses a bad location, and a move to another region', async () => {
      expect(await rejected(() => createOrUpdateVault(deps, ref, { location: 'west/europe' }))).toMatchObject({ code: 'KluisInvalidRequest', target: 'location' });
      await createOrUpdateVault(deps, ref, body);
      expect(await rejected(() => createOrUpdateVault(deps, ref, { location: 'northeurope', tags: { x: 'y' } }))).toMatchObject({
        code: 'InvalidResourceLocation',
        target: 'location',
      });
    });

    it('refuses a soft delete retention outside 14–180 days and leaving AlwaysON', async () => {
      const settings = (softDeleteState: 'Enabled' | 'AlwaysON', days: number): VaultPutBody => ({
        ...body,
        properties: { securitySettings: { softDeleteSettings: { softDeleteState, softDeleteRetentionPeriodInDays: days } } },
      });
      expect(await rejected(() => createOrUpdateVault(deps, ref, settings('Enabled', 200)))).toMatchObject({
        code: 'KluisInvalidRequest',
        target: 'properties.securitySettings.softDeleteSettings.softDeleteRetentionPeriodInDays',
      });
      await createOrUpdateVault(deps, ref, settings('AlwaysON', 14));
      expect(await rejected(() => createOrUpdateVault(deps, ref, settings('Enabled', 14)))).toMatchObject({
        code: 'KluisSoftDeleteAlwaysOn',
        target: 'properties.securitySettings.softDeleteSettings.softDeleteState',
      });
    });

    it('refuses a redundancy change while the vault holds items', async () => {
      await createOrUpdateVault(deps, ref, body);
      await putItem(catalog, ref, itemRecord(ref, 'vm1', 'retained'));
      const error = await rejected(() => createOrUpdateVault(deps, ref, { ...body, properties: { redundancySettings: { standardTierStorageRedundancy: 'LocallyRedundant' } } }));
      expect(error).toMatchObject({ code: 'KluisStorageRedundancyLocked', target: 'properties.redundancySettings.standardTierStorageRedundancy', status: 409 });
      expect(error.message).toContain("'vm1' (stopped, data retained)");
    });

    it('keeps vault names unique per subscription, ignoring case', async () => {
      await createOrUpdateVault(deps, ref, body);
      const error = await rejected(() => createOrUpdateVault(deps, { ...ref, resourceGroup: 'rg-other', vaultName: 'Vault1' }, body));
      expect(error).toMatchObject({ code: 'KluisVaultNameInUse', target: 'vaultName', status: 409 });
      const elsewhere = await createOrUpdateVault(deps, { ...ref, subscriptionId: '11111111-2222-3333-4444-555555555555' }, body);
      expect(elsewhere.created).toBe(true);
    });

    it('refuses the 501st vault of a subscription', async () => {
      const template = (await createOrUpdateVault(deps, ref, body)).vault.value;
      for (let i = 1; i < 500; i++) {
        await catalog.vaults.insert(vaultPartition(SUBSCRIPTION), vaultRow('rg-bulk', `v${i}`), { ...template, resourceGroup: 'rg-bulk', name: `v${i}` });
      }
      expect(await rejected(() => createOrUpdateVault(deps, vaultRef('one-more'), body))).toMatchObject({ code: 'KluisVaultLimitReached', status: 409 });
      // Updating one of the 500 is still fine.
      expect((await createOrUpdateVault(deps, ref, { ...body, tags: { t: '1' } })).created).toBe(false);
    });
  });

  describe('getVault and listVaults', () => {
    it('gets a vault in any casing and answers ResourceNotFound for an unknown one', async () => {
      await createOrUpdateVault(deps, ref, body);
      expect((await getVault(deps, { ...ref, resourceGroup: 'RG-BACKUP', vaultName: 'Vault1' })).value.name).toBe('vault1');
      expect(await rejection(getVault(deps, vaultRef('nope')))).toMatchObject({ code: 'ResourceNotFound', status: 404, target: 'vaultName' });
      expect(await rejection(getVault(deps, vaultRef('n')))).toMatchObject({ code: 'KluisInvalidResourceName' });
    });

    it('lists by subscription and by resource group (a prefix of another group does not match)', async () => {
      await createOrUpdateVault(deps, vaultRef('a-vault', 'rg'), body);
      await createOrUpdateVault(deps, vaultRef('b-vault', 'rg2'), body);
      await createOrUpdateVault(deps, vaultRef('c-vault', 'rg', '99999999-2222-3333-4444-555555555555'), body);
      expect((await listVaults(deps, SUBSCRIPTION)).map((v) => v.value.name)).toEqual(['a-vault', 'b-vault']);
      expect((await listVaults(deps, SUBSCRIPTION, 'RG')).map((v) => v.value.name)).toEqual(['a-vault']);
      expect(await listVaults(deps, SUBSCRIPTION, 'rg3')).toEqual([]);
      expect(await rejection(listVaults(deps, 'x'))).toMatchObject({ code: 'InvalidSubscriptionId' });
      expect(await rejection(listVaults(deps, SUBSCRIPTION, 'bad/rg'))).toMatchObject({ code: 'KluisInvalidResourceName', target: 'resourceGroupName' });
    });
  });

  describe('deleteVault', () => {
    it.each(['protected', 'retained', 'softDeleted'] as const)('refuses while a %s item is in the vault, naming it', async (state) => {
      await createOrUpdateVault(deps, ref, body);
      await putItem(catalog, ref, itemRecord(ref, 'vm-a', state));
      const error = await rejected(() => deleteVault(deps, ref));
      expect(error).toMatchObject({ code: 'ServiceResourceNotEmpty', status: 400, target: 'vaultName' });
      expect(error.message).toContain("1 backup item: 'vm-a'");
    });

    it('names at most five items and the count', async () => {
      await createOrUpdateVault(deps, ref, body);
      for (let i = 0; i < 7; i++) await putItem(catalog, ref, itemRecord(ref, `vm${i}`, i % 2 === 0 ? 'protected' : 'softDeleted'));
      const error = await rejected(() => deleteVault(deps, ref));
      expect(error.message).toContain('7 backup items:');
      expect(error.message).toContain("'vm1' (soft-deleted)");
      expect(error.message).toContain('and 2 more');
      expect(error.details).toHaveLength(5);
    });

    it('deletes the policies, jobs and operations of the vault, then the vault; a second delete finds nothing', async () => {
      await createOrUpdateVault(deps, ref, body);
      const other = vaultRef('vault2');
      await createOrUpdateVault(deps, other, body);
      await putItem(catalog, other, itemRecord(other, 'vm-elsewhere'));
      const partition = vaultKey(SUBSCRIPTION, 'rg-backup', 'vault1');
      await catalog.jobs.insert(partition, 'job-1', {
        vaultId: vaultId(ref),
        jobId: 'job-1',
        operation: 'Backup',
        status: 'Completed',
        entityFriendlyName: 'vm1',
        startTime: T0.toISOString(),
        isUserTriggered: true,
        tasks: [],
        propertyBag: {},
      });
      await catalog.operations.insert(partition, 'op-1', { vaultId: vaultId(ref), operationId: 'op-1', name: 'op-1', status: 'Succeeded', startTime: T0.toISOString() });

      expect(await deleteVault(deps, ref)).toEqual({ deleted: true });
      expect(await policiesOf()).toEqual([]);
      expect(await collect(catalog.jobs.listAll())).toEqual([]);
      expect(await collect(catalog.operations.listAll())).toEqual([]);
      expect((await listVaults(deps, SUBSCRIPTION)).map((v) => v.value.name)).toEqual(['vault2']);
      expect((await policiesOf(other)).length).toBe(1);
      expect(await deleteVault(deps, ref)).toEqual({ deleted: false });
    });
  });

  describe('storage config', () => {
    beforeEach(async () => {
      await createOrUpdateVault(deps, ref, body);
    });

    it('changes the redundancy while the vault is empty', async () => {
      const initial = await getStorageConfig(deps, ref);
      expect(initial.storageModelType).toBe('GeoRedundant');
      expect(initial.lockedBecause).toBeUndefined();
      now = new Date('2026-03-05T00:00:00.000Z');
      const config = await updateStorageConfig(deps, ref, { properties: { storageModelType: 'LocallyRedundant' } }, { partial: false });
      expect(config.storageModelType).toBe('LocallyRedundant');
      expect((await getVault(deps, ref)).value).toMatchObject({ storageModelType: 'LocallyRedundant', updatedAt: now.toISOString() });
      expect((await updateStorageConfig(deps, ref, { properties: { storageType: 'ZoneRedundant' } }, { partial: true })).storageModelType).toBe('ZoneRedundant');
      expect((await updateStorageConfig(deps, ref, { properties: {} }, { partial: true })).storageModelType).toBe('ZoneRedundant');
    });

    it('locks the redundancy while any item exists, naming why; the current value is accepted', async () => {
      await putItem(catalog, ref, itemRecord(ref, 'vm1', 'softDeleted'));
      expect((await getStorageConfig(deps, ref)).lockedBecause).toContain("'vm1' (soft-deleted)");
      const error = await rejected(() => updateStorageConfig(deps, ref, { properties: { storageModelType: 'LocallyRedundant' } }, { partial: true }));
      expect(error).toMatchObject({ code: 'KluisStorageRedundancyLocked', target: 'properties.storageModelType' });
      expect(error.message).toContain('GeoRedundant to LocallyRedundant');
      const same = await updateStorageConfig(deps, ref, { properties: { storageModelType: 'GeoRedundant' } }, { partial: false });
      expect(same.lockedBecause).toBeDefined();
    });

    it('refuses a PUT without a redundancy, or with two that disagree', async () => {
      expect(await rejected(() => updateStorageConfig(deps, ref, { properties: {} }, { partial: false }))).toMatchObject({
        code: 'KluisInvalidRequest',
        target: 'properties.storageModelType',
      });
      expect(
        await rejected(() => updateStorageConfig(deps, ref, { properties: { storageModelType: 'LocallyRedundant', storageType: 'ZoneRedundant' } }, { partial: true })),
      ).toMatchObject({ code: 'KluisInvalidRequest', target: 'properties.storageType' });
    });

    it('answers ResourceNotFound for an unknown vault', async () => {
      expect(await rejected(() => updateStorageConfig(deps, vaultRef('ghost'), { properties: { storageModelType: 'LocallyRedundant' } }, { partial: false }))).toMatchObject({
        code: 'ResourceNotFound',
      });
      expect(await rejection(getStorageConfig(deps, vaultRef('ghost')))).toMatchObject({ code: 'ResourceNotFound' });
    });
  });

  describe('vault config (soft delete)', () => {
    beforeEach(async () => {
      await createOrUpdateVault(deps, ref, body);
    });

    it('changes state and retention; fields left out keep their value', async () => {
      expect((await getVaultConfig(deps, ref)).softDelete).toEqual({ state: 'Enabled', retentionDays: 14 });
      expect((await updateVaultConfig(deps, ref, { properties: { softDeleteRetentionPeriodInDays: 60 } })).softDelete).toEqual({ state: 'Enabled', retentionDays: 60 });
      expect((await updateVaultConfig(deps, ref, { properties: { softDeleteFeatureState: 'Disabled' } })).softDelete).toEqual({ state: 'Disabled', retentionDays: 60 });
      expect((await updateVaultConfig(deps, ref, { properties: { softDeleteFeatureState: 'AlwaysON' } })).softDelete).toEqual({ state: 'AlwaysON', retentionDays: 60 });
    });

    it('refuses retention outside 14–180 days and turning AlwaysON off', async () => {
      expect(await rejected(() => updateVaultConfig(deps, ref, { properties: { softDeleteRetentionPeriodInDays: 7 } }))).toMatchObject({
        code: 'KluisInvalidRequest',
        target: 'properties.softDeleteRetentionPeriodInDays',
      });
      await updateVaultConfig(deps, ref, { properties: { softDeleteFeatureState: 'AlwaysON' } });
      expect(await rejected(() => updateVaultConfig(deps, ref, { properties: { softDeleteFeatureState: 'Disabled' } }))).toMatchObject({
        code: 'KluisSoftDeleteAlwaysOn',
        status: 409,
      });
    });

    it('does not write when nothing changes', async () => {
      const before = await catalogSnapshot(catalog);
      await updateVaultConfig(deps, ref, { properties: { softDeleteFeatureState: 'Enabled', softDeleteRetentionPeriodInDays: 14 } });
      expect(await catalogSnapshot(catalog)).toEqual(before);
    });
  });
});
