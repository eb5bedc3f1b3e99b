/**
 * The backup engine end to end on Azurite: a full backup, then an incremental through the server
 * diff (extended Azurite) or through block checksums (plain Azurite). Each point's replica snapshot
 * must equal the source snapshot byte for byte, and an incremental must write exactly the changed blocks.
 */
import path from 'node:path';
import type { PageBlobClient } from '@azure/storage-blob';
import { checksumsBlobName } from '../../lib/engine/domain/vault-layout';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { clearCapabilityCache, probeStoreCapabilities } from '../../lib/engine/sources/page-blob/capability-probe';
import { azuriteEngineDeps, backupVm, blockSumsOf, readWholeBlob, sha256, type VmDisk } from '../support/backup-engine';
import { blobService, uniqueName, useAzurite } from '../support/azurite';

const KIB = 1024;
const MIB = 1024 * KIB;
const B = 64 * KIB;
const DISK_SIZE = 6 * MIB + 512;
const SEGMENT_SIZE = 2 * MIB;
const EXTENSION = path.resolve(__dirname, '../../emulator/azurite-page-diff.js');

let seed = 1;
function randomBytes(length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    out[i] = seed >>> 24;
  }
  return out;
}

async function write(disk: PageBlobClient, offset: number, data: Buffer): Promise<void> {
  await disk.uploadPages(data, offset, data.length);
}

async function createSourceDisk(conn: string): Promise<{ disk: PageBlobClient; vmDisk: VmDisk }> {
  const container = blobService(conn).getContainerClient(uniqueName('vhds'));
  await container.create();
  const disk = container.getPageBlobClient('data-disk.vhd');
  await disk.create(DISK_SIZE);
  await write(disk, 0, randomBytes(4 * B));
  await write(disk, 10 * B, Buffer.alloc(B)); // allocated, all zeros
  await write(disk, 20 * B, randomBytes(8 * B));
  await write(disk, 40 * B, randomBytes(4 * KIB)); // part of a block
  await write(disk, DISK_SIZE - 512, randomBytes(512)); // the footer
  return { disk, vmDisk: { lun: 0, container: container.containerName, blob: 'data-disk.vhd', storageType: 'Standard' } };
}

/** Five blocks end up with new nonzero content: 1, 21, 45, 90 rewritten and 22 half cleared. */
async function mutate(disk: PageBlobClient): Promise<{ changedNonZeroBlocks: number }> {
  for (const block of [1, 21, 45, 90]) await write(disk, block * B, randomBytes(B));
  const same = await disk.download(2 * B, B).then(async (r) => readAll(r.readableStreamBody as NodeJS.ReadableStream));
  await write(disk, 2 * B, same); // rewritten with identical bytes: not a change
  await disk.clearPages(3 * B, B);
  await disk.clearPages(22 * B, B / 2);
  await write(disk, 20 * B, Buffer.alloc(B)); // now all zeros
  return { changedNonZeroBlocks: 5 };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe.each([
  { name: 'extended Azurite (true diff)', extensions: [EXTENSION], incremental: 'diff' as const },
  { name: 'plain Azurite (no true diff)', extensions: [], incremental: 'checksum' as const },
])('backup engine on $name', ({ extensions, incremental }) => {
  const azurite = useAzurite({ extensions });
  afterAll(() => clearCapabilityCache());

  it(`backs up full, then incrementally via ${incremental}; every point equals its source snapshot`, async () => {
    const conn = azurite().connectionString;
    const deps = azuriteEngineDeps(conn);
    const service = blobService(conn);
    const capabilities = await probeStoreCapabilities(new BlobPageStore(service), { scratchContainer: uniqueName('probe') });
    expect(capabilities.trueDiff).toBe(incremental === 'diff');
    const { disk, vmDisk } = await createSourceDisk(conn);
    const itemId = uniqueName('vm');
    const common = { itemId, disks: [vmDisk], capabilities, segmentSize: SEGMENT_SIZE };

    const first = await backupVm(deps, { ...common, jobId: 'job-1', recoveryPointId: '1000' });
    expect(first.plans[0].changeDetection).toBe('full');
    expect(first.plans[0].segments).toHaveLength(4);
    await expectPointEqualsSource(first.manifest.disks[0], itemId, '1000');
    // Blocks 0–3, 20–27, 40 and the footer block are nonzero; block 10 is allocated zeros.
    expect(first.manifest.disks[0].bytesWritten).toBe(4 * B + 8 * B + B + 512);
    // Adjacent changed blocks are coalesced: blocks 0–3 and 20–27 of segment 0 take one call each.
    expect(first.segments[0].map((s) => s.uploadCalls)).toEqual([2, 1, 0, 1]);

    const { changedNonZeroBlocks } = await mutate(disk);
    const second = await backupVm(deps, { ...common, jobId: 'job-2', recoveryPointId: '2000' });
    expect(second.plans[0].changeDetection).toBe(incremental);
    expect(second.manifest.disks[0].changeDetection).toBe(incremental);
    await expectPointEqualsSource(second.manifest.disks[0], itemId, '2000');
    expect(second.manifest.disks[0].bytesWritten).toBe(changedNonZeroBlocks * B);
    // Blocks 3 (cleared) and 20 (zeroed) are cleared in the replica, not uploaded.
    expect(second.manifest.disks[0].bytesCleared).toBe(2 * B);
    if (incremental === 'diff') {
      // Only changed, cleared-in-part or rewritten blocks are read: 1, 2, 20, 21, 22, 45, 90.
      expect(second.manifest.disks[0].bytesRead).toBe(7 * B);
    } else {
      expect(second.manifest.disks[0].bytesRead).toBeGreaterThan(14 * B);
    }
    // The first point is still intact (its replica snapshot is immutable).
    await expectPointEqualsSource(first.manifest.disks[0], itemId, '1000');

    // Nothing changed: the next incremental writes nothing.
    const third = await backupVm(deps, { ...common, jobId: 'job-3', recoveryPointId: '3000' });
    expect(third.manifest.disks[0]).toMatchObject({ changeDetection: incremental, bytesWritten: 0, bytesCleared: 0 });
    await expectPointEqualsSource(third.manifest.disks[0], itemId, '3000');

    async function expectPointEqualsSource(
      manifestDisk: (typeof first.manifest.disks)[number],
      item: string,
      recoveryPointId: string,
    ): Promise<void> {
      const source = await readWholeBlob(service, { ...vmDisk, snapshot: manifestDisk.source.snapshot });
      const replica = await readWholeBlob(service, {
        container: deps.vaultContainer,
        blob: manifestDisk.replica.blobName,
        snapshot: manifestDisk.replica.snapshot,
      });
      expect(replica.length).toBe(DISK_SIZE);
      expect(sha256(replica)).toBe(sha256(source));
      const sums = await readWholeBlob(service, { container: deps.vaultContainer, blob: checksumsBlobName(item, recoveryPointId, 0) });
      expect(sums.equals(blockSumsOf(source))).toBe(true);
    }
  }, 30_000);
});
