/**
 * What the signed-in principal may do, from ARM's own answer to "what may I do here"
 * (`GET {scope}/providers/Microsoft.Authorization/permissions`): an action is allowed when an entry's
 * `actions` match it and the same entry's `notActions` do not (Azure's rule; `*` matches any run of
 * characters, case-insensitive). Every button that changes something asks `can()` and, when it may
 * not, shows `reason()` instead of acting. Pure.
 */
import type { Permission } from '../api/types';

/** The actions the dashboard performs, by Azure's operation names (as the roles list them). */
export const ACTIONS = {
  createResourceGroup: 'Microsoft.Resources/subscriptions/resourceGroups/write',
  writeVault: 'Microsoft.RecoveryServices/Vaults/write',
  deleteVault: 'Microsoft.RecoveryServices/Vaults/delete',
  writeStorageConfig: 'Microsoft.RecoveryServices/Vaults/backupstorageconfig/write',
  writeVaultConfig: 'Microsoft.RecoveryServices/Vaults/backupconfig/write',
  writePolicy: 'Microsoft.RecoveryServices/Vaults/backupPolicies/write',
  deletePolicy: 'Microsoft.RecoveryServices/Vaults/backupPolicies/delete',
  refreshContainers: 'Microsoft.RecoveryServices/Vaults/backupFabrics/refreshContainers/action',
  writeItem: 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/write',
  deleteItem: 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/delete',
  backupNow: 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/backup/action',
  restore: 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/restore/action',
  cancelJob: 'Microsoft.RecoveryServices/Vaults/backupJobs/cancelJob/action',
} as const;

export type ActionName = keyof typeof ACTIONS;

/** What each action is, in words, for the reason shown on a disabled button. */
const DESCRIPTIONS: Record<ActionName, string> = {
  createResourceGroup: 'create resource groups',
  writeVault: 'create or change vaults',
  deleteVault: 'delete vaults',
  writeStorageConfig: "change the vault's storage redundancy",
  writeVaultConfig: "change the vault's soft-delete settings",
  writePolicy: 'create or change backup policies',
  deletePolicy: 'delete backup policies',
  refreshContainers: 'discover virtual machines',
  writeItem: 'configure protection (enable, change policy, stop, resume, undelete)',
  deleteItem: 'stop protection and delete backup data',
  backupNow: 'start backups',
  restore: 'restore recovery points',
  cancelJob: 'cancel jobs',
};

function pattern(wildcard: string): RegExp {
  const escaped = wildcard.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 'i');
}

export function matchesAction(wildcard: string, action: string): boolean {
  return pattern(wildcard).test(action);
}

/** Azure's evaluation: allowed when some entry grants it and does not exclude it. */
export function isAllowed(permissions: readonly Permission[], action: string): boolean {
  return permissions.some((entry) => entry.actions.some((a) => matchesAction(a, action)) && !entry.notActions.some((n) => matchesAction(n, action)));
}

export interface AccessView {
  /** Whether the API told us (false: it has no permissions endpoint, and refuses what it must itself). */
  known: boolean;
  permissions: readonly Permission[];
  /** The scope asked about, for the reason's wording. */
  scopeName: string;
  /** The answer has not come yet: actions stay disabled, without a reason to flash. */
  pending?: boolean;
  /** The API would not say what the caller may do (e.g. a network failure): the reason names it. */
  problem?: string;
}

/** Everything is allowed when the API has no roles (a Kluis without RBAC answers the permissions route with 404). */
export const EVERYTHING: readonly Permission[] = [{ actions: ['*'], notActions: [] }];

export function can(access: AccessView, action: ActionName): boolean {
  return isAllowed(access.permissions, ACTIONS[action]);
}

/** Why a button is disabled: the action and the role that grants it, or undefined when allowed. */
export function reason(access: AccessView, action: ActionName): string | undefined {
  if (can(access, action) || access.pending === true) return undefined;
  if (access.problem !== undefined) return `Kluis could not tell what your roles on ${access.scopeName} allow: ${access.problem}`;
  return `Your roles on ${access.scopeName} do not allow you to ${DESCRIPTIONS[action]} (${ACTIONS[action]}). ${roleHint(action)}`;
}

function roleHint(action: ActionName): string {
  switch (action) {
    case 'backupNow':
    case 'restore':
    case 'cancelJob':
    case 'refreshContainers':
    case 'writeItem':
      return 'Backup Operator or Backup Contributor grant it.';
    case 'createResourceGroup':
      return 'Contributor or Owner on the subscription grant it.';
    default:
      return 'Backup Contributor grants it.';
  }
}
