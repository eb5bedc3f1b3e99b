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

// app.http is not needed: the test reads the operations armRoute records.
jest.mock('@azure/functions', () => {
  const actual = jest.requireActual<typeof import('@azure/functions')>('@azure/functions');
  return { ...actual, app: { ...actual.app, http: () => undefined } };
});

type RoleName = 'Owner' | 'Contributor' | 'Reader' | 'Backup Contributor' | 'Backup Operator' | 'Backup Reader';
const ROLES: readonly RoleName[] = ['Owner', 'Contributor', 'Reader', 'Backup Contributor', 'Backup Operator', 'Backup Reader'];

// Who may call a route, by the roles Azure's definitions give its action.
const OWNER: RoleName[] = ['Owner'];
const ARM_WRITE: RoleName[] = ['Owner', 'Contributor'];
const BACKUP_ADMIN: RoleName[] = ['Owner', 'Contributor', 'Backup Contributor'];
const BACKUP_OPERATE: RoleName[] = ['Owner', 'Contributor', 'Backup Contributor', 'Backup Operator'];
const ARM_READ: RoleName[] = ['Owner', 'Contributor', 'Reader'];
const RESOURCE_READ: RoleName[] = ['Owner', 'Contributor', 'Reader', 'Backup Contributor', 'Backup Operator'];
const VAULT_CONFIG_READ: RoleName[] = ['Owner', 'Contributor', 'Reader', 'Backup Contributor', 'Backup Reader'];
const EVERY_ROLE: RoleName[] = [...ROLES];

