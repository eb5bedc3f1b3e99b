/**
 * Per disk, before its segments run: make the vault replica ready and choose how changes are found.
 *  - diff:     the previous point's view of the disk (its instant-restore tier) still exists, it is of the
 *              same disk and the source's changed ranges are exact (the backend's capabilities);
 *  - checksum: a previous point exists (its checksums blob is compared block by block);
 *  - full:     first backup, or the previous point cannot serve (other size, block size or hash,
 *              missing checksums), or the replica holds writes of an unfinished job.
 *              A full backup is seeded by one server-side copy onto the replica (`seed: 'serverSideCopy'`,
 *              seed-replica.ts) when the backend's copies are safe and its view is a blob in the vault's
 *              own storage account (same endpoint); its segments then only read and hash the replica.
 * Premium disks are staged first where the disk's backend stages (`stage`, stage-disk.ts).
 * The replica must hold exactly the previous point's bytes for an incremental; its metadata says
 * so (`kluiscommittedpoint`, `kluiswritingjob`), set here and by the commit.
 *
 * API:
 *   planDiskBackup(deps, input: PlanDiskBackupInput): Promise<DiskBackupPlan>
 *   loadLatestManifest(deps, itemId): Promise<RecoveryPointManifest | undefined>
 */
import { BLOCK_SIZE, HASH_ALGORITHM } from '../domain/block-sums';
import { parseRecoveryPointManifest, viewOfManifestDisk, type RecoveryPointManifest, type StorageType } from '../domain/recovery-point-manifest';
import type { DiskView } from '../domain/disk-view';
import { DEFAULT_SEGMENT_SIZE, planSegments } from '../domain/transfer-plan';
import { assertValidIdentifier, jobStagingPrefix, replicaBlobName } from '../domain/vault-layout';
import { latestRecoveryPoint } from '../../stores/recovery-point-catalog';
import type { BlobRef } from '../../stores/disk-store';
import { META, type BackupEngineDeps } from '../engine-deps';
import type { DiskBackupPlan } from '../domain/backup-job';
export type { DiskBackupPlan };

export type PlanDeps = Pick<BackupEngineDeps, 'sources' | 'vault' | 'vaultContainer' | 'catalog' | 'log'>;

export interface PlanDiskBackupInput {
  itemId: string;
  jobId: string;
  lun: number;
  /** The disk's new view (its size is the disk's size). */
  source: DiskView;
  /** Premium disks are staged where the backend stages. Default Standard. */
  storageType?: StorageType;
  /** The source backend's capabilities, as the job probed them (`serverSideCopySafe` absent = false). */
  capabilities: { trueDiff: boolean; serverSideCopySafe?: boolean };
  /** The item's latest committed point; `undefined` = look it up in the catalog, `null` = none. */
  previous?: RecoveryPointManifest | null;
  segmentSize?: number;
  blockSize?: number;
}


export async function planDiskBackup(deps: PlanDeps, input: PlanDiskBackupInput): Promise<DiskBackupPlan> {
  assertValidIdentifier('itemId', input.itemId);
  const blockSize = input.blockSize ?? BLOCK_SIZE;
  const sizeBytes = input.source.sizeBytes;
  const backend = deps.sources.backendFor(input.source.kind);
  const segments = planSegments(sizeBytes, input.segmentSize ?? DEFAULT_SEGMENT_SIZE, blockSize);
  const previous = input.previous === undefined ? await loadLatestManifest(deps, input.itemId) : (input.previous ?? undefined);
  const replica = await prepareReplica(deps, input, previous?.recoveryPointId);
  const stage = input.storageType === 'Premium' && backend.staging !== undefined;
  const base = { lun: input.lun, sizeBytes, blockSize, segments, replicaBlobName: replica.ref.blob, stage };
  // A copy only works within one account; endpoints, not names, tell whether the view and the vault are one account.
  const seedByCopy = input.capabilities.serverSideCopySafe === true && backend.blobOf?.(input.source)?.endpoint === deps.vault.endpoint;
  const full = (reason: string): DiskBackupPlan =>
    seedByCopy
      ? {
          ...base,
          changeDetection: 'full',
          detection: { kind: 'full', replicaIsNew: replica.isNew, seed: 'serverSideCopy' },
          seed: 'serverSideCopy',
          reason: `${reason}; the replica is seeded by a server-side copy`,
        }
      : { ...base, changeDetection: 'full', detection: { kind: 'full', replicaIsNew: replica.isNew }, reason };

  const previousDisk = previous?.disks.find((d) => d.lun === input.lun);
  if (previous === undefined || previousDisk === undefined) return log(deps, input, full('first backup of this disk'));
  if (!replica.clean) return log(deps, input, full('the replica holds writes of a job that did not commit'));
  if (previousDisk.sizeBytes !== sizeBytes) {
    return log(deps, input, full(`the disk size changed (${previousDisk.sizeBytes} → ${sizeBytes} bytes)`));
  }
  if (previous.blockSize !== blockSize || previous.hashAlgorithm !== HASH_ALGORITHM) {
    return log(deps, input, full(`the previous point used ${previous.blockSize}-byte ${previous.hashAlgorithm} blocks`));
  }
  if ((await deps.vault.getBlobProperties({ container: deps.vaultContainer, blob: previousDisk.checksumsBlobName })) === undefined) {
    return log(deps, input, full('the previous point has no checksums blob'));
  }

  const earlier = viewOfManifestDisk(previousDisk, previous.createdAt);
  if (!input.capabilities.trueDiff) {
    return log(deps, input, checksum(base, previous.recoveryPointId, 'the store has no true page-range diff'));
  }
  if (earlier.kind !== input.source.kind || earlier.diskId !== input.source.diskId) {
    return log(deps, input, checksum(base, previous.recoveryPointId, 'the disk moved to another blob'));
  }
  if ((await backend.describeView(earlier)).status !== 'present') {
    return log(deps, input, checksum(base, previous.recoveryPointId, "the previous point's source snapshot is gone"));
  }
  return log(deps, input, {
    ...base,
    changeDetection: 'diff',
    detection: { kind: 'diff', previous: earlier, previousRecoveryPointId: previous.recoveryPointId },
    reason: `diff against the source snapshot of point ${previous.recoveryPointId}`,
  });
}

