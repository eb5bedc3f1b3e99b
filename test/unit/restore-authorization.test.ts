/**
 * The linked checks of a restore (lib/services/restore-authorization.ts), as a matrix: who holds which
 * role where × what the restore creates (page blobs only, managed disks in a target resource group, a new
 * VM). Managed disks need Microsoft.Compute/disks/write on the target group, a new VM also
 * Microsoft.Compute/virtualMachines/write there; every refusal is LinkedAuthorizationFailed naming the
 * action and the linked scope. Real role definitions (the built-in ones Kluis knows) and the real
 * requestAccess; a custom role stands for Azure's Disk Restore Operator (disks/write and read only).
 */
import type { Caller } from '../../lib/domain/access-token';
import type { RoleAssignmentRecord } from '../../lib/domain/authorization/role-assignment';
import { builtInRole, ROLE_IDS, type RoleDefinition } from '../../lib/domain/authorization/role-definitions';
import { requestAccess } from '../../lib/services/authorization';
import { authorizeRestoreTargets, RESTORE_LINKED_ACTIONS } from '../../lib/services/restore-authorization';
import type { RestoreTargets } from '../../lib/services/restore-requests';
import type { RoleAssignmentSource } from '../../lib/stores/role-assignment-source';

const SUB = '6f1c2a3b-4d5e-4f60-9a7b-8c9d0e1f2a3b';
const rg = (name: string) => `/subscriptions/${SUB}/resourceGroups/${name}`;
const VAULT = `${rg('rg-backup')}/providers/Microsoft.RecoveryServices/vaults/vault1`;
const RESTORE_ACTION = 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/restore/action';
const ON = { action: RESTORE_ACTION, scope: `${VAULT}/backupFabrics/Azure/protectionContainers/c/protectedItems/i/recoveryPoints/1` };
const SOURCE_VM = `${rg('rg-vms')}/providers/Microsoft.Compute/virtualMachines/web1`;
const TARGET_VM = `${rg('rg-restore')}/providers/Microsoft.Compute/virtualMachines/web1-restored`;
const storageAccountId = (name: string) => `${rg('rg-storage')}/providers/Microsoft.Storage/storageAccounts/${name}`;
const PRINCIPAL = '55555555-5555-4555-8555-555555555555';

/** Azure's Disk Restore Operator, as a custom role of the tenant (Kluis's built-in list does not carry it). */
const DISK_RESTORE_OPERATOR: RoleDefinition = {
  id: 'b50d9833-a0cb-478e-945f-707fcc997c13',
  roleName: 'Disk Restore Operator',
  description: 'Provides permission to backup vault to perform disk restore.',
  roleType: 'CustomRole',
  assignableScopes: ['/'],
  permissions: [{ actions: ['Microsoft.Authorization/*/read', 'Microsoft.Resources/subscriptions/resourceGroups/read', 'Microsoft.Compute/disks/write', 'Microsoft.Compute/disks/read'], notActions: [], dataActions: [], notDataActions: [] }],
};

function sourceOf(assignments: ReadonlyArray<[scope: string, roleId: string]>): RoleAssignmentSource {
  const records: RoleAssignmentRecord[] = assignments.map(([scope, roleDefinitionId], i) => ({
    name: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    scope,
    roleDefinitionId,
    principalId: PRINCIPAL,
    principalType: 'User',
    createdOn: '2026-01-01T00:00:00Z',
  }));
  return {
    kind: 'catalog',
    assignmentsOf: async (principalId) => records.filter((record) => record.principalId === principalId),
    roleDefinition: async (guid) => (guid === DISK_RESTORE_OPERATOR.id ? DISK_RESTORE_OPERATOR : builtInRole(guid)),
  };
}

