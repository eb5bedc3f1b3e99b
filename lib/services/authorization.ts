/**
 * Who may do what (Azure RBAC): a caller may perform an action at a scope when one of its role
 * assignments — at that scope or above it — has a role whose permissions allow the action
 * (lib/domain/authorization/actions.ts). The principals configured as owners (KLUIS_OWNER_PRINCIPAL_IDS)
 * hold Owner at the root scope by configuration. One RequestAccess per request reads the caller's
 * assignments once.
 */
import type { Caller } from '../domain/access-token';
import { permissionsAllow, type RolePermission } from '../domain/authorization/actions';
import { configuredOwnerAssignmentName, type RoleAssignmentRecord } from '../domain/authorization/role-assignment';
import { ROLE_IDS, type RoleDefinition } from '../domain/authorization/role-definitions';
import { scopeContains, subscriptionOfScope } from '../domain/authorization/scope';
import { errors } from '../domain/errors';
import type { RoleAssignmentSource } from '../stores/role-assignment-source';

export interface AuthorizationDeps {
  source: RoleAssignmentSource;
  /** Object ids that hold Owner at the root scope by configuration (lower case). */
  owners: readonly string[];
}

/** What the handlers of one request ask about its caller. */
export interface RequestAccess {
  readonly caller: Caller;
  /** Whether the caller may perform `action` at `scope`. */
  permits(action: string, scope: string): Promise<boolean>;
  /** Throws AuthorizationFailed (403, ARM's message) unless the caller may. */
  demand(action: string, scope: string): Promise<void>;
  /**
   * ARM's linked check: a request allowed to perform `on.action` at `on.scope` also acts on another
   * resource; throws LinkedAuthorizationFailed (403) unless the caller may perform `action` there.
   */
  demandLinked(action: string, scope: string, on: { action: string; scope: string }): Promise<void>;
  /** The permissions of every role the caller holds at `scope` (ARM's Permissions API). */
  permissionsAt(scope: string): Promise<RolePermission[]>;
  /** Whether the caller holds any role at, above or below `scope` (what ARM shows subscriptions for). */
  holdsAnyRoleAround(scope: string): Promise<boolean>;
  /** Whether the caller holds the Owner role at `scope` (or above it). */
  isOwnerAt(scope: string): Promise<boolean>;
}

/** Root-scope Owner assignments of the configured owners, as the lists show them. */
export function configuredOwnerAssignments(owners: readonly string[]): RoleAssignmentRecord[] {
  return owners.map((principalId) => ({
    name: configuredOwnerAssignmentName(principalId, '/'),
    scope: '/',
    roleDefinitionId: ROLE_IDS.owner,
    principalId,
    principalType: 'ServicePrincipal',
    description: 'Owner by configuration (KLUIS_OWNER_PRINCIPAL_IDS)',
    createdOn: '2026-01-01T00:00:00.0000000Z',
  }));
}

interface Held {
  assignment: RoleAssignmentRecord;
  role: RoleDefinition;
}

export function requestAccess(deps: AuthorizationDeps, caller: Caller): RequestAccess {
  const bySubscription = new Map<string, Promise<Held[]>>();
  const held = (scope: string): Promise<Held[]> => {
    const subscription = subscriptionOfScope(scope);
    const key = subscription ?? '';
    let found = bySubscription.get(key);
    if (found === undefined) {
      found = loadHeld(deps, caller.objectId, subscription);
      bySubscription.set(key, found);
    }
    return found;
  };
  const atOrAbove = async (scope: string) => (await held(scope)).filter((entry) => scopeContains(entry.assignment.scope, scope));
  const access: RequestAccess = {
    caller,
    async permits(action, scope) {
      return permissionsAllow(
        (await atOrAbove(scope)).flatMap((entry) => entry.role.permissions),
        action,
      );
    },
    async demand(action, scope) {
      if (!(await access.permits(action, scope))) throw errors.authorizationFailed(caller, action, scope);
    },
    async demandLinked(action, scope, on) {
      if (!(await access.permits(action, scope))) throw errors.linkedAuthorizationFailed(caller, on, { action, scope });
    },
    async permissionsAt(scope) {
      return (await atOrAbove(scope)).flatMap((entry) => entry.role.permissions);
    },
    async holdsAnyRoleAround(scope) {
      return (await held(scope)).some((entry) => scopeContains(entry.assignment.scope, scope) || scopeContains(scope, entry.assignment.scope));
    },
    async isOwnerAt(scope) {
      return (await atOrAbove(scope)).some((entry) => entry.role.id === ROLE_IDS.owner);
    },
  };
  return access;
}

async function loadHeld(deps: AuthorizationDeps, principalId: string, subscriptionId: string | undefined): Promise<Held[]> {
  const principal = principalId.toLowerCase();
  const assignments = [
    ...configuredOwnerAssignments(deps.owners.filter((owner) => owner === principal)),
    ...(await deps.source.assignmentsOf(principal, subscriptionId)),
  ];
  const result: Held[] = [];
  for (const assignment of assignments) {
    const role = await deps.source.roleDefinition(assignment.roleDefinitionId);
    if (role !== undefined) result.push({ assignment, role });
  }
  return result;
}

/** Access for `--insecure-no-auth` (kluis-host on a loopback bind only): everything is permitted. */
export function unrestrictedAccess(caller: Caller): RequestAccess {
  return {
    caller,
    permits: async () => true,
    demand: async () => undefined,
    demandLinked: async () => undefined,
    permissionsAt: async () => [{ actions: ['*'], notActions: [], dataActions: [], notDataActions: [] }],
    holdsAnyRoleAround: async () => true,
    isOwnerAt: async () => true,
  };
}
