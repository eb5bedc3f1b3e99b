/**
 * Scheduled restore drills (restore-drill.ts has the settings and the rules): the drill timer asks which
 * protected items are due a drill in the current period, starts each as a `RestoreDrill` job, and a drill
 * restores its point with the engine's verified restore (`restoreDisks`: every block checked against the
 * point's checksums) into scratch in the vault (`items/<itemId>/drills/<jobId>/`), records what it
 * verified on the job, and deletes the scratch whatever happened.
 *
 * The drill reads the vault tier (HardenedRP) of both page-blob and managed-disk items: that is the copy
 * that outlives the instant snapshots, and the one whose bytes only Kluis wrote. A drill that fails marks
 * the item's health (ActionRequired, with the drill's job in healthDetails: item-resource.ts); the next drill
 * that passes clears it. A drill that could not run (a retryable failure, e.g. storage unavailable) is thrown for
 * the activity's retries; when those are spent the job fails with that code (`failRestoreDrill`) and the item's
 * health is left alone: it says nothing about the point. Nor does a drill whose point retention deleted while it ran.
 *
 * Every drill has a job id derived from the item and the period, and its job row is insert-only: one drill per
 * item and period, whatever the number of hosts or ticks. A drill that died leaves its scratch: the item's
 * next drill deletes it, and `kluis check` reports it (OrphanDrillScratch). A drill whose orchestration ended without
 * recording it (terminated from outside) is ended by the drill timer (`endRestoreDrill`): never InProgress for good.
 *
 * API:
 *   findDueRestoreDrills(deps): Promise<DueRestoreDrill[]>
 *   startRestoreDrill(deps, due): Promise<{ run: boolean; job: JobRecord; input: RestoreDrillRun }>
 *   runRestoreDrill(deps, input): Promise<RestoreDrillResult>
 *   failRestoreDrill(deps, input, error): Promise<void>
 *   listActiveRestoreDrills(deps): Promise<ActiveRestoreDrill[]>; endRestoreDrill(deps, run, how): Promise<void>
 */
import { nameRow, vaultKey, type JobRecord, type ProtectedItemRecord, type RestoreDrillOutcome } from '../domain/catalog';
import { describeFailure, errors, isKluisErrorLike, isRetryableCode } from '../domain/errors';
import { validatePolicy } from '../domain/policy-rules';
import { chooseDrillPoint, effectiveRestoreDrill, restoreDrillSlot, type RestoreDrillSettings } from '../domain/restore-drill';
import { drillScratchPrefix, drillsScratchPrefix } from '../engine/domain/vault-layout';
import { tiersOfState } from '../engine/domain/restore-plan';
import { restoreDisks, type RestoreDeps, type RestoreDisksResult } from '../engine/restore/restore-disks';
import type { EngineLogger } from '../engine/engine-deps';
import { updateDocument } from '../stores/document-store';
import type { PageBlobStore } from '../stores/page-blob-store';
import type { VaultCatalog } from '../stores/vault-catalog';
import { completeJob, createJob, derivedJobId, failJob, getJob, isFinishedJobStatus, vaultPartitionOf, type VaultScope } from './jobs';

/** Property bag keys of a RestoreDrill job. */
export const RESTORE_DRILL_JOB_PROPERTIES = {
  recoveryPointId: 'Recovery point',
  slot: 'Drill period',
  pointSelection: 'Point selection',
  tier: 'Tier',
  disks: 'Disks',
  bytesVerified: 'Bytes verified',
  bytesRead: 'Bytes read',
  blocksVerified: 'Blocks verified',
  durationMs: 'Duration (ms)',
} as const;

export interface RestoreDrillScheduleDeps {
  catalog: VaultCatalog;
  /** The engine's recovery point catalog (which points an item has). */
  points: RestoreDeps['catalog'];
  clock: () => Date;
  newId: () => string;
}

