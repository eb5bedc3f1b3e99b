/**
 * VM identity, name rules, disk slots and the fabric's create-request schema.
 */
import { isKluisErrorLike } from '../../lib/domain/errors';
import {
  assertValidVmRef,
  createVmRequestSchema,
  dataDisksOf,
  DEFAULT_AGENT_VERSION,
  diskInSlot,
  diskSlot,
  isValidResourceGroupName,
  isValidSubscriptionId,
  isValidVmName,
  MAX_DATA_DISK_LUN,
  normalizeLocation,
  osDiskOf,
  parseVmResourceId,
  sameVm,
  virtualMachineSchema,
  isManagedDisk,
  vmKey,
  vmNameProblem,
  vmRefFromResourceId,
  vmResourceId,
  type VirtualMachine,
} from '../../lib/domain/virtual-machine';

const SUB = '11111111-2222-3333-4444-555555555555';
const MIB = 1024 * 1024;

describe('VM resource ids', () => {
  it('builds the ARM id and parses it back', () => {
    const id = vmResourceId(SUB, 'rg-prod', 'web01');
    expect(id).toBe(`/subscriptions/${SUB}/resourceGroups/rg-prod/providers/Microsoft.Compute/virtualMachines/web01`);
    expect(parseVmResourceId(id)).toEqual({ subscriptionId: SUB, resourceGroup: 'rg-prod', name: 'web01' });
  });

  it('matches provider and type segments case-insensitively and keeps the names as given', () => {
    expect(parseVmResourceId(`/SUBSCRIPTIONS/${SUB}/resourcegroups/RG-Prod/providers/microsoft.compute/VIRTUALMACHINES/Web01/`)).toEqual({
      subscriptionId: SUB,
      resourceGroup: 'RG-Prod',
      name: 'Web01',
    });
  });

  it.each([
    ['another resource type', `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/d1`],
    ['a child resource', `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/extensions/x`],
    ['a missing resource group', `/subscriptions/${SUB}/providers/Microsoft.Compute/virtualMachines/vm`],
    ['no leading slash', `subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm`],
    ['an empty string', ''],
  ])('refuses %s', (_case, id) => {
    expect(parseVmResourceId(id)).toBeUndefined();
    let thrown: unknown;
    try {
      vmRefFromResourceId(id, 'sourceResourceId');
    } catch (err) {
      thrown = err;
    }
    expect(isKluisErrorLike(thrown) && thrown.code).toBe('KluisInvalidRequest');
    expect((thrown as { target?: string }).target).toBe('sourceResourceId');
  });

  it('compares VMs case-insensitively', () => {
    const a = { subscriptionId: SUB.toUpperCase(), resourceGroup: 'RG', name: 'Web01' };
    const b = { subscriptionId: SUB, resourceGroup: 'rg', name: 'web01' };
    expect(vmKey(a)).toBe(vmKey(b));
    expect(sameVm(a, b)).toBe(true);
    expect(sameVm(a, { ...b, name: 'web02' })).toBe(false);
  });
});

describe('names', () => {
  it.each(['a', 'web01', 'Web-01_a.b', '9lives', 'x'.repeat(64)])('accepts the VM name %s', (name) => {
    expect(vmNameProblem(name)).toBeUndefined();
    expect(isValidVmName(name)).toBe(true);
  });

  it.each([
    ['', /1–64 characters/],
    ['x'.repeat(65), /1–64 characters/],
    ['_web', /start with a letter or digit/],
    ['-web', /start with a letter or digit/],
    ['web 01', /only letters, digits/],
    ['web/01', /only letters, digits/],
    ['web01.', /not end with a period or a hyphen/],
    ['web01-', /not end with a period or a hyphen/],
  ])('refuses the VM name %j', (name, reason) => {
    expect(vmNameProblem(name)).toMatch(reason);
    expect(isValidVmName(name)).toBe(false);
  });

  it('checks resource group names and subscription ids', () => {
    expect(isValidResourceGroupName('rg-prod_(eu).1')).toBe(true);
    expect(isValidResourceGroupName('groupe-été')).toBe(true);
    expect(isValidResourceGroupName('rg.')).toBe(false);
    expect(isValidResourceGroupName('a/b')).toBe(false);
    expect(isValidResourceGroupName('x'.repeat(91))).toBe(false);
    expect(isValidSubscriptionId(SUB)).toBe(true);
    expect(isValidSubscriptionId('sub1')).toBe(false);
  });

  it('names the first bad part of a reference', () => {
    const target = (ref: Parameters<typeof assertValidVmRef>[0]) => {
      try {
        assertValidVmRef(ref);
        return undefined;
      } catch (err) {
        return (err as { target?: string }).target;
      }
    };
    expect(target({ subscriptionId: SUB, resourceGroup: 'rg', name: 'vm1' })).toBeUndefined();
    expect(target({ subscriptionId: 'nope', resourceGroup: 'rg', name: 'vm1' })).toBe('subscriptionId');
    expect(target({ subscriptionId: SUB, resourceGroup: 'r/g', name: 'vm1' })).toBe('resourceGroup');
    expect(target({ subscriptionId: SUB, resourceGroup: 'rg', name: 'vm 1' })).toBe('name');
  });

  it('normalizes regions the way ARM writes them', () => {
    expect(normalizeLocation('West Europe')).toBe('westeurope');
    expect(normalizeLocation('northeurope')).toBe('northeurope');
  });
});

