/**
 * Backup policies of a vault: create-or-update (validated by policy-rules' validatePolicy, at most
 * 200 per vault), read, list, delete (refused while items use the policy) and the items a policy
 * protects. `protectedItemsCount` is computed from the vault's items at read time, never stored.
 *
 * A policy edit only rewrites the policy: schedules and retention are read from it when they are
 * used, so an edit applies retroactively to existing recovery points (DESIGN §1). What may not
 * change on an existing policy: its type (Standard V1 / Enhanced V2) and its time zone (Azure fixes
 * both per policy; create a new policy instead).
 */
import { assertRetentionNotReduced } from '../domain/immutability';
import { assertValidPolicyName, VAULT_RESOURCE_TYPE, type VaultRef } from '../domain/arm-names';
import { nameRow, vaultKey, type PolicyRecord, type ProtectedItemRecord, type VaultRecord } from '../domain/catalog';
import { errors } from '../domain/errors';
import type { IaasVmPolicyProperties } from '../domain/policy';
import { policyPropertiesForResponse, validatePolicy, type NormalizedPolicy } from '../domain/policy-rules';
import { assertPolicyQuota, describeHolds, itemHold } from '../domain/vault-rules';
import { collect, type Stored } from '../stores/document-store';
import { getVault, type VaultDeps } from './vaults';

export interface PolicyView {
  policy: Stored<PolicyRecord>;
  /** Items whose policy this is (computed from the vault's items). */
  protectedItemsCount: number;
}

export interface PolicyWriteResult extends PolicyView {
  /** True when this request created the policy, false for an update (the API answers 200 for both, as Azure does). */
  created: boolean;
}

const WRITE_ATTEMPTS = 3;

/** PUT `{vault}/backupPolicies/{name}`: validates, then creates or replaces the policy. */
export async function createOrUpdatePolicy(
  deps: VaultDeps,
  ref: VaultRef,
  policyName: string,
  properties: IaasVmPolicyProperties,
): Promise<PolicyWriteResult> {
  const vault = await getVault(deps, ref);
  assertValidPolicyName(policyName);
  const normalized = validatePolicy(properties, { target: 'properties' });
  const partition = partitionOf(vault.value);
  for (let attempt = 1; ; attempt++) {
    const existing = await deps.catalog.policies.get(partition, nameRow(policyName));
    try {
      const now = deps.clock().toISOString();
      if (existing === undefined) {
        assertPolicyQuota(vault.value.name, (await collect(deps.catalog.policies.list(partition))).length);
        const record: PolicyRecord = { vaultId: vault.value.id, name: policyName, properties: storedProperties(normalized), createdAt: now, updatedAt: now };
        const policy = await deps.catalog.policies.insert(partition, nameRow(policyName), record);
        return { policy, protectedItemsCount: 0, created: true };
      }
      assertCompatibleEdit(existing.value, normalized);
      // Edits apply retroactively to existing points: an immutable vault lets none expire earlier.
      assertRetentionNotReduced(vault.value.immutability, existing.value.properties, normalized, 'properties.retentionPolicy');
      const record: PolicyRecord = { ...existing.value, properties: storedProperties(normalized), updatedAt: now };
      const policy = await deps.catalog.policies.replace(partition, existing.row, record, existing.etag);
      return { policy, protectedItemsCount: (await itemsUsing(deps, vault.value, policyName)).length, created: false };
    } catch (err) {
      // Created or changed by another request between our read and write: decide again.
      if (attempt >= WRITE_ATTEMPTS || (err as { code?: string }).code !== 'KluisCatalogConflict') throw err;
    }
  }
}

/** The policy type and time zone of an existing policy are fixed. */
function assertCompatibleEdit(current: PolicyRecord, next: NormalizedPolicy): void {
  const before = validatePolicy(current.properties);
  if (before.policyType !== next.policyType) {
    throw errors.invalidRequest(
      'properties.policyType',
      `Policy '${current.name}' is ${describeType(before.policyType)}; a policy's type cannot change. Create a new ${describeType(next.policyType)} policy instead.`,
    );
  }
  if (before.ianaTimeZone !== next.ianaTimeZone) {
    throw errors.invalidRequest(
      'properties.timeZone',
      `Policy '${current.name}' runs in time zone '${before.timeZone}'; a policy's time zone cannot change. Create a new policy for '${next.timeZone}'.`,
    );
  }
}

