/**
 * Resource groups as Azure Resource Manager serves them: create or update (PUT: 201, then 200),
 * get, check existence (HEAD), list, patch tags, delete. Every route under
 * `/subscriptions/{s}/resourceGroups/{rg}/…` checks `assertArmScope` first, so a vault cannot be made
 * in a group that does not exist (ResourceGroupNotFound, as ARM answers).
 *
 * Deletion does not cascade: ARM would delete the group's resources, Kluis refuses while the group
 * holds vaults, fabric VMs or Kluis's storage accounts (ResourceGroupDeletionBlocked names them).
 */
import { assertValidResourceGroupName, vaultId } from '../domain/arm-names';
import { vaultPartition } from '../domain/catalog';
import { errors } from '../domain/errors';
import {
  implicitStorageResourceGroup,
  sameName,
  type LocalTenancy,
  type ResourceGroupPatchBody,
  type ResourceGroupPutBody,
  type ResourceGroupRecord,
} from '../domain/tenancy';
import { collect, updateDocument } from '../stores/document-store';
import { resourceGroupPartition, resourceGroupRow, type TenancyCatalog } from '../stores/tenancy-catalog';
import type { VaultCatalog } from '../stores/vault-catalog';
import type { VmInventory } from '../stores/vm-inventory';
import { assertSubscription } from './subscriptions';

export interface ResourceGroupDeps {
  tenancy: TenancyCatalog;
  local: LocalTenancy;
  clock: () => Date;
}

/** What a group delete checks for resources still inside. */
export interface ResourceGroupContentsDeps extends ResourceGroupDeps {
  vaults: Pick<VaultCatalog, 'vaults'>;
  inventory: Pick<VmInventory, 'list'>;
  /** Names of the storage accounts Kluis shows in the storage resource group. */
  storageAccountNames: readonly string[];
}

export interface ArmScope {
  subscriptionId: string;
  resourceGroup?: string;
}

/**
 * What ARM checks before any provider sees a request: the subscription exists (InvalidSubscriptionId,
 * SubscriptionNotFound) and, for a path inside a resource group, the group exists (ResourceGroupNotFound).
 */
export async function assertArmScope(deps: Pick<ResourceGroupDeps, 'tenancy' | 'local'>, scope: ArmScope): Promise<void> {
  await assertSubscription(deps, scope.subscriptionId);
  if (scope.resourceGroup === undefined) return;
  assertValidResourceGroupName(scope.resourceGroup);
  if ((await findResourceGroup(deps, scope.subscriptionId, scope.resourceGroup)) === undefined) {
    throw errors.resourceGroupNotFound(scope.resourceGroup);
  }
}

export async function findResourceGroup(
  deps: Pick<ResourceGroupDeps, 'tenancy' | 'local'>,
  subscriptionId: string,
  name: string,
): Promise<ResourceGroupRecord | undefined> {
  const stored = await deps.tenancy.resourceGroups.get(resourceGroupPartition(subscriptionId), resourceGroupRow(name));
  if (stored !== undefined) return stored.value;
  return isStorageGroup(deps.local, subscriptionId, name) ? implicitStorageResourceGroup(deps.local) : undefined;
}

export async function getResourceGroup(deps: Pick<ResourceGroupDeps, 'tenancy' | 'local'>, subscriptionId: string, name: string): Promise<ResourceGroupRecord> {
  await assertArmScope(deps, { subscriptionId, resourceGroup: name });
  return (await findResourceGroup(deps, subscriptionId, name)) as ResourceGroupRecord;
}

/** HEAD: whether the group exists (204 / 404); a malformed or unknown subscription still fails. */
export async function resourceGroupExists(deps: Pick<ResourceGroupDeps, 'tenancy' | 'local'>, subscriptionId: string, name: string): Promise<boolean> {
  await assertSubscription(deps, subscriptionId);
  assertValidResourceGroupName(name);
  return (await findResourceGroup(deps, subscriptionId, name)) !== undefined;
}

export async function listResourceGroups(deps: Pick<ResourceGroupDeps, 'tenancy' | 'local'>, subscriptionId: string): Promise<ResourceGroupRecord[]> {
  await assertSubscription(deps, subscriptionId);
  const groups = (await collect(deps.tenancy.resourceGroups.list(resourceGroupPartition(subscriptionId)))).map((doc) => doc.value);
  if (isDefaultSubscription(deps.local, subscriptionId) && !groups.some((group) => sameName(group.name, deps.local.storageResourceGroup))) {
    groups.push(implicitStorageResourceGroup(deps.local));
  }
  return groups.sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
}

/**
 * PUT: creates the group (created: true → 201) or replaces its tags and managedBy (200). The location
 * never changes: a different one is InvalidResourceGroupLocation.
 */