describe('disk slots', () => {
  const disks = [
    { kind: 'data' as const, lun: 3, name: 'd3', vhdUri: 'http://x/c/d3.vhd', storageType: 'Standard' as const, sizeBytes: MIB },
    { kind: 'os' as const, name: 'os', vhdUri: 'http://x/c/os.vhd', storageType: 'Premium' as const, sizeBytes: MIB },
    { kind: 'data' as const, lun: 0, name: 'd0', vhdUri: 'http://x/c/d0.vhd', storageType: 'Standard' as const, sizeBytes: MIB },
  ];

  it('puts the OS disk in slot 0 and data LUN k in slot k + 1', () => {
    expect(diskSlot({ kind: 'os' })).toBe(0);
    expect(diskSlot({ kind: 'data', lun: 0 })).toBe(1);
    expect(diskSlot({ kind: 'data', lun: MAX_DATA_DISK_LUN })).toBe(MAX_DATA_DISK_LUN + 1);
    expect(diskInSlot({ disks }, 4)?.name).toBe('d3');
    expect(diskInSlot({ disks }, 0)?.name).toBe('os');
    expect(diskInSlot({ disks }, 2)).toBeUndefined();
    expect(osDiskOf({ disks })?.name).toBe('os');
    expect(dataDisksOf({ disks }).map((d) => d.name)).toEqual(['d0', 'd3']);
  });

  it.each([undefined, -1, 1.5, MAX_DATA_DISK_LUN + 1])('refuses a data disk with LUN %p', (lun) => {
    expect(() => diskSlot({ kind: 'data', lun })).toThrow(expect.objectContaining({ code: 'KluisInvalidRequest', target: 'lun' }));
  });
});

