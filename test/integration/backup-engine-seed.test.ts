/**
 * Full backups seeded by a server-side copy (seed-replica.ts) on Azurite: on Azurite with the copy
 * isolation extension a full backup copies the disk onto the replica and its segments only read and hash
 * the replica; every point restores byte-identical to its source snapshot, incrementals after a seeded
 * full are right, and older points (replica snapshots) survive a later seeded full. Plain Azurite, or a
 * vault in another account, streams the full backup as before. Premium disks are seeded from their
 * staging blob; a crash between seed and segments, or in a segment, converges to the same checksums.
 */
import { randomBytes } from 'node:crypto';
import type { PageBlobClient } from '@azure/storage-blob';
import { azuriteExtensions } from '../../emulator/cli';
import { checksumPartBlobName, replicaBlobName, stagingBlobName } from '../../lib/engine/domain/vault-layout';
import { commitRecoveryPoint } from '../../lib/engine/backup/commit-recovery-point';
import { META, type BackupEngineDeps } from '../../lib/engine/engine-deps';
import { planDiskBackup } from '../../lib/engine/backup/plan-disk-backup';
import { restoreDisks } from '../../lib/engine/restore/restore-disks';
import { seedReplica } from '../../lib/engine/backup/seed-replica';
import { transferSegment } from '../../lib/engine/backup/transfer-segment';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { BlobRestoreTargetStore } from '../../lib/stores/azure/blob-restore-target-store';
import { clearCapabilityCache, probeStoreCapabilities } from '../../lib/engine/sources/page-blob/capability-probe';
import type { PageBlobStore } from '../../lib/stores/page-blob-store';
import { blobService, uniqueName, useAzurite } from '../support/azurite';
import { azuriteEngineDeps, backupVm, blobOf, blockSumsOf, openViews, pageBlobSources, readWholeBlob, sha256, silentLogger, type AzuriteEngineDeps, type VmDisk } from '../support/backup-engine';

const KIB = 1024;
const MIB = 1024 * KIB;
const B = 64 * KIB;
const DISK_SIZE = 6 * MIB + 512;
const SEGMENT_SIZE = 2 * MIB;
/** Allocated in createDisk, block-aligned: 4 + 1 (zeros) + 8 + 1 (4 KiB written) blocks and the 512-byte footer block. */
const ALLOCATED_BYTES = 14 * B + 512;
const NONZERO_BYTES = 13 * B + 512;

const extended = useAzurite({ extensions: [...azuriteExtensions] });
const otherAccount = useAzurite({ extensions: [...azuriteExtensions] });
const plain = useAzurite();
afterAll(() => clearCapabilityCache());

async function createDisk(conn: string, storageType: VmDisk['storageType'] = 'Standard'): Promise<{ disk: PageBlobClient; vmDisk: VmDisk }> {
  const container = blobService(conn).getContainerClient(uniqueName('vhds'));
  await container.create();
  const disk = container.getPageBlobClient('disk.vhd');
  await disk.create(DISK_SIZE);
  await disk.uploadPages(randomBytes(4 * B), 0, 4 * B);
  await disk.uploadPages(Buffer.alloc(B), 10 * B, B); // allocated, all zeros
  await disk.uploadPages(randomBytes(8 * B), 20 * B, 8 * B);
  await disk.uploadPages(randomBytes(4 * KIB), 40 * B, 4 * KIB); // part of a block
  await disk.uploadPages(randomBytes(512), DISK_SIZE - 512, 512); // the footer
  return { disk, vmDisk: { lun: 0, container: container.containerName, blob: 'disk.vhd', storageType } };
}

interface VaultCalls {
  uploadPages: number;
  clearPages: number;
  copyBlob: number;
}

/** The vault store with its page writes and copies counted (the source is left alone). */
function countingVault(deps: AzuriteEngineDeps): { deps: AzuriteEngineDeps; calls: VaultCalls } {
  const calls: VaultCalls = { uploadPages: 0, clearPages: 0, copyBlob: 0 };
  const vault = Object.create(deps.vault) as PageBlobStore;
  vault.uploadPages = (...args) => {
    calls.uploadPages += 1;
    return deps.vault.uploadPages(...args);
  };
  vault.clearPages = (...args) => {
    calls.clearPages += 1;
    return deps.vault.clearPages(...args);
  };
  vault.copyBlob = (...args) => {
    calls.copyBlob += 1;
    return deps.vault.copyBlob(...args);
  };
  return { deps: { ...deps, vault }, calls };
}

