/**
 * The managed-disk backend against the source-disk conformance suite, through the unchanged @azure/arm-compute
 * client and its pollers, on the fabric's Compute endpoint (managed-disk VMs on Azurite with Kluis's extensions,
 * on a fake clock). Each disk the suite makes is the OS disk of its own fabric VM; a view is a disk restore point
 * of a VM restore point. Access expires as Compute ends it: the fabric's clock passes the grant's duration, so
 * the SAS the backend holds is refused. Then what is particular to managed disks: where the points go, renewing
 * and taking over grants, diffs Storage cannot make.
 */
import { randomBytes } from 'node:crypto';
import { isKluisErrorLike } from '../../lib/domain/errors';
import type { VmDiskRequest } from '../../lib/engine/domain/backup-job';
import type { DiskView } from '../../lib/engine/domain/disk-view';
import { handleOf, ManagedDiskBackend, restorePointIdOf, type ManagedDiskBackendOptions } from '../../lib/engine/sources/managed-disk/managed-disk-backend';
import { ArmManagedDiskCompute, BlobSasPageReader, parseComputeResourceId } from '../../lib/stores/azure/arm-managed-disk-compute';
import type { ManagedDiskCompute } from '../../lib/stores/managed-disk-compute';
import type { VirtualMachine } from '../../lib/domain/virtual-machine';
import { fabricManagedDiskCompute, SUBSCRIPTION, useComputeFabric } from '../support/compute-fabric';
import { DATA_SIZE, KIB, MIB, sourceDiskConformance, type SourceDiskFixture } from './source-disk-conformance';

const fabric = useComputeFabric();
const VM_GROUP = 'rg-md-conformance';
const ACCESS_SECONDS = 600;
let vmCounter = 0;

function computeOf(): ArmManagedDiskCompute {
  return fabricManagedDiskCompute(fabric());
}

function backendOf(options: Partial<ManagedDiskBackendOptions> = {}): ManagedDiskBackend {
  return new ManagedDiskBackend({ compute: computeOf(), sas: new BlobSasPageReader({ retryOptions: { maxTries: 1 } }), accessDurationInSeconds: ACCESS_SECONDS, ...options });
}

/** The fabric VMs made for disks, by disk id (lowercase). */
const vmsByDisk = new Map<string, VirtualMachine>();

/** A fabric VM with managed disks: the OS disk (with its boot area) and empty data disks at `dataDisks` LUNs. */
async function managedVm(dataDisks: number[] = [], owner?: Set<string>): Promise<VirtualMachine> {
  const vm = await fabric().service.createVm(
    { subscriptionId: SUBSCRIPTION, resourceGroup: VM_GROUP, name: `md-vm-${++vmCounter}` },
    { osType: 'Linux', managedDisks: true, osDisk: { sizeBytes: DATA_SIZE }, dataDisks: dataDisks.map((lun) => ({ lun, sizeBytes: DATA_SIZE })), initialData: { percent: 0 } },
  );
  for (const disk of vm.disks) vmsByDisk.set(disk.managedDisk!.id.toLowerCase(), vm);
  owner?.add(vm.id.toLowerCase());
  return vm;
}

function diskRequest(vm: VirtualMachine, index: number, lun: number): VmDiskRequest {
  return { lun, kind: 'managedDisk', id: vm.disks[index].managedDisk!.id, storageType: 'Standard' };
}

async function guestIo(disk: VmDiskRequest, io: (blob: ReturnType<ReturnType<typeof fabric>['compute']['pageBlobOf']>) => Promise<unknown>): Promise<void> {
  const id = 'id' in disk ? disk.id : '';
  const vm = vmsByDisk.get(id.toLowerCase())!;
  const vmDisk = vm.disks.find((d) => d.managedDisk!.id.toLowerCase() === id.toLowerCase())!;
  const blob = fabric().compute.pageBlobOf(await fabric().compute.diskBlobOf(vmDisk));
  await fabric().compute.guestWrite(vm.id, () => io(blob));
}

function drpRef(diskRestorePointId: string) {
  const parsed = parseComputeResourceId(diskRestorePointId)!;
  return { subscriptionId: parsed.subscriptionId, resourceGroup: parsed.resourceGroup, collection: parsed.path[1], restorePoint: parsed.path[3], name: parsed.path[5] };
}

