/**
 * Restore requests over the ARM API (`POST …/recoveryPoints/{rp}/restore`): every check runs before the
 * first write, then a Restore job is created, the `vaultRestore` orchestration started and an async
 * operation recorded that points at the job (as in Azure Backup, the operation succeeds once the job
 * exists; the job tells the rest).
 *
 * API:
 *   acceptRestoreRequest(deps, ref, body, start): AcceptedRestore   validate → job → start → operation
 *   recordRestoreJobEvent(deps, vault, jobId, event): JobRecord     the job's progress (activity updateRestoreJob)
 *   registerRestoredVm(deps, input): {vmId, created}                AlternateLocation: insert the new VM (activity)
 *   findRestorableItem / findRestorablePoint / readPointManifest     the lookups (also restore-key-and-secret.ts)
 *
 * A rejected request leaves the catalog as it was (nothing is written before the last check). Restore
 * never replaces a VM: the target VM is checked here and created insert-only after the disks are verified.
 */
import type { VaultRef } from '../domain/arm-names';
import type { Initiator, JobRecord, OperationRecord, ProtectedItemRecord, VaultRecord } from '../domain/catalog';
import { errors, isKluisErrorCode, isKluisErrorLike, KluisError } from '../domain/errors';
import { parseRecoveryPointManifest, type RecoveryPointManifest } from '../engine/domain/recovery-point-manifest';
import { defaultRestorePrefix, restoredEncryptionInfoBlobName, restoredVmConfigBlobName } from '../engine/domain/restore-layout';
import { RecoveryPointStates } from '../engine/domain/restore-plan';
import {
  isVmOfRestoreJob,
  planRestore,
  RESTORE_TASKS,
  restoreContainerName,
  restoredVm,
  restoreJobPropertyBag,
  storageAccountNameOfBlobUrl,
  vmConfigFacts,
  type RestoredDiskRef,
  type RestoreJobEvent,
  type RestoredVmSpec,
  type RestorePlan,
  type RestoreRequestBody,
} from '../domain/restore-request';
import { isValidRecoveryPointId } from '../engine/domain/vault-layout';
import type { BlobRef, DiskStore } from '../stores/disk-store';
import type { StoredRecoveryPoint } from '../stores/recovery-point-catalog';
import type { RestoreTargetStore } from '../stores/restore-target-store';
import type { VaultCatalog } from '../stores/vault-catalog';
import type { VmInventory } from '../stores/vm-inventory';
import { completeJob, completeTask, createJob, failJob, setTaskProgress, startTask, updateJob, type JobDeps, type VaultScope } from './jobs';
import { assertKeyAndSecretPresent, type KeyAndSecretPresenceDeps } from './key-vault-access';
import { createOperation } from './operations';
import { keyAndSecretBackupBlobs } from '../engine/restore/key-and-secret-backups';
import { assertAzureFabric, getProtectedItem } from './protection';
import { getVault } from './vaults';

export interface RestoreRequestDeps {
  catalog: VaultCatalog;
  inventory: Pick<VmInventory, 'get'>;
  /** The vault storage account: recovery point manifests are read from it. */
  vault: Pick<DiskStore, 'readBlob'>;
  /** The account restores are written to (KLUIS_RESTORE_STORAGE): its name and blob URLs. */
  restoreTarget: Pick<RestoreTargetStore, 'blobUrl'>;
  clock: () => Date;
  newId: () => string;
  /** Encrypted VMs: where their Key Vaults are, to check the key and secret still exist before restoring. */
  keyVault?: KeyAndSecretPresenceDeps;
  /**
   * The caller's own access to what a restore touches besides the vault (Azure's linked checks): the
   * source VM, the restore storage account, a new VM. Throws to refuse; runs before anything is written.
   */
  authorizeTargets?: (targets: RestoreTargets) => Promise<void>;
  /** Who asked (the request's caller). */
  initiator?: Initiator;
}

export interface RestoreTargets {
  /** The protected VM the point belongs to. */
  sourceVmId: string;
  /** The storage account the disks go to (by name: Kluis restores into the account it is configured with). */
  storageAccountName: string;
  /** AlternateLocation: the VM to create. */
  targetVmId?: string;
}

/** The recovery point a request addresses (the path of `…/recoveryPoints/{rp}/restore`). */
export interface RecoveryPointRef extends VaultRef {
  fabricName: string;
  containerName: string;
  itemName: string;
  recoveryPointId: string;
}

/** What the orchestration gets (orchestrations/vault-restore.ts VaultRestoreInput has the same shape). */
export interface VaultRestoreRequest {
  vault: VaultScope;
  jobId: string;
  restore: { itemId: string; recoveryPointId: string; targetContainer: string; luns?: number[] };
  targetVm?: RestoredVmSpec;
}

export interface AcceptedRestore {
  job: JobRecord;
  operation: OperationRecord;
  plan: RestorePlan;
  orchestration: VaultRestoreRequest;
}

/** Starts the orchestration with the job id as its instance id. */
export type StartRestoreOrchestration = (instanceId: string, input: VaultRestoreRequest) => Promise<void>;

