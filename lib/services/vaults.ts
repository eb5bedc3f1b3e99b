/**
 * Recovery Services vaults: create-or-update (ARM PUT semantics, with the vault's DefaultPolicy),
 * read, list, delete, and the two configuration resources — storage redundancy
 * (`backupstorageconfig/vaultstorageconfig`) and soft delete (`backupconfig/vaultconfig`).
 *
 * Every check runs before the first write, so a rejected request leaves the catalog as it was.
 * Writes use ETags; a PUT that races another PUT of the same vault becomes an update.
 *
 * Creation order: the vault row (marked `defaultPolicyPending`), then DefaultPolicy, then the mark
 * is cleared. A crash in between leaves a vault whose next PUT finishes the job, and a user's later
 * deletion of DefaultPolicy is never undone. Deletion order is the reverse: policies, jobs and
 * operations of the vault first, the vault row last, so a retried DELETE finishes what a failed one began.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  assertValidSubscriptionId,
  assertValidResourceGroupName,
  assertValidVaultRef,
  DEFAULT_POLICY_NAME,
  vaultId,
  type VaultRef,
  VAULT_RESOURCE_TYPE,
} from '../domain/arm-names';
import { requestedStorageModelType, type StorageConfigBody, type VaultConfigBody, type VaultPutBody } from '../domain/arm/vault-resource';
import { nameRow, vaultKey, vaultPartition, vaultRow, type PolicyRecord, type ProtectedItemRecord, type StorageModelType, type VaultRecord } from '../domain/catalog';
import { errors } from '../domain/errors';
import { defaultPolicy, policyPropertiesForResponse, validatePolicy } from '../domain/policy-rules';
import { nextVaultIdentity, type PrincipalIssuer } from '../domain/vault-identity';
import { nextImmutability } from '../domain/immutability';
import { normalizeRestoreDrill } from '../domain/restore-drill';
import {
  assertSameLocation,
  assertSoftDeleteMayBeDisabled,
  assertStorageChangeAllowed,
  assertVaultDeletable,
  assertVaultQuota,
  DEFAULT_SOFT_DELETE,
  DEFAULT_STORAGE_MODEL_TYPE,
  nextSoftDelete,
  normalizeLocation,
  storageLockReason,
} from '../domain/vault-rules';
import { collect, type Stored } from '../stores/document-store';
import type { VaultCatalog } from '../stores/vault-catalog';

export interface VaultDeps {
  catalog: VaultCatalog;
  clock: () => Date;
  /** Issues the principals of managed identities (lib/services/managed-identities.ts); needed when a PUT asks for one. */
  principals?: PrincipalIssuer;
}

function principalsOf(deps: VaultDeps): PrincipalIssuer {
  if (deps.principals === undefined) throw new Error('This vault service has no principal issuer, so it cannot create a managed identity.');
  return deps.principals;
}

/** Fields a vault PUT sets as sent: `identity` (kept when left out), monitoring and restore settings (replaced when sent). */
function applyVaultSettings(deps: VaultDeps, vault: VaultRecord, body: VaultPutBody): VaultRecord {
  if (body.properties?.encryption !== undefined && body.properties.encryption !== null) throw errors.customerManagedKeysNotSupported();
  const next: VaultRecord = { ...vault };
  const identity = nextVaultIdentity(vault.id, vault.identity, body.identity, {
    systemAssigned: (id) => principalsOf(deps).systemAssigned(id),
    userAssigned: (id) => principalsOf(deps).userAssigned(id),
  });
  if (identity === undefined) delete next.identity;
  else next.identity = identity;
  if (body.properties?.monitoringSettings !== undefined) next.monitoringSettings = structuredClone(body.properties.monitoringSettings);
  if (body.properties?.restoreSettings !== undefined) next.restoreSettings = structuredClone(body.properties.restoreSettings);
  return next;
}

export interface VaultWriteResult {
  vault: Stored<VaultRecord>;
  /** True when this request created the vault (HTTP 201), false for an update (200). */
  created: boolean;
}

export interface StorageConfig {
  vault: VaultRecord;
  storageModelType: StorageModelType;
  /** Why the redundancy cannot change now (the vault holds backup items); undefined when it can. */
  lockedBecause?: string;
}

const CREATE_ATTEMPTS = 3;

