/**
 * Builds committed recovery points by hand in the shared formats (vault layout, BlockSums,
 * manifest, catalog row), so restore and delete can be tested without the backup pipeline, and
 * with faults the pipeline would never produce (a vault block that differs from its checksum).
 */
import { createHash } from 'node:crypto';
import type { BlobServiceClient, PageBlobClient } from '@azure/storage-blob';
import { createSampleVhd } from '../../emulator/sample-disk';
import { BLOCK_SIZE, BlockSums, encodeBlockSums } from '../../lib/engine/domain/block-sums';
import { normalizeRanges, type ByteRange } from '../../lib/engine/domain/page-ranges';
import {
  RECOVERY_POINT_MANIFEST_SCHEMA_VERSION,
  serializeRecoveryPointManifest,
  type RecoveryPointManifest,
} from '../../lib/engine/domain/recovery-point-manifest';
import { checksumsBlobName, manifestBlobName, replicaBlobName } from '../../lib/engine/domain/vault-layout';
import type { RecoveryPointCatalog, StoredRecoveryPoint } from '../../lib/stores/recovery-point-catalog';

const MAX_PUT = 4 * 1024 * 1024;

export interface FixtureDisk {
  lun: number;
  name: string;
  /** VHD data size (the blob is 512 bytes longer). */
  dataSize: number;
  storageType?: 'Standard' | 'Premium';
  seed?: string;
}

export interface BuildRecoveryPointOptions {
  source: BlobServiceClient;
  vault: BlobServiceClient;
  catalog: RecoveryPointCatalog;
  sourceContainer: string;
  vaultContainer: string;
  itemId: string;
  recoveryPointId: string;
  disks: readonly FixtureDisk[];
  vmConfig?: unknown;
  /** Overwrite these bytes of the replica before its snapshot is taken (checksums stay those of the source). */
  corruptReplica?: { lun: number; offset: number; bytes: Buffer };
  /** Reuse existing source disks instead of creating them (later points of the same item). */
  reuseSourceDisks?: boolean;
}

export interface BuiltDisk {
  lun: number;
  sourceBlob: string;
  sourceSnapshot: string;
  replicaBlob: string;
  replicaSnapshot: string;
  checksumsBlob: string;
  sizeBytes: number;
}

export interface BuiltRecoveryPoint {
  manifest: RecoveryPointManifest;
  row: StoredRecoveryPoint;
  disks: BuiltDisk[];
}

