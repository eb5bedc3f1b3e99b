/**
 * Property test of the whole engine on Azurite: random writes, zero-writes and trims (cleared pages) over
 * several disks, a backup after every step, on both change-detection paths (server diff on Azurite with the
 * page-range diff extension, block checksums on plain Azurite), and over a source of another kind (the memory
 * backend: exact diffs, nothing to stage or copy; managed disks through the fabric's Compute endpoint). Then every recovery point, restored from each tier, is
 * byte-identical to the view it was taken from, and every backup wrote exactly the 64 KiB blocks whose content
 * changed (and is not all zeros). With copy isolation (the diff Azurite) the first, full page-blob backup is
 * seeded by a server-side copy and writes no pages; elsewhere it is streamed. A new backend joins with a
 * `SourceUnderTest`.
 */
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { BLOCK_SIZE } from '../../lib/engine/domain/block-sums';
import { restoreDisks, type RestoreDeps } from '../../lib/engine/restore/restore-disks';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { BlobRestoreTargetStore } from '../../lib/stores/azure/blob-restore-target-store';
import { probeStoreCapabilities } from '../../lib/engine/sources/page-blob/capability-probe';
import type { VmDiskRequest } from '../../lib/engine/domain/backup-job';
import type { DiskView } from '../../lib/engine/domain/disk-view';
import type { ByteRange } from '../../lib/engine/domain/page-ranges';
import type { BackupEngineDeps } from '../../lib/engine/engine-deps';
import { MemoryDiskBackend } from '../../lib/engine/sources/memory/memory-backend';
import { sourceDiskRegistry } from '../../lib/engine/sources/registry';
import type { SourceCapabilities } from '../../lib/engine/sources/source-disk';
import { azuriteExtensions } from '../../emulator/cli';
import { errors } from '../../lib/domain/errors';
import { ManagedDiskBackend } from '../../lib/engine/sources/managed-disk/managed-disk-backend';
import { BlobSasPageReader } from '../../lib/stores/azure/arm-managed-disk-compute';
import { fabricManagedDiskCompute, SUBSCRIPTION, useComputeFabric } from '../support/compute-fabric';
import { blobService, uniqueName, useAzurite } from '../support/azurite';
import { azuriteEngineDeps, backupVm, blobOf, silentLogger, type VmDisk } from '../support/backup-engine';

const PAGE = 512;
const DISK_SIZES = [1024 * 1024 + PAGE, 640 * 1024 + PAGE];
const SEGMENT_SIZE = 256 * 1024;

type Op = { disk: number; kind: 'write' | 'zero' | 'trim'; page: number; pages: number };

const opArbitrary = fc.record({
  disk: fc.integer({ min: 0, max: DISK_SIZES.length - 1 }),
  kind: fc.constantFrom<Op['kind']>('write', 'write', 'zero', 'trim'),
  page: fc.integer({ min: 0, max: 2047 }),
  pages: fc.integer({ min: 1, max: 300 }),
});
const stepsArbitrary = fc.array(fc.array(opArbitrary, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 3 });

const MANAGED_DATA_SIZES = [1024 * 1024, 2 * 1024 * 1024];

const diffAzurite = useAzurite({ extensions: [...azuriteExtensions] });
const computeFabric = useComputeFabric();
const plainAzurite = useAzurite();

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Bytes an incremental must write: the blocks that differ from the previous image and are not all zeros. */
function changedNonZeroBytes(previous: Buffer, next: Buffer): number {
  let bytes = 0;
  for (let start = 0; start < next.length; start += BLOCK_SIZE) {
    const end = Math.min(start + BLOCK_SIZE, next.length);
    const block = next.subarray(start, end);
    if (!block.equals(previous.subarray(start, end)) && block.some((b) => b !== 0)) bytes += end - start;
  }
  return bytes;
}

