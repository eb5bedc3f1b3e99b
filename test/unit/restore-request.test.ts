/**
 * The pure side of restore over the ARM API: the request schema, every refusal of planRestore (code and
 * target), the LUN → slot mapping, container names, the job's property bag and the VM a restore registers.
 */
import { ERROR_CODES, type KluisErrorCode } from '../../lib/domain/errors';
import {
  isVmOfRestoreJob,
  parseStorageAccountId,
  planRestore,
  restoreContainerName,
  restoreDiskSlots,
  restoredVm,
  restoreJobPropertyBag,
  restoreRequestBodySchema,
  storageAccountNameOfBlobUrl,
  vmConfigFacts,
  type RestoreContext,
  type RestoreRequestProperties,
} from '../../lib/domain/restore-request';
import { virtualMachineSchema } from '../../lib/domain/virtual-machine';

const SUB = '00000000-0000-0000-0000-0000000000aa';
const OTHER_SUB = '00000000-0000-0000-0000-0000000000bb';
const sourceVmId = `/subscriptions/${SUB}/resourceGroups/prod/providers/Microsoft.Compute/virtualMachines/web1`;
const account = (name: string, sub = SUB) => `/subscriptions/${sub}/resourceGroups/storage/providers/Microsoft.Storage/storageAccounts/${name}`;
const newVmId = (name: string, sub = SUB, rg = 'restored') => `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${name}`;

function context(overrides: Partial<RestoreContext> = {}): RestoreContext {
  return {
    recoveryPointId: '1767225600000',
    vault: { subscriptionId: SUB, location: 'westeurope' },
    sourceVm: { id: sourceVmId, name: 'web1', location: 'westeurope', osType: 'Windows', vmSize: 'Standard_D2s_v3' },
    point: {
      disks: [
        { slot: 0, storageType: 'Standard' },
        { slot: 1, storageType: 'Premium' },
        { slot: 3, storageType: 'Standard' },
      ],
      vmConfig: { osType: 'Windows', vmSize: 'Standard_D4s_v3', agent: { version: '2.7.1' } },
      isEncrypted: false,
    },
    restoreAccountName: 'devstoreaccount1',
    ...overrides,
  };
}

function props(overrides: Partial<RestoreRequestProperties> = {}): RestoreRequestProperties {
  return {
    objectType: 'IaasVMRestoreRequest',
    recoveryType: 'RestoreDisks',
    region: 'westeurope',
    storageAccountId: account('devstoreaccount1'),
    ...overrides,
  };
}

function refusal(fn: () => unknown): { code: KluisErrorCode; target?: string; message: string } {
  try {
    fn();
  } catch (err) {
    const e = err as { code: KluisErrorCode; target?: string; message: string };
    return { code: e.code, target: e.target, message: e.message };
  }
  throw new Error('expected a refusal');
}