export interface RestoreDrillDeps {
  catalog: VaultCatalog;
  /** The engine's restore, with `target` = the vault's own account (the scratch lives in the vault container). */
  restore: RestoreDeps;
  /** The vault account (lists and deletes scratch). */
  vault: Pick<PageBlobStore, 'listBlobs' | 'deleteBlob'>;
  vaultContainer: string;
  clock: () => Date;
  log: EngineLogger;
}

export interface RestoreDrillRun {
  vault: VaultScope;
  itemName: string;
  engineItemId: string;
  recoveryPointId: string;
  jobId: string;
}

export interface DueRestoreDrill extends RestoreDrillRun {
  vmName: string;
  containerName: string;
  slot: string;
  settings: RestoreDrillSettings;
}

export interface RestoreDrillResult {
  jobId: string;
  status: 'Passed' | 'Failed';
  recoveryPointId: string;
  bytesVerified: number;
  errorCode?: string;
}

export async function findDueRestoreDrills(deps: RestoreDrillScheduleDeps): Promise<DueRestoreDrill[]> {
  const now = deps.clock();
  const due: DueRestoreDrill[] = [];
  for await (const { value: vault } of deps.catalog.vaults.listAll()) {
    const key = vaultKey(vault.subscriptionId, vault.resourceGroup, vault.name);
    const scope: VaultScope = { id: vault.id, subscriptionId: vault.subscriptionId, resourceGroup: vault.resourceGroup, name: vault.name };
    const policies = new Map<string, RestoreDrillSettings | undefined>();
    for await (const { value: item } of deps.catalog.items.list(key)) {
      if (!isDrillable(item)) continue;
      let policySettings: RestoreDrillSettings | undefined;
      if (item.policyName !== undefined) {
        const policyKey = item.policyName.toLowerCase();
        if (!policies.has(policyKey)) policies.set(policyKey, await policyDrillSettings(deps, key, policyKey));
        policySettings = policies.get(policyKey);
      }
      const settings = effectiveRestoreDrill(policySettings, vault.restoreDrill);
      const slot = restoreDrillSlot(settings, now);
      if (slot === undefined) continue;
      const jobId = restoreDrillJobId(item.engineItemId, slot);
      if (item.lastRestoreDrill?.jobId === jobId) continue;
      const points: string[] = [];
      for await (const point of deps.points.list(item.engineItemId)) {
        if (tiersOfState(point.state).vault === 'Valid') points.push(point.recoveryPointId);
      }
      const recoveryPointId = chooseDrillPoint(points, settings, item.engineItemId, slot);
      if (recoveryPointId === undefined) continue;
      due.push({
        vault: scope,
        itemName: item.itemName,
        engineItemId: item.engineItemId,
        recoveryPointId,
        jobId,
        vmName: item.vm.name,
        containerName: item.containerName,
        slot,
        settings,
      });
    }
  }
  return due;
}

/** A GUID-shaped job id that is the same for the same item and drill period, on every host. */
export function restoreDrillJobId(engineItemId: string, slot: string): string {
  return derivedJobId('kluis-restore-drill', engineItemId, slot);
}

/**
 * Creates the drill's job (insert-only: one tick on one host wins). A job that exists is not created again;
 * while it is InProgress the caller still makes sure its orchestration runs (a host may have died in between).
 */