/** A backend's disks as the property test drives them. */
interface SourceUnderTest {
  engine: BackupEngineDeps;
  /** Each disk's size as its views have it. */
  sizes: number[];
  capabilities: SourceCapabilities;
  disks: VmDiskRequest[];
  write(disk: number, offset: number, data: Buffer): Promise<void>;
  clear(disk: number, offset: number, length: number): Promise<void>;
  /** Every byte of a view, read as the VM saw it when the view was opened. */
  image(view: DiskView): Promise<Buffer>;
  /** How incrementals find changes, and whether the first full backup is seeded by a server-side copy. */
  detection: 'diff' | 'checksum';
  seededFull: boolean;
  /** Incrementals' segments as the manifest must record them, when not all `detection` (a diff the source refused). */
  recordedSegments?: (segmentCount: number) => Array<'diff' | 'checksum'>;
}

async function pageBlobSource(connectionString: string, detection: 'diff' | 'checksum'): Promise<SourceUnderTest> {
  const engine = azuriteEngineDeps(connectionString);
  const service = blobService(connectionString);
  const capabilities = await probeStoreCapabilities(new BlobPageStore(service), { scratchContainer: 'kluis-probe' });
  const container = service.getContainerClient(uniqueName('vhds'));
  await container.create();
  const disks: VmDisk[] = DISK_SIZES.map((_, lun) => ({ lun, container: container.containerName, blob: `disk${lun}.vhd`, storageType: lun === 1 ? 'Premium' : 'Standard' }));
  const clients = disks.map((d) => container.getPageBlobClient(d.blob));
  for (const [lun, client] of clients.entries()) await client.create(DISK_SIZES[lun]);
  return {
    engine,
    sizes: DISK_SIZES,
    capabilities,
    disks,
    write: async (disk, offset, data) => void (await clients[disk].uploadPages(data, offset, data.length)),
    clear: async (disk, offset, length) => void (await clients[disk].clearPages(offset, length)),
    image: async (view) => {
      const { container: c, blob, snapshot } = blobOf(view);
      return service.getContainerClient(c).getPageBlobClient(blob).withSnapshot(snapshot ?? '').downloadToBuffer();
    },
    detection,
    seededFull: detection === 'diff',
  };
}

function memorySource(connectionString: string): SourceUnderTest {
  const memory = new MemoryDiskBackend();
  const ids = DISK_SIZES.map(() => uniqueName('disk'));
  ids.forEach((id, lun) => memory.createDisk(id, DISK_SIZES[lun]));
  const engine: BackupEngineDeps = { ...azuriteEngineDeps(connectionString), sources: sourceDiskRegistry(memory) };
  return {
    engine,
    sizes: DISK_SIZES,
    capabilities: { trueDiff: true, serverSideCopySafe: false },
    disks: ids.map((id, lun) => ({ lun, kind: 'memory', id, storageType: lun === 1 ? 'Premium' : 'Standard' })),
    write: async (disk, offset, data) => memory.write(ids[disk], offset, data),
    clear: async (disk, offset, length) => memory.clear(ids[disk], offset, length),
    image: async (view) => {
      const bytes = await memory.read(view, 0, view.sizeBytes);
      await memory.release([view]);
      return bytes;
    },
    detection: 'diff',
    seededFull: false,
  };
}

/**
 * Managed disks through the fabric's Compute endpoint: a VM with an OS disk and a data disk (1 and 2 MiB: the
 * fabric's disks are whole MiB); views are disk restore points, read by SAS, diffed by snapshot URL.
 */
let managedVms = 0;
/** Which segments' diff Storage refuses: every one, or those from the third segment on. */
type DiffRefusal = 'every segment' | 'from segment 2';

