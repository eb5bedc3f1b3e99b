/**
 * Commit of a recovery point, in the order that keeps a half-made point invisible:
 * checksum parts assembled → each replica snapshotted (and marked clean at this point) →
 * checksums blobs → manifest → catalog row (the point is visible from here) → job scratch deleted.
 * Idempotent: a re-run after a crash at any step converges (an existing replica snapshot tagged
 * with this point is reused; blobs are rewritten with the same content; an existing row ends it).
 *
 * API:
 *   commitRecoveryPoint(deps, input: CommitRecoveryPointInput): Promise<CommitRecoveryPointResult>
 *   sweepUncommitted(deps, {itemId, olderThan}): Promise<SweepUncommittedResult>
 */
import { BLOCK_SIZE, HASH_ALGORITHM, blockCountFor, concatBlockSums, decodeBlockSums, encodeBlockSums } from '../domain/block-sums';
import { errors, isKluisErrorLike } from '../../domain/errors';
import {
  CHANGE_DETECTION_VALUES,
  RECOVERY_POINT_MANIFEST_SCHEMA_VERSION,
  manifestSourceOf,
  diskChangeDetection,
  parseRecoveryPointManifest,
  serializeRecoveryPointManifest,
  type ChangeDetection,
  type Consistency,
  type KeyAndSecretBackup,
  type ManifestDisk,
  type RecoveryPointManifest,
  type StorageType,
} from '../domain/recovery-point-manifest';
import {
  assertValidIdentifier,
  assertValidRecoveryPointId,
  checksumPartBlobName,
  checksumsBlobName,
  itemPrefix,
  jobStagingPrefix,
  jobsStagingPrefix,
  manifestBlobName,
  recoveryPointIdOfBlobName,
  recoveryPointsPrefix,
  replicaBlobName,
} from '../domain/vault-layout';
import type { BlobRef } from '../../stores/disk-store';
import type { ListedBlob } from '../../stores/page-blob-store';
import type { RecoveryPointRetention } from '../../stores/recovery-point-catalog';
import type { DiskView } from '../domain/disk-view';
import { META, type BackupEngineDeps } from '../engine-deps';

export type CommitDeps = Pick<BackupEngineDeps, 'vault' | 'vaultContainer' | 'catalog' | 'clock' | 'log'>;

export interface CommitDiskInput {
  lun: number;
  name: string;
  storageType: StorageType;
  /** The view this point was read from (its size is the disk's): it stays as the point's instant-restore tier. */
  source: DiskView;
  /** The planned method; the manifest records what the segments' checksum parts say they did (diskChangeDetection). */
  changeDetection: ChangeDetection;
  /** Number of segments transferred (their checksum parts are 0 … segmentCount-1). */
  segmentCount: number;
}

export interface CommitRecoveryPointInput {
  itemId: string;
  jobId: string;
  recoveryPointId: string;
  /** ISO time recorded in the manifest and the catalog (pass the backup's start time). */
  createdAt: string;
  consistency: Consistency;
  vmConfig: RecoveryPointManifest['vmConfig'];
  disks: readonly CommitDiskInput[];
  keyAndSecret?: KeyAndSecretBackup | null;
  blockSize?: number;
  /** On-demand backups: kept until `retainUntil` whatever the policy says. */
  retention?: RecoveryPointRetention;
}

export interface CommitRecoveryPointResult {
  recoveryPointId: string;
  manifestBlobName: string;
  manifest: RecoveryPointManifest;
  /** True when the catalog row already existed (a re-run after the point became visible). */
  alreadyCommitted: boolean;
}

