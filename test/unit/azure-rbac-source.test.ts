/**
 * KLUIS_AUTHORIZATION=azure: role assignments and role definitions read from Azure RBAC with the
 * unchanged `@azure/arm-authorization` client against recorded ARM responses (test/fixtures/arm-compute),
 * and the same authorization decisions as with Kluis's catalog — custom roles and notActions included.
 */
import type { Caller } from '../../lib/domain/access-token';
import { requestAccess } from '../../lib/services/authorization';
import { AzureRbacSource } from '../../lib/stores/azure/azure-rbac-source';
import { fakeCredential, FAKE_TOKEN, RecordedArm, type Recording } from '../support/recorded-arm';

const SUB = 'c3d3a9f1-6d64-4c8e-9d0a-1f2b3c4d5e6f';
const OID = '5f2e1d0c-9b8a-4765-8432-10fedcba9876';
const VAULT = `/subscriptions/${SUB}/resourceGroups/rg-backup/providers/Microsoft.RecoveryServices/vaults/vault1`;
const OTHER_VAULT = `/subscriptions/${SUB}/resourceGroups/rg-backup/providers/Microsoft.RecoveryServices/vaults/vault2`;
const ITEM = `${VAULT}/backupFabrics/Azure/protectionContainers/iaasvmcontainerv2;rg-vms;web1/protectedItems/vm;iaasvmcontainerv2;rg-vms;web1`;

const recordings: Recording[] = [
  { method: 'GET', path: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments`, query: { $filter: `assignedTo('${OID}')` }, status: 200, fixture: 'rbac-role-assignments-assigned-to.json' },
  { method: 'GET', path: '/providers/Microsoft.Authorization/roleDefinitions/00c29273-979b-4161-815c-10b084fb9324', status: 200, fixture: 'rbac-role-definition-backup-operator.json' },
  { method: 'GET', path: '/providers/Microsoft.Authorization/roleDefinitions/0b6c8d9e-1f2a-4b3c-9d4e-5f6a7b8c9d0e', status: 200, fixture: 'rbac-role-definition-custom-auditor.json' },
];

const caller: Caller = { objectId: OID, tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', principalType: 'ServicePrincipal', applicationId: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d' };

function source(now = () => 0) {
  const arm = new RecordedArm(recordings);
  return { arm, rbac: new AzureRbacSource(fakeCredential, { clientOptions: { httpClient: arm, retryOptions: { maxRetries: 0 } }, now }) };
}

describe('Azure RBAC as the source of role assignments', () => {
  it("reads the principal's assignments in the subscription with assignedTo() and the app's token", async () => {
    const { arm, rbac } = source();
    expect(await rbac.assignmentsOf(OID.toUpperCase(), SUB)).toEqual([
      { name: '7e1d2c3b-4a59-4687-b9a0-c1d2e3f4a5b6', scope: VAULT, roleDefinitionId: '00c29273-979b-4161-815c-10b084fb9324', principalId: OID, principalType: 'ServicePrincipal', createdOn: '2026-11-02T09:15:27.441Z' },
      {
        name: '8f2e3d4c-5b6a-4798-a0b1-d2e3f4a5b6c7',
        scope: `/subscriptions/${SUB}`,
        roleDefinitionId: '0b6c8d9e-1f2a-4b3c-9d4e-5f6a7b8c9d0e',
        principalId: OID,
        principalType: 'ServicePrincipal',
        description: 'Backup auditors: read vault configuration, never turn soft delete off',
        createdOn: '2026-11-03T14:02:11.000Z',
      },
    ]);
    expect(arm.requests.map((request) => [request.method, request.url.pathname, request.url.searchParams.get('$filter'), request.url.searchParams.get('api-version'), request.authorization])).toEqual([
      ['GET', `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments`, `assignedTo('${OID}')`, '2022-04-01', `Bearer ${FAKE_TOKEN}`],
    ]);
  });

  it('reads nothing for tenant-level requests (a subscription\'s listing holds what the root gives)', async () => {
    const { arm, rbac } = source();
    expect(await rbac.assignmentsOf(OID, undefined)).toEqual([]);
    expect(arm.requests).toEqual([]);
  });

  it('reads built-in and custom role definitions by id, once each', async () => {
    const { arm, rbac } = source();
    expect(await rbac.roleDefinition('0b6c8d9e-1f2a-4b3c-9d4e-5f6a7b8c9d0e')).toMatchObject({ roleName: 'Backup Auditor (custom)', roleType: 'CustomRole', permissions: [{ notActions: ['Microsoft.RecoveryServices/Vaults/backupconfig/disableSoftDelete/action'] }] });
    await rbac.roleDefinition('0b6c8d9e-1f2a-4b3c-9d4e-5f6a7b8c9d0e');
    expect(arm.requests).toHaveLength(1);
  });

  it('decides as Azure would: Backup Operator on the vault backs up and restores there only; the custom role may not turn soft delete off', async () => {
    const { rbac } = source();
    const access = requestAccess({ source: rbac, owners: [] }, caller);
    expect(await access.permits('Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/backup/action', ITEM)).toBe(true);
    expect(await access.permits('Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/delete', ITEM)).toBe(false);
    expect(await access.permits('Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/backup/action', ITEM.replace(VAULT, OTHER_VAULT))).toBe(false);
    expect(await access.permits('Microsoft.RecoveryServices/Vaults/backupconfig/write', `${OTHER_VAULT}/backupconfig/vaultconfig`)).toBe(true);
    await expect(access.demand('Microsoft.RecoveryServices/Vaults/backupconfig/disableSoftDelete/action', `${OTHER_VAULT}/backupconfig/vaultconfig`)).rejects.toMatchObject({ code: 'AuthorizationFailed', status: 403 });
  });

  it('caches a principal\'s assignments for a minute, then reads them again', async () => {
    let now = 0;
    const { arm, rbac } = source(() => now);
    await rbac.assignmentsOf(OID, SUB);
    now = 59_000;
    await rbac.assignmentsOf(OID, SUB);
    expect(arm.requests).toHaveLength(1);
    now = 61_000;
    await rbac.assignmentsOf(OID, SUB);
    expect(arm.requests).toHaveLength(2);
  });
});