/** Disk restore points of the VMs `of` with an active SAS, as the fabric knows them. */
async function activeGrants(of: ReadonlySet<string>): Promise<string[]> {
  const names: string[] = [];
  for (const collection of await fabric().compute.restorePoints.listCollections(SUBSCRIPTION)) {
    if (!of.has(collection.sourceVmId.toLowerCase())) continue;
    for (const point of await fabric().compute.restorePoints.restorePointsOf({ subscriptionId: SUBSCRIPTION, resourceGroup: collection.resourceGroup, name: collection.name })) {
      for (const drp of point.disks) if (drp.grant !== undefined) names.push(drp.name);
    }
  }
  return names.sort();
}

async function waitFor(condition: () => Promise<boolean>, timeoutInMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutInMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function codeOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (err) {
    if (isKluisErrorLike(err)) return err.code;
    throw err;
  }
  throw new Error('expected a failure');
}

function managedDiskFixture(): SourceDiskFixture {
  const backend = backendOf();
  const vms = new Set<string>();
  return {
    backend: () => backend,
    restarted: () => backendOf(),
    async createDisk(lun) {
      // An empty data disk (the OS disk has a boot area); the OS disk is in every restore point too, but no view shows it.
      return diskRequest(await managedVm([0], vms), 1, lun);
    },
    missingDisk: (lun) => ({ lun, kind: 'managedDisk', id: `/subscriptions/${SUBSCRIPTION}/resourceGroups/${VM_GROUP}/providers/Microsoft.Compute/disks/missing-${++vmCounter}`, storageType: 'Standard' }),
    write: (disk, offset, data) => guestIo(disk, (blob) => blob.uploadPages(data, offset, data.length)),
    clear: (disk, offset, length) => guestIo(disk, (blob) => blob.clearPages(offset, length)),
    async removeView(view) {
      const { diskRestorePointId } = handleOf(view);
      const ref = drpRef(diskRestorePointId);
      const client = fabric().client();
      for (const drp of (await client.restorePoints.get(ref.resourceGroup, ref.collection, ref.restorePoint)).sourceMetadata?.storageProfile?.dataDisks ?? []) {
        await client.diskRestorePointOperations.beginRevokeAccessAndWait(ref.resourceGroup, ref.collection, ref.restorePoint, drp.diskRestorePoint!.id!.split('/').pop()!);
      }
      await client.diskRestorePointOperations.beginRevokeAccessAndWait(ref.resourceGroup, ref.collection, ref.restorePoint, ref.name);
      await client.restorePoints.beginDeleteAndWait(ref.resourceGroup, ref.collection, ref.restorePoint);
    },
    async expiredAccess(view) {
      // The backend holds a SAS; Compute ends it when its duration passes on the fabric's clock (earlier than
      // the backend, on real time, expects): Storage refuses it from then on.
      await backend.read(view, 0, 512);
      const name = drpRef(handleOf(view).diskRestorePointId).name;
      await fabric().clock.advance((ACCESS_SECONDS + 1) * 1000);
      await waitFor(async () => !(await activeGrants(vms)).includes(name));
      return backend;
    },
    heldAccess: () => activeGrants(vms),
  };
}

sourceDiskConformance('managedDisk', managedDiskFixture);

