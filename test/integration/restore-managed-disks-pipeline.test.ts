/**
 * The upload of a restore to new managed disks runs the page-blob restore's pipeline (`copyDiskVerified`):
 * several Put Pages in flight at once (bounded by `copy.maxUploadsInFlight`), every block verified before it is
 * written, and a block failing verification mid-stream stops the restore with every started write settled, the
 * Write SAS revoked and the half-written disk deleted, never reported as restored.
 */
import { createHash } from 'node:crypto';
import { restoreManagedDisks, type ManagedRestoreDeps } from '../../lib/engine/restore/restore-managed-disks';
import { backupVm } from '../support/backup-engine';
import { managedDiskBytes, SUBSCRIPTION, useComputeFabric } from '../support/compute-fabric';
import { managedRestoreWorld } from '../support/managed-restore-world';

const MIB = 1024 * 1024;
const DISK_BYTES = 20 * MIB;
const TARGET_GROUP = 'rg-restored-pipeline';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('restore to new managed disks by upload: the bounded-parallel verified pipeline', () => {
  const fabric = useComputeFabric();
  const target = { subscriptionId: SUBSCRIPTION, resourceGroup: TARGET_GROUP, location: 'westeurope' };
  let counter = 0;

  const world = () => managedRestoreWorld(fabric());

  async function backedUpVm(w: ReturnType<typeof world>) {
    const vm = await fabric().service.createVm(
      { subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-md-pipeline', name: `pipeline-vm-${++counter}` },
      { osType: 'Linux', managedDisks: true, osDisk: { sizeBytes: DISK_BYTES }, dataDisks: [{ lun: 0, sizeBytes: DISK_BYTES }], initialData: { percent: 8, seed: `pipe${counter}` } },
    );
    const atBackup = await Promise.all(vm.disks.map(async (disk) => fabric().compute.pageBlobOf(await fabric().compute.diskBlobOf(disk)).downloadToBuffer()));
    const itemId = `md-pipe-${counter}`;
    const recoveryPointId = String(1_810_000_000_000 + counter);
    const disks = vm.disks.map((disk, lun) => ({ lun, kind: 'managedDisk' as const, id: disk.managedDisk!.id, storageType: disk.storageType }));
    await backupVm(w.engine, { itemId, jobId: `backup-pipe-${counter}`, recoveryPointId, disks, capabilities: await w.backend.capabilities() });
    return { itemId, recoveryPointId, atBackup };
  }

  const bytesOf = (name: string): Promise<Buffer> => managedDiskBytes(fabric(), TARGET_GROUP, name);

  async function diskNamesIn(group: string): Promise<string[]> {
    const names: string[] = [];
    for await (const disk of fabric().client().disks.listByResourceGroup(group)) names.push(disk.name!);
    return names;
  }

  test('several writes are in flight at once, never more than copy.maxUploadsInFlight, and every byte is as at backup', async () => {
    const w = world();
    const { itemId, recoveryPointId, atBackup } = await backedUpVm(w);
    let inFlight = 0;
    let maxInFlight = 0;
    let writes = 0;
    const counting: ManagedRestoreDeps = {
      ...w.deps,
      sas: Object.assign(Object.create(w.deps.sas) as ManagedRestoreDeps['sas'], {
        uploadPages: async (...args: Parameters<ManagedRestoreDeps['sas']['uploadPages']>) => {
          inFlight += 1;
          writes += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          try {
            await delay(15); // a service round trip: long enough that a serialized pipeline never overlaps two writes
            return await w.deps.sas.uploadPages(...args);
          } finally {
            inFlight -= 1;
          }
        },
      }),
    };
    const result = await restoreManagedDisks(counting, { itemId, recoveryPointId, jobId: `job-pipe-${counter}`, target, tier: 'HardenedRP' }, { copy: { maxUploadsInFlight: 3 } });
    expect(writes).toBeGreaterThan(6);
    expect(maxInFlight).toBe(3);
    expect(result.disks.map((disk) => disk.method)).toEqual(['upload', 'upload']);
    for (const disk of result.disks) {
      expect(await fabric().client().disks.get(TARGET_GROUP, disk.name)).toMatchObject({ diskState: 'Unattached' });
      expect(sha256(await bytesOf(disk.name))).toBe(sha256(atBackup[disk.lun]));
      expect(disk.blocksVerified).toBe(DISK_BYTES / (64 * 1024) + 1);
    }
  }, 120_000);

  test('a block failing verification mid-stream: started writes settle, then access ends, and the half-written disk is deleted', async () => {
    const w = world();
    const { itemId, recoveryPointId } = await backedUpVm(w);
    const events: string[] = [];
    let dataReads = 0;
    const vault = Object.assign(Object.create(w.deps.vault) as ManagedRestoreDeps['vault'], {
      readRange: async (...args: Parameters<ManagedRestoreDeps['vault']['readRange']>) => {
        const data = await w.deps.vault.readRange(...args);
        // The second chunk of disk data read from the vault replica comes back with one byte changed.
        if (data.length >= 64 * 1024 && ++dataReads === 2) data[Math.floor(data.length / 2)] ^= 0xff;
        return data;
      },
    });
    const compute = Object.assign(Object.create(w.deps.compute) as ManagedRestoreDeps['compute'], {
      grantAccess: async (...args: Parameters<ManagedRestoreDeps['compute']['grantAccess']>) => {
        events.push(`grant ${args[1]}`);
        return w.deps.compute.grantAccess(...args);
      },
      revokeAccess: async (...args: Parameters<ManagedRestoreDeps['compute']['revokeAccess']>) => {
        events.push('revoke');
        return w.deps.compute.revokeAccess(...args);
      },
    });
    const sas = Object.assign(Object.create(w.deps.sas) as ManagedRestoreDeps['sas'], {
      uploadPages: async (...args: Parameters<ManagedRestoreDeps['sas']['uploadPages']>) => {
        events.push('write start');
        try {
          await delay(15);
          return await w.deps.sas.uploadPages(...args);
        } finally {
          events.push('write end');
        }
      },
    });
    const jobId = `job-badblock-${counter}`;
    await expect(restoreManagedDisks({ ...w.deps, vault, compute, sas }, { itemId, recoveryPointId, jobId, target, tier: 'HardenedRP' })).rejects.toMatchObject({
      code: 'KluisRestoreVerificationFailed',
    });
    // Mid-stream: the first chunk was verified and written before the second failed.
    expect(events.filter((event) => event === 'write start').length).toBeGreaterThan(0);
    const firstRevoke = events.indexOf('revoke');
    expect(events.indexOf('grant Write')).toBeGreaterThanOrEqual(0);
    expect(firstRevoke).toBeGreaterThan(events.lastIndexOf('write end'));
    expect(events.lastIndexOf('write start')).toBeLessThan(firstRevoke);
    const jobSuffix = jobId.replace(/[^A-Za-z0-9]/g, '').slice(0, 12);
    expect((await diskNamesIn(TARGET_GROUP)).filter((name) => name.endsWith(`-${jobSuffix}`))).toEqual([]);
  }, 120_000);
});