const caller: Caller = { objectId: PRINCIPAL, tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', principalType: 'User', name: 'operator@kluis.local' };

/** What every restore needs: Backup Operator on the vault, VM Contributor on the source VM, Storage Account Contributor on the restore account. */
const BASE: Array<[string, string]> = [
  [rg('rg-backup'), ROLE_IDS.backupOperator],
  [SOURCE_VM, ROLE_IDS.virtualMachineContributor],
  [rg('rg-storage'), ROLE_IDS.storageAccountContributor],
];

const REQUESTS: Record<'pageBlobs' | 'managedDisks' | 'newVm', RestoreTargets> = {
  pageBlobs: { sourceVmId: SOURCE_VM, storageAccountName: 'kluisrestore' },
  managedDisks: { sourceVmId: SOURCE_VM, storageAccountName: 'kluisrestore', managedDisksResourceGroup: { subscriptionId: SUB, resourceGroup: 'rg-restore' } },
  newVm: { sourceVmId: SOURCE_VM, storageAccountName: 'kluisrestore', targetVmId: TARGET_VM, managedDisksResourceGroup: { subscriptionId: SUB, resourceGroup: 'rg-restore' } },
};

type Outcome = 'ok' | { action: string; scope: string };
const disksAtTarget = { action: RESTORE_LINKED_ACTIONS.managedDisks, scope: rg('rg-restore') };
const vmAtTarget = { action: RESTORE_LINKED_ACTIONS.targetVm, scope: TARGET_VM };

const MATRIX: Array<[who: string, assignments: Array<[string, string]>, expected: Record<keyof typeof REQUESTS, Outcome>]> = [
  ['nothing on the target group', BASE, { pageBlobs: 'ok', managedDisks: disksAtTarget, newVm: disksAtTarget }],
  ['Virtual Machine Contributor on the target group', [...BASE, [rg('rg-restore'), ROLE_IDS.virtualMachineContributor]], { pageBlobs: 'ok', managedDisks: 'ok', newVm: 'ok' }],
  ['Virtual Machine Contributor on another group', [...BASE, [rg('rg-other'), ROLE_IDS.virtualMachineContributor]], { pageBlobs: 'ok', managedDisks: disksAtTarget, newVm: disksAtTarget }],
  ['Disk Restore Operator on the target group', [...BASE, [rg('rg-restore'), DISK_RESTORE_OPERATOR.id]], { pageBlobs: 'ok', managedDisks: 'ok', newVm: vmAtTarget }],
  ['Storage Account Contributor on the target group', [...BASE, [rg('rg-restore'), ROLE_IDS.storageAccountContributor]], { pageBlobs: 'ok', managedDisks: disksAtTarget, newVm: disksAtTarget }],
  ['Reader on the target group', [...BASE, [rg('rg-restore'), ROLE_IDS.reader]], { pageBlobs: 'ok', managedDisks: disksAtTarget, newVm: disksAtTarget }],
  ['Backup Operator on the subscription (no Compute rights)', [...BASE, [`/subscriptions/${SUB}`, ROLE_IDS.backupOperator]], { pageBlobs: 'ok', managedDisks: disksAtTarget, newVm: disksAtTarget }],
  ['Contributor on the subscription', [[`/subscriptions/${SUB}`, ROLE_IDS.contributor]], { pageBlobs: 'ok', managedDisks: 'ok', newVm: 'ok' }],
];

describe('the linked checks of a restore: role × what the restore creates', () => {
  it.each(MATRIX)('%s', async (_who, assignments, expected) => {
    const access = requestAccess({ source: sourceOf(assignments), owners: [] }, caller);
    for (const [kind, targets] of Object.entries(REQUESTS) as Array<[keyof typeof REQUESTS, RestoreTargets]>) {
      const outcome = await authorizeRestoreTargets(access, targets, ON, storageAccountId).then(
        () => 'ok' as const,
        (err: { code?: string; statusCode?: number; status?: number; message: string }) => {
          expect({ kind, code: err.code }).toEqual({ kind, code: 'LinkedAuthorizationFailed' });
          const named = /perform action\(s\) '([^']+)' on the linked scope\(s\) '([^']+)'/.exec(err.message);
          return { action: named?.[1] ?? '?', scope: named?.[2] ?? '?' };
        },
      );
      expect({ kind, outcome }).toEqual({ kind, outcome: expected[kind] });
    }
  });

  it('the refusal is a 403 naming the restore action on the vault and the caller', async () => {
    const access = requestAccess({ source: sourceOf(BASE), owners: [] }, caller);
    await expect(authorizeRestoreTargets(access, REQUESTS.managedDisks, ON, storageAccountId)).rejects.toMatchObject({
      code: 'LinkedAuthorizationFailed',
      status: 403,
      message: expect.stringContaining(`has permission to perform action '${RESTORE_ACTION}' on scope '${ON.scope}'`),
    });
  });

  it('the source VM and the restore account are still checked first', async () => {
    const access = requestAccess({ source: sourceOf([[rg('rg-backup'), ROLE_IDS.backupOperator], [rg('rg-restore'), ROLE_IDS.virtualMachineContributor]]), owners: [] }, caller);
    await expect(authorizeRestoreTargets(access, REQUESTS.managedDisks, ON, storageAccountId)).rejects.toMatchObject({
      message: expect.stringContaining(`'${RESTORE_LINKED_ACTIONS.sourceVm}' on the linked scope(s) '${SOURCE_VM}'`),
    });
  });
});
