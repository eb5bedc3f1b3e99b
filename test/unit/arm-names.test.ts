import {
  containerName,
  isValidPolicyName,
  isValidResourceGroupName,
  isValidSubscriptionId,
  isValidVaultName,
  itemName,
  jobId,
  parseContainerName,
  parseItemName,
  parseVaultId,
  parseVirtualMachineId,
  policyId,
  policyNameFromId,
  protectedItemId,
  recoveryPointId,
  vaultId,
  virtualMachineId,
  type VaultRef,
} from '../../lib/domain/arm-names';
import { isKluisErrorLike } from '../../lib/domain/errors';

const SUB = '0b2e1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b';
const VAULT: VaultRef = { subscriptionId: SUB, resourceGroup: 'rg-backup', vaultName: 'vault1' };

/** it.each rows with a short label for long names. */
function rows(cases: Array<[string, boolean]>): Array<{ label: string; value: string; valid: boolean }> {
  return cases.map(([value, valid]) => ({ label: value.length > 40 ? `${value.slice(0, 6)}… (${value.length} chars)` : JSON.stringify(value), value, valid }));
}

function failure(run: () => unknown): { code: string; target?: string; message: string } {
  try {
    run();
  } catch (err) {
    if (isKluisErrorLike(err)) return { code: err.code, target: err.target, message: err.message };
    throw err;
  }
  throw new Error('expected a KluisError');
}

describe('naming rules', () => {
  it.each(
    rows([
      ['ab', true],
      ['a'.repeat(50), true],
      ['Vault-01', true],
      ['a', false],
      ['a'.repeat(51), false],
      ['1vault', false],
      ['-vault', false],
      ['vault_1', false],
      ['vault.1', false],
      ['vault 1', false],
      ['', false],
    ]),
  )('vault name $label → $valid', ({ value, valid }) => {
    expect(isValidVaultName(value)).toBe(valid);
  });

  it.each(
    rows([
      ['rg', true],
      ['My_RG-(1).prod', true],
      ['x'.repeat(90), true],
      ['rg-ü', true],
      ['x'.repeat(91), false],
      ['rg.', false],
      ['rg/x', false],
      ['rg~x', false],
      ['', false],
    ]),
  )('resource group name $label → $valid', ({ value, valid }) => {
    expect(isValidResourceGroupName(value)).toBe(valid);
  });

  it.each(
    rows([
      [SUB, true],
      [SUB.toUpperCase(), true],
      ['00000000-0000-0000-0000-000000000000', true],
      ['0b2e1b2c3d4e4f508a6b7c8d9e0f1a2b', false],
      ['not-a-guid', false],
      [`${SUB}0`, false],
    ]),
  )('subscription id $label → $valid', ({ value, valid }) => {
    expect(isValidSubscriptionId(value)).toBe(valid);
  });

  it.each(
    rows([
      ['DefaultPolicy', true],
      ['daily_30-days', true],
      ['abc', true],
      ['a'.repeat(150), true],
      ['ab', false],
      ['a'.repeat(151), false],
      ['1policy', false],
      ['my policy', false],
      ['p;x', false],
    ]),
  )('policy name $label → $valid', ({ value, valid }) => {
    expect(isValidPolicyName(value)).toBe(valid);
  });
});

