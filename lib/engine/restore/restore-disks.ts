/**
 * Restore disks (Azure Backup's "RestoreDisks"): every disk of a recovery point becomes a new
 * page blob in a target container, with the VM configuration next to them, and every byte is
 * verified against the checksums recorded at backup. For an encrypted VM's point the encryption info
 * (the key and secret backups and their URLs, Azure's restore-disks output) is written next to them; it
 * holds backup data and is never logged.
 *
 * API:
 *   restoreDisks(deps, request, options?): Promise<RestoreDisksResult>
 *   copyDiskVerified(input, options?): Promise<VerifiedCopyResult>   the streamed per-disk pipeline
 *
 * Method, per disk (`chooseRestoreMethod`): where the chosen tier's snapshot and the target share a
 * storage account (same blob endpoint), `deps.serverSideCopy` says that account's server-side copies are
 * safe (the capability probe) and the target is exactly the disk's size, the service copies the snapshot
 * onto the target and every block is verified by reading the target back; otherwise the disk is
 * streamed (read, verified, uploaded). Either way nothing unverified is left behind.
 *
 * Tier: per disk, the instant snapshot in the source account while the catalog row lists the
 * snapshot tier and the snapshot still exists, else the vault replica's snapshot (or the tier the
 * request names). Targets are never overwritten: every name is checked before anything is
 * written, and blobs are created with `If-None-Match: *`. Any failure deletes what this restore
 * created. A re-run with the same jobId (an activity retried after a crash) reclaims its own
 * leftovers, recognised by their metadata.
 */
import { decodeBlockSums, type BlockSums } from '../domain/block-sums';
import { errors, isKluisErrorLike } from '../../domain/errors';
import { parseRecoveryPointManifest, viewOfManifestDisk, type ManifestDisk, type RecoveryPointManifest } from '../domain/recovery-point-manifest';
import type { DiskView } from '../domain/disk-view';
import {
  defaultRestorePrefix,
  normalizeRestorePrefix,
  restoredDiskBlobName,
  restoredEncryptionInfoBlobName,
  restoredVmConfigBlobName,
} from '../domain/restore-layout';
import {
  chooseReadTier,
  chooseRestoreMethod,
  copyDependsOnProbe,
  planTargetBlob,
  RecoveryPointStates,
  tiersOfState,
  type PremiumPageBlobTier,
  type RecoveryPointTier,
  type RestoreMethod,
  type RestoreMethodDecision,
  type RestoreTierPreference,
  type TargetStorageType,
} from '../domain/restore-plan';
import { assertValidContainerName, assertValidIdentifier, assertValidRecoveryPointId } from '../domain/vault-layout';
import type { BlobRef, DiskStore } from '../../stores/disk-store';
import type { RecoveryPointCatalog, StoredRecoveryPoint } from '../../stores/recovery-point-catalog';
import type { RestoreTargetStore, ServerSideCopyFacts } from '../../stores/restore-target-store';
import type { SourceDiskRegistry } from '../sources/registry';
import type { EngineLogger } from '../engine-deps';
import { blobReader, viewReader, type RangeReader } from './range-reader';
import { keyAndSecretBackupBlobs, readKeyAndSecretBackups } from './key-and-secret-backups';
import { buildEncryptionInfoDocument, buildVmConfigDocument } from './restore-documents';
export type { EncryptionInfoDocument, RestoredVmConfigDocument } from './restore-documents';
import { copyDiskVerified, type VerifiedCopyOptions } from './verified-copy';
import { readDiskVerified } from './verified-read';
export { copyDiskVerified, type VerifiedCopyInput, type VerifiedCopyOptions, type VerifiedCopyResult } from './verified-copy';

