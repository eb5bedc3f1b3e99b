/**
 * Use cases of the first backup slice: discover → snapshot → transfer → commit → cleanup, for one
 * fixed-VHD page blob. Each takes its stores, clock and logger as `deps`; nothing here reads
 * config or the environment.
 */
import { createHash, type Hash } from 'node:crypto';
import {
  buildSliceManifest,
  ChunkPlanner,
  SINGLE_DISK_LUN,
  TRANSFER_CHUNK_SIZE,
  validateBackupRequest,
  type BackupRequest,
  type DiscoveredDisk,
  type PageRange,
  type SliceManifest,
  type SnapshotRef,
  type TransferResult,
} from '../domain/backup-slice';
import { errors, isKluisErrorLike } from '../domain/errors';
import { assertValidIdentifier, manifestBlobName, replicaBlobName } from '../domain/vault-layout';
import { parseVhdFooter, validateDiskSize } from '../domain/vhd';
import type { BlobRef, DiskStore } from '../stores/disk-store';

/** Structural logger: `console` and a Functions `InvocationContext` both fit. */
export interface Logger {
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

export interface BackupSliceDeps {
  /** Source storage holding the disks. */
  disks: DiskStore;
  /** Vault storage receiving replicas and manifests. */
  vault: DiskStore;
  vaultContainer: string;
  clock: () => Date;
  log: Logger;
}

// ---- discover ---------------------------------------------------------------------------------------

/** Checks that the source is a fixed-VHD page blob Kluis can back up, and describes it. */
export async function discoverDisk(deps: BackupSliceDeps, request: BackupRequest): Promise<DiscoveredDisk> {
  validateBackupRequest(request);
  const ref: BlobRef = { container: request.sourceContainer, blob: request.sourceBlob };
  const props = await deps.disks.getBlobProperties(ref);
  if (props === undefined) throw errors.sourceDiskNotFound(ref.container, ref.blob);
  if (props.blobType !== 'PageBlob') throw errors.sourceDiskNotPageBlob(ref.container, ref.blob, props.blobType);
  const { blobSize, dataSize } = validateDiskSize(props.size);

  let footerBytes: Buffer;
  try {
    footerBytes = await deps.disks.readFooter(ref, blobSize);
  } catch (err) {
    if (isKluisErrorLike(err) && err.code === 'KluisBlobNotFound') throw errors.sourceDiskNotFound(ref.container, ref.blob);
    throw err;
  }
  const footer = parseVhdFooter(footerBytes);
  if (footer.currentSize !== dataSize) {
    throw errors.invalidVhdFooter(
      `its current size ${footer.currentSize} does not match the blob's data size ${dataSize} (blob size minus the footer)`,
    );
  }
  deps.log.info(`Discovered disk ${ref.container}/${ref.blob}: ${dataSize} bytes of data, fixed VHD.`);
  return {
    sourceContainer: ref.container,
    sourceBlob: ref.blob,
    lun: SINGLE_DISK_LUN,
    blobSize,
    dataSize,
    vhdUniqueId: footer.uniqueId,
    etag: props.etag,
  };
}

// ---- snapshot ---------------------------------------------------------------------------------------

export interface SnapshotDiskInput {
  disk: DiscoveredDisk;
  itemId: string;
  jobId: string;
}

/**
 * Takes a point-in-time snapshot of the source disk, tagged with the job so a sweeper can find it
 * if the job dies before cleanup.
 */
export async function snapshotDisk(deps: BackupSliceDeps, input: SnapshotDiskInput): Promise<SnapshotRef> {
  const { disk } = input;
  const ref: BlobRef = { container: disk.sourceContainer, blob: disk.sourceBlob };
  const snapshot = await deps.disks.createSnapshot(ref, {
    metadata: { kluisitemid: input.itemId, kluisjobid: input.jobId },
  });
  const snapshotRef: BlobRef = { ...ref, snapshot };
  const props = await deps.disks.getBlobProperties(snapshotRef);
  if (props?.size !== disk.blobSize) {
    await deps.disks.deleteSnapshot(snapshotRef);
    throw errors.backupOperationFailed(
      `The disk ${ref.container}/${ref.blob} changed size during the backup (${disk.blobSize} → ${props?.size ?? 'gone'} bytes).`,
    );
  }
  const takenAt = deps.clock().toISOString();
  deps.log.info(`Snapshot ${snapshot} taken of ${ref.container}/${ref.blob}.`);
  return { container: ref.container, blob: ref.blob, snapshot, takenAt };
}

// ---- transfer ---------------------------------------------------------------------------------------

export interface TransferFullInput {
  disk: DiscoveredDisk;
  snapshot: SnapshotRef;
  itemId: string;
  jobId: string;
}

export interface TransferOptions {
  /** Bytes per read and per uploadPages call; default 4 MiB (the service maximum). */
  chunkSize?: number;
  /** Uploads allowed to run while the next chunk is read; default 2. */
  maxUploadsInFlight?: number;
}

/** Chunks read ahead of the one being hashed and uploaded. */
const READ_AHEAD = 1;

/**
 * Copies every allocated page range of the snapshot into the vault replica (reset first), in
 * chunks of at most 4 MiB, each upload carrying its transactional MD5, while computing the MD5
 * of the whole disk image. One chunk is read ahead and a few uploads overlap, so memory stays at
 * (READ_AHEAD + 1 + maxUploadsInFlight) chunks. All-zero chunks need no upload: the replica was
 * just reset to zeros.
 */
export async function transferFull(
  deps: BackupSliceDeps,
  input: TransferFullInput,
  options: TransferOptions = {},
): Promise<TransferResult> {
  const { disk, snapshot } = input;
  assertValidIdentifier('jobId', input.jobId);
  const chunkSize = options.chunkSize ?? TRANSFER_CHUNK_SIZE;
  const maxUploads = Math.max(1, options.maxUploadsInFlight ?? 2);
  const source: BlobRef = { container: snapshot.container, blob: snapshot.blob, snapshot: snapshot.snapshot };
  const replica: BlobRef = { container: deps.vaultContainer, blob: replicaBlobName(input.itemId, disk.lun) };

  await deps.vault.createContainerIfNotExists(deps.vaultContainer);
  await deps.vault.createPageBlob(replica, disk.blobSize, {
    metadata: { kluisitemid: input.itemId, kluisjobid: input.jobId },
  });

  const diskHash = new ZeroFillingHash(chunkSize);
  const reads: Array<{ chunk: PageRange; data: Promise<Buffer> }> = [];
  const uploads: Array<Promise<void>> = [];
  let bytesCopied = 0;
  let bytesUploaded = 0;
  let chunksUploaded = 0;

  const writeChunk = async (chunk: PageRange, pending: Promise<Buffer>): Promise<void> => {
    const data = await pending;
    if (data.length !== chunk.count) {
      throw errors.transferIntegrityFailed(`Read ${data.length} bytes at offset ${chunk.offset}, expected ${chunk.count}.`);
    }
    diskHash.update(chunk.offset, data);
    bytesCopied += chunk.count;
    if (isAllZero(data)) return;
    const upload = deps.vault.uploadPages(replica, chunk.offset, data, {
      transactionalContentMD5: createHash('md5').update(data).digest(),
    });
    upload.catch(ignore); // awaited below; this only keeps an early rejection from being "unhandled"
    uploads.push(upload);
    bytesUploaded += chunk.count;
    chunksUploaded += 1;
    if (uploads.length >= maxUploads) await uploads.shift();
  };

  try {
    for await (const chunk of plannedChunks(deps.disks.listPageRanges(source), disk.blobSize, chunkSize)) {
      const data = deps.disks.readRange(source, chunk.offset, chunk.count);
      data.catch(ignore);
      reads.push({ chunk, data });
      if (reads.length > READ_AHEAD) {
        const next = reads.shift() as { chunk: PageRange; data: Promise<Buffer> };
        await writeChunk(next.chunk, next.data);
      }
    }
    while (reads.length > 0) {
      const next = reads.shift() as { chunk: PageRange; data: Promise<Buffer> };
      await writeChunk(next.chunk, next.data);
    }
    await Promise.all(uploads);
  } catch (err) {
    // Let every started request settle so none writes after this activity has failed.
    await Promise.allSettled([...uploads, ...reads.map((r) => r.data)]);
    throw err;
  }

  const md5Base64 = diskHash.finish(disk.blobSize).toString('base64');
  deps.log.info(
    `Transferred ${bytesCopied} allocated bytes of ${disk.blobSize} (${bytesUploaded} uploaded in ${chunksUploaded} chunks) to the vault replica.`,
  );
  return {
    replicaContainer: replica.container,
    replicaBlob: replica.blob,
    bytesCopied,
    bytesUploaded,
    chunksUploaded,
    md5Base64,
  };
}

async function* plannedChunks(ranges: AsyncIterable<PageRange>, blobSize: number, chunkSize: number): AsyncGenerator<PageRange> {
  const planner = new ChunkPlanner(blobSize, chunkSize);
  for await (const range of ranges) yield* planner.push(range);
  yield* planner.finish();
}

/** MD5 over a whole disk image fed only its allocated chunks, in order: the gaps hash as zeros. */
class ZeroFillingHash {
  private readonly hash: Hash = createHash('md5');
  private readonly zeros: Buffer;
  private position = 0;

