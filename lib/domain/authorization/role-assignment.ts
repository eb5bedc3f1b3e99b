/**
 * Role assignments (`Microsoft.Authorization/roleAssignments`, api-version 2022-04-01): a principal
 * holds a role at a scope, and so everywhere below it. The catalog record, the PUT body ARM takes,
 * the resource ARM answers, and the `$filter` forms ARM accepts on lists: `atScope()`,
 * `principalId eq '{id}'`, `assignedTo('{id}')`, and `atScope()` with either.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { errors } from '../errors';
import { roleDefinitionId } from './role-definitions';
import { normalizeScope, scopeContains } from './scope';

export const PRINCIPAL_TYPES = ['User', 'Group', 'ServicePrincipal', 'ForeignGroup', 'Device'] as const;
export type PrincipalType = (typeof PRINCIPAL_TYPES)[number];

export interface RoleAssignmentRecord {
  /** The assignment's name: a GUID, lower case. */
  name: string;
  /** Where it applies, normalized (`/` for the root), as the client spelled it otherwise. */
  scope: string;
  /** The role definition's GUID. */
  roleDefinitionId: string;
  /** The principal's object id, lower case. */
  principalId: string;
  principalType: PrincipalType;
  description?: string;
  createdOn: string;
  /** Object id of who created it (absent for the configured owners Kluis creates itself). */
  createdBy?: string;
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

const guid = (what: string) => z.string().regex(GUID, { error: `must be ${what} (a GUID)` });

/** Body of PUT `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`. */
export const roleAssignmentPutBodySchema = z
  .object({
    properties: z
      .object({
        roleDefinitionId: z.string().min(1).max(400),
        principalId: guid('an object id'),
        principalType: z.enum(PRINCIPAL_TYPES).optional(),
        description: z.string().max(2048).optional(),
        condition: z.never({ error: 'Kluis does not evaluate role assignment conditions (ABAC); leave condition out.' }).optional(),
        conditionVersion: z.string().max(10).optional(),
        delegatedManagedIdentityResourceId: z.never({ error: 'Delegated managed identities are not supported; leave delegatedManagedIdentityResourceId out.' }).optional(),
        // Read-only fields a client may echo back from a GET.
        scope: z.string().max(2000).optional(),
        createdOn: z.unknown().optional(),
        updatedOn: z.unknown().optional(),
        createdBy: z.unknown().optional(),
        updatedBy: z.unknown().optional(),
      })
      .strict(),
    id: z.unknown().optional(),
    name: z.unknown().optional(),
    type: z.unknown().optional(),
  })
  .strict();

export type RoleAssignmentPutBody = z.infer<typeof roleAssignmentPutBodySchema>;

/** `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}` (`/providers/…` at the root). */
export function roleAssignmentId(record: Pick<RoleAssignmentRecord, 'scope' | 'name'>): string {
  const scope = normalizeScope(record.scope);
  return `${scope === '/' ? '' : scope}/providers/Microsoft.Authorization/roleAssignments/${record.name}`;
}

/** A role assignment as ARM answers it. */
export function roleAssignmentResource(record: RoleAssignmentRecord): Record<string, unknown> {
  return {
    id: roleAssignmentId(record),
    name: record.name,
    type: 'Microsoft.Authorization/roleAssignments',
    properties: {
      roleDefinitionId: roleDefinitionId(record.roleDefinitionId, record.scope),
      principalId: record.principalId,
      principalType: record.principalType,
      scope: normalizeScope(record.scope),
      condition: null,
      conditionVersion: null,
      createdOn: record.createdOn,
      updatedOn: record.createdOn,
      createdBy: record.createdBy ?? null,
      updatedBy: record.createdBy ?? null,
      delegatedManagedIdentityResourceId: null,
      description: record.description ?? null,
    },
  };
}

/**
 * The assignment Kluis keeps for a configured owner: a deterministic name (a name-based GUID of the
 * principal and scope), so creating it again at every start finds the one it made before.
 */
export function configuredOwnerAssignmentName(principalId: string, scope: string): string {
  const hash = createHash('sha1').update(`kluis-owner|${scopeKeyOf(scope)}|${principalId.toLowerCase()}`).digest('hex');
  // RFC 4122 version 5 layout: version nibble 5, variant bits 10.
  const variant = ((parseInt(hash.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
  return `${hash.slice(0, 8)}-${hash.slice(8, 12)}-5${hash.slice(13, 16)}-${variant}${hash.slice(18, 20)}-${hash.slice(20, 32)}`;
}

function scopeKeyOf(scope: string): string {
  return normalizeScope(scope).toLowerCase();
}

export interface RoleAssignmentFilter {
  /** Only assignments at the scope or above it (not below). */
  atScope: boolean;
  /** Only this principal's (`principalId eq` and `assignedTo` alike: Kluis has no groups). */
  principalId?: string;
}

const AT_SCOPE = /^atScope\(\)$/i;
const PRINCIPAL_EQ = /^principalId\s+eq\s+'([^']*)'$/i;
const ASSIGNED_TO = /^assignedTo\('([^']*)'\)$/i;

/** ARM's role assignment `$filter`: `atScope()`, `principalId eq '…'`, `assignedTo('…')`, joined by `and`. */
export function parseRoleAssignmentFilter(filter: string | null | undefined): RoleAssignmentFilter {
  const result: RoleAssignmentFilter = { atScope: false };
  if (filter === null || filter === undefined || filter.trim() === '') return result;
  for (const raw of filter.split(/\s+and\s+/i)) {
    const clause = raw.trim();
    const principal = PRINCIPAL_EQ.exec(clause) ?? ASSIGNED_TO.exec(clause);
    if (AT_SCOPE.test(clause)) {
      result.atScope = true;
    } else if (principal !== null && result.principalId === undefined) {
      if (!isGuid(principal[1])) throw errors.invalidRequest('$filter', `The principal id '${principal[1].slice(0, 40)}' in the filter is not an object id (a GUID).`);
      result.principalId = principal[1].toLowerCase();
    } else {
      throw errors.invalidRequest('$filter', `The filter '${filter.slice(0, 120)}' is not supported; use atScope(), principalId eq '{objectId}' or assignedTo('{objectId}'), joined by 'and'.`);
    }
  }
  return result;
}

/**
 * The assignments a list at `scope` shows, as ARM's: those at, above and below the scope, or with
 * atScope() only those at and above it; each filter narrows further.
 */
export function assignmentsVisibleAt(records: readonly RoleAssignmentRecord[], scope: string, filter: RoleAssignmentFilter): RoleAssignmentRecord[] {
  return records.filter((record) => {
    const above = scopeContains(record.scope, scope);
    const below = scopeContains(scope, record.scope);
    if (filter.atScope ? !above : !(above || below)) return false;
    return filter.principalId === undefined || record.principalId === filter.principalId;
  });
}
