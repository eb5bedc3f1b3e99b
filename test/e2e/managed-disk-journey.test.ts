/**
 * The managed-disk journey (issue 12 "Tests"), over HTTP through the embedded host on Azurite with the fabric's
 * Microsoft.Compute endpoint and a fake clock: a VM with managed disks → protect → full backup (a VM restore
 * point in AzureBackupRG_westeurope_1) → guest writes → incremental through the diff between disk restore points
 * (exactly the changed blocks written) → restore its disks to a storage account, as new managed disks in a
 * resource group and as a new VM attaching them, every byte as at the backup → the instant-restore tier expires
 * (fake clock) → restore from the vault (staged in the restore account, imported) → a scheduled restore drill (the vault's default) of the
 * latest point's vault copy → no disk and no disk restore point is left with an active SAS (asked of the Compute API).
 */
import path from 'node:path';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { AnonymousCredential, PageBlobClient } from '@azure/storage-blob';
import { azuriteExtensions } from '../../emulator/cli';
import { IMPORT_STAGING_CONTAINER } from '../../lib/engine/domain/restore-layout';
import { blobService, useAzurite } from '../support/azurite';
import { http, REPO_ROOT, startHostProcess, type HostProcess } from '../support/host-process';
import { subscriptionEnv } from '../support/arm-tenancy';
import { armHttp, dailyPolicy, isolatedAppSettings, sha256, vaultApi } from '../support/vault-api';
import { assignRole, principalWithRoles } from '../support/principals';
import { hostComputeClient } from '../support/host-compute';

const APP = process.env.KLUIS_E2E_APP ? path.resolve(process.env.KLUIS_E2E_APP) : REPO_ROOT;
const SUB = '5c7a0b2f-3d4e-4f60-9b1c-2d3e4f5a6b7c';
const START = '2026-03-02T10:00:00.000Z';
const VAULT = 'md-vault';
const POLICY = 'Daily0300';
const VM = 'md1';
const VM_GROUP = 'rg-vms';
const INSTANT_GROUP = 'AzureBackupRG_westeurope_1';
const MIB = 1024 * 1024;
const TARGET_GROUP = 'rg-restored';
const RESTORE_ACCOUNT = `/subscriptions/${SUB}/resourceGroups/storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`;
const backupSize = (bag: Record<string, string>) => Number(/^(\d+) bytes$/.exec(bag['Backup Size'] ?? '')?.[1] ?? NaN);

// With Kluis's extensions, as kluis-host starts it: the probe finds copies safe, so the vault tier is restored as Azure does (staged, imported).
const azurite = useAzurite({ extensions: [...azuriteExtensions] });
const SETTINGS = isolatedAppSettings(`m${Date.now().toString(36)}`);

