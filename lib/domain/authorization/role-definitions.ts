/**
 * The built-in role definitions Kluis knows — Owner, Contributor, Reader, the three Backup roles and
 * the two the Backup roles need beside them (Virtual Machine Contributor on a protected VM, Storage
 * Account Contributor on a restore target) — with the ids and actions Azure publishes
 * (built-in-roles.json names its source), and their ARM shape (`Microsoft.Authorization/roleDefinitions`).
 */
import data from './built-in-roles.json';
import type { RolePermission } from './actions';
import { normalizeScope } from './scope';

export interface RoleDefinition {
  /** The role definition's name: a GUID, the same in every tenant for built-in roles. */
  id: string;
  roleName: string;
  description: string;
  roleType: 'BuiltInRole' | 'CustomRole';
  assignableScopes: readonly string[];
  permissions: readonly RolePermission[];
}

export const BUILT_IN_ROLES: readonly RoleDefinition[] = data.roles.map((role) => ({ ...role, roleType: 'BuiltInRole' as const }));

/** Where the built-in definitions were read (shown by docs and tests). */
export const BUILT_IN_ROLES_SOURCE = data.source;

export const ROLE_IDS = {
  owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  backupContributor: '5e467623-bb1f-42f4-a55d-6e525e11384b',
  backupOperator: '00c29273-979b-4161-815c-10b084fb9324',
  backupReader: 'a795c7a0-d4a2-40c1-ae25-d81f01202912',
  virtualMachineContributor: '9980e02c-c2be-4d73-94e8-173b1dc7cf3c',
  storageAccountContributor: '17d1049b-9a84-46fb-8f53-869881c3d3ab',
} as const;

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A built-in role by its GUID or its name (case-insensitive). */
export function builtInRole(idOrName: string): RoleDefinition | undefined {
  const wanted = idOrName.trim().toLowerCase();
  return BUILT_IN_ROLES.find((role) => role.id === wanted || role.roleName.toLowerCase() === wanted);
}

/**
 * The GUID a role definition id names: `…/providers/Microsoft.Authorization/roleDefinitions/{guid}`
 * (at any scope, as clients send it) or the bare GUID; undefined when it is neither.
 */
export function roleDefinitionGuid(roleDefinitionId: string): string | undefined {
  const trimmed = roleDefinitionId.trim();
  if (GUID.test(trimmed)) return trimmed.toLowerCase();
  const match = /\/providers\/Microsoft\.Authorization\/roleDefinitions\/([^/]+)\/?$/i.exec(trimmed);
  return match !== null && GUID.test(match[1]) ? match[1].toLowerCase() : undefined;
}

/**
 * The id ARM shows for a role definition seen from a scope: under the scope's subscription
 * (`/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}`), or at the root.
 */
export function roleDefinitionId(guid: string, scope: string): string {
  const subscription = /^\/subscriptions\/([^/]+)/i.exec(normalizeScope(scope));
  return `${subscription === null ? '' : `/subscriptions/${subscription[1]}`}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
}

/** `Microsoft.Authorization/roleDefinitions` as ARM answers it (api-version 2022-04-01). */
export function roleDefinitionResource(role: RoleDefinition, scope: string): Record<string, unknown> {
  return {
    id: roleDefinitionId(role.id, scope),
    name: role.id,
    type: 'Microsoft.Authorization/roleDefinitions',
    properties: {
      roleName: role.roleName,
      type: role.roleType,
      description: role.description,
      assignableScopes: [...role.assignableScopes],
      permissions: role.permissions.map((permission) => ({
        actions: [...permission.actions],
        notActions: [...permission.notActions],
        dataActions: [...permission.dataActions],
        notDataActions: [...permission.notDataActions],
      })),
      createdOn: '2015-02-02T21:55:09.8806423Z',
      updatedOn: '2026-01-01T00:00:00.0000000Z',
      createdBy: null,
      updatedBy: null,
    },
  };
}
