/**
 * Restore disks on a real Azurite through the real SDK: from each tier, byte-identical to the
 * source snapshot; verification failures and existing targets leave nothing behind. Streamed on
 * plain Azurite; by server-side copy, verified by reading the target back, on Azurite with Kluis's
 * extensions when source and target share the account.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { BlobServiceClient } from '@azure/storage-blob';
import { BLOCK_SIZE, blockCountFor, decodeBlockSums, encodeBlockSums } from '../../lib/engine/domain/block-sums';
import { isKluisErrorLike } from '../../lib/domain/errors';
import { azuriteExtensions } from '../../emulator/cli';
import { DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME } from '../../emulator/connection-string';
import { intersectRanges, normalizeRanges, type ByteRange } from '../../lib/engine/domain/page-ranges';
import { restoreDisks, RESTORE_META, type RestoreDeps, type RestoreDisksRequest } from '../../lib/engine/restore/restore-disks';
import type { EngineLogger } from '../../lib/engine/engine-deps';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { BlobRestoreTargetStore } from '../../lib/stores/azure/blob-restore-target-store';
import { probedServerSideCopyFacts } from '../../lib/engine/sources/page-blob/server-side-copy-facts';
import { TableRecoveryPointCatalog } from '../../lib/stores/azure/table-recovery-point-catalog';
import type { RestoreTargetStore } from '../../lib/stores/restore-target-store';
import { allocatedRanges, buildRecoveryPoint, sha256Of, withoutZeroBlocks, type BuiltRecoveryPoint } from '../support/recovery-point-fixture';
import { azuriteEngineDeps, backupVm, pageBlobSources } from '../support/backup-engine';
import { blobService, uniqueName, uniqueTableName, useAzurite } from '../support/azurite';

const MiB = 1024 * 1024;
const azurite = useAzurite();
const NO_RETRIES = { retryOptions: { maxTries: 1 } };

interface World {
  blobs: BlobServiceClient;
  /** The target's account (the same as `blobs` unless the world restores into another account). */
  targetBlobs: BlobServiceClient;
  deps: RestoreDeps;
  sourceContainer: string;
  vaultContainer: string;
  targetContainer: string;
  logs: string[];
}

/** Source, vault and catalog in the account of `conn`; the target there too unless `targetConn` names another. */
function world(conn = azurite().connectionString, opts: { targetConn?: string; serverSideCopy?: RestoreDeps['serverSideCopy'] } = {}): World {
  const logs: string[] = [];
  const log: EngineLogger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };
  const source = BlobPageStore.fromConnectionString(conn, NO_RETRIES);
  return {
    blobs: blobService(conn),
    targetBlobs: blobService(opts.targetConn ?? conn),
    deps: {
      vault: BlobPageStore.fromConnectionString(conn, NO_RETRIES),
      sources: pageBlobSources(source),
      target: BlobRestoreTargetStore.fromConnectionString(opts.targetConn ?? conn, NO_RETRIES),
      catalog: TableRecoveryPointCatalog.fromConnectionString(conn, uniqueTableName('rps'), { retryOptions: { maxRetries: 0 } }),
      clock: () => new Date('2026-03-01T10:00:00Z'),
      log,
      ...(opts.serverSideCopy === undefined ? {} : { serverSideCopy: opts.serverSideCopy }),
    },
    sourceContainer: uniqueName('source'),
    vaultContainer: uniqueName('vault'),
    targetContainer: uniqueName('target'),
    logs,
  };
}

let pointCounter = 0;
async function point(w: World, extra: Partial<Parameters<typeof buildRecoveryPoint>[0]> = {}): Promise<BuiltRecoveryPoint> {
  pointCounter += 1;
  return buildRecoveryPoint({
    source: w.blobs,
    vault: w.blobs,
    catalog: w.deps.catalog,
    sourceContainer: w.sourceContainer,
    vaultContainer: w.vaultContainer,
    itemId: uniqueName('vm'),
    recoveryPointId: String(1767225600000 + pointCounter),
    disks: [
      // 16 MiB: the sample disk's regions up to its allocated all-zero range at 12 MiB.
      { lun: 0, name: 'osdisk', dataSize: 16 * MiB },
      { lun: 1, name: 'datadisk', dataSize: 4 * MiB, storageType: 'Premium' },
    ],
    vmConfig: { vmName: 'vm1', vmSize: 'Standard_DS2_v2', osType: 'Linux', tags: { env: 'test' } },
    ...extra,
  });
}

function request(w: World, built: BuiltRecoveryPoint, extra: Partial<RestoreDisksRequest> = {}): RestoreDisksRequest {
  return {
    itemId: built.manifest.itemId,
    recoveryPointId: built.manifest.recoveryPointId,
    jobId: uniqueName('job'),
    targetContainer: w.targetContainer,
    ...extra,
  };
}