describe('restoreRequestBodySchema', () => {
  it('takes the body az backup restore restore-disks sends', () => {
    const parsed = restoreRequestBodySchema.safeParse({
      properties: {
        objectType: 'IaasVMRestoreRequest',
        recoveryPointId: '1767225600000',
        recoveryType: 'RestoreDisks',
        sourceResourceId: sourceVmId,
        storageAccountId: account('devstoreaccount1'),
        region: 'westeurope',
        createNewCloudService: false,
        originalStorageAccountOption: false,
        restoreDiskLunList: [0, 2],
        encryptionDetails: { encryptionEnabled: false },
      },
    });
    expect(parsed.success).toBe(true);
  });

  it.each([
    [{ properties: { objectType: 'AzureFileShareRestoreRequest', recoveryType: 'RestoreDisks', region: 'x' } }, ['properties', 'objectType']],
    [{ properties: { objectType: 'IaasVMRestoreRequest', recoveryType: 'Offline', region: 'x' } }, ['properties', 'recoveryType']],
    [{ properties: { objectType: 'IaasVMRestoreRequest', recoveryType: 'RestoreDisks' } }, ['properties', 'region']],
    [{ properties: { objectType: 'IaasVMRestoreRequest', recoveryType: 'RestoreDisks', region: 'x', restoreDiskLunList: [64] } }, ['properties', 'restoreDiskLunList', 0]],
    [{ properties: { objectType: 'IaasVMRestoreRequest', recoveryType: 'RestoreDisks', region: 'x', restoreDiskLunList: ['1'] } }, ['properties', 'restoreDiskLunList', 0]],
    [{ properties: { objectType: 'IaasVMRestoreRequest', recoveryType: 'RestoreDisks', region: 'x', restoreDiskLunList: [1, 1] } }, ['properties', 'restoreDiskLunList']],
    [{ properties: { objectType: 'IaasVMRestoreRequest', recoveryType: 'RestoreDisks', region: 'x', overwrite: true } }, ['properties']],
    [{}, ['properties']],
  ])('refuses %j at %j', (body, path) => {
    const parsed = restoreRequestBodySchema.safeParse(body);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0].path).toEqual(path);
  });
});