async function managedDiskSource(options: { diffUnavailable?: DiffRefusal } = {}): Promise<SourceUnderTest> {
  const fabric = computeFabric();
  const vm = await fabric.service.createVm(
    { subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-property', name: `property-vm-${++managedVms}` },
    { osType: 'Linux', managedDisks: true, osDisk: { sizeBytes: MANAGED_DATA_SIZES[0] }, dataDisks: [{ lun: 0, sizeBytes: MANAGED_DATA_SIZES[1], storageType: 'Premium' }], initialData: { percent: 0 } },
  );
  const backend = new ManagedDiskBackend({
    compute: fabricManagedDiskCompute(fabric),
    sas: new BlobSasPageReader({ retryOptions: { maxTries: 1 } }),
  });
  // Storage refusing every diff (as for a disk recreated since the previous point): segments compare checksums instead.
  const refused = (range: ByteRange | undefined) => options.diffUnavailable === 'every segment' || (range?.start ?? 0) >= 2 * SEGMENT_SIZE;
  const source =
    options.diffUnavailable === undefined
      ? backend
      : Object.assign(Object.create(backend) as ManagedDiskBackend, {
          changedRanges: async (earlier: DiskView, view: DiskView, range?: ByteRange) =>
            refused(range) ? Promise.reject(errors.sourceDiffUnavailable(view.lun, 'Storage answered BlobGenerationMismatch')) : backend.changedRanges(earlier, view, range),
        });
  const engine: BackupEngineDeps = { ...azuriteEngineDeps(fabric.connectionString), sources: sourceDiskRegistry(source) };
  const blobs = await Promise.all(vm.disks.map(async (disk) => fabric.compute.pageBlobOf(await fabric.compute.diskBlobOf(disk))));
  const guest = async (work: () => Promise<unknown>): Promise<void> => {
    await fabric.compute.guestWrite(vm.id, work);
  };
  return {
    engine,
    sizes: MANAGED_DATA_SIZES.map((size) => size + PAGE),
    capabilities: await backend.capabilities(),
    disks: vm.disks.map((disk, lun) => ({ lun, kind: 'managedDisk', id: disk.managedDisk!.id, storageType: disk.storageType })),
    write: (disk, offset, data) => guest(() => blobs[disk].uploadPages(data, offset, data.length)),
    clear: (disk, offset, length) => guest(() => blobs[disk].clearPages(offset, length)),
    image: async (view) => {
      const bytes = await backend.read(view, 0, view.sizeBytes);
      await backend.release([view]);
      return bytes;
    },
    detection: 'diff',
    seededFull: false,
    ...(options.diffUnavailable === undefined
      ? {}
      : { recordedSegments: (count: number) => Array.from({ length: count }, (_, index) => (refused({ start: index * SEGMENT_SIZE, end: (index + 1) * SEGMENT_SIZE }) ? 'checksum' : 'diff')) }),
  };
}

async function scenario(connectionString: string, source: SourceUnderTest, steps: Op[][]): Promise<void> {
  const { engine, capabilities, disks, sizes } = source;
  for (const lun of disks.map((d) => d.lun)) await source.write(lun, 0, randomBytes(64 * 1024));
  const itemId = uniqueName('vm');
  const points: Array<{ recoveryPointId: string; images: Buffer[] }> = [];
  let previous: Buffer[] = sizes.map((size) => Buffer.alloc(size));

  for (const [index, ops] of [[] as Op[], ...steps].entries()) {
    for (const op of ops) {
      const size = sizes[op.disk];
      const offset = Math.min(op.page * PAGE, size - PAGE);
      const length = Math.min(op.pages * PAGE, size - offset, 4 * 1024 * 1024);
      if (op.kind === 'trim') await source.clear(op.disk, offset, length);
      else await source.write(op.disk, offset, op.kind === 'zero' ? Buffer.alloc(length) : randomBytes(length));
    }
    const recoveryPointId = String(1000 + index);
    const result = await backupVm(engine, { itemId, jobId: `job-${index}`, recoveryPointId, disks, capabilities, segmentSize: SEGMENT_SIZE });
    const images = await Promise.all(result.views.map((view) => source.image(view)));
    for (const lun of disks.map((d) => d.lun)) {
      expect(result.plans[lun].changeDetection).toBe(index === 0 ? 'full' : source.detection);
      // The manifest and the segments record what each segment did, not what the plan hoped for.
      const segmentCount = result.plans[lun].segments.length;
      const segmentsDid = index === 0 ? Array<string>(segmentCount).fill('full') : (source.recordedSegments?.(segmentCount) ?? Array<string>(segmentCount).fill(source.detection));
      expect(result.segments[lun].map((segment) => segment.changeDetection)).toEqual(segmentsDid);
      const recorded = result.manifest.disks.find((disk) => disk.lun === lun)!;
      const mixed = new Set(segmentsDid).size > 1;
      expect({ changeDetection: recorded.changeDetection, segmentChangeDetection: recorded.segmentChangeDetection }).toEqual({
        changeDetection: mixed ? 'checksum' : segmentsDid[0],
        segmentChangeDetection: mixed ? segmentsDid : undefined,
      });
      const seeded = index === 0 && source.seededFull;
      expect(result.plans[lun].seed).toBe(seeded ? 'serverSideCopy' : undefined);
      const written = result.segments[lun].reduce((sum, s) => sum + s.bytesWritten, 0);
      expect(written).toBe(seeded ? 0 : changedNonZeroBytes(previous[lun], images[lun]));
    }
    points.push({ recoveryPointId, images });
    previous = images;
  }

  const deps: RestoreDeps = {
    vault: engine.vault,
    sources: engine.sources,
    target: BlobRestoreTargetStore.fromConnectionString(connectionString, { retryOptions: { maxTries: 1 } }),
    catalog: engine.catalog,
    clock: () => new Date(),
    log: silentLogger,
  };
  const service = blobService(connectionString);
  const targetContainer = uniqueName('restored');
  for (const point of points) {
    for (const tier of ['InstantRP', 'HardenedRP'] as const) {
      const restored = await restoreDisks(deps, { itemId, recoveryPointId: point.recoveryPointId, jobId: `r-${point.recoveryPointId}-${tier}`, targetContainer, tier });
      for (const disk of restored.disks) {
        const bytes = await service.getContainerClient(targetContainer).getPageBlobClient(disk.blobName).downloadToBuffer();
        expect(sha256(bytes)).toBe(sha256(point.images[disk.lun]));
      }
    }
  }
}

/** Runs per property (KLUIS_PROPERTY_RUNS=25 for a longer hunt; every run of the suite draws new cases). */
const RUNS = Number(process.env.KLUIS_PROPERTY_RUNS ?? 3);

describe('engine property: every point restores byte-identical; incrementals write exactly the changed blocks', () => {
  it('on the diff path (Azurite with the page-range diff extension)', async () => {
    await fc.assert(
      fc.asyncProperty(stepsArbitrary, async (steps) => scenario(diffAzurite().connectionString, await pageBlobSource(diffAzurite().connectionString, 'diff'), steps)),
      { numRuns: RUNS, endOnFailure: true },
    );
  }, 240_000);

  it('on the checksum path (plain Azurite)', async () => {
    await fc.assert(
      fc.asyncProperty(stepsArbitrary, async (steps) => scenario(plainAzurite().connectionString, await pageBlobSource(plainAzurite().connectionString, 'checksum'), steps)),
      { numRuns: RUNS, endOnFailure: true },
    );
  }, 240_000);

  it('over managed disks (restore points through the fabric\'s Compute endpoint: exact diffs by snapshot URL, nothing staged or copied)', async () => {
    await fc.assert(
      fc.asyncProperty(stepsArbitrary, async (steps) => scenario(computeFabric().connectionString, await managedDiskSource(), steps)),
      { numRuns: Math.max(1, RUNS - 1), endOnFailure: true },
    );
  }, 240_000);

  it('over managed disks whose diff Storage refuses (another lineage): the segments compare checksums and still write exactly the changed blocks', async () => {
    const steps: Op[][] = [[{ disk: 0, kind: 'write', page: 300, pages: 200 }, { disk: 1, kind: 'trim', page: 0, pages: 64 }], [{ disk: 1, kind: 'write', page: 2000, pages: 40 }]];
    await scenario(computeFabric().connectionString, await managedDiskSource({ diffUnavailable: 'every segment' }), steps);
  }, 120_000);

  it('over managed disks whose diff Storage refuses in some segments only: the manifest records checksum for the disk and each segment\'s method', async () => {
    const steps: Op[][] = [[{ disk: 0, kind: 'write', page: 100, pages: 200 }, { disk: 1, kind: 'write', page: 1500, pages: 300 }], [{ disk: 1, kind: 'trim', page: 600, pages: 64 }]];
    await scenario(computeFabric().connectionString, await managedDiskSource({ diffUnavailable: 'from segment 2' }), steps);
  }, 120_000);

  it('over a source of another kind (the memory backend: exact diffs, nothing staged or copied)', async () => {
    await fc.assert(
      fc.asyncProperty(stepsArbitrary, (steps) => scenario(plainAzurite().connectionString, memorySource(plainAzurite().connectionString), steps)),
      { numRuns: RUNS, endOnFailure: true },
    );
  }, 240_000);
});