async function targetBlobs(w: World): Promise<string[]> {
  const names: string[] = [];
  const container = w.targetBlobs.getContainerClient(w.targetContainer);
  if (!(await container.exists())) return names;
  for await (const blob of container.listBlobsFlat()) names.push(blob.name);
  return names.sort();
}

async function failureOf(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    return { code: isKluisErrorLike(err) ? err.code : undefined, message: (err as Error).message };
  }
  throw new Error('expected a failure');
}

/** Deletes the point's instant snapshots, as snapshot-tier expiry would. */
async function expireInstantSnapshots(w: World, built: BuiltRecoveryPoint): Promise<void> {
  for (const disk of built.disks) {
    await w.blobs.getContainerClient(w.sourceContainer).getBlobClient(disk.sourceBlob).withSnapshot(disk.sourceSnapshot).delete();
  }
}

describe('restoreDisks', () => {
  test('from the instant snapshot: every disk byte-identical, allocated ranges kept, vmconfig written, uploads MD5-checked', async () => {
    const w = world();
    const built = await point(w);
    const uploads: Array<{ md5: string; actual: string; length: number }> = [];
    const recordingTarget: RestoreTargetStore = Object.create(w.deps.target) as RestoreTargetStore;
    recordingTarget.uploadPages = async (ref, offset, data, options) => {
      uploads.push({
        md5: Buffer.from(options.transactionalContentMD5).toString('base64'),
        actual: createHash('md5').update(data).digest('base64'),
        length: data.byteLength,
      });
      return w.deps.target.uploadPages(ref, offset, data, options);
    };

    const result = await restoreDisks({ ...w.deps, target: recordingTarget }, request(w, built, { jobId: 'job-instant-1' }));

    expect(result.disks.map((d) => [d.lun, d.tier, d.method])).toEqual([
      [0, 'InstantRP', 'streamed'],
      [1, 'InstantRP', 'streamed'],
    ]);
    const source = w.blobs.getContainerClient(w.sourceContainer);
    const target = w.blobs.getContainerClient(w.targetContainer);
    for (const disk of result.disks) {
      const built1 = built.disks.find((d) => d.lun === disk.lun)!;
      const snapshot = source.getPageBlobClient(built1.sourceBlob).withSnapshot(built1.sourceSnapshot);
      const restored = target.getPageBlobClient(disk.blobName);
      const content = await snapshot.downloadToBuffer();
      expect(await sha256Of(restored)).toBe(createHash('sha256').update(content).digest('hex'));
      expect(await allocatedRanges(restored)).toEqual(withoutZeroBlocks(await allocatedRanges(snapshot), content));
      expect(disk.blocksVerified).toBe(blockCountFor(built1.sizeBytes, BLOCK_SIZE));
      expect(disk.bytesCopied).toBe(withoutZeroBlocks(await allocatedRanges(snapshot), content).reduce((n, r) => n + r.end - r.start, 0));
      expect(disk.blobUrl).toBe(restored.url);
      const props = await restored.getProperties();
      expect(props.contentLength).toBe(built1.sizeBytes);
      expect(props.metadata?.[RESTORE_META.jobId]).toBe('job-instant-1');
    }
    expect(result.disks[0]).toMatchObject({ storageType: 'Standard', name: 'osdisk' });
    expect(result.disks[0].premiumTier).toBeUndefined();
    // Azurite takes no page blob tiers: the tier is chosen and recorded, not applied.
    expect(result.disks[1]).toMatchObject({ storageType: 'Premium', premiumTier: 'P4', premiumTierApplied: false });
    expect(uploads.length).toBeGreaterThan(0);
    for (const upload of uploads) {
      expect(upload.md5).toBe(upload.actual);
      expect(upload.length).toBeLessThanOrEqual(4 * MiB);
    }

    const prefix = `restores/${built.manifest.itemId}/${built.manifest.recoveryPointId}/job-instant-1`;
    expect(result.vmConfigBlobName).toBe(`${prefix}/vmconfig.json`);
    expect(await targetBlobs(w)).toEqual([`${prefix}/lun0-osdisk.vhd`, `${prefix}/lun1-datadisk.vhd`, `${prefix}/vmconfig.json`]);
    const config = JSON.parse((await target.getBlobClient(result.vmConfigBlobName).downloadToBuffer()).toString('utf8'));
    expect(config).toMatchObject({
      kind: 'KluisRestoredVmConfiguration',
      recoveryPointId: built.manifest.recoveryPointId,
      vmConfig: { vmName: 'vm1', vmSize: 'Standard_DS2_v2', tags: { env: 'test' } },
      disks: [
        { lun: 0, blobName: `${prefix}/lun0-osdisk.vhd`, tier: 'InstantRP' },
        { lun: 1, blobName: `${prefix}/lun1-datadisk.vhd`, premiumTier: 'P4', tier: 'InstantRP' },
      ],
    });
  });

  test('from the vault once the instant snapshot is gone: byte-identical to the source snapshot', async () => {
    const w = world();
    const built = await point(w);
    const snapshotContents = await Promise.all(
      built.disks.map((d) =>
        w.blobs.getContainerClient(w.sourceContainer).getPageBlobClient(d.sourceBlob).withSnapshot(d.sourceSnapshot).downloadToBuffer(),
      ),
    );
    await expireInstantSnapshots(w, built);

    const result = await restoreDisks(w.deps, request(w, built, { targetBlobPrefix: 'restored/vm1', targetStorageType: 'Standard' }));

    expect(result.disks.map((d) => d.tier)).toEqual(['HardenedRP', 'HardenedRP']);
    expect(result.disks[0].tierReason).toMatch(/vault/);
    for (const [i, disk] of result.disks.entries()) {
      const restored = w.blobs.getContainerClient(w.targetContainer).getPageBlobClient(disk.blobName);
      expect(await sha256Of(restored)).toBe(createHash('sha256').update(snapshotContents[i]).digest('hex'));
      const replica = w.blobs
        .getContainerClient(w.vaultContainer)
        .getPageBlobClient(built.disks[i].replicaBlob)
        .withSnapshot(built.disks[i].replicaSnapshot);
      expect(await allocatedRanges(restored)).toEqual(withoutZeroBlocks(await allocatedRanges(replica), snapshotContents[i]));
      expect(disk.storageType).toBe('Standard');
    }
    expect(await targetBlobs(w)).toEqual(['restored/vm1/lun0-osdisk.vhd', 'restored/vm1/lun1-datadisk.vhd', 'restored/vm1/vmconfig.json']);
    expect(w.logs.some((l) => l.includes('HardenedRP'))).toBe(true);
  });

  test('a vault block that differs from its checksum fails the restore, naming lun, block and tier; nothing is left', async () => {
    const w = world();
    const badOffset = 3 * MiB + 4096; // inside block 48 of lun 0, in an allocated region
    const built = await point(w, { corruptReplica: { lun: 0, offset: badOffset, bytes: Buffer.alloc(512, 0xee) } });
    await expireInstantSnapshots(w, built);

    const failure = await failureOf(restoreDisks(w.deps, request(w, built), { maxParallelDisks: 2 }));

    expect(failure.code).toBe('KluisRestoreVerificationFailed');
    const block = Math.floor(badOffset / BLOCK_SIZE);
    expect(failure.message).toContain('lun 0');
    expect(failure.message).toContain(`block ${block} (bytes ${block * BLOCK_SIZE}–`);
    expect(failure.message).toContain('HardenedRP');
    expect(await targetBlobs(w)).toEqual([]);
  });

  test.each([
    ['a changed digest', 'does not match its recorded checksum'],
    ['a data block recorded as zero', 'holds data but was recorded as all zeros'],
    ['an unallocated block recorded with data', 'is unallocated (reads as zeros) but was recorded with data'],
  ])('tampered checksums (%s) fail the restore from the instant snapshot too; nothing is left', async (kind, wording) => {
    const w = world();
    const built = await point(w, { disks: [{ lun: 2, name: 'data', dataSize: 8 * MiB }] });
    const checksums = w.blobs.getContainerClient(w.vaultContainer).getBlockBlobClient(built.disks[0].checksumsBlob);
    const sums = decodeBlockSums(await checksums.downloadToBuffer());
    const dataBlock = [...sums.nonZeroBlocks()][3];
    let victim = dataBlock.index;
    if (kind === 'a changed digest') sums.setDigest(victim, dataBlock.digest ^ 1n);
    else if (kind === 'a data block recorded as zero') sums.setZero(victim);
    else {
      victim = 100; // 6.25 MiB: no sample region there
      expect(sums.isNonZero(victim)).toBe(false);
      sums.setDigest(victim, 42n);
    }
    const tampered = encodeBlockSums(sums); // well-formed: only the content disagrees with the disk
    await checksums.upload(tampered, tampered.length);

    const failure = await failureOf(restoreDisks(w.deps, request(w, built)));

    expect(failure.code).toBe('KluisRestoreVerificationFailed');
    expect(failure.message).toContain(`block ${victim} `);
    expect(failure.message).toContain(wording);
    expect(failure.message).toContain('lun 2');
    expect(failure.message).toContain('InstantRP');
    expect(await targetBlobs(w)).toEqual([]);
  });

  test('an existing blob at a target name is never overwritten, and nothing is written', async () => {
    const w = world();
    const built = await point(w);
    const target = w.blobs.getContainerClient(w.targetContainer);
    await target.create();
    const existing = target.getBlockBlobClient('restored/vmconfig.json');
    await existing.upload('{"mine":true}', 13);
    const before = await existing.getProperties();

    const failure = await failureOf(restoreDisks(w.deps, request(w, built, { targetBlobPrefix: 'restored' })));

    expect(failure.code).toBe('KluisRestoreTargetExists');
    expect(failure.message).toContain('restored/vmconfig.json');
    expect(await targetBlobs(w)).toEqual(['restored/vmconfig.json']);
    expect((await existing.getProperties()).etag).toBe(before.etag);
    expect((await existing.downloadToBuffer()).toString()).toBe('{"mine":true}');
  });

  test('a blob appearing after the check is still not overwritten (If-None-Match), and this restore removes its own blobs', async () => {
    const w = world();
    const built = await point(w, { disks: [{ lun: 0, name: 'os', dataSize: 8 * MiB }] });
    const intruder = w.blobs.getContainerClient(w.targetContainer).getBlockBlobClient('late/vmconfig.json');
    const racingTarget: RestoreTargetStore = Object.create(w.deps.target) as RestoreTargetStore;
    racingTarget.createPageBlobIfNotExists = async (ref, size, options) => {
      const created = await w.deps.target.createPageBlobIfNotExists(ref, size, options);
      await intruder.upload('{"late":true}', 13);
      return created;
    };

    const failure = await failureOf(restoreDisks({ ...w.deps, target: racingTarget }, request(w, built, { targetBlobPrefix: 'late' })));

    expect(failure.code).toBe('KluisRestoreTargetExists');
    expect(await targetBlobs(w)).toEqual(['late/vmconfig.json']);
    expect((await intruder.downloadToBuffer()).toString()).toBe('{"late":true}');
  });

  test('a re-run of the same job after a crash reclaims its own partial blobs and completes', async () => {
    const w = world();
    const built = await point(w, { disks: [{ lun: 0, name: 'os', dataSize: 8 * MiB }] });
    const crashingTarget: RestoreTargetStore = Object.create(w.deps.target) as RestoreTargetStore;
    let writes = 0;
    crashingTarget.uploadPages = async (ref, offset, data, options) => {
      writes += 1;
      if (writes === 2) throw new Error('process died');
      return w.deps.target.uploadPages(ref, offset, data, options);
    };
    crashingTarget.deleteBlob = async () => {
      throw new Error('process died'); // a dead process cleans nothing up
    };
    const req = request(w, built, { jobId: 'job-crash-1', targetBlobPrefix: 'crash' });
    expect((await failureOf(restoreDisks({ ...w.deps, target: crashingTarget }, req, { copy: { maxUploadsInFlight: 1 } }))).message).toBe(
      'process died',
    );
    expect(await targetBlobs(w)).toEqual(['crash/lun0-os.vhd']);

    const other = await failureOf(restoreDisks(w.deps, { ...req, jobId: 'job-other' }));
    expect(other.code).toBe('KluisRestoreTargetExists');

    const result = await restoreDisks(w.deps, req);
    const snapshot = w.blobs
      .getContainerClient(w.sourceContainer)
      .getPageBlobClient(built.disks[0].sourceBlob)
      .withSnapshot(built.disks[0].sourceSnapshot);
    expect(await sha256Of(w.blobs.getContainerClient(w.targetContainer).getPageBlobClient(result.disks[0].blobName))).toBe(
      await sha256Of(snapshot),
    );
    expect(await targetBlobs(w)).toEqual(['crash/lun0-os.vhd', 'crash/vmconfig.json']);
  });

  test('asking for the snapshot tier after it expired is UserErrorInstantRpNotFound; nothing is written', async () => {
    const w = world();
    const built = await point(w, { disks: [{ lun: 0, name: 'os', dataSize: 8 * MiB }] });
    await expireInstantSnapshots(w, built);

    const failure = await failureOf(restoreDisks(w.deps, request(w, built, { tier: 'InstantRP' })));

    expect(failure.code).toBe('UserErrorInstantRpNotFound');
    expect(await w.blobs.getContainerClient(w.targetContainer).exists()).toBe(false);
  });

  test('a chosen LUN only, from the vault tier on request', async () => {
    const w = world();
    const built = await point(w);

    const result = await restoreDisks(w.deps, request(w, built, { luns: [1], tier: 'HardenedRP' }));

    expect(result.disks.map((d) => [d.lun, d.tier])).toEqual([[1, 'HardenedRP']]);
    expect((await failureOf(restoreDisks(w.deps, request(w, built, { luns: [7] })))).code).toBe('KluisInvalidRequest');
  });

  test('unknown points and points being deleted are not restorable; bad requests are 4xx and write nothing', async () => {
    const w = world();
    const built = await point(w, { disks: [{ lun: 0, name: 'os', dataSize: 1 * MiB }] });
    expect((await failureOf(restoreDisks(w.deps, request(w, built, { recoveryPointId: '1' })))).code).toBe('KluisRecoveryPointNotFound');
    expect((await failureOf(restoreDisks(w.deps, request(w, built, { targetContainer: 'Bad_Name' })))).code).toBe(
      'KluisInvalidContainerName',
    );
    expect((await failureOf(restoreDisks(w.deps, request(w, built, { targetBlobPrefix: 'a//b' })))).code).toBe('KluisInvalidRequest');
    const { etag, ...row } = built.row;
    await w.deps.catalog.put({ ...row, state: 'Deleting' }, { ifMatch: etag });
    expect((await failureOf(restoreDisks(w.deps, request(w, built)))).code).toBe('KluisRecoveryPointNotFound');
    expect(await w.blobs.getContainerClient(w.targetContainer).exists()).toBe(false);
  });

  test('the copy reads only blocks around allocated ranges and verifies the rest from the checksums', async () => {
    const w = world();
    const built = await point(w, { disks: [{ lun: 0, name: 'os', dataSize: 16 * MiB }] });
    const snapshot = w.blobs
      .getContainerClient(w.sourceContainer)
      .getPageBlobClient(built.disks[0].sourceBlob)
      .withSnapshot(built.disks[0].sourceSnapshot);
    const ranges = await allocatedRanges(snapshot);
    const touchedBlocks = new Set<number>();
    for (const r of normalizeRanges(ranges)) {
      for (let b = Math.floor(r.start / BLOCK_SIZE); b * BLOCK_SIZE < r.end; b++) touchedBlocks.add(b);
    }

    const result = await restoreDisks(w.deps, request(w, built), { copy: { chunkSize: 256 * 1024, readAhead: 1, maxUploadsInFlight: 2 } });

    const sizeBytes = built.disks[0].sizeBytes;
    const expectedRead = [...touchedBlocks].reduce((n, b) => n + Math.min(BLOCK_SIZE, sizeBytes - b * BLOCK_SIZE), 0);
    expect(result.disks[0].bytesRead).toBe(expectedRead);
    expect(result.disks[0].bytesRead).toBeLessThan(sizeBytes / 2);
    expect(result.disks[0].blocksVerified).toBe(blockCountFor(sizeBytes));
  });
});

