/**
 * Role assignments as ARM resources: create (PUT, idempotent for the same principal, role and scope),
 * get, delete and list at a scope, in Kluis's catalog. The configured owners' root assignments are
 * shown too but cannot be deleted (they are configuration). With Azure RBAC as the source
 * (KLUIS_AUTHORIZATION=azure), Kluis changes nothing and says where to manage them.
 */
import type { Caller } from '../domain/access-token';
import {
  assignmentsVisibleAt,
  isGuid,
  type RoleAssignmentFilter,
  type RoleAssignmentPutBody,
  type RoleAssignmentRecord,
} from '../domain/authorization/role-assignment';
import { roleDefinitionGuid } from '../domain/authorization/role-definitions';
import { normalizeScope, scopeContains, scopeKey } from '../domain/authorization/scope';
import { errors, KluisError } from '../domain/errors';
import type { CatalogRoleAssignments, RoleAssignmentSource } from '../stores/role-assignment-source';
import { configuredOwnerAssignments } from './authorization';

export interface RoleAssignmentDeps {
  source: RoleAssignmentSource;
  owners: readonly string[];
  clock: () => Date;
}

function catalogOf(deps: RoleAssignmentDeps): CatalogRoleAssignments {
  if (deps.source.kind !== 'catalog') throw errors.roleAssignmentsManagedInAzure();
  return deps.source as CatalogRoleAssignments;
}

function assignmentName(name: string): string {
  if (!isGuid(name)) throw errors.invalidRoleAssignmentId(name);
  return name.toLowerCase();
}

async function everyAssignment(deps: RoleAssignmentDeps): Promise<RoleAssignmentRecord[]> {
  return [...configuredOwnerAssignments(deps.owners), ...(await catalogOf(deps).all())];
}

export interface CreatedRoleAssignment {
  record: RoleAssignmentRecord;
  created: boolean;
}

export async function createRoleAssignment(deps: RoleAssignmentDeps, caller: Caller, scope: string, name: string, body: RoleAssignmentPutBody): Promise<CreatedRoleAssignment> {
  const catalog = catalogOf(deps);
  const assignment = assignmentName(name);
  const properties = body.properties;
  const roleGuid = roleDefinitionGuid(properties.roleDefinitionId);
  const role = roleGuid === undefined ? undefined : await deps.source.roleDefinition(roleGuid);
  if (roleGuid === undefined || role === undefined) throw errors.roleDefinitionDoesNotExist(properties.roleDefinitionId);
  if (!role.assignableScopes.some((assignable) => scopeContains(assignable, scope))) throw errors.roleDefinitionDoesNotExist(properties.roleDefinitionId);
  const wanted: RoleAssignmentRecord = {
    name: assignment,
    scope: normalizeScope(scope),
    roleDefinitionId: role.id,
    principalId: properties.principalId.toLowerCase(),
    principalType: properties.principalType ?? 'User',
    ...(properties.description === undefined ? {} : { description: properties.description }),
    createdOn: deps.clock().toISOString(),
    createdBy: caller.objectId,
  };
  const all = await everyAssignment(deps);
  const sameName = all.find((record) => record.name === assignment);
  const same = (record: RoleAssignmentRecord) =>
    record.principalId === wanted.principalId && record.roleDefinitionId === wanted.roleDefinitionId && scopeKey(record.scope) === scopeKey(wanted.scope);
  if (sameName !== undefined) {
    if (!same(sameName)) throw errors.roleAssignmentUpdateNotPermitted();
    return { record: sameName, created: false };
  }
  if (all.some(same)) throw errors.roleAssignmentExists();
  try {
    await catalog.insert(wanted);
  } catch (err) {
    // Two writers with the same name: the other one won.
    if (err instanceof KluisError && err.code === 'KluisCatalogConflict') throw errors.roleAssignmentExists();
    throw err;
  }
  return { record: wanted, created: true };
}

/** The assignment of that name at exactly that scope (as ARM addresses it). */
export async function getRoleAssignment(deps: RoleAssignmentDeps, scope: string, name: string): Promise<RoleAssignmentRecord> {
  const assignment = assignmentName(name);
  const found = (await everyAssignment(deps)).find((record) => record.name === assignment && scopeKey(record.scope) === scopeKey(scope));
  if (found === undefined) throw errors.roleAssignmentNotFound(name);
  return found;
}

/** Deletes it; undefined when there was none (ARM answers 204). */
export async function deleteRoleAssignment(deps: RoleAssignmentDeps, scope: string, name: string): Promise<RoleAssignmentRecord | undefined> {
  const catalog = catalogOf(deps);
  const assignment = assignmentName(name);
  if (configuredOwnerAssignments(deps.owners).some((record) => record.name === assignment && scopeKey(record.scope) === scopeKey(scope))) {
    throw errors.roleAssignmentUpdateNotPermitted();
  }
  const found = (await catalog.all()).find((record) => record.name === assignment && scopeKey(record.scope) === scopeKey(scope));
  if (found === undefined) return undefined;
  await catalog.delete(found);
  return found;
}

/** What a list at `scope` shows (ARM: at, above and below it; atScope(): at and above it). */
export async function listRoleAssignments(deps: RoleAssignmentDeps, scope: string, filter: RoleAssignmentFilter): Promise<RoleAssignmentRecord[]> {
  return assignmentsVisibleAt(await everyAssignment(deps), scope, filter).sort((a, b) => a.scope.localeCompare(b.scope) || a.name.localeCompare(b.name));
}