export async function commitRecoveryPoint(deps: CommitDeps, input: CommitRecoveryPointInput): Promise<CommitRecoveryPointResult> {
  const { itemId, recoveryPointId } = input;
  assertValidIdentifier('itemId', itemId);
  assertValidIdentifier('jobId', input.jobId);
  assertValidRecoveryPointId(recoveryPointId);
  const manifestName = manifestBlobName(itemId, recoveryPointId);
  const vaultRef = (blob: string): BlobRef => ({ container: deps.vaultContainer, blob });

  if ((await deps.catalog.get(itemId, recoveryPointId)) !== undefined) {
    const manifest = parseRecoveryPointManifest(await deps.vault.readBlob(vaultRef(manifestName)));
    await deleteJobScratch(deps, itemId, input.jobId);
    return { recoveryPointId, manifestBlobName: manifestName, manifest, alreadyCommitted: true };
  }

  const blockSize = input.blockSize ?? BLOCK_SIZE;
  const assembled = await Promise.all(input.disks.map((disk) => assembleChecksums(deps, input, disk, blockSize)));
  const replicaSnapshots = await Promise.all(input.disks.map((disk) => snapshotReplica(deps, input, disk.lun)));
  await Promise.all(
    assembled.map((a, i) =>
      deps.vault.writeBlockBlob(vaultRef(checksumsBlobName(itemId, recoveryPointId, input.disks[i].lun)), a.encoded, {
        contentType: 'application/octet-stream',
      }),
    ),
  );

  const disks: ManifestDisk[] = input.disks.map((disk, i) => ({
    lun: disk.lun,
    name: disk.name,
    sizeBytes: disk.source.sizeBytes,
    storageType: disk.storageType,
    source: manifestSourceOf(disk.source),
    replica: { blobName: replicaBlobName(itemId, disk.lun), snapshot: replicaSnapshots[i] },
    checksumsBlobName: checksumsBlobName(itemId, recoveryPointId, disk.lun),
    ...diskChangeDetection(disk.changeDetection, assembled[i].segmentChangeDetection),
    ...assembled[i].stats,
  }));
  const manifest = parseRecoveryPointManifest({
    schemaVersion: RECOVERY_POINT_MANIFEST_SCHEMA_VERSION,
    itemId,
    recoveryPointId,
    createdAt: input.createdAt,
    consistency: input.consistency,
    vmConfig: input.vmConfig,
    blockSize,
    hashAlgorithm: HASH_ALGORITHM,
    disks,
    keyAndSecret: input.keyAndSecret ?? null,
  });
  await deps.vault.writeBlockBlob(vaultRef(manifestName), serializeRecoveryPointManifest(manifest), {
    contentType: 'application/json',
  });

  try {
    await deps.catalog.put({
      itemId,
      recoveryPointId,
      createdAt: input.createdAt,
      consistency: input.consistency,
      vaultContainer: deps.vaultContainer,
      manifestBlobName: manifestName,
      diskCount: disks.length,
      state: 'Committed',
      ...(input.retention === undefined ? {} : { retention: input.retention }),
      ...(manifest.keyAndSecret === null ? {} : { isSourceVmEncrypted: true }),
    });
  } catch (err) {
    // A concurrent re-run committed first: same point, same blobs.
    if (!(isKluisErrorLike(err) && err.code === 'KluisCatalogConflict')) throw err;
  }
  deps.log.info(`Recovery point ${recoveryPointId} of item ${itemId} committed (${disks.length} disk(s)).`);
  await deleteJobScratch(deps, itemId, input.jobId);
  return { recoveryPointId, manifestBlobName: manifestName, manifest, alreadyCommitted: false };
}

interface AssembledDisk {
  encoded: Buffer;
  stats: Pick<ManifestDisk, 'bytesRead' | 'bytesWritten' | 'bytesCleared'>;
  /** What each segment's checksum part says it did (undefined: a part written before parts recorded it). */
  segmentChangeDetection: Array<ChangeDetection | undefined>;
}

async function assembleChecksums(
  deps: CommitDeps,
  input: CommitRecoveryPointInput,
  disk: CommitDiskInput,
  blockSize: number,
): Promise<AssembledDisk> {
  if (!Number.isInteger(disk.segmentCount) || disk.segmentCount < 1) {
    throw errors.invalidRequest('segmentCount', `Disk ${disk.lun} needs at least one transferred segment.`);
  }
  const stats = { bytesRead: 0, bytesWritten: 0, bytesCleared: 0 };
  const segmentChangeDetection: Array<ChangeDetection | undefined> = [];
  const parts = await Promise.all(
    Array.from({ length: disk.segmentCount }, async (_, index) => {
      const ref = { container: deps.vaultContainer, blob: checksumPartBlobName(input.itemId, input.jobId, disk.lun, index) };
      const [bytes, props] = await Promise.all([deps.vault.readBlob(ref), deps.vault.getBlobProperties(ref)]);
      stats.bytesRead += Number(props?.metadata[META.bytesRead] ?? 0);
      stats.bytesWritten += Number(props?.metadata[META.bytesWritten] ?? 0);
      stats.bytesCleared += Number(props?.metadata[META.bytesCleared] ?? 0);
      segmentChangeDetection[index] = changeDetectionOf(props?.metadata[META.changeDetection]);
      return decodeBlockSums(bytes);
    }),
  );
  const sums = concatBlockSums(parts);
  if (
    sums.firstBlock !== 0 ||
    sums.blockCount !== blockCountFor(disk.source.sizeBytes, blockSize) ||
    sums.diskSize !== disk.source.sizeBytes ||
    sums.blockSize !== blockSize
  ) {
    throw errors.invalidBlockSums(
      `the checksum parts of disk ${disk.lun} cover blocks [${sums.firstBlock}, ${sums.endBlock}) of a ${sums.diskSize}-byte disk, ` +
        `expected the whole ${disk.source.sizeBytes}-byte disk`,
    );
  }
  return { encoded: encodeBlockSums(sums), stats, segmentChangeDetection };
}

function changeDetectionOf(value: string | undefined): ChangeDetection | undefined {
  return (CHANGE_DETECTION_VALUES as readonly string[]).includes(value ?? '') ? (value as ChangeDetection) : undefined;
}

