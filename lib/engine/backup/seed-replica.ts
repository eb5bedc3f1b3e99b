/**
 * A full backup seeded server-side: instead of streaming every allocated byte through the engine, one
 * server-side copy puts the bytes the segments would read (the staging blob for Premium disks, else the
 * source snapshot) onto the vault replica (`seedReplica`, an activity after staging). Each segment then
 * verifies and hashes what landed (`verifySeededSegment`, dispatched by transferSegment): it lists the
 * replica's allocated ranges in the segment, reads them and writes the segment's checksum part, so the
 * manifest's checksums come from the bytes in the vault. The commit is unchanged.
 *
 * Chosen by plan-disk-backup (`detection.seed`) only when the probe found copies point-in-time and
 * write-isolated and the disk's view is a blob (a page-blob backend's `blobOf`) in the vault's own storage account. The replica's own snapshots (older
 * recovery points) survive the copy. Zero blocks the copy brought along are recorded zero in the
 * checksums but not cleared: the replica mirrors the source's allocation, and a zero block reads as
 * zeros either way.
 *
 * Idempotent: a re-run of the seed copies the same immutable bytes again; a re-run of a segment re-reads.
 * The replica carries `kluisseededby` = the job once its copy has succeeded; a segment refuses a replica
 * not seeded by its job (KluisReplicaSeedFailed), so hashing never runs over an unseeded replica.
 *
 * API:
 *   seedReplica(deps, input: SeedReplicaInput): Promise<SeededReplica>
 *   verifySeededSegment(deps, input: TransferSegmentInput): Promise<TransferSegmentResult>
 */
import { BLOCK_SIZE, BlockSums } from '../domain/block-sums';
import { errors } from '../../domain/errors';
import { DEFAULT_READ_CHUNK_BYTES, MAX_READ_CHUNK_BYTES, type ByteRange } from '../domain/page-ranges';
import { planSegmentTransfer, readChunks } from '../domain/transfer-plan';
import { replicaBlobName } from '../domain/vault-layout';
import type { BlobRef } from '../../stores/disk-store';
import { writeChecksumPart } from './checksum-part';
import { readAhead } from './read-ahead';
import { ReplicaFence } from './replica-fence';
import { META, type BackupEngineDeps } from '../engine-deps';
import type { SeededReplica, TransferSegmentResult } from '../domain/backup-job';
import type { DiskView } from '../domain/disk-view';
import type { TransferSegmentInput } from './transfer-segment';
export type { SeededReplica };

export type SeedDeps = Pick<BackupEngineDeps, 'sources' | 'vault' | 'vaultContainer' | 'log'>;
export type VerifySegmentDeps = Pick<BackupEngineDeps, 'vault' | 'vaultContainer' | 'log'>;

export interface SeedReplicaInput {
  itemId: string;
  jobId: string;
  lun: number;
  /** The disk's view. */
  source: DiskView;
  /** What is copied: the staging copy (Premium) or, by default, `source`. */
  readFrom?: DiskView;
}

/** Copies the disk onto the replica planDiskBackup prepared, keeping the metadata the plan set on it. */
export async function seedReplica(deps: SeedDeps, input: SeedReplicaInput): Promise<SeededReplica> {
  const copied = input.readFrom ?? input.source;
  const blob = deps.sources.backendFor(copied.kind).blobOf?.(copied);
  if (blob === undefined) throw errors.replicaSeedFailed(`the view of disk lun ${input.lun} is not a blob a storage account can copy`);
  if (blob.endpoint !== deps.vault.endpoint) {
    throw errors.replicaSeedFailed(`the source (${blob.endpoint}) and the vault (${deps.vault.endpoint}) are different storage accounts`);
  }
  const replica: BlobRef = { container: deps.vaultContainer, blob: replicaBlobName(input.itemId, input.lun) };
  const props = await deps.vault.getBlobProperties(replica);
  if (props === undefined) throw errors.replicaSeedFailed(`the replica ${replica.blob} does not exist (the disk backup was not planned)`);
  const writer = props.metadata[META.writingJob] ?? '';
  if (writer !== input.jobId) {
    throw errors.replicaSeedFailed(`the replica ${replica.blob} is marked for job '${writer}', not '${input.jobId}'`);
  }
  // A copy replaces the destination's metadata (with none given, Azurite takes the source's): pass the plan's.
  const { [META.seededBy]: _previousSeed, ...planned } = props.metadata;
  const from: BlobRef = blob.ref;
  try {
    await deps.vault.copyBlob(from, replica, { metadata: planned });
  } catch (err) {
    throw errors.replicaSeedFailed(`the copy of ${describe(from)} failed: ${(err as Error).message}`, err);
  }
  const seeded = await deps.vault.getBlobProperties(replica);
  if (seeded?.size !== input.source.sizeBytes) {
    throw errors.replicaSeedFailed(`the replica has ${seeded?.size ?? 'no'} bytes after the copy, expected ${input.source.sizeBytes}`);
  }
  // Marked only now: on Azure a failed copy still applies its metadata.
  await deps.vault.setBlobMetadata(replica, { ...planned, [META.seededBy]: input.jobId });
  deps.log.info(`Seeded the replica of disk ${input.lun} of item ${input.itemId} by a server-side copy of ${describe(from)}.`);
  return { seed: 'serverSideCopy', replica, copiedFrom: from };
}