export interface RestoreDeps {
  /** The vault storage account (replicas, checksums, manifests). */
  vault: DiskStore;
  /** The source disks' backends: they hold the instant-restore tier (the points' views). */
  sources: SourceDiskRegistry;
  /** The account the disks are restored into (may be another account than the source or the vault). */
  target: RestoreTargetStore;
  catalog: RecoveryPointCatalog;
  clock: () => Date;
  log: EngineLogger;
  /** The source accounts' endpoints and copy capability; absent → every disk is streamed. */
  serverSideCopy?: ServerSideCopyFacts;
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
  /** How the bytes reached the target, and why. */
  method: RestoreMethod;
  methodReason: string;
  /** Bytes this process read: from the tier when streamed, from the target when verifying a copy. */
  bytesRead: number;
  /** Bytes this process uploaded (0 for a server-side copy). */
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
  /** Encrypted VMs: the blob with the key and secret backups and URLs (next to vmconfig.json). */
  encryptionInfoBlobName?: string;
  encryptionInfoBlobUrl?: string;
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

export interface PlannedDisk {
  disk: ManifestDisk;
  blobName: string;
  tier: RecoveryPointTier;
  tierReason: string;
  /** What the disk is read from: the tier's bytes, and the blob behind them when there is one (server-side copies). */
  source: { reader: RangeReader; blob?: { store: DiskStore; ref: BlobRef } };
  /** The instant tier's view, released when the restore ends. */
  view?: DiskView;
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
  const keyAndSecretBlobs = keyAndSecretBackupBlobs(manifest.keyAndSecret);
  const encryptionInfoBlobName = keyAndSecretBlobs === undefined ? undefined : restoredEncryptionInfoBlobName(prefix);
  // Read before anything is written: a point whose backups are gone fails without leaving partial disks.
  const keyAndSecretData =
    keyAndSecretBlobs === undefined ? undefined : await readKeyAndSecretBackups(deps.vault, row.vaultContainer, keyAndSecretBlobs, itemId, recoveryPointId);

