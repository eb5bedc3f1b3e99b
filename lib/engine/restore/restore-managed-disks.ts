/**
 * Restore a recovery point's disks as NEW managed disks in a target resource group (Azure Backup's restore of
 * a managed VM: "Restore disks" and "Create new VM" create managed disks in the target group). Per disk:
 *  - from the snapshot tier (the point's disk restore point still exists): a disk created from it
 *    (`createOption: Restore`), then read back through a Read SAS and every block verified against the
 *    point's checksums;
 *  - from the vault, when the vault replica and the restore account share an account Compute can import from
 *    (`importFrom`): the replica's point-in-time snapshot copied server-side to a staging blob in the restore
 *    account (Compute imports a blob; it documents no blob snapshot as a source), a disk imported from it
 *    (`createOption: Import`, Compute copies it), then the disk read back through a Read SAS and every block verified
 *    while the staging blob is deleted — Azure Backup's own path (vault → staging
 *    storage account → managed disk), with no byte through this process but the verifying read;
 *  - else from the vault (or when the snapshot tier is gone): a disk created for upload (`createOption: Upload`,
 *    `uploadSizeBytes` = the disk's bytes incl. its VHD footer), a Write SAS, every block read from the vault
 *    replica verified before it is written (each write with its MD5; zero blocks stay unwritten), then
 *    endGetAccess, which finishes the upload.
 * An encrypted VM's disks (Azure Disk Encryption: the point records its key and secret) keep their encryption
 * settings: each new disk names the BEK secret and KEK the point recorded (`encryptionSettingsCollection`), as the
 * disks had them, so a VM attaching them is encrypted as the source was.
 * A VM's disks are restored side by side (at most 4 at once). Access is always ended. Disks are named `<disk>-<job>` and tagged with the job: a re-run of the same job
 * (an activity retried after a crash) deletes its own leftovers and starts again; a disk of that name not
 * made by this job stops the restore before anything is created. A failure deletes what this restore created.
 */
import { errors } from '../../domain/errors';
import { type RecoveryPointTier, type RestoreTierPreference } from '../domain/restore-plan';
import { assertValidIdentifier, assertValidRecoveryPointId } from '../domain/vault-layout';
import type { RecoveryPointManifest } from '../domain/recovery-point-manifest';
import type { ByteRange } from '../domain/page-ranges';
import type { ManagedDiskCompute, ManagedDiskEncryption, ManagedDiskInfo, SasPageReader, SasPageWriter } from '../../stores/managed-disk-compute';
import { IMPORT_STAGING_CONTAINER, importStagingBlobName } from '../domain/restore-layout';
import type { AbortOptions } from '../../stores/disk-store';
import type { RangeReader } from './range-reader';
import { chooseDiskMethod, isRestorable, loadChecksums, planDisk, readManifest, releaseViews, RESTORE_META, selectDisks, type PlannedDisk, type RestoreDeps } from './restore-disks';
import { copyDiskVerified, type VerifiedCopyOptions } from './verified-copy';
import { readDiskVerified } from './verified-read';

export interface ManagedRestoreDeps extends RestoreDeps {
  compute: ManagedDiskCompute;
  sas: SasPageReader & SasPageWriter;
  /** The restore account as Compute's Import names it; absent → disks from the vault are uploaded. */
  importFrom?: { storageAccountId: string };
}

export interface RestoreManagedDisksRequest {
  itemId: string;
  recoveryPointId: string;
  jobId: string;
  target: { subscriptionId: string; resourceGroup: string; location: string };
  /** LUNs (engine slots) to restore; default every disk of the point. */
  luns?: readonly number[];
  tier?: RestoreTierPreference;
  /** SKUs by engine slot (from the VM as it was backed up); default by the disk's storage type. */
  skus?: Readonly<Record<number, string>>;
  /** Seconds the SAS of a restore lasts; default 4 hours. */
  accessDurationInSeconds?: number;
}

export interface RestoredManagedDisk {
  lun: number;
  name: string;
  id: string;
  sku: string;
  sizeBytes: number;
  tier: RecoveryPointTier;
  tierReason: string;
  method: 'restoreFromSnapshot' | 'import' | 'upload';
  bytesRead: number;
  bytesWritten: number;
  blocksVerified: number;
}

