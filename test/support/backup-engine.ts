/**
 * Test (and benchmark) driver for the backup engine on page blobs: runs the use cases in the order the
 * backupDisks orchestration does (open views → plan → stage → seed (when planned) → segments → delete staging →
 * release → commit), in process, plus helpers to build engine deps on Azurite and to read whole blobs.
 */
import { createHash } from 'node:crypto';
import type { BlobServiceClient } from '@azure/storage-blob';
import { BlockSums, encodeBlockSums } from '../../lib/engine/domain/block-sums';
import type { KeyAndSecretBackup, RecoveryPointManifest, StorageType } from '../../lib/engine/domain/recovery-point-manifest';
import { commitRecoveryPoint, type CommitRecoveryPointResult } from '../../lib/engine/backup/commit-recovery-point';
import type { BackupEngineDeps, EngineLogger } from '../../lib/engine/engine-deps';
import { planDiskBackup, type DiskBackupPlan } from '../../lib/engine/backup/plan-disk-backup';
import { discoverSourceDisks, openSourceViews, releaseSourceViews } from '../../lib/engine/backup/source-views';
import { seedReplica } from '../../lib/engine/backup/seed-replica';
import { deleteStagingCopy, stageDisk } from '../../lib/engine/backup/stage-disk';
import { transferSegment, type TransferSegmentResult, type TransferTuning } from '../../lib/engine/backup/transfer-segment';
import type { DiscoveredVmDisk, SeededReplica, StagedDisk, VmDiskRequest } from '../../lib/engine/domain/backup-job';
import type { DiskView } from '../../lib/engine/domain/disk-view';
import { PageBlobBackend } from '../../lib/engine/sources/page-blob/page-blob-backend';
import { sourceDiskRegistry, type SourceDiskRegistry } from '../../lib/engine/sources/registry';
import type { SourceCapabilities } from '../../lib/engine/sources/source-disk';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { TableRecoveryPointCatalog } from '../../lib/stores/azure/table-recovery-point-catalog';
import type { BlobRef } from '../../lib/stores/disk-store';
import type { PageBlobStore } from '../../lib/stores/page-blob-store';
import { blobService, uniqueName, uniqueTableName } from './azurite';

export const silentLogger: EngineLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** The page-blob backend over `source` (and more accounts whose snapshots may be read), as the app wires it. */
export function pageBlobSources(source: PageBlobStore, options: { otherAccounts?: PageBlobStore[]; clock?: () => Date; probeContainer?: string } = {}): SourceDiskRegistry {
  return sourceDiskRegistry(new PageBlobBackend({ source, log: silentLogger, ...options }));
}

/** Engine deps plus the source account itself (tests look at its blobs). */
export type AzuriteEngineDeps = BackupEngineDeps & { source: PageBlobStore };

