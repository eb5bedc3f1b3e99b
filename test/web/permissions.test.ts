import { ACTIONS, can, isAllowed, matchesAction, reason, type AccessView } from '../../web/src/logic/permissions';

/** The built-in roles' action lists as Azure defines them (the parts that matter here). */
const BACKUP_READER = { actions: ['Microsoft.RecoveryServices/Vaults/*/read', 'Microsoft.RecoveryServices/Vaults/read', 'Microsoft.Resources/subscriptions/resourceGroups/read'], notActions: [] };
const BACKUP_OPERATOR = {
  actions: [
    'Microsoft.RecoveryServices/Vaults/*/read',
    'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/backup/action',
    'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/restore/action',
    'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/write',
    'Microsoft.RecoveryServices/Vaults/backupFabrics/refreshContainers/action',
    'Microsoft.RecoveryServices/Vaults/backupJobs/cancelJob/action',
  ],
  notActions: [],
};
const BACKUP_CONTRIBUTOR = { actions: ['Microsoft.RecoveryServices/*'], notActions: ['Microsoft.RecoveryServices/Vaults/delete'] };
const view = (permissions: AccessView['permissions']): AccessView => ({ known: true, permissions, scopeName: 'vault v1' });

describe('what the signed-in principal may do', () => {
  it("matches Azure's wildcards, case-insensitively", () => {
    expect(matchesAction('*', ACTIONS.backupNow)).toBe(true);
    expect(matchesAction('Microsoft.RecoveryServices/*', ACTIONS.restore)).toBe(true);
    expect(matchesAction('microsoft.recoveryservices/vaults/*/read', 'Microsoft.RecoveryServices/Vaults/backupJobs/read')).toBe(true);
    expect(matchesAction('Microsoft.RecoveryServices/Vaults/*/read', ACTIONS.writePolicy)).toBe(false);
    expect(matchesAction('Microsoft.Compute/*', ACTIONS.writeVault)).toBe(false);
  });

  it('lets notActions of the same entry take an action away, but not another entry’s grant', () => {
    expect(isAllowed([BACKUP_CONTRIBUTOR], ACTIONS.deleteVault)).toBe(false);
    expect(isAllowed([BACKUP_CONTRIBUTOR], ACTIONS.writePolicy)).toBe(true);
    expect(isAllowed([BACKUP_CONTRIBUTOR, { actions: ['*'], notActions: [] }], ACTIONS.deleteVault)).toBe(true);
    expect(isAllowed([], ACTIONS.backupNow)).toBe(false);
  });

  it('gives a Backup Reader no action, with the reason and the role that would grant it', () => {
    const reader = view([BACKUP_READER]);
    for (const action of Object.keys(ACTIONS) as Array<keyof typeof ACTIONS>) expect(can(reader, action)).toBe(false);
    expect(reason(reader, 'backupNow')).toBe(
      'Your roles on vault v1 do not allow you to start backups (Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/backup/action). Backup Operator or Backup Contributor grant it.',
    );
    expect(reason(reader, 'writePolicy')).toContain('Backup Contributor grants it');
  });

  it('lets a Backup Operator back up, restore and protect, but not delete data or change policies', () => {
    const operator = view([BACKUP_OPERATOR]);
    expect(['backupNow', 'restore', 'writeItem', 'refreshContainers', 'cancelJob'].map((a) => can(operator, a as keyof typeof ACTIONS))).toEqual([true, true, true, true, true]);
    expect(['deleteItem', 'writePolicy', 'writeVaultConfig'].map((a) => can(operator, a as keyof typeof ACTIONS))).toEqual([false, false, false]);
    expect(reason(operator, 'backupNow')).toBeUndefined();
  });

  it('shows no reason while the answer is on its way, and names the problem when there is none', () => {
    const waiting: AccessView = { known: false, permissions: [], scopeName: 'vault v1', pending: true };
    expect(can(waiting, 'backupNow')).toBe(false);
    expect(reason(waiting, 'backupNow')).toBeUndefined();
    const failed: AccessView = { known: false, permissions: [], scopeName: 'vault v1', problem: 'Failed to fetch' };
    expect(can(failed, 'restore')).toBe(false);
    expect(reason(failed, 'restore')).toBe('Kluis could not tell what your roles on vault v1 allow: Failed to fetch');
  });
});