  // Nothing is written until every target name is known to be free (or our own leftover).
  const extraNames = encryptionInfoBlobName === undefined ? [vmConfigBlobName] : [vmConfigBlobName, encryptionInfoBlobName];
  const leftovers = await checkTargetsFree(deps.target, container, [...diskNames, ...extraNames], jobId);
  const planned = await Promise.all(
    disks.map((disk, i) => planDisk(deps, row, manifest, disk, diskNames[i], request.tier ?? 'Auto')),
  );
  try {
    return await restorePlanned(deps, request, options, { row, manifest, planned, prefix, vmConfigBlobName, encryptionInfoBlobName, keyAndSecretData, leftovers });
  } finally {
    await releaseViews(deps, planned);
  }
}

interface RestoreWork {
  row: StoredRecoveryPoint;
  manifest: RecoveryPointManifest;
  planned: PlannedDisk[];
  prefix: string;
  vmConfigBlobName: string;
  encryptionInfoBlobName: string | undefined;
  keyAndSecretData: Awaited<ReturnType<typeof readKeyAndSecretBackups>> | undefined;
  leftovers: string[];
}

async function restorePlanned(deps: RestoreDeps, request: RestoreDisksRequest, options: RestoreDisksOptions, work: RestoreWork): Promise<RestoreDisksResult> {
  const { itemId, recoveryPointId, jobId } = request;
  const container = request.targetContainer;
  const { row, manifest, planned, prefix, vmConfigBlobName, encryptionInfoBlobName, keyAndSecretData, leftovers } = work;
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
      const method = await chooseDiskMethod(deps, plan, target.size);
      const createOptions = { premiumTier: premiumTierApplied === true ? target.premiumTier : undefined, metadata, abortSignal: abort.signal };
      const verify = { sums, blobSize: target.size, lun: plan.disk.lun, tier: plan.tier };
      let copied: { bytesRead: number; bytesCopied: number; blocksVerified: number };
      if (method.method === 'serverSideCopy' && plan.source.blob !== undefined) {
        const copy = await deps.target.copyBlobIfNotExists(plan.source.blob.ref, ref, createOptions);
        if (!copy.created && !(await isOwnTarget(deps.target, ref, jobId))) throw errors.restoreTargetExists(container, [plan.blobName]);
        created.push(ref);
        // The service wrote the bytes: every block is checked by reading the target itself back.
        const { chunkSize, readAhead } = options.copy ?? {};
        const verified = await readDiskVerified({ ...verify, source: blobReader(deps.target, ref) }, { chunkSize, readAhead, abortSignal: abort.signal });
        copied = { ...verified, bytesCopied: 0 };
      } else {
        const creation = await deps.target.createPageBlobIfNotExists(ref, target.size, createOptions);
        if (!creation.created && !(await isOwnTarget(deps.target, ref, jobId))) throw errors.restoreTargetExists(container, [plan.blobName]);
        created.push(ref);
        copied = await copyDiskVerified(
          { ...verify, source: plan.source.reader, target: { store: deps.target, ref } },
          { ...options.copy, abortSignal: abort.signal },
        );
      }
      deps.log.info(
        `Restored disk lun ${plan.disk.lun} from the ${plan.tier} tier (${plan.tierReason}) by ${describeMethod(method)}: ` +
          `${copied.bytesCopied} bytes written, ${copied.bytesRead} bytes read, ${copied.blocksVerified} blocks verified.`,
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
        method: method.method,
        methodReason: method.reason,
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
    if (!written.created && !(await isOwnTarget(deps.target, vmConfigRef, jobId))) throw errors.restoreTargetExists(container, [vmConfigBlobName]);
    created.push(vmConfigRef);
    let encryptionInfoRef: BlobRef | undefined;
    if (encryptionInfoBlobName !== undefined && keyAndSecretData !== undefined) {
      encryptionInfoRef = { container, blob: encryptionInfoBlobName };
      const info = buildEncryptionInfoDocument(manifest, request.jobId, keyAndSecretData);
      const infoWritten = await deps.target.createBlockBlobIfNotExists(encryptionInfoRef, `${JSON.stringify(info, null, 2)}\n`, {
        contentType: 'application/json',
        metadata: { [RESTORE_META.jobId]: jobId, [RESTORE_META.itemId]: itemId, [RESTORE_META.recoveryPointId]: recoveryPointId },
        abortSignal: abort.signal,
      });
      if (!infoWritten.created && !(await isOwnTarget(deps.target, encryptionInfoRef, jobId))) throw errors.restoreTargetExists(container, [encryptionInfoBlobName]);
      created.push(encryptionInfoRef);
      deps.log.info(`Restore job ${jobId}: wrote the encryption info (key and secret backups) to '${container}/${encryptionInfoBlobName}'.`);
    }
    deps.log.info(`Restore job ${jobId}: ${restored.length} disk(s) of recovery point ${recoveryPointId} restored to '${container}/${prefix}'.`);
    return {
      itemId,
      recoveryPointId,
      jobId,
      targetContainer: container,
      vmConfigBlobName,
      vmConfigBlobUrl: deps.target.blobUrl(vmConfigRef),
      ...(encryptionInfoRef === undefined ? {} : { encryptionInfoBlobName: encryptionInfoRef.blob, encryptionInfoBlobUrl: deps.target.blobUrl(encryptionInfoRef) }),
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
export function isRestorable(row: StoredRecoveryPoint): boolean {
  return row.state !== RecoveryPointStates.Deleting;
}

export async function readManifest(vault: DiskStore, row: StoredRecoveryPoint): Promise<RecoveryPointManifest> {
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

export function selectDisks(manifest: RecoveryPointManifest, luns: readonly number[] | undefined): ManifestDisk[] {
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

export async function planDisk(
  deps: RestoreDeps,
  row: StoredRecoveryPoint,
  manifest: RecoveryPointManifest,
  disk: ManifestDisk,
  blobName: string,
  preference: RestoreTierPreference,
): Promise<PlannedDisk> {
  const tiers = tiersOfState(row.state);
  const view = viewOfManifestDisk(disk, manifest.createdAt);
  const backend = deps.sources.find(view.kind);
  const vaultRef: BlobRef = { container: row.vaultContainer, blob: disk.replica.blobName, snapshot: disk.replica.snapshot };
  const [instant, vaultSize] = await Promise.all([
    tiers.instant === 'Valid' && preference !== 'HardenedRP'
      ? backend === undefined
        ? { status: 'unreachable' as const, reason: `no backend of this app serves ${view.kind} disks` }
        : backend.describeView(view)
      : undefined,
    tiers.vault === 'Valid' && preference !== 'InstantRP' ? deps.vault.getBlobProperties(vaultRef).then((p) => p?.size) : undefined,
  ]);
  const instantSize = instant?.status === 'present' ? instant.sizeBytes : undefined;
  const decision = chooseReadTier(preference, {
    instantSnapshotExists: instantSize !== undefined,
    vaultSnapshotExists: vaultSize !== undefined,
  });
  if (!decision.ok) {
    const reason = instant?.status === 'unreachable' ? `${decision.reason} (${instant.reason})` : decision.reason;
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
  const planned = { disk, blobName, tier: decision.tier, tierReason: decision.reason };
  if (decision.tier === 'HardenedRP' || backend === undefined) {
    return { ...planned, source: { reader: blobReader(deps.vault, vaultRef), blob: { store: deps.vault, ref: vaultRef } } };
  }
  const blob = backend.blobOf?.(view);
  return { ...planned, view, source: { reader: viewReader(backend, view), ...(blob === undefined ? {} : { blob: { store: blob.store, ref: blob.ref } }) } };
}

/** Ends the access the restore took to instant-tier views (their backends grant it on the first read). */
export async function releaseViews(deps: RestoreDeps, planned: readonly PlannedDisk[]): Promise<void> {
  const views = planned.flatMap((plan) => (plan.view === undefined ? [] : [plan.view]));
  const results = await Promise.allSettled(views.map((view) => deps.sources.backendFor(view.kind).release([view])));
  for (const result of results) {
    if (result.status === 'rejected') deps.log.warn(`Could not release a source view after the restore: ${(result.reason as Error).message}`);
  }
}

/** The facts about this disk's source and target, with the probe asked only when its answer decides. */
/** How a disk of the vault tier reaches the target account: a server-side copy where the probe finds it safe, else streamed. */
export async function chooseDiskMethod(deps: RestoreDeps, plan: PlannedDisk, targetSize: number): Promise<RestoreMethodDecision> {
  const facts = {
    sourceEndpoint: plan.source.blob === undefined ? undefined : deps.serverSideCopy?.endpointOf(plan.source.blob.store),
    targetEndpoint: deps.target.endpoint,
    targetSize,
    diskSize: plan.disk.sizeBytes,
  };
  if (deps.serverSideCopy === undefined || !copyDependsOnProbe(facts)) return chooseRestoreMethod({ ...facts, copySafety: undefined });
  try {
    const serverSideCopySafe = plan.source.blob !== undefined && (await deps.serverSideCopy.serverSideCopySafe(plan.source.blob.store));
    return chooseRestoreMethod({ ...facts, copySafety: { serverSideCopySafe } });
  } catch (err) {
    // The probe only decides between two verified paths: streaming is always possible.
    const reason = `the capability probe of the account failed (${(err as Error).message})`;
    deps.log.warn(`Restore of disk lun ${plan.disk.lun}: ${reason}; streaming it.`);
    return chooseRestoreMethod({ ...facts, copySafety: { serverSideCopySafe: false, reason } });
  }
}

function describeMethod(decision: RestoreMethodDecision): string {
  return `${decision.method === 'serverSideCopy' ? 'server-side copy, verified by reading the target back' : 'streaming'} (${decision.reason})`;
}

export async function loadChecksums(vault: DiskStore, container: string, disk: ManifestDisk, manifest: RecoveryPointManifest): Promise<BlockSums> {
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

/**
 * A target that exists already is this restore's own when its metadata names this job: a create whose answer was
 * lost (the SDK's retry then hears "already exists"), or an earlier attempt of the same job's activity. Every byte
 * is written and verified again, so carrying on is safe; anyone else's blob is never overwritten.
 */
async function isOwnTarget(target: RestoreDeps['target'], ref: BlobRef, jobId: string): Promise<boolean> {
  const existing = await target.getBlobProperties(ref);
  return existing !== undefined && existing.metadata[RESTORE_META.jobId] === jobId;
}
