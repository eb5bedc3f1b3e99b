/**
 * Subscriptions, aliases and resource groups over the in-memory registry: the default subscription,
 * alias registration, the ARM scope check, resource group PUT/PATCH/DELETE rules and the implicit
 * storage resource group.
 */
import type { LocalTenancy } from '../../lib/domain/tenancy';
import {
  assertArmScope,
  createOrUpdateResourceGroup,
  deleteResourceGroup,
  ensureResourceGroup,
  listResourceGroups,
  resourceGroupExists,
  updateResourceGroup,
} from '../../lib/services/resource-groups';
import { assertSubscription, createSubscriptionAlias, listSubscriptionAliases, listSubscriptions, setSubscriptionState } from '../../lib/services/subscriptions';
import { memoryTenancyCatalog } from '../../lib/stores/tenancy-catalog';
import { memoryVaultCatalog } from '../../lib/stores/vault-catalog';
import { MemoryVmInventory } from '../../lib/stores/memory/vm-inventory';
import { vaultRecord, rejection } from '../support/vault-fixtures';

const LOCAL: LocalTenancy = {
  tenantId: '00000000-0000-0000-0000-0000000000a1',
  subscriptionId: '11111111-1111-4111-8111-111111111111',
  subscriptionName: 'Local',
  location: 'westeurope',
  storageResourceGroup: 'kluis-storage',
};
const OTHER = '22222222-2222-4222-8222-222222222222';
const NOW = new Date('2026-03-01T10:00:00Z');

function deps() {
  let ids = 0;
  return { tenancy: memoryTenancyCatalog(), local: LOCAL, clock: () => NOW, newId: () => `33333333-3333-4333-8333-${String(++ids).padStart(12, '0')}` };
}

describe('subscriptions', () => {
  it('always has the default subscription, in the local tenant', async () => {
    const d = deps();
    expect(await listSubscriptions(d)).toEqual([expect.objectContaining({ subscriptionId: LOCAL.subscriptionId, displayName: 'Local', tenantId: LOCAL.tenantId, state: 'Enabled' })]);
    expect((await assertSubscription(d, LOCAL.subscriptionId.toUpperCase())).subscriptionId).toBe(LOCAL.subscriptionId);
  });

  it('refuses malformed ids (400) and unknown ones (404)', async () => {
    expect(await rejection(assertSubscription(deps(), 'nope'))).toMatchObject({ code: 'InvalidSubscriptionId', status: 400 });
    expect(await rejection(assertSubscription(deps(), OTHER))).toMatchObject({ code: 'SubscriptionNotFound', status: 404 });
  });

  it('registers a subscription per alias, with the given id or a new one, idempotently', async () => {
    const d = deps();
    const first = await createSubscriptionAlias(d, 'team-a', { properties: { displayName: 'Team A', subscriptionId: OTHER.toUpperCase() } });
    expect(first).toMatchObject({ created: true, subscription: { subscriptionId: OTHER, displayName: 'Team A', alias: 'team-a', createdAt: NOW.toISOString() } });
    expect((await createSubscriptionAlias(d, 'TEAM-A', { properties: { displayName: 'Other name' } })).created).toBe(false);
    const fresh = await createSubscriptionAlias(d, 'team-b', { properties: {} });
    expect(fresh.subscription).toMatchObject({ subscriptionId: '33333333-3333-4333-8333-000000000001', displayName: 'team-b' });
    expect((await listSubscriptions(d)).map((s) => s.subscriptionId)).toEqual([LOCAL.subscriptionId, OTHER, fresh.subscription.subscriptionId]);
    expect(await rejection(createSubscriptionAlias(d, 'team-c', { properties: { subscriptionId: OTHER } }))).toMatchObject({ code: 'KluisInvalidRequest', target: 'properties.subscriptionId' });
    expect(await rejection(createSubscriptionAlias(d, 'bad/alias', { properties: {} }))).toMatchObject({ code: 'KluisInvalidResourceName', target: 'aliasName' });
    expect(await rejection(createSubscriptionAlias(d, 'team-d', { properties: { additionalProperties: { subscriptionTenantId: OTHER } } }))).toMatchObject({ code: 'KluisInvalidRequest' });
    // The default subscription cannot be registered again under an alias.
    expect(await rejection(createSubscriptionAlias(d, 'team-e', { properties: { subscriptionId: LOCAL.subscriptionId } }))).toMatchObject({ code: 'KluisInvalidRequest' });
  });

  it('lets the admin change a subscription state, the default one included, and refuses unknown states and ids', async () => {
    const d = deps();
    await createSubscriptionAlias(d, 'team-a', { properties: { displayName: 'Team A', subscriptionId: OTHER } });
    expect(await setSubscriptionState(d, LOCAL.subscriptionId, 'Disabled')).toMatchObject({ subscriptionId: LOCAL.subscriptionId, state: 'Disabled' });
    expect(await setSubscriptionState(d, OTHER, 'Deleted')).toMatchObject({ state: 'Deleted', alias: 'team-a' });
    expect((await listSubscriptions(d)).map((s) => [s.subscriptionId, s.state, s.displayName])).toEqual([[LOCAL.subscriptionId, 'Disabled', 'Local'], [OTHER, 'Deleted', 'Team A']]);
    expect((await assertSubscription(d, LOCAL.subscriptionId)).state).toBe('Disabled');
    expect((await listSubscriptionAliases(d)).map((a) => a.alias)).toEqual(['team-a']); // the default's state row is no alias
    await setSubscriptionState(d, LOCAL.subscriptionId, 'Enabled');
    expect((await assertSubscription(d, LOCAL.subscriptionId)).state).toBe('Enabled');
    expect(await rejection(setSubscriptionState(d, LOCAL.subscriptionId, 'Frozen' as never))).toMatchObject({ code: 'KluisInvalidRequest', target: 'state' });
    expect(await rejection(setSubscriptionState(d, '44444444-4444-4444-8444-444444444444', 'Disabled'))).toMatchObject({ code: 'SubscriptionNotFound' });
  });
});