describe('planRestore', () => {
  it('plans a restore of every disk into the restore account', () => {
    expect(planRestore(context(), props())).toEqual({
      recoveryType: 'RestoreDisks',
      slots: undefined,
      storageAccountName: 'devstoreaccount1',
      region: 'westeurope',
      targetResourceGroup: undefined,
    });
  });

  it('accepts region and account names in any casing and spacing, and the matching path and source ids', () => {
    const plan = planRestore(
      context(),
      props({ region: 'West Europe', storageAccountId: account('devstoreaccount1').toUpperCase().replace('DEVSTOREACCOUNT1', 'devstoreaccount1'), recoveryPointId: '1767225600000', sourceResourceId: sourceVmId.toLowerCase() }),
    );
    expect(plan.region).toBe('westeurope');
  });

  describe('a managed VM\'s point', () => {
    const managed = () => context({ point: { ...context().point, managedDisks: true } });
    const group = (rg: string, sub = SUB) => `/subscriptions/${sub}/resourceGroups/${rg}`;

    it('restores disks as new managed disks into targetResourceGroupId (with or without restoreWithManagedDisks), as page blobs without it', () => {
      expect(planRestore(managed(), props({ targetResourceGroupId: group('rg-disks'), restoreWithManagedDisks: true })).managedDisks).toEqual({
        subscriptionId: SUB,
        resourceGroup: 'rg-disks',
        location: 'westeurope',
      });
      expect(planRestore(managed(), props({ targetResourceGroupId: group('rg-disks') })).managedDisks?.resourceGroup).toBe('rg-disks');
      expect(planRestore(managed(), props()).managedDisks).toBeUndefined();
      expect(planRestore(context(), props({ targetResourceGroupId: group('rg-disks') })).managedDisks).toBeUndefined();
    });

    it('creates a new VM on new managed disks in its resource group', () => {
      const plan = planRestore(managed(), props({ recoveryType: 'AlternateLocation', targetVirtualMachineId: newVmId('web1-restored') }));
      expect(plan.managedDisks).toEqual({ subscriptionId: SUB, resourceGroup: 'restored', location: 'westeurope' });
    });

    it('refuses managed disks without a group, or in another subscription', () => {
      expect(refusal(() => planRestore(managed(), props({ restoreWithManagedDisks: true })))).toMatchObject({ code: 'KluisInvalidRequest', target: 'properties.targetResourceGroupId' });
      expect(refusal(() => planRestore(managed(), props({ targetResourceGroupId: group('rg', OTHER_SUB) })))).toMatchObject({
        code: 'KluisInvalidRequest',
        target: 'properties.targetResourceGroupId',
      });
    });
  });

  it.each<[string, Partial<RestoreRequestProperties>, KluisErrorCode, string]>([
    ['OriginalLocation (replacing the VM)', { recoveryType: 'OriginalLocation' }, 'KluisOriginalLocationRestoreNotSupported', 'properties.recoveryType'],
    ['another region', { region: 'northeurope' }, 'KluisCrossRegionRestoreNotSupported', 'properties.region'],
    ['another recovery point in the body', { recoveryPointId: '42' }, 'KluisInvalidRequest', 'properties.recoveryPointId'],
    ['another source VM', { sourceResourceId: newVmId('web2', SUB, 'prod') }, 'KluisInvalidRequest', 'properties.sourceResourceId'],
    ['no storage account', { storageAccountId: undefined }, 'KluisInvalidRequest', 'properties.storageAccountId'],
    ['a malformed storage account id', { storageAccountId: '/subscriptions/x/storageAccounts/y' }, 'KluisInvalidRequest', 'properties.storageAccountId'],
    ['an invalid account name', { storageAccountId: account('Has_Caps') }, 'KluisInvalidRequest', 'properties.storageAccountId'],
    ['another storage account', { storageAccountId: account('elsewhere') }, 'KluisRestoreStorageAccountNotAvailable', 'properties.storageAccountId'],
    ['the original accounts', { originalStorageAccountOption: true }, 'KluisInvalidRequest', 'properties.originalStorageAccountOption'],
    ['managed disks for a page-blob point', { restoreWithManagedDisks: true }, 'KluisInvalidRequest', 'properties.restoreWithManagedDisks'],
    ['a disk encryption set', { diskEncryptionSetId: `/subscriptions/${SUB}/resourceGroups/keys/providers/Microsoft.Compute/diskEncryptionSets/des1` }, 'KluisInvalidRequest', 'properties.diskEncryptionSetId'],
    ['zones', { zones: ['1'] }, 'KluisInvalidRequest', 'properties.zones'],
    ['an unknown data disk LUN', { restoreDiskLunList: [1] }, 'KluisInvalidRequest', 'properties.restoreDiskLunList'],
    ['encryption for an unencrypted point', { encryptionDetails: { encryptionEnabled: true } }, 'KluisInvalidRequest', 'properties.encryptionDetails'],
    ['a malformed target resource group', { targetResourceGroupId: '/subscriptions/x' }, 'KluisInvalidRequest', 'properties.targetResourceGroupId'],
  ])('refuses %s', (_, overrides, code, target) => {
    const failure = refusal(() => planRestore(context(), props(overrides)));
    expect(failure).toMatchObject({ code, target });
    expect(ERROR_CODES[code].status).toBeGreaterThanOrEqual(400);
    expect(ERROR_CODES[code].status).toBeLessThan(500);
  });

  it('refuses when the source VM is in another region than the vault, whatever the request says', () => {
    const failure = refusal(() => planRestore(context({ sourceVm: { ...context().sourceVm, location: 'northeurope' } }), props()));
    expect(failure.code).toBe('KluisCrossRegionRestoreNotSupported');
  });

  it('recommends RestoreDisks or AlternateLocation when OriginalLocation is refused', () => {
    expect(ERROR_CODES.KluisOriginalLocationRestoreNotSupported.recommendation).toMatch(/RestoreDisks.*AlternateLocation/);
    expect(refusal(() => planRestore(context(), props({ recoveryType: 'OriginalLocation' }))).message).toMatch(/never replaces an existing VM/);
  });

  it('names the restore account when another is asked for', () => {
    expect(refusal(() => planRestore(context(), props({ storageAccountId: account('elsewhere') }))).message).toContain("'devstoreaccount1'");
  });

  describe('AlternateLocation', () => {
    const alternate = (overrides: Partial<RestoreRequestProperties> = {}) =>
      props({ recoveryType: 'AlternateLocation', targetVirtualMachineId: newVmId('web1-restored'), targetResourceGroupId: `/subscriptions/${SUB}/resourceGroups/restored`, ...overrides });

    it('plans a new VM in the vault region with the OS, size and agent of the point', () => {
      const plan = planRestore(context(), alternate());
      expect(plan.recoveryType).toBe('AlternateLocation');
      expect(plan.targetResourceGroup).toBe('restored');
      expect(plan.targetVm).toEqual({
        subscriptionId: SUB,
        resourceGroup: 'restored',
        name: 'web1-restored',
        id: newVmId('web1-restored'),
        location: 'westeurope',
        osType: 'Windows',
        vmSize: 'Standard_D4s_v3',
        agentVersion: '2.7.1',
        sourceVmId,
        recoveryPointId: '1767225600000',
        disks: context().point.disks,
      });
    });

    it("falls back to the protected VM's OS and size when the point recorded none", () => {
      const plan = planRestore(context({ point: { ...context().point, vmConfig: null } }), alternate());
      expect(plan.targetVm).toMatchObject({ osType: 'Windows', vmSize: 'Standard_D2s_v3' });
      expect(plan.targetVm?.agentVersion).toBeUndefined();
    });

    it('gives the new VM only the selected disks', () => {
      const plan = planRestore(context(), alternate({ restoreDiskLunList: [2] }));
      expect(plan.slots).toEqual([0, 3]);
      expect(plan.targetVm?.disks.map((d) => d.slot)).toEqual([0, 3]);
    });

    it.each<[string, Partial<RestoreRequestProperties>, KluisErrorCode, string]>([
      ['no target VM', { targetVirtualMachineId: undefined }, 'KluisInvalidRequest', 'properties.targetVirtualMachineId'],
      ['a malformed target VM id', { targetVirtualMachineId: '/subscriptions/x/vm' }, 'KluisInvalidRequest', 'properties.targetVirtualMachineId'],
      ['an invalid VM name', { targetVirtualMachineId: newVmId('bad-') }, 'KluisInvalidRequest', 'properties.targetVirtualMachineId'],
      ['another subscription', { targetVirtualMachineId: newVmId('x', OTHER_SUB), targetResourceGroupId: undefined }, 'KluisInvalidRequest', 'properties.targetVirtualMachineId'],
      ['the source VM itself', { targetVirtualMachineId: sourceVmId.toUpperCase().replace(SUB.toUpperCase(), SUB), targetResourceGroupId: undefined }, 'KluisRestoreTargetVmExists', 'properties.targetVirtualMachineId'],
      ['a resource group that is not the VM one', { targetResourceGroupId: `/subscriptions/${SUB}/resourceGroups/other` }, 'KluisInvalidRequest', 'properties.targetResourceGroupId'],
    ])('refuses %s', (_, overrides, code, target) => {
      expect(refusal(() => planRestore(context(), alternate(overrides)))).toMatchObject({ code, target });
    });

    it('refuses to create a VM from an encrypted point, but restores its disks', () => {
      const encrypted = context({ point: { ...context().point, isEncrypted: true } });
      expect(refusal(() => planRestore(encrypted, alternate()))).toMatchObject({ code: 'KluisEncryptedVmRestoreNotSupported', target: 'properties.recoveryType' });
      expect(planRestore(encrypted, props()).recoveryType).toBe('RestoreDisks');
    });

    it('creates a VM from an encrypted managed VM\'s point: its managed disks keep their encryption settings', () => {
      const encryptedManaged = context({ point: { ...context().point, isEncrypted: true, managedDisks: true } });
      const plan = planRestore(encryptedManaged, alternate());
      expect(plan).toMatchObject({ recoveryType: 'AlternateLocation', managedDisks: { resourceGroup: expect.any(String) } });
    });

    it('refuses when the point holds no OS disk', () => {
      const dataOnly = context({ point: { ...context().point, disks: [{ slot: 1, storageType: 'Standard' }] } });
      expect(refusal(() => planRestore(dataOnly, alternate()))).toMatchObject({ code: 'KluisInvalidRequest', target: 'properties.recoveryType' });
    });
  });
});