/** The manifest of the item's newest committed point, or undefined when it has none. */
export async function loadLatestManifest(
  deps: Pick<BackupEngineDeps, 'vault' | 'catalog'>,
  itemId: string,
): Promise<RecoveryPointManifest | undefined> {
  const latest = await latestRecoveryPoint(deps.catalog, itemId);
  if (latest === undefined) return undefined;
  return parseRecoveryPointManifest(await deps.vault.readBlob({ container: latest.vaultContainer, blob: latest.manifestBlobName }));
}

function checksum(base: Omit<DiskBackupPlan, 'changeDetection' | 'detection' | 'reason' | 'seed'>, previousRecoveryPointId: string, why: string): DiskBackupPlan {
  return {
    ...base,
    changeDetection: 'checksum',
    detection: { kind: 'checksum', previousRecoveryPointId },
    reason: `checksums of point ${previousRecoveryPointId}: ${why}`,
  };
}

interface PreparedReplica {
  ref: BlobRef;
  isNew: boolean;
  /** Holds exactly the bytes of `previousPointId`. */
  clean: boolean;
}

/**
 * Creates the replica (or resizes it) and marks it as being written by this job. Re-running it
 * for the same job gives the same cleanliness answer.
 */
async function prepareReplica(deps: PlanDeps, input: PlanDiskBackupInput, previousPointId: string | undefined): Promise<PreparedReplica> {
  const ref: BlobRef = { container: deps.vaultContainer, blob: replicaBlobName(input.itemId, input.lun) };
  const marks = (committedPoint: string): Record<string, string> => ({
    [META.itemId]: input.itemId,
    [META.lun]: String(input.lun),
    [META.writingJob]: input.jobId,
    [META.committedPoint]: committedPoint,
  });
  await deps.vault.createContainerIfNotExists(deps.vaultContainer);
  const props = await deps.vault.getBlobProperties(ref);
  if (props === undefined) {
    await deps.vault.createPageBlob(ref, input.source.sizeBytes, { metadata: marks('') });
    return { ref, isNew: true, clean: previousPointId === undefined };
  }
  const writer = props.metadata[META.writingJob] ?? '';
  const committedPoint = props.metadata[META.committedPoint] ?? '';
  const clean = (writer === '' || writer === input.jobId) && committedPoint !== '' && committedPoint === previousPointId;
  if (props.size !== input.source.sizeBytes) await deps.vault.resizePageBlob(ref, input.source.sizeBytes);
  await deps.vault.setBlobMetadata(ref, marks(clean ? committedPoint : ''));
  if (writer !== '' && writer !== input.jobId) await deleteStaleScratch(deps, input.itemId, writer);
  return { ref, isNew: false, clean };
}

/**
 * The replica's last writer never committed (it died, or was stopped): this job holds the replica now, so that job's
 * scratch blobs are stale — among them any a part of it still in flight wrote after the watchdog swept the run.
 */
async function deleteStaleScratch(deps: PlanDeps, itemId: string, staleJobId: string): Promise<void> {
  try {
    const names: string[] = [];
    for await (const blob of deps.vault.listBlobs(deps.vaultContainer, { prefix: jobStagingPrefix(itemId, staleJobId) })) names.push(blob.name);
    await Promise.all(names.map((blob) => deps.vault.deleteBlob({ container: deps.vaultContainer, blob })));
    if (names.length > 0) deps.log.warn(`Deleted ${names.length} scratch blob(s) job ${staleJobId} left on item ${itemId}.`);
  } catch (err) {
    deps.log.warn(`Could not delete the scratch blobs job ${staleJobId} left on item ${itemId}: ${(err as Error).message}`);
  }
}

function log(deps: PlanDeps, input: PlanDiskBackupInput, plan: DiskBackupPlan): DiskBackupPlan {
  deps.log.info(`Disk ${input.lun} of item ${input.itemId}: ${plan.changeDetection} transfer in ${plan.segments.length} segment(s) (${plan.reason}).`);
  return plan;
}