/** The vault store whose readRange fails after `allowed` calls (a worker dying in mid-segment). */
function readsFailingAfter(store: PageBlobStore, allowed: number): PageBlobStore {
  const wrapped = Object.create(store) as PageBlobStore;
  let reads = 0;
  wrapped.readRange = async (...args) => {
    reads += 1;
    if (reads > allowed) throw new Error('simulated crash');
    return store.readRange(...args);
  };
  return wrapped;
}

async function capabilitiesOf(conn: string) {
  return probeStoreCapabilities(new BlobPageStore(blobService(conn)), { scratchContainer: uniqueName('probe') });
}

/** Restores the point from the vault tier and compares it with the source snapshot it was taken from. */
async function expectRestoresToSource(conn: string, deps: BackupEngineDeps, itemId: string, recoveryPointId: string, source: { container: string; blob: string; snapshot?: string }): Promise<void> {
  const targetContainer = uniqueName('restored');
  const restored = await restoreDisks(
    {
      vault: deps.vault,
      sources: deps.sources,
      target: BlobRestoreTargetStore.fromConnectionString(conn, { retryOptions: { maxTries: 1 } }),
      catalog: deps.catalog,
      clock: () => new Date(),
      log: silentLogger,
    },
    { itemId, recoveryPointId, jobId: uniqueName('restore'), targetContainer, tier: 'HardenedRP' },
  );
  const service = blobService(conn);
  const bytes = await readWholeBlob(service, { container: targetContainer, blob: restored.disks[0].blobName });
  expect(sha256(bytes)).toBe(sha256(await readWholeBlob(service, source)));
}