describe('restoreDiskSlots', () => {
  const slots = [0, 1, 3];
  it('restores every disk when the list is absent or null', () => {
    expect(restoreDiskSlots(undefined, slots)).toBeUndefined();
    expect(restoreDiskSlots(null, slots)).toBeUndefined();
  });
  it('restores the OS disk only for an empty list (--restore-only-osdisk)', () => {
    expect(restoreDiskSlots([], slots)).toEqual([0]);
  });
  it('maps data-disk LUN k to slot k + 1, always with the OS disk', () => {
    expect(restoreDiskSlots([2, 0, 2], slots)).toEqual([0, 1, 3]);
  });
  it('names the data disks the point has when a LUN is unknown', () => {
    expect(refusal(() => restoreDiskSlots([5], slots)).message).toBe('The recovery point has no data disk with LUN 5 (its data disks have LUNs 0, 2).');
    expect(refusal(() => restoreDiskSlots([0], [0])).message).toContain('it has no data disks');
  });
  it('refuses a selection from a point without an OS disk', () => {
    expect(refusal(() => restoreDiskSlots([0], [1])).target).toBe('properties.restoreDiskLunList');
  });
});

describe('names and ids', () => {
  it('parses storage account ids, classic ones too', () => {
    expect(parseStorageAccountId(account('abc123'))).toEqual({ subscriptionId: SUB, resourceGroup: 'storage', name: 'abc123' });
    expect(parseStorageAccountId(`/subscriptions/${SUB}/resourceGroups/g/providers/Microsoft.ClassicStorage/storageAccounts/old1`)?.name).toBe('old1');
    expect(parseStorageAccountId(account('ab'))).toBeUndefined();
    expect(parseStorageAccountId(`${account('abc')}/blobServices/default`)).toBeUndefined();
  });

  it('tells the account of a blob URL, path-style (Azurite) and host-style (Azure)', () => {
    expect(storageAccountNameOfBlobUrl('http://127.0.0.1:10000/devstoreaccount1/c/b')).toBe('devstoreaccount1');
    expect(storageAccountNameOfBlobUrl('https://myacct.blob.core.windows.net/c/b')).toBe('myacct');
    expect(storageAccountNameOfBlobUrl('http://localhost:10000/devstoreaccount1/c/b')).toBe('devstoreaccount1');
    expect(storageAccountNameOfBlobUrl('not a url')).toBeUndefined();
  });

  it('makes one valid container per job, Azure-style', () => {
    const jobId = '1fc2d55d-f0dc-4ca6-ad48-aca0fe5d0414';
    expect(restoreContainerName('myVM', jobId)).toBe('myvm-1fc2d55df0dc4ca6ad48aca0fe5d0414');
    const long = restoreContainerName('A'.repeat(64), jobId);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(restoreContainerName('__', jobId)).toBe('restore-1fc2d55df0dc4ca6ad48aca0fe5d0414');
    expect(restoreContainerName('web.1_x--y', 'ABC')).toBe('web-1-x-y-abc');
  });

  it('reads only well-formed facts from a VM configuration', () => {
    expect(vmConfigFacts({ osType: 'Linux', vmSize: 'B1s', agent: { version: '1' }, encrypted: true, other: 1 })).toEqual({ osType: 'Linux', vmSize: 'B1s', agentVersion: '1', encrypted: true });
    expect(vmConfigFacts({ osType: 'Solaris', vmSize: 3, encrypted: 'yes' })).toEqual({ osType: undefined, vmSize: undefined, agentVersion: undefined, encrypted: undefined });
    expect(vmConfigFacts('text')).toEqual({});
  });
});

