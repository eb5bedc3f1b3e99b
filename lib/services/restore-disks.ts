/**
 * Restore disks (Azure Backup's "RestoreDisks"): every disk of a recovery point becomes a new
 * page blob in a target container, with the VM configuration next to them, and every byte is
 * verified against the checksums recorded at backup.
 *
 * API:
 *   restoreDisks(deps, request, options?): Promise<RestoreDisksResult>
 *   copyDiskVerified(input, options?): Promise<VerifiedCopyResult>   the per-disk pipeline
 *
 * Tier: per disk, the instant snapshot in the source account while the catalog row lists the
 * snapshot tier and the snapshot still exists, else the vault replica's snapshot (or the tier the
 * request names). Targets are never overwritten: every name is checked before anything is
 * written, and blobs are created with `If-None-Match: *`. Any failure deletes what this restore
 * created. A re-run with the same jobId (an activity retried after a crash) reclaims its own
 * leftovers, recognised by their metadata.
 */
import { createHash } from 'node:crypto';
import { decodeBlockSums, digestBlock, isZeroBlock, type BlockSums } from '../domain/block-sums';
import { errors, isKluisErrorLike } from '../domain/errors';
import { AZURE_MAX_PUT_PAGES_BYTES } from '../domain/page-ranges';
import { parseRecoveryPointManifest, type ManifestDisk, type RecoveryPointManifest } from '../domain/recovery-point-manifest';
import {
  defaultRestorePrefix,
  normalizeRestorePrefix,
  restoredDiskBlobName,
  restoredVmConfigBlobName,
} from '../domain/restore-layout';
import {
  blockCountOf,
  chooseReadTier,
  describeMismatch,
  planTargetBlob,
  RecoveryPointStates,
  tiersOfState,
  uploadPiecesFor,
  VerifiedChunkPlanner,
  type BlockMismatch,
  type PremiumPageBlobTier,
  type RecoveryPointTier,
  type RestoreTierPreference,
  type TargetStorageType,
  type VerifiedChunk,
} from '../domain/restore-plan';
import { assertValidContainerName, assertValidIdentifier, assertValidRecoveryPointId } from '../domain/vault-layout';
import type { BlobRef, DiskStore } from '../stores/disk-store';
import type { RecoveryPointCatalog, StoredRecoveryPoint } from '../stores/recovery-point-catalog';
import type { RestoreTargetStore } from '../stores/restore-target-store';
import type { LocatedDisk, SourceDiskLocator } from '../stores/source-disk-locator';
import type { EngineLogger } from './engine-deps';

export interface RestoreDeps {
  /** The vault storage account (replicas, checksums, manifests). */
  vault: DiskStore;
  /** The accounts holding the instant snapshots (the VMs' own storage accounts). */
  sources: SourceDiskLocator;
  /** The account the disks are restored into (may be another account than the source or the vault). */
  target: RestoreTargetStore;
  catalog: RecoveryPointCatalog;
  clock: () => Date;
  log: EngineLogger;
}

export interface RestoreDisksRequest {
  itemId: string;
  recoveryPointId: string;
  /** The restore job; names the default prefix and tags the blobs written. */
  jobId: string;
  targetContainer: string;
  /** Default `restores/<itemId>/<recoveryPointId>/<jobId>`. */
  targetBlobPrefix?: string;
  /** Default: each disk's own storage type from the manifest. */
  targetStorageType?: TargetStorageType;
  /** LUNs to restore; default every disk of the point. */
  luns?: readonly number[];
  /** Default `Auto`: the snapshot tier while it exists, else the vault. */
  tier?: RestoreTierPreference;
}

export interface RestoreDisksOptions {
  /** Disks restored at the same time. Default 2. */
  maxParallelDisks?: number;
  copy?: Omit<VerifiedCopyOptions, 'abortSignal'>;
  abortSignal?: AbortSignal;
}

