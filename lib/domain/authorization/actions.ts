/**
 * Azure RBAC's action matching, as Azure documents it for role definitions: an action is
 * `{Company}.{Provider}/{resourceType}/{verb}` (`…/read`, `…/write`, `…/delete`, `…/{name}/action`),
 * compared case-insensitively; `*` in a role's action matches any characters, `/` included
 * (Reader's `*` + `/read`, `Microsoft.RecoveryServices/Vaults/backupJobs/*`). Within one permission, `notActions`
 * subtract from `actions`; across roles (and a role's several permissions) what one allows is allowed
 * (Kluis has no deny assignments).
 */

/** One permission of a role definition (`properties.permissions[]`). */
export interface RolePermission {
  actions: readonly string[];
  notActions: readonly string[];
  dataActions: readonly string[];
  notDataActions: readonly string[];
}

const patternCache = new Map<string, RegExp>();

function patternOf(pattern: string): RegExp {
  let regex = patternCache.get(pattern);
  if (regex === undefined) {
    const source = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    regex = new RegExp(`^${source}$`, 'i');
    patternCache.set(pattern, regex);
  }
  return regex;
}

/** Whether a role's action (possibly with `*`) covers a concrete action. */
export function actionMatches(pattern: string, action: string): boolean {
  return patternOf(pattern.trim()).test(action.trim());
}

/** Whether one permission allows the action: an action covers it and no notAction of the same permission does. */
export function permissionAllows(permission: RolePermission, action: string): boolean {
  return permission.actions.some((pattern) => actionMatches(pattern, action)) && !permission.notActions.some((pattern) => actionMatches(pattern, action));
}

/** Whether any of the permissions allows the action. */
export function permissionsAllow(permissions: readonly RolePermission[], action: string): boolean {
  return permissions.some((permission) => permissionAllows(permission, action));
}

const AZURE_ACTION = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+\/[A-Za-z0-9/]+$/;

/** A concrete action name as a route declares it: `Namespace.Provider/type[/type…]/verb`, no wildcards. */
export function isAzureActionName(action: string): boolean {
  return AZURE_ACTION.test(action) && /\/(read|write|delete|action)$/i.test(action);
}