describe('restoreDisks after the real backup engine', () => {
  test('a full and an incremental point, each restored from both tiers, equal their source snapshots', async () => {
    const conn = azurite().connectionString;
    const engine = azuriteEngineDeps(conn);
    const blobs = blobService(conn);
    const container = blobs.getContainerClient(uniqueName('vhds'));
    await container.create();
    const disk = container.getPageBlobClient('os.vhd');
    const size = 3 * MiB + 512;
    await disk.create(size);
    await disk.uploadPages(Buffer.alloc(3 * BLOCK_SIZE, 7), 0, 3 * BLOCK_SIZE);
    await disk.uploadPages(Buffer.alloc(BLOCK_SIZE), 5 * BLOCK_SIZE, BLOCK_SIZE); // allocated zeros
    await disk.uploadPages(Buffer.alloc(4096, 9), 20 * BLOCK_SIZE + 512, 4096);
    await disk.uploadPages(Buffer.alloc(512, 1), size - 512, 512);
    const itemId = uniqueName('vm');
    const vmDisk = { lun: 0, container: container.containerName, blob: 'os.vhd', storageType: 'Standard' as const };
    const capabilities = { trueDiff: false, serverSideCopySafe: false };

    const full = await backupVm(engine, { itemId, jobId: 'job-full', recoveryPointId: '1000', disks: [vmDisk], capabilities });
    const fullImage = await disk.withSnapshot(full.snapshots[0].snapshot).downloadToBuffer();
    await disk.uploadPages(Buffer.alloc(BLOCK_SIZE, 3), 1 * BLOCK_SIZE, BLOCK_SIZE);
    await disk.clearPages(2 * BLOCK_SIZE, BLOCK_SIZE);
    const incremental = await backupVm(engine, { itemId, jobId: 'job-incr', recoveryPointId: '2000', disks: [vmDisk], capabilities });
    const incrementalImage = await disk.withSnapshot(incremental.snapshots[0].snapshot).downloadToBuffer();
    expect(incrementalImage.equals(fullImage)).toBe(false);

    const deps: RestoreDeps = {
      vault: engine.vault,
      sources: pageBlobSources(engine.source),
      target: BlobRestoreTargetStore.fromConnectionString(conn, NO_RETRIES),
      catalog: engine.catalog,
      clock: () => new Date(),
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    };
    const targetContainer = uniqueName('target');
    for (const [recoveryPointId, image] of [
      ['1000', fullImage],
      ['2000', incrementalImage],
    ] as const) {
      for (const tier of ['InstantRP', 'HardenedRP'] as const) {
        const result = await restoreDisks(deps, { itemId, recoveryPointId, jobId: `job-${recoveryPointId}-${tier}`, targetContainer, tier });
        expect(result.disks[0].tier).toBe(tier);
        const restored = blobs.getContainerClient(targetContainer).getPageBlobClient(result.disks[0].blobName);
        expect(await sha256Of(restored)).toBe(createHash('sha256').update(image).digest('hex'));
      }
    }
  });
});

