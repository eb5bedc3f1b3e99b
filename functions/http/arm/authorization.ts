/**
 * Microsoft.Authorization over the ARM-shaped API (api-version 2022-04-01 shapes), at the scopes
 * Kluis has — the root, a subscription, a resource group, and a vault, VM or storage account:
 *
 *   PUT/GET/DELETE {scope}/providers/Microsoft.Authorization/roleAssignments/{name}
 *   GET            {scope}/providers/Microsoft.Authorization/roleAssignments[?$filter=atScope()|principalId eq '…'|assignedTo('…')]
 *   GET            {scope}/providers/Microsoft.Authorization/roleDefinitions[/{id}][?$filter=roleName eq '…']
 *   GET            {scope}/providers/Microsoft.Authorization/permissions   (the caller's own, as the portal asks)
 *
 * Creating an assignment needs Microsoft.Authorization/roleAssignments/write at its scope (Owner);
 * reading them, Microsoft.Authorization/roleAssignments/read (Reader and the Backup roles have it).
 */
import { parseODataFilter } from '../../../lib/domain/arm/odata-filter';
import { parseRoleAssignmentFilter, roleAssignmentPutBodySchema, roleAssignmentResource, type RoleAssignmentPutBody } from '../../../lib/domain/authorization/role-assignment';
import { BUILT_IN_ROLES, builtInRole, roleDefinitionGuid, roleDefinitionResource } from '../../../lib/domain/authorization/role-definitions';
import { errors } from '../../../lib/domain/errors';
import { createRoleAssignment, deleteRoleAssignment, getRoleAssignment, listRoleAssignments } from '../../../lib/services/role-assignments';
import { roleAssignmentDeps } from '../../deps';
import { armRoute, list, ok } from './route';
import type { ArmScopeCheck } from './scope';

const TAG = 'Access control';
const AUTHORIZATION = 'providers/Microsoft.Authorization';

interface AuthorizationScope {
  /** Suffix of the operation ids, e.g. RoleAssignments_Create_Vault. */
  name: string;
  /** The scope's route prefix ('' for the root). */
  route: string;
  /** Which of the path's subscription and resource group must exist. */
  check: ArmScopeCheck;
}

/** The scopes role assignments, definitions and permissions are served at. */
export const AUTHORIZATION_SCOPES: readonly AuthorizationScope[] = [
  { name: 'Root', route: '', check: 'none' },
  { name: 'Subscription', route: 'subscriptions/{subscriptionId}', check: 'subscription' },
  { name: 'ResourceGroup', route: 'subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}', check: 'auto' },
  { name: 'Vault', route: 'subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.RecoveryServices/vaults/{vaultName}', check: 'auto' },
  { name: 'VirtualMachine', route: 'subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachines/{vmName}', check: 'auto' },
  { name: 'StorageAccount', route: 'subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}', check: 'auto' },
];

const under = (scope: AuthorizationScope, path: string) => (scope.route === '' ? path : `${scope.route}/${path}`);

/** The scope of a request to one of these routes: its path up to `/providers/Microsoft.Authorization`. */
function assignmentScopeOf(requestScope: string): string {
  const at = requestScope.toLowerCase().lastIndexOf('/providers/microsoft.authorization/');
  const scope = at < 0 ? requestScope : requestScope.slice(0, at);
  return scope === '' ? '/' : scope;
}