describe('the managed-disk journey over the ARM API (embedded host, fabric Compute endpoint, fake clock)', () => {
  let host: HostProcess;
  let compute: ComputeManagementClient;
  const api = vaultApi(() => host, { subscriptionId: SUB, storage: () => azurite().connectionString });
  const journey = { fullBytes: 0, points: [] as string[], atBackup: new Map<string, Buffer>() };

  /** Every managed disk of the VM as the guest sees it now, by `os` / `data<lun>` (read from the disk's backing blob). */
  async function managedDiskBytes(vm: string): Promise<Map<string, Buffer>> {
    const found = await compute.virtualMachines.get(VM_GROUP, vm);
    const profile = found.storageProfile!;
    const disks = [{ key: 'os', id: profile.osDisk!.managedDisk!.id! }, ...(profile.dataDisks ?? []).map((disk) => ({ key: `data${disk.lun}`, id: disk.managedDisk!.id! }))];
    const bytes = new Map<string, Buffer>();
    for (const disk of disks) {
      const { uniqueId } = await compute.disks.get(VM_GROUP, disk.id.split('/').pop()!);
      const backing = blobService(azurite().connectionString).getContainerClient(`md-${uniqueId!.replace(/-/g, '').toLowerCase()}`).getPageBlobClient('disk.vhd');
      bytes.set(disk.key, await backing.downloadToBuffer());
    }
    return bytes;
  }

  /** No managed disk in ActiveSAS/ActiveUpload, and every disk restore point grants access (it has no SAS outstanding). */
  async function expectNoActiveSas(): Promise<void> {
    for await (const disk of compute.disks.list()) expect({ disk: disk.name, state: disk.diskState }).not.toMatchObject({ state: expect.stringMatching(/^Active/) });
    for await (const collection of compute.restorePointCollections.list(INSTANT_GROUP)) {
      const expanded = await compute.restorePointCollections.get(INSTANT_GROUP, collection.name!, { expand: 'restorePoints' });
      for (const point of expanded.restorePoints ?? []) {
        for await (const drp of compute.diskRestorePointOperations.listByRestorePoint(INSTANT_GROUP, collection.name!, point.name!)) {
          await compute.diskRestorePointOperations.beginGrantAccessAndWait(INSTANT_GROUP, collection.name!, point.name!, drp.name!, { access: 'Read', durationInSeconds: 60 });
          await compute.diskRestorePointOperations.beginRevokeAccessAndWait(INSTANT_GROUP, collection.name!, point.name!, drp.name!);
        }
      }
    }
  }

  /** A managed disk's bytes through a Read SAS (it must be Unattached or its VM deallocated). */
  async function sasBytes(group: string, name: string): Promise<Buffer> {
    const { accessSAS } = await compute.disks.beginGrantAccessAndWait(group, name, { access: 'Read', durationInSeconds: 300 });
    try {
      return await new PageBlobClient(accessSAS!, new AnonymousCredential(), { retryOptions: { maxTries: 1 } }).downloadToBuffer();
    } finally {
      await compute.disks.beginRevokeAccessAndWait(group, name);
    }
  }

  const restoreBody = (point: string, extra: Record<string, unknown>) => ({
    properties: { objectType: 'IaasVMRestoreRequest', recoveryPointId: point, sourceResourceId: api.vmId(VM), region: 'westeurope', storageAccountId: RESTORE_ACCOUNT, ...extra },
  });
  const restore = async (point: string, extra: Record<string, unknown>) =>
    api.jobOf(VAULT, await api.arm(`${api.itemUrl(VAULT, VM)}/recoveryPoints/${point}/restore`, { method: 'POST', body: restoreBody(point, extra) }));

  /** The managed disks a restore job made in the target group (tagged with the job), by engine slot order. */
  async function restoredDisks(jobName: string): Promise<Array<{ name: string; id: string; method: string }>> {
    const found = [];
    for await (const disk of compute.disks.listByResourceGroup(TARGET_GROUP)) {
      if (disk.tags?.kluisRestoreJobId === jobName) found.push({ name: disk.name!, id: disk.id!, method: disk.creationData!.createOption! });
    }
    return found.sort((a, b) => (a.name.includes('osdisk') ? -1 : b.name.includes('osdisk') ? 1 : a.name.localeCompare(b.name)));
  }

  beforeAll(async () => {
    host = await startHostProcess({
      app: APP,
      storage: azurite().connectionString,
      hubName: `Managed${Date.now().toString(36)}`,
      env: { ...SETTINGS, ...subscriptionEnv(SUB) },
      extraArgs: ['--fake-clock', START],
    });
    compute = (await hostComputeClient(host, SUB)).client;
    await api.createResourceGroup();
  }, 60_000);

  afterAll(async () => {
    await host?.stop();
  });

  it('protects a VM with managed disks and backs it up: a VM restore point in AzureBackupRG_westeurope_1 is its instant tier', async () => {
    expect((await api.createVault(VAULT)).status).toBe(201);
    expect((await api.putPolicy(VAULT, POLICY, dailyPolicy('03:00', 'W. Europe Standard Time', 7))).status).toBe(200);
    // Compute's smallest upload is 20 MiB (a vault-tier restore uploads when it cannot import).
    const vm = await api.createVm(VM, { osType: 'Linux', managedDisks: true, osDisk: { sizeBytes: 24 * MIB }, dataDisks: [{ lun: 0, sizeBytes: 20 * MIB, storageType: 'Premium' }] });
    expect(vm.disks.map((disk) => (disk as { managedDisk?: { id: string } }).managedDisk?.id.split('/').pop())).toEqual([`${VM}-osdisk`, `${VM}-datadisk-0`]);
    expect((await api.settle(await api.arm(`${api.vaultUrl(VAULT)}/backupFabrics/Azure/refreshContainers`, { method: 'POST' }))).status).toBe('Succeeded');
    expect((await api.jobOf(VAULT, await api.enable(VAULT, VM, POLICY))).properties).toMatchObject({ operation: 'ConfigureBackup', status: 'Completed' });

    journey.atBackup = await managedDiskBytes(VM);
    const backup = await api.jobOf(VAULT, await api.backupNow(VAULT, VM));
    expect(backup.properties).toMatchObject({ operation: 'Backup', status: 'Completed' });
    journey.fullBytes = backupSize(backup.properties.extendedInfo.propertyBag);
    expect(journey.fullBytes).toBeGreaterThan(0);
    expect(backup.properties.extendedInfo.propertyBag['Change detection']).toBe('OS disk: full; data disk LUN 0: full');
    const points = await api.recoveryPoints(VAULT, VM);
    expect(points).toHaveLength(1);
    expect(points[0].properties).toMatchObject({
      recoveryPointTierDetails: [
        { type: 'InstantRP', status: 'Valid' },
        { type: 'HardenedRP', status: 'Valid' },
      ],
      recoveryPointDiskConfiguration: { numberOfDisksIncludedInBackup: 2 },
    });
    journey.points.push(points[0].name);

    const collections = [];
    for await (const collection of compute.restorePointCollections.list(INSTANT_GROUP)) collections.push(collection);
    expect(collections.map((c) => [c.name?.replace(/_\d+$/, '_n'), c.source?.id])).toEqual([[`AzureBackup_${VM}_n`, api.vmId(VM)]]);
    const expanded = await compute.restorePointCollections.get(INSTANT_GROUP, collections[0].name!, { expand: 'restorePoints' });
    expect(expanded.restorePoints?.map((point) => point.name?.split('_')[0])).toEqual([points[0].name]);
    await expectNoActiveSas();
  }, 120_000);

  it('backs up incrementally through the diff between disk restore points: exactly the changed blocks', async () => {
    const written = await api.fabric<{ disks: Array<{ bytes: number }> }>(VM, 'writeData', { percent: 3, seed: 'between-backups' });
    const changedBytes = written.disks.reduce((sum, disk) => sum + disk.bytes, 0);
    expect(changedBytes).toBeGreaterThan(0);
    journey.atBackup = await managedDiskBytes(VM);
    await api.advanceClock({ to: '2026-03-02T12:00:00Z' });
    const backup = await api.jobOf(VAULT, await api.backupNow(VAULT, VM));
    expect(backup.properties).toMatchObject({ operation: 'Backup', status: 'Completed' });
    expect(backupSize(backup.properties.extendedInfo.propertyBag)).toBe(changedBytes);
    expect(backup.properties.extendedInfo.propertyBag['Change detection']).toBe('OS disk: diff; data disk LUN 0: diff');
    const points = await api.recoveryPoints(VAULT, VM);
    expect(points).toHaveLength(2);
    journey.points.push(points[1].name);
    await expectNoActiveSas();
  }, 120_000);

  it('restores the disks to a storage account from the snapshot tier: every byte as at the backup', async () => {
    await api.fabric(VM, 'writeData', { percent: 5, seed: 'after-the-backup' });
    const point = journey.points[1];
    const restore = await api.jobOf(
      VAULT,
      await api.arm(`${api.itemUrl(VAULT, VM)}/recoveryPoints/${point}/restore`, {
        method: 'POST',
        body: { properties: { objectType: 'IaasVMRestoreRequest', recoveryPointId: point, recoveryType: 'RestoreDisks', sourceResourceId: api.vmId(VM), region: 'westeurope', storageAccountId: RESTORE_ACCOUNT } },
      }),
    );
    expect(restore.properties).toMatchObject({ operation: 'Restore', status: 'Completed' });
    const bag = restore.properties.extendedInfo.propertyBag;
    const restored = blobService(azurite().connectionString).getContainerClient(bag['Config Blob Container Name']);
    const disks = new Map<string, string>();
    for await (const blob of restored.listBlobsFlat()) {
      const lun = /\/lun(\d+)-[^/]+\.vhd$/.exec(blob.name)?.[1];
      if (lun === undefined) continue;
      disks.set(lun === '0' ? 'os' : `data${Number(lun) - 1}`, sha256(await restored.getPageBlobClient(blob.name).downloadToBuffer()));
    }
    expect(disks).toEqual(new Map([...journey.atBackup].map(([disk, bytes]) => [disk, sha256(bytes)])));
    await expectNoActiveSas();
  }, 120_000);
  it('restores to new managed disks in a resource group from the snapshot tier (created from the disk restore points, verified)', async () => {
    const point = journey.points[1];
    const job = await restore(point, { recoveryType: 'RestoreDisks', targetResourceGroupId: `/subscriptions/${SUB}/resourceGroups/${TARGET_GROUP}`, restoreWithManagedDisks: true });
    expect(job.properties).toMatchObject({ operation: 'Restore', status: 'Completed' });
    const disks = await restoredDisks(job.name);
    expect(disks.map((disk) => disk.method)).toEqual(['Restore', 'Restore']);
    expect(job.properties.extendedInfo.propertyBag).toMatchObject({
      'Target resource group': TARGET_GROUP,
      'Target OS Disk Id': disks[0].id,
      'Target Data Disk Id (LUN 0)': disks[1].id,
      'Restored From Tier': 'InstantRP',
    });
    const bytes = await Promise.all(disks.map((disk) => sasBytes(TARGET_GROUP, disk.name)));
    expect(bytes.map(sha256)).toEqual([sha256(journey.atBackup.get('os')!), sha256(journey.atBackup.get('data0')!)]);
    await expectNoActiveSas();
  }, 120_000);

  it('restoring into a resource group needs the caller\'s Microsoft.Compute/disks/write there: 403 LinkedAuthorizationFailed otherwise', async () => {
    const point = journey.points[1];
    const targetGroup = `/subscriptions/${SUB}/resourceGroups/${TARGET_GROUP}`;
    // What a restore to the storage account needs (Backup Operator, VM Contributor on the VM, Storage Account Contributor) — nothing on the target group.
    const operator = await principalWithRoles(host, 'md-restore-operator', [
      { role: 'backupOperator', scope: `/subscriptions/${SUB}/resourceGroups/rg-backup` },
      { role: 'virtualMachineContributor', scope: api.vmId(VM) },
      // (on the subscription: the restore account is Kluis's own, in its storage resource group; the role holds no Compute action)
      { role: 'storageAccountContributor', scope: `/subscriptions/${SUB}` },
    ]);
    const asOperator = async (extra: Record<string, unknown>) =>
      armHttp<{ error?: { code: string; message: string } }>(`${api.itemUrl(VAULT, VM)}/recoveryPoints/${point}/restore?api-version=2023-06-01`, {
        method: 'POST',
        body: restoreBody(point, extra),
        headers: { authorization: `Bearer ${await operator.tokens()}` },
      });
    const jobsBefore = (await api.jobs(VAULT)).length;
    for (const extra of [
      { recoveryType: 'RestoreDisks', targetResourceGroupId: targetGroup, restoreWithManagedDisks: true },
      { recoveryType: 'AlternateLocation', targetVirtualMachineId: `${targetGroup}/providers/Microsoft.Compute/virtualMachines/${VM}-by-operator`, targetResourceGroupId: targetGroup },
    ]) {
      const refused = await asOperator(extra);
      expect({ status: refused.status, code: refused.body.error?.code }).toEqual({ status: 403, code: 'LinkedAuthorizationFailed' });
      expect(refused.body.error?.message).toContain(`perform action(s) 'Microsoft.Compute/disks/write' on the linked scope(s) '${targetGroup}'`);
    }
    // Nothing started.
    expect((await api.jobs(VAULT)).length).toBe(jobsBefore);

    // Virtual Machine Contributor on the target group gives it (disks/write, virtualMachines/write).
    await assignRole(host, operator.objectId, { role: 'virtualMachineContributor', scope: targetGroup });
    const accepted = await asOperator({ recoveryType: 'RestoreDisks', targetResourceGroupId: targetGroup, restoreWithManagedDisks: true });
    expect(accepted.status).toBe(202);
    expect((await api.jobOf(VAULT, accepted)).properties.status).toBe('Completed');
    await expectNoActiveSas();
  }, 120_000);

  it('restores as a new VM attaching new managed disks, never replacing a VM', async () => {
    const point = journey.points[1];
    const target = `/subscriptions/${SUB}/resourceGroups/${TARGET_GROUP}/providers/Microsoft.Compute/virtualMachines/${VM}-restored`;
    const job = await restore(point, { recoveryType: 'AlternateLocation', targetVirtualMachineId: target, targetResourceGroupId: `/subscriptions/${SUB}/resourceGroups/${TARGET_GROUP}` });
    expect(job.properties).toMatchObject({ operation: 'Restore', status: 'Completed' });
    const vm = await compute.virtualMachines.get(TARGET_GROUP, `${VM}-restored`);
    expect(vm.provisioningState).toBe('Succeeded');
    const attached = [vm.storageProfile!.osDisk!.managedDisk!.id!, ...vm.storageProfile!.dataDisks!.map((disk) => disk.managedDisk!.id!)];
    expect(attached.map((id) => id.split('/').pop())).toEqual((await restoredDisks(job.name)).map((disk) => disk.name));
    // The job names the new VM and the disks it attaches, as their resource ids.
    expect(job.properties.extendedInfo.propertyBag).toMatchObject({
      'Job Type': 'Restore VM',
      'Target VM Name': `${VM}-restored`,
      'Target VM Id': expect.stringMatching(new RegExp(`/virtualMachines/${VM}-restored$`, 'i')),
      'Target OS Disk Id': attached[0],
      'Target Data Disk Id (LUN 0)': attached[1],
    });
    for (const id of attached) expect((await compute.disks.get(TARGET_GROUP, id.split('/').pop()!)).diskState).toBe('Attached');
    // Kluis's own ARM front door shows it too: its resource group was created with it.
    const shown = await http<{ id: string }>(`${host.origin}/subscriptions/${SUB}/resourceGroups/${TARGET_GROUP}/providers/Microsoft.Compute/virtualMachines/${VM}-restored?api-version=2022-11-01`);
    expect([shown.status, shown.body.id?.toLowerCase()]).toEqual([200, target.toLowerCase()]);
    const again = await api.arm<{ error: { code: string } }>(`${api.itemUrl(VAULT, VM)}/recoveryPoints/${point}/restore`, {
      method: 'POST',
      body: restoreBody(point, { recoveryType: 'AlternateLocation', targetVirtualMachineId: target }),
    });
    expect({ status: again.status, code: again.body.error?.code }).toEqual({ status: 409, code: 'KluisRestoreTargetVmExists' });
    await expectNoActiveSas();
  }, 120_000);

  it('after the instant-restore tier expired, restores to new managed disks from the vault by import (staged in the restore account, no staging blob left)', async () => {
    // Instant-restore snapshots live 2 days: three days on, the points are in the vault tier only.
    // Day by day: one jump over three slots would start the next slot's backup while the last one still runs
    // (refused, as Azure refuses it, with UserErrorBackupOperationInProgress).
    for (const day of ['03', '04', '05']) {
      await api.advanceClock({ to: `2026-03-${day}T02:05:00Z` });
      // The day's scheduled backup (03:00 W. Europe) expires the snapshot tier of points older than 2 days.
      expect((await api.scheduledJob(VAULT, VM, new Date(`2026-03-${day}T02:00:00.000Z`))).properties.status).toBe('Completed');
    }
    await api.orchestrationsIdle('retention-');
    const points = await api.recoveryPoints(VAULT, VM);
    const point = points.find((p) => p.name === journey.points[1])!;
    expect(point.properties.recoveryPointTierDetails).toEqual([{ type: 'InstantRP', status: 'Deleted' }, expect.objectContaining({ type: 'HardenedRP', status: 'Valid' })]);
    // Its VM restore point is gone from the collection; the newer scheduled points keep theirs.
    const kept: string[] = [];
    for await (const collection of compute.restorePointCollections.list(INSTANT_GROUP)) {
      const expanded = await compute.restorePointCollections.get(INSTANT_GROUP, collection.name!, { expand: 'restorePoints' });
      kept.push(...(expanded.restorePoints ?? []).map((rp) => rp.name!.split('_')[0]));
    }
    expect(kept).not.toContain(journey.points[0]);
    expect(kept).not.toContain(journey.points[1]);
    expect(kept.length).toBeGreaterThan(0);
    const job = await restore(point.name, { recoveryType: 'RestoreDisks', targetResourceGroupId: `/subscriptions/${SUB}/resourceGroups/${TARGET_GROUP}`, restoreWithManagedDisks: true });
    expect(job.properties).toMatchObject({ operation: 'Restore', status: 'Completed' });
    const disks = await restoredDisks(job.name);
    // The restore account and the vault share the host's Azurite, whose copies the probe finds safe: Azure's path.
    expect(disks.map((disk) => disk.method)).toEqual(['Import', 'Import']);
    const staged: string[] = [];
    for await (const blob of blobService(azurite().connectionString).getContainerClient(IMPORT_STAGING_CONTAINER).listBlobsFlat()) staged.push(blob.name);
    expect(staged).toEqual([]);
    expect(job.properties.extendedInfo.propertyBag).toMatchObject({ 'Target OS Disk Id': disks[0].id, 'Target Data Disk Id (LUN 0)': disks[1].id, 'Restored From Tier': 'HardenedRP' });
    const bytes = await Promise.all(disks.map((disk) => sasBytes(TARGET_GROUP, disk.name)));
    expect(bytes.map(sha256)).toEqual([sha256(journey.atBackup.get('os')!), sha256(journey.atBackup.get('data0')!)]);
    await expectNoActiveSas();
  }, 180_000);
  it('drills the latest point from the vault on the drill timer (the vault default, daily): a RestoreDrill job Completed, no scratch left, the item healthy', async () => {
    const config = await api.arm<{ properties: Record<string, unknown> }>(`${api.vaultUrl(VAULT)}/backupconfig/vaultconfig`, {
      method: 'PATCH',
      body: { properties: { kluisRestoreDrill: { frequency: 'Daily' } } },
    });
    expect([config.status, config.body.properties.kluisRestoreDrill]).toEqual([200, { frequency: 'Daily', pointSelection: 'Latest', seed: 0 }]);
    // The drill timer fires at minute 30 of every hour.
    const now = (await api.clockNow()).getTime();
    let tick = Math.floor(now / 3_600_000) * 3_600_000 + 35 * 60_000;
    if (tick <= now) tick += 3_600_000;
    await api.advanceClock({ to: new Date(tick).toISOString() });
    const drills = `${api.vaultUrl(VAULT)}/backupJobs?$filter=${encodeURIComponent("operation eq 'RestoreDrill'")}`;
    type DrillJob = { name: string; properties: { status: string; operation: string; extendedInfo: { propertyBag: Record<string, string> } } };
    const list = await api.until(
      'the restore drill',
      () => api.arm<{ value: DrillJob[] }>(drills),
      (body) => body.value?.some((job) => job.properties.status !== 'InProgress') === true,
      120_000,
    );
    const [job] = list.value;
    const latest = (await api.recoveryPoints(VAULT, VM)).map((point) => point.name).sort().at(-1);
    expect(job.properties).toMatchObject({ operation: 'RestoreDrill', status: 'Completed' });
    expect(job.properties.extendedInfo.propertyBag).toMatchObject({ 'Recovery point': latest, Disks: '2', Tier: 'HardenedRP' });
    expect(Number(job.properties.extendedInfo.propertyBag['Bytes verified'])).toBeGreaterThan(2 * MIB);
    const item = await api.getItem(VAULT, VM);
    expect(item.properties).toMatchObject({ healthStatus: 'Passed' });
    const engineItemId = (item.properties as { protectedItemDataId?: string }).protectedItemDataId!;
    const scratch = [];
    for await (const blob of blobService(azurite().connectionString).getContainerClient(SETTINGS.KLUIS_VAULT_CONTAINER).listBlobsFlat({ prefix: `items/${engineItemId}/drills/` })) scratch.push(blob.name);
    expect(scratch).toEqual([]);
    await expectNoActiveSas();
  }, 180_000);
});