/**
 * The segment step of a seeded full backup: reads the replica's allocated ranges in the segment (4.5 MiB
 * reads by default, `tuning.maxReadsInFlight` of them in flight) and records every block's digest, zero blocks as zero, in the
 * checksum part. Writes nothing to the replica: bytesWritten and bytesCleared are 0, blocksChanged
 * counts the nonzero blocks the copy brought.
 */
export async function verifySeededSegment(deps: VerifySegmentDeps, input: TransferSegmentInput): Promise<TransferSegmentResult> {
  const blockSize = input.blockSize ?? BLOCK_SIZE;
  const readChunkSize = Math.min(input.tuning?.readChunkSize ?? DEFAULT_READ_CHUNK_BYTES, MAX_READ_CHUNK_BYTES);
  if (readChunkSize <= 0 || readChunkSize % blockSize !== 0) {
    throw errors.transferPlanInvalid(`read chunk size ${readChunkSize} must be a positive multiple of ${blockSize}`);
  }
  const replica: BlobRef = { container: deps.vaultContainer, blob: replicaBlobName(input.itemId, input.lun) };
  const props = await deps.vault.getBlobProperties(replica);
  if (props?.metadata[META.seededBy] !== input.jobId) {
    throw errors.replicaSeedFailed(
      `segment ${input.segment.index} of disk ${input.lun}: the replica was not seeded by job '${input.jobId}' (seedReplica must run first)`,
    );
  }
  if (props.size !== input.diskSize) {
    throw errors.replicaSeedFailed(`the replica has ${props.size} bytes, the disk ${input.diskSize}`);
  }

  const allocated = await deps.vault.listAllocatedRanges(replica, input.segment.range);
  const plan = planSegmentTransfer({
    segment: input.segment,
    diskSize: input.diskSize,
    blockSize,
    source: { kind: 'full', allocated, replicaIsNew: true },
  });
  // Blocks not read (unallocated in the replica) stay zero in the part.
  const part = BlockSums.create({ diskSize: input.diskSize, blockSize, firstBlock: plan.firstBlock, blockCount: plan.blockCount });
  const stats = { bytesRead: 0, bytesWritten: 0, bytesCleared: 0, blocksChanged: 0, uploadCalls: 0, clearCalls: 0 };
  const chunks = readChunks(plan, readChunkSize);
  const maxReads = Math.max(1, input.tuning?.maxReadsInFlight ?? 2);
  const read = (range: ByteRange) => deps.vault.readRange(replica, range.start, range.end - range.start);
  for await (const { range, data } of readAhead(read, chunks, { maxCalls: maxReads, maxBytes: maxReads * readChunkSize })) {
    stats.bytesRead += data.length;
    for (let start = range.start; start < range.end; start += blockSize) {
      const bytes = data.subarray(start - range.start, Math.min(start + blockSize, range.end) - range.start);
      if (part.recordBlock(start / blockSize, bytes) !== undefined) stats.blocksChanged += 1;
    }
  }

  // As a streamed segment: a run declared dead while it hashed writes no checksum part (replica-fence.ts).
  await new ReplicaFence(deps.vault, replica, input).check({ fresh: true });
  const partName = await writeChecksumPart(deps, { ...input, segmentIndex: input.segment.index }, part, { ...stats, changeDetection: 'full' });
  deps.log.info(
    `Segment ${input.segment.index} of disk ${input.lun} (full, seeded): read and hashed ${stats.bytesRead} B of the replica, ` +
      `${stats.blocksChanged} nonzero block(s).`,
  );
  return { segmentIndex: input.segment.index, checksumPartBlobName: partName, changeDetection: 'full', ...stats };
}

function describe(ref: BlobRef): string {
  return `${ref.container}/${ref.blob}${ref.snapshot ? `?snapshot=${ref.snapshot}` : ''}`;
}