export interface RestoreManagedDisksResult {
  itemId: string;
  recoveryPointId: string;
  jobId: string;
  resourceGroup: string;
  disks: RestoredManagedDisk[];
}

/** The tag restored disks carry (Azure tag names allow letters and digits). */
export const RESTORE_JOB_TAG = 'kluisRestoreJobId';
const DEFAULT_ACCESS_SECONDS = 4 * 3600;

export interface RestoreManagedDisksOptions extends AbortOptions {
  /** The upload's pipeline, as the restore to a storage account streams (reads ahead, uploads in flight). */
  copy?: Omit<VerifiedCopyOptions, 'abortSignal'>;
}
const MAX_DISK_NAME = 80;
/** Disks restored at once (a VM's OS and data disks side by side, as Azure Backup restores them). */
const MAX_DISKS_IN_FLIGHT = 4;
/** Reads of a created disk's read-back ahead of the one being verified: 4 in flight (4 × 4.5 MiB), as the raw-read baseline reads. */
const VERIFY_READ_AHEAD = 3;

export async function restoreManagedDisks(deps: ManagedRestoreDeps, request: RestoreManagedDisksRequest, options: RestoreManagedDisksOptions = {}): Promise<RestoreManagedDisksResult> {
  assertValidIdentifier('itemId', request.itemId);
  assertValidRecoveryPointId(request.recoveryPointId);
  assertValidIdentifier('jobId', request.jobId);
  const row = await deps.catalog.get(request.itemId, request.recoveryPointId);
  if (row === undefined || !isRestorable(row)) throw errors.recoveryPointNotFound(request.itemId, request.recoveryPointId);
  const manifest = await readManifest(deps.vault, row);
  const disks = selectDisks(manifest, request.luns);
  const names = disks.map((disk) => restoredDiskName(disk.name, request.jobId));
  const { subscriptionId, resourceGroup, location } = request.target;
  const idOf = (name: string) => `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/disks/${name}`;

  // Nothing is created until every name is free (or holds this job's own leftover, which goes first).
  const existing = await Promise.all(names.map(async (name) => ({ name, disk: await deps.compute.getDisk(idOf(name)) })));
  const taken = existing.filter((found) => found.disk !== undefined && found.disk.tags?.[RESTORE_JOB_TAG] !== request.jobId);
  if (taken.length > 0) throw errors.restoreTargetExists(`resource group ${resourceGroup}`, taken.map((found) => found.name));
  for (const leftover of existing.filter((found) => found.disk !== undefined)) {
    deps.log.warn(`Removing managed disk '${leftover.name}' left by an earlier attempt of restore job ${request.jobId}.`);
    await deps.compute.revokeAccess(idOf(leftover.name));
    await deps.compute.deleteDisk(idOf(leftover.name));
  }

  // The target group as a portal's "create new" makes it (Azure's restore names an existing one; creating it then changes
  // nothing), while the disks' tiers are planned: neither depends on the other.
  const [group, ...plans] = await Promise.allSettled([
    deps.compute.ensureResourceGroup(subscriptionId, resourceGroup, location),
    ...disks.map((disk) => planDisk(deps, row, manifest, disk, '', request.tier ?? 'Auto')),
  ]);
  const planned = plans.flatMap((plan) => (plan.status === 'fulfilled' ? [plan.value as PlannedDisk] : []));
  const failed = [group, ...plans].find((outcome) => outcome.status === 'rejected');
  if (failed !== undefined) {
    await releaseViews(deps, planned);
    throw failed.reason;
  }
  const created: string[] = [];
  try {
    const restored = await restoreEach(planned, (plan, index, { upload, stopped }) => {
      const sku = request.skus?.[plan.disk.lun] ?? (plan.disk.storageType === 'Premium' ? 'Premium_LRS' : 'Standard_LRS');
      const work = { deps, request, manifest, vaultContainer: row.vaultContainer, plan, name: names[index], sku, location, ref: { subscriptionId, resourceGroup, name: names[index] }, created, options, upload, stopped };
      return restoreOne(work);
    });
    deps.log.info(`Restore job ${request.jobId}: ${restored.length} managed disk(s) of recovery point ${request.recoveryPointId} restored to resource group ${resourceGroup}.`);
    return { itemId: request.itemId, recoveryPointId: request.recoveryPointId, jobId: request.jobId, resourceGroup, disks: restored };
  } catch (err) {
    for (const id of created) {
      await deps.compute.revokeAccess(id).catch(() => undefined);
      await deps.compute.deleteDisk(id).catch((cleanup: unknown) => deps.log.warn(`Deleting restored disk ${id} after a failed restore failed: ${String(cleanup)}`));
    }
    throw err;
  } finally {
    await releaseViews(deps, planned);
  }
}

