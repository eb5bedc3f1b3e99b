/**
 * The backup slice's use cases, in order, on a real Azurite through the real Azure SDK.
 */
import { createHash } from 'node:crypto';
import {
  BlobServiceClient,
  newPipeline,
  StorageSharedKeyCredential,
  type RequestPolicyFactory,
} from '@azure/storage-blob';
import { createSampleVhd, type SampleVhd } from '../../emulator/sample-disk';
import { DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME } from '../../emulator/connection-string';
import type { BackupRequest, SliceManifest } from '../../lib/domain/backup-slice';
import { isKluisErrorLike } from '../../lib/domain/errors';
import { buildVhdFooter } from '../../lib/domain/vhd';
import {
  cleanupSnapshot,
  commitManifest,
  discoverDisk,
  snapshotDisk,
  transferFull,
  type BackupSliceDeps,
  type Logger,
} from '../../lib/services/backup-slice';
import { BlobDiskStore } from '../../lib/stores/azure/blob-disk-store';
import { blobService, uniqueName, useAzurite } from '../support/azurite';

const MIB = 1024 * 1024;
const DATA_SIZE = 32 * MIB;
const JOB_ID = 'job-integration-1';

const azurite = useAzurite();

interface WireRecord {
  method: string;
  url: string;
  contentMd5?: string;
  contentLength?: number;
  range?: string;
}

/** A BlobServiceClient whose requests are recorded as they go on the wire (retries off). */
function recordingBlobService(endpoint: string, wire: WireRecord[]): BlobServiceClient {
  const recorder: RequestPolicyFactory = {
    create: (next) => ({
      sendRequest: (request) => {
        const length = request.headers.get('Content-Length');
        wire.push({
          method: request.method,
          url: request.url,
          contentMd5: request.headers.get('Content-MD5') ?? undefined,
          contentLength: length === undefined ? undefined : Number(length),
          range: request.headers.get('x-ms-range') ?? request.headers.get('Range') ?? undefined,
        });
        return next.sendRequest(request);
      },
    }),
  };
  const pipeline = newPipeline(new StorageSharedKeyCredential(DEV_ACCOUNT_NAME, DEV_ACCOUNT_KEY), {
    retryOptions: { maxTries: 1 },
  });
  pipeline.factories.push(recorder);
  return new BlobServiceClient(endpoint, pipeline);
}

function captureLogger(lines: string[]): Logger {
  const push = (message: string, ...details: unknown[]): void => {
    lines.push([message, ...details.map((d) => JSON.stringify(d))].join(' '));
  };
  return { info: push, warn: push, error: push };
}

function md5Base64(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

async function rejectionOf(promise: Promise<unknown>): Promise<{ code?: string; status?: number; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (isKluisErrorLike(err)) return { code: err.code, status: err.status, message: err.message };
    return { message: `not a KluisError: ${String(err)}` };
  }
  throw new Error('expected a rejection');
}