// ---- vault --------------------------------------------------------------------------------------

/** PUT `{vault}`: creates the vault with its DefaultPolicy, or updates tags, redundancy, soft delete, identity, monitoring and restore settings. */
export async function createOrUpdateVault(deps: VaultDeps, ref: VaultRef, body: VaultPutBody): Promise<VaultWriteResult> {
  assertValidVaultRef(ref);
  const location = normalizeLocation(body.location);
  for (let attempt = 1; ; attempt++) {
    const existing = await deps.catalog.vaults.get(vaultPartition(ref.subscriptionId), vaultRow(ref.resourceGroup, ref.vaultName));
    try {
      if (existing === undefined) return { vault: await createVault(deps, ref, location, body), created: true };
      return { vault: await updateVault(deps, existing, body), created: false };
    } catch (err) {
      // Another request created or changed the vault between our read and write: decide again.
      if (attempt >= CREATE_ATTEMPTS || (err as { code?: string }).code !== 'KluisCatalogConflict') throw err;
    }
  }
}

async function createVault(deps: VaultDeps, ref: VaultRef, location: string, body: VaultPutBody): Promise<Stored<VaultRecord>> {
  const existingVaults = await collect(deps.catalog.vaults.list(vaultPartition(ref.subscriptionId)));
  const sameName = existingVaults.find((vault) => vault.value.name.toLowerCase() === ref.vaultName.toLowerCase());
  if (sameName !== undefined) throw errors.vaultNameInUse(ref.vaultName, sameName.value.resourceGroup);
  assertVaultQuota(ref.subscriptionId, existingVaults.length);
  const now = deps.clock().toISOString();
  const draft: VaultRecord = {
    id: vaultId(ref),
    subscriptionId: ref.subscriptionId,
    resourceGroup: ref.resourceGroup,
    name: ref.vaultName,
    location,
    storageModelType: body.properties?.redundancySettings?.standardTierStorageRedundancy ?? DEFAULT_STORAGE_MODEL_TYPE,
    softDelete: DEFAULT_SOFT_DELETE,
    createdAt: now,
    updatedAt: now,
    defaultPolicyPending: true,
  };
  if (body.tags !== undefined) draft.tags = { ...body.tags };
  draft.softDelete = nextSoftDelete(draft, softDeleteChangeOf(body), VAULT_SOFT_DELETE_TARGETS);
  const immutability = nextImmutability(undefined, body.properties?.securitySettings?.immutabilitySettings?.state);
  if (immutability !== 'Disabled') draft.immutability = immutability;
  const inserted = await deps.catalog.vaults.insert(vaultPartition(ref.subscriptionId), vaultRow(ref.resourceGroup, ref.vaultName), applyVaultSettings(deps, draft, body));
  return finishCreation(deps, inserted);
}

/** Creates DefaultPolicy (if this vault's creation has not yet) and clears the vault's pending mark. */
async function finishCreation(deps: VaultDeps, vault: Stored<VaultRecord>): Promise<Stored<VaultRecord>> {
  if (!vault.value.defaultPolicyPending) return vault;
  const now = deps.clock().toISOString();
  const policy: PolicyRecord = {
    vaultId: vault.value.id,
    name: DEFAULT_POLICY_NAME,
    properties: policyPropertiesForResponse(validatePolicy(defaultPolicy())),
    createdAt: now,
    updatedAt: now,
  };
  const partition = vaultKey(vault.value.subscriptionId, vault.value.resourceGroup, vault.value.name);
  try {
    await deps.catalog.policies.insert(partition, nameRow(DEFAULT_POLICY_NAME), policy);
  } catch (err) {
    // A retry after a crash between the two writes: DefaultPolicy is already there.
    if ((err as { code?: string }).code !== 'KluisCatalogConflict') throw err;
  }
  const { defaultPolicyPending: _pending, ...done } = vault.value;
  return deps.catalog.vaults.replace(vault.partition, vault.row, done, vault.etag);
}