describe('full backups seeded by a server-side copy', () => {
  it('seeds a full backup on extended Azurite; points restore byte-identical; a diff incremental follows; older points survive a later seeded full', async () => {
    const conn = extended().connectionString;
    const capabilities = await capabilitiesOf(conn);
    expect(capabilities).toMatchObject({ trueDiff: true, serverSideCopySafe: true });
    const { deps, calls } = countingVault(azuriteEngineDeps(conn));
    const service = blobService(conn);
    const { disk, vmDisk } = await createDisk(conn);
    const itemId = uniqueName('vm');
    const common = { itemId, disks: [vmDisk], capabilities, segmentSize: SEGMENT_SIZE };

    const first = await backupVm(deps, { ...common, jobId: 'job-1', recoveryPointId: '1000' });
    expect(first.plans[0]).toMatchObject({
      changeDetection: 'full',
      seed: 'serverSideCopy',
      detection: { kind: 'full', replicaIsNew: true, seed: 'serverSideCopy' },
      reason: 'first backup of this disk; the replica is seeded by a server-side copy',
    });
    const sourceOf = (point: typeof first) => ({ container: vmDisk.container, blob: vmDisk.blob, snapshot: point.snapshots[0].snapshot });
    expect(first.seeded[0]).toEqual({ seed: 'serverSideCopy', replica: { container: deps.vaultContainer, blob: replicaBlobName(itemId, 0) }, copiedFrom: sourceOf(first) });
    expect(calls).toEqual({ uploadPages: 0, clearPages: 0, copyBlob: 1 });
    // The manifest records a full backup; nothing was written through the engine, every allocated block was read back.
    expect(first.manifest.disks[0]).toMatchObject({ changeDetection: 'full', bytesWritten: 0, bytesCleared: 0, bytesRead: ALLOCATED_BYTES });
    expect(first.segments[0].map((s) => s.uploadCalls + s.clearCalls)).toEqual([0, 0, 0, 0]);
    expect(first.segments[0].reduce((n, s) => n + s.blocksChanged, 0)).toBe(14); // nonzero blocks: 4 + 8 + 1 + footer
    // The checksums come from the replica and equal the source's; the replica mirrors the source's allocation (the zero block too).
    const sums = await readWholeBlob(service, { container: deps.vaultContainer, blob: first.manifest.disks[0].checksumsBlobName });
    expect(sums.equals(blockSumsOf(await readWholeBlob(service, sourceOf(first))))).toBe(true);
    const replicaPoint = { container: deps.vaultContainer, blob: first.manifest.disks[0].replica.blobName, snapshot: first.manifest.disks[0].replica.snapshot };
    expect(await deps.vault.listAllocatedRanges(replicaPoint)).toEqual(await deps.source.listAllocatedRanges(sourceOf(first)));
    expect(await deps.vault.listAllocatedRanges(replicaPoint, { start: 10 * B, end: 11 * B })).toEqual([{ start: 10 * B, end: 11 * B }]);
    // The commit dropped the seed mark and marked the replica clean.
    const replicaProps = await deps.vault.getBlobProperties({ container: deps.vaultContainer, blob: replicaBlobName(itemId, 0) });
    expect(replicaProps?.metadata).toMatchObject({ [META.itemId]: itemId, [META.lun]: '0', [META.committedPoint]: '1000' });
    expect(replicaProps?.metadata[META.writingJob] ?? '').toBe('');
    expect(replicaProps?.metadata).not.toHaveProperty(META.seededBy);
    await expectRestoresToSource(conn, deps, itemId, '1000', sourceOf(first));

    // An incremental after the seeded full goes through the diff and writes exactly the changed blocks.
    for (const block of [1, 21, 45]) await disk.uploadPages(randomBytes(B), block * B, B);
    await disk.clearPages(22 * B, B);
    const second = await backupVm(deps, { ...common, jobId: 'job-2', recoveryPointId: '2000' });
    expect(second.plans[0]).toMatchObject({ changeDetection: 'diff' });
    expect(second.plans[0].seed).toBeUndefined();
    expect(second.seeded[0]).toBeUndefined();
    expect(second.manifest.disks[0]).toMatchObject({ changeDetection: 'diff', bytesWritten: 3 * B, bytesCleared: B });
    await expectRestoresToSource(conn, deps, itemId, '2000', sourceOf(second));

    // A resize forces a full backup, seeded again: the replica is replaced, its snapshots (points 1000 and 2000) stay.
    await disk.resize(DISK_SIZE + 2 * MIB);
    await disk.uploadPages(randomBytes(B), DISK_SIZE + MIB - 512, B);
    const third = await backupVm(deps, { ...common, jobId: 'job-3', recoveryPointId: '3000' });
    expect(third.plans[0]).toMatchObject({ changeDetection: 'full', seed: 'serverSideCopy' });
    expect(third.plans[0].reason).toMatch(/^the disk size changed .*; the replica is seeded by a server-side copy$/);
    expect(third.manifest.disks[0]).toMatchObject({ sizeBytes: DISK_SIZE + 2 * MIB, bytesWritten: 0 });
    expect(calls.copyBlob).toBe(2);
    await expectRestoresToSource(conn, deps, itemId, '3000', sourceOf(third));
    await expectRestoresToSource(conn, deps, itemId, '2000', sourceOf(second));
    await expectRestoresToSource(conn, deps, itemId, '1000', sourceOf(first));

    // And the diff path after the second seeded full.
    await disk.uploadPages(randomBytes(B), 30 * B, B);
    const fourth = await backupVm(deps, { ...common, jobId: 'job-4', recoveryPointId: '4000' });
    expect(fourth.manifest.disks[0]).toMatchObject({ changeDetection: 'diff', bytesWritten: B, bytesCleared: 0 });
    await expectRestoresToSource(conn, deps, itemId, '4000', sourceOf(fourth));
  }, 60_000);

  it('streams the full backup on plain Azurite, as before', async () => {
    const conn = plain().connectionString;
    const capabilities = await capabilitiesOf(conn);
    expect(capabilities.serverSideCopySafe).toBe(false);
    const { deps, calls } = countingVault(azuriteEngineDeps(conn));
    const { vmDisk } = await createDisk(conn);
    const itemId = uniqueName('vm');
    const first = await backupVm(deps, { itemId, jobId: 'job-1', recoveryPointId: '1', disks: [vmDisk], capabilities, segmentSize: SEGMENT_SIZE });
    expect(first.plans[0]).toMatchObject({ changeDetection: 'full', reason: 'first backup of this disk', detection: { kind: 'full', replicaIsNew: true } });
    expect(first.plans[0].seed).toBeUndefined();
    expect(first.plans[0].detection).not.toHaveProperty('seed');
    expect(first.seeded[0]).toBeUndefined();
    expect(first.manifest.disks[0].bytesWritten).toBe(NONZERO_BYTES);
    expect(calls.copyBlob).toBe(0);
    expect(calls.uploadPages).toBeGreaterThan(0);
    await expectRestoresToSource(conn, deps, itemId, '1', { ...vmDisk, snapshot: first.snapshots[0].snapshot });
  }, 30_000);

  it('streams the full backup when the vault is another storage account, even where copies are safe', async () => {
    const sourceConn = extended().connectionString;
    const capabilities = await capabilitiesOf(sourceConn);
    expect(capabilities.serverSideCopySafe).toBe(true);
    const vaultSide = azuriteEngineDeps(otherAccount().connectionString);
    const sourceAccount = new BlobPageStore(blobService(sourceConn));
    const { deps, calls } = countingVault({ ...vaultSide, source: sourceAccount, sources: pageBlobSources(sourceAccount) });
    expect(deps.source.endpoint).not.toBe(deps.vault.endpoint);
    const { vmDisk } = await createDisk(sourceConn);
    const itemId = uniqueName('vm');
    const first = await backupVm(deps, { itemId, jobId: 'job-1', recoveryPointId: '1', disks: [vmDisk], capabilities, segmentSize: SEGMENT_SIZE });
    expect(first.plans[0]).toMatchObject({ changeDetection: 'full', reason: 'first backup of this disk' });
    expect(first.plans[0].seed).toBeUndefined();
    expect(calls.copyBlob).toBe(0);
    expect(first.manifest.disks[0].bytesWritten).toBe(NONZERO_BYTES);
    const replica = await readWholeBlob(blobService(otherAccount().connectionString), {
      container: deps.vaultContainer,
      blob: first.manifest.disks[0].replica.blobName,
      snapshot: first.manifest.disks[0].replica.snapshot,
    });
    expect(sha256(replica)).toBe(sha256(await readWholeBlob(blobService(sourceConn), { ...vmDisk, snapshot: first.snapshots[0].snapshot })));
    // Asked directly, the seed refuses two accounts.
    await expect(
      seedReplica(deps, { itemId, jobId: 'job-1', lun: 0, source: first.views[0] }),
    ).rejects.toMatchObject({ code: 'KluisReplicaSeedFailed' });
  }, 30_000);

  it('seeds a Premium disk from its staging blob and still deletes the staging blob', async () => {
    const conn = extended().connectionString;
    const capabilities = await capabilitiesOf(conn);
    const { deps, calls } = countingVault(azuriteEngineDeps(conn));
    const { vmDisk } = await createDisk(conn, 'Premium');
    const itemId = uniqueName('vm');
    const first = await backupVm(deps, { itemId, jobId: 'job-p', recoveryPointId: '1', disks: [vmDisk], capabilities, segmentSize: SEGMENT_SIZE });
    const staging = { container: vmDisk.container, blob: stagingBlobName(itemId, 'job-p', 0) };
    expect(first.staged[0]).toMatchObject({ method: 'server-copy', staging });
    expect(first.seeded[0]?.copiedFrom).toEqual(staging);
    expect(calls).toEqual({ uploadPages: 0, clearPages: 0, copyBlob: 1 });
    expect(await deps.source.getBlobProperties(staging)).toBeUndefined();
    expect(first.manifest.disks[0]).toMatchObject({ storageType: 'Premium', changeDetection: 'full', bytesWritten: 0, bytesRead: ALLOCATED_BYTES });
    await expectRestoresToSource(conn, deps, itemId, '1', { ...vmDisk, snapshot: first.snapshots[0].snapshot });
  }, 30_000);

  it('converges after a crash between seed and segments and in a segment: same checksums; an unfinished seeded job is not trusted', async () => {
    const conn = extended().connectionString;
    const capabilities = await capabilitiesOf(conn);
    const deps = azuriteEngineDeps(conn);
    const service = blobService(conn);
    const { disk, vmDisk } = await createDisk(conn);
    const itemId = uniqueName('vm');
    const replica = { container: deps.vaultContainer, blob: replicaBlobName(itemId, 0) };

    const [snapshot] = await openViews(deps, { itemId, recoveryPointId: '1', disks: [vmDisk] });
    const plan = await planDiskBackup(deps, { itemId, jobId: 'job-1', lun: 0, source: snapshot, capabilities, segmentSize: SEGMENT_SIZE });
    expect(plan.seed).toBe('serverSideCopy');
    const segmentInput = (index: number) => ({
      itemId, jobId: 'job-1', lun: 0, segment: plan.segments[index], diskSize: DISK_SIZE, source: snapshot, changeDetection: plan.detection,
      tuning: { readChunkSize: B, maxReadsInFlight: 1 },
    });
    const seedInput = { itemId, jobId: 'job-1', lun: 0, source: snapshot };
    const partOf = (index: number) => deps.vault.readBlob({ container: deps.vaultContainer, blob: checksumPartBlobName(itemId, 'job-1', 0, index) });

    // A segment never hashes a replica its job has not seeded.
    await expect(transferSegment(deps, segmentInput(0))).rejects.toMatchObject({ code: 'KluisReplicaSeedFailed' });
    await seedReplica(deps, seedInput);
    // The worker dies after the seed; the retried activity copies again.
    await seedReplica(deps, seedInput);
    // The copy kept the plan's metadata (Azurite drops the empty `kluiscommittedpoint`); the seed mark is added.
    const seededProps = await deps.vault.getBlobProperties(replica);
    expect(seededProps?.metadata).toEqual({ [META.itemId]: itemId, [META.lun]: '0', [META.writingJob]: 'job-1', [META.seededBy]: 'job-1' });
    // A segment dies in the middle of its reads, then runs again.
    await expect(transferSegment({ ...deps, vault: readsFailingAfter(deps.vault, 2) }, segmentInput(0))).rejects.toThrow('simulated crash');
    const results = [];
    for (const index of plan.segments.keys()) results.push(await transferSegment(deps, segmentInput(index)));
    expect(results.map((r) => r.bytesWritten)).toEqual([0, 0, 0, 0]);
    const part0 = await partOf(0);
    expect(await transferSegment(deps, segmentInput(0))).toEqual(results[0]);
    expect((await partOf(0)).equals(part0)).toBe(true);

    const commit = await commitRecoveryPoint(deps, {
      itemId, jobId: 'job-1', recoveryPointId: '1', createdAt: '2026-01-01T00:00:00.000Z', consistency: 'CrashConsistent', vmConfig: {},
      disks: [{ lun: 0, name: 'disk', storageType: 'Standard', source: snapshot, changeDetection: plan.changeDetection, segmentCount: plan.segments.length }],
    });
    expect(commit.manifest.disks[0]).toMatchObject({ changeDetection: 'full', bytesWritten: 0, bytesRead: ALLOCATED_BYTES });
    const checksums = await readWholeBlob(service, { container: deps.vaultContainer, blob: commit.manifest.disks[0].checksumsBlobName });
    expect(checksums.equals(blockSumsOf(await readWholeBlob(service, blobOf(snapshot))))).toBe(true);
    await expectRestoresToSource(conn, deps, itemId, '1', blobOf(snapshot));

    // Job 2 (a full after a resize) seeds the replica with newer bytes and dies before its segments.
    await disk.resize(DISK_SIZE + MIB);
    await disk.uploadPages(randomBytes(B), 5 * B, B);
    const [snapshot2] = await openViews(deps, { itemId, recoveryPointId: '2', disks: [vmDisk] });
    expect(snapshot2.sizeBytes).toBe(DISK_SIZE + MIB);
    const plan2 = await planDiskBackup(deps, { itemId, jobId: 'job-2', lun: 0, source: snapshot2, capabilities, segmentSize: SEGMENT_SIZE });
    expect(plan2).toMatchObject({ changeDetection: 'full', seed: 'serverSideCopy' });
    await seedReplica(deps, { itemId, jobId: 'job-2', lun: 0, source: snapshot2 });
    // Job 3 must not trust the replica: a full, seeded again; point 1 is untouched.
    await disk.uploadPages(randomBytes(B), 6 * B, B);
    const third = await backupVm(deps, { itemId, jobId: 'job-3', recoveryPointId: '3', disks: [vmDisk], capabilities, segmentSize: SEGMENT_SIZE });
    expect(third.plans[0]).toMatchObject({ changeDetection: 'full', seed: 'serverSideCopy', reason: 'the replica holds writes of a job that did not commit; the replica is seeded by a server-side copy' });
    await expectRestoresToSource(conn, deps, itemId, '3', { ...vmDisk, snapshot: third.snapshots[0].snapshot });
    await expectRestoresToSource(conn, deps, itemId, '1', blobOf(snapshot));
  }, 60_000);
});
