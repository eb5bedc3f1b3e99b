/**
 * Discovery and protection on in-memory stores: protectable items (same region, not held by any
 * vault), enable protection and each of its validation errors (the catalog unchanged after every
 * refusal), change policy, stop and retain, stop and delete (soft delete, or purge when it is off),
 * undelete, resume, and the one-backup-per-item claim.
 */
import { containerName, itemName, type VaultRef } from '../../lib/domain/arm-names';
import { vaultKey, type ProtectedItemRecord, type VaultRecord } from '../../lib/domain/catalog';
import { errors } from '../../lib/domain/errors';
import { vmResourceId, type VirtualMachine, type VmDisk } from '../../lib/domain/virtual-machine';
import { listProtectableItems, refreshContainers } from '../../lib/services/discovery';
import { createJob, getJob, listJobs } from '../../lib/services/jobs';
import { getOperation } from '../../lib/services/operations';
import { createOrUpdatePolicy } from '../../lib/services/policies';
import { claimBackup, releaseBackup } from '../../lib/services/backup-claim';
import { getProtectedItem, listProtectedItems, parseItemFilter, protectedItemView, putProtectedItem, type ItemNames, type ProtectionDeps } from '../../lib/services/protection';
import { deleteProtectedItem, itemsDueForPurge } from '../../lib/services/soft-delete';
import { createOrUpdateVault, getVault, updateVaultConfig } from '../../lib/services/vaults';
import type { DeleteRecoveryPointDeps } from '../../lib/engine/recovery-points/delete-recovery-point';
import type { BlobRef } from '../../lib/stores/disk-store';
import type { PageBlobStore } from '../../lib/stores/page-blob-store';
import { collect } from '../../lib/stores/document-store';
import { MemoryVmInventory } from '../../lib/stores/memory/vm-inventory';
import { memoryVaultCatalog } from '../../lib/stores/vault-catalog';
import { catalogSnapshot, rejection, SUBSCRIPTION, vaultRef } from '../support/vault-fixtures';
import { sourceDiskRegistry } from '../../lib/engine/sources/registry';

const START = new Date('2026-11-01T08:00:00.000Z');
const DAY = 86_400_000;

function disk(kind: 'os' | 'data', vm: string, lun?: number): VmDisk {
  const name = kind === 'os' ? `${vm}-os` : `${vm}-data${lun}`;
  return { kind, ...(lun === undefined ? {} : { lun }), name, vhdUri: `http://127.0.0.1:10000/devstoreaccount1/vhds-${vm}/${name}.vhd`, storageType: 'Standard', sizeBytes: 1024 ** 3 };
}

function vmRecord(name: string, overrides: Partial<VirtualMachine> = {}, dataDisks = 1): VirtualMachine {
  return {
    id: vmResourceId(SUBSCRIPTION, 'rg-vms', name),
    subscriptionId: SUBSCRIPTION,
    resourceGroup: 'rg-vms',
    name,
    location: 'westeurope',
    vmSize: 'Standard_D2s_v3',
    osType: 'Windows',
    powerState: 'running',
    provisioningState: 'Succeeded',
    agent: { status: 'Ready', version: '2.7.41491.1102' },
    disks: [disk('os', name), ...Array.from({ length: dataDisks }, (_, lun) => disk('data', name, lun))],
    createdAt: START.toISOString(),
    ...overrides,
  };
}

/** The VM with managed disks instead of page-blob VHDs. */
function managed(vm: VirtualMachine): VirtualMachine {
  return {
    ...vm,
    disks: vm.disks.map(({ vhdUri: _vhd, ...disk }) => ({
      ...disk,
      managedDisk: { id: `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-vms/providers/Microsoft.Compute/disks/${disk.name}`, storageAccountType: 'Standard_LRS' },
    })),
  };
}