describe('restoreJobPropertyBag', () => {
  const facts = {
    container: 'web1-abc',
    configBlobName: 'restores/item/1/job/vmconfig.json',
    configBlobUrl: 'http://127.0.0.1:10000/devstoreaccount1/web1-abc/restores/item/1/job/vmconfig.json',
    recoveryPointTime: '2026-01-01T00:00:00.000Z',
    sourceIsEncrypted: false,
  };

  it("uses Azure's key names for a restore-disks job", () => {
    expect(restoreJobPropertyBag({ ...facts, plan: planRestore(context(), props({ restoreDiskLunList: [] })) })).toEqual({
      'Job Type': 'Recover disks',
      'Target Storage Account Name': 'devstoreaccount1',
      'Config Blob Container Name': 'web1-abc',
      'Config Blob Name': 'restores/item/1/job/vmconfig.json',
      'Config Blob Uri': facts.configBlobUrl,
      'Recovery point time ': '2026-01-01T00:00:00.000Z',
      'Restored disk LUNs': 'OS',
    });
  });

  it('names the new VM and its resource group for AlternateLocation, and flags encrypted sources', () => {
    const plan = planRestore(context(), props({ recoveryType: 'AlternateLocation', targetVirtualMachineId: newVmId('copy'), restoreDiskLunList: [0] }));
    const bag = restoreJobPropertyBag({ ...facts, plan, sourceIsEncrypted: true });
    expect(bag).toMatchObject({ 'Job Type': 'Restore VM', 'Target VM Name': 'copy', 'Target resource group': 'restored', 'Restored disk LUNs': 'OS, 0', 'Source VM Encrypted': 'true' });
  });
});