export interface RestoredDisk {
  lun: number;
  name: string;
  blobName: string;
  /** Without any credential. */
  blobUrl: string;
  /** Where the bytes were read from. */
  tier: RecoveryPointTier;
  tierReason: string;
  sizeBytes: number;
  storageType: TargetStorageType;
  /** Premium targets: the tier chosen for the disk's size. */
  premiumTier?: PremiumPageBlobTier;
  /** Premium targets: false where the account takes no page blob tiers (e.g. Azurite); the tier is then only recorded. */
  premiumTierApplied?: boolean;
  bytesRead: number;
  bytesCopied: number;
  blocksVerified: number;
}

export interface RestoreDisksResult {
  itemId: string;
  recoveryPointId: string;
  jobId: string;
  targetContainer: string;
  vmConfigBlobName: string;
  vmConfigBlobUrl: string;
  disks: RestoredDisk[];
}

/** Metadata on restored blobs (Azure metadata names: lowercase, no dashes). */
export const RESTORE_META = {
  jobId: 'kluisrestorejobid',
  itemId: 'kluisitemid',
  recoveryPointId: 'kluisrecoverypointid',
  lun: 'kluislun',
  sourceTier: 'kluissourcetier',
  premiumTier: 'kluispremiumtier',
} as const;

interface PlannedDisk {
  disk: ManifestDisk;
  blobName: string;
  tier: RecoveryPointTier;
  tierReason: string;
  source: LocatedDisk;
}

