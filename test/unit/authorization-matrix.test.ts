/**
 * The route × role matrix, generated from the registered operations: every ARM route declares an Azure
 * action, and each built-in role allows exactly the routes this table says — written from Azure's
 * published role definitions (Backup Operator backs up and restores but deletes nothing; Backup Reader
 * starts nothing; Reader reads everything; Contributor cannot assign roles). A new route without an
 * action or without a row here fails. Then the scope dimension: an assignment on another vault gives
 * nothing, one on the resource group or subscription is inherited downward; and the action matching.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { registeredOperations } from '../../functions/http/arm/route';
import type { Caller } from '../../lib/domain/access-token';
import { actionMatches, isAzureActionName, permissionsAllow } from '../../lib/domain/authorization/actions';
import type { RoleAssignmentRecord } from '../../lib/domain/authorization/role-assignment';
import { builtInRole, ROLE_IDS } from '../../lib/domain/authorization/role-definitions';
import { requestAccess } from '../../lib/services/authorization';
import { memoryAccessCatalog } from '../../lib/stores/access-catalog';
import { CatalogRoleAssignments } from '../../lib/stores/role-assignment-source';
import { BACKUP_ADMIN, MATRIX_ROLES as ROLES, ROLE_MATRIX as MATRIX, type MatrixRole as RoleName } from '../support/role-matrix';

// app.http is not needed: the test reads the operations armRoute records.
jest.mock('@azure/functions', () => {
  const actual = jest.requireActual<typeof import('@azure/functions')>('@azure/functions');
  return { ...actual, app: { ...actual.app, http: () => undefined } };
});

function loadAllRoutes(): void {
  const dir = path.join(__dirname, '..', '..', 'functions', 'http', 'arm');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- every route module registers its routes when loaded
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts')).sort()) require(path.join(dir, file));
}

const permissionsOf = (role: RoleName) => builtInRole(role)!.permissions;
const concrete = (action: string) => action.replace('{resourceProviderNamespace}', 'Microsoft.Compute');

describe('the route × role matrix', () => {
  beforeAll(loadAllRoutes);

  it('has exactly one row per registered operation, and every operation declares a concrete Azure action', () => {
    const operations = registeredOperations();
    expect(operations.length).toBeGreaterThan(100);
    for (const operation of operations) expect([operation.operationId, isAzureActionName(concrete(operation.action))]).toEqual([operation.operationId, true]);
    expect(operations.map((operation) => operation.operationId).sort()).toEqual(Object.keys(MATRIX).sort());
  });

  it.each(ROLES)('%s may call exactly the routes Azure gives it', (role) => {
    const allowed = registeredOperations()
      .filter((operation) => permissionsAllow(permissionsOf(role), concrete(operation.action)))
      .map((operation) => operation.operationId)
      .sort();
    const expected = Object.entries(MATRIX)
      .filter(([, roles]) => roles.includes(role))
      .map(([operationId]) => operationId)
      .sort();
    expect(allowed).toEqual(expected);
  });

  it('Backup Operator backs up and restores but cannot stop protection with delete, delete policies or turn soft delete off', () => {
    const can = (action: string) => permissionsAllow(permissionsOf('Backup Operator'), action);
    expect(can('Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/backup/action')).toBe(true);
    expect(can('Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/restore/action')).toBe(true);
    expect(can('Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/delete')).toBe(false);
    expect(can('Microsoft.RecoveryServices/Vaults/backupPolicies/delete')).toBe(false);
    expect(can('Microsoft.RecoveryServices/Vaults/backupconfig/write')).toBe(false);
    expect(can('Microsoft.RecoveryServices/Vaults/backupconfig/disableSoftDelete/action')).toBe(false);
  });

  it('Backup Reader lists jobs and points but starts nothing', () => {
    const can = (action: string) => permissionsAllow(permissionsOf('Backup Reader'), action);
    expect(can('Microsoft.RecoveryServices/Vaults/backupJobs/read')).toBe(true);
    expect(can('Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/read')).toBe(true);
    for (const operation of registeredOperations().filter((op) => !/\/read$/i.test(op.action))) {
      const allowed = permissionsAllow(permissionsOf('Backup Reader'), concrete(operation.action));
      // Exporting jobs is the one action Backup Reader holds besides reads; no route of Kluis performs it.
      expect([operation.operationId, allowed]).toEqual([operation.operationId, false]);
    }
  });

  it('turning soft delete off is its own action: the backup writers hold it, a custom role can leave it out', () => {
    const disable = 'Microsoft.RecoveryServices/Vaults/backupconfig/disableSoftDelete/action';
    expect(BACKUP_ADMIN.every((role) => permissionsAllow(permissionsOf(role), disable))).toBe(true);
    const custom = [{ actions: ['Microsoft.RecoveryServices/Vaults/*'], notActions: ['Microsoft.RecoveryServices/Vaults/backupconfig/disableSoftDelete/action'], dataActions: [], notDataActions: [] }];
    expect(permissionsAllow(custom, 'Microsoft.RecoveryServices/Vaults/backupconfig/write')).toBe(true);
    expect(permissionsAllow(custom, disable)).toBe(false);
  });
});

describe('action matching', () => {
  it('matches case-insensitively with * spanning slashes; notActions subtract within one permission only', () => {
    expect(actionMatches('*/read', 'Microsoft.RecoveryServices/Vaults/backupJobs/read')).toBe(true);
    expect(actionMatches('*/read', 'Microsoft.RecoveryServices/Vaults/write')).toBe(false);
    expect(actionMatches('Microsoft.RecoveryServices/Vaults/backupJobs/*', 'microsoft.recoveryservices/vaults/BACKUPJOBS/cancelJob/action')).toBe(true);
    expect(actionMatches('Microsoft.RecoveryServices/Vaults/backupJobs/*', 'Microsoft.RecoveryServices/Vaults/backupJobsExport/action')).toBe(false);
    expect(actionMatches('Microsoft.Authorization/*/Write', 'Microsoft.Authorization/roleAssignments/write')).toBe(true);
    const contributor = permissionsOf('Contributor');
    expect(permissionsAllow(contributor, 'Microsoft.Authorization/roleAssignments/write')).toBe(false);
    expect(permissionsAllow([...contributor, { actions: ['Microsoft.Authorization/roleAssignments/write'], notActions: [], dataActions: [], notDataActions: [] }], 'Microsoft.Authorization/roleAssignments/write')).toBe(true);
    expect(isAzureActionName('Microsoft.RecoveryServices/Vaults/*')).toBe(false);
    expect(isAzureActionName('Microsoft.RecoveryServices/Vaults/read')).toBe(true);
  });
});

