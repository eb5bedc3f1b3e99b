/**
 * Failure and housekeeping paths of the backup engine on plain Azurite: Premium staging, a crash in
 * the middle of a segment, a commit that dies before its catalog row, and the sweepers.
 */
import { createHash } from 'node:crypto';
import type { PageBlobClient } from '@azure/storage-blob';
import { checksumPartBlobName, manifestBlobName, stagingBlobName } from '../../lib/engine/domain/vault-layout';
import { commitRecoveryPoint, sweepUncommitted } from '../../lib/engine/backup/commit-recovery-point';
import type { BackupEngineDeps } from '../../lib/engine/engine-deps';
import { loadLatestManifest, planDiskBackup } from '../../lib/engine/backup/plan-disk-backup';
import { deleteInstantSnapshotWithTwins, expireInstantSnapshots, listInstantSnapshots, snapshotDisks } from '../../lib/engine/sources/page-blob/instant-snapshots';
import { stageDisk, sweepStagingBlobs } from '../../lib/engine/sources/page-blob/staging';
import { transferSegment } from '../../lib/engine/backup/transfer-segment';
import type { PageBlobStore } from '../../lib/stores/page-blob-store';
import type { RecoveryPointCatalog } from '../../lib/stores/recovery-point-catalog';
import { azuriteEngineDeps, backupVm, blobOf, blockSumsOf, openViews, readWholeBlob, sha256, type VmDisk } from '../support/backup-engine';
import { blobService, uniqueName, useAzurite } from '../support/azurite';

const KIB = 1024;
const MIB = 1024 * KIB;
const B = 64 * KIB;
const DISK_SIZE = 4 * MIB + 512;
const SEGMENT_SIZE = 2 * MIB;
const NO_SERVER_FEATURES = { trueDiff: false, serverSideCopySafe: false };

const azurite = useAzurite();

async function sourceDisk(conn: string, storageType: VmDisk['storageType'] = 'Standard'): Promise<{ disk: PageBlobClient; vmDisk: VmDisk }> {
  const container = blobService(conn).getContainerClient(uniqueName('vhds'));
  await container.create();
  const disk = container.getPageBlobClient('os.vhd');
  await disk.create(DISK_SIZE);
  for (let block = 0; block < 40; block += 3) await disk.uploadPages(Buffer.alloc(B, block + 1), block * B, B);
  await disk.uploadPages(Buffer.alloc(512, 0xee), DISK_SIZE - 512, 512);
  return { disk, vmDisk: { lun: 0, container: container.containerName, blob: 'os.vhd', storageType } };
}

/** A store whose uploadPages fails after `allowed` successful calls (a crash in mid-segment). */
function crashingAfter(store: PageBlobStore, allowed: number): PageBlobStore & { uploads: number } {
  const wrapped = Object.create(store) as PageBlobStore & { uploads: number };
  wrapped.uploads = 0;
  wrapped.uploadPages = async (...args) => {
    wrapped.uploads += 1;
    if (wrapped.uploads > allowed) throw new Error('simulated crash');
    return store.uploadPages(...args);
  };
  return wrapped;
}

function failingPut(catalog: RecoveryPointCatalog): RecoveryPointCatalog {
  const wrapped = Object.create(catalog) as RecoveryPointCatalog;
  wrapped.put = async () => {
    throw new Error('simulated crash before the catalog row');
  };
  return wrapped;
}

async function expectReplicaEqualsSource(deps: BackupEngineDeps, vmDisk: VmDisk, manifest: { disks: Array<{ source: { snapshot?: string }; replica: { blobName: string; snapshot: string } }> }): Promise<void> {
  const service = blobService(azurite().connectionString);
  const source = await readWholeBlob(service, { ...vmDisk, snapshot: manifest.disks[0].source.snapshot });
  const replica = await readWholeBlob(service, { container: deps.vaultContainer, blob: manifest.disks[0].replica.blobName, snapshot: manifest.disks[0].replica.snapshot });
  expect(sha256(replica)).toBe(sha256(source));
}