describe('managed-disk backend: restore points as Azure Backup keeps them', () => {
  test("one VM restore point per opening, in AzureBackupRG_<region>_1's collection AzureBackup_<vm>_<n>, excluding the VM's disks not asked for", async () => {
    const vm = await managedVm([0, 1]);
    const backend = backendOf();
    const disks = [diskRequest(vm, 0, 0), diskRequest(vm, 2, 2)];
    const discovered = await backend.discover(disks);
    const views = await backend.openViews({ itemId: 'item-rpc', recoveryPointId: '1800000000001', disks: discovered, createdAt: '2027-01-01T00:00:00.000Z' });
    const ids = views.map((view) => handleOf(view).diskRestorePointId);
    expect(new Set(ids.map(restorePointIdOf)).size).toBe(1);
    const ref = drpRef(ids[0]);
    expect(ref.resourceGroup).toBe('AzureBackupRG_westeurope_1');
    expect(ref.collection).toMatch(new RegExp(`^AzureBackup_${vm.name}_\\d+$`));
    expect(ref.restorePoint).toMatch(/^1800000000001_[0-9a-f]{16}_[0-9a-f]{6}$/);
    const point = await fabric().client().restorePoints.get(ref.resourceGroup, ref.collection, ref.restorePoint);
    expect(point.excludeDisks?.map((disk) => disk.id)).toEqual([vm.disks[1].managedDisk!.id]);
    const rpc = await fabric().client().restorePointCollections.get(ref.resourceGroup, ref.collection);
    expect(rpc.source?.id).toBe(vm.id);
    // A second opening of the same VM goes to the same collection.
    const again = await backend.openViews({ itemId: 'item-rpc', recoveryPointId: '1800000000002', disks: discovered, createdAt: '2027-01-02T00:00:00.000Z' });
    expect(drpRef(handleOf(again[0]).diskRestorePointId).collection).toBe(ref.collection);
    await backend.deleteViews([...views, ...again]);
  });

  test("a policy's instantRPDetails prefix and suffix name the group; it is created when missing", async () => {
    const vm = await managedVm();
    const created: string[] = [];
    const compute = computeOf();
    const withGroups: ManagedDiskCompute = Object.assign(Object.create(compute) as ManagedDiskCompute, {
      ensureResourceGroup: async (subscriptionId: string, name: string, location: string) => {
        created.push(`${subscriptionId}/${name}/${location}`);
      },
    });
    const backend = new ManagedDiskBackend({ compute: withGroups, sas: new BlobSasPageReader() });
    const discovered = await backend.discover([diskRequest(vm, 0, 0)]);
    const [view] = await backend.openViews({
      itemId: 'item-prefix',
      recoveryPointId: '1800000000003',
      disks: discovered,
      createdAt: '2027-01-01T00:00:00.000Z',
      placement: { resourceGroupPrefix: 'Contoso_', resourceGroupSuffix: 'ForVMs' },
    });
    expect(drpRef(handleOf(view).diskRestorePointId).resourceGroup).toBe('Contoso_1ForVMs');
    expect(created).toEqual([`${SUBSCRIPTION}/Contoso_1ForVMs/westeurope`]);
    await backend.deleteViews([view]);
  });

  test('a SAS about to expire is granted again before use; a grant another process left is ended and granted anew; release ends any grant', async () => {
    const mine = new Set<string>();
    const vm = await managedVm([], mine);
    const activeGrants_ = () => activeGrants(mine);
    await guestIo(diskRequest(vm, 0, 0), (blob) => blob.uploadPages(randomBytes(4 * KIB), 0, 4 * KIB));
    let now = Date.parse('2027-01-01T00:00:00.000Z');
    const grants: string[] = [];
    const compute = computeOf();
    const counting: ManagedDiskCompute = Object.assign(Object.create(compute) as ManagedDiskCompute, {
      grantAccess: (id: string, access: 'Read' | 'Write', seconds: number) => {
        grants.push(id);
        return compute.grantAccess(id, access, seconds);
      },
    });
    const backend = new ManagedDiskBackend({ compute: counting, sas: new BlobSasPageReader(), accessDurationInSeconds: 3600, renewBeforeExpiryInMs: 10 * 60_000, clock: () => new Date(now) });
    const [view] = await backend.openViews({ itemId: 'item-renew', recoveryPointId: '1800000000004', disks: await backend.discover([diskRequest(vm, 0, 0)]), createdAt: '2027-01-01T00:00:00.000Z' });
    await backend.read(view, 0, 4 * KIB);
    await backend.read(view, 4 * KIB, 4 * KIB);
    expect(grants).toHaveLength(1);
    now += 55 * 60_000; // 5 minutes left: less than the 10 the backend keeps in hand
    expect((await backend.read(view, 0, 4 * KIB)).length).toBe(4 * KIB);
    expect(grants).toHaveLength(2);

    // A restarted process knows no SAS, but Compute still has this one's grant: it is ended and granted again.
    const restarted = backendOf();
    expect((await restarted.allocatedRanges(view, { start: 0, end: MIB })).length).toBeGreaterThan(0);
    await expect(backend.read(view, 0, 512)).rejects.toMatchObject({ code: 'KluisSourceViewAccessExpired' });
    expect(await activeGrants_()).toHaveLength(1);
    await expect(backend.read(view, 0, 512)).rejects.toMatchObject({ code: 'KluisSourceViewAccessExpired' });
    // A third process that never read it ends the grant on release (what a later activity does after a crash).
    await backendOf().release([view]);
    expect(await activeGrants_()).toEqual([]);
    // Once released, a read takes access again.
    await backend.release([view]);
    expect((await backend.read(view, 0, 512)).length).toBe(512);
    await backend.deleteViews([view]);
    expect(await activeGrants_()).toEqual([]);
  });

  test('views of disks of several VMs: one restore point per VM; a failure deletes the points already taken', async () => {
    const [a, b] = [await managedVm(), await managedVm()];
    const backend = backendOf();
    const discovered = await backend.discover([diskRequest(a, 0, 0), diskRequest(b, 0, 1)]);
    const views = await backend.openViews({ itemId: 'item-two', recoveryPointId: '1800000000005', disks: discovered, createdAt: '2027-01-01T00:00:00.000Z' });
    expect(new Set(views.map((view) => drpRef(handleOf(view).diskRestorePointId).collection)).size).toBe(2);
    await backend.deleteViews(views);
    // The second VM is being deleted when the views are opened: nothing of the first is left.
    const { etag, ...record } = (await fabric().inventory.get(b))!;
    await fabric().inventory.update({ ...record, provisioningState: 'Deleting' }, { ifMatch: etag });
    await expect(backend.openViews({ itemId: 'item-two', recoveryPointId: '1800000000006', disks: discovered, createdAt: '2027-01-01T00:00:00.000Z' })).rejects.toMatchObject({
      code: 'ExtensionOperationFailedForManagedDisks',
    });
    expect(await backend.discardViews({ itemId: 'item-two', recoveryPointId: '1800000000006', disks: discovered })).toEqual({ deleted: 0 });
  });

  test('a diff Storage cannot make (another lineage) is KluisSourceDiffUnavailable; an unattached or unsupported disk is refused', async () => {
    const mine = new Set<string>();
    const activeGrants_ = () => activeGrants(mine);
    const [a, b] = [await managedVm([], mine), await managedVm([], mine)];
    const backend = backendOf();
    const [viewA] = await backend.openViews({ itemId: 'item-diff', recoveryPointId: '1800000000007', disks: await backend.discover([diskRequest(a, 0, 0)]), createdAt: '2027-01-01T00:00:00.000Z' });
    const [viewB] = await backend.openViews({ itemId: 'item-diff', recoveryPointId: '1800000000008', disks: await backend.discover([diskRequest(b, 0, 0)]), createdAt: '2027-01-01T00:00:00.000Z' });
    const disguised: DiskView = { ...viewA, diskId: viewB.diskId };
    expect(await codeOf(backend.changedRanges(disguised, viewB))).toBe('KluisSourceDiffUnavailable');
    await backend.deleteViews([viewA, viewB]);
    expect(await activeGrants_()).toEqual([]);

    const client = fabric().client();
    const loose = await client.disks.beginCreateOrUpdateAndWait(VM_GROUP, `loose-${++vmCounter}`, { location: 'westeurope', sku: { name: 'Standard_LRS' }, creationData: { createOption: 'Empty' }, diskSizeGB: 1 });
    const [discovered] = await backend.discover([{ lun: 0, kind: 'managedDisk', id: loose.id!, storageType: 'Standard' }]);
    await expect(backend.openViews({ itemId: 'item-loose', recoveryPointId: '1800000000009', disks: [discovered], createdAt: '2027-01-01T00:00:00.000Z' })).rejects.toMatchObject({ code: 'KluisInvalidRequest' });
    expect(await codeOf(backend.discover([{ lun: 0, container: 'vhds', blob: 'a.vhd', storageType: 'Standard' }]))).toBe('KluisSourceKindNotSupported');
  });
});