function describeType(policyType: string): string {
  return policyType === 'V2' ? 'Enhanced (V2)' : 'Standard (V1)';
}

/** What is stored: the normalized ARM properties, without our IANA zone and the computed item count. */
function storedProperties(policy: NormalizedPolicy): IaasVmPolicyProperties {
  const { protectedItemsCount: _count, ...properties } = policyPropertiesForResponse(policy);
  return properties;
}

/** GET `{vault}/backupPolicies/{name}`; ResourceNotFound (404) for an unknown vault or policy. */
export async function getPolicy(deps: Pick<VaultDeps, 'catalog'>, ref: VaultRef, policyName: string): Promise<PolicyView> {
  const vault = await getVault(deps, ref);
  const policy = await findPolicy(deps, vault.value, policyName);
  return { policy, protectedItemsCount: (await itemsUsing(deps, vault.value, policy.value.name)).length };
}

/** GET `{vault}/backupPolicies`, by name. */
export async function listPolicies(deps: Pick<VaultDeps, 'catalog'>, ref: VaultRef): Promise<PolicyView[]> {
  const vault = await getVault(deps, ref);
  const partition = partitionOf(vault.value);
  const counts = new Map<string, number>();
  for await (const item of deps.catalog.items.list(partition)) {
    const name = item.value.policyName?.toLowerCase();
    if (name !== undefined) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const policies = await collect(deps.catalog.policies.list(partition));
  return policies.map((policy) => ({ policy, protectedItemsCount: counts.get(policy.value.name.toLowerCase()) ?? 0 }));
}

/**
 * DELETE `{vault}/backupPolicies/{name}`: refused (KluisPolicyInUse, naming the items) while items
 * use the policy. Returns false when there was no such policy (ARM answers 204 then).
 */
export async function deletePolicy(deps: Pick<VaultDeps, 'catalog'>, ref: VaultRef, policyName: string): Promise<{ deleted: boolean }> {
  const vault = await getVault(deps, ref);
  assertValidPolicyName(policyName);
  const partition = partitionOf(vault.value);
  const policy = await deps.catalog.policies.get(partition, nameRow(policyName));
  if (policy === undefined) return { deleted: false };
  const users = await itemsUsing(deps, vault.value, policyName);
  if (users.length > 0) throw errors.policyInUse(policy.value.name, `it protects ${describeHolds(users.map((item) => itemHold(item.value)))}`);
  await deps.catalog.policies.delete(partition, policy.row, { ifMatch: policy.etag });
  return { deleted: true };
}

/** The items a policy protects (`az backup policy list-associated-items`); 404 for an unknown policy. */
export async function listAssociatedItems(deps: Pick<VaultDeps, 'catalog'>, ref: VaultRef, policyName: string): Promise<Stored<ProtectedItemRecord>[]> {
  const vault = await getVault(deps, ref);
  const policy = await findPolicy(deps, vault.value, policyName);
  return itemsUsing(deps, vault.value, policy.value.name);
}

async function findPolicy(deps: Pick<VaultDeps, 'catalog'>, vault: VaultRecord, policyName: string): Promise<Stored<PolicyRecord>> {
  assertValidPolicyName(policyName);
  const policy = await deps.catalog.policies.get(partitionOf(vault), nameRow(policyName));
  if (policy === undefined) throw errors.resourceNotFound(`${VAULT_RESOURCE_TYPE}/${vault.name}/backupPolicies`, policyName, vault.resourceGroup, 'policyName');
  return policy;
}

async function itemsUsing(deps: Pick<VaultDeps, 'catalog'>, vault: VaultRecord, policyName: string): Promise<Stored<ProtectedItemRecord>[]> {
  const wanted = policyName.toLowerCase();
  const items = await collect(deps.catalog.items.list(partitionOf(vault)));
  return items.filter((item) => item.value.policyName?.toLowerCase() === wanted);
}

function partitionOf(vault: VaultRecord): string {
  return vaultKey(vault.subscriptionId, vault.resourceGroup, vault.name);
}