describe('backup engine: recovery and housekeeping', () => {
  it('transfers a Premium disk through a streamed staging blob and deletes it afterwards', async () => {
    const plain = azuriteEngineDeps(azurite().connectionString);
    const uploads: Array<{ length: number; md5Matches: boolean }> = [];
    const recording = Object.create(plain.vault) as PageBlobStore;
    recording.uploadPages = async (ref, offset, data, options) => {
      uploads.push({ length: data.length, md5Matches: createHash('md5').update(data).digest().equals(Buffer.from(options.transactionalContentMD5)) });
      return plain.vault.uploadPages(ref, offset, data, options);
    };
    const deps = { ...plain, vault: recording };
    const { vmDisk } = await sourceDisk(azurite().connectionString, 'Premium');
    const itemId = uniqueName('vm');
    const result = await backupVm(deps, { itemId, jobId: 'job-p', recoveryPointId: '1', disks: [vmDisk], capabilities: NO_SERVER_FEATURES, segmentSize: SEGMENT_SIZE });
    expect(result.staged[0]).toMatchObject({ method: 'streamed', bytesCopied: 14 * B + 512 });
    expect(result.staged[0]?.staging.blob).toBe(stagingBlobName(itemId, 'job-p', 0));
    expect(await deps.source.getBlobProperties({ container: vmDisk.container, blob: stagingBlobName(itemId, 'job-p', 0) })).toBeUndefined();
    await expectReplicaEqualsSource(deps, vmDisk, result.manifest);
    expect(result.manifest.disks[0].storageType).toBe('Premium');
    expect(uploads.length).toBe(15);
    expect(uploads.every((u) => u.md5Matches && u.length <= 4 * MIB && u.length % 512 === 0)).toBe(true);
  });

  it('stages by server-side copy only when the probe allows it', async () => {
    const deps = azuriteEngineDeps(azurite().connectionString);
    const { vmDisk } = await sourceDisk(azurite().connectionString, 'Premium');
    const [snapshot] = await snapshotDisks(deps, { itemId: 'vm-copy', recoveryPointId: '1', disks: [vmDisk] });
    const staged = await stageDisk(deps, { itemId: 'vm-copy', jobId: 'j', lun: 0, snapshot, sizeBytes: DISK_SIZE, capabilities: { serverSideCopySafe: true } });
    expect(staged.method).toBe('server-copy');
    const service = blobService(azurite().connectionString);
    expect(sha256(await readWholeBlob(service, staged.staging))).toBe(sha256(await readWholeBlob(service, snapshot)));
  });

  it('converges after a crash in the middle of a segment', async () => {
    const deps = azuriteEngineDeps(azurite().connectionString);
    const { disk, vmDisk } = await sourceDisk(azurite().connectionString);
    const itemId = uniqueName('vm');
    await backupVm(deps, { itemId, jobId: 'job-1', recoveryPointId: '1', disks: [vmDisk], capabilities: NO_SERVER_FEATURES, segmentSize: SEGMENT_SIZE });
    for (const block of [0, 1, 2, 4, 5, 7, 8]) await disk.uploadPages(Buffer.alloc(B, 0x70 + block), block * B, B);

    const [snapshot] = await openViews(deps, { itemId, recoveryPointId: '2', disks: [vmDisk] });
    const plan = await planDiskBackup(deps, { itemId, jobId: 'job-2', lun: 0, source: snapshot, capabilities: NO_SERVER_FEATURES, segmentSize: SEGMENT_SIZE });
    expect(plan.changeDetection).toBe('checksum');
    const segmentInput = (index: number) => ({
      itemId, jobId: 'job-2', lun: 0, segment: plan.segments[index], diskSize: DISK_SIZE, source: snapshot, changeDetection: plan.detection,
      tuning: { readChunkSize: B, maxWritesInFlight: 1 },
    });
    const crashing = crashingAfter(deps.vault, 3);
    await expect(transferSegment({ ...deps, vault: crashing }, segmentInput(0))).rejects.toThrow('simulated crash');
    expect(crashing.uploads).toBe(4);
    // The orchestration retries the activity; the planning activity may run again too.
    const again = await planDiskBackup(deps, { itemId, jobId: 'job-2', lun: 0, source: snapshot, capabilities: NO_SERVER_FEATURES, segmentSize: SEGMENT_SIZE });
    expect(again.changeDetection).toBe('checksum');
    const results = [];
    for (const index of plan.segments.keys()) results.push(await transferSegment(deps, segmentInput(index)));
    expect(results[0].bytesWritten).toBe(7 * B);
    const part = await deps.vault.readBlob({ container: deps.vaultContainer, blob: checksumPartBlobName(itemId, 'job-2', 0, 0) });
    await transferSegment(deps, segmentInput(0)); // once more: same checksum part
    expect((await deps.vault.readBlob({ container: deps.vaultContainer, blob: checksumPartBlobName(itemId, 'job-2', 0, 0) })).equals(part)).toBe(true);

    const commit = await commitRecoveryPoint(deps, {
      itemId, jobId: 'job-2', recoveryPointId: '2', createdAt: '2026-01-02T00:00:00.000Z', consistency: 'CrashConsistent', vmConfig: {},
      disks: [{ lun: 0, name: 'os', storageType: 'Standard', source: snapshot, changeDetection: 'checksum', segmentCount: plan.segments.length }],
    });
    await expectReplicaEqualsSource(deps, vmDisk, commit.manifest);
    const service = blobService(azurite().connectionString);
    const checksums = await readWholeBlob(service, { container: deps.vaultContainer, blob: commit.manifest.disks[0].checksumsBlobName });
    expect(checksums.equals(blockSumsOf(await readWholeBlob(service, blobOf(snapshot))))).toBe(true);
  });

  it('deletes the scratch of a job that held the replica and never committed when the next job plans (a part of a stopped run wrote it late)', async () => {
    const deps = azuriteEngineDeps(azurite().connectionString);
    const { vmDisk } = await sourceDisk(azurite().connectionString);
    const itemId = uniqueName('vm');
    await backupVm(deps, { itemId, jobId: 'job-1', recoveryPointId: '1', disks: [vmDisk], capabilities: NO_SERVER_FEATURES, segmentSize: SEGMENT_SIZE });
    // job-2 plans (takes the replica) and transfers a segment, then is stopped for good: its checksum part stays.
    const [stopped] = await openViews(deps, { itemId, recoveryPointId: '2', disks: [vmDisk] });
    const plan = await planDiskBackup(deps, { itemId, jobId: 'job-2', lun: 0, source: stopped, capabilities: NO_SERVER_FEATURES, segmentSize: SEGMENT_SIZE });
    await transferSegment(deps, { itemId, jobId: 'job-2', lun: 0, segment: plan.segments[0], diskSize: DISK_SIZE, source: stopped, changeDetection: plan.detection });
    const stale = { container: deps.vaultContainer, blob: checksumPartBlobName(itemId, 'job-2', 0, 0) };
    expect(await deps.vault.getBlobProperties(stale)).toBeDefined();

    const [next] = await openViews(deps, { itemId, recoveryPointId: '3', disks: [vmDisk] });
    const replan = await planDiskBackup(deps, { itemId, jobId: 'job-3', lun: 0, source: next, capabilities: NO_SERVER_FEATURES, segmentSize: SEGMENT_SIZE });
    expect(replan.changeDetection).toBe('full');
    expect(await deps.vault.getBlobProperties(stale)).toBeUndefined();
    // Planning again for the same job keeps its own scratch.
    const own = await transferSegment(deps, { itemId, jobId: 'job-3', lun: 0, segment: replan.segments[0], diskSize: DISK_SIZE, source: next, changeDetection: replan.detection });
    await planDiskBackup(deps, { itemId, jobId: 'job-3', lun: 0, source: next, capabilities: NO_SERVER_FEATURES, segmentSize: SEGMENT_SIZE });
    expect(await deps.vault.getBlobProperties({ container: deps.vaultContainer, blob: own.checksumPartBlobName })).toBeDefined();
  });

  it('fences a run declared dead: once a newer run owns the replica, the stale segment writes nothing more and fails KluisReplicaWriterFenced', async () => {
    const deps = azuriteEngineDeps(azurite().connectionString);
    const { disk, vmDisk } = await sourceDisk(azurite().connectionString);
    const itemId = uniqueName('vm');
    const first = await backupVm(deps, { itemId, jobId: 'job-1', recoveryPointId: '1', disks: [vmDisk], capabilities: NO_SERVER_FEATURES, segmentSize: SEGMENT_SIZE });
    for (const block of [0, 1, 2, 3]) await disk.uploadPages(Buffer.alloc(B, 0x50 + block), block * B, B);
    const [stale] = await openViews(deps, { itemId, recoveryPointId: '2', disks: [vmDisk] });
    const plan = async (jobId: string) => planDiskBackup(deps, { itemId, jobId, lun: 0, source: stale, capabilities: NO_SERVER_FEATURES, segmentSize: SEGMENT_SIZE });
    const stalePlan = await plan('job-2');
    const segmentInput = (jobId: string, detection = stalePlan.detection) => ({
      itemId, jobId, lun: 0, segment: stalePlan.segments[0], diskSize: DISK_SIZE, source: stale, changeDetection: detection,
      tuning: { readChunkSize: B, maxWritesInFlight: 1, maxCallsInFlight: 1 },
    });
    // After job-2's first page write, the watchdog declares it dead and job-3 takes the replica over (its plan marks it).
    let uploads = 0;
    const takenOver = Object.create(deps.vault) as PageBlobStore;
    takenOver.uploadPages = async (...args) => {
      uploads += 1;
      await deps.vault.uploadPages(...args);
      if (uploads === 1) await plan('job-3');
    };
    await expect(transferSegment({ ...deps, vault: takenOver }, segmentInput('job-2'))).rejects.toMatchObject({ code: 'KluisReplicaWriterFenced' });
    expect(uploads).toBe(1);
    await expect(deps.vault.getBlobProperties({ container: deps.vaultContainer, blob: checksumPartBlobName(itemId, 'job-2', 0, 0) })).resolves.toBeUndefined();

    // job-3 (the owner) transfers and commits; the point is the source's bytes; the stale run stays fenced after the commit.
    const ownerPlan = await plan('job-3');
    for (const segment of ownerPlan.segments) await transferSegment(deps, { ...segmentInput('job-3', ownerPlan.detection), segment });
    const commit = await commitRecoveryPoint(deps, {
      itemId, jobId: 'job-3', recoveryPointId: '2', createdAt: '2026-01-02T00:00:00.000Z', consistency: 'CrashConsistent', vmConfig: {},
      disks: [{ lun: 0, name: 'os', storageType: 'Standard', source: stale, changeDetection: ownerPlan.changeDetection, segmentCount: ownerPlan.segments.length }],
    });
    await expectReplicaEqualsSource(deps, vmDisk, commit.manifest);
    await expect(transferSegment(deps, segmentInput('job-2'))).rejects.toMatchObject({ code: 'KluisReplicaWriterFenced' });
    expect(first.manifest.disks[0].replica.snapshot).not.toBe(commit.manifest.disks[0].replica.snapshot);
  });

  it('keeps a point invisible until its catalog row exists; a re-run commits it; the sweeper removes abandoned ones', async () => {
    // Real time: the sweeper compares blob times set by the service with the grace cutoff.
    let now = Date.now();
    const deps = azuriteEngineDeps(azurite().connectionString, () => new Date(now));
    const { disk, vmDisk } = await sourceDisk(azurite().connectionString);
    const itemId = uniqueName('vm');
    const capabilities = NO_SERVER_FEATURES;
    const common = { itemId, disks: [vmDisk], capabilities, segmentSize: SEGMENT_SIZE };
    await backupVm(deps, { ...common, jobId: 'job-1', recoveryPointId: '1' });

    await disk.uploadPages(Buffer.alloc(B, 0x55), 5 * B, B);
    const broken = { ...deps, catalog: failingPut(deps.catalog) };
    await expect(backupVm(broken, { ...common, jobId: 'job-2', recoveryPointId: '2' })).rejects.toThrow('before the catalog row');
    expect(await deps.catalog.get(itemId, '2')).toBeUndefined();
    expect(await deps.vault.getBlobProperties({ container: deps.vaultContainer, blob: manifestBlobName(itemId, '2') })).toBeDefined();
    expect((await loadLatestManifest(deps, itemId))?.recoveryPointId).toBe('1');

    // The orchestration re-runs the commit activity: the point becomes visible, with the replica snapshot already taken.
    const snapshotsBefore = await replicaSnapshots(deps, itemId);
    const manifestBefore = await deps.vault.readBlob({ container: deps.vaultContainer, blob: manifestBlobName(itemId, '2') });
    const { parseRecoveryPointManifest, viewOfManifestDisk } = await import('../../lib/engine/domain/recovery-point-manifest');
    const pending = parseRecoveryPointManifest(manifestBefore);
    const rerun = await commitRecoveryPoint(deps, {
      itemId, jobId: 'job-2', recoveryPointId: '2', createdAt: pending.createdAt, consistency: 'CrashConsistent', vmConfig: pending.vmConfig,
      disks: [{ lun: 0, name: vmDisk.blob, storageType: 'Standard', source: viewOfManifestDisk(pending.disks[0], pending.createdAt), changeDetection: 'checksum', segmentCount: 3 }],
    });
    expect(rerun.alreadyCommitted).toBe(false);
    expect(await replicaSnapshots(deps, itemId)).toEqual(snapshotsBefore);
    expect((await deps.catalog.get(itemId, '2'))?.state).toBe('Committed');
    expect(rerun.manifest).toEqual(pending);
    expect((await commitRecoveryPoint(deps, { itemId, jobId: 'job-2', recoveryPointId: '2', createdAt: pending.createdAt, consistency: 'CrashConsistent', vmConfig: {}, disks: [] })).alreadyCommitted).toBe(true);

    // A third backup dies before its row and is abandoned; the next backup must not trust the replica.
    await disk.uploadPages(Buffer.alloc(B, 0x66), 6 * B, B);
    now += 60_000;
    await expect(backupVm(broken, { ...common, jobId: 'job-3', recoveryPointId: '3' })).rejects.toThrow();
    now += 60_000;
    expect(await sweepUncommitted(deps, { itemId, olderThan: new Date(now - 3_600_000) })).toEqual({ recoveryPointIds: [], deletedBlobs: [], deletedSnapshots: [] });
    const swept = await sweepUncommitted(deps, { itemId, olderThan: new Date(now + 3_600_000) });
    expect(swept.recoveryPointIds).toEqual(['3']);
    expect(swept.deletedSnapshots).toHaveLength(1);
    expect(swept.deletedBlobs).toEqual(expect.arrayContaining([manifestBlobName(itemId, '3'), checksumPartBlobName(itemId, 'job-3', 0, 0)]));
    expect(await replicaSnapshots(deps, itemId)).toEqual(snapshotsBefore);
    expect(await deps.vault.getBlobProperties({ container: deps.vaultContainer, blob: manifestBlobName(itemId, '2') })).toBeDefined();

    await disk.uploadPages(Buffer.alloc(B, 0x77), 7 * B, B);
    const fourth = await backupVm(deps, { ...common, jobId: 'job-4', recoveryPointId: '4' });
    expect(fourth.plans[0]).toMatchObject({ changeDetection: 'full', reason: 'the replica holds writes of a job that did not commit' });
    await expectReplicaEqualsSource(deps, vmDisk, fourth.manifest);
  });

  it('deletes the twin of an instant snapshot (a snapshot request answered only on its retry, the first took effect) with the recorded one, and no other point\'s', async () => {
    const deps = azuriteEngineDeps(azurite().connectionString);
    const { vmDisk } = await sourceDisk(azurite().connectionString);
    const itemId = uniqueName('vm');
    const source = deps.source;
    // What the SDK does when the answer to a snapshot request is lost: it asks again, and two snapshots exist.
    const retriedAfterLostAnswer: PageBlobStore = Object.assign(Object.create(source) as PageBlobStore, {
      createSnapshot: async (...args: Parameters<PageBlobStore['createSnapshot']>) => {
        await source.createSnapshot(...args);
        return source.createSnapshot(...args);
      },
    });
    const [taken] = await snapshotDisks({ ...deps, source: retriedAfterLostAnswer }, { itemId, recoveryPointId: '1', disks: [vmDisk] });
    await snapshotDisks(deps, { itemId, recoveryPointId: '2', disks: [vmDisk] });
    const listed = async () => {
      const snapshots = [];
      for await (const s of listInstantSnapshots(deps, { itemId, containers: [vmDisk.container] })) snapshots.push(s.recoveryPointId);
      return snapshots.sort();
    };
    expect(await listed()).toEqual(['1', '1', '2']);

    await deleteInstantSnapshotWithTwins(source, taken);

    expect(await listed()).toEqual(['2']);
  });

  it('lists and expires instant snapshots, and sweeps orphaned staging blobs', async () => {
    let now = Date.parse('2026-01-01T00:00:00.000Z');
    const deps = azuriteEngineDeps(azurite().connectionString, () => new Date(now));
    const { vmDisk } = await sourceDisk(azurite().connectionString);
    const second = { ...vmDisk, lun: 1, blob: 'data.vhd' };
    await blobService(azurite().connectionString).getContainerClient(vmDisk.container).getPageBlobClient('data.vhd').create(B);
    const itemId = uniqueName('vm');
    const old = await snapshotDisks(deps, { itemId, recoveryPointId: '1', disks: [vmDisk, second] });
    expect(old.map((s) => s.lun)).toEqual([0, 1]);
    now += 3 * 86_400_000;
    await snapshotDisks(deps, { itemId, recoveryPointId: '2', disks: [vmDisk, second] });
    const containers = [vmDisk.container];
    const listed = [];
    for await (const s of listInstantSnapshots(deps, { itemId, containers })) listed.push(s.recoveryPointId);
    expect(listed.sort()).toEqual(['1', '1', '2', '2']);

    const expired = await expireInstantSnapshots(deps, { itemId, olderThan: new Date(now - 2 * 86_400_000), containers });
    expect(expired.deleted.map((s) => s.snapshot).sort()).toEqual(old.map((s) => s.snapshot).sort());
    const left = [];
    for await (const s of listInstantSnapshots(deps, { itemId })) left.push(s.recoveryPointId);
    expect(left).toEqual(['2', '2']);

    await expect(snapshotDisks(deps, { itemId, recoveryPointId: '3', disks: [vmDisk, { ...vmDisk, lun: 2, blob: 'missing.vhd' }] })).rejects.toMatchObject({
      code: 'KluisBlobNotFound',
    });
    const afterFailure = [];
    for await (const s of listInstantSnapshots(deps, { itemId, containers })) afterFailure.push(s.recoveryPointId);
    expect(afterFailure).toEqual(['2', '2']);

    const [fresh] = await snapshotDisks(deps, { itemId, recoveryPointId: '4', disks: [vmDisk] });
    now -= 2 * 86_400_000;
    await stageDisk(deps, { itemId, jobId: 'orphan', lun: 0, snapshot: fresh, sizeBytes: DISK_SIZE, capabilities: NO_SERVER_FEATURES });
    now += 2 * 86_400_000;
    await stageDisk(deps, { itemId, jobId: 'running', lun: 0, snapshot: fresh, sizeBytes: DISK_SIZE, capabilities: NO_SERVER_FEATURES });
    const sweep = await sweepStagingBlobs(deps, { olderThan: new Date(now - 86_400_000), containers });
    expect(sweep.deleted).toEqual([{ container: vmDisk.container, blob: stagingBlobName(itemId, 'orphan', 0) }]);
    expect(await deps.source.getBlobProperties({ container: vmDisk.container, blob: stagingBlobName(itemId, 'running', 0) })).toBeDefined();
  });
});

async function replicaSnapshots(deps: BackupEngineDeps, itemId: string): Promise<string[]> {
  const snapshots: string[] = [];
  for await (const blob of deps.vault.listBlobs(deps.vaultContainer, { prefix: `items/${itemId}/disks/`, includeSnapshots: true })) {
    if (blob.snapshot !== undefined) snapshots.push(blob.snapshot);
  }
  return snapshots.sort();
}