export async function startRestoreDrill(
  deps: Pick<RestoreDrillScheduleDeps, 'catalog' | 'clock' | 'newId'>,
  due: DueRestoreDrill,
): Promise<{ run: boolean; job: JobRecord; input: RestoreDrillRun }> {
  const input: RestoreDrillRun = { vault: due.vault, itemName: due.itemName, engineItemId: due.engineItemId, recoveryPointId: due.recoveryPointId, jobId: due.jobId };
  try {
    const job = await createJob(deps, due.vault, {
      operation: 'RestoreDrill',
      entityFriendlyName: due.vmName,
      containerName: due.containerName,
      itemName: due.itemName,
      isUserTriggered: false,
      jobId: due.jobId,
      propertyBag: {
        [RESTORE_DRILL_JOB_PROPERTIES.recoveryPointId]: due.recoveryPointId,
        [RESTORE_DRILL_JOB_PROPERTIES.slot]: due.slot,
        [RESTORE_DRILL_JOB_PROPERTIES.pointSelection]: due.settings.pointSelection,
        [RESTORE_DRILL_JOB_PROPERTIES.tier]: 'HardenedRP',
      },
    });
    await updateDocument(deps.catalog.items, vaultPartitionOf(due.vault), nameRow(due.itemName), (item) => ({
      ...item,
      activeRestoreDrill: { jobId: due.jobId, recoveryPointId: due.recoveryPointId, startedAt: deps.clock().toISOString() },
    }));
    return { run: true, job, input };
  } catch (err) {
    if (!isKluisErrorLike(err) || err.code !== 'KluisCatalogConflict') throw err;
    const existing = await getJob(deps, due.vault, due.jobId);
    return { run: existing.status === 'InProgress', job: existing, input };
  }
}

/**
 * Runs one drill: sweeps scratch earlier drills of the item left, restores the point into this drill's scratch
 * (every block verified), deletes the scratch, records the outcome on the job and the item. A verification
 * failure is the drill's result, not an error: it resolves with status Failed. A re-run (the activity retried
 * after a crash) restores again under the same job id; a drill whose job already finished only cleans up.
 */
export async function runRestoreDrill(deps: RestoreDrillDeps, input: RestoreDrillRun): Promise<RestoreDrillResult> {
  const started = deps.clock().getTime();
  const job = await getJob(deps, input.vault, input.jobId);
  await sweepDrillScratch(deps, input.engineItemId, isFinishedJobStatus(job.status) ? undefined : input.jobId);
  if (isFinishedJobStatus(job.status)) {
    await clearActiveDrill(deps, input);
    return { jobId: input.jobId, status: job.status === 'Failed' ? 'Failed' : 'Passed', recoveryPointId: input.recoveryPointId, bytesVerified: Number(job.propertyBag[RESTORE_DRILL_JOB_PROPERTIES.bytesVerified] ?? 0) };
  }

  let restored: RestoreDisksResult | undefined;
  let failure: unknown;
  try {
    restored = await restoreDisks(deps.restore, {
      itemId: input.engineItemId,
      recoveryPointId: input.recoveryPointId,
      jobId: input.jobId,
      targetContainer: deps.vaultContainer,
      targetBlobPrefix: drillScratchPrefix(input.engineItemId, input.jobId),
      tier: 'HardenedRP',
    });
  } catch (err) {
    failure = err;
  } finally {
    // Always, also when the restore failed part-way (it deletes what it wrote, but a crash between disks may not).
    await deleteScratch(deps, drillScratchPrefix(input.engineItemId, input.jobId) + '/');
  }

  const durationMs = deps.clock().getTime() - started;
  const disks = restored?.disks ?? [];
  const bytesVerified = disks.reduce((sum, disk) => sum + disk.sizeBytes, 0);
  const propertyBag: Record<string, string> = {
    [RESTORE_DRILL_JOB_PROPERTIES.durationMs]: String(durationMs),
    ...(restored === undefined
      ? {}
      : {
          [RESTORE_DRILL_JOB_PROPERTIES.disks]: String(disks.length),
          [RESTORE_DRILL_JOB_PROPERTIES.bytesVerified]: String(bytesVerified),
          [RESTORE_DRILL_JOB_PROPERTIES.bytesRead]: String(disks.reduce((sum, disk) => sum + disk.bytesRead, 0)),
          [RESTORE_DRILL_JOB_PROPERTIES.blocksVerified]: String(disks.reduce((sum, disk) => sum + disk.blocksVerified, 0)),
        }),
  };
  const endTime = deps.clock().toISOString();
  if (failure === undefined) {
    await completeJob(deps, input.vault, input.jobId, { propertyBag });
    await recordOutcome(deps, input, { jobId: input.jobId, status: 'Passed', recoveryPointId: input.recoveryPointId, endTime });
    deps.log.info(`Restore drill ${input.jobId} of item ${input.engineItemId}: point ${input.recoveryPointId} verified, ${bytesVerified} B, ${durationMs} ms.`);
    return { jobId: input.jobId, status: 'Passed', recoveryPointId: input.recoveryPointId, bytesVerified };
  }
  const described = describeFailure(failure);
  // A service that did not answer says nothing about the point: the activity's retries run the drill again.
  if (isRetryableCode(described.code)) throw failure;
  await failJob(deps, input.vault, input.jobId, failure, { propertyBag });
  if (!(await pointStillKept(deps, input))) {
    // Retention expired the point while it was drilled: nothing is known about the point, the item's health stays.
    deps.log.warn(`Restore drill ${input.jobId} of item ${input.engineItemId}: point ${input.recoveryPointId} was deleted while it was drilled (${described.code}).`);
    await clearActiveDrill(deps, input);
    return { jobId: input.jobId, status: 'Failed', recoveryPointId: input.recoveryPointId, bytesVerified, errorCode: described.code };
  }
  await recordOutcome(deps, input, {
    jobId: input.jobId,
    status: 'Failed',
    recoveryPointId: input.recoveryPointId,
    endTime,
    errorCode: described.code,
    errorMessage: described.message,
  });
  deps.log.warn(`Restore drill ${input.jobId} of item ${input.engineItemId} failed on point ${input.recoveryPointId}: ${described.code} ${described.message}`);
  return { jobId: input.jobId, status: 'Failed', recoveryPointId: input.recoveryPointId, bytesVerified, errorCode: described.code };
}

