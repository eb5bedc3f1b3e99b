/**
 * The engine over a source that is not a blob in the vault's account (the memory backend; the vault, catalog
 * and restore target on Azurite): nothing in the engine may assume a view is a blob snapshot it can copy or
 * stage. Full and diff backups read only through the seam (no staging even for Premium, no seeding), views
 * are released after every backup and restore, restores from the instant-restore views and from the vault are
 * byte-identical, deleting the snapshot tier deletes the views, and a view that disappears fails the transfer
 * with KluisSourceViewNotFound.
 */
import { createHash, randomBytes } from 'node:crypto';
import { transferSegment } from '../../lib/engine/backup/transfer-segment';
import { planDiskBackup } from '../../lib/engine/backup/plan-disk-backup';
import type { VmDiskRequest } from '../../lib/engine/domain/backup-job';
import { BLOCK_SIZE } from '../../lib/engine/domain/block-sums';
import type { BackupEngineDeps } from '../../lib/engine/engine-deps';
import { deleteRecoveryPointSnapshotTier } from '../../lib/engine/recovery-points/delete-recovery-point';
import { restoreDisks } from '../../lib/engine/restore/restore-disks';
import { MemoryDiskBackend } from '../../lib/engine/sources/memory/memory-backend';
import { sourceDiskRegistry } from '../../lib/engine/sources/registry';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { BlobRestoreTargetStore } from '../../lib/stores/azure/blob-restore-target-store';
import { TableRecoveryPointCatalog } from '../../lib/stores/azure/table-recovery-point-catalog';
import { blobService, uniqueName, uniqueTableName, useAzurite } from '../support/azurite';
import { backupVm, openViews, readWholeBlob, silentLogger } from '../support/backup-engine';

const MIB = 1024 * 1024;
const DISK_SIZE = 4 * MIB;
const azurite = useAzurite();

interface World {
  memory: MemoryDiskBackend;
  deps: BackupEngineDeps;
  disks: VmDiskRequest[];
  itemId: string;
}

function world(): World {
  const conn = azurite().connectionString;
  const memory = new MemoryDiskBackend();
  const disks: VmDiskRequest[] = [
    { lun: 0, kind: 'memory', id: uniqueName('os'), storageType: 'Standard' },
    { lun: 1, kind: 'memory', id: uniqueName('data'), storageType: 'Premium' },
  ];
  for (const disk of disks) {
    memory.createDisk(idOf(disk), DISK_SIZE);
    memory.write(idOf(disk), 0, randomBytes(MIB));
    memory.write(idOf(disk), 3 * MIB, randomBytes(64 * 1024));
  }
  const deps: BackupEngineDeps = {
    sources: sourceDiskRegistry(memory),
    vault: BlobPageStore.fromConnectionString(conn, { retryOptions: { maxTries: 1 } }),
    vaultContainer: uniqueName('vault'),
    catalog: TableRecoveryPointCatalog.fromConnectionString(conn, uniqueTableName('points'), { retryOptions: { maxRetries: 0 } }),
    clock: () => new Date(),
    log: silentLogger,
  };
  return { memory, deps, disks, itemId: uniqueName('vm') };
}