describe('resource groups', () => {
  it('creates (created: true), updates tags, never moves, and lists with the implicit storage group', async () => {
    const d = deps();
    const made = await createOrUpdateResourceGroup(d, LOCAL.subscriptionId, 'rg-App', { location: 'westeurope', tags: { a: '1' } });
    expect(made).toEqual({ created: true, group: { subscriptionId: LOCAL.subscriptionId, name: 'rg-App', location: 'westeurope', tags: { a: '1' }, createdAt: NOW.toISOString() } });
    const again = await createOrUpdateResourceGroup(d, LOCAL.subscriptionId, 'RG-APP', { location: 'westeurope' });
    expect(again).toMatchObject({ created: false, group: { name: 'rg-App' } });
    expect(again.group.tags).toBeUndefined();
    expect(await rejection(createOrUpdateResourceGroup(d, LOCAL.subscriptionId, 'rg-app', { location: 'eastus' }))).toMatchObject({ code: 'InvalidResourceGroupLocation', status: 409 });
    expect((await updateResourceGroup(d, LOCAL.subscriptionId, 'rg-app', { tags: { b: '2' } })).tags).toEqual({ b: '2' });
    expect((await listResourceGroups(d, LOCAL.subscriptionId)).map((g) => g.name)).toEqual(['kluis-storage', 'rg-App']);
    // Another subscription has no implicit group, and must exist.
    expect(await rejection(listResourceGroups(d, OTHER))).toMatchObject({ code: 'SubscriptionNotFound' });
  });

  it('checks the ARM scope: subscription first, then the group name and existence', async () => {
    const d = deps();
    await createOrUpdateResourceGroup(d, LOCAL.subscriptionId, 'rg-1', { location: 'westeurope' });
    await expect(assertArmScope(d, { subscriptionId: LOCAL.subscriptionId, resourceGroup: 'RG-1' })).resolves.toBeUndefined();
    await expect(assertArmScope(d, { subscriptionId: LOCAL.subscriptionId, resourceGroup: 'kluis-storage' })).resolves.toBeUndefined();
    expect(await rejection(assertArmScope(d, { subscriptionId: LOCAL.subscriptionId, resourceGroup: 'rg-2' }))).toMatchObject({ code: 'ResourceGroupNotFound', status: 404 });
    expect(await rejection(assertArmScope(d, { subscriptionId: LOCAL.subscriptionId, resourceGroup: 'rg.' }))).toMatchObject({ code: 'KluisInvalidResourceName' });
    expect(await rejection(assertArmScope(d, { subscriptionId: OTHER, resourceGroup: 'rg-1' }))).toMatchObject({ code: 'SubscriptionNotFound' });
    expect(await resourceGroupExists(d, LOCAL.subscriptionId, 'rg-2')).toBe(false);
  });

  it('refuses to delete a group that holds vaults, VMs or the storage accounts, and deletes an empty one', async () => {
    const d = deps();
    const vaults = memoryVaultCatalog();
    const inventory = new MemoryVmInventory();
    const contents = { ...d, vaults, inventory, storageAccountNames: ['devstoreaccount1'] };
    await createOrUpdateResourceGroup(d, LOCAL.subscriptionId, 'rg-full', { location: 'westeurope' });
    await vaults.vaults.insert(LOCAL.subscriptionId, 'rg-full~v1', vaultRecord(LOCAL.subscriptionId, 'rg-full', 'v1'));
    const blocked = await rejection(deleteResourceGroup(contents, LOCAL.subscriptionId, 'rg-full'));
    expect(blocked).toMatchObject({ code: 'ResourceGroupDeletionBlocked', status: 409 });
    expect(blocked.message).toContain('/providers/Microsoft.RecoveryServices/vaults/v1');
    const storage = await rejection(deleteResourceGroup(contents, LOCAL.subscriptionId, 'kluis-storage'));
    expect(storage.message).toContain('/storageAccounts/devstoreaccount1');

    await vaults.vaults.delete(LOCAL.subscriptionId, 'rg-full~v1');
    await deleteResourceGroup(contents, LOCAL.subscriptionId, 'rg-full');
    expect(await resourceGroupExists(d, LOCAL.subscriptionId, 'rg-full')).toBe(false);
    expect(await rejection(deleteResourceGroup(contents, LOCAL.subscriptionId, 'rg-full'))).toMatchObject({ code: 'ResourceGroupNotFound' });
  });

  it('ensures a fabric VM group exists without touching an existing one', async () => {
    const d = deps();
    await ensureResourceGroup(d, OTHER, 'rg-vms', 'northeurope');
    await ensureResourceGroup(d, OTHER, 'RG-VMS', 'westeurope');
    const stored = await d.tenancy.resourceGroups.get(OTHER, 'rg-vms');
    expect(stored?.value).toMatchObject({ name: 'rg-vms', location: 'northeurope' });
  });
});