async function pointStillKept(deps: Pick<RestoreDrillDeps, 'restore'>, input: RestoreDrillRun): Promise<boolean> {
  const row = await deps.restore.catalog.get(input.engineItemId, input.recoveryPointId);
  return row !== undefined && tiersOfState(row.state).vault === 'Valid';
}

/** Fails a drill that could not run (its retries spent); the item's health is left alone. */
export async function failRestoreDrill(deps: Pick<RestoreDrillDeps, 'catalog' | 'clock'>, input: RestoreDrillRun, error: unknown): Promise<void> {
  await failJob(deps, input.vault, input.jobId, error);
  await clearActiveDrill(deps, input);
}

export interface ActiveRestoreDrill extends RestoreDrillRun {
  startedAt: string;
}

/** The drills started and not yet recorded, over every vault (the drill timer asks their orchestrations how they are). */
export async function listActiveRestoreDrills(deps: Pick<RestoreDrillScheduleDeps, 'catalog'>): Promise<ActiveRestoreDrill[]> {
  const active: ActiveRestoreDrill[] = [];
  for await (const { value: vault } of deps.catalog.vaults.listAll()) {
    const scope: VaultScope = { id: vault.id, subscriptionId: vault.subscriptionId, resourceGroup: vault.resourceGroup, name: vault.name };
    for await (const { value: item } of deps.catalog.items.list(vaultKey(vault.subscriptionId, vault.resourceGroup, vault.name))) {
      const drill = item.activeRestoreDrill;
      if (drill === undefined) continue;
      active.push({ vault: scope, itemName: item.itemName, engineItemId: item.engineItemId, recoveryPointId: drill.recoveryPointId, jobId: drill.jobId, startedAt: drill.startedAt });
    }
  }
  return active;
}

/**
 * Ends a drill whose orchestration ended without recording it (terminated, or failed before its own bookkeeping):
 * deletes its scratch, fails its job with KluisRestoreDrillEnded (retryable) and forgets it; the item's health stays.
 */