export async function restoreDisks(
  deps: RestoreDeps,
  request: RestoreDisksRequest,
  options: RestoreDisksOptions = {},
): Promise<RestoreDisksResult> {
  const { itemId, recoveryPointId, jobId } = validateRequest(request);
  const container = request.targetContainer;
  const row = await deps.catalog.get(itemId, recoveryPointId);
  if (row === undefined || !isRestorable(row)) throw errors.recoveryPointNotFound(itemId, recoveryPointId);
  const manifest = await readManifest(deps.vault, row);
  const disks = selectDisks(manifest, request.luns);
  const prefix =
    request.targetBlobPrefix === undefined
      ? defaultRestorePrefix(itemId, recoveryPointId, jobId)
      : normalizeRestorePrefix(request.targetBlobPrefix);
  const vmConfigBlobName = restoredVmConfigBlobName(prefix);
  const diskNames = disks.map((disk) => restoredDiskBlobName(prefix, disk.lun, disk.name));

  // Nothing is written until every target name is known to be free (or our own leftover).
  const leftovers = await checkTargetsFree(deps.target, container, [...diskNames, vmConfigBlobName], jobId);
  const planned = await Promise.all(
    disks.map((disk, i) => planDisk(deps, row, disk, diskNames[i], request.tier ?? 'Auto')),
  );
  for (const blob of leftovers) {
    deps.log.warn(`Removing '${blob}' left in the target by an earlier attempt of restore job ${jobId}.`);
    await deps.target.deleteBlob({ container, blob });
  }
  await deps.target.createContainerIfNotExists(container);
  const account = await deps.target.getAccountInfo();

  const created: BlobRef[] = [];
  const abort = new AbortController();
  const onOuterAbort = (): void => abort.abort(options.abortSignal?.reason);
  options.abortSignal?.addEventListener('abort', onOuterAbort);
  try {
    const restored = await mapBounded(planned, Math.max(1, options.maxParallelDisks ?? 2), abort, async (plan) => {
      const storageType = request.targetStorageType ?? plan.disk.storageType;
      const target = planTargetBlob(plan.disk.sizeBytes, storageType);
      const premiumTierApplied = target.premiumTier === undefined ? undefined : account.supportsPremiumPageBlobTiers;
      const ref: BlobRef = { container, blob: plan.blobName };
      const metadata: Record<string, string> = {
        [RESTORE_META.jobId]: jobId,
        [RESTORE_META.itemId]: itemId,
        [RESTORE_META.recoveryPointId]: recoveryPointId,
        [RESTORE_META.lun]: String(plan.disk.lun),
        [RESTORE_META.sourceTier]: plan.tier,
      };
      if (target.premiumTier !== undefined) metadata[RESTORE_META.premiumTier] = target.premiumTier;
      const sums = await loadChecksums(deps.vault, row.vaultContainer, plan.disk, manifest);
      const creation = await deps.target.createPageBlobIfNotExists(ref, target.size, {
        premiumTier: premiumTierApplied === true ? target.premiumTier : undefined,
        metadata,
        abortSignal: abort.signal,
      });
      if (!creation.created) throw errors.restoreTargetExists(container, [plan.blobName]);
      created.push(ref);
      const copied = await copyDiskVerified(
        { source: plan.source, target: { store: deps.target, ref }, sums, blobSize: target.size, lun: plan.disk.lun, tier: plan.tier },
        { ...options.copy, abortSignal: abort.signal },
      );
      deps.log.info(
        `Restored disk lun ${plan.disk.lun} from the ${plan.tier} tier (${plan.tierReason}): ${copied.bytesCopied} bytes written, ${copied.blocksVerified} blocks verified.`,
      );
      const disk: RestoredDisk = {
        lun: plan.disk.lun,
        name: plan.disk.name,
        blobName: plan.blobName,
        blobUrl: deps.target.blobUrl(ref),
        tier: plan.tier,
        tierReason: plan.tierReason,
        sizeBytes: target.size,
        storageType,
        bytesRead: copied.bytesRead,
        bytesCopied: copied.bytesCopied,
        blocksVerified: copied.blocksVerified,
      };
      if (target.premiumTier !== undefined) {
        disk.premiumTier = target.premiumTier;
        disk.premiumTierApplied = premiumTierApplied;
      }
      return disk;
    });

    const vmConfigRef: BlobRef = { container, blob: vmConfigBlobName };
    const config = buildVmConfigDocument(manifest, request, restored, deps.clock());
    const written = await deps.target.createBlockBlobIfNotExists(vmConfigRef, `${JSON.stringify(config, null, 2)}\n`, {
      contentType: 'application/json',
      metadata: { [RESTORE_META.jobId]: jobId, [RESTORE_META.itemId]: itemId, [RESTORE_META.recoveryPointId]: recoveryPointId },
      abortSignal: abort.signal,
    });
    if (!written.created) throw errors.restoreTargetExists(container, [vmConfigBlobName]);
    deps.log.info(`Restore job ${jobId}: ${restored.length} disk(s) of recovery point ${recoveryPointId} restored to '${container}/${prefix}'.`);
    return {
      itemId,
      recoveryPointId,
      jobId,
      targetContainer: container,
      vmConfigBlobName,
      vmConfigBlobUrl: deps.target.blobUrl(vmConfigRef),
      disks: restored.sort((a, b) => a.lun - b.lun),
    };
  } catch (err) {
    abort.abort(err);
    await removeCreated(deps, created);
    throw err;
  } finally {
    options.abortSignal?.removeEventListener('abort', onOuterAbort);
  }
}

function validateRequest(request: RestoreDisksRequest): RestoreDisksRequest {
  assertValidIdentifier('itemId', request.itemId);
  assertValidRecoveryPointId(request.recoveryPointId);
  assertValidIdentifier('jobId', request.jobId);
  assertValidContainerName(request.targetContainer, 'targetContainer');
  if (request.targetStorageType !== undefined && !['Standard', 'Premium'].includes(request.targetStorageType)) {
    throw errors.invalidRequest('targetStorageType', "The target storage type must be 'Standard' or 'Premium'.");
  }
  if (request.tier !== undefined && !['Auto', 'InstantRP', 'HardenedRP'].includes(request.tier)) {
    throw errors.invalidRequest('tier', "The tier must be 'Auto', 'InstantRP' or 'HardenedRP'.");
  }
  return request;
}