/**
 * Restores the disks side by side, at most MAX_DISKS_IN_FLIGHT at once (each disk's own pipeline is bounded in memory),
 * results in the point's disk order. After the first failure no further disk starts, and every started one settles
 * before the error is thrown, so the caller's cleanup sees every disk that was created.
 */
async function restoreEach(
  planned: readonly PlannedDisk[],
  restore: (plan: PlannedDisk, index: number, turn: { upload: UploadTurn; stopped: () => boolean }) => Promise<RestoredManagedDisk | undefined>,
): Promise<RestoredManagedDisk[]> {
  const results: (RestoredManagedDisk | undefined)[] = new Array<RestoredManagedDisk | undefined>(planned.length);
  let next = 0;
  let failure: { reason: unknown } | undefined;
  const uploads = new UploadTurns();
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < planned.length) {
      const index = next++;
      const upload = uploads.reserve();
      try {
        results[index] = await restore(planned[index], index, { upload, stopped: () => failure !== undefined });
      } catch (err) {
        failure ??= { reason: err };
      } finally {
        // After the failure is known: a later disk waiting for its upload turn sees it and does not start.
        upload.release();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAX_DISKS_IN_FLIGHT, planned.length) }, lane));
  if (failure !== undefined) throw failure.reason;
  return results.map((restored) => restored!);
}

/** What a disk is verified against: the point's checksums of it. */
type VerifyInput = Omit<Parameters<typeof readDiskVerified>[0], 'source'>;

function ignore(): void {}

/**
 * Uploads take turns: a disk streamed through this process (createOption Upload) waits for the one before it, so
 * `copy.maxUploadsInFlight` and the pipeline's memory bound hold for the whole restore, while imports and disks made
 * from the snapshot tier (server-side, then a bounded read-back) go side by side.
 */
class UploadTurns {
  private last: Promise<void> = Promise.resolve();

  /**
   * A disk's turn, reserved when the disk starts (disks start in the point's order, so uploads go in that order):
   * `take` runs the upload once every earlier disk has released its turn; `release` ends the turn (always called).
   */
  reserve(): UploadTurn {
    const before = this.last;
    let done!: () => void;
    this.last = new Promise<void>((resolve) => (done = resolve));
    return {
      take: async (work) => {
        await before;
        return work();
      },
      release: () => done(),
    };
  }
}

interface UploadTurn {
  take<T>(work: () => Promise<T>): Promise<T>;
  release(): void;
}

interface DiskWork {
  deps: ManagedRestoreDeps;
  request: RestoreManagedDisksRequest;
  manifest: RecoveryPointManifest;
  vaultContainer: string;
  plan: PlannedDisk;
  name: string;
  sku: string;
  location: string;
  ref: { subscriptionId: string; resourceGroup: string; name: string };
  created: string[];
  options: RestoreManagedDisksOptions;
  upload: UploadTurn;
  /** True once another disk of this restore failed: a disk still waiting for its turn does not start. */
  stopped: () => boolean;
}