export async function endRestoreDrill(deps: Pick<RestoreDrillDeps, 'catalog' | 'clock' | 'vault' | 'vaultContainer' | 'log'>, run: RestoreDrillRun, how: string): Promise<void> {
  await deleteScratch(deps, drillScratchPrefix(run.engineItemId, run.jobId) + '/');
  await failJob(deps, run.vault, run.jobId, errors.restoreDrillEnded(run.jobId, how));
  await clearActiveDrill(deps, run);
  deps.log.warn(`Restore drill ${run.jobId} of item ${run.engineItemId} ended without recording its result (${how}): its job was failed.`);
}

async function clearActiveDrill(deps: Pick<RestoreDrillDeps, 'catalog'>, run: RestoreDrillRun): Promise<void> {
  await updateDocument(deps.catalog.items, vaultPartitionOf(run.vault), nameRow(run.itemName), (item) => {
    if (item.activeRestoreDrill?.jobId !== run.jobId) return undefined;
    const { activeRestoreDrill: _done, ...rest } = item;
    return rest;
  });
}

/** Records the drill on the item (its health follows: item-resource.ts). An older drill never overwrites a newer one. */
async function recordOutcome(deps: Pick<RestoreDrillDeps, 'catalog'>, input: RestoreDrillRun, outcome: RestoreDrillOutcome): Promise<void> {
  await updateDocument(deps.catalog.items, vaultPartitionOf(input.vault), nameRow(input.itemName), (item) => {
    const { activeRestoreDrill, ...rest } = item;
    const kept = activeRestoreDrill === undefined || activeRestoreDrill.jobId === outcome.jobId ? rest : { ...rest, activeRestoreDrill };
    const last = item.lastRestoreDrill;
    if (last !== undefined && last.jobId !== outcome.jobId && last.endTime > outcome.endTime) return kept;
    return { ...kept, lastRestoreDrill: outcome };
  });
}

/** Deletes the scratch of the item's drills other than `keepJobId` (left by drills that died). */
async function sweepDrillScratch(deps: Pick<RestoreDrillDeps, 'vault' | 'vaultContainer' | 'log'>, itemId: string, keepJobId: string | undefined): Promise<void> {
  const keep = keepJobId === undefined ? undefined : drillScratchPrefix(itemId, keepJobId) + '/';
  const names: string[] = [];
  for await (const blob of deps.vault.listBlobs(deps.vaultContainer, { prefix: drillsScratchPrefix(itemId) })) {
    if (keep === undefined || !blob.name.startsWith(keep)) names.push(blob.name);
  }
  await Promise.all(names.map((blob) => deps.vault.deleteBlob({ container: deps.vaultContainer, blob })));
  if (names.length > 0) deps.log.warn(`Deleted ${names.length} scratch blob(s) earlier restore drills of item ${itemId} left.`);
}

/** Deletes this drill's scratch; a failure is logged, not thrown (the next drill sweeps it, `kluis check` reports it). */
async function deleteScratch(deps: Pick<RestoreDrillDeps, 'vault' | 'vaultContainer' | 'log'>, prefix: string): Promise<void> {
  try {
    const names: string[] = [];
    for await (const blob of deps.vault.listBlobs(deps.vaultContainer, { prefix })) names.push(blob.name);
    await Promise.all(names.map((blob) => deps.vault.deleteBlob({ container: deps.vaultContainer, blob })));
  } catch (err) {
    deps.log.warn(`Could not delete the restore drill scratch under ${prefix}: ${(err as Error).message}. The item's next drill deletes it.`);
  }
}

function isDrillable(item: ProtectedItemRecord): boolean {
  if (item.softDelete !== undefined) return false;
  return item.protectionState === 'Protected' || item.protectionState === 'ProtectionError' || item.protectionState === 'ProtectionStopped';
}

async function policyDrillSettings(deps: Pick<RestoreDrillScheduleDeps, 'catalog'>, key: string, policyRow: string): Promise<RestoreDrillSettings | undefined> {
  const stored = await deps.catalog.policies.get(key, policyRow);
  if (stored === undefined) return undefined;
  return validatePolicy(stored.value.properties).kluisRestoreDrill as RestoreDrillSettings | undefined;
}
