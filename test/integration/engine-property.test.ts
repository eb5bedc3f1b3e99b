/**
 * Property test of the whole engine on Azurite: random writes, zero-writes and trims (cleared pages) over
 * several disks, a backup after every step, on both change-detection paths (server diff on Azurite with the
 * page-range diff extension, block checksums on plain Azurite). Then every recovery point, restored from each
 * tier, is byte-identical to the source snapshot it was taken from, and every backup wrote exactly the
 * 64 KiB blocks whose content changed (and is not all zeros). With copy isolation (the diff Azurite) the
 * first, full backup is seeded by a server-side copy and writes no pages; on plain Azurite it is streamed.
 */
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { BLOCK_SIZE } from '../../lib/engine/domain/block-sums';
import { restoreDisks, type RestoreDeps } from '../../lib/engine/restore/restore-disks';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { BlobRestoreTargetStore } from '../../lib/stores/azure/blob-restore-target-store';
import { probeStoreCapabilities } from '../../lib/engine/sources/page-blob/capability-probe';
import { azuriteExtensions } from '../../emulator/cli';
import { blobService, uniqueName, useAzurite } from '../support/azurite';
import { azuriteEngineDeps, backupVm, pageBlobSources, silentLogger, type VmDisk } from '../support/backup-engine';

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

const diffAzurite = useAzurite({ extensions: [...azuriteExtensions] });
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

async function scenario(connectionString: string, expectedDetection: 'diff' | 'checksum', steps: Op[][]): Promise<void> {
  const engine = azuriteEngineDeps(connectionString);
  const service = blobService(connectionString);
  const capabilities = await probeStoreCapabilities(new BlobPageStore(service), { scratchContainer: 'kluis-probe' });
  const container = service.getContainerClient(uniqueName('vhds'));
  await container.create();
  const disks: VmDisk[] = DISK_SIZES.map((_, lun) => ({ lun, container: container.containerName, blob: `disk${lun}.vhd`, storageType: lun === 1 ? 'Premium' : 'Standard' }));
  const clients = disks.map((d) => container.getPageBlobClient(d.blob));
  for (const [lun, client] of clients.entries()) {
    await client.create(DISK_SIZES[lun]);
    await client.uploadPages(randomBytes(64 * 1024), 0, 64 * 1024);
  }
  const itemId = uniqueName('vm');
  const points: Array<{ recoveryPointId: string; images: Buffer[] }> = [];
  let previous: Buffer[] = DISK_SIZES.map((size) => Buffer.alloc(size));

  for (const [index, ops] of [[] as Op[], ...steps].entries()) {
    for (const op of ops) {
      const client = clients[op.disk];
      const size = DISK_SIZES[op.disk];
      const offset = Math.min(op.page * PAGE, size - PAGE);
      const length = Math.min(op.pages * PAGE, size - offset, 4 * 1024 * 1024);
      if (op.kind === 'trim') await client.clearPages(offset, length);
      else await client.uploadPages(op.kind === 'zero' ? Buffer.alloc(length) : randomBytes(length), offset, length);
    }
    const recoveryPointId = String(1000 + index);
    const result = await backupVm(engine, { itemId, jobId: `job-${index}`, recoveryPointId, disks, capabilities, segmentSize: SEGMENT_SIZE });
    const images = await Promise.all(result.snapshots.map((s, lun) => clients[lun].withSnapshot(s.snapshot).downloadToBuffer()));
    for (const lun of disks.map((d) => d.lun)) {
      expect(result.plans[lun].changeDetection).toBe(index === 0 ? 'full' : expectedDetection);
      const seeded = index === 0 && expectedDetection === 'diff';
      expect(result.plans[lun].seed).toBe(seeded ? 'serverSideCopy' : undefined);
      const written = result.segments[lun].reduce((sum, s) => sum + s.bytesWritten, 0);
      expect(written).toBe(seeded ? 0 : changedNonZeroBytes(previous[lun], images[lun]));
    }
    points.push({ recoveryPointId, images });
    previous = images;
  }

  const deps: RestoreDeps = {
    vault: engine.vault,
    sources: pageBlobSources(engine.source),
    target: BlobRestoreTargetStore.fromConnectionString(connectionString, { retryOptions: { maxTries: 1 } }),
    catalog: engine.catalog,
    clock: () => new Date(),
    log: silentLogger,
  };
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

describe('engine property: every point restores byte-identical; incrementals write exactly the changed blocks', () => {
  it('on the diff path (Azurite with the page-range diff extension)', async () => {
    await fc.assert(
      fc.asyncProperty(stepsArbitrary, (steps) => scenario(diffAzurite().connectionString, 'diff', steps)),
      { numRuns: 6, endOnFailure: true },
    );
  }, 240_000);

  it('on the checksum path (plain Azurite)', async () => {
    await fc.assert(
      fc.asyncProperty(stepsArbitrary, (steps) => scenario(plainAzurite().connectionString, 'checksum', steps)),
      { numRuns: 6, endOnFailure: true },
    );
  }, 240_000);
});