/** A row being deleted is no longer restorable; any other row's tiers are decided by `tiersOfState` and the blobs. */
function isRestorable(row: StoredRecoveryPoint): boolean {
  return row.state !== RecoveryPointStates.Deleting;
}

async function readManifest(vault: DiskStore, row: StoredRecoveryPoint): Promise<RecoveryPointManifest> {
  let bytes: Buffer;
  try {
    bytes = await vault.readBlob({ container: row.vaultContainer, blob: row.manifestBlobName });
  } catch (err) {
    if (isKluisErrorLike(err) && err.code === 'KluisBlobNotFound') {
      throw errors.recoveryPointDataNotFound(row.itemId, row.recoveryPointId, 'its manifest is missing from the vault');
    }
    throw err;
  }
  const manifest = parseRecoveryPointManifest(bytes);
  if (manifest.itemId !== row.itemId || manifest.recoveryPointId !== row.recoveryPointId) {
    throw errors.invalidManifest(`it describes point ${manifest.recoveryPointId} of item ${manifest.itemId}`);
  }
  return manifest;
}

function selectDisks(manifest: RecoveryPointManifest, luns: readonly number[] | undefined): ManifestDisk[] {
  if (luns === undefined) return [...manifest.disks].sort((a, b) => a.lun - b.lun);
  if (luns.length === 0) throw errors.invalidRequest('luns', 'Name at least one disk (LUN) to restore, or leave the list out.');
  const chosen = [...new Set(luns)].map((lun) => {
    const disk = manifest.disks.find((d) => d.lun === lun);
    if (disk === undefined) {
      const known = manifest.disks.map((d) => d.lun).join(', ');
      throw errors.invalidRequest('luns', `The recovery point has no disk with LUN ${lun} (it has ${known}).`);
    }
    return disk;
  });
  return chosen.sort((a, b) => a.lun - b.lun);
}

/** Names already taken by someone else → KluisRestoreTargetExists; names holding this job's own leftovers are returned. */
async function checkTargetsFree(target: RestoreTargetStore, container: string, names: string[], jobId: string): Promise<string[]> {
  const found = await Promise.all(names.map(async (blob) => ({ blob, props: await target.getBlobProperties({ container, blob }) })));
  const taken = found.filter((f) => f.props !== undefined && f.props.metadata[RESTORE_META.jobId] !== jobId).map((f) => f.blob);
  if (taken.length > 0) throw errors.restoreTargetExists(container, taken);
  return found.filter((f) => f.props !== undefined).map((f) => f.blob);
}

async function planDisk(
  deps: RestoreDeps,
  row: StoredRecoveryPoint,
  disk: ManifestDisk,
  blobName: string,
  preference: RestoreTierPreference,
): Promise<PlannedDisk> {
  const tiers = tiersOfState(row.state);
  const instant = deps.sources.locate(disk.source.blobUrl);
  const instantRef = instant && { store: instant.store, ref: { ...instant.ref, snapshot: disk.source.snapshot } };
  const vaultRef = { store: deps.vault, ref: { container: row.vaultContainer, blob: disk.replica.blobName, snapshot: disk.replica.snapshot } };
  const [instantSize, vaultSize] = await Promise.all([
    tiers.instant === 'Valid' && instantRef !== undefined && preference !== 'HardenedRP'
      ? instantRef.store.getBlobProperties(instantRef.ref).then((p) => p?.size)
      : undefined,
    tiers.vault === 'Valid' && preference !== 'InstantRP' ? deps.vault.getBlobProperties(vaultRef.ref).then((p) => p?.size) : undefined,
  ]);
  const decision = chooseReadTier(preference, {
    instantSnapshotExists: instantSize !== undefined,
    vaultSnapshotExists: vaultSize !== undefined,
  });
  if (!decision.ok) {
    const reason =
      instant === undefined && preference !== 'HardenedRP'
        ? `${decision.reason} (no configured storage account serves the disk's source URL)`
        : decision.reason;
    throw decision.code === 'UserErrorInstantRpNotFound'
      ? errors.instantRpNotFound(row.itemId, row.recoveryPointId, `disk lun ${disk.lun}: ${reason}`)
      : errors.recoveryPointDataNotFound(row.itemId, row.recoveryPointId, `disk lun ${disk.lun}: ${reason}`);
  }
  const size = decision.tier === 'InstantRP' ? instantSize : vaultSize;
  if (size !== disk.sizeBytes) {
    throw errors.restoreVerificationFailed(
      disk.lun,
      decision.tier,
      `the stored copy is ${size} bytes long, but the recovery point recorded ${disk.sizeBytes}`,
    );
  }
  const source = decision.tier === 'InstantRP' ? (instantRef as LocatedDisk) : vaultRef;
  return { disk, blobName, tier: decision.tier, tierReason: decision.reason, source };
}