describe('restoredVm', () => {
  const plan = planRestore(context(), props({ recoveryType: 'AlternateLocation', targetVirtualMachineId: newVmId('copy') }));
  const disks = [
    { lun: 3, blobUrl: 'http://h/a/c/lun3.vhd', sizeBytes: 2 * 1024 * 1024 + 512 },
    { lun: 0, blobUrl: 'http://h/a/c/lun0.vhd', sizeBytes: 4 * 1024 * 1024 + 512 },
    { lun: 1, blobUrl: 'http://h/a/c/lun1.vhd', sizeBytes: 1024 * 1024 + 512 },
  ];

  it('registers a stopped VM with the restored disks, tagged with its job', () => {
    const vm = restoredVm(plan.targetVm!, 'job-1', disks, '2026-01-02T00:00:00.000Z');
    expect(virtualMachineSchema.safeParse(vm).success).toBe(true);
    expect(vm).toMatchObject({ name: 'copy', location: 'westeurope', osType: 'Windows', vmSize: 'Standard_D4s_v3', powerState: 'stopped', provisioningState: 'Succeeded', agent: { status: 'Ready', version: '2.7.1' } });
    expect(vm.disks).toEqual([
      { kind: 'os', name: 'copy-osdisk', vhdUri: 'http://h/a/c/lun0.vhd', storageType: 'Standard', sizeBytes: 4 * 1024 * 1024 },
      { kind: 'data', lun: 0, name: 'copy-datadisk-0', vhdUri: 'http://h/a/c/lun1.vhd', storageType: 'Premium', sizeBytes: 1024 * 1024 },
      { kind: 'data', lun: 2, name: 'copy-datadisk-2', vhdUri: 'http://h/a/c/lun3.vhd', storageType: 'Standard', sizeBytes: 2 * 1024 * 1024 },
    ]);
    expect(isVmOfRestoreJob(vm, 'job-1')).toBe(true);
    expect(isVmOfRestoreJob(vm, 'job-2')).toBe(false);
    expect(isVmOfRestoreJob({ tags: undefined }, 'job-1')).toBe(false);
  });

  it('refuses a VM without its OS disk', () => {
    expect(refusal(() => restoredVm(plan.targetVm!, 'job-1', disks.filter((d) => d.lun !== 0), '2026-01-02T00:00:00.000Z')).code).toBe('KluisInvalidRequest');
  });
});
