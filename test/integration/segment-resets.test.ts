/**
 * Connection resets at every segment of a disk (issue 13): the engine's page-blob backup with its source and vault
 * behind the fault proxy and the product's retry layer. For each segment in turn, the connection is reset in the
 * middle of that segment's 4 MiB Put Page to the vault replica and in the middle of its 4 MiB read of the source
 * snapshot: the backup completes and its point restores byte-identical. When the upload of a segment never gets
 * through, the backup fails with a retryable storage error, no point is committed, and the next backup succeeds.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describeFailure, isServiceUnavailableError } from '../../lib/domain/errors';
import { restoreDisks, type RestoreDeps } from '../../lib/engine/restore/restore-disks';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { BlobRestoreTargetStore } from '../../lib/stores/azure/blob-restore-target-store';
import { blobClientOptions, type StorageRetrySettings } from '../../lib/stores/azure/storage-retry';
import { TableRecoveryPointCatalog } from '../../lib/stores/azure/table-recovery-point-catalog';
import type { BackupEngineDeps } from '../../lib/engine/engine-deps';
import { blobService, uniqueName, uniqueTableName, useAzurite } from '../support/azurite';
import { backupVm, pageBlobSources, silentLogger, type VmDisk } from '../support/backup-engine';
import { startFaultyStorage, type FaultyStorage } from '../support/fault-proxy/storage';
import { noFaults, requests, scriptedFaults, type ProxiedRequest, type ScriptedFault } from '../support/fault-proxy/faults';

const MIB = 1024 * 1024;
const SEGMENT = 4 * MIB;
const SEGMENTS = 4;
const DISK_SIZE = SEGMENTS * SEGMENT;
const SETTINGS: StorageRetrySettings = {
  maxTries: 3,
  retryDelayInMs: 20,
  maxRetryDelayInMs: 100,
  blobTryTimeoutInMs: 20_000,
  tableTryTimeoutInMs: 5_000,
  maxRetryAfterInMs: 1_000,
};

const azurite = useAzurite();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** The first byte a request's `x-ms-range` (or `Range`) names. */
function rangeStart(request: ProxiedRequest): number | undefined {
  const header = String(request.headers['x-ms-range'] ?? request.headers.range ?? '');
  const match = /^bytes=(\d+)-/.exec(header);
  return match ? Number(match[1]) : undefined;
}

const inContainer = (container: string) => (r: ProxiedRequest) => r.path.startsWith(`/devstoreaccount1/${container}/`);
const atSegment = (segment: number) => (r: ProxiedRequest) => rangeStart(r) === segment * SEGMENT;

describe('connection resets at every segment of a disk', () => {
  let storage: FaultyStorage;
  let engine: BackupEngineDeps;
  let disk: VmDisk;
  let restore: RestoreDeps;
  const itemId = uniqueName('vm');
  const capabilities = { trueDiff: false, serverSideCopySafe: false };

  beforeAll(async () => {
    storage = await startFaultyStorage(azurite().connectionString);
    const proxied = BlobPageStore.fromConnectionString(storage.connectionString, blobClientOptions(SETTINGS));
    const catalog = TableRecoveryPointCatalog.fromConnectionString(azurite().connectionString, uniqueTableName('points'));
    engine = { sources: pageBlobSources(proxied), vault: proxied, vaultContainer: uniqueName('vault'), catalog, clock: () => new Date(), log: silentLogger };
    const vhds = blobService(azurite().connectionString).getContainerClient(uniqueName('vhds'));
    await vhds.create();
    disk = { lun: 0, container: vhds.containerName, blob: 'os.vhd', storageType: 'Standard' };
    await vhds.getPageBlobClient(disk.blob).create(DISK_SIZE);
    restore = {
      vault: BlobPageStore.fromConnectionString(azurite().connectionString),
      sources: pageBlobSources(BlobPageStore.fromConnectionString(azurite().connectionString)),
      target: BlobRestoreTargetStore.fromConnectionString(azurite().connectionString),
      catalog,
      clock: () => new Date(),
      log: silentLogger,
    };
  });
  afterEach(() => storage.setSchedule(noFaults));
  afterAll(async () => {
    await storage?.close();
  });

  /** Writes new random bytes over the whole disk (every block changes), directly, not through the proxy. */
  async function rewriteDisk(): Promise<Buffer> {
    const image = randomBytes(DISK_SIZE);
    const blob = blobService(azurite().connectionString).getContainerClient(disk.container).getPageBlobClient(disk.blob);
    for (let offset = 0; offset < DISK_SIZE; offset += SEGMENT) await blob.uploadPages(image.subarray(offset, offset + SEGMENT), offset, SEGMENT);
    return image;
  }

  const backup = (recoveryPointId: string) =>
    backupVm(engine, { itemId, jobId: `job-${recoveryPointId}`, recoveryPointId, disks: [disk], capabilities, segmentSize: SEGMENT });

  async function restoredImage(recoveryPointId: string): Promise<Buffer> {
    const targetContainer = uniqueName('restored');
    const restored = await restoreDisks(restore, { itemId, recoveryPointId, jobId: `r-${recoveryPointId}`, targetContainer, tier: 'HardenedRP' });
    return blobService(azurite().connectionString).getContainerClient(targetContainer).getPageBlobClient(restored.disks[0].blobName).downloadToBuffer();
  }

  const resetsAt = (segment: number, times = 1): ScriptedFault[] => [
    {
      match: requests.all(requests.pageUpload, inContainer(engine.vaultContainer), atSegment(segment)),
      fault: { kind: 'reset', at: 'during-request-body', afterBytes: 2 * MIB + 512 },
      times,
    },
    {
      match: requests.all(requests.blobRead, inContainer(disk.container), atSegment(segment)),
      fault: { kind: 'reset', at: 'during-response-body' },
      times,
    },
  ];

  it.each(Array.from({ length: SEGMENTS }, (_, segment) => segment))(
    'a reset mid-upload and mid-read in segment %i: the backup completes and restores byte-identical',
    async (segment) => {
      const image = await rewriteDisk();
      const before = storage.blob.injected().length;
      storage.blob.setSchedule(scriptedFaults(resetsAt(segment)));
      const result = await backup(String(100 + segment));
      storage.blob.setSchedule(noFaults);
      // Both resets happened: the upload and the read of this segment were each tried again.
      expect(storage.blob.injected().slice(before).map((f) => f.fault)).toEqual(
        expect.arrayContaining([expect.objectContaining({ at: 'during-request-body' }), expect.objectContaining({ at: 'during-response-body' })]),
      );
      expect(storage.blob.injected().length - before).toBe(2);
      expect(result.segments[0].reduce((sum, s) => sum + s.bytesWritten, 0)).toBe(DISK_SIZE);
      expect(sha256(await restoredImage(String(100 + segment)))).toBe(sha256(image));
    },
  );

  it('an upload that never gets through fails the backup retryably, commits nothing, and the next backup succeeds', async () => {
    await rewriteDisk();
    storage.blob.setSchedule(scriptedFaults(resetsAt(SEGMENTS - 1, Infinity)));
    const failure = await backup('200').then(
      () => undefined,
      (err: unknown) => err,
    );
    storage.blob.setSchedule(noFaults);
    expect(failure).toBeDefined();
    expect(isServiceUnavailableError(failure) || describeFailure(failure).code === 'KluisStorageUnavailable').toBe(true);
    expect(await engine.catalog.get(itemId, '200')).toBeUndefined();

    const image = await rewriteDisk();
    await backup('201');
    expect(sha256(await restoredImage('201'))).toBe(sha256(image));
  });
});