/** Normalized `inner` lies inside `outer`. */
function within(inner: readonly ByteRange[], outer: readonly ByteRange[]): boolean {
  const a = normalizeRanges(inner);
  return JSON.stringify(intersectRanges(a, normalizeRanges(outer))) === JSON.stringify(a);
}

/** The target with its server-side copies and uploads counted (uploads may be refused). */
function watchedTarget(target: RestoreTargetStore, opts: { refuseUploads?: boolean } = {}): { store: RestoreTargetStore; copies: string[]; uploads: number } {
  const watched = { store: Object.create(target) as RestoreTargetStore, copies: [] as string[], uploads: 0 };
  watched.store.copyBlobIfNotExists = async (source, ref, options) => {
    watched.copies.push(ref.blob);
    return target.copyBlobIfNotExists(source, ref, options);
  };
  watched.store.uploadPages = async (ref, offset, data, options) => {
    watched.uploads += 1;
    if (opts.refuseUploads === true) throw new Error('the copy path must not upload');
    return target.uploadPages(ref, offset, data, options);
  };
  return watched;
}

describe('restoreDisks by server-side copy (Azurite with the Kluis extensions)', () => {
  const OTHER_ACCOUNT = 'kluisother';
  const otherKey = randomBytes(64).toString('base64');
  const extended = useAzurite({
    extensions: [...azuriteExtensions],
    env: { AZURITE_ACCOUNTS: `${DEV_ACCOUNT_NAME}:${DEV_ACCOUNT_KEY};${OTHER_ACCOUNT}:${otherKey}` },
  });
  const scratchContainer = uniqueName('probe');
  const copyFacts = () => probedServerSideCopyFacts({ scratchContainer });
  const copyWorld = (opts: { targetConn?: string } = {}): World => world(extended().connectionString, { ...opts, serverSideCopy: copyFacts() });

  test('both tiers restore by copy: byte-identical to the source snapshot, sparse, verified by reading back, nothing uploaded', async () => {
    const w = copyWorld();
    const built = await point(w);
    const source = w.blobs.getContainerClient(w.sourceContainer);
    const snapshots = built.disks.map((d) => source.getPageBlobClient(d.sourceBlob).withSnapshot(d.sourceSnapshot));
    const contents = await Promise.all(snapshots.map((s) => s.downloadToBuffer()));
    const snapshotRanges = await Promise.all(snapshots.map((s) => allocatedRanges(s)));
    const watched = watchedTarget(w.deps.target, { refuseUploads: true });

    const instant = await restoreDisks({ ...w.deps, target: watched.store }, request(w, built, { jobId: 'job-copy-instant' }));
    await expireInstantSnapshots(w, built);
    const vault = await restoreDisks({ ...w.deps, target: watched.store }, request(w, built, { jobId: 'job-copy-vault' }));

    expect(watched.uploads).toBe(0);
    expect(watched.copies).toHaveLength(4);
    for (const [result, tier] of [
      [instant, 'InstantRP'],
      [vault, 'HardenedRP'],
    ] as const) {
      expect(result.disks.map((d) => [d.lun, d.tier, d.method, d.bytesCopied])).toEqual([
        [0, tier, 'serverSideCopy', 0],
        [1, tier, 'serverSideCopy', 0],
      ]);
      for (const [i, disk] of result.disks.entries()) {
        const built1 = built.disks[i];
        const restored = w.blobs.getContainerClient(w.targetContainer).getPageBlobClient(disk.blobName);
        expect(await sha256Of(restored)).toBe(createHash('sha256').update(contents[i]).digest('hex'));
        const readRanges =
          tier === 'InstantRP'
            ? snapshotRanges[i]
            : await allocatedRanges(w.blobs.getContainerClient(w.vaultContainer).getPageBlobClient(built1.replicaBlob).withSnapshot(built1.replicaSnapshot));
        const restoredRanges = await allocatedRanges(restored);
        expect(restoredRanges.length).toBeGreaterThan(0);
        expect(within(restoredRanges, readRanges)).toBe(true);
        expect(disk.blocksVerified).toBe(blockCountFor(built1.sizeBytes, BLOCK_SIZE));
        expect(disk.bytesRead).toBeGreaterThan(0);
        expect(disk.bytesRead).toBeLessThan(built1.sizeBytes);
        expect(disk.methodReason).toMatch(/probe found safe/);
        const props = await restored.getProperties();
        expect(props.contentLength).toBe(built1.sizeBytes);
        expect(props.blobType).toBe('PageBlob');
        expect(props.metadata?.[RESTORE_META.jobId]).toBe(result.jobId);
        expect(props.metadata?.[RESTORE_META.sourceTier]).toBe(tier);
      }
      expect(result.disks[1]).toMatchObject({ storageType: 'Premium', premiumTier: 'P4', premiumTierApplied: false });
    }
    expect(w.logs.filter((l) => l.includes('by server-side copy, verified by reading the target back'))).toHaveLength(4);
  });

  test('a corrupt vault block is found in the copied target: the error names lun, block and tier; nothing is left', async () => {
    const w = copyWorld();
    const badOffset = 3 * MiB + 4096;
    const built = await point(w, { corruptReplica: { lun: 0, offset: badOffset, bytes: Buffer.alloc(512, 0xee) } });
    await expireInstantSnapshots(w, built);
    const watched = watchedTarget(w.deps.target, { refuseUploads: true });

    const failure = await failureOf(restoreDisks({ ...w.deps, target: watched.store }, request(w, built), { maxParallelDisks: 2 }));

    expect(failure.code).toBe('KluisRestoreVerificationFailed');
    const block = Math.floor(badOffset / BLOCK_SIZE);
    expect(failure.message).toContain('lun 0');
    expect(failure.message).toContain(`block ${block} (bytes ${block * BLOCK_SIZE}–`);
    expect(failure.message).toContain('does not match its recorded checksum');
    expect(failure.message).toContain('HardenedRP');
    expect(watched.copies.length).toBeGreaterThan(0);
    expect(watched.uploads).toBe(0);
    expect(await targetBlobs(w)).toEqual([]);
  });

  test.each([
    ['a data block recorded as zero', 'holds data but was recorded as all zeros'],
    ['an unallocated block recorded with data', 'is unallocated (reads as zeros) but was recorded with data'],
  ])('tampered checksums (%s) fail the copy from the instant snapshot too; nothing is left', async (kind, wording) => {
    const w = copyWorld();
    const built = await point(w, { disks: [{ lun: 2, name: 'data', dataSize: 8 * MiB }] });
    const checksums = w.blobs.getContainerClient(w.vaultContainer).getBlockBlobClient(built.disks[0].checksumsBlob);
    const sums = decodeBlockSums(await checksums.downloadToBuffer());
    let victim = [...sums.nonZeroBlocks()][3].index;
    if (kind === 'a data block recorded as zero') sums.setZero(victim);
    else {
      victim = 100; // 6.25 MiB: no sample region there
      expect(sums.isNonZero(victim)).toBe(false);
      sums.setDigest(victim, 42n);
    }
    const tampered = encodeBlockSums(sums);
    await checksums.upload(tampered, tampered.length);
    const watched = watchedTarget(w.deps.target, { refuseUploads: true });

    const failure = await failureOf(restoreDisks({ ...w.deps, target: watched.store }, request(w, built)));

    expect(failure.code).toBe('KluisRestoreVerificationFailed');
    expect(failure.message).toContain(`block ${victim} `);
    expect(failure.message).toContain(wording);
    expect(failure.message).toContain('lun 2');
    expect(failure.message).toContain('InstantRP');
    expect(watched.copies).toHaveLength(1);
    expect(await targetBlobs(w)).toEqual([]);
  });

  test('a copy that lands wrong bytes is caught by reading the target back; the target is deleted', async () => {
    const w = copyWorld();
    const built = await point(w, { disks: [{ lun: 0, name: 'os', dataSize: 8 * MiB }] });
    const badOffset = 5 * BLOCK_SIZE + 1024;
    const damagingTarget: RestoreTargetStore = Object.create(w.deps.target) as RestoreTargetStore;
    damagingTarget.copyBlobIfNotExists = async (source, ref, options) => {
      const created = await w.deps.target.copyBlobIfNotExists(source, ref, options);
      // As if the service had copied one page wrong: the source snapshot stays intact.
      const page = Buffer.alloc(512, 0x5a);
      await w.deps.target.uploadPages(ref, badOffset, page, { transactionalContentMD5: createHash('md5').update(page).digest() });
      return created;
    };

    const failure = await failureOf(restoreDisks({ ...w.deps, target: damagingTarget }, request(w, built, { tier: 'InstantRP' })));

    expect(failure.code).toBe('KluisRestoreVerificationFailed');
    expect(failure.message).toContain('lun 0');
    expect(failure.message).toContain(`block 5 (bytes ${5 * BLOCK_SIZE}–`);
    expect(failure.message).toContain('InstantRP');
    expect(await targetBlobs(w)).toEqual([]);
  });

  test('a blob appearing at the disk name before the copy is never overwritten (If-None-Match on the copy)', async () => {
    const w = copyWorld();
    const built = await point(w, { disks: [{ lun: 0, name: 'os', dataSize: 8 * MiB }] });
    const intruder = w.blobs.getContainerClient(w.targetContainer).getBlockBlobClient('race/lun0-os.vhd');
    const racingTarget: RestoreTargetStore = Object.create(w.deps.target) as RestoreTargetStore;
    racingTarget.copyBlobIfNotExists = async (source, ref, options) => {
      await intruder.upload('{"late":true}', 13);
      return w.deps.target.copyBlobIfNotExists(source, ref, options);
    };

    const failure = await failureOf(restoreDisks({ ...w.deps, target: racingTarget }, request(w, built, { targetBlobPrefix: 'race' })));

    expect(failure.code).toBe('KluisRestoreTargetExists');
    expect(failure.message).toContain('race/lun0-os.vhd');
    expect(await targetBlobs(w)).toEqual(['race/lun0-os.vhd']);
    expect((await intruder.downloadToBuffer()).toString()).toBe('{"late":true}');
    const props = await intruder.getProperties();
    expect(props.blobType).toBe('BlockBlob');
    expect(props.metadata?.[RESTORE_META.jobId]).toBeUndefined();
  });

  test('the target store: a copy onto an existing blob reports it and changes nothing; a missing source leaves nothing', async () => {
    const w = copyWorld();
    const built = await point(w, { disks: [{ lun: 0, name: 'os', dataSize: 1 * MiB }] });
    const container = w.blobs.getContainerClient(w.targetContainer);
    await container.create();
    const existing = container.getBlockBlobClient('taken.vhd');
    await existing.upload('mine', 4);
    const before = await existing.getProperties();
    const snapshot = { container: w.sourceContainer, blob: built.disks[0].sourceBlob, snapshot: built.disks[0].sourceSnapshot };

    expect(await w.deps.target.copyBlobIfNotExists(snapshot, { container: w.targetContainer, blob: 'taken.vhd' })).toEqual({ created: false });
    expect((await existing.getProperties()).etag).toBe(before.etag);
    expect((await existing.downloadToBuffer()).toString()).toBe('mine');

    const missing = await failureOf(
      w.deps.target.copyBlobIfNotExists({ ...snapshot, blob: 'no/such.vhd' }, { container: w.targetContainer, blob: 'never.vhd' }),
    );
    expect(missing.code).toBe('KluisBlobNotFound');
    expect(await targetBlobs(w)).toEqual(['taken.vhd']);
  });

  test('a target in another account of the same Azurite is streamed (endpoints differ), still verified and byte-identical', async () => {
    const otherConn =
      `DefaultEndpointsProtocol=http;AccountName=${OTHER_ACCOUNT};AccountKey=${otherKey};` +
      `BlobEndpoint=${extended().blobEndpoint.replace(/\/+$/, '').replace(new RegExp(`/${DEV_ACCOUNT_NAME}$`), `/${OTHER_ACCOUNT}`)};`;
    const w = copyWorld({ targetConn: otherConn });
    const built = await point(w, { disks: [{ lun: 0, name: 'os', dataSize: 8 * MiB }] });
    const watched = watchedTarget(w.deps.target);

    const result = await restoreDisks({ ...w.deps, target: watched.store }, request(w, built));

    expect(w.deps.target.endpoint).toMatch(new RegExp(`/${OTHER_ACCOUNT}$`));
    expect(result.disks[0]).toMatchObject({ tier: 'InstantRP', method: 'streamed' });
    expect(result.disks[0].methodReason).toContain(`the target is in ${w.deps.target.endpoint}`);
    expect(result.disks[0].bytesCopied).toBeGreaterThan(0);
    expect(watched.copies).toEqual([]);
    const snapshot = w.blobs.getContainerClient(w.sourceContainer).getPageBlobClient(built.disks[0].sourceBlob).withSnapshot(built.disks[0].sourceSnapshot);
    const restored = w.targetBlobs.getContainerClient(w.targetContainer).getPageBlobClient(result.disks[0].blobName);
    expect(await sha256Of(restored)).toBe(await sha256Of(snapshot));
  });
});