export async function buildRecoveryPoint(opts: BuildRecoveryPointOptions): Promise<BuiltRecoveryPoint> {
  const sourceContainer = opts.source.getContainerClient(opts.sourceContainer);
  const vaultContainer = opts.vault.getContainerClient(opts.vaultContainer);
  await sourceContainer.createIfNotExists();
  await vaultContainer.createIfNotExists();
  const built: BuiltDisk[] = [];
  const manifestDisks: RecoveryPointManifest['disks'] = [];

  for (const disk of opts.disks) {
    const sourceBlob = `vms/${opts.itemId}/${disk.name}.vhd`;
    if (opts.reuseSourceDisks !== true) {
      await createSampleVhd(opts.source, {
        container: opts.sourceContainer,
        blob: sourceBlob,
        dataSize: disk.dataSize,
        seed: disk.seed ?? `${opts.itemId}-${disk.lun}`,
      });
    }
    const sourceClient = sourceContainer.getPageBlobClient(sourceBlob);
    const sourceSnapshot = (await sourceClient.createSnapshot()).snapshot as string;
    const snapshotClient = sourceClient.withSnapshot(sourceSnapshot);
    const sizeBytes = disk.dataSize + 512;

    // The replica gets every nonzero block whole, as the backup engine writes it; checksums come from the source.
    const replicaBlob = replicaBlobName(opts.itemId, disk.lun);
    const replica = vaultContainer.getPageBlobClient(replicaBlob);
    if (!(await replica.exists())) await replica.create(sizeBytes);
    const sums = BlockSums.create({ diskSize: sizeBytes });
    for (const range of await allocatedRanges(snapshotClient)) {
      const first = Math.floor(range.start / BLOCK_SIZE);
      const end = Math.min(Math.ceil(range.end / BLOCK_SIZE) * BLOCK_SIZE, sizeBytes);
      const data = await snapshotClient.downloadToBuffer(first * BLOCK_SIZE, end - first * BLOCK_SIZE);
      for (let index = first; index * BLOCK_SIZE < end; index += 1) {
        const offset = index * BLOCK_SIZE - first * BLOCK_SIZE;
        const block = data.subarray(offset, Math.min(offset + BLOCK_SIZE, data.length));
        // A block shared by two ranges is recorded twice with the same bytes: harmless.
        if (sums.recordBlock(index, block) !== undefined) await uploadPieces(replica, index * BLOCK_SIZE, block);
      }
    }
    if (opts.corruptReplica?.lun === disk.lun) {
      await replica.uploadPages(opts.corruptReplica.bytes, opts.corruptReplica.offset, opts.corruptReplica.bytes.length);
    }
    const replicaSnapshot = (await replica.createSnapshot()).snapshot as string;
    const checksumsBlob = checksumsBlobName(opts.itemId, opts.recoveryPointId, disk.lun);
    const encoded = encodeBlockSums(sums);
    await vaultContainer.getBlockBlobClient(checksumsBlob).upload(encoded, encoded.length);

    built.push({ lun: disk.lun, sourceBlob, sourceSnapshot, replicaBlob, replicaSnapshot, checksumsBlob, sizeBytes });
    manifestDisks.push({
      lun: disk.lun,
      name: disk.name,
      sizeBytes,
      storageType: disk.storageType ?? 'Standard',
      source: { blobUrl: sourceClient.url, snapshot: sourceSnapshot },
      replica: { blobName: replicaBlob, snapshot: replicaSnapshot },
      checksumsBlobName: checksumsBlob,
      changeDetection: 'full',
      bytesRead: 0,
      bytesWritten: 0,
      bytesCleared: 0,
    });
  }

  const manifest: RecoveryPointManifest = {
    schemaVersion: RECOVERY_POINT_MANIFEST_SCHEMA_VERSION,
    itemId: opts.itemId,
    recoveryPointId: opts.recoveryPointId,
    createdAt: new Date(Number(opts.recoveryPointId)).toISOString(),
    consistency: 'CrashConsistent',
    vmConfig: (opts.vmConfig ?? { vmName: opts.itemId, vmSize: 'Standard_D2s_v3', osType: 'Linux' }) as RecoveryPointManifest['vmConfig'],
    blockSize: BLOCK_SIZE,
    hashAlgorithm: 'xxh64',
    disks: manifestDisks,
    keyAndSecret: null,
  };
  const manifestBlob = manifestBlobName(opts.itemId, opts.recoveryPointId);
  const text = serializeRecoveryPointManifest(manifest);
  await vaultContainer.getBlockBlobClient(manifestBlob).upload(text, Buffer.byteLength(text));
  const row = await opts.catalog.put({
    itemId: opts.itemId,
    recoveryPointId: opts.recoveryPointId,
    createdAt: manifest.createdAt,
    consistency: manifest.consistency,
    vaultContainer: opts.vaultContainer,
    manifestBlobName: manifestBlob,
    diskCount: manifest.disks.length,
    state: 'Committed',
  });
  return { manifest, row, disks: built };
}

/** Allocated ranges of a page blob (or snapshot), normalized, half-open. */
export async function allocatedRanges(client: PageBlobClient): Promise<ByteRange[]> {
  const ranges: ByteRange[] = [];
  for await (const item of client.listPageRanges()) if (!item.isClear) ranges.push({ start: item.start, end: item.end + 1 });
  return normalizeRanges(ranges);
}

export async function sha256Of(client: PageBlobClient): Promise<string> {
  return createHash('sha256').update(await client.downloadToBuffer()).digest('hex');
}

/** `ranges` minus the whole blocks of `content` that are all zeros (what a restore writes). */
export function withoutZeroBlocks(ranges: readonly ByteRange[], content: Buffer, blockSize = BLOCK_SIZE): ByteRange[] {
  const keep: ByteRange[] = [];
  for (const range of ranges) {
    for (let start = Math.floor(range.start / blockSize) * blockSize; start < range.end; start += blockSize) {
      const end = Math.min(start + blockSize, content.length);
      if (content.subarray(start, end).some((b) => b !== 0)) {
        keep.push({ start: Math.max(start, range.start), end: Math.min(end, range.end) });
      }
    }
  }
  return normalizeRanges(keep);
}

async function uploadPieces(blob: PageBlobClient, offset: number, data: Buffer): Promise<void> {
  for (let start = 0; start < data.length; start += MAX_PUT) {
    const piece = data.subarray(start, Math.min(start + MAX_PUT, data.length));
    await blob.uploadPages(piece, offset + start, piece.length);
  }
}
