/**
 * Restoring a point of a managed-disk VM as new managed disks, through the fabric's Compute endpoint and the
 * unchanged @azure/arm-compute client: from the snapshot tier (a disk created from the disk restore point, read
 * back and verified) and from the vault (a disk created for upload, verified blocks written through a Write SAS,
 * the upload ended). Every restored byte equals the disk at backup; access always ends; names are never taken
 * over; a re-run of the job replaces its own leftovers.
 */
import { createHash } from 'node:crypto';
import { errors } from '../../lib/domain/errors';
import { restoreManagedDisks, type ManagedRestoreDeps } from '../../lib/engine/restore/restore-managed-disks';
import type { VirtualMachine } from '../../lib/domain/virtual-machine';
import { backupVm } from '../support/backup-engine';
import { managedDiskBytes, SUBSCRIPTION, useComputeFabric } from '../support/compute-fabric';
import { managedRestoreWorld } from '../support/managed-restore-world';
import { IMPORT_STAGING_CONTAINER, importStagingBlobName, isImportStagingBlobName } from '../../lib/engine/domain/restore-layout';
import { sweepImportStaging } from '../../lib/engine/restore/import-staging-sweep';
import { probedServerSideCopyFacts } from '../../lib/engine/sources/page-blob/server-side-copy-facts';
import { BlobServiceClient } from '@azure/storage-blob';