async function loadChecksums(vault: DiskStore, container: string, disk: ManifestDisk, manifest: RecoveryPointManifest): Promise<BlockSums> {
  let bytes: Buffer;
  try {
    bytes = await vault.readBlob({ container, blob: disk.checksumsBlobName });
  } catch (err) {
    if (isKluisErrorLike(err) && err.code === 'KluisBlobNotFound') {
      throw errors.recoveryPointDataNotFound(manifest.itemId, manifest.recoveryPointId, `the checksums of disk lun ${disk.lun} are missing`);
    }
    throw err;
  }
  const sums = decodeBlockSums(bytes);
  if (sums.blockSize !== manifest.blockSize || sums.hashAlgorithm !== manifest.hashAlgorithm || sums.diskSize !== disk.sizeBytes) {
    throw errors.invalidBlockSums(
      `the checksums of disk lun ${disk.lun} are for ${sums.diskSize} bytes in ${sums.blockSize}-byte ${sums.hashAlgorithm} blocks, but the manifest records ${disk.sizeBytes} bytes in ${manifest.blockSize}-byte ${manifest.hashAlgorithm} blocks`,
    );
  }
  return sums;
}

/** The VM configuration/template document written next to the restored disks. */
export interface RestoredVmConfigDocument {
  schemaVersion: 1;
  kind: 'KluisRestoredVmConfiguration';
  itemId: string;
  recoveryPointId: string;
  recoveryPointTime: string;
  consistency: string;
  jobId: string;
  restoredAt: string;
  isSourceVmEncrypted: boolean;
  disks: Array<Pick<RestoredDisk, 'lun' | 'name' | 'blobName' | 'blobUrl' | 'sizeBytes' | 'storageType' | 'premiumTier' | 'tier'>>;
  /** The VM's configuration as recorded at backup. */
  vmConfig: unknown;
}

function buildVmConfigDocument(
  manifest: RecoveryPointManifest,
  request: RestoreDisksRequest,
  disks: readonly RestoredDisk[],
  now: Date,
): RestoredVmConfigDocument {
  return {
    schemaVersion: 1,
    kind: 'KluisRestoredVmConfiguration',
    itemId: manifest.itemId,
    recoveryPointId: manifest.recoveryPointId,
    recoveryPointTime: manifest.createdAt,
    consistency: manifest.consistency,
    jobId: request.jobId,
    restoredAt: now.toISOString(),
    isSourceVmEncrypted: manifest.keyAndSecret !== null,
    disks: [...disks]
      .sort((a, b) => a.lun - b.lun)
      .map((d) => ({
        lun: d.lun,
        name: d.name,
        blobName: d.blobName,
        blobUrl: d.blobUrl,
        sizeBytes: d.sizeBytes,
        storageType: d.storageType,
        ...(d.premiumTier === undefined ? {} : { premiumTier: d.premiumTier }),
        tier: d.tier,
      })),
    vmConfig: manifest.vmConfig,
  };
}