/** Snapshots the replica for this point, reusing a snapshot a crashed run already took; marks the replica clean. */
async function snapshotReplica(deps: CommitDeps, input: CommitRecoveryPointInput, lun: number): Promise<string> {
  const replica: BlobRef = { container: deps.vaultContainer, blob: replicaBlobName(input.itemId, lun) };
  let snapshot: string | undefined;
  for await (const entry of deps.vault.listBlobs(replica.container, { prefix: replica.blob, includeSnapshots: true })) {
    if (entry.name === replica.blob && entry.snapshot !== undefined && entry.metadata[META.recoveryPointId] === input.recoveryPointId) {
      snapshot = entry.snapshot;
    }
  }
  snapshot ??= await deps.vault.createSnapshot(replica, {
    metadata: {
      [META.itemId]: input.itemId,
      [META.recoveryPointId]: input.recoveryPointId,
      [META.jobId]: input.jobId,
      [META.lun]: String(lun),
      [META.createdAt]: deps.clock().toISOString(),
      [META.kind]: 'replica',
    },
  });
  await deps.vault.setBlobMetadata(replica, {
    [META.itemId]: input.itemId,
    [META.lun]: String(lun),
    [META.committedPoint]: input.recoveryPointId,
    [META.writingJob]: '',
  });
  return snapshot;
}

async function deleteJobScratch(deps: CommitDeps, itemId: string, jobId: string): Promise<void> {
  try {
    const names: string[] = [];
    for await (const blob of deps.vault.listBlobs(deps.vaultContainer, { prefix: jobStagingPrefix(itemId, jobId) })) names.push(blob.name);
    await Promise.all(names.map((blob) => deps.vault.deleteBlob({ container: deps.vaultContainer, blob })));
  } catch (err) {
    // The point is committed; leftovers are the sweeper's.
    deps.log.warn(`Could not delete the scratch blobs of job ${jobId}: ${(err as Error).message}`);
  }
}

// ---- sweeping uncommitted points --------------------------------------------------------------------

export interface SweepUncommittedInput {
  itemId: string;
  /** Only leftovers last written before this instant are removed (the grace period protects running commits). */
  olderThan: Date;
}

export interface SweepUncommittedResult {
  /** Recovery point ids whose blobs or replica snapshots were removed. */
  recoveryPointIds: string[];
  deletedBlobs: string[];
  deletedSnapshots: Array<{ blob: string; snapshot: string }>;
}

/**
 * Removes what crashed commits left: recovery point blobs and replica snapshots of points that
 * have no catalog row, and job scratch blobs, all older than `olderThan`.
 */
export async function sweepUncommitted(deps: CommitDeps, input: SweepUncommittedInput): Promise<SweepUncommittedResult> {
  const { itemId } = input;
  const cutoff = input.olderThan.getTime();
  const container = deps.vaultContainer;
  const isOld = (blob: ListedBlob): boolean => (blob.lastModified?.getTime() ?? 0) < cutoff;
  const committed = new Map<string, boolean>();
  const isCommitted = async (rp: string): Promise<boolean> => {
    if (!committed.has(rp)) committed.set(rp, (await deps.catalog.get(itemId, rp)) !== undefined);
    return committed.get(rp) === true;
  };

  const byPoint = new Map<string, ListedBlob[]>();
  for await (const blob of deps.vault.listBlobs(container, { prefix: recoveryPointsPrefix(itemId) })) {
    const rp = recoveryPointIdOfBlobName(itemId, blob.name);
    if (rp !== undefined) byPoint.set(rp, [...(byPoint.get(rp) ?? []), blob]);
  }
  const result: SweepUncommittedResult = { recoveryPointIds: [], deletedBlobs: [], deletedSnapshots: [] };
  const swept = new Set<string>();
  for (const [rp, blobs] of byPoint) {
    if (!blobs.every(isOld) || (await isCommitted(rp))) continue;
    for (const blob of blobs) {
      await deps.vault.deleteBlob({ container, blob: blob.name });
      result.deletedBlobs.push(blob.name);
    }
    swept.add(rp);
  }

  for await (const entry of deps.vault.listBlobs(container, { prefix: `${itemPrefix(itemId)}disks/`, includeSnapshots: true })) {
    const rp = entry.metadata[META.recoveryPointId];
    if (entry.snapshot === undefined || rp === undefined) continue;
    const takenAt = Date.parse(entry.metadata[META.createdAt] ?? entry.snapshot);
    if (!(takenAt < cutoff) || byPoint.get(rp)?.some((b) => !isOld(b)) === true || (await isCommitted(rp))) continue;
    await deps.vault.deleteSnapshot({ container, blob: entry.name, snapshot: entry.snapshot });
    result.deletedSnapshots.push({ blob: entry.name, snapshot: entry.snapshot });
    swept.add(rp);
  }

  for await (const blob of deps.vault.listBlobs(container, { prefix: jobsStagingPrefix(itemId) })) {
    if (!isOld(blob)) continue;
    await deps.vault.deleteBlob({ container, blob: blob.name });
    result.deletedBlobs.push(blob.name);
  }
  result.recoveryPointIds = [...swept].sort();
  if (result.deletedBlobs.length + result.deletedSnapshots.length > 0) {
    deps.log.warn(
      `Swept ${result.deletedBlobs.length} blob(s) and ${result.deletedSnapshots.length} replica snapshot(s) of uncommitted ` +
        `recovery points of item ${itemId}.`,
    );
  }
  return result;
}
