import { protectionBlockers, vmsInOtherRegions } from '../../web/src/logic/protectability';
import { resourceGroupProblem, restoreTargets, vmNameProblem } from '../../web/src/logic/restore-rules';
import { vaultNameProblem } from '../../web/src/logic/vault-form';
import { containerNameOfVm, itemId, itemNameOfVm, itemRefOf, pages, vaultRefOf, vmNameOfItem } from '../../web/src/api/paths';
import type { ProtectableItem } from '../../web/src/api/types';

const vm = (properties: Record<string, unknown>): ProtectableItem => ({ id: 'x', name: 'iaasvmcontainerv2;rg;vm', properties: { friendlyName: 'vm', ...properties } });

describe('inline rules of the dashboard forms', () => {
  it('checks vault names as ARM does, and their uniqueness per subscription whatever the case', () => {
    expect(vaultNameProblem('', [])).toBe('Name the vault.');
    expect(vaultNameProblem('v', [])).toMatch(/^1 characters/);
    expect(vaultNameProblem('1vault', [])).toMatch(/start with a letter/);
    expect(vaultNameProblem('my_vault', [])).toMatch(/letters, digits and hyphens/);
    expect(vaultNameProblem('Backup-Vault', ['backup-vault'])).toMatch(/already/);
    expect(vaultNameProblem('backup-vault-2', ['backup-vault'])).toBeUndefined();
  });

  it('checks the restore’s new VM and resource group, and keeps target accounts in the vault’s region', () => {
    expect(vmNameProblem('web-restored', ['web01'])).toBeUndefined();
    expect(vmNameProblem('WEB01', ['web01'])).toMatch(/never replaces a VM/);
    expect(vmNameProblem('-bad', [])).toMatch(/Not a valid name/);
    expect(resourceGroupProblem('rg.')).toMatch(/Not a valid name/);
    expect(restoreTargets([{ id: 'a', name: 'a', location: 'westeurope' }, { id: 'b', name: 'b', location: 'North Europe' }], 'West Europe').map((a) => a.id)).toEqual(['a']);
  });

  it('says why a discovered VM cannot be protected', () => {
    expect(protectionBlockers(vm({ powerState: 'running', agent: { status: 'Ready' }, encryption: { enabled: false } }))).toEqual([]);
    expect(protectionBlockers(vm({ powerState: 'stopped', agent: { status: 'NotReady' } }))).toEqual([]);
    expect(protectionBlockers(vm({ powerState: 'running', agent: { status: 'NotReady' } }))[0]).toMatch(/UserErrorGuestAgentStatusUnavailable/);
    expect(protectionBlockers(vm({ provisioningState: 'Failed' }))[0]).toMatch(/UserErrorVmProvisioningStateFailed/);
    expect(protectionBlockers(vm({ encryption: { enabled: true, bek: true, kek: false } }))[0]).toMatch(/UserErrorEncryptedVmBekOnlyNotSupported/);
    expect(protectionBlockers(vm({ disks: Array.from({ length: 18 }, (_v, i) => ({ kind: i === 0 ? 'os' : 'data' })) }))[0]).toMatch(/17 data disks/);
    const elsewhere = vmsInOtherRegions(
      [
        { id: '/x/vm1', name: 'vm1', location: 'westeurope' },
        { id: '/x/vm2', name: 'vm2', location: 'northeurope' },
      ],
      'westeurope',
      new Set(),
    );
    expect(elsewhere.map((e) => [e.vm.name, e.reason])).toEqual([['vm2', expect.stringMatching(/northeurope; this vault is in westeurope/)]]);
  });

  it('builds and reads resource ids and the dashboard’s own URLs', () => {
    const item = { subscriptionId: 's', resourceGroup: 'rg', vaultName: 'v', containerName: containerNameOfVm('vms', 'web01'), itemName: itemNameOfVm('vms', 'web01') };
    expect(itemId(item)).toBe('/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;vms;web01/protectedItems/VM;iaasvmcontainerv2;vms;web01');
    expect(itemRefOf(itemId(item))).toEqual(item);
    expect(vaultRefOf('/subscriptions/s/resourcegroups/rg/providers/microsoft.recoveryservices/vaults/v/backupJobs/j')).toEqual({ subscriptionId: 's', resourceGroup: 'rg', vaultName: 'v' });
    expect(vmNameOfItem(item.itemName)).toBe('web01');
    expect(pages.restore(item, '123')).toBe('/dashboard/vaults/s/rg/v/items/IaasVMContainer;iaasvmcontainerv2;vms;web01/VM;iaasvmcontainerv2;vms;web01/restore?point=123');
  });
});