/** Engine deps on one Azurite account (source and vault share it, in different containers); retries off. */
export function azuriteEngineDeps(connectionString: string, clock: () => Date = () => new Date()): AzuriteEngineDeps {
  const store = new BlobPageStore(blobService(connectionString));
  return {
    source: store,
    sources: pageBlobSources(store, { clock }),
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
  /** Page blobs (VmDisk), or disks of another kind. */
  disks: readonly VmDiskRequest[];
  capabilities: SourceCapabilities;
  segmentSize?: number;
  tuning?: TransferTuning;
  /** Segments of one disk transferred at once (the orchestration's fan-out bound). Default 4. */
  segmentParallelism?: number;
  /** Encrypted VMs: the key and secret backups to commit with the point (backup-key-and-secret.ts). */
  keyAndSecret?: KeyAndSecretBackup;
}

/** A page-blob view as the blob snapshot it is. */
export interface ViewSnapshot {
  lun: number;
  container: string;
  blob: string;
  snapshot: string;
  sizeBytes: number;
}

export interface BackupVmResult {
  views: DiskView[];
  /** Page blobs: the views as blob snapshots. */
  snapshots: ViewSnapshot[];
  plans: DiskBackupPlan[];
  /** Per disk: its staging copy, also as the staging blob. */
  staged: Array<(StagedDisk & { staging: BlobRef }) | undefined>;
  /** Per disk: what seedReplica did, when the plan seeds the replica by a server-side copy. */
  seeded: Array<SeededReplica | undefined>;
  segments: TransferSegmentResult[][];
  commit: CommitRecoveryPointResult;
  manifest: RecoveryPointManifest;
}

/**
 * The disks as discovery describes them: page blobs without asking (the tests' page blobs need not be valid
 * VHDs), other kinds by their backend.
 */
export async function discovered(deps: Pick<BackupEngineDeps, 'sources'>, disks: readonly VmDiskRequest[]): Promise<DiscoveredVmDisk[]> {
  const pageBlobs = disks.filter((disk): disk is VmDisk => 'container' in disk);
  if (pageBlobs.length === disks.length) return pageBlobs.map((disk) => ({ ...disk, kind: 'pageBlob', name: disk.blob, sizeBytes: 0 }));
  return discoverSourceDisks(deps, { disks });
}

/** Opens the disks' views together (page blobs: snapshots), as the snapshotDisks activity does. */
export async function openViews(deps: BackupEngineDeps, input: { itemId: string; recoveryPointId: string; disks: readonly VmDiskRequest[] }): Promise<DiskView[]> {
  return openSourceViews(deps, { itemId: input.itemId, recoveryPointId: input.recoveryPointId, disks: await discovered(deps, input.disks) });
}

export async function backupVm(deps: BackupEngineDeps, input: BackupVmInput): Promise<BackupVmResult> {
  const createdAt = deps.clock().toISOString();
  const views = await openViews(deps, input);
  const plans: DiskBackupPlan[] = [];
  const staged: BackupVmResult['staged'] = [];
  const seeded: Array<SeededReplica | undefined> = [];
  const segments: TransferSegmentResult[][] = [];
  const key = (lun: number) => ({ itemId: input.itemId, jobId: input.jobId, lun });
  try {
    for (const [i, disk] of input.disks.entries()) {
      const view = views[i];
      const plan = await planDiskBackup(deps, {
        ...key(disk.lun),
        source: view,
        storageType: disk.storageType,
        capabilities: input.capabilities,
        segmentSize: input.segmentSize,
      });
      plans.push(plan);
      try {
        const stagedDisk = plan.stage ? await stageDisk(deps, { ...key(disk.lun), view, capabilities: input.capabilities }) : undefined;
        staged.push(stagedDisk && { ...stagedDisk, staging: blobOf(stagedDisk.view) });
        const readFrom = stagedDisk?.view;
        seeded.push(plan.seed === undefined ? undefined : await seedReplica(deps, { ...key(disk.lun), source: view, readFrom }));
        segments.push(
          await mapBounded(plan.segments, input.segmentParallelism ?? 4, (segment) =>
            transferSegment(deps, {
              ...key(disk.lun),
              segment,
              diskSize: view.sizeBytes,
              source: view,
              readFrom,
              changeDetection: plan.detection,
              tuning: input.tuning,
            }),
          ),
        );
      } finally {
        if (plan.stage) await deleteStagingCopy(deps, { ...key(disk.lun), view });
      }
    }
  } finally {
    // The views read: this point's, and the previous point's that the diffs read (the backupDisk orchestration releases those).
    const earlier = plans.flatMap((plan) => (plan.detection.kind === 'diff' ? [plan.detection.previous] : []));
    await releaseSourceViews(deps, { views: [...views, ...earlier] });
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
      name: 'blob' in disk ? disk.blob : disk.id,
      storageType: disk.storageType,
      source: views[i],
      changeDetection: plans[i].changeDetection,
      segmentCount: plans[i].segments.length,
    })),
    ...(input.keyAndSecret === undefined ? {} : { keyAndSecret: input.keyAndSecret }),
  });
  const snapshots = views.flatMap((view) => (view.kind === 'pageBlob' ? [{ lun: view.lun, ...blobOf(view), snapshot: String(view.handle.snapshot), sizeBytes: view.sizeBytes }] : []));
  return { views, snapshots, plans, staged, seeded, segments, commit, manifest: commit.manifest };
}

/** Container and blob (and snapshot) of a page-blob view in Azurite's dev account: `<endpoint>/<container>/<blob>`. */
export function blobOf(view: DiskView): BlobRef {
  const url = new URL(String(view.handle.blobUrl));
  const [, , container, ...blob] = url.pathname.split('/');
  const ref: BlobRef = { container: decodeURIComponent(container), blob: blob.map(decodeURIComponent).join('/') };
  return typeof view.handle.snapshot === 'string' ? { ...ref, snapshot: view.handle.snapshot } : ref;
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