export async function acceptRestoreRequest(
  deps: RestoreRequestDeps,
  ref: RecoveryPointRef,
  body: RestoreRequestBody,
  start: StartRestoreOrchestration,
): Promise<AcceptedRestore> {
  const vault = (await getVault(deps, ref)).value;
  const item = await findRestorableItem(deps, vault, ref);
  const point = await findRestorablePoint(deps, item, ref);
  const manifest = await readPointManifest(deps, item, point);
  // The account's name as its blob URLs show it (any blob name will do: nothing is read or written).
  const restoreAccountName = storageAccountNameOfBlobUrl(deps.restoreTarget.blobUrl({ container: 'kluis', blob: 'probe' }));
  if (restoreAccountName === undefined) {
    throw errors.invalidConfiguration('KLUIS_RESTORE_STORAGE', 'the name of the restore storage account cannot be told from its blob endpoint');
  }
  const isEncrypted = manifest.keyAndSecret !== null || vmConfigFacts(manifest.vmConfig).encrypted === true;
  const plan = planRestore(
    {
      recoveryPointId: ref.recoveryPointId,
      vault: { subscriptionId: vault.subscriptionId, location: vault.location },
      sourceVm: item.vm,
      point: {
        disks: manifest.disks.map((disk) => ({ slot: disk.lun, storageType: disk.storageType })),
        vmConfig: manifest.vmConfig,
        isEncrypted,
      },
      restoreAccountName,
    },
    body.properties,
  );
  if (plan.targetVm !== undefined && (await deps.inventory.get(plan.targetVm)) !== undefined) {
    throw errors.restoreTargetVmExists(plan.targetVm.id);
  }
  if (manifest.keyAndSecret !== null && deps.keyVault !== undefined) {
    // Disks of an encrypted VM are useless without the key and secret they were encrypted with.
    await assertKeyAndSecretPresent(deps.keyVault, item.vm.name, manifest.keyAndSecret);
  }
  await deps.authorizeTargets?.({ sourceVmId: item.vm.id, storageAccountName: plan.storageAccountName, ...(plan.targetVm === undefined ? {} : { targetVmId: plan.targetVm.id }) });

  // Every check passed: from here on, writes.
  const scope: VaultScope = { id: vault.id, subscriptionId: vault.subscriptionId, resourceGroup: vault.resourceGroup, name: vault.name };
  const jobId = deps.newId();
  const targetContainer = restoreContainerName(plan.targetVm?.name ?? item.vm.name, jobId);
  const prefix = defaultRestorePrefix(item.engineItemId, point.recoveryPointId, jobId);
  const configRef: BlobRef = { container: targetContainer, blob: restoredVmConfigBlobName(prefix) };
  // restoreDisks writes it for points with key and secret backups (restore-disks.ts).
  const encryptionInfoRef: BlobRef | undefined =
    keyAndSecretBackupBlobs(manifest.keyAndSecret) === undefined ? undefined : { container: targetContainer, blob: restoredEncryptionInfoBlobName(prefix) };
  const propertyBag = restoreJobPropertyBag({
    plan,
    container: configRef.container,
    configBlobName: configRef.blob,
    configBlobUrl: deps.restoreTarget.blobUrl(configRef),
    recoveryPointTime: point.createdAt,
    sourceIsEncrypted: isEncrypted,
    ...(encryptionInfoRef === undefined ? {} : { encryptionInfoBlob: { name: encryptionInfoRef.blob, url: deps.restoreTarget.blobUrl(encryptionInfoRef) } }),
  });
  const tasks = plan.recoveryType === 'AlternateLocation' ? [RESTORE_TASKS.transfer, RESTORE_TASKS.createVm] : [RESTORE_TASKS.transfer];
  await createJob(deps, scope, {
    jobId,
    operation: 'Restore',
    entityFriendlyName: item.vm.name,
    containerName: item.containerName,
    itemName: item.itemName,
    isUserTriggered: true,
    tasks,
    propertyBag,
  });
  const job = await updateJob(deps, scope, jobId, (current) => ({ ...current, instanceId: jobId }));
  const orchestration: VaultRestoreRequest = {
    vault: scope,
    jobId,
    restore: {
      itemId: item.engineItemId,
      recoveryPointId: point.recoveryPointId,
      targetContainer,
      ...(plan.slots === undefined ? {} : { luns: plan.slots }),
    },
    ...(plan.targetVm === undefined ? {} : { targetVm: plan.targetVm }),
  };
  try {
    await start(jobId, orchestration);
  } catch (err) {
    await failJob(deps, scope, jobId, errors.backupOperationFailed('The restore job could not be started.', err));
    throw err;
  }
  const operation = await createOperation(deps, scope, { name: 'Restore', jobId, status: 'Succeeded' });
  return { job, operation, plan, orchestration };
}

/** The item a restore (or restoreKeyAndSecret) addresses: in the Azure fabric and not soft-deleted. */
export async function findRestorableItem(deps: Pick<RestoreRequestDeps, 'catalog'>, vault: VaultRecord, ref: RecoveryPointRef): Promise<ProtectedItemRecord> {
  assertAzureFabric(ref.fabricName);
  const item = await getProtectedItem(deps, vault, { containerName: ref.containerName, itemName: ref.itemName });
  if (item.softDelete !== undefined) throw errors.itemSoftDeleted(ref.itemName, item.softDelete.purgeAt, 'be restored');
  return item;
}