async function updateVault(deps: VaultDeps, existing: Stored<VaultRecord>, body: VaultPutBody): Promise<Stored<VaultRecord>> {
  const current = existing.value;
  assertSameLocation(current, body.location);
  const next: VaultRecord = { ...current, updatedAt: deps.clock().toISOString() };
  // ARM PUT replaces the tags; redundancy and soft delete change only when the body names them.
  if (body.tags === undefined) delete next.tags;
  else next.tags = { ...body.tags };
  const storage = body.properties?.redundancySettings?.standardTierStorageRedundancy;
  if (storage !== undefined && storage !== current.storageModelType) {
    assertStorageChangeAllowed(current, storage, await itemsOf(deps, current), 'properties.redundancySettings.standardTierStorageRedundancy');
    next.storageModelType = storage;
  }
  next.softDelete = nextSoftDelete(current, softDeleteChangeOf(body), VAULT_SOFT_DELETE_TARGETS);
  assertSoftDeleteMayBeDisabled(current.softDelete, next.softDelete, await itemsOf(deps, current));
  const immutability = nextImmutability(current.immutability, body.properties?.securitySettings?.immutabilitySettings?.state);
  if (immutability === 'Disabled') delete next.immutability;
  else next.immutability = immutability;
  const written = await deps.catalog.vaults.replace(existing.partition, existing.row, applyVaultSettings(deps, next, body), existing.etag);
  return finishCreation(deps, written);
}

const VAULT_SOFT_DELETE_TARGETS = {
  state: 'properties.securitySettings.softDeleteSettings.softDeleteState',
  retentionDays: 'properties.securitySettings.softDeleteSettings.softDeleteRetentionPeriodInDays',
};

function softDeleteChangeOf(body: VaultPutBody): { state?: VaultRecord['softDelete']['state']; retentionDays?: number } {
  const settings = body.properties?.securitySettings?.softDeleteSettings;
  return { state: settings?.softDeleteState, retentionDays: settings?.softDeleteRetentionPeriodInDays };
}

/** GET `{vault}`; ResourceNotFound (404) when there is no such vault. */
export async function getVault(deps: Pick<VaultDeps, 'catalog'>, ref: VaultRef): Promise<Stored<VaultRecord>> {
  assertValidVaultRef(ref);
  const found = await deps.catalog.vaults.get(vaultPartition(ref.subscriptionId), vaultRow(ref.resourceGroup, ref.vaultName));
  if (found === undefined) throw errors.resourceNotFound(VAULT_RESOURCE_TYPE, ref.vaultName, ref.resourceGroup, 'vaultName');
  return found;
}

/** The vaults of a subscription, or of one of its resource groups, by resource group and name. */
export async function listVaults(deps: Pick<VaultDeps, 'catalog'>, subscriptionId: string, resourceGroup?: string): Promise<Stored<VaultRecord>[]> {
  assertValidSubscriptionId(subscriptionId);
  if (resourceGroup !== undefined) assertValidResourceGroupName(resourceGroup);
  const rowPrefix = resourceGroup === undefined ? undefined : `${resourceGroup.toLowerCase()}~`;
  const vaults = await collect(deps.catalog.vaults.list(vaultPartition(subscriptionId), { rowPrefix }));
  // Row keys are `{rg}~{name}`, and '~' sorts after letters and digits: order by the parts instead.
  const key = (vault: Stored<VaultRecord>) => [vault.value.resourceGroup.toLowerCase(), vault.value.name.toLowerCase()];
  return vaults.sort((a, b) => compareKeys(key(a), key(b)));
}

/**
 * DELETE `{vault}`: refused (ServiceResourceNotEmpty, naming the items) while the vault holds any
 * backup item. Returns false when there was no vault (the API answers 200 all the same, as the spec declares).
 */
export async function deleteVault(deps: Pick<VaultDeps, 'catalog'>, ref: VaultRef): Promise<{ deleted: boolean }> {
  assertValidVaultRef(ref);
  const vault = await deps.catalog.vaults.get(vaultPartition(ref.subscriptionId), vaultRow(ref.resourceGroup, ref.vaultName));
  if (vault === undefined) return { deleted: false };
  assertVaultDeletable(vault.value.name, await itemsOf(deps, vault.value));
  const partition = vaultKey(ref.subscriptionId, ref.resourceGroup, ref.vaultName);
  for (const store of [deps.catalog.policies, deps.catalog.jobs, deps.catalog.operations] as const) {
    for await (const doc of store.list(partition)) await store.delete(partition, doc.row);
  }
  // Only the vault as we checked it: a concurrent change (e.g. a PUT) makes this a conflict to retry.
  await deps.catalog.vaults.delete(vault.partition, vault.row, { ifMatch: vault.etag });
  return { deleted: true };
}