describe('scopes: assignments apply at their scope and below', () => {
  const SUB = '6f1c2a3b-4d5e-4f60-9a7b-8c9d0e1f2a3b';
  const RG = `/subscriptions/${SUB}/resourceGroups/rg-backup`;
  const VAULT = `${RG}/providers/Microsoft.RecoveryServices/vaults/vault1`;
  const OTHER_VAULT = `${RG}/providers/Microsoft.RecoveryServices/vaults/vault2`;
  const ITEM = `${VAULT}/backupFabrics/Azure/protectionContainers/iaasvmcontainerv2;rg-vms;web1/protectedItems/vm;iaasvmcontainerv2;rg-vms;web1`;
  const BACKUP = 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/backup/action';
  const caller = (objectId: string): Caller => ({ objectId, tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', principalType: 'ServicePrincipal' });

  async function accessWith(principalId: string, scope: string, roleDefinitionId: string) {
    const catalog = memoryAccessCatalog();
    const source = new CatalogRoleAssignments(catalog.roleAssignments);
    const record: RoleAssignmentRecord = { name: '3f2b8a1c-0d4e-4f5a-9b6c-7d8e9f0a1b2c', scope, roleDefinitionId, principalId, principalType: 'ServicePrincipal', createdOn: '2026-01-01T00:00:00Z' };
    await source.insert(record);
    return requestAccess({ source, owners: [] }, caller(principalId));
  }

  it('an assignment on another vault gives nothing on this one', async () => {
    const access = await accessWith('11111111-1111-4111-8111-111111111111', OTHER_VAULT, ROLE_IDS.backupContributor);
    expect(await access.permits(BACKUP, OTHER_VAULT + ITEM.slice(VAULT.length))).toBe(true);
    expect(await access.permits(BACKUP, ITEM)).toBe(false);
    await expect(access.demand(BACKUP, ITEM)).rejects.toMatchObject({
      code: 'AuthorizationFailed',
      status: 403,
      message: `The client '11111111-1111-4111-8111-111111111111' with object id '11111111-1111-4111-8111-111111111111' does not have authorization to perform action '${BACKUP}' over scope '${ITEM}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    });
  });

  it('an assignment on the resource group or the subscription is inherited by the vault and its items, not by siblings', async () => {
    const byGroup = await accessWith('22222222-2222-4222-8222-222222222222', RG, ROLE_IDS.backupOperator);
    expect(await byGroup.permits(BACKUP, ITEM)).toBe(true);
    expect(await byGroup.permits(BACKUP, ITEM.replace('rg-backup', 'rg-other'))).toBe(false);
    expect(await byGroup.permits(BACKUP, ITEM.replace('rg-backup', 'rg-backup2'))).toBe(false);
    const bySubscription = await accessWith('33333333-3333-4333-8333-333333333333', `/subscriptions/${SUB}`, ROLE_IDS.reader);
    expect(await bySubscription.permits('Microsoft.RecoveryServices/Vaults/read', VAULT)).toBe(true);
    expect(await bySubscription.permits(BACKUP, ITEM)).toBe(false);
    expect(await bySubscription.permits('Microsoft.RecoveryServices/Vaults/read', VAULT.replace(SUB, '7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f'))).toBe(false);
  });

  it('a principal without assignments may do nothing; a configured owner may do everything', async () => {
    const catalog = memoryAccessCatalog();
    const source = new CatalogRoleAssignments(catalog.roleAssignments);
    const nobody = requestAccess({ source, owners: [] }, caller('44444444-4444-4444-8444-444444444444'));
    expect(await nobody.permits('Microsoft.RecoveryServices/Vaults/read', VAULT)).toBe(false);
    const owner = requestAccess({ source, owners: ['44444444-4444-4444-8444-444444444444'] }, caller('44444444-4444-4444-8444-444444444444'));
    expect(await owner.permits('Microsoft.Authorization/roleAssignments/write', VAULT)).toBe(true);
    expect(await owner.isOwnerAt('/')).toBe(true);
  });
});