/** The visible recovery point a request names (a point being deleted is not). */
export async function findRestorablePoint(deps: Pick<RestoreRequestDeps, 'catalog'>, item: ProtectedItemRecord, ref: RecoveryPointRef): Promise<StoredRecoveryPoint> {
  if (!isValidRecoveryPointId(ref.recoveryPointId)) {
    throw errors.invalidRequest('recoveryPointId', `'${ref.recoveryPointId.slice(0, 64)}' is not a recovery point name (a numeric string).`);
  }
  const point = await deps.catalog.recoveryPoints.get(item.engineItemId, ref.recoveryPointId);
  // A point being deleted is no longer visible.
  if (point === undefined || point.state === RecoveryPointStates.Deleting) throw errors.recoveryPointNotFound(item.vm.name, ref.recoveryPointId);
  return point;
}

/** The point's manifest from the vault, checked to describe that point. */
export async function readPointManifest(deps: Pick<RestoreRequestDeps, 'vault'>, item: ProtectedItemRecord, point: StoredRecoveryPoint): Promise<RecoveryPointManifest> {
  let bytes: Buffer;
  try {
    bytes = await deps.vault.readBlob({ container: point.vaultContainer, blob: point.manifestBlobName });
  } catch (err) {
    if (isKluisErrorLike(err) && err.code === 'KluisBlobNotFound') {
      throw errors.recoveryPointDataNotFound(item.vm.name, point.recoveryPointId, 'its manifest is missing from the vault');
    }
    throw err;
  }
  const manifest = parseRecoveryPointManifest(bytes);
  if (manifest.itemId !== point.itemId || manifest.recoveryPointId !== point.recoveryPointId) {
    throw errors.invalidManifest(`it describes point ${manifest.recoveryPointId} of item ${manifest.itemId}`);
  }
  return manifest;
}

// ---- the job ----------------------------------------------------------------------------------------

/**
 * Records a step of a Restore job. Safe to repeat (a retried activity): a finished job stays as it is,
 * and starting a started task changes nothing.
 */
export async function recordRestoreJobEvent(deps: JobDeps, vault: VaultScope, jobId: string, event: RestoreJobEvent): Promise<JobRecord> {
  switch (event.kind) {
    case 'started':
      return startTask(deps, vault, jobId, RESTORE_TASKS.transfer);
    case 'disksRestored': {
      const job = await completeTask(deps, vault, jobId, RESTORE_TASKS.transfer);
      const hasCreateVm = job.tasks.some((task) => task.taskId === RESTORE_TASKS.createVm);
      return hasCreateVm ? setTaskProgress(deps, vault, jobId, RESTORE_TASKS.createVm, 0) : job;
    }
    case 'completed':
      return completeJob(deps, vault, jobId, event.vmId === undefined ? {} : { propertyBag: { 'Target VM Id': event.vmId } });
    case 'failed':
      return failJob(deps, vault, jobId, failureOf(event.code, event.message));
  }
}

/** The failure as a KluisError, so the job shows its code's recommendation. */
function failureOf(code: string, message: string): KluisError {
  return isKluisErrorCode(code) ? new KluisError(code, message) : errors.backupOperationFailed(message);
}

// ---- the new VM ---------------------------------------------------------------------------------------

export interface RegisterRestoredVmDeps {
  inventory: Pick<VmInventory, 'get' | 'create'>;
  clock: () => Date;
  /** Creates the target resource group when missing, so the new VM's group exists for ARM (as the fabric does for its VMs). */
  ensureResourceGroup?: (subscriptionId: string, name: string, location: string) => Promise<void>;
}

export interface RegisterRestoredVmRequest {
  jobId: string;
  targetVm: RestoredVmSpec;
  disks: readonly RestoredDiskRef[];
}

/**
 * Inserts the VM built from the restored disks. Insert-only: a VM that appeared since the request was
 * accepted is never replaced (KluisRestoreTargetVmExists); one this job created before (a retried
 * activity) counts as registered.
 */
export async function registerRestoredVm(deps: RegisterRestoredVmDeps, request: RegisterRestoredVmRequest): Promise<{ vmId: string; created: boolean }> {
  const vm = restoredVm(request.targetVm, request.jobId, request.disks, deps.clock().toISOString());
  await deps.ensureResourceGroup?.(vm.subscriptionId, vm.resourceGroup, vm.location);
  try {
    const created = await deps.inventory.create(vm);
    return { vmId: created.id, created: true };
  } catch (err) {
    if (!isKluisErrorLike(err) || err.code !== 'KluisVmAlreadyExists') throw err;
    const existing = await deps.inventory.get(request.targetVm);
    if (existing !== undefined && isVmOfRestoreJob(existing, request.jobId)) return { vmId: existing.id, created: false };
    throw errors.restoreTargetVmExists(request.targetVm.id);
  }
}