export async function createOrUpdateResourceGroup(
  deps: ResourceGroupDeps,
  subscriptionId: string,
  name: string,
  body: ResourceGroupPutBody,
): Promise<{ group: ResourceGroupRecord; created: boolean }> {
  await assertSubscription(deps, subscriptionId);
  assertValidResourceGroupName(name);
  const partition = resourceGroupPartition(subscriptionId);
  const row = resourceGroupRow(name);
  for (let attempt = 1; ; attempt++) {
    const current = await findResourceGroup(deps, subscriptionId, name);
    if (current !== undefined && current.location !== body.location) {
      throw errors.invalidResourceGroupLocation(name, current.location, body.location);
    }
    const next: ResourceGroupRecord = {
      subscriptionId: current?.subscriptionId ?? subscriptionId,
      name: current?.name ?? name,
      location: body.location,
      ...(body.managedBy === undefined ? {} : { managedBy: body.managedBy }),
      ...(body.tags === undefined ? {} : { tags: body.tags }),
      createdAt: current?.createdAt ?? deps.clock().toISOString(),
    };
    const stored = await deps.tenancy.resourceGroups.get(partition, row);
    try {
      if (stored === undefined) {
        await deps.tenancy.resourceGroups.insert(partition, row, next);
        // The implicit storage group becomes a stored one: to its user it already existed.
        return { group: next, created: current === undefined };
      }
      await deps.tenancy.resourceGroups.replace(partition, row, next, stored.etag);
      return { group: next, created: false };
    } catch (err) {
      if (attempt >= 3 || (err as { code?: string }).code !== 'KluisCatalogConflict') throw err;
    }
  }
}

/** PATCH: tags and managedBy of an existing group; fields left out keep their value. */
export async function updateResourceGroup(
  deps: ResourceGroupDeps,
  subscriptionId: string,
  name: string,
  body: ResourceGroupPatchBody,
): Promise<ResourceGroupRecord> {
  const current = await getResourceGroup(deps, subscriptionId, name);
  const change = (group: ResourceGroupRecord): ResourceGroupRecord => ({
    ...group,
    ...(body.managedBy === undefined ? {} : { managedBy: body.managedBy }),
    ...(body.tags === undefined ? {} : { tags: body.tags }),
  });
  const partition = resourceGroupPartition(subscriptionId);
  const row = resourceGroupRow(name);
  const updated = await updateDocument(deps.tenancy.resourceGroups, partition, row, change);
  if (updated !== undefined) return updated.value;
  // The implicit storage group: store it with the change.
  const next = change(current);
  await deps.tenancy.resourceGroups.insert(partition, row, next);
  return next;
}

/** DELETE: ResourceGroupNotFound for a missing group; refused while it holds vaults, fabric VMs or Kluis's storage accounts. */
export async function deleteResourceGroup(deps: ResourceGroupContentsDeps, subscriptionId: string, name: string): Promise<void> {
  const group = await getResourceGroup(deps, subscriptionId, name);
  const blocking = await resourcesIn(deps, subscriptionId, group.name);
  if (blocking.length > 0) throw errors.resourceGroupDeletionBlocked(group.name, blocking);
  await deps.tenancy.resourceGroups.delete(resourceGroupPartition(subscriptionId), resourceGroupRow(name));
}

/** Ids of the resources Kluis knows in a group: vaults, VMs and (the storage group) storage accounts. */
export async function resourcesIn(deps: ResourceGroupContentsDeps, subscriptionId: string, resourceGroup: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const vault of deps.vaults.vaults.list(vaultPartition(subscriptionId), { rowPrefix: `${resourceGroup.toLowerCase()}~` })) {
    ids.push(vaultId({ subscriptionId: vault.value.subscriptionId, resourceGroup: vault.value.resourceGroup, vaultName: vault.value.name }));
  }
  for await (const vm of deps.inventory.list(subscriptionId)) {
    if (sameName(vm.resourceGroup, resourceGroup)) ids.push(vm.id);
  }
  if (isStorageGroup(deps.local, subscriptionId, resourceGroup)) {
    for (const account of deps.storageAccountNames) {
      ids.push(`/subscriptions/${subscriptionId}/resourceGroups/${deps.local.storageResourceGroup}/providers/Microsoft.Storage/storageAccounts/${account}`);
    }
  }
  return ids;
}

function isDefaultSubscription(local: LocalTenancy, subscriptionId: string): boolean {
  return sameName(local.subscriptionId, subscriptionId);
}

function isStorageGroup(local: LocalTenancy, subscriptionId: string, name: string): boolean {
  return isDefaultSubscription(local, subscriptionId) && sameName(local.storageResourceGroup, name);
}

/**
 * Creates the group if it does not exist yet (in `location`), whatever the subscription: what a portal's
 * "create new" resource group does for a VM. The local fabric calls it when it creates a VM, so every
 * fabric VM's group exists for the ARM routes.
 */
export async function ensureResourceGroup(deps: ResourceGroupDeps, subscriptionId: string, name: string, location: string): Promise<void> {
  assertValidResourceGroupName(name);
  if ((await findResourceGroup(deps, subscriptionId, name)) !== undefined) return;
  const record: ResourceGroupRecord = { subscriptionId: subscriptionId.toLowerCase(), name, location, createdAt: deps.clock().toISOString() };
  try {
    await deps.tenancy.resourceGroups.insert(resourceGroupPartition(subscriptionId), resourceGroupRow(name), record);
  } catch (err) {
    if ((err as { code?: string }).code !== 'KluisCatalogConflict') throw err;
  }
}
