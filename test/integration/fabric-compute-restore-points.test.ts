/**
 * Restore point collections, restore points and disk restore points of the fabric's Compute endpoint
 * through @azure/arm-compute and its pollers, on fabric VMs with managed disks: point in time across a
 * VM's disks, SAS access and DiskRestorePointUsedByCustomer, disks restored from disk restore points,
 * diffs between restore points, and a VM created from restored disks (read back by ArmVmInventory).
 */
import { rootCertificates } from 'node:tls';
import type { ComputeManagementClient, RestorePoint } from '@azure/arm-compute';
import { vmResourceId, type VirtualMachine } from '../../lib/domain/virtual-machine';
import { ArmVmInventory } from '../../lib/stores/azure/arm-vm-inventory';
import { AZURE_PAGE_SIZE as PAGE, fromSdkRangeResponse, normalizeRanges, type ByteRange } from '../../lib/engine/domain/page-ranges';
import { VHD_FOOTER_SIZE } from '../../lib/engine/domain/vhd';
import { sasClient, SUBSCRIPTION, useComputeFabric } from '../support/compute-fabric';
import { fakeCredential } from '../support/recorded-arm';

const MIB = 1024 * 1024;
const DISK_BYTES = 8 * MIB;
const VM_RG = 'rg-vms';
const RP_RG = 'AzureBackupRG_westeurope_1';
const LOCATION = 'westeurope';
const rest = (status: number, code: string) => expect.objectContaining({ statusCode: status, code });

