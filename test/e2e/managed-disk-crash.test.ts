/**
 * A managed-disk VM's backup survives SIGKILL mid-transfer: the host is killed while the job transfers the disk
 * restore points' data (a Read SAS outstanding on them), a new host on the same task hub and storage resumes the
 * orchestration, the new process takes over the SAS grants the dead one left (ends them, grants again), the job
 * completes, the point restores byte for byte, and no disk or disk restore point is left with an active SAS.
 */
import { randomBytes } from 'node:crypto';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { blobService, useAzurite } from '../support/azurite';
import { REPO_ROOT, sleep, startHostProcess, type HostProcess } from '../support/host-process';
import { subscriptionEnv } from '../support/arm-tenancy';
import { isolatedAppSettings, sha256, vaultApi } from '../support/vault-api';
import { hostComputeClient } from '../support/host-compute';

const SUB = '6d8b1c3a-4e5f-4a71-8c2d-3e4f5a6b7c8d';
const VAULT = 'crash-vault';
const VM = 'crash1';
const VM_GROUP = 'rg-vms';
const INSTANT_GROUP = 'AzureBackupRG_westeurope_1';
const MIB = 1024 * 1024;
const RESTORE_ACCOUNT = `/subscriptions/${SUB}/resourceGroups/storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`;

const azurite = useAzurite();

describe('a managed-disk backup killed mid-transfer resumes on a new host', () => {
  let host: HostProcess;
  const hosts: HostProcess[] = [];
  const api = vaultApi(() => host, { subscriptionId: SUB, storage: () => azurite().connectionString });
  const stamp = `c${randomBytes(4).toString('hex')}`;
  const hubName = `MdCrash${randomBytes(4).toString('hex')}`;

  async function startHost(): Promise<{ host: HostProcess; compute: ComputeManagementClient }> {
    const started = await startHostProcess({ app: REPO_ROOT, storage: azurite().connectionString, hubName, env: { ...isolatedAppSettings(stamp), ...subscriptionEnv(SUB) } });
    hosts.push(started);
    const { client: compute } = await hostComputeClient(started, SUB);
    return { host: started, compute };
  }

  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
  });

  it('resumes the transfer, ends every SAS, and the point restores byte for byte', async () => {
    let compute: ComputeManagementClient;
    ({ host, compute } = await startHost());
    await api.createResourceGroup();
    expect((await api.createVault(VAULT)).status).toBe(201);
    await api.createVm(VM, { osType: 'Linux', managedDisks: true, osDisk: { sizeBytes: 256 * MIB }, dataDisks: [{ lun: 0, sizeBytes: 256 * MIB }], initialData: { percent: 40, seed: VM } });
    expect((await api.settle(await api.arm(`${api.vaultUrl(VAULT)}/backupFabrics/Azure/refreshContainers`, { method: 'POST' }))).status).toBe('Succeeded');
    expect((await api.jobOf(VAULT, await api.enable(VAULT, VM))).properties.status).toBe('Completed');

    // The disks as the backup sees them (the guest does not write until the restore is checked).
    const atBackup = new Map<string, string>();
    const vm = await compute.virtualMachines.get(VM_GROUP, VM);
    for (const [key, id] of [['os', vm.storageProfile!.osDisk!.managedDisk!.id!], ['data0', vm.storageProfile!.dataDisks![0].managedDisk!.id!]] as const) {
      const { uniqueId } = await compute.disks.get(VM_GROUP, id.split('/').pop()!);
      atBackup.set(key, sha256(await blobService(azurite().connectionString).getContainerClient(`md-${uniqueId!.replace(/-/g, '')}`).getPageBlobClient('disk.vhd').downloadToBuffer()));
    }

    expect((await api.backupNow(VAULT, VM)).status).toBe(202);
    // Kill the host once the transfer runs (the views are open and being read).
    for (let waited = 0; ; waited += 50) {
      const [job] = (await api.jobs(VAULT, "operation eq 'Backup'")).filter((j) => j.properties.status === 'InProgress');
      const transfer = job?.properties.extendedInfo?.tasksList?.find((task: { taskId: string }) => task.taskId === 'Transfer data to vault');
      if (transfer?.status === 'InProgress') break;
      if (waited > 60_000) throw new Error('the backup never reached its transfer');
      await sleep(50);
    }
    expect((await host.kill('SIGKILL')).signal).toBe('SIGKILL');

    ({ host, compute } = await startHost());
    await host.waitForLog((record) => /Resuming \d+ in-flight orchestration/.test(record.message), 30_000);
    const jobs = await api.jobs(VAULT, "operation eq 'Backup'");
    let backup = jobs[0];
    for (let waited = 0; backup.properties.status === 'InProgress'; waited += 200) {
      if (waited > 120_000) throw new Error('the resumed backup did not finish');
      await sleep(200);
      backup = (await api.jobs(VAULT, "operation eq 'Backup'")).find((j) => j.name === jobs[0].name)!;
    }
    expect(backup.properties.status).toBe('Completed');

    const [point] = await api.recoveryPoints(VAULT, VM);
    const restore = await api.jobOf(
      VAULT,
      await api.arm(`${api.itemUrl(VAULT, VM)}/recoveryPoints/${point.name}/restore`, {
        method: 'POST',
        body: { properties: { objectType: 'IaasVMRestoreRequest', recoveryPointId: point.name, recoveryType: 'RestoreDisks', sourceResourceId: api.vmId(VM), region: 'westeurope', storageAccountId: RESTORE_ACCOUNT } },
      }),
    );
    expect(restore.properties.status).toBe('Completed');
    const restored = blobService(azurite().connectionString).getContainerClient(restore.properties.extendedInfo.propertyBag['Config Blob Container Name']);
    const disks = new Map<string, string>();
    for await (const blob of restored.listBlobsFlat()) {
      const lun = /\/lun(\d+)-[^/]+\.vhd$/.exec(blob.name)?.[1];
      if (lun !== undefined) disks.set(lun === '0' ? 'os' : `data${Number(lun) - 1}`, sha256(await restored.getPageBlobClient(blob.name).downloadToBuffer()));
    }
    expect(disks).toEqual(atBackup);

    // No SAS outstanding: every disk restore point grants access anew, no disk is Active….
    for await (const disk of compute.disks.list()) expect(disk.diskState).not.toMatch(/^Active/);
    for await (const collection of compute.restorePointCollections.list(INSTANT_GROUP)) {
      const expanded = await compute.restorePointCollections.get(INSTANT_GROUP, collection.name!, { expand: 'restorePoints' });
      for (const rp of expanded.restorePoints ?? []) {
        for await (const drp of compute.diskRestorePointOperations.listByRestorePoint(INSTANT_GROUP, collection.name!, rp.name!)) {
          await compute.diskRestorePointOperations.beginGrantAccessAndWait(INSTANT_GROUP, collection.name!, rp.name!, drp.name!, { access: 'Read', durationInSeconds: 60 });
          await compute.diskRestorePointOperations.beginRevokeAccessAndWait(INSTANT_GROUP, collection.name!, rp.name!, drp.name!);
        }
      }
    }
  }, 300_000);
});