function idOf(disk: VmDiskRequest): string {
  return 'id' in disk ? disk.id : '';
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function restore(w: World, recoveryPointId: string, tier: 'InstantRP' | 'HardenedRP' | 'Auto') {
  const conn = azurite().connectionString;
  const targetContainer = uniqueName('restored');
  const result = await restoreDisks(
    { vault: w.deps.vault, sources: w.deps.sources, target: BlobRestoreTargetStore.fromConnectionString(conn), catalog: w.deps.catalog, clock: () => new Date(), log: silentLogger },
    { itemId: w.itemId, recoveryPointId, jobId: uniqueName('restore'), targetContainer, tier },
  );
  const bytes = await Promise.all(result.disks.map((d) => readWholeBlob(blobService(conn), { container: targetContainer, blob: d.blobName })));
  return { result, bytes };
}

describe('the engine over the memory backend', () => {
  it('backs up full then by the exact diff, without staging or seeding, releases every view, and restores both tiers byte for byte', async () => {
    const w = world();
    const capabilities = await w.memory.capabilities();
    const first = await backupVm(w.deps, { itemId: w.itemId, jobId: 'job-1', recoveryPointId: '1', disks: w.disks, capabilities });
    expect(first.plans.map((p) => [p.changeDetection, p.stage, p.seed])).toEqual([
      ['full', false, undefined],
      ['full', false, undefined],
    ]);
    expect(first.staged).toEqual([undefined, undefined]);
    expect(first.manifest.disks.map((d) => d.source)).toEqual(first.views.map((v) => ({ kind: 'memory', diskId: v.diskId, handle: v.handle })));
    expect(w.memory.heldViews()).toEqual([]);
    const atFirst = w.disks.map((d) => w.memory.contents(idOf(d)));

    w.memory.write(idOf(w.disks[0]), 2 * MIB, randomBytes(2 * BLOCK_SIZE));
    w.memory.clear(idOf(w.disks[1]), 3 * MIB, 64 * 1024);
    const second = await backupVm(w.deps, { itemId: w.itemId, jobId: 'job-2', recoveryPointId: '2', disks: w.disks, capabilities });
    expect(second.plans.map((p) => p.changeDetection)).toEqual(['diff', 'diff']);
    expect(second.manifest.disks.map((d) => [d.bytesWritten, d.bytesCleared])).toEqual([
      [2 * BLOCK_SIZE, 0],
      [0, 64 * 1024],
    ]);
    expect(w.memory.heldViews()).toEqual([]);
    const atSecond = w.disks.map((d) => w.memory.contents(idOf(d)));

    for (const [point, expected] of [
      ['1', atFirst],
      ['2', atSecond],
    ] as const) {
      const instant = await restore(w, point, 'InstantRP');
      expect(instant.result.disks.map((d) => [d.tier, d.method])).toEqual([
        ['InstantRP', 'streamed'],
        ['InstantRP', 'streamed'],
      ]);
      expect(instant.bytes.map(sha256)).toEqual(expected.map(sha256));
      const vault = await restore(w, point, 'HardenedRP');
      expect(vault.bytes.map(sha256)).toEqual(expected.map(sha256));
    }
    expect(w.memory.heldViews()).toEqual([]);

    // Deleting the snapshot tier deletes the point's views; a restore then reads the vault.
    const viewsBefore = w.memory.viewIds().length;
    await deleteRecoveryPointSnapshotTier({ vault: w.deps.vault, sources: w.deps.sources, catalog: w.deps.catalog, log: silentLogger }, { itemId: w.itemId, recoveryPointId: '1' });
    expect(w.memory.viewIds()).toHaveLength(viewsBefore - 2);
    for (const view of first.views) expect(await w.memory.describeView(view)).toEqual({ status: 'gone' });
    const auto = await restore(w, '1', 'Auto');
    expect(auto.result.disks.map((d) => d.tier)).toEqual(['HardenedRP', 'HardenedRP']);
    expect(auto.bytes.map(sha256)).toEqual(atFirst.map(sha256));
  });

  it('a view deleted behind the engine’s back fails its segment with KluisSourceViewNotFound; without the previous views the next backup compares checksums', async () => {
    const w = world();
    const capabilities = await w.memory.capabilities();
    const first = await backupVm(w.deps, { itemId: w.itemId, jobId: 'job-1', recoveryPointId: '1', disks: w.disks, capabilities });
    const [view] = await openViews(w.deps, { itemId: w.itemId, recoveryPointId: '2', disks: [w.disks[0]] });
    const plan = await planDiskBackup(w.deps, { itemId: w.itemId, jobId: 'job-2', lun: 0, source: view, capabilities });
    expect(plan.changeDetection).toBe('diff');
    w.memory.removeView(view);
    await expect(
      transferSegment(w.deps, { itemId: w.itemId, jobId: 'job-2', lun: 0, segment: plan.segments[0], diskSize: view.sizeBytes, source: view, changeDetection: plan.detection }),
    ).rejects.toMatchObject({ code: 'KluisSourceViewNotFound' });
    // As the orchestrations do after a failure: the views the job read are released.
    if (plan.detection.kind !== 'diff') throw new Error('expected a diff plan');
    await w.memory.release([view, plan.detection.previous]);

    // The previous point's views gone too: the next plan falls back to checksums.
    for (const gone of first.views) w.memory.removeView(gone);
    const third = await backupVm(w.deps, { itemId: w.itemId, jobId: 'job-3', recoveryPointId: '3', disks: w.disks, capabilities });
    // Disk 0's replica holds job 2's unfinished writes: a full backup; disk 1 compares checksums.
    expect(third.plans.map((p) => [p.changeDetection, p.reason])).toEqual([
      ['full', 'the replica holds writes of a job that did not commit'],
      ['checksum', "checksums of point 1: the previous point's source snapshot is gone"],
    ]);
    expect(w.memory.heldViews()).toEqual([]);
  });
});