/** operationId → the roles that may call it (a route's `{resourceProviderNamespace}` taken as Microsoft.Compute). */
const MATRIX: Record<string, RoleName[]> = {
  ActivityLogs_List: ARM_READ,
  Alias_Create: ARM_WRITE,
  Alias_Get: ARM_READ,
  Alias_List: ARM_READ,
  BackupJobs_List: EVERY_ROLE,
  BackupOperationResults_Get: EVERY_ROLE,
  BackupOperationStatuses_Get: EVERY_ROLE,
  BackupPolicies_List: EVERY_ROLE,
  BackupProtectableItems_List: RESOURCE_READ,
  BackupProtectedItems_List: EVERY_ROLE,
  BackupProtectionContainers_List: EVERY_ROLE,
  BackupResourceEncryptionConfigs_Get: EVERY_ROLE,
  BackupResourceStorageConfigs_Get: EVERY_ROLE,
  BackupResourceStorageConfigs_Patch: BACKUP_OPERATE,
  BackupResourceStorageConfigs_Update: BACKUP_OPERATE,
  BackupResourceVaultConfigs_Get: VAULT_CONFIG_READ,
  BackupResourceVaultConfigs_Put: BACKUP_ADMIN,
  BackupResourceVaultConfigs_Update: BACKUP_ADMIN,
  Backups_Trigger: BACKUP_OPERATE,
  ClassicStorageAccounts_Get: ARM_READ,
  JobCancellations_Trigger: BACKUP_OPERATE,
  JobDetails_Get: EVERY_ROLE,
  JobOperationResults_Get: EVERY_ROLE,
  Permissions_List_ResourceGroup: EVERY_ROLE,
  Permissions_List_StorageAccount: EVERY_ROLE,
  Permissions_List_Subscription: EVERY_ROLE,
  Permissions_List_Vault: EVERY_ROLE,
  Permissions_List_VirtualMachine: EVERY_ROLE,
  ProtectedItemOperationResults_Get: EVERY_ROLE,
  ProtectedItemOperationStatuses_Get: EVERY_ROLE,
  ProtectedItems_CreateOrUpdate: BACKUP_OPERATE,
  ProtectedItems_Delete: BACKUP_ADMIN,
  ProtectedItems_Get: EVERY_ROLE,
  ProtectionContainerOperationResults_Get: EVERY_ROLE,
  ProtectionContainerRefreshOperationResults_Get: EVERY_ROLE,
  ProtectionContainers_Get: EVERY_ROLE,
  ProtectionContainers_Refresh: BACKUP_OPERATE,
  ProtectionPolicies_CreateOrUpdate: BACKUP_ADMIN,
  ProtectionPolicies_Delete: BACKUP_ADMIN,
  ProtectionPolicies_Get: EVERY_ROLE,
  Providers_Get: ARM_READ,
  Providers_GetAtTenantScope: ARM_READ,
  Providers_List: ARM_READ,
  Providers_ListAtTenantScope: ARM_READ,
  Providers_Register: ARM_WRITE,
  RecoveryPoints_Get: EVERY_ROLE,
  RecoveryPoints_List: EVERY_ROLE,
  RecoveryPoints_RestoreKeyAndSecret: BACKUP_OPERATE,
  ResourceGroups_CheckExistence: RESOURCE_READ,
  ResourceGroups_CreateOrUpdate: ARM_WRITE,
  ResourceGroups_Delete: ARM_WRITE,
  ResourceGroups_Get: RESOURCE_READ,
  ResourceGroups_List: RESOURCE_READ,
  ResourceGroups_Update: ARM_WRITE,
  ResourceGuardProxies_Get: EVERY_ROLE,
  ResourceGuardProxy_Get: EVERY_ROLE,
  Restores_Trigger: BACKUP_OPERATE,
  RoleAssignments_Create_ResourceGroup: OWNER,
  RoleAssignments_Create_Root: OWNER,
  RoleAssignments_Create_StorageAccount: OWNER,
  RoleAssignments_Create_Subscription: OWNER,
  RoleAssignments_Create_Vault: OWNER,
  RoleAssignments_Create_VirtualMachine: OWNER,
  RoleAssignments_Delete_ResourceGroup: OWNER,
  RoleAssignments_Delete_Root: OWNER,
  RoleAssignments_Delete_StorageAccount: OWNER,
  RoleAssignments_Delete_Subscription: OWNER,
  RoleAssignments_Delete_Vault: OWNER,
  RoleAssignments_Delete_VirtualMachine: OWNER,
  RoleAssignments_Get_ResourceGroup: EVERY_ROLE,
  RoleAssignments_Get_Root: EVERY_ROLE,
  RoleAssignments_Get_StorageAccount: EVERY_ROLE,
  RoleAssignments_Get_Subscription: EVERY_ROLE,
  RoleAssignments_Get_Vault: EVERY_ROLE,
  RoleAssignments_Get_VirtualMachine: EVERY_ROLE,
  RoleAssignments_ListForScope_ResourceGroup: EVERY_ROLE,
  RoleAssignments_ListForScope_Root: EVERY_ROLE,
  RoleAssignments_ListForScope_StorageAccount: EVERY_ROLE,
  RoleAssignments_ListForScope_Subscription: EVERY_ROLE,
  RoleAssignments_ListForScope_Vault: EVERY_ROLE,
  RoleAssignments_ListForScope_VirtualMachine: EVERY_ROLE,
  RoleDefinitions_Get_ResourceGroup: EVERY_ROLE,
  RoleDefinitions_Get_Root: EVERY_ROLE,
  RoleDefinitions_Get_StorageAccount: EVERY_ROLE,
  RoleDefinitions_Get_Subscription: EVERY_ROLE,
  RoleDefinitions_Get_Vault: EVERY_ROLE,
  RoleDefinitions_Get_VirtualMachine: EVERY_ROLE,
  RoleDefinitions_List_ResourceGroup: EVERY_ROLE,
  RoleDefinitions_List_Root: EVERY_ROLE,
  RoleDefinitions_List_StorageAccount: EVERY_ROLE,
  RoleDefinitions_List_Subscription: EVERY_ROLE,
  RoleDefinitions_List_Vault: EVERY_ROLE,
  RoleDefinitions_List_VirtualMachine: EVERY_ROLE,
  StorageAccounts_GetProperties: RESOURCE_READ,
  StorageAccounts_List: RESOURCE_READ,
  StorageAccounts_ListByResourceGroup: RESOURCE_READ,
  Subscriptions_Get: ARM_READ,
  Subscriptions_List: ARM_READ,
  Tenants_List: ARM_READ,
  Vaults_CreateOrUpdate: BACKUP_ADMIN,
  Vaults_Delete: ARM_WRITE,
  Vaults_Get: EVERY_ROLE,
  Vaults_ListByResourceGroup: EVERY_ROLE,
  Vaults_ListBySubscriptionId: EVERY_ROLE,
  VirtualMachines_Get: ARM_READ,
  VirtualMachines_InstanceView: ARM_READ,
  VirtualMachines_List: ARM_READ,
  VirtualMachines_ListAll: ARM_READ,
};

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