  constructor(zeroBlockSize: number) {
    this.zeros = Buffer.alloc(zeroBlockSize);
  }

  update(offset: number, data: Buffer): void {
    this.fillTo(offset);
    this.hash.update(data);
    this.position = offset + data.length;
  }

  finish(size: number): Buffer {
    this.fillTo(size);
    return this.hash.digest();
  }

  private fillTo(offset: number): void {
    while (this.position < offset) {
      const n = Math.min(this.zeros.length, offset - this.position);
      this.hash.update(n === this.zeros.length ? this.zeros : this.zeros.subarray(0, n));
      this.position += n;
    }
  }
}

function isAllZero(data: Buffer): boolean {
  // Compare 8 bytes at a time where alignment allows; chunk sizes are multiples of 512.
  if (data.byteOffset % 8 === 0 && data.length % 8 === 0) {
    const words = new BigUint64Array(data.buffer, data.byteOffset, data.length / 8);
    for (let i = 0; i < words.length; i++) if (words[i] !== 0n) return false;
    return true;
  }
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}

function ignore(): void {}

// ---- commit -----------------------------------------------------------------------------------------

export interface CommitManifestInput {
  request: BackupRequest;
  jobId: string;
  recoveryPointId: string;
  disk: DiscoveredDisk;
  snapshot: SnapshotRef;
  transfer: TransferResult;
}

export interface CommitResult {
  recoveryPointId: string;
  manifestContainer: string;
  manifestBlob: string;
  replicaSnapshot: string;
}

/**
 * Freezes the replica with a vault-side snapshot, then writes the manifest last: the recovery
 * point exists once its manifest does.
 */
export async function commitManifest(deps: BackupSliceDeps, input: CommitManifestInput): Promise<CommitResult> {
  const replicaRef: BlobRef = { container: input.transfer.replicaContainer, blob: input.transfer.replicaBlob };
  const manifestRef: BlobRef = {
    container: deps.vaultContainer,
    blob: manifestBlobName(input.request.itemId, input.recoveryPointId),
  };
  const replicaSnapshot = await deps.vault.createSnapshot(replicaRef, {
    metadata: { kluisrecoverypointid: input.recoveryPointId, kluisjobid: input.jobId },
  });
  const manifest: SliceManifest = buildSliceManifest({ ...input, replicaSnapshot, createdAt: deps.clock() });
  await deps.vault.writeBlockBlob(manifestRef, JSON.stringify(manifest, null, 2), {
    contentType: 'application/json',
  });
  deps.log.info(`Recovery point ${input.recoveryPointId} committed for item ${input.request.itemId}.`);
  return {
    recoveryPointId: input.recoveryPointId,
    manifestContainer: manifestRef.container,
    manifestBlob: manifestRef.blob,
    replicaSnapshot,
  };
}

// ---- cleanup ----------------------------------------------------------------------------------------

/** Deletes the source snapshot; succeeds when it is already gone. */
export async function cleanupSnapshot(deps: BackupSliceDeps, snapshot: SnapshotRef): Promise<{ deleted: string }> {
  await deps.disks.deleteSnapshot({ container: snapshot.container, blob: snapshot.blob, snapshot: snapshot.snapshot });
  deps.log.info(`Snapshot ${snapshot.snapshot} of ${snapshot.container}/${snapshot.blob} deleted.`);
  return { deleted: snapshot.snapshot };
}