const MIB = 1024 * 1024;
/** Compute's smallest upload is 20 MiB (+ the footer). */
const DISK_BYTES = 20 * MIB;
const TARGET_GROUP = 'rg-restored';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('restore to new managed disks (snapshot tier by Restore, vault tier by Import or Upload)', () => {
  const fabric = useComputeFabric();
  let counter = 0;

  const world = () => managedRestoreWorld(fabric());

  async function backedUpVm(w: ReturnType<typeof world>): Promise<{ vm: VirtualMachine; itemId: string; recoveryPointId: string; atBackup: Buffer[] }> {
    const vm = await fabric().service.createVm(
      { subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-md-restore', name: `restore-vm-${++counter}` },
      { osType: 'Linux', managedDisks: true, osDisk: { sizeBytes: DISK_BYTES }, dataDisks: [{ lun: 0, sizeBytes: DISK_BYTES, storageType: 'Premium' }], initialData: { percent: 4, seed: `vm${counter}` } },
    );
    const atBackup = await Promise.all(vm.disks.map(async (disk) => fabric().compute.pageBlobOf(await fabric().compute.diskBlobOf(disk)).downloadToBuffer()));
    const itemId = `md-item-${counter}`;
    const recoveryPointId = String(1_800_000_000_000 + counter);
    const disks = vm.disks.map((disk, lun) => ({ lun, kind: 'managedDisk' as const, id: disk.managedDisk!.id, storageType: disk.storageType }));
    await backupVm(w.engine, { itemId, jobId: `backup-${counter}`, recoveryPointId, disks, capabilities: await w.backend.capabilities() });
    // The VM goes on writing: a restore brings back the bytes of the backup.
    await fabric().service.writeData(vm, { percent: 10, seed: `after${counter}` });
    return { vm, itemId, recoveryPointId, atBackup };
  }

  const bytesOf = (id: string): Promise<Buffer> => managedDiskBytes(fabric(), TARGET_GROUP, id.split('/').pop()!);

  const target = { subscriptionId: SUBSCRIPTION, resourceGroup: TARGET_GROUP, location: 'westeurope' };

  test('from the snapshot tier: disks created from the disk restore points, verified, Unattached, every byte as at backup', async () => {
    const w = world();
    const { itemId, recoveryPointId, atBackup } = await backedUpVm(w);
    const result = await restoreManagedDisks(w.deps, { itemId, recoveryPointId, jobId: `job-snap-${counter}`, target, skus: { 0: 'StandardSSD_LRS' } });
    expect(result.disks.map((disk) => [disk.lun, disk.tier, disk.method, disk.sku])).toEqual([
      [0, 'InstantRP', 'restoreFromSnapshot', 'StandardSSD_LRS'],
      [1, 'InstantRP', 'restoreFromSnapshot', 'Premium_LRS'],
    ]);
    for (const disk of result.disks) {
      const made = await fabric().client().disks.get(TARGET_GROUP, disk.name);
      expect(made).toMatchObject({ diskState: 'Unattached', creationData: { createOption: 'Restore' }, sku: { name: disk.sku } });
      expect(sha256(await bytesOf(disk.id))).toBe(sha256(atBackup[disk.lun]));
      expect(disk.blocksVerified).toBe(DISK_BYTES / (64 * 1024) + 1);
    }
  }, 120_000);

  test('from the vault: disks created for upload, only nonzero verified blocks written, the upload ended; a rerun replaces its leftovers, a foreign name stops it', async () => {
    const w = world();
    const { itemId, recoveryPointId, atBackup } = await backedUpVm(w);
    const jobId = `job-vault-${counter}`;
    const result = await restoreManagedDisks(w.deps, { itemId, recoveryPointId, jobId, target, tier: 'HardenedRP' });
    expect(result.disks.map((disk) => [disk.tier, disk.method])).toEqual([
      ['HardenedRP', 'upload'],
      ['HardenedRP', 'upload'],
    ]);
    for (const disk of result.disks) {
      expect(await fabric().client().disks.get(TARGET_GROUP, disk.name)).toMatchObject({ diskState: 'Unattached', creationData: { createOption: 'Upload' } });
      expect(sha256(await bytesOf(disk.id))).toBe(sha256(atBackup[disk.lun]));
      expect(disk.bytesWritten).toBeLessThan(disk.sizeBytes / 4);
    }
    // The same job again (an activity retried after its process died): its own disks are replaced.
    const again = await restoreManagedDisks(w.deps, { itemId, recoveryPointId, jobId, target, tier: 'HardenedRP' });
    expect(again.disks.map((disk) => disk.name)).toEqual(result.disks.map((disk) => disk.name));
    // Another job whose names are taken by disks it did not make: nothing is created.
    const other = `${jobId}`.replace('job-vault', 'job-other');
    await fabric().client().disks.beginCreateOrUpdateAndWait(TARGET_GROUP, `${result.disks[1].name.replace(/-[^-]+$/, '')}-${other.replace(/[^A-Za-z0-9]/g, '').slice(0, 12)}`, {
      location: 'westeurope',
      creationData: { createOption: 'Empty' },
      diskSizeGB: 1,
    });
    await expect(restoreManagedDisks(w.deps, { itemId, recoveryPointId, jobId: other, target })).rejects.toMatchObject({ code: 'KluisRestoreTargetExists' });
    const names: string[] = [];
    for await (const disk of fabric().client().disks.listByResourceGroup(TARGET_GROUP)) names.push(disk.name!);
    expect(names.filter((name) => name.startsWith(`${result.disks[0].name.replace(/-[^-]+$/, '')}-jobother`))).toEqual([]);
  }, 120_000);

  test('from the vault by import: the replica staged in the restore account, disks imported from it and read back verified, the staging blobs gone', async () => {
    const w = world();
    const importing: ManagedRestoreDeps = {
      ...w.deps,
      serverSideCopy: probedServerSideCopyFacts({ scratchContainer: `probe-import-${counter}` }),
      importFrom: { storageAccountId: `/subscriptions/${SUBSCRIPTION}/resourceGroups/kluis-storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1` },
    };
    const { itemId, recoveryPointId, atBackup } = await backedUpVm(w);
    const jobId = `job-import-${counter}`;
    const result = await restoreManagedDisks(importing, { itemId, recoveryPointId, jobId, target, tier: 'HardenedRP' });
    expect(result.disks.map((disk) => [disk.tier, disk.method, disk.bytesWritten])).toEqual([
      ['HardenedRP', 'import', 0],
      ['HardenedRP', 'import', 0],
    ]);
    for (const disk of result.disks) {
      const made = await fabric().client().disks.get(TARGET_GROUP, disk.name);
      expect(made).toMatchObject({ diskState: 'Unattached', creationData: { createOption: 'Import', storageAccountId: importing.importFrom!.storageAccountId } });
      expect(made.creationData?.sourceUri).toContain(`/${IMPORT_STAGING_CONTAINER}/`);
      expect(sha256(await bytesOf(disk.id))).toBe(sha256(atBackup[disk.lun]));
      expect(disk.blocksVerified).toBe(DISK_BYTES / (64 * 1024) + 1);
    }
    const staged: string[] = [];
    for await (const blob of BlobServiceClient.fromConnectionString(fabric().connectionString).getContainerClient(IMPORT_STAGING_CONTAINER).listBlobsFlat()) staged.push(blob.name);
    expect(staged.filter((name) => name.startsWith(`${jobId}/`))).toEqual([]);
  }, 120_000);

  test('the staging sweep deletes a crashed restore\'s staging blob once it is older than the cut-off, and nothing not named as staging', async () => {
    const w = world();
    const staging = BlobServiceClient.fromConnectionString(fabric().connectionString).getContainerClient(IMPORT_STAGING_CONTAINER);
    await staging.createIfNotExists();
    const crashed = importStagingBlobName(`job-crashed-${++counter}`, 1);
    await staging.getPageBlobClient(crashed).create(512);
    await staging.getBlockBlobClient(`notes-${counter}.txt`).upload('kept', 4);
    await staging.getPageBlobClient(`job-other-${counter}/disk.vhd`).create(512);
    const names = async (): Promise<string[]> => {
      const found: string[] = [];
      for await (const blob of staging.listBlobsFlat()) found.push(blob.name);
      return found;
    };

    expect((await sweepImportStaging(w.deps, { olderThan: new Date(Date.now() - 3_600_000) })).deleted).toEqual([]);
    expect(await names()).toContain(crashed);
    const swept = await sweepImportStaging(w.deps, { olderThan: new Date(Date.now() + 60_000) });
    expect(swept.deleted).toEqual([{ container: IMPORT_STAGING_CONTAINER, blob: crashed }]);
    expect(await names()).toEqual(expect.arrayContaining([`notes-${counter}.txt`, `job-other-${counter}/disk.vhd`]));
    expect(await names()).not.toContain(crashed);
    expect(isImportStagingBlobName('a/lun64.vhd')).toBe(false);
  });

  test('a failure mid-restore deletes the disks it created and ends every access', async () => {
    const w = world();
    const { itemId, recoveryPointId } = await backedUpVm(w);
    let uploads = 0;
    const failing: ManagedRestoreDeps = {
      ...w.deps,
      sas: Object.assign(Object.create(w.deps.sas) as ManagedRestoreDeps['sas'], {
        uploadPages: async (...args: Parameters<ManagedRestoreDeps['sas']['uploadPages']>) => {
          if (++uploads === 3) throw errors.transferIntegrityFailed('the network went away');
          return w.deps.sas.uploadPages(...args);
        },
      }),
    };
    await expect(restoreManagedDisks(failing, { itemId, recoveryPointId, jobId: `job-fail-${counter}`, target, tier: 'HardenedRP' })).rejects.toMatchObject({
      code: 'KluisTransferIntegrityFailed',
    });
    for await (const disk of fabric().client().disks.listByResourceGroup(TARGET_GROUP)) {
      expect(disk.name).not.toMatch(new RegExp(`jobfail${counter}$`));
      expect(disk.diskState).not.toMatch(/^Active/);
    }
  }, 120_000);
});