async function removeCreated(deps: RestoreDeps, created: readonly BlobRef[]): Promise<void> {
  const results = await Promise.allSettled(created.map((ref) => deps.target.deleteBlob(ref)));
  results.forEach((result, i) => {
    if (result.status === 'rejected') {
      deps.log.error(`Could not delete the partial restore target '${created[i].container}/${created[i].blob}'; delete it by hand.`);
    }
  });
  if (created.length > 0) deps.log.warn(`Deleted ${created.length} partial restore target(s) after the failure.`);
}

/** Runs `work` over `items` with at most `limit` at a time; the first failure aborts the rest and is rethrown. */
async function mapBounded<T, R>(items: readonly T[], limit: number, abort: AbortController, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next];
      next += 1;
      try {
        results.push(await work(item));
      } catch (err) {
        // The first failure is the cause; the other disks then end with an AbortError.
        failure ??= { error: err };
        abort.abort(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

// ---- the verified copy of one disk ------------------------------------------------------------------

export interface VerifiedCopyInput {
  source: { store: DiskStore; ref: BlobRef };
  target: { store: RestoreTargetStore; ref: BlobRef };
  /** The recovery point's checksums of this disk; cover every block of `blobSize`. */
  sums: BlockSums;
  blobSize: number;
  /** For error messages. */
  lun: number;
  tier: RecoveryPointTier;
}

export interface VerifiedCopyOptions {
  /** Bytes per read; a multiple of the block size, at most 4 MiB. Default 4 MiB. */
  chunkSize?: number;
  /** Chunks read ahead of the one being verified. Default 2. */
  readAhead?: number;
  /** Uploads in flight while later chunks are verified. Default 4. */
  maxUploadsInFlight?: number;
  abortSignal?: AbortSignal;
}

export interface VerifiedCopyResult {
  /** Bytes read from the source (whole blocks around its allocated ranges). */
  bytesRead: number;
  /** Bytes written to the target. */
  bytesCopied: number;
  /** Every block of the disk: the ones read and hashed, and the unread ones checked to be recorded zero. */
  blocksVerified: number;
  uploads: number;
}

interface PendingRead {
  chunk: VerifiedChunk;
  data: Promise<Buffer>;
}

export async function copyDiskVerified(input: VerifiedCopyInput, options: VerifiedCopyOptions = {}): Promise<VerifiedCopyResult> {
  const { sums, blobSize } = input;
  const blockSize = sums.blockSize;
  const chunkSize = options.chunkSize ?? Math.floor(AZURE_MAX_PUT_PAGES_BYTES / blockSize) * blockSize;
  const readAhead = Math.max(0, options.readAhead ?? 2);
  const maxUploads = Math.max(1, options.maxUploadsInFlight ?? 4);
  const signal = options.abortSignal;
  if (sums.diskSize !== blobSize || sums.firstBlock !== 0 || sums.endBlock !== blockCountOf(blobSize, blockSize)) {
    throw errors.invalidBlockSums(
      `the checksums cover ${sums.diskSize} bytes from block ${sums.firstBlock}, but disk lun ${input.lun} has ${blobSize} bytes`,
    );
  }
  if (chunkSize <= 0 || chunkSize > AZURE_MAX_PUT_PAGES_BYTES) {
    throw errors.invalidRequest('chunkSize', `The chunk size must be a multiple of ${blockSize} bytes of at most 4 MiB.`);
  }

  const planner = new VerifiedChunkPlanner(blobSize, blockSize, chunkSize);
  const nonZero = sums.nonZeroBlocks()[Symbol.iterator]();
  let nextNonZero = nonZero.next();
  let verifiedBlocks = 0;
  const result: VerifiedCopyResult = { bytesRead: 0, bytesCopied: 0, blocksVerified: 0, uploads: 0 };
  const reads: PendingRead[] = [];
  const uploads: Array<Promise<void>> = [];

  const fail = (mismatch: BlockMismatch): never => {
    throw errors.restoreVerificationFailed(input.lun, input.tier, describeMismatch(mismatch, blockSize));
  };

  /** Blocks [verifiedBlocks, endBlock) were not read: each must be recorded as zero. */
  const verifyUnread = (endBlock: number): void => {
    while (!nextNonZero.done && nextNonZero.value.index < endBlock) {
      const { index } = nextNonZero.value;
      if (index >= verifiedBlocks) fail({ blockIndex: index, offset: index * blockSize, kind: 'unexpectedlyUnallocated' });
      nextNonZero = nonZero.next();
    }
    result.blocksVerified += Math.max(0, endBlock - verifiedBlocks);
    verifiedBlocks = Math.max(verifiedBlocks, endBlock);
  };

  const verifyChunk = (chunk: VerifiedChunk, data: Buffer): Set<number> => {
    if (data.length !== chunk.end - chunk.start) {
      throw errors.transferIntegrityFailed(`Read ${data.length} bytes at offset ${chunk.start}, expected ${chunk.end - chunk.start}.`);
    }
    const zeroBlocks = new Set<number>();
    for (let offset = chunk.start; offset < chunk.end; offset += blockSize) {
      const index = offset / blockSize;
      const block = data.subarray(offset - chunk.start, Math.min(offset + blockSize, chunk.end) - chunk.start);
      const expected = sums.digestOf(index);
      const zero = isZeroBlock(block);
      if (zero) zeroBlocks.add(index);
      if (expected === undefined ? !zero : digestBlock(block) !== expected) {
        fail({ blockIndex: index, offset, kind: expected === undefined ? 'expectedZero' : zero ? 'unexpectedlyUnallocated' : 'checksum' });
      }
    }
    return zeroBlocks;
  };

  const processChunk = async (pending: PendingRead): Promise<void> => {
    const data = await pending.data;
    const { chunk } = pending;
    verifyUnread(chunk.start / blockSize);
    const zeroBlocks = verifyChunk(chunk, data);
    const endBlock = blockCountOf(chunk.end, blockSize);
    result.blocksVerified += endBlock - verifiedBlocks;
    verifiedBlocks = endBlock;
    result.bytesRead += data.length;
    for (const piece of uploadPiecesFor(chunk, zeroBlocks, blockSize)) {
      const bytes = data.subarray(piece.start - chunk.start, piece.end - chunk.start);
      const upload = input.target.store.uploadPages(input.target.ref, piece.start, bytes, {
        transactionalContentMD5: createHash('md5').update(bytes).digest(),
        abortSignal: signal,
      });
      upload.catch(ignore); // awaited below; this only keeps an early rejection from being "unhandled"
      uploads.push(upload);
      result.bytesCopied += bytes.length;
      result.uploads += 1;
      while (uploads.length >= maxUploads) await uploads.shift();
    }
  };

  const enqueue = async (chunk: VerifiedChunk): Promise<void> => {
    signal?.throwIfAborted();
    const data = input.source.store.readRange(input.source.ref, chunk.start, chunk.end - chunk.start, { abortSignal: signal });
    data.catch(ignore);
    reads.push({ chunk, data });
    while (reads.length > readAhead) await processChunk(reads.shift() as PendingRead);
  };

  try {
    for await (const range of input.source.store.listPageRanges(input.source.ref, { abortSignal: signal })) {
      if (range.count === 0) continue;
      for (const chunk of planner.push({ start: range.offset, end: range.offset + range.count })) await enqueue(chunk);
    }
    for (const chunk of planner.finish()) await enqueue(chunk);
    while (reads.length > 0) await processChunk(reads.shift() as PendingRead);
    verifyUnread(blockCountOf(blobSize, blockSize));
    await Promise.all(uploads);
  } catch (err) {
    // Let every started request settle so none writes after the caller deletes the partial target.
    await Promise.allSettled([...uploads, ...reads.map((r) => r.data)]);
    throw err;
  }
  return result;
}

function ignore(): void {}
