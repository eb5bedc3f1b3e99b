/**
 * The rules of Recovery Services vaults (DESIGN §1 "Recovery Services vault"), as pure checks that
 * throw KluisErrors: limits per subscription and vault, which items keep a vault from being deleted
 * or its storage redundancy from changing, soft delete settings, and the region a vault stays in.
 *
 * "Backup items" are every protected item record of the vault, whatever its state: protected,
 * stopped with data retained, or soft-deleted. Each of them holds backup data, so each one locks the
 * vault's redundancy and blocks its deletion — the error says which items and why.
 */
import type { ProtectedItemRecord, SoftDeleteState, StorageModelType, VaultRecord } from './catalog';
import { errors, type KluisErrorDetail } from './errors';

export const VAULT_LIMITS = {
  vaultsPerSubscription: 500,
  policiesPerVault: 200,
  itemsPerVault: 1000,
} as const;

export const STORAGE_MODEL_TYPES: readonly StorageModelType[] = ['GeoRedundant', 'LocallyRedundant', 'ZoneRedundant'];
export const DEFAULT_STORAGE_MODEL_TYPE: StorageModelType = 'GeoRedundant';

export const SOFT_DELETE_STATES: readonly SoftDeleteState[] = ['Enabled', 'Disabled', 'AlwaysON'];
export const SOFT_DELETE_RETENTION_DAYS = { min: 14, max: 180, default: 14 } as const;
export const DEFAULT_SOFT_DELETE: VaultRecord['softDelete'] = { state: 'Enabled', retentionDays: SOFT_DELETE_RETENTION_DAYS.default };

/** How many names an error lists before it says "and N more". */
const NAMES_SHOWN = 5;

// ---- limits -------------------------------------------------------------------------------------

export function assertVaultQuota(subscriptionId: string, existingVaults: number): void {
  if (existingVaults >= VAULT_LIMITS.vaultsPerSubscription) throw errors.vaultLimitReached(subscriptionId, VAULT_LIMITS.vaultsPerSubscription);
}

export function assertPolicyQuota(vaultName: string, existingPolicies: number): void {
  if (existingPolicies >= VAULT_LIMITS.policiesPerVault) throw errors.policyLimitReached(vaultName, VAULT_LIMITS.policiesPerVault);
}

export function assertItemQuota(vaultName: string, existingItems: number): void {
  if (existingItems >= VAULT_LIMITS.itemsPerVault) throw errors.itemLimitReached(vaultName, VAULT_LIMITS.itemsPerVault);
}

// ---- items that hold backup data ----------------------------------------------------------------

export type ItemHoldReason = 'protected' | 'stopped, data retained' | 'soft-deleted';

export interface ItemHold {
  /** The VM's name, as users know the item. */
  name: string;
  itemName: string;
  reason: ItemHoldReason;
}

export function itemHold(item: ProtectedItemRecord): ItemHold {
  const reason: ItemHoldReason =
    item.softDelete !== undefined ? 'soft-deleted' : item.protectionState === 'ProtectionStopped' ? 'stopped, data retained' : 'protected';
  return { name: item.vm.name, itemName: item.itemName, reason };
}

/** "2 backup items: 'vm1' (protected), 'vm2' (soft-deleted)", at most five names, then "and N more". */
export function describeHolds(holds: readonly ItemHold[]): string {
  const shown = holds.slice(0, NAMES_SHOWN).map((hold) => `'${hold.name}' (${hold.reason})`).join(', ');
  const more = holds.length > NAMES_SHOWN ? ` and ${holds.length - NAMES_SHOWN} more` : '';
  return `${holds.length} backup item${holds.length === 1 ? '' : 's'}: ${shown}${more}`;
}

function holdDetails(holds: readonly ItemHold[]): KluisErrorDetail[] {
  return holds.slice(0, NAMES_SHOWN).map((hold) => ({ code: 'ServiceResourceNotEmpty', message: `'${hold.name}' is ${hold.reason}.`, target: hold.itemName }));
}

/** A vault with any backup item (protected, stopped with retained data, soft-deleted) cannot be deleted. */
export function assertVaultDeletable(vaultName: string, items: readonly ProtectedItemRecord[]): void {
  if (items.length === 0) return;
  const holds = items.map(itemHold);
  throw errors.vaultNotEmpty(vaultName, describeHolds(holds), holdDetails(holds));
}