describe('resource ids', () => {
  it('builds ids under the vault, keeping the caller casing', () => {
    const vault = `/subscriptions/${SUB}/resourceGroups/rg-backup/providers/Microsoft.RecoveryServices/vaults/vault1`;
    expect(vaultId(VAULT)).toBe(vault);
    expect(policyId(VAULT, 'DefaultPolicy')).toBe(`${vault}/backupPolicies/DefaultPolicy`);
    const container = containerName('RG-VMs', 'vm1');
    const item = itemName('RG-VMs', 'vm1');
    expect(container).toBe('IaasVMContainer;iaasvmcontainerv2;RG-VMs;vm1');
    expect(item).toBe('VM;iaasvmcontainerv2;RG-VMs;vm1');
    expect(protectedItemId(VAULT, container, item)).toBe(
      `${vault}/backupFabrics/Azure/protectionContainers/${container}/protectedItems/${item}`,
    );
    expect(recoveryPointId(VAULT, container, item, '42')).toBe(`${protectedItemId(VAULT, container, item)}/recoveryPoints/42`);
    expect(jobId(VAULT, 'job-1')).toBe(`${vault}/backupJobs/job-1`);
    expect(virtualMachineId({ subscriptionId: SUB, resourceGroup: 'rg', vmName: 'vm1' })).toBe(
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1`,
    );
  });

  it('parses vault and VM ids in any casing and refuses others, naming the target', () => {
    expect(parseVaultId(vaultId(VAULT).toLowerCase())).toEqual({ subscriptionId: SUB, resourceGroup: 'rg-backup', vaultName: 'vault1' });
    expect(parseVirtualMachineId(`/SUBSCRIPTIONS/${SUB}/resourcegroups/rg/providers/microsoft.compute/VIRTUALMACHINES/vm1/`)).toEqual({
      subscriptionId: SUB,
      resourceGroup: 'rg',
      vmName: 'vm1',
    });
    expect(failure(() => parseVaultId('/subscriptions/x/resourceGroups/rg'))).toMatchObject({ code: 'KluisInvalidRequest', target: 'vaultId' });
    expect(failure(() => parseVaultId(vaultId({ ...VAULT, subscriptionId: 'nope' })))).toMatchObject({ code: 'InvalidSubscriptionId', target: 'vaultId' });
    expect(failure(() => parseVirtualMachineId(`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/d1`))).toMatchObject({
      code: 'KluisInvalidRequest',
      target: 'sourceResourceId',
    });
    expect(failure(() => parseVirtualMachineId(virtualMachineId({ subscriptionId: SUB, resourceGroup: 'rg', vmName: '-vm' })))).toMatchObject({
      code: 'KluisInvalidResourceName',
      target: 'sourceResourceId',
    });
  });

  it('takes a policy name or a policy id of the same vault', () => {
    expect(policyNameFromId(VAULT, 'Daily')).toBe('Daily');
    expect(policyNameFromId(VAULT, policyId(VAULT, 'Daily'))).toBe('Daily');
    expect(policyNameFromId(VAULT, policyId(VAULT, 'Daily').toUpperCase())).toBe('DAILY');
    const other = policyId({ ...VAULT, vaultName: 'vault2' }, 'Daily');
    expect(failure(() => policyNameFromId(VAULT, other))).toMatchObject({ code: 'KluisInvalidRequest', target: 'properties.policyId' });
    expect(failure(() => policyNameFromId(VAULT, `${vaultId(VAULT)}/backupJobs/x`))).toMatchObject({ code: 'KluisInvalidRequest' });
    expect(failure(() => policyNameFromId(VAULT, 'no good', 'policy'))).toMatchObject({ code: 'KluisInvalidResourceName', target: 'policy' });
  });
});

describe('container and item names', () => {
  it('parses both ways round, case-insensitively, and the short container form', () => {
    expect(parseContainerName(containerName('rg', 'vm1'))).toEqual({ resourceGroup: 'rg', vmName: 'vm1' });
    expect(parseContainerName('iaasvmcontainer;IAASVMCONTAINERV2;rg;vm1')).toEqual({ resourceGroup: 'rg', vmName: 'vm1' });
    expect(parseContainerName('iaasvmcontainerv2;rg;vm1')).toEqual({ resourceGroup: 'rg', vmName: 'vm1' });
    expect(parseItemName(itemName('My.RG', 'web_01'))).toEqual({ resourceGroup: 'My.RG', vmName: 'web_01' });
    expect(parseItemName('vm;IaasVmContainerV2;rg;vm1')).toEqual({ resourceGroup: 'rg', vmName: 'vm1' });
  });

  it.each([
    ['VM;iaasvmcontainerv2;rg;vm1', 'containerName'],
    ['IaasVMContainer;iaasvmcontainerv2;rg', 'containerName'],
    ['IaasVMContainer;iaasvmcontainerv2;rg;vm1;x', 'containerName'],
    ['IaasVMContainer;other;rg;vm1', 'containerName'],
  ])('refuses container name %p', (name, target) => {
    expect(failure(() => parseContainerName(name))).toMatchObject({ code: 'KluisInvalidRequest', target });
  });

  it('refuses item names of another kind or with bad parts, naming the target', () => {
    expect(failure(() => parseItemName(containerName('rg', 'vm1')))).toMatchObject({ code: 'KluisInvalidRequest', target: 'protectedItemName' });
    expect(failure(() => parseItemName('VM;iaasvmcontainerv2;rg.;vm1'))).toMatchObject({ code: 'KluisInvalidResourceName', target: 'protectedItemName' });
    expect(failure(() => parseItemName('VM;iaasvmcontainerv2;rg;vm-'))).toMatchObject({ code: 'KluisInvalidResourceName' });
    expect(failure(() => parseItemName(`VM;iaasvmcontainerv2;rg;${'v'.repeat(65)}`))).toMatchObject({ code: 'KluisInvalidResourceName' });
  });
});