describe('backup slice on Azurite', () => {
  let service: BlobServiceClient;
  let store: BlobDiskStore;
  let logLines: string[];
  let deps: BackupSliceDeps;
  let sourceContainer: string;
  let now: number;

  beforeEach(() => {
    service = blobService(azurite().connectionString);
    store = new BlobDiskStore(service);
    logLines = [];
    sourceContainer = uniqueName('src');
    now = Date.parse('2026-04-01T10:00:00.000Z');
    deps = {
      disks: store,
      vault: store,
      vaultContainer: uniqueName('vault'),
      clock: () => new Date((now += 1000)),
      log: captureLogger(logLines),
    };
  });

  async function sampleDisk(blob = 'vm1/os.vhd', seed = 'integration'): Promise<SampleVhd> {
    return createSampleVhd(service, { container: sourceContainer, blob, dataSize: DATA_SIZE, seed });
  }

  it('backs up a sample VHD: the replica equals the source at snapshot time, the manifest is written, the snapshot deleted', async () => {
    const sample = await sampleDisk();
    const wire: WireRecord[] = [];
    const vault = new BlobDiskStore(recordingBlobService(azurite().blobEndpoint, wire));
    deps = { ...deps, vault };
    const request: BackupRequest = { sourceContainer, sourceBlob: 'vm1/os.vhd', itemId: 'vm1-os' };
    const sourceClient = service.getContainerClient(sourceContainer).getPageBlobClient('vm1/os.vhd');
    const original = await sourceClient.downloadToBuffer();

    const disk = await discoverDisk(deps, request);
    expect(disk).toMatchObject({ blobSize: DATA_SIZE + 512, dataSize: DATA_SIZE, lun: 0 });

    const snapshot = await snapshotDisk(deps, { disk, itemId: request.itemId, jobId: JOB_ID });
    // Writes after the snapshot must not reach the replica: the copy is point-in-time.
    await sourceClient.uploadPages(Buffer.alloc(4096, 0xee), 0, 4096);

    const transfer = await transferFull(deps, { disk, snapshot, itemId: request.itemId, jobId: JOB_ID });
    const commit = await commitManifest(deps, {
      request,
      jobId: JOB_ID,
      recoveryPointId: '1775037600000',
      disk,
      snapshot,
      transfer,
    });
    await cleanupSnapshot(deps, snapshot);

    // Replica: byte for byte the source as it was at snapshot time, over the whole disk.
    const replicaClient = service.getContainerClient(deps.vaultContainer).getPageBlobClient(transfer.replicaBlob);
    const replica = await replicaClient.downloadToBuffer();
    expect(replica.length).toBe(sample.size);
    expect(replica.equals(original)).toBe(true);
    expect(createHash('sha256').update(replica.subarray(0, DATA_SIZE)).digest('hex')).toBe(sample.sha256OfData);
    expect(transfer.md5Base64).toBe(md5Base64(original));
    const allocated = sample.regions.reduce((sum, r) => sum + r.count, 0) + 512;
    expect(transfer.bytesCopied).toBe(allocated);
    const zeroBytes = sample.regions.filter((r) => r.zero).reduce((sum, r) => sum + r.count, 0);
    expect(transfer.bytesUploaded).toBe(allocated - zeroBytes);

    // Every page write carried a transactional MD5 of its body, at most 4 MiB each.
    const pageWrites = wire.filter((w) => w.method === 'PUT' && /[?&]comp=page(&|$)/.test(w.url));
    expect(transfer.chunksUploaded).toBeGreaterThan(1);
    expect(pageWrites.length).toBe(transfer.chunksUploaded);
    for (const write of pageWrites) {
      expect(write.contentMd5).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      expect(write.contentLength).toBeLessThanOrEqual(4 * MIB);
    }
    expect(pageWriteMd5Mismatches(replica, pageWrites)).toEqual([]);

    // The all-zero region was not uploaded: the replica has no pages there.
    const zeroRegion = sample.regions.find((r) => r.zero);
    expect(zeroRegion).toBeDefined();
    for await (const range of replicaClient.listPageRanges()) {
      const overlaps = range.start < zeroRegion!.offset + zeroRegion!.count && range.end >= zeroRegion!.offset;
      expect(overlaps).toBe(false);
    }

    // Manifest: written, pointing at the frozen replica snapshot.
    const manifest = JSON.parse(
      (await store.readBlob({ container: deps.vaultContainer, blob: commit.manifestBlob })).toString('utf8'),
    ) as SliceManifest;
    expect(commit.manifestBlob).toBe('items/vm1-os/recoveryPoints/1775037600000/manifest.json');
    expect(manifest).toMatchObject({
      schemaVersion: 1,
      itemId: 'vm1-os',
      recoveryPointId: '1775037600000',
      jobId: JOB_ID,
      source: {
        container: sourceContainer,
        blob: 'vm1/os.vhd',
        snapshot: snapshot.snapshot,
        blobSize: sample.size,
        dataSize: DATA_SIZE,
      },
      replica: { container: deps.vaultContainer, blob: 'items/vm1-os/disks/0/replica.vhd', snapshot: commit.replicaSnapshot },
      bytesCopied: allocated,
      md5Base64: md5Base64(original),
    });
    expect(Date.parse(manifest.createdAt)).toBeGreaterThan(Date.parse(snapshot.takenAt));
    const frozen = await replicaClient.withSnapshot(commit.replicaSnapshot).downloadToBuffer();
    expect(frozen.equals(original)).toBe(true);

    // Source snapshot: gone; the base blob stays.
    expect(await store.getBlobProperties({ container: sourceContainer, blob: 'vm1/os.vhd', snapshot: snapshot.snapshot })).toBeUndefined();
    const sourceVersions: string[] = [];
    for await (const item of service.getContainerClient(sourceContainer).listBlobsFlat({ includeSnapshots: true })) {
      sourceVersions.push(item.snapshot ?? 'base');
    }
    expect(sourceVersions).toEqual(['base']);

    // Logs say what happened without connection details.
    expect(logLines.join('\n')).not.toMatch(/AccountKey|sig=|Eby8vdM02x/);
  });

  it('repeats a transfer idempotently and keeps earlier recovery points when the replica is reset', async () => {
    const sample = await sampleDisk('vm2/data.vhd', 'first');
    const request: BackupRequest = { sourceContainer, sourceBlob: 'vm2/data.vhd', itemId: 'vm2-data' };
    const disk = await discoverDisk(deps, request);
    const first = await snapshotDisk(deps, { disk, itemId: request.itemId, jobId: JOB_ID });
    const transferA = await transferFull(deps, { disk, snapshot: first, itemId: request.itemId, jobId: JOB_ID });
    const transferB = await transferFull(deps, { disk, snapshot: first, itemId: request.itemId, jobId: JOB_ID }, { chunkSize: MIB });
    expect(transferB.md5Base64).toBe(transferA.md5Base64);
    expect(transferB.chunksUploaded).toBeGreaterThan(transferA.chunksUploaded);
    const commit = await commitManifest(deps, { request, jobId: JOB_ID, recoveryPointId: '1', disk, snapshot: first, transfer: transferB });
    await cleanupSnapshot(deps, first);
    await cleanupSnapshot(deps, first); // already gone: still fine

    // The disk changes; the next backup resets the replica, the first point stays intact.
    await createSampleVhd(service, { container: sourceContainer, blob: 'vm2/data.vhd', dataSize: DATA_SIZE, seed: 'second' });
    const second = await snapshotDisk(deps, { disk, itemId: request.itemId, jobId: 'job-integration-2' });
    const transferC = await transferFull(deps, { disk, snapshot: second, itemId: request.itemId, jobId: 'job-integration-2' });
    expect(transferC.md5Base64).not.toBe(transferA.md5Base64);
    await cleanupSnapshot(deps, second);

    const replicaClient = service.getContainerClient(deps.vaultContainer).getPageBlobClient(transferA.replicaBlob);
    const firstPoint = await replicaClient.withSnapshot(commit.replicaSnapshot).downloadToBuffer();
    expect(createHash('sha256').update(firstPoint.subarray(0, DATA_SIZE)).digest('hex')).toBe(sample.sha256OfData);
    expect(md5Base64(await replicaClient.downloadToBuffer())).toBe(transferC.md5Base64);
  });

  describe('failure paths', () => {
    it('a missing source blob gives KluisSourceDiskNotFound (404) and writes nothing to the vault', async () => {
      await service.getContainerClient(sourceContainer).create();
      const err = await rejectionOf(
        discoverDisk(deps, { sourceContainer, sourceBlob: 'nope.vhd', itemId: 'vm-missing' }),
      );
      expect(err).toMatchObject({ code: 'KluisSourceDiskNotFound', status: 404 });
      expect(err.message).toContain(`${sourceContainer}/nope.vhd`);
      expect(await service.getContainerClient(deps.vaultContainer).exists()).toBe(false);
    });

    it('a missing source container gives the same code', async () => {
      const err = await rejectionOf(discoverDisk(deps, { sourceContainer, sourceBlob: 'os.vhd', itemId: 'vm-missing' }));
      expect(err.code).toBe('KluisSourceDiskNotFound');
    });

    it('a block blob is refused with KluisSourceDiskNotPageBlob', async () => {
      const container = service.getContainerClient(sourceContainer);
      await container.create();
      await container.getBlockBlobClient('os.vhd').upload('not a disk', 10);
      const err = await rejectionOf(discoverDisk(deps, { sourceContainer, sourceBlob: 'os.vhd', itemId: 'vm-block' }));
      expect(err).toMatchObject({ code: 'KluisSourceDiskNotPageBlob', status: 400 });
    });

    it('a page blob without a VHD footer is refused with KluisInvalidVhdFooter', async () => {
      const container = service.getContainerClient(sourceContainer);
      await container.create();
      await container.getPageBlobClient('raw.img').create(MIB);
      const err = await rejectionOf(discoverDisk(deps, { sourceContainer, sourceBlob: 'raw.img', itemId: 'vm-raw' }));
      expect(err.code).toBe('KluisInvalidVhdFooter');
      expect(err.message).toMatch(/cookie/);
    });

    it('a footer that disagrees with the blob size is refused', async () => {
      const container = service.getContainerClient(sourceContainer);
      await container.create();
      const blob = container.getPageBlobClient('resized.vhd');
      await blob.create(2 * MIB + 512);
      const footer = buildVhdFooter(MIB);
      await blob.uploadPages(footer, 2 * MIB, 512);
      const err = await rejectionOf(discoverDisk(deps, { sourceContainer, sourceBlob: 'resized.vhd', itemId: 'vm-resized' }));
      expect(err.code).toBe('KluisInvalidVhdFooter');
      expect(err.message).toMatch(/current size/);
    });

    it('a transfer from a snapshot that no longer exists fails with KluisBlobNotFound', async () => {
      await sampleDisk('vm3/os.vhd');
      const request: BackupRequest = { sourceContainer, sourceBlob: 'vm3/os.vhd', itemId: 'vm3-os' };
      const disk = await discoverDisk(deps, request);
      const snapshot = await snapshotDisk(deps, { disk, itemId: request.itemId, jobId: JOB_ID });
      await cleanupSnapshot(deps, snapshot);
      const err = await rejectionOf(transferFull(deps, { disk, snapshot, itemId: request.itemId, jobId: JOB_ID }));
      expect(err).toMatchObject({ code: 'KluisBlobNotFound', status: 404 });
    });
  });
});

/** Checks each recorded page write's Content-MD5 against the replica bytes in its x-ms-range. */
function pageWriteMd5Mismatches(replica: Buffer, writes: WireRecord[]): string[] {
  const mismatches: string[] = [];
  for (const write of writes) {
    const match = /^bytes=(\d+)-(\d+)$/.exec(write.range ?? '');
    if (!match) {
      mismatches.push(`no range on a page write: ${write.range}`);
      continue;
    }
    const [start, end] = [Number(match[1]), Number(match[2])];
    if (md5Base64(replica.subarray(start, end + 1)) !== write.contentMd5) mismatches.push(write.range as string);
  }
  return mismatches;
}