describe('createVmRequestSchema', () => {
  const issueOf = (body: unknown) => {
    const parsed = createVmRequestSchema.safeParse(body);
    if (parsed.success) return undefined;
    const issue = parsed.error.issues[0];
    return { path: issue.path.join('.'), message: issue.message, code: issue.code };
  };

  it('fills the defaults: running, agent Ready, 1 GiB Standard unmanaged OS disk, 1% initial data', () => {
    expect(createVmRequestSchema.parse({ osType: 'Linux' })).toEqual({
      location: 'westeurope',
      vmSize: 'Standard_D2s_v3',
      osType: 'Linux',
      powerState: 'running',
      agent: { status: 'Ready', version: DEFAULT_AGENT_VERSION },
      managedDisks: false,
      osDisk: { sizeBytes: 1024 * MIB, storageType: 'Standard' },
      dataDisks: [],
      initialData: { percent: 1 },
    });
  });

  it('takes managed disks with SKUs, and refuses a SKU without managed disks or a non-Premium SKU on a Premium disk', () => {
    const request = createVmRequestSchema.parse({
      osType: 'Windows',
      managedDisks: true,
      osDisk: { sku: 'StandardSSD_LRS' },
      dataDisks: [{ lun: 0, storageType: 'Premium' }, { lun: 1, sku: 'Premium_LRS' }],
    });
    expect(request.managedDisks).toBe(true);
    expect(request.osDisk.sku).toBe('StandardSSD_LRS');
    expect(request.dataDisks.map((d) => d.sku)).toEqual([undefined, 'Premium_LRS']);
    const unmanaged = createVmRequestSchema.safeParse({ osType: 'Linux', osDisk: { sku: 'Premium_LRS' } });
    expect(unmanaged.success ? [] : unmanaged.error.issues.map((i) => i.path.join('.'))).toEqual(['osDisk.sku']);
    const mismatch = createVmRequestSchema.safeParse({ osType: 'Linux', managedDisks: true, dataDisks: [{ lun: 2, storageType: 'Premium', sku: 'StandardSSD_LRS' }] });
    expect(mismatch.success ? [] : mismatch.error.issues.map((i) => i.path.join('.'))).toEqual(['dataDisks.0.sku']);
    expect(createVmRequestSchema.safeParse({ osType: 'Linux', managedDisks: true, osDisk: { sku: 'UltraSSD_LRS' } }).success).toBe(false);
  });

  it('takes a full request and normalizes the location', () => {
    const request = createVmRequestSchema.parse({
      location: 'North Europe',
      vmSize: 'Standard_DS1_v2',
      osType: 'Linux',
      powerState: 'deallocated',
      agent: { status: 'NotReady', fsFreeze: 'Fails', preScript: '/etc/pre.sh', postScript: '/etc/post.sh', snapshotStatus: 'Silent' },
      osDisk: { sizeBytes: 8 * MIB, storageType: 'Premium' },
      dataDisks: [{ lun: 2, sizeBytes: 4 * MIB }],
      encryption: {
        enabled: true,
        bek: { secretUrl: 'https://kv1.vault.azure.net/secrets/bek/1', vaultId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1` },
        kek: { keyUrl: 'https://kv1.vault.azure.net/keys/kek/1', vaultId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1` },
      },
      tags: { env: 'prod' },
      initialData: { percent: 0, seed: 's1' },
    });
    expect(request.location).toBe('northeurope');
    expect(request.dataDisks).toEqual([{ lun: 2, sizeBytes: 4 * MIB, storageType: 'Standard' }]);
    expect(request.agent).toMatchObject({ status: 'NotReady', fsFreeze: 'Fails', snapshotStatus: 'Silent' });
  });

  it.each([
    ['a missing osType', {}, 'osType'],
    ['an unknown osType', { osType: 'BeOS' }, 'osType'],
    ['an unknown field', { osType: 'Linux', colour: 'blue' }, ''],
    ['an unaligned disk size', { osType: 'Linux', osDisk: { sizeBytes: MIB + 512 } }, 'osDisk.sizeBytes'],
    ['a disk over 8 TiB', { osType: 'Linux', osDisk: { sizeBytes: 8 * 1024 * 1024 * MIB } }, 'osDisk.sizeBytes'],
    ['a LUN out of range', { osType: 'Linux', dataDisks: [{ lun: 63 }] }, 'dataDisks.0.lun'],
    ['a LUN used twice', { osType: 'Linux', dataDisks: [{ lun: 1 }, { lun: 1 }] }, 'dataDisks.1.lun'],
    ['VSS on Linux', { osType: 'Linux', agent: { vss: 'WriterInBadState' } }, 'agent.vss'],
    ['fsfreeze on Windows', { osType: 'Windows', agent: { fsFreeze: 'Fails' } }, 'agent.fsFreeze'],
    ['scripts on Windows', { osType: 'Windows', agent: { preScript: 'a', postScript: 'b' } }, 'agent.preScript'],
    ['a pre-script without post-script', { osType: 'Linux', agent: { preScript: '/pre.sh' } }, 'agent.postScript'],
    ['encryption enabled without BEK', { osType: 'Linux', encryption: { enabled: true } }, 'encryption.bek'],
    ['a KEK without BEK', { osType: 'Linux', encryption: { enabled: false, kek: { keyUrl: 'https://kv.vault.azure.net/keys/k/1', vaultId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv` } } }, 'encryption.bek'],
    ['a secret URL with a SAS', { osType: 'Linux', encryption: { enabled: true, bek: { secretUrl: 'https://kv.vault.azure.net/secrets/s/1?sig=x', vaultId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv` } } }, 'encryption.bek.secretUrl'],
    ['a Key Vault id of another type', { osType: 'Linux', encryption: { enabled: true, bek: { secretUrl: 'https://kv.vault.azure.net/secrets/s/1', vaultId: '/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/kv' } } }, 'encryption.bek.vaultId'],
    ['a negative initial percentage', { osType: 'Linux', initialData: { percent: -1 } }, 'initialData.percent'],
  ])('refuses %s, naming the field', (_case, body, path) => {
    expect(issueOf(body)?.path).toBe(path);
  });

  it('checks stored records with the full record schema', () => {
    const vm: VirtualMachine = {
      id: vmResourceId(SUB, 'rg', 'vm1'),
      subscriptionId: SUB,
      resourceGroup: 'rg',
      name: 'vm1',
      location: 'westeurope',
      vmSize: 'Standard_D2s_v3',
      osType: 'Windows',
      powerState: 'running',
      provisioningState: 'Succeeded',
      agent: { status: 'Ready', vss: 'Healthy' },
      disks: [{ kind: 'os', name: 'vm1-osdisk', vhdUri: 'http://127.0.0.1:10000/devstoreaccount1/c/vm1.vhd', storageType: 'Standard', sizeBytes: MIB }],
      createdAt: '2026-01-01T00:00:00.000Z',
    };
    expect(virtualMachineSchema.parse(vm)).toEqual(vm);
    expect(virtualMachineSchema.safeParse({ ...vm, powerState: 'paused' }).success).toBe(false);
    const managed = { id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/vm1-osdisk`, storageAccountType: 'Premium_LRS' };
    const withManagedDisk: VirtualMachine = { ...vm, disks: [{ kind: 'os', name: 'vm1-osdisk', managedDisk: managed, storageType: 'Premium', sizeBytes: MIB }] };
    expect(virtualMachineSchema.parse(withManagedDisk)).toEqual(withManagedDisk);
    expect(isManagedDisk(withManagedDisk.disks[0])).toBe(true);
    expect(isManagedDisk(vm.disks[0])).toBe(false);
    // A disk is one kind or the other.
    expect(virtualMachineSchema.safeParse({ ...vm, disks: [{ ...vm.disks[0], managedDisk: managed }] }).success).toBe(false);
    expect(virtualMachineSchema.safeParse({ ...vm, disks: [{ kind: 'os', name: 'x', storageType: 'Standard', sizeBytes: MIB }] }).success).toBe(false);
  });
});
