/**
 * The fabric's Microsoft.Compute endpoint for the managed-disk phase of bench/engine.ts, run in the bench's
 * own process (idle while a worker runs) over the run's Azurite, as kluis-host runs it: a ComputeFabric and a
 * FabricService on the real clock, behind the HTTPS endpoint with a local CA. Workers reach it only through
 * that endpoint with the unchanged @azure/arm-compute client (ArmManagedDiskCompute), and the disks' bytes
 * through the SAS URLs it grants — the product's one Compute path.
 *
 * Loading the image is not timed: the VM is created with an empty managed data disk of the dataset's size
 * (and a small OS disk), and the image's allocated extents are written straight into the disk's backing page
 * blob, as the fabric's guest writes do (inside `guestWrite`, so no restore point is taken halfway through).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PageBlobClient } from '@azure/storage-blob';
import { SystemClock } from '../../emulator/clock';
import { startComputeEndpoint, type RunningComputeEndpoint } from '../../emulator/fabric/compute';
import { ComputeFabric } from '../../emulator/fabric/compute/compute-fabric';
import { FabricService } from '../../emulator/fabric/service';
import { ensureTlsMaterial } from '../../emulator/local-ca';
import type { RunningAzurite } from '../../emulator/azurite';
import { isManagedDisk, type VirtualMachine } from '../../lib/domain/virtual-machine';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { TableVmInventory } from '../../lib/stores/azure/table-vm-inventory';
import type { DiskLayout } from './disk-image';
import { applyRewrite, writeInitialData } from './image-writer';

export const BENCH_SUBSCRIPTION = '0b3e1c5a-7d2f-4c6b-9a81-5e4f3d2c1b0a';
const OS_DISK_BYTES = 64 * 1024 * 1024;

export interface BenchComputeFabric {
  /** What a worker needs to reach Compute: the endpoint and the local CA it trusts. */
  endpoint: string;
  caCertificatePem: string;
  fabric: ComputeFabric;
  /** The fabric's VM tools (create a VM with managed disks). */
  service: FabricService;
  stop(): Promise<void>;
}

export interface BenchManagedVm {
  vm: VirtualMachine;
  /** The managed data disk holding the image (engine slot 0). */
  dataDiskId: string;
  /** The data disk's backing page blob (guest writes). */
  backing: PageBlobClient;
}

export async function startBenchComputeFabric(azurite: RunningAzurite, tag: string): Promise<BenchComputeFabric> {
  const tlsDir = await mkdtemp(path.join(tmpdir(), 'kluis-bench-tls-'));
  const tls = await ensureTlsMaterial(tlsDir);
  const clock = new SystemClock();
  const inventory = TableVmInventory.fromConnectionString(azurite.connectionString, `benchvms${tag}`);
  const fabric = ComputeFabric.fromConnectionString(azurite.connectionString, { inventory, clock, table: `benchcompute${tag}` });
  let endpoint: RunningComputeEndpoint | undefined;
  try {
    await fabric.start();
    endpoint = await startComputeEndpoint({ fabric, tls: { key: tls.serverKeyPem, cert: tls.serverCertPem } });
  } catch (err) {
    fabric.stop();
    await rm(tlsDir, { recursive: true, force: true });
    throw err;
  }
  const running = endpoint;
  const service = new FabricService({ inventory, disks: BlobPageStore.fromConnectionString(azurite.connectionString), compute: fabric });
  return {
    endpoint: running.url,
    caCertificatePem: tls.caCertPem,
    fabric,
    service,
    stop: async () => {
      fabric.stop();
      await running.stop();
      await rm(tlsDir, { recursive: true, force: true });
    },
  };
}

/** A fabric VM with one managed data disk of the image's data size holding version 0 of the image. */
export async function createManagedVmWithImage(compute: BenchComputeFabric, layout: DiskLayout, name: string): Promise<BenchManagedVm> {
  const vm = await compute.service.createVm(
    { subscriptionId: BENCH_SUBSCRIPTION, resourceGroup: 'rg-bench', name },
    {
      osType: 'Linux',
      managedDisks: true,
      osDisk: { sizeBytes: OS_DISK_BYTES },
      dataDisks: [{ lun: 0, sizeBytes: layout.dataSize, storageType: 'Standard' }],
      initialData: { percent: 0 },
    },
  );
  const dataDisk = vm.disks.find((disk) => disk.kind === 'data');
  if (dataDisk === undefined || !isManagedDisk(dataDisk)) throw new Error('the bench VM has no managed data disk');
  const backing = compute.fabric.pageBlobOf(await compute.fabric.diskBlobOf(dataDisk));
  await compute.fabric.guestWrite(vm.id, () => writeInitialData(layout, backing));
  return { vm, dataDiskId: dataDisk.managedDisk.id, backing };
}

/** The 5% rewrite, as guest writes to the running VM's data disk. */
export async function rewriteManagedDisk(compute: BenchComputeFabric, disk: BenchManagedVm, layout: DiskLayout): Promise<void> {
  await compute.fabric.guestWrite(disk.vm.id, () => applyRewrite(layout, { pageBlob: disk.backing }));
}

/** The backing page blob of a managed disk by id (to spot-check a restored disk). */
export async function backingBlobOfDisk(compute: BenchComputeFabric, diskId: string): Promise<PageBlobClient> {
  const record = await compute.fabric.disks.getById(diskId);
  if (record === undefined) throw new Error(`the restored managed disk ${diskId} does not exist`);
  return compute.fabric.pageBlobOf(record.backing);
}