const KEY_VAULT = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kv1`;
const bek = { secretUrl: 'https://kv1.vault.azure.net/secrets/bek/1', vaultId: KEY_VAULT };
const kek = { keyUrl: 'https://kv1.vault.azure.net/keys/kek/1', vaultId: KEY_VAULT };

const namesOf = (vm: string): ItemNames => ({ containerName: containerName('rg-vms', vm), itemName: itemName('rg-vms', vm) });
const enableBody = (vm: string, policy = 'DefaultPolicy', vaultName = 'vault1') => ({
  protectedItemType: 'Microsoft.Compute/virtualMachines' as const,
  sourceResourceId: vmResourceId(SUBSCRIPTION, 'rg-vms', vm),
  policyId: `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-backup/providers/Microsoft.RecoveryServices/vaults/${vaultName}/backupPolicies/${policy}`,
});

interface World {
  deps: ProtectionDeps;
  now: { value: Date };
  inventory: MemoryVmInventory;
  vault: () => Promise<VaultRecord>;
  other: () => Promise<VaultRecord>;
  keyVaultChecks: string[];
}

async function world(): Promise<World> {
  const catalog = memoryVaultCatalog();
  const inventory = new MemoryVmInventory();
  const now = { value: START };
  let ids = 0;
  const keyVaultChecks: string[] = [];
  const deps: ProtectionDeps = {
    catalog,
    inventory,
    clock: () => now.value,
    newId: () => `id-${++ids}`,
    keyVaultAccess: async (vm) => {
      keyVaultChecks.push(vm.name);
    },
  };
  await createOrUpdateVault(deps, vaultRef(), { location: 'westeurope' });
  await createOrUpdateVault(deps, vaultRef('vault2'), { location: 'westeurope' });
  await createOrUpdateVault(deps, vaultRef('vault3', 'rg-backup'), { location: 'northeurope' });
  await createOrUpdatePolicy(deps, vaultRef(), 'Weekly', {
    backupManagementType: 'AzureIaasVM',
    schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Weekly', scheduleRunDays: ['Sunday'], scheduleRunTimes: ['2026-01-01T02:00:00Z'] },
    retentionPolicy: {
      retentionPolicyType: 'LongTermRetentionPolicy',
      weeklySchedule: { daysOfTheWeek: ['Sunday'], retentionTimes: ['2026-01-01T02:00:00Z'], retentionDuration: { count: 12, durationType: 'Weeks' } },
    },
  });
  const byRef = async (ref: VaultRef) => (await getVault(deps, ref)).value;
  return { deps, now, inventory, vault: () => byRef(vaultRef()), other: () => byRef(vaultRef('vault2')), keyVaultChecks };
}

describe('discovery', () => {
  it('lists the subscription’s VMs in the vault’s region that no vault holds, with OS, power, agent, disks', async () => {
    const w = await world();
    await w.inventory.create(vmRecord('web1'));
    await w.inventory.create(vmRecord('db1', { osType: 'Linux', powerState: 'stopped' }));
    await w.inventory.create(vmRecord('far1', { location: 'northeurope' }));
    await w.inventory.create({ ...vmRecord('alien1'), subscriptionId: '11111111-2222-4333-8444-555555555555', id: vmResourceId('11111111-2222-4333-8444-555555555555', 'rg-vms', 'alien1') });
    await w.inventory.create(vmRecord('taken1'));
    await putProtectedItem(w.deps, await w.other(), namesOf('taken1'), enableBody('taken1', 'DefaultPolicy', 'vault2'));

    const found = await listProtectableItems(w.deps, await w.vault());
    expect(found.map((vm) => vm.name)).toEqual(['db1', 'web1']);
    expect(found[0]).toMatchObject({ osType: 'Linux', powerState: 'stopped', agent: { status: 'Ready' }, disks: [{ kind: 'os' }, { kind: 'data', lun: 0 }] });
    expect(await listProtectableItems(w.deps, await w.vault(), { otherWorkload: true })).toEqual([]);
    expect((await listProtectableItems(w.deps, await w.vault(), { friendlyName: 'WEB1' })).map((vm) => vm.name)).toEqual(['web1']);
  });

  it('refreshContainers is an operation that has succeeded', async () => {
    const w = await world();
    const operation = await refreshContainers(w.deps, await w.vault());
    expect(operation).toMatchObject({ status: 'Succeeded', name: 'RefreshContainers', endTime: START.toISOString() });
    expect(await getOperation(w.deps, await w.vault(), operation.operationId)).toEqual(operation);
  });
});

describe('enable protection', () => {
  it('creates the item IRPending with an engine id, a completed ConfigureBackup job and a succeeded operation naming it', async () => {
    const w = await world();
    await w.inventory.create(vmRecord('web1'));
    const vault = await w.vault();
    const change = await putProtectedItem(w.deps, vault, namesOf('WEB1'.toLowerCase()), enableBody('web1'));
    expect(change.action).toBe('enabled');
    expect(change.item).toMatchObject({
      containerName: 'IaasVMContainer;iaasvmcontainerv2;rg-vms;web1',
      itemName: 'VM;iaasvmcontainerv2;rg-vms;web1',
      policyName: 'DefaultPolicy',
      protectionState: 'IRPending',
      healthStatus: 'Passed',
      vm: { name: 'web1', location: 'westeurope', osType: 'Windows' },
    });
    expect(change.item?.engineItemId).toMatch(/^[A-Za-z0-9-]+$/);
    expect(change.job).toMatchObject({ operation: 'ConfigureBackup', status: 'Completed', entityFriendlyName: 'web1', isUserTriggered: true });
    expect(change.operation).toMatchObject({ status: 'Succeeded', jobId: change.job?.jobId });

    const view = await protectedItemView(w.deps, vault, await getProtectedItem(w.deps, vault, namesOf('web1')));
    expect(view.properties).toMatchObject({
      protectionState: 'IRPending',
      policyName: 'DefaultPolicy',
      policyId: `${vault.id}/backupPolicies/DefaultPolicy`,
      healthDetails: [{ title: 'Warning (initial backup pending)' }],
      extendedInfo: { recoveryPointCount: 0 },
    });
  });

  it('protects a stopped VM whose agent is not ready (backed up crash-consistent later)', async () => {
    const w = await world();
    await w.inventory.create(vmRecord('cold1', { powerState: 'deallocated', agent: { status: 'Unavailable' } }));
    expect((await putProtectedItem(w.deps, await w.vault(), namesOf('cold1'), enableBody('cold1'))).item?.protectionState).toBe('IRPending');
  });

  it('protects a VM with 32 managed data disks (16 is the limit for page-blob VHDs only)', async () => {
    const w = await world();
    await w.inventory.create(managed(vmRecord('md32', {}, 32)));
    expect((await putProtectedItem(w.deps, await w.vault(), namesOf('md32'), enableBody('md32'))).item?.protectionState).toBe('IRPending');
  });

  it('allows 17 data disks when one is excluded, and checks the Key Vault of an encrypted VM', async () => {
    const w = await world();
    await w.inventory.create(vmRecord('big1', {}, 17));
    await w.inventory.create(vmRecord('enc1', { encryption: { enabled: true, bek, kek } }));
    const change = await putProtectedItem(w.deps, await w.vault(), namesOf('big1'), {
      ...enableBody('big1'),
      extendedProperties: { diskExclusionProperties: { diskLunList: [16], isInclusionList: false } },
    });
    expect(change.item?.diskExclusion).toEqual({ diskLunList: [16], isInclusionList: false });
    await putProtectedItem(w.deps, await w.vault(), namesOf('enc1'), enableBody('enc1'));
    expect(w.keyVaultChecks).toEqual(['enc1']);
  });

  describe('refusals leave the catalog unchanged', () => {
    const cases: Array<{ name: string; setup?: (w: World) => Promise<void>; vm: string; body?: (vm: string) => Record<string, unknown>; code: string; target?: string; message?: RegExp }> = [
      { name: 'unknown VM', vm: 'ghost1', code: 'UserErrorVmNotFoundV2' },
      { name: 'VM in another region', vm: 'far1', code: 'UserErrorVmLocationMismatch', target: 'properties.sourceResourceId', message: /northeurope.*westeurope/ },
      { name: 'unknown policy', vm: 'web1', body: (vm) => enableBody(vm, 'NoSuchPolicy'), code: 'ResourceNotFound', target: 'properties.policyId' },
      { name: 'policy of another vault', vm: 'web1', body: (vm) => ({ ...enableBody(vm), policyId: enableBody(vm).policyId.replace('vault1', 'vault2') }), code: 'KluisInvalidRequest', target: 'properties.policyId' },
      {
        name: 'VM protected by another vault',
        vm: 'web1',
        setup: async (w) => {
          await putProtectedItem(w.deps, await w.other(), namesOf('web1'), enableBody('web1', 'DefaultPolicy', 'vault2'));
        },
        code: 'UserErrorVmAlreadyProtectedInAnotherVault',
        message: /vault2/,
      },
      { name: 'more than 16 data disks', vm: 'big1', code: 'UserErrorUnsupportedDiskCount', message: /17 data disks.*16/ },
      { name: 'more than 32 managed data disks', vm: 'bigmd1', code: 'UserErrorUnsupportedDiskCount', message: /33 data disks.*32 .*managed/ },
      { name: 'managed and page-blob disks on one VM', vm: 'mixed1', code: 'KluisMixedDiskKindsNotSupported' },
      { name: 'running VM without a ready agent', vm: 'noagent1', code: 'UserErrorGuestAgentStatusUnavailable' },
      { name: 'VM encrypted with a BEK only', vm: 'bek1', code: 'UserErrorEncryptedVmBekOnlyNotSupported' },
      {
        name: 'disk exclusion on an encrypted VM',
        vm: 'enc1',
        body: (vm) => ({ ...enableBody(vm), extendedProperties: { diskExclusionProperties: { diskLunList: [0], isInclusionList: false } } }),
        code: 'UserErrorEncryptedVmNotSupportedWithDiskEx',
      },
      {
        name: 'excluding a LUN the VM does not have',
        vm: 'web1',
        body: (vm) => ({ ...enableBody(vm), extendedProperties: { diskExclusionProperties: { diskLunList: [5], isInclusionList: false } } }),
        code: 'KluisInvalidRequest',
        target: 'properties.extendedProperties.diskExclusionProperties.diskLunList',
      },
      { name: 'sourceResourceId of another VM than the item', vm: 'web1', body: () => enableBody('db1'), code: 'KluisInvalidRequest', target: 'properties.sourceResourceId' },
      { name: 'no sourceResourceId', vm: 'web1', body: (vm) => ({ policyId: enableBody(vm).policyId }), code: 'KluisInvalidRequest', target: 'properties.sourceResourceId' },
      { name: 'no policyId', vm: 'web1', body: (vm) => ({ sourceResourceId: enableBody(vm).sourceResourceId }), code: 'KluisInvalidRequest', target: 'properties.policyId' },
    ];

    it.each(cases)('$name → $code', async ({ setup, vm, body, code, target, message }) => {
      const w = await world();
      await w.inventory.create(vmRecord('web1'));
      await w.inventory.create(vmRecord('db1'));
      await w.inventory.create(vmRecord('far1', { location: 'North Europe' }));
      await w.inventory.create(vmRecord('big1', {}, 17));
      await w.inventory.create(managed(vmRecord('bigmd1', {}, 33)));
      const mixed = managed(vmRecord('mixed1', {}, 2));
      await w.inventory.create({ ...mixed, disks: [mixed.disks[0], mixed.disks[1], vmRecord('mixed1', {}, 2).disks[2]] });
      await w.inventory.create(vmRecord('noagent1', { agent: { status: 'NotReady' } }));
      await w.inventory.create(vmRecord('bek1', { encryption: { enabled: true, bek } }));
      await w.inventory.create(vmRecord('enc1', { encryption: { enabled: true, bek, kek } }));
      await setup?.(w);
      const before = await catalogSnapshot(w.deps.catalog);
      const error = await rejection(putProtectedItem(w.deps, await w.vault(), namesOf(vm), (body ?? enableBody)(vm)));
      expect(error.code).toBe(code);
      if (target !== undefined) expect(error.target).toBe(target);
      if (message !== undefined) expect(error.message).toMatch(message);
      expect(await catalogSnapshot(w.deps.catalog)).toEqual(before);
    });

    it('a Key Vault the backup service cannot read (issue 5 hook)', async () => {
      const w = await world();
      await w.inventory.create(vmRecord('enc1', { encryption: { enabled: true, bek, kek } }));
      w.deps.keyVaultAccess = async () => {
        throw errors.invalidRequest('keyVault', 'no access');
      };
      const before = await catalogSnapshot(w.deps.catalog);
      expect((await rejection(putProtectedItem(w.deps, await w.vault(), namesOf('enc1'), enableBody('enc1')))).target).toBe('keyVault');
      expect(await catalogSnapshot(w.deps.catalog)).toEqual(before);
    });

    it('a container and item naming different VMs', async () => {
      const w = await world();
      const error = await rejection(putProtectedItem(w.deps, await w.vault(), { containerName: containerName('rg-vms', 'a1'), itemName: itemName('rg-vms', 'b1') }, enableBody('b1')));
      expect(error).toMatchObject({ code: 'KluisInvalidRequest', target: 'protectedItemName' });
    });
  });
});

describe('protection lifecycle', () => {
  async function protectedWorld(): Promise<World> {
    const w = await world();
    await w.inventory.create(vmRecord('web1'));
    await putProtectedItem(w.deps, await w.vault(), namesOf('web1'), enableBody('web1'));
    return w;
  }

  it('changes the policy with a ConfigureBackup job; the policy filter finds the item', async () => {
    const w = await protectedWorld();
    const change = await putProtectedItem(w.deps, await w.vault(), namesOf('web1'), { policyId: 'Weekly' });
    expect(change).toMatchObject({ action: 'policyChanged', item: { policyName: 'Weekly', protectionState: 'IRPending' }, job: { operation: 'ConfigureBackup' } });
    expect((await listProtectedItems(w.deps, await w.vault(), parseItemFilter("backupManagementType eq 'AzureIaasVM' and itemType eq 'VM' and policyName eq 'weekly'"))).length).toBe(1);
    expect(await listProtectedItems(w.deps, await w.vault(), parseItemFilter("policyName eq 'DefaultPolicy'"))).toEqual([]);
  });

  it('stop and retain → undeletable data kept, then resume', async () => {
    const w = await protectedWorld();
    const vault = await w.vault();
    // What az backup protection disable sends: the state and an empty policy id.
    const stopped = await putProtectedItem(w.deps, vault, namesOf('web1'), { protectionState: 'ProtectionStopped', policyId: '' });
    expect(stopped).toMatchObject({ action: 'stopped', item: { protectionState: 'ProtectionStopped' }, job: { operation: 'DisableBackup', status: 'Completed' } });
    expect(stopped.item?.policyName).toBeUndefined();
    expect((await putProtectedItem(w.deps, vault, namesOf('web1'), { protectionState: 'ProtectionStopped' })).action).toBe('unchanged');

    const resumed = await putProtectedItem(w.deps, vault, namesOf('web1'), { policyId: 'DefaultPolicy' });
    expect(resumed).toMatchObject({ action: 'resumed', item: { protectionState: 'IRPending', policyName: 'DefaultPolicy' }, job: { operation: 'ConfigureBackup' } });
  });

  it('stop and delete → soft-deleted for 14 days (visible, undeletable), undelete → stopped, resume → Protected', async () => {
    const w = await protectedWorld();
    const vault = await w.vault();
    w.now.value = new Date(START.getTime() + 1);
    const claimed = await claimBackup(w.deps, vault, itemName('rg-vms', 'web1'), 'job-done');
    await releaseBackup(w.deps, vault, claimed.itemName, 'job-done', (item) => ({ ...item, lastRecoveryPoint: START.toISOString(), protectionState: 'Protected' }));

    const deleted = await deleteProtectedItem(w.deps, vault, namesOf('web1'));
    const deletedAt = w.now.value;
    const purgeAt = new Date(deletedAt.getTime() + 14 * DAY).toISOString();
    expect(deleted).toMatchObject({ action: 'softDeleted', item: { protectionState: 'ProtectionStopped', softDelete: { deletedAt: deletedAt.toISOString(), purgeAt } }, job: { operation: 'DeleteBackupData', status: 'Completed' } });

    w.now.value = new Date(deletedAt.getTime() + DAY);
    const view = await protectedItemView(w.deps, vault, await getProtectedItem(w.deps, vault, namesOf('web1')));
    expect(view.properties).toMatchObject({ isScheduledForDeferredDelete: true, deferredDeleteTimeInUTC: deletedAt.toISOString(), deferredDeleteTimeRemaining: 'P13D', protectionState: 'ProtectionStopped' });
    expect(view.properties.policyId).toBeUndefined();

    const before = await catalogSnapshot(w.deps.catalog);
    const again = await rejection(deleteProtectedItem(w.deps, vault, namesOf('web1')));
    expect(again).toMatchObject({ code: 'UserErrorItemSoftDeleted', message: expect.stringContaining(purgeAt) });
    expect((await rejection(putProtectedItem(w.deps, vault, namesOf('web1'), { policyId: 'DefaultPolicy' }))).code).toBe('UserErrorItemSoftDeleted');
    expect((await rejection(putProtectedItem(w.deps, await w.other(), namesOf('web1'), enableBody('web1', 'DefaultPolicy', 'vault2')))).code).toBe('UserErrorVmAlreadyProtectedInAnotherVault');
    expect(await listProtectableItems(w.deps, vault)).toEqual([]);
    expect(await catalogSnapshot(w.deps.catalog)).toEqual(before);

    expect(await itemsDueForPurge(w.deps, vault)).toEqual([]);
    w.now.value = new Date(purgeAt);
    expect((await itemsDueForPurge(w.deps, vault)).map((item) => item.vm.name)).toEqual(['web1']);

    const undeleted = await putProtectedItem(w.deps, vault, namesOf('web1'), { protectionState: 'ProtectionStopped', policyId: '', isRehydrate: true });
    expect(undeleted).toMatchObject({ action: 'undeleted', item: { protectionState: 'ProtectionStopped' }, job: { operation: 'Undelete' } });
    expect(undeleted.item?.softDelete).toBeUndefined();

    w.now.value = new Date(w.now.value.getTime() + 60_000);
    const resumed = await putProtectedItem(w.deps, vault, namesOf('web1'), { policyId: 'DefaultPolicy' });
    expect(resumed.item).toMatchObject({ protectionState: 'Protected', policyName: 'DefaultPolicy' });
    expect((await listJobs(w.deps, vault)).map((job) => job.operation)).toEqual(['ConfigureBackup', 'Undelete', 'DeleteBackupData', 'ConfigureBackup']);
  });

  it('undelete of an item that is not soft-deleted is refused', async () => {
    const w = await protectedWorld();
    expect(await rejection(putProtectedItem(w.deps, await w.vault(), namesOf('web1'), { isRehydrate: true }))).toMatchObject({ code: 'KluisInvalidRequest', target: 'properties.isRehydrate' });
  });

  it('stop and delete with soft delete off purges the recovery points and the item', async () => {
    const w = await protectedWorld();
    await updateVaultConfig(w.deps, vaultRef(), { properties: { softDeleteFeatureState: 'Disabled' } });
    const vault = await w.vault();
    const item = await getProtectedItem(w.deps, vault, namesOf('web1'));
    for (const id of ['1000', '2000']) {
      await w.deps.catalog.recoveryPoints.put({ itemId: item.engineItemId, recoveryPointId: id, createdAt: START.toISOString(), consistency: 'CrashConsistent', vaultContainer: 'kluis-vault', manifestBlobName: `m-${id}`, diskCount: 1, state: 'Committed' });
    }
    // Manifests already gone (a purge that crashed after deleting the blobs): only the rows are left.
    const store = {
      readBlob: async (ref: BlobRef) => {
        throw errors.blobNotFound(ref.container, ref.blob);
      },
    } as unknown as PageBlobStore;
    const data: DeleteRecoveryPointDeps = { vault: store, sources: sourceDiskRegistry(), catalog: w.deps.catalog.recoveryPoints, log: { info: () => undefined, warn: () => undefined } as unknown as DeleteRecoveryPointDeps['log'] };

    expect((await rejection(deleteProtectedItem(w.deps, vault, namesOf('web1')))).code).toBe('BackUpOperationFailed');
    const purged = await deleteProtectedItem(w.deps, vault, namesOf('web1'), data);
    expect(purged).toMatchObject({ action: 'purged', job: { operation: 'DeleteBackupData', status: 'Completed' }, operation: { status: 'Succeeded' } });
    expect(purged?.item).toBeUndefined();
    expect(await listProtectedItems(w.deps, vault)).toEqual([]);
    expect(await collect(w.deps.catalog.recoveryPoints.list(item.engineItemId))).toEqual([]);
    expect(await deleteProtectedItem(w.deps, vault, namesOf('web1'), data)).toBeUndefined();
  });

  it('refuses to delete while a backup runs, naming the job', async () => {
    const w = await protectedWorld();
    const vault = await w.vault();
    await createJob(w.deps, vault, { jobId: 'job-run', operation: 'Backup', entityFriendlyName: 'web1', isUserTriggered: true });
    await claimBackup(w.deps, vault, itemName('rg-vms', 'web1'), 'job-run');
    expect(await rejection(deleteProtectedItem(w.deps, vault, namesOf('web1')))).toMatchObject({ code: 'UserErrorBackupOperationInProgress', message: expect.stringContaining('job-run') });
  });
});

describe('one backup per item', () => {
  it('a second claim is refused while the first job runs; a claim of a finished job is taken over', async () => {
    const w = await world();
    await w.inventory.create(vmRecord('web1'));
    const vault = await w.vault();
    await putProtectedItem(w.deps, vault, namesOf('web1'), enableBody('web1'));
    const item = itemName('rg-vms', 'web1');
    await createJob(w.deps, vault, { jobId: 'job-a', operation: 'Backup', entityFriendlyName: 'web1', isUserTriggered: true });
    await claimBackup(w.deps, vault, item, 'job-a');
    expect((await claimBackup(w.deps, vault, item, 'job-a')).activeBackup?.jobId).toBe('job-a');
    const refused = await rejection(claimBackup(w.deps, vault, item, 'job-b'));
    expect(refused).toMatchObject({ code: 'UserErrorBackupOperationInProgress', status: 409, message: expect.stringContaining('job-a') });

    // The first job ended without releasing (a crashed host): its claim no longer blocks.
    const { failJob } = await import('../../lib/services/jobs');
    await failJob(w.deps, vault, 'job-a', errors.backupOperationFailed());
    expect((await claimBackup(w.deps, vault, item, 'job-b')).activeBackup?.jobId).toBe('job-b');
    await releaseBackup(w.deps, vault, item, 'job-a');
    expect((await getProtectedItem(w.deps, vault, namesOf('web1'))).activeBackup?.jobId).toBe('job-b');
    await releaseBackup(w.deps, vault, item, 'job-b');
    expect((await getProtectedItem(w.deps, vault, namesOf('web1'))).activeBackup).toBeUndefined();
  });

  it('a claim whose job has run for a day without finishing is taken over, and that job failed', async () => {
    const w = await world();
    await w.inventory.create(vmRecord('web1'));
    const vault = await w.vault();
    await putProtectedItem(w.deps, vault, namesOf('web1'), enableBody('web1'));
    const item = itemName('rg-vms', 'web1');
    await createJob(w.deps, vault, { jobId: 'job-lost', operation: 'Backup', entityFriendlyName: 'web1', isUserTriggered: true });
    await claimBackup(w.deps, vault, item, 'job-lost');
    w.now.value = new Date(START.getTime() + DAY - 1);
    expect((await rejection(claimBackup(w.deps, vault, item, 'job-next'))).code).toBe('UserErrorBackupOperationInProgress');
    w.now.value = new Date(START.getTime() + DAY);
    expect((await claimBackup(w.deps, vault, item, 'job-next')).activeBackup?.jobId).toBe('job-next');
    expect(await getJob(w.deps, vault, 'job-lost')).toMatchObject({ status: 'Failed', errorDetails: [{ errorCode: 'BackUpOperationFailed', errorString: expect.stringContaining('stopped reporting') }] });
  });

  it('of two concurrent claims exactly one wins', async () => {
    const w = await world();
    await w.inventory.create(vmRecord('web1'));
    const vault = await w.vault();
    await putProtectedItem(w.deps, vault, namesOf('web1'), enableBody('web1'));
    for (const id of ['x', 'y']) await createJob(w.deps, vault, { jobId: `job-${id}`, operation: 'Backup', entityFriendlyName: 'web1', isUserTriggered: true });
    const results = await Promise.allSettled(['job-x', 'job-y'].map((jobId) => claimBackup(w.deps, vault, itemName('rg-vms', 'web1'), jobId)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
  });

  it('claims on an unknown item are refused as not protected', async () => {
    const w = await world();
    expect((await rejection(claimBackup(w.deps, await w.vault(), itemName('rg-vms', 'nope'), 'j'))).code).toBe('UserErrorBcmDatasourceNotPresent');
    expect((await rejection(getJob(w.deps, await w.vault(), 'nope'))).code).toBe('KluisJobNotFound');
  });
});

// Keep the partition helper honest: items live under the vault's key.
test('items are stored in the vault partition by lowercased item name', async () => {
  const w = await world();
  await w.inventory.create(vmRecord('Web1'));
  await putProtectedItem(w.deps, await w.vault(), namesOf('Web1'), enableBody('Web1'));
  const stored = await w.deps.catalog.items.get(vaultKey(SUBSCRIPTION, 'rg-backup', 'vault1'), 'vm;iaasvmcontainerv2;rg-vms;web1');
  expect((stored?.value as ProtectedItemRecord).itemName).toBe('VM;iaasvmcontainerv2;rg-vms;Web1');
});