async function restoreOne(work: DiskWork): Promise<RestoredManagedDisk | undefined> {
  const { deps, request, plan } = work;
  const disk = plan.disk;
  // The checksums load while the disk is made; the read-back or the upload waits for them.
  const sumsLoading = loadChecksums(deps.vault, work.vaultContainer, disk, work.manifest);
  sumsLoading.catch(ignore);
  const verifyWith = async (): Promise<VerifyInput> => ({ sums: await sumsLoading, blobSize: disk.sizeBytes, lun: disk.lun, tier: plan.tier });
  const seconds = request.accessDurationInSeconds ?? DEFAULT_ACCESS_SECONDS;
  const tags = { [RESTORE_JOB_TAG]: request.jobId };
  const encryption = encryptionOfPoint(work.manifest);
  const common = { location: work.location, sku: work.sku, tags, ...(encryption === undefined ? {} : { encryption }) };
  const diskRestorePointId = plan.tier === 'InstantRP' && plan.view?.kind === 'managedDisk' ? plan.view.handle.diskRestorePointId : undefined;

  if (typeof diskRestorePointId === 'string') {
    const made = await deps.compute.createDisk(work.ref, { ...common, createOption: 'Restore', sourceResourceId: diskRestorePointId }, work.options);
    work.created.push(made.id);
    const sas = await deps.compute.grantAccess(made.id, 'Read', seconds, work.options);
    try {
      const verified = await readDiskVerified({ ...(await verifyWith()), source: sasReader(deps.sas, sas, disk.sizeBytes) }, { readAhead: VERIFY_READ_AHEAD, abortSignal: work.options.abortSignal });
      deps.log.info(`Restored disk lun ${disk.lun} as managed disk ${work.name} from its disk restore point; ${verified.blocksVerified} blocks verified.`);
      return result(work, made.id, 'restoreFromSnapshot', verified.bytesRead, 0, verified.blocksVerified);
    } finally {
      await deps.compute.revokeAccess(made.id);
    }
  }

  if (deps.importFrom !== undefined && plan.source.blob !== undefined) {
    const method = await chooseDiskMethod(deps, plan, disk.sizeBytes);
    if (method.method === 'serverSideCopy') return importOne(work, { ...common, storageAccountId: deps.importFrom.storageAccountId }, verifyWith, seconds);
  }

  // Undefined: not started, another disk of this restore failed (that failure is what the restore throws).
  return work.upload.take(async () => (work.stopped() ? undefined : uploadOne(work, common, verifyWith, seconds)));
}

/** A disk created for upload, every block read from the vault verified before it is written through a Write SAS. */
async function uploadOne(
  work: DiskWork,
  common: { location: string; sku: string; tags: Record<string, string>; encryption?: ManagedDiskEncryption },
  verifyWith: () => Promise<VerifyInput>,
  seconds: number,
): Promise<RestoredManagedDisk> {
  const { deps, plan } = work;
  const disk = plan.disk;
  const made = await deps.compute.createDisk(work.ref, { ...common, createOption: 'Upload', uploadSizeBytes: disk.sizeBytes }, work.options);
  work.created.push(made.id);
  const sas = await deps.compute.grantAccess(made.id, 'Write', seconds, work.options);
  let copied;
  try {
    // The same bounded pipeline as the restore to a storage account: every block verified before it is written.
    copied = await copyDiskVerified(
      { ...(await verifyWith()), source: plan.source.reader, target: { sas: deps.sas, url: sas } },
      { ...work.options.copy, abortSignal: work.options.abortSignal },
    );
  } finally {
    // Ends the upload (the disk becomes Unattached), also when it failed (the disk is then deleted).
    // copyDiskVerified has let every started write settle by now, so none lands after access ends.
    await deps.compute.revokeAccess(made.id);
  }
  deps.log.info(
    `Restored disk lun ${disk.lun} as managed disk ${work.name} by upload from the ${plan.tier} tier: ` +
      `${copied.bytesCopied} bytes written in ${copied.uploads} writes, ${copied.blocksVerified} blocks verified.`,
  );
  return result(work, made.id, 'upload', copied.bytesRead, copied.bytesCopied, copied.blocksVerified);
}

/**
 * The vault replica's snapshot staged in the restore account by a server-side copy, imported as the new disk, the
 * staging blob deleted (also on failure), then the disk read back and every block verified.
 */