describe('fabric Compute API: restore points of managed-disk VMs through @azure/arm-compute', () => {
  const fabric = useComputeFabric();
  let client: ComputeManagementClient;
  let counter = 0;
  const name = (prefix: string) => `${prefix}-${++counter}`;

  beforeAll(() => {
    client = fabric().client();
  });

  /** A running Linux VM with managed OS + data disks at LUN 0 and 1, some data written. */
  async function managedVm(vmName = name('vm')): Promise<VirtualMachine> {
    return fabric().service.createVm(
      { subscriptionId: SUBSCRIPTION, resourceGroup: VM_RG, name: vmName },
      {
        osType: 'Linux',
        managedDisks: true,
        osDisk: { sizeBytes: DISK_BYTES, sku: 'StandardSSD_LRS' },
        dataDisks: [
          { lun: 0, sizeBytes: DISK_BYTES, storageType: 'Premium' },
          { lun: 1, sizeBytes: DISK_BYTES },
        ],
        initialData: { percent: 10, seed: vmName },
      },
    );
  }

  /** Every disk's bytes as the fabric holds them now (data area and footer). */
  async function contentOf(vm: VirtualMachine): Promise<Buffer[]> {
    return Promise.all(vm.disks.map(async (disk) => fabric().compute.pageBlobOf(await fabric().compute.diskBlobOf(disk)).downloadToBuffer()));
  }

  async function collectionFor(vm: VirtualMachine, collection = name('AzureBackup_rpc')) {
    await client.restorePointCollections.createOrUpdate(RP_RG, collection, { location: LOCATION, source: { id: vm.id } });
    return collection;
  }

  async function readDrp(collection: string, point: string, drp: string): Promise<{ bytes: Buffer; sas: string }> {
    const { accessSAS } = await client.diskRestorePointOperations.beginGrantAccessAndWait(RP_RG, collection, point, drp, { access: 'Read', durationInSeconds: 600 });
    return { bytes: await sasClient(accessSAS!).downloadToBuffer(), sas: accessSAS! };
  }

  const drpNameOf = (id: string | undefined) => id!.split('/').pop()!;

  test('a restore point snapshots every managed disk of the VM; writes after it leave its disk restore points as they were', async () => {
    const vm = await managedVm();
    expect(vm.disks.map((disk) => [disk.kind, disk.lun, disk.managedDisk?.storageAccountType, disk.storageType, disk.vhdUri])).toEqual([
      ['os', undefined, 'StandardSSD_LRS', 'Standard', undefined],
      ['data', 0, 'Premium_LRS', 'Premium', undefined],
      ['data', 1, 'Standard_LRS', 'Standard', undefined],
    ]);
    const collection = await collectionFor(vm);
    const before = await contentOf(vm);
    const created: RestorePoint = await client.restorePoints.beginCreateAndWait(RP_RG, collection, 'rp1', {});
    await fabric().service.writeData(vm, { percent: 20, seed: 'after' });
    const after = await contentOf(vm);

    expect(created).toMatchObject({ name: 'rp1', provisioningState: 'Succeeded', consistencyMode: 'FileSystemConsistent', excludeDisks: [] });
    const metadata = created.sourceMetadata!;
    expect(metadata).toMatchObject({ hardwareProfile: { vmSize: vm.vmSize }, location: LOCATION, vmId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(metadata.storageProfile?.osDisk).toMatchObject({ osType: 'Linux', name: `${vm.name}-osdisk`, managedDisk: { id: vm.disks[0].managedDisk!.id, storageAccountType: 'StandardSSD_LRS' } });
    expect(metadata.storageProfile?.dataDisks?.map((disk) => [disk.lun, disk.managedDisk?.id])).toEqual([
      [0, vm.disks[1].managedDisk!.id],
      [1, vm.disks[2].managedDisk!.id],
    ]);
    const drpIds = [metadata.storageProfile!.osDisk!.diskRestorePoint!.id, ...metadata.storageProfile!.dataDisks!.map((disk) => disk.diskRestorePoint!.id)];
    expect(drpNameOf(drpIds[0])).toMatch(new RegExp(`^${vm.name}-osdisk_[0-9a-f-]{36}$`));

    for (const [index, id] of drpIds.entries()) {
      const { bytes } = await readDrp(collection, 'rp1', drpNameOf(id));
      expect(bytes.length).toBe(DISK_BYTES + VHD_FOOTER_SIZE);
      expect(bytes.equals(before[index])).toBe(true);
      expect(bytes.equals(after[index])).toBe(false);
      await client.diskRestorePointOperations.beginRevokeAccessAndWait(RP_RG, collection, 'rp1', drpNameOf(id));
    }

    // GET with $expand, the disk restore points' list and one of them.
    const withView = await client.restorePoints.get(RP_RG, collection, 'rp1', { expand: 'instanceView' });
    expect(withView.instanceView?.diskRestorePoints?.map((drp) => drp.id)).toEqual(drpIds);
    expect(withView.instanceView?.diskRestorePoints?.[0].replicationStatus?.completionPercent).toBe(100);
    expect((await client.restorePoints.get(RP_RG, collection, 'rp1')).instanceView).toBeUndefined();
    const listed = [];
    for await (const drp of client.diskRestorePointOperations.listByRestorePoint(RP_RG, collection, 'rp1')) listed.push(drp);
    expect(listed.map((drp) => drp.id)).toEqual(drpIds);
    const os = await client.diskRestorePointOperations.get(RP_RG, collection, 'rp1', drpNameOf(drpIds[0]));
    expect(os).toMatchObject({ sourceResourceId: vm.disks[0].managedDisk!.id, osType: 'Linux', familyId: expect.any(String), sourceUniqueId: expect.any(String) });
    expect(os.timeCreated).toBeInstanceOf(Date);
    const rpc = await client.restorePointCollections.get(RP_RG, collection, { expand: 'restorePoints' });
    expect(rpc).toMatchObject({ location: LOCATION, source: { id: vm.id, location: LOCATION }, provisioningState: 'Succeeded' });
    expect(rpc.restorePoints?.map((point) => point.name)).toEqual(['rp1']);
    expect((await client.restorePointCollections.get(RP_RG, collection)).restorePoints).toBeUndefined();
  });

  test('guest writes running during a restore point land wholly before or wholly after it, across all disks', async () => {
    const vm = await managedVm();
    const collection = await collectionFor(vm);
    const before = await contentOf(vm);
    const [point] = await Promise.all([
      client.restorePoints.beginCreateAndWait(RP_RG, collection, 'rp-race', {}),
      fabric().service.writeData(vm, { percent: 30, seed: 'racing' }),
    ]);
    const after = await contentOf(vm);
    const profile = point.sourceMetadata!.storageProfile!;
    const ids = [profile.osDisk!.diskRestorePoint!.id, ...profile.dataDisks!.map((disk) => disk.diskRestorePoint!.id)];
    const captured = await Promise.all(ids.map(async (id) => (await readDrp(collection, 'rp-race', drpNameOf(id))).bytes));
    const allBefore = captured.every((bytes, index) => bytes.equals(before[index]));
    const allAfter = captured.every((bytes, index) => bytes.equals(after[index]));
    expect(allBefore || allAfter).toBe(true);
  });

  test('excludeDisks, consistencyMode, and the refusals of restore points and collections', async () => {
    const vm = await managedVm();
    const collection = await collectionFor(vm);
    const point = await client.restorePoints.beginCreateAndWait(RP_RG, collection, 'rp-ex', { excludeDisks: [{ id: vm.disks[2].managedDisk!.id }], consistencyMode: 'CrashConsistent' });
    expect(point.consistencyMode).toBe('CrashConsistent');
    expect(point.excludeDisks).toEqual([{ id: vm.disks[2].managedDisk!.id }]);
    expect(point.sourceMetadata?.storageProfile?.dataDisks?.map((disk) => disk.lun)).toEqual([0]);

    await expect(client.restorePoints.beginCreateAndWait(RP_RG, collection, 'rp-ex', {})).rejects.toEqual(rest(409, 'OperationNotAllowed'));
    await expect(client.restorePoints.beginCreateAndWait(RP_RG, collection, 'rp-app', { consistencyMode: 'ApplicationConsistent' })).rejects.toEqual(
      rest(400, 'InvalidParameter'),
    );
    await expect(client.restorePoints.beginCreateAndWait(RP_RG, collection, 'rp-os', { excludeDisks: [{ id: vm.disks[0].managedDisk!.id }] })).rejects.toEqual(
      rest(400, 'InvalidParameter'),
    );
    await expect(client.restorePoints.beginCreateAndWait(RP_RG, 'no-such-collection', 'rp', {})).rejects.toEqual(rest(404, 'ParentResourceNotFound'));
    await expect(client.restorePoints.get(RP_RG, collection, 'never')).rejects.toEqual(rest(404, 'ResourceNotFound'));
    // Only tags change on an existing collection.
    const other = await managedVm();
    await expect(client.restorePointCollections.createOrUpdate(RP_RG, collection, { location: LOCATION, source: { id: other.id } })).rejects.toEqual(
      rest(409, 'PropertyChangeNotAllowed'),
    );
    expect((await client.restorePointCollections.update(RP_RG, collection, { tags: { owner: 'kluis' } })).tags).toEqual({ owner: 'kluis' });
    await expect(client.restorePointCollections.createOrUpdate(RP_RG, name('rpc'), { location: 'northeurope', source: { id: vm.id } })).rejects.toEqual(
      rest(400, 'InvalidParameter'),
    );
    // Unmanaged VMs have no restore points.
    const unmanaged = await fabric().service.createVm({ subscriptionId: SUBSCRIPTION, resourceGroup: VM_RG, name: name('vhd-vm') }, { osType: 'Linux', osDisk: { sizeBytes: MIB } });
    const vhdCollection = await collectionFor(unmanaged);
    await expect(client.restorePoints.beginCreateAndWait(RP_RG, vhdCollection, 'rp', {})).rejects.toEqual(rest(409, 'OperationNotAllowed'));

    const all = [];
    for await (const rpc of client.restorePointCollections.list(RP_RG)) all.push(rpc.name);
    expect(all).toEqual(expect.arrayContaining([collection, vhdCollection]));
    const everywhere = [];
    for await (const rpc of client.restorePointCollections.listAll()) everywhere.push(rpc.name);
    expect(everywhere).toEqual(expect.arrayContaining([collection]));
  });

  test('a restore point with an active SAS cannot be deleted (DiskRestorePointUsedByCustomer), nor its collection', async () => {
    const vm = await managedVm();
    const collection = await collectionFor(vm);
    const point = await client.restorePoints.beginCreateAndWait(RP_RG, collection, 'rp-sas', {});
    const drp = drpNameOf(point.sourceMetadata!.storageProfile!.osDisk!.diskRestorePoint!.id);
    const { sas } = await readDrp(collection, 'rp-sas', drp);
    await expect(client.diskRestorePointOperations.beginGrantAccessAndWait(RP_RG, collection, 'rp-sas', drp, { access: 'Read', durationInSeconds: 60 })).rejects.toEqual(
      rest(409, 'OperationNotAllowed'),
    );
    await expect(client.restorePoints.beginDeleteAndWait(RP_RG, collection, 'rp-sas')).rejects.toEqual(rest(409, 'DiskRestorePointUsedByCustomer'));
    await expect(client.restorePointCollections.beginDeleteAndWait(RP_RG, collection)).rejects.toEqual(rest(409, 'DiskRestorePointUsedByCustomer'));
    await client.diskRestorePointOperations.beginRevokeAccessAndWait(RP_RG, collection, 'rp-sas', drp);
    await expect(sasClient(sas).downloadToBuffer(0, PAGE)).rejects.toMatchObject({ statusCode: 403 });
    await client.restorePoints.beginDeleteAndWait(RP_RG, collection, 'rp-sas');
    await expect(client.restorePoints.get(RP_RG, collection, 'rp-sas')).rejects.toEqual(rest(404, 'ResourceNotFound'));
    await client.restorePoints.beginCreateAndWait(RP_RG, collection, 'rp-2', {});
    await client.restorePointCollections.beginDeleteAndWait(RP_RG, collection);
    await expect(client.restorePointCollections.get(RP_RG, collection)).rejects.toEqual(rest(404, 'ResourceNotFound'));
  });

  test('a disk restore point SAS ends with its duration on the fabric clock', async () => {
    const vm = await managedVm();
    const collection = await collectionFor(vm);
    const point = await client.restorePoints.beginCreateAndWait(RP_RG, collection, 'rp-exp', {});
    const drp = drpNameOf(point.sourceMetadata!.storageProfile!.dataDisks![0].diskRestorePoint!.id);
    const { accessSAS } = await client.diskRestorePointOperations.beginGrantAccessAndWait(RP_RG, collection, 'rp-exp', drp, { access: 'Read', durationInSeconds: 120 });
    expect((await sasClient(accessSAS!).downloadToBuffer(0, PAGE)).length).toBe(PAGE);
    await fabric().clock.advance(121_000);
    await waitFor(async () => {
      try {
        await sasClient(accessSAS!).downloadToBuffer(0, PAGE);
        return false;
      } catch (err) {
        return (err as { statusCode?: number }).statusCode === 403;
      }
    });
    await client.restorePoints.beginDeleteAndWait(RP_RG, collection, 'rp-exp');
  });

  test('two restore points diff by SAS URL: exactly the pages written and cleared between them', async () => {
    const vm = await managedVm();
    const collection = await collectionFor(vm);
    const first = await client.restorePoints.beginCreateAndWait(RP_RG, collection, 'rp-a', {});
    const written = await fabric().service.writeData(vm, { disk: 0, percent: 5, seed: 'between' });
    await fabric().service.clearData(vm, { disk: 0, offset: 6 * MIB, length: MIB });
    const second = await client.restorePoints.beginCreateAndWait(RP_RG, collection, 'rp-b', {});
    const lun0 = (point: RestorePoint) => drpNameOf(point.sourceMetadata!.storageProfile!.dataDisks![0].diskRestorePoint!.id);
    const a = await readDrp(collection, 'rp-a', lun0(first));
    const b = await readDrp(collection, 'rp-b', lun0(second));
    const diff = fromSdkRangeResponse(await sasClient(b.sas).getPageRangesDiffForManagedDisks(0, DISK_BYTES + VHD_FOOTER_SIZE, a.sas));
    const cleared: ByteRange = { start: 6 * MIB, end: 7 * MIB };
    const writtenOutsideClear = normalizeRanges(written.disks[0].ranges.flatMap((range) => cut(range, cleared)));
    expect(diff.changed).toEqual(writtenOutsideClear);
    // Cleared pages that held data at A (the initial data or nothing: ClearRange lists only pages A had).
    for (const range of diff.cleared) expect(range.start >= cleared.start && range.end <= cleared.end).toBe(true);
    // Another disk's restore point is another lineage.
    const other = await readDrp(collection, 'rp-a', drpNameOf(first.sourceMetadata!.storageProfile!.osDisk!.diskRestorePoint!.id));
    await expect(sasClient(b.sas).getPageRangesDiffForManagedDisks(0, DISK_BYTES, other.sas)).rejects.toMatchObject({ statusCode: 409, code: 'PreviousSnapshotOperationNotSupported' });
  });

  test('restore: disks from disk restore points (createOption Restore), a new VM attaching them, and ArmVmInventory reading it', async () => {
    const vm = await managedVm();
    const collection = await collectionFor(vm);
    const before = await contentOf(vm);
    const point = await client.restorePoints.beginCreateAndWait(RP_RG, collection, 'rp-restore', {});
    await fabric().service.writeData(vm, { percent: 50, seed: 'later' });
    const profile = point.sourceMetadata!.storageProfile!;
    const sources = [profile.osDisk!, ...profile.dataDisks!];
    const restoredIds: string[] = [];
    for (const [index, source] of sources.entries()) {
      const diskName = name(`restored-${index}`);
      const restored = await client.disks.beginCreateOrUpdateAndWait('rg-restore', diskName, {
        location: LOCATION,
        sku: { name: source.managedDisk!.storageAccountType },
        creationData: { createOption: 'Restore', sourceResourceId: source.diskRestorePoint!.id },
      });
      expect(restored).toMatchObject({ diskState: 'Unattached', diskSizeBytes: DISK_BYTES, creationData: { createOption: 'Restore', sourceResourceId: source.diskRestorePoint!.id } });
      const { accessSAS } = await client.disks.beginGrantAccessAndWait('rg-restore', diskName, { access: 'Read', durationInSeconds: 600 });
      expect((await sasClient(accessSAS!).downloadToBuffer()).equals(before[index])).toBe(true);
      await client.disks.beginRevokeAccessAndWait('rg-restore', diskName);
      restoredIds.push(restored.id!);
    }
    await expect(
      client.disks.beginCreateOrUpdateAndWait('rg-restore', name('bad'), { location: LOCATION, creationData: { createOption: 'Restore', sourceResourceId: vm.disks[0].managedDisk!.id } }),
    ).rejects.toEqual(rest(400, 'InvalidParameter'));

    const vmName = name('restored-vm');
    const created = await client.virtualMachines.beginCreateOrUpdateAndWait('rg-restore', vmName, {
      location: LOCATION,
      hardwareProfile: { vmSize: 'Standard_D4s_v3' },
      storageProfile: {
        osDisk: { osType: 'Linux', createOption: 'Attach', managedDisk: { id: restoredIds[0] } },
        dataDisks: [
          { lun: 0, createOption: 'Attach', managedDisk: { id: restoredIds[1] } },
          { lun: 1, createOption: 'Attach', managedDisk: { id: restoredIds[2] } },
        ],
      },
      tags: { restoredFrom: 'rp-restore' },
    });
    expect(created).toMatchObject({ name: vmName, provisioningState: 'Succeeded', hardwareProfile: { vmSize: 'Standard_D4s_v3' }, tags: { restoredFrom: 'rp-restore' } });
    expect(created.storageProfile?.osDisk).toMatchObject({ createOption: 'Attach', managedDisk: { id: restoredIds[0] }, osType: 'Linux' });
    for (const id of restoredIds) {
      const disk = await client.disks.get('rg-restore', id.split('/').pop()!);
      expect(disk).toMatchObject({ diskState: 'Attached', managedBy: vmResourceId(SUBSCRIPTION, 'rg-restore', vmName) });
    }
    await expect(client.disks.beginGrantAccessAndWait('rg-restore', restoredIds[1].split('/').pop()!, { access: 'Read', durationInSeconds: 60 })).rejects.toEqual(
      rest(409, 'OperationNotAllowed'),
    );
    await expect(client.disks.beginDeleteAndWait('rg-restore', restoredIds[1].split('/').pop()!)).rejects.toEqual(rest(409, 'OperationNotAllowed'));
    // A disk attached elsewhere cannot be attached again.
    await expect(
      client.virtualMachines.beginCreateOrUpdateAndWait('rg-restore', name('second'), {
        location: LOCATION,
        storageProfile: { osDisk: { osType: 'Linux', createOption: 'Attach', managedDisk: { id: restoredIds[0] } } },
      }),
    ).rejects.toEqual(rest(409, 'OperationNotAllowed'));
    await expect(
      client.virtualMachines.beginCreateOrUpdateAndWait('rg-restore', name('from-image'), {
        location: LOCATION,
        storageProfile: { imageReference: { publisher: 'Canonical' }, osDisk: { createOption: 'FromImage' } },
      }),
    ).rejects.toEqual(rest(400, 'InvalidParameter'));

    const withView = await client.virtualMachines.get('rg-restore', vmName, { expand: 'instanceView' });
    expect(withView.instanceView?.statuses?.map((status) => status.code)).toEqual(['ProvisioningState/succeeded', 'PowerState/running']);
    const inventory = new ArmVmInventory(fakeCredential, {
      clientOptions: { endpoint: fabric().endpoint.url, tlsOptions: { ca: [...rootCertificates, fabric().tls.caCertPem] }, retryOptions: { maxRetries: 0 } },
    });
    const read = await inventory.get({ subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-restore', name: vmName });
    expect(read).toMatchObject({ name: vmName, osType: 'Linux', powerState: 'running', agent: { status: 'Ready' }, vmSize: 'Standard_D4s_v3' });
    expect(read?.disks.map((disk) => [disk.kind, disk.lun, disk.managedDisk?.id, disk.vhdUri])).toEqual([
      ['os', undefined, restoredIds[0], undefined],
      ['data', 0, restoredIds[1], undefined],
      ['data', 1, restoredIds[2], undefined],
    ]);
    // The same VM in the fabric's own inventory (what the product's table inventory reads).
    const record = await fabric().inventory.get({ subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-restore', name: vmName });
    expect(record?.disks.map((disk) => disk.managedDisk?.id)).toEqual(restoredIds);
    const listed = [];
    for await (const machine of client.virtualMachines.listAll()) listed.push(machine.name);
    expect(listed).toEqual(expect.arrayContaining([vm.name, vmName]));
  });

  test('disk states follow the VM: Attached while running, Reserved when deallocated (SAS allowed, VM start refused meanwhile)', async () => {
    const vm = await managedVm();
    const osDisk = vm.disks[0].managedDisk!.id.split('/').pop()!;
    expect((await client.disks.get(VM_RG, osDisk)).diskState).toBe('Attached');
    await expect(client.disks.beginGrantAccessAndWait(VM_RG, osDisk, { access: 'Read', durationInSeconds: 60 })).rejects.toEqual(rest(409, 'OperationNotAllowed'));
    await fabric().service.stop(vm);
    expect((await client.disks.get(VM_RG, osDisk)).diskState).toBe('Attached');
    await fabric().service.deallocate(vm);
    expect((await client.disks.get(VM_RG, osDisk)).diskState).toBe('Reserved');
    const { accessSAS } = await client.disks.beginGrantAccessAndWait(VM_RG, osDisk, { access: 'Read', durationInSeconds: 600 });
    expect((await client.disks.get(VM_RG, osDisk)).diskState).toBe('ActiveSAS');
    await expect(fabric().service.start(vm)).rejects.toMatchObject({ status: 409, code: 'OperationNotAllowed' });
    await expect(fabric().service.deleteVm(vm)).rejects.toMatchObject({ status: 409, code: 'OperationNotAllowed' });
    expect((await sasClient(accessSAS!).downloadToBuffer()).equals((await contentOf(vm))[0])).toBe(true);
    await client.disks.beginRevokeAccessAndWait(VM_RG, osDisk);
    expect((await client.disks.get(VM_RG, osDisk)).diskState).toBe('Reserved');
    await fabric().service.start(vm);
    expect((await client.disks.get(VM_RG, osDisk)).diskState).toBe('Attached');

    // Deleting the fabric VM deletes the managed disks it was created with.
    await fabric().service.deleteVm(vm);
    for (const disk of vm.disks) await expect(client.disks.get(VM_RG, disk.managedDisk!.id.split('/').pop()!)).rejects.toEqual(rest(404, 'ResourceNotFound'));
    await expect(client.virtualMachines.get(VM_RG, vm.name)).rejects.toEqual(rest(404, 'ResourceNotFound'));
  });
});

function cut(range: ByteRange, hole: ByteRange): ByteRange[] {
  if (range.end <= hole.start || range.start >= hole.end) return [range];
  return [
    ...(range.start < hole.start ? [{ start: range.start, end: hole.start }] : []),
    ...(range.end > hole.end ? [{ start: hole.end, end: range.end }] : []),
  ];
}

async function waitFor(condition: () => Promise<boolean>, timeoutInMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutInMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