// ---- storage redundancy -------------------------------------------------------------------------

/** GET `{vault}/backupstorageconfig/vaultstorageconfig`. */
export async function getStorageConfig(deps: Pick<VaultDeps, 'catalog'>, ref: VaultRef): Promise<StorageConfig> {
  const vault = await getVault(deps, ref);
  return storageConfigOf(vault.value, await itemsOf(deps, vault.value));
}

/**
 * PUT (`partial` false: the body must name the redundancy) or PATCH of the storage config. The
 * redundancy can change only while the vault holds no backup items (KluisStorageRedundancyLocked,
 * naming them); asking for the current value always succeeds.
 */
export async function updateStorageConfig(deps: VaultDeps, ref: VaultRef, body: StorageConfigBody, options: { partial: boolean }): Promise<StorageConfig> {
  const vault = await getVault(deps, ref);
  const items = await itemsOf(deps, vault.value);
  const requested = requestedStorageModelType(body, !options.partial);
  if (requested === undefined || requested === vault.value.storageModelType) return storageConfigOf(vault.value, items);
  assertStorageChangeAllowed(vault.value, requested, items, body.properties.storageModelType === undefined ? 'properties.storageType' : 'properties.storageModelType');
  const next: VaultRecord = { ...vault.value, storageModelType: requested, updatedAt: deps.clock().toISOString() };
  const written = await deps.catalog.vaults.replace(vault.partition, vault.row, next, vault.etag);
  return storageConfigOf(written.value, items);
}

function storageConfigOf(vault: VaultRecord, items: readonly ProtectedItemRecord[]): StorageConfig {
  const config: StorageConfig = { vault, storageModelType: vault.storageModelType };
  const reason = storageLockReason(items);
  if (reason !== undefined) config.lockedBecause = reason;
  return config;
}

// ---- soft delete --------------------------------------------------------------------------------

/** GET `{vault}/backupconfig/vaultconfig`. */
export async function getVaultConfig(deps: Pick<VaultDeps, 'catalog'>, ref: VaultRef): Promise<VaultRecord> {
  return (await getVault(deps, ref)).value;
}

/**
 * PUT or PATCH `{vault}/backupconfig/vaultconfig`: soft delete state and retention (14–180 days).
 * AlwaysON cannot be turned off (KluisSoftDeleteAlwaysOn). Also the vault's default for restore drills
 * (`kluisRestoreDrill`, restore-drill.ts). Fields left out keep their value.
 */
export async function updateVaultConfig(deps: VaultDeps, ref: VaultRef, body: VaultConfigBody): Promise<VaultRecord> {
  const vault = await getVault(deps, ref);
  const softDelete = nextSoftDelete(vault.value, {
    state: body.properties.softDeleteFeatureState,
    retentionDays: body.properties.softDeleteRetentionPeriodInDays,
  });
  const drill = body.properties.kluisRestoreDrill;
  const restoreDrill = drill === undefined ? vault.value.restoreDrill : normalizeRestoreDrill(drill);
  const softDeleteSame = softDelete.state === vault.value.softDelete.state && softDelete.retentionDays === vault.value.softDelete.retentionDays;
  if (softDeleteSame && isDeepStrictEqual(restoreDrill, vault.value.restoreDrill)) return vault.value;
  if (!softDeleteSame) assertSoftDeleteMayBeDisabled(vault.value.softDelete, softDelete, await itemsOf(deps, vault.value));
  const next: VaultRecord = { ...vault.value, softDelete, ...(restoreDrill === undefined ? {} : { restoreDrill }), updatedAt: deps.clock().toISOString() };
  return (await deps.catalog.vaults.replace(vault.partition, vault.row, next, vault.etag)).value;
}

// ---- helpers ------------------------------------------------------------------------------------

function compareKeys(a: string[], b: string[]): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

/** Every protected item record of the vault (protected, stopped with retained data, soft-deleted). */
async function itemsOf(deps: Pick<VaultDeps, 'catalog'>, vault: VaultRecord): Promise<ProtectedItemRecord[]> {
  const items = await collect(deps.catalog.items.list(vaultKey(vault.subscriptionId, vault.resourceGroup, vault.name)));
  return items.map((item) => item.value);
}