// ---- storage redundancy -------------------------------------------------------------------------

/** Why the redundancy cannot change now, or undefined when it can. */
export function storageLockReason(items: readonly ProtectedItemRecord[]): string | undefined {
  return items.length === 0 ? undefined : `the vault holds ${describeHolds(items.map(itemHold))}`;
}

/** Redundancy may change only while the vault holds no backup items; asking for the current value is always fine. */
export function assertStorageChangeAllowed(
  vault: VaultRecord,
  requested: StorageModelType,
  items: readonly ProtectedItemRecord[],
  target = 'properties.storageModelType',
): void {
  if (requested === vault.storageModelType) return;
  const reason = storageLockReason(items);
  if (reason !== undefined) throw errors.storageRedundancyLocked(vault.name, vault.storageModelType, requested, reason, target);
}

// ---- soft delete --------------------------------------------------------------------------------

export interface SoftDeleteChange {
  state?: SoftDeleteState;
  retentionDays?: number;
}

export interface SoftDeleteTargets {
  state: string;
  retentionDays: string;
}

const SOFT_DELETE_TARGETS: SoftDeleteTargets = {
  state: 'properties.softDeleteFeatureState',
  retentionDays: 'properties.softDeleteRetentionPeriodInDays',
};

/**
 * The soft delete settings after a change: retention 14–180 whole days; AlwaysON is irreversible
 * (it can neither be disabled nor set back to Enabled), its retention can still change.
 */
export function nextSoftDelete(
  vault: VaultRecord,
  change: SoftDeleteChange,
  targets: SoftDeleteTargets = SOFT_DELETE_TARGETS,
): VaultRecord['softDelete'] {
  const state = change.state ?? vault.softDelete.state;
  const retentionDays = change.retentionDays ?? vault.softDelete.retentionDays;
  if (!SOFT_DELETE_STATES.includes(state)) {
    throw errors.invalidRequest(targets.state, `The soft delete state must be one of ${SOFT_DELETE_STATES.join(', ')}.`);
  }
  if (vault.softDelete.state === 'AlwaysON' && state !== 'AlwaysON') throw errors.softDeleteAlwaysOn(vault.name, state, targets.state);
  if (!Number.isInteger(retentionDays) || retentionDays < SOFT_DELETE_RETENTION_DAYS.min || retentionDays > SOFT_DELETE_RETENTION_DAYS.max) {
    throw errors.invalidRequest(
      targets.retentionDays,
      `The soft delete retention must be ${SOFT_DELETE_RETENTION_DAYS.min}–${SOFT_DELETE_RETENTION_DAYS.max} whole days; got ${retentionDays}.`,
    );
  }
  return { state, retentionDays };
}

/**
 * Turning soft delete off is refused while the vault holds soft-deleted items: soft delete is what
 * protects them from an intruder who deletes backups (Azure: BMSUserErrorDisablingSoftDeleteStateNotAllowed).
 */
export function assertSoftDeleteMayBeDisabled(current: VaultRecord['softDelete'], next: VaultRecord['softDelete'], items: readonly ProtectedItemRecord[]): void {
  if (current.state === 'Disabled' || next.state !== 'Disabled') return;
  const held = items.filter((item) => item.softDelete !== undefined).map((item) => item.vm.name);
  if (held.length > 0) throw errors.disablingSoftDeleteNotAllowed(held);
}

// ---- location -----------------------------------------------------------------------------------

// Region names: letters, digits and spaces ("West Europe", "westeurope", "eastus2").
const LOCATION = /^[A-Za-z][A-Za-z0-9 ]{1,49}$/;

/** ARM compares regions without case or spaces: "West Europe" is "westeurope". */
export function normalizeLocation(location: string, target = 'location'): string {
  const trimmed = location.trim();
  if (!LOCATION.test(trimmed)) throw errors.invalidRequest(target, `'${trimmed.slice(0, 60)}' is not a region name (e.g. westeurope).`);
  return trimmed.replace(/ /g, '').toLowerCase();
}

/** A vault stays in the region it was created in. */
export function assertSameLocation(vault: VaultRecord, requestedLocation: string): void {
  const requested = normalizeLocation(requestedLocation);
  if (requested !== normalizeLocation(vault.location)) {
    throw errors.invalidResourceLocation(vault.name, vault.resourceGroup, vault.location, requested);
  }
}
