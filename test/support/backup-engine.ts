/**
 * Test (and benchmark) driver for the page-blob backup engine: runs the use cases in the order the
 * backup orchestration will (snapshot → plan → stage → seed (when planned) → segments → commit → delete staging), in
 * process, plus helpers to build engine deps on Azurite and to read whole blobs.
 */
import { createHash } from 'node:crypto';
import type { BlobServiceClient } from '@azure/storage-blob';
import { BlockSums, encodeBlockSums } from '../../lib/engine/domain/block-sums';
import type { KeyAndSecretBackup, RecoveryPointManifest, StorageType } from '../../lib/engine/domain/recovery-point-manifest';
import { commitRecoveryPoint, type CommitRecoveryPointResult } from '../../lib/engine/backup/commit-recovery-point';
import type { BackupEngineDeps, EngineLogger } from '../../lib/engine/engine-deps';
import { planDiskBackup, type DiskBackupPlan } from '../../lib/engine/backup/plan-disk-backup';
import { snapshotDisks, type InstantSnapshot } from '../../lib/engine/sources/page-blob/instant-snapshots';
import { seedReplica, type SeededReplica } from '../../lib/engine/backup/seed-replica';
import { deleteStagingBlob, stageDisk, type StagedDisk } from '../../lib/engine/sources/page-blob/staging';
import { transferSegment, type TransferSegmentResult, type TransferTuning } from '../../lib/engine/backup/transfer-segment';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import type { StoreCapabilities } from '../../lib/engine/sources/page-blob/capability-probe';
import { TableRecoveryPointCatalog } from '../../lib/stores/azure/table-recovery-point-catalog';
import type { BlobRef } from '../../lib/stores/disk-store';
import { blobService, uniqueName, uniqueTableName } from './azurite';

export const silentLogger: EngineLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Engine deps on one Azurite account (source and vault share it, in different containers); retries off. */
export function azuriteEngineDeps(connectionString: string, clock: () => Date = () => new Date()): BackupEngineDeps {
  const store = new BlobPageStore(blobService(connectionString));
  return {
    source: store,
    vault: store,
    vaultContainer: uniqueName('vault'),
    catalog: TableRecoveryPointCatalog.fromConnectionString(connectionString, uniqueTableName('points'), {
      retryOptions: { maxRetries: 0 },
    }),
    clock,
    log: silentLogger,
  };
}

export interface VmDisk {
  lun: number;
  container: string;
  blob: string;
  storageType: StorageType;
}

export interface BackupVmInput {
  itemId: string;
  jobId: string;
  recoveryPointId: string;
  disks: readonly VmDisk[];
  capabilities: Pick<StoreCapabilities, 'trueDiff' | 'serverSideCopySafe'>;
  segmentSize?: number;
  tuning?: TransferTuning;
  /** Segments of one disk transferred at once (the orchestration's fan-out bound). Default 4. */
  segmentParallelism?: number;
  /** Encrypted VMs: the key and secret backups to commit with the point (backup-key-and-secret.ts). */
  keyAndSecret?: KeyAndSecretBackup;
}

export interface BackupVmResult {
  snapshots: InstantSnapshot[];
  plans: DiskBackupPlan[];
  staged: Array<StagedDisk | undefined>;
  /** Per disk: what seedReplica did, when the plan seeds the replica by a server-side copy. */
  seeded: Array<SeededReplica | undefined>;
  segments: TransferSegmentResult[][];
  commit: CommitRecoveryPointResult;
  manifest: RecoveryPointManifest;
}

export async function backupVm(deps: BackupEngineDeps, input: BackupVmInput): Promise<BackupVmResult> {
  const createdAt = deps.clock().toISOString();
  const snapshots = await snapshotDisks(deps, { itemId: input.itemId, recoveryPointId: input.recoveryPointId, disks: input.disks });
  const plans: DiskBackupPlan[] = [];
  const staged: Array<StagedDisk | undefined> = [];
  const seeded: Array<SeededReplica | undefined> = [];
  const segments: TransferSegmentResult[][] = [];
  for (const [i, disk] of input.disks.entries()) {
    const snapshot = snapshots[i];
    const plan = await planDiskBackup(deps, {
      itemId: input.itemId,
      jobId: input.jobId,
      lun: disk.lun,
      source: snapshot,
      sizeBytes: snapshot.sizeBytes,
      capabilities: input.capabilities,
      segmentSize: input.segmentSize,
    });
    plans.push(plan);
    let stagedDisk: StagedDisk | undefined;
    try {
      if (disk.storageType === 'Premium') {
        stagedDisk = await stageDisk(deps, {
          itemId: input.itemId,
          jobId: input.jobId,
          lun: disk.lun,
          snapshot,
          sizeBytes: snapshot.sizeBytes,
          capabilities: input.capabilities,
        });
      }
      staged.push(stagedDisk);
      seeded.push(
        plan.seed === undefined
          ? undefined
          : await seedReplica(deps, {
              itemId: input.itemId,
              jobId: input.jobId,
              lun: disk.lun,
              source: snapshot,
              readFrom: stagedDisk?.staging,
              sizeBytes: snapshot.sizeBytes,
            }),
      );
      segments.push(
        await mapBounded(plan.segments, input.segmentParallelism ?? 4, (segment) =>
          transferSegment(deps, {
            itemId: input.itemId,
            jobId: input.jobId,
            lun: disk.lun,
            segment,
            diskSize: snapshot.sizeBytes,
            source: snapshot,
            readFrom: stagedDisk?.staging,
            changeDetection: plan.detection,
            tuning: input.tuning,
          }),
        ),
      );
    } finally {
      if (disk.storageType === 'Premium') {
        await deleteStagingBlob(deps, { itemId: input.itemId, jobId: input.jobId, lun: disk.lun, container: disk.container });
      }
    }
  }
  const commit = await commitRecoveryPoint(deps, {
    itemId: input.itemId,
    jobId: input.jobId,
    recoveryPointId: input.recoveryPointId,
    createdAt,
    consistency: 'CrashConsistent',
    vmConfig: { name: input.itemId },
    disks: input.disks.map((disk, i) => ({
      lun: disk.lun,
      name: disk.blob,
      sizeBytes: snapshots[i].sizeBytes,
      storageType: disk.storageType,
      source: snapshots[i],
      changeDetection: plans[i].changeDetection,
      segmentCount: plans[i].segments.length,
    })),
    ...(input.keyAndSecret === undefined ? {} : { keyAndSecret: input.keyAndSecret }),
  });
  return { snapshots, plans, staged, seeded, segments, commit, manifest: commit.manifest };
}

export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Every byte of a blob or snapshot. */
export async function readWholeBlob(service: BlobServiceClient, ref: BlobRef): Promise<Buffer> {
  const client = service.getContainerClient(ref.container).getBlobClient(ref.blob);
  return (ref.snapshot ? client.withSnapshot(ref.snapshot) : client).downloadToBuffer();
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The block sums of a whole disk image, computed from its bytes (what the checksums blob must hold). */
export function blockSumsOf(image: Buffer, blockSize = 64 * 1024): Buffer {
  const sums = BlockSums.create({ diskSize: image.length, blockSize });
  for (let start = 0; start < image.length; start += blockSize) {
    sums.recordBlock(start / blockSize, image.subarray(start, Math.min(start + blockSize, image.length)));
  }
  return encodeBlockSums(sums);
}
