/**
 * The page-blob backend's staging (page-blob-backend.ts `staging`): Premium disks are transferred from a staging copy (`AzureBackup-<item>-<job>-<lun>`) next to
 * the disk in the source account, as Azure Backup does. The copy is server-side only when the
 * probe found server-side copies point-in-time and write-isolated; otherwise the snapshot's
 * allocated ranges are streamed into it. The staging blob is always deleted afterwards
 * (`deleteStagingBlob`, the orchestration's finally path), and a sweeper removes orphans.
 *
 * API:
 *   stageDisk(deps, {itemId, jobId, lun, snapshot, sizeBytes, capabilities, tuning?}): Promise<StagedDisk>
 *   deleteStagingBlob(deps, {itemId, jobId, lun, container}): Promise<void>
 *   sweepStagingBlobs(deps, {olderThan, containers?}): Promise<{deleted: BlobRef[]}>
 */
import { createHash } from 'node:crypto';
import { errors } from '../../../domain/errors';
import { AZURE_MAX_PUT_PAGES_BYTES, chunkRange, type ByteRange } from '../../domain/page-ranges';
import { isStagingBlobName, STAGING_BLOB_PREFIX, stagingBlobName } from '../../domain/vault-layout';
import type { BlobRef } from '../../../stores/disk-store';
import { META } from '../../engine-deps';
import type { PageBlobSourceDeps } from './page-blob-deps';

export type StageDeps = PageBlobSourceDeps;

/** A disk's staging blob, next to it in the source account. */
export interface StagedDisk {
  staging: BlobRef;
  method: 'server-copy' | 'streamed';
  /** Bytes streamed (0 for a server-side copy). */
  bytesCopied: number;
}

export interface StageDiskInput {
  itemId: string;
  jobId: string;
  lun: number;
  /** The source snapshot to stage (`snapshot` set). */
  snapshot: BlobRef;
  /** Page blob size of the disk. */
  sizeBytes: number;
  /** From the capability probe of the source account. */
  capabilities: { serverSideCopySafe: boolean };
  tuning?: { maxReadsInFlight?: number; maxWritesInFlight?: number };
}


/** Idempotent: a re-run recreates the staging blob from the (immutable) snapshot. */
export async function stageDisk(deps: StageDeps, input: StageDiskInput): Promise<StagedDisk> {
  if (input.snapshot.snapshot === undefined || input.snapshot.snapshot === '') {
    throw errors.invalidRequest('snapshot', 'Staging copies a snapshot; the snapshot id is missing.');
  }
  const staging: BlobRef = { container: input.snapshot.container, blob: stagingBlobName(input.itemId, input.jobId, input.lun) };
  const metadata = {
    [META.itemId]: input.itemId,
    [META.jobId]: input.jobId,
    [META.lun]: String(input.lun),
    [META.createdAt]: deps.clock().toISOString(),
    [META.kind]: 'staging',
  };
  if (input.capabilities.serverSideCopySafe) {
    try {
      await deps.source.copyBlob(input.snapshot, staging, { metadata });
    } catch (err) {
      throw errors.stagingCopyFailed('the server-side copy failed', err);
    }
    const props = await deps.source.getBlobProperties(staging);
    if (props?.size !== input.sizeBytes) {
      throw errors.stagingCopyFailed(`the staging blob has ${props?.size ?? 'no'} bytes, expected ${input.sizeBytes}`);
    }
    deps.log.info(`Staged disk ${input.lun} of item ${input.itemId} by server-side copy.`);
    return { staging, method: 'server-copy', bytesCopied: 0 };
  }
  await deps.source.createPageBlob(staging, input.sizeBytes, { metadata });
  const bytesCopied = await streamAllocated(deps, input.snapshot, staging, input.tuning ?? {});
  deps.log.info(`Staged disk ${input.lun} of item ${input.itemId} by streaming ${bytesCopied} allocated bytes.`);
  return { staging, method: 'streamed', bytesCopied };
}

async function streamAllocated(
  deps: StageDeps,
  from: BlobRef,
  to: BlobRef,
  tuning: { maxReadsInFlight?: number; maxWritesInFlight?: number },
): Promise<number> {
  const chunks = (await deps.source.listAllocatedRanges(from)).flatMap((r) => chunkRange(r, AZURE_MAX_PUT_PAGES_BYTES));
  const maxReads = Math.max(1, tuning.maxReadsInFlight ?? 3);
  const maxWrites = Math.max(1, tuning.maxWritesInFlight ?? 4);
  const reads: Array<{ range: ByteRange; data: Promise<Buffer> }> = [];
  const writes: Array<Promise<void>> = [];
  let copied = 0;
  let next = 0;
  try {
    while (next < chunks.length || reads.length > 0) {
      while (next < chunks.length && reads.length < maxReads) {
        const range = chunks[next++];
        const data = deps.source.readRange(from, range.start, range.end - range.start);
        data.catch(ignore);
        reads.push({ range, data });
      }
      const { range, data: pending } = reads.shift() as { range: ByteRange; data: Promise<Buffer> };
      const data = await pending;
      while (writes.length >= maxWrites) await writes.shift();
      const write = deps.source.uploadPages(to, range.start, data, {
        transactionalContentMD5: createHash('md5').update(data).digest(),
      });
      write.catch(ignore);
      writes.push(write);
      copied += data.length;
    }
    while (writes.length > 0) await writes.shift();
  } catch (err) {
    await Promise.allSettled([...writes, ...reads.map((r) => r.data)]);
    throw err;
  }
  return copied;
}

export interface DeleteStagingBlobInput {
  itemId: string;
  jobId: string;
  lun: number;
  /** The container of the source disk (the staging blob sits next to it). */
  container: string;
}

/** Succeeds when the staging blob is already gone. */
export async function deleteStagingBlob(deps: StageDeps, input: DeleteStagingBlobInput): Promise<void> {
  await deps.source.deleteBlob({ container: input.container, blob: stagingBlobName(input.itemId, input.jobId, input.lun) });
}

export interface SweepStagingBlobsInput {
  /** Staging blobs created before this instant are deleted (Azure Backup: older than a day). */
  olderThan: Date;
  /** Default: every container of the source account. */
  containers?: readonly string[];
}

export async function sweepStagingBlobs(deps: StageDeps, input: SweepStagingBlobsInput): Promise<{ deleted: BlobRef[] }> {
  const containers: string[] = [];
  if (input.containers !== undefined) containers.push(...input.containers);
  else for await (const name of deps.source.listContainers()) containers.push(name);
  const deleted: BlobRef[] = [];
  for (const container of containers) {
    for await (const blob of deps.source.listBlobs(container, { prefix: STAGING_BLOB_PREFIX })) {
      if (!isStagingBlobName(blob.name)) continue;
      const created = Date.parse(blob.metadata[META.createdAt] ?? '') || (blob.createdOn ?? blob.lastModified)?.getTime();
      if (created === undefined || created >= input.olderThan.getTime()) continue;
      await deps.source.deleteBlob({ container, blob: blob.name });
      deleted.push({ container, blob: blob.name });
    }
  }
  if (deleted.length > 0) deps.log.warn(`Swept ${deleted.length} orphaned staging blob(s).`);
  return { deleted };
}

function ignore(): void {}