describe('restoreDisks with server-side copy facts on plain Azurite', () => {
  test('the probe finds copies unsafe: every disk is streamed and verified', async () => {
    const w = world(azurite().connectionString, { serverSideCopy: probedServerSideCopyFacts({ scratchContainer: uniqueName('probe') }) });
    const built = await point(w);
    const source = w.blobs.getContainerClient(w.sourceContainer);
    const contents = await Promise.all(built.disks.map((d) => source.getPageBlobClient(d.sourceBlob).withSnapshot(d.sourceSnapshot).downloadToBuffer()));
    await expireInstantSnapshots(w, built);
    const watched = watchedTarget(w.deps.target);

    const result = await restoreDisks({ ...w.deps, target: watched.store }, request(w, built));

    expect(result.disks.map((d) => [d.tier, d.method])).toEqual([
      ['HardenedRP', 'streamed'],
      ['HardenedRP', 'streamed'],
    ]);
    expect(result.disks[0].methodReason).toMatch(/capability probe found server-side copies/);
    expect(watched.copies).toEqual([]);
    expect(watched.uploads).toBeGreaterThan(0);
    for (const [i, disk] of result.disks.entries()) {
      const restored = w.blobs.getContainerClient(w.targetContainer).getPageBlobClient(disk.blobName);
      expect(await sha256Of(restored)).toBe(createHash('sha256').update(contents[i]).digest('hex'));
      expect(disk.blocksVerified).toBe(blockCountFor(built.disks[i].sizeBytes, BLOCK_SIZE));
    }
  });
});