async function importOne(
  work: DiskWork,
  common: { location: string; sku: string; tags: Record<string, string>; encryption?: ManagedDiskEncryption; storageAccountId: string },
  verifyWith: () => Promise<VerifyInput>,
  seconds: number,
): Promise<RestoredManagedDisk> {
  const { deps, request, plan } = work;
  const disk = plan.disk;
  const staged = { container: IMPORT_STAGING_CONTAINER, blob: importStagingBlobName(request.jobId, disk.lun) };
  const abortSignal = work.options.abortSignal;
  await deps.target.createContainerIfNotExists(staged.container, { abortSignal });
  // A staging blob of an earlier attempt of this job goes first; the name holds the job id, so it is no one else's.
  await deps.target.deleteBlob(staged, { abortSignal });
  const unstage = (): Promise<void> =>
    deps.target.deleteBlob(staged).catch((err: unknown) => deps.log.warn(`Deleting the staging blob ${staged.container}/${staged.blob} of restore job ${request.jobId} failed: ${String(err)}`));
  let made: ManagedDiskInfo;
  try {
    await deps.target.copyBlobIfNotExists(plan.source.blob!.ref, staged, { metadata: { [RESTORE_META.jobId]: request.jobId }, abortSignal });
    made = await deps.compute.createDisk(work.ref, { ...common, createOption: 'Import', sourceUri: deps.target.blobUrl(staged) }, work.options);
    work.created.push(made.id);
  } catch (err) {
    await unstage();
    throw err;
  }
  // The disk holds its own copy now: the staging blob goes while the disk is read back (awaited before this returns).
  const unstaged = unstage();
  try {
    const sas = await deps.compute.grantAccess(made.id, 'Read', seconds, work.options);
    try {
      const { chunkSize, readAhead = VERIFY_READ_AHEAD } = work.options.copy ?? {};
      const verified = await readDiskVerified({ ...(await verifyWith()), source: sasReader(deps.sas, sas, disk.sizeBytes) }, { chunkSize, readAhead, abortSignal });
      deps.log.info(`Restored disk lun ${disk.lun} as managed disk ${work.name} by import from the ${plan.tier} tier (staged in the restore account); ${verified.blocksVerified} blocks verified.`);
      return result(work, made.id, 'import', verified.bytesRead, 0, verified.blocksVerified);
    } finally {
      await deps.compute.revokeAccess(made.id);
    }
  } finally {
    await unstaged;
  }
}

function result(work: DiskWork, id: string, method: RestoredManagedDisk['method'], bytesRead: number, bytesWritten: number, blocksVerified: number): RestoredManagedDisk {
  const { plan } = work;
  return { lun: plan.disk.lun, name: work.name, id, sku: work.sku, sizeBytes: plan.disk.sizeBytes, tier: plan.tier, tierReason: plan.tierReason, method, bytesRead, bytesWritten, blocksVerified };
}

/** The ADE settings an encrypted VM's point recorded (its BEK secret and KEK); undefined for an unencrypted VM. */
export function encryptionOfPoint(manifest: RecoveryPointManifest): ManagedDiskEncryption | undefined {
  const recorded = manifest.keyAndSecret;
  if (recorded === null) return undefined;
  return {
    bek: { secretUrl: recorded.bek.secretUrl, vaultId: recorded.bek.secretVaultId },
    ...(recorded.kek === undefined ? {} : { kek: { keyUrl: recorded.kek.keyUrl, vaultId: recorded.kek.keyVaultId } }),
  };
}

/** A managed disk read through a SAS, as the verified read reads a disk. */
function sasReader(sas: SasPageReader, url: string, size: number): RangeReader {
  return {
    async *allocatedRanges(options) {
      const all: ByteRange = { start: 0, end: size };
      yield* await sas.allocatedRanges(url, all, options);
    },
    read: (offset, count, options) => sas.read(url, offset, count, options),
  };
}

/** `<disk>-<job>` within Compute's 80 characters (the job's first 12 letters and digits). */
export function restoredDiskName(diskName: string, jobId: string): string {
  const job = jobId.replace(/[^A-Za-z0-9]/g, '').slice(0, 12);
  // A disk's name (the last segment where a resource id was recorded), starting with a letter or digit.
  const base = (diskName.split('/').pop() ?? diskName).replace(/[^\w.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, MAX_DISK_NAME - job.length - 1) || 'disk';
  return `${base}-${job}`;
}