for (const scope of AUTHORIZATION_SCOPES) {
  const assignment = under(scope, `${AUTHORIZATION}/roleAssignments/{roleAssignmentName}`);

  armRoute<RoleAssignmentPutBody>({
    operationId: `RoleAssignments_Create_${scope.name}`,
    action: 'Microsoft.Authorization/roleAssignments/write',
    method: 'PUT',
    route: assignment,
    summary: 'Assigns a role to a principal at this scope (and so everywhere below it). The name is a new GUID; the same principal, role and scope again answer the existing assignment.',
    tag: TAG,
    scope: scope.check,
    body: roleAssignmentPutBodySchema,
    responses: { 200: 'The assignment existed.', 201: 'The assignment was created.', 400: 'Invalid name or body, or no such role (RoleDefinitionDoesNotExist).', 409: 'The principal holds the role here already under another name (RoleAssignmentExists).' },
    handler: async ({ params, body, caller, scope: requestScope }) => {
      const { record, created } = await createRoleAssignment(await roleAssignmentDeps(), caller, assignmentScopeOf(requestScope), params.roleAssignmentName ?? '', body);
      return ok(roleAssignmentResource(record), created ? 201 : 200);
    },
  });

  armRoute({
    operationId: `RoleAssignments_Get_${scope.name}`,
    action: 'Microsoft.Authorization/roleAssignments/read',
    method: 'GET',
    route: assignment,
    summary: 'Gets a role assignment at this scope.',
    tag: TAG,
    scope: scope.check,
    responses: { 200: 'The assignment.', 404: 'No such assignment at this scope (RoleAssignmentNotFound).' },
    handler: async ({ params, scope: requestScope }) => ok(roleAssignmentResource(await getRoleAssignment(await roleAssignmentDeps(), assignmentScopeOf(requestScope), params.roleAssignmentName ?? ''))),
  });

  armRoute({
    operationId: `RoleAssignments_Delete_${scope.name}`,
    action: 'Microsoft.Authorization/roleAssignments/delete',
    method: 'DELETE',
    route: assignment,
    summary: 'Deletes a role assignment at this scope (the owners Kluis is configured with stay).',
    tag: TAG,
    scope: scope.check,
    responses: { 200: 'The deleted assignment.', 204: 'There was none.', 409: 'An owner by configuration (KLUIS_OWNER_PRINCIPAL_IDS).' },
    handler: async ({ params, scope: requestScope }) => {
      const deleted = await deleteRoleAssignment(await roleAssignmentDeps(), assignmentScopeOf(requestScope), params.roleAssignmentName ?? '');
      return deleted === undefined ? { status: 204 } : ok(roleAssignmentResource(deleted));
    },
  });

  armRoute({
    operationId: `RoleAssignments_ListForScope_${scope.name}`,
    action: 'Microsoft.Authorization/roleAssignments/read',
    method: 'GET',
    route: under(scope, `${AUTHORIZATION}/roleAssignments`),
    summary: "Lists the role assignments at, above and below this scope; $filter=atScope() only those at and above it, principalId eq '…' or assignedTo('…') one principal's.",
    tag: TAG,
    scope: scope.check,
    responses: { 200: 'The assignments, in `value`.', 400: 'Unsupported $filter.' },
    handler: async ({ query, scope: requestScope }) => {
      const filter = parseRoleAssignmentFilter(query.get('$filter'));
      return list((await listRoleAssignments(await roleAssignmentDeps(), assignmentScopeOf(requestScope), filter)).map(roleAssignmentResource));
    },
  });

  armRoute({
    operationId: `RoleDefinitions_List_${scope.name}`,
    action: 'Microsoft.Authorization/roleDefinitions/read',
    method: 'GET',
    route: under(scope, `${AUTHORIZATION}/roleDefinitions`),
    summary: "Lists the role definitions that can be assigned here (Kluis's built-in roles); $filter=roleName eq '…' and/or type eq 'BuiltInRole'.",
    tag: TAG,
    scope: scope.check,
    responses: { 200: 'The role definitions, in `value`.', 400: 'Unsupported $filter.' },
    handler: async ({ query, scope: requestScope }) => {
      const filter = parseODataFilter(query.get('$filter'), ['roleName', 'type'] as const);
      const roles = BUILT_IN_ROLES.filter(
        (role) => (filter.roleName === undefined || role.roleName.toLowerCase() === filter.roleName.toLowerCase()) && (filter.type === undefined || role.roleType.toLowerCase() === filter.type.toLowerCase()),
      );
      return list(roles.map((role) => roleDefinitionResource(role, assignmentScopeOf(requestScope))));
    },
  });

  armRoute({
    operationId: `RoleDefinitions_Get_${scope.name}`,
    action: 'Microsoft.Authorization/roleDefinitions/read',
    method: 'GET',
    route: under(scope, `${AUTHORIZATION}/roleDefinitions/{roleDefinitionId}`),
    summary: 'Gets a role definition by its GUID.',
    tag: TAG,
    scope: scope.check,
    responses: { 200: 'The role definition.', 404: 'No such role (RoleDefinitionNotFound).' },
    handler: async ({ params, scope: requestScope }) => {
      const guid = roleDefinitionGuid(params.roleDefinitionId ?? '');
      const role = guid === undefined ? undefined : builtInRole(guid);
      if (role === undefined) throw errors.roleDefinitionNotFound(params.roleDefinitionId ?? '');
      return ok(roleDefinitionResource(role, assignmentScopeOf(requestScope)));
    },
  });

  if (scope.route !== '') {
    armRoute({
      operationId: `Permissions_List_${scope.name}`,
      action: 'Microsoft.Authorization/permissions/read',
      access: 'signedIn',
      method: 'GET',
      route: under(scope, `${AUTHORIZATION}/permissions`),
      summary: "The caller's own permissions here: the actions and notActions of every role it holds at this scope or above it (what a dashboard asks before it shows a button).",
      tag: TAG,
      scope: scope.check,
      responses: { 200: 'The permissions, in `value`.' },
      handler: async ({ access, scope: requestScope }) => list(await access.permissionsAt(assignmentScopeOf(requestScope))),
    });
  }
}
