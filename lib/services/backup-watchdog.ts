/**
 * The backup watchdog: a backup's orchestration records its own end (finishVaultBackup: the job's status,
 * the item's claim released). When it ends without doing so — terminated from outside, failed by an uncaught
 * error, or its last catalog write failed through every retry — the job would stay InProgress and the item's
 * claim would block every backup of it for STALE_CLAIM_MS (a day). The watchdog (a timer, every few minutes)
 * finds such runs by their claims and finishes their bookkeeping: sweeps what the run left (its instant-restore
 * views and its uncommitted blobs, unless its point was committed), records the end on the job (from the
 * orchestration's output when it completed, else Failed with the code of what ended it), and releases the claim.
 * A run whose sub-orchestrations still run (a terminated parent does not end them) has them stopped first; it is
 * finished by a later tick, once they have ended — never while a part of it can still commit its point.
 * Claims without a job row (a request that died between the claim and its job) are released after their grace.
 *
 * API: watchBackups(deps): Promise<WatchdogAction[]>
 */
import { nameRow, type JobRecord, type ProtectedItemRecord } from '../domain/catalog';
import { describeFailure, errors, KluisError, isKluisErrorCode } from '../domain/errors';
import { collect } from '../stores/document-store';
import type { VaultCatalog } from '../stores/vault-catalog';
import { JOBLESS_CLAIM_GRACE_MS, releaseBackup } from './backup-claim';
import { finishBackupRun, recordBackupFailed, type BackupJobRef } from './backup-requests';
import { isFinishedJobStatus, vaultPartitionOf, type VaultScope } from './jobs';

/** What an ended run's orchestrations tell: its point, the views it opened, and its parts still running. */
export interface EndedRunFacts {
  recoveryPointId?: string;
  views?: OpenedViews;
  /**
   * Instance ids of the run's sub-orchestrations (the engine's backupDisks, a backupDisk per disk) that still run.
   * Terminating an orchestration does not end its sub-orchestrations: they go on reading, writing the item's
   * replica and may commit the point.
   */
  runningParts?: string[];
}

/** What the Durable runtime says of a backup's orchestration (instance id = job id). */
export type BackupRunState =
  | { status: 'Running' }
  | { status: 'NotFound' }
  | ({ status: 'Completed'; output: unknown } & EndedRunFacts)
  | ({ status: 'Failed'; failure: unknown } & EndedRunFacts)
  | ({ status: 'Terminated'; reason: string } & EndedRunFacts);

/** The views a run asked to open (what the engine's discard needs to find them), read from its history. */
export interface OpenedViews {
  itemId: string;
  recoveryPointId: string;
  disks: readonly unknown[];
}

export interface BackupRuns {
  /** The state of the orchestration of backup job `jobId`. */
  state(jobId: string): Promise<BackupRunState>;
  /**
   * Removes what an ended run left of an uncommitted point: its views (when known) and the item's uncommitted
   * vault blobs (checksum parts, point blobs and replica snapshots without a catalog row). The item's claim is
   * still held, so nothing else of the item runs.
   */
  sweep(run: { itemId: string; jobId: string; recoveryPointId?: string; views?: OpenedViews }): Promise<void>;
  /** Terminates these orchestrations (parts of an ended run still running); ones that ended meanwhile are fine. */
  stop(instanceIds: readonly string[], reason: string): Promise<void>;
}

export interface WatchdogDeps {
  catalog: VaultCatalog;
  clock: () => Date;
  runs: BackupRuns;
  log: { info(message: string): void; warn(message: string): void };
}

export interface WatchdogAction {
  vault: string;
  itemName: string;
  jobId: string;
  action: 'finalized' | 'released' | 'stopping';
  /** The job's status afterwards (finalized), why the claim was released, or which parts were stopped. */
  outcome: string;
}

export async function watchBackups(deps: WatchdogDeps): Promise<WatchdogAction[]> {
  const actions: WatchdogAction[] = [];
  for (const stored of await collect(deps.catalog.vaults.listAll())) {
    const vault: VaultScope = { id: stored.value.id, subscriptionId: stored.value.subscriptionId, resourceGroup: stored.value.resourceGroup, name: stored.value.name };
    for (const item of await collect(deps.catalog.items.list(vaultPartitionOf(vault)))) {
      if (item.value.activeBackup === undefined) continue;
      try {
        const action = await watchClaim(deps, vault, item.value);
        if (action !== undefined) actions.push(action);
      } catch (err) {
        // One item's trouble (storage unavailable) must not keep the others waiting: the next tick tries again.
        deps.log.warn(`Backup watchdog: ${item.value.itemName}: ${describeFailure(err).code}: ${describeFailure(err).message}`);
      }
    }
  }
  return actions;
}

async function watchClaim(deps: WatchdogDeps, vault: VaultScope, item: ProtectedItemRecord): Promise<WatchdogAction | undefined> {
  const claim = item.activeBackup!;
  const ref: BackupJobRef = { vault, itemName: item.itemName, jobId: claim.jobId };
  const base = { vault: vault.id, itemName: item.itemName, jobId: claim.jobId };
  const job = (await deps.catalog.jobs.get(vaultPartitionOf(vault), nameRow(claim.jobId)))?.value;
  const claimAgeMs = deps.clock().getTime() - Date.parse(claim.startedAt);

  if (job === undefined) {
    if (claimAgeMs < JOBLESS_CLAIM_GRACE_MS) return undefined;
    await releaseBackup(deps, vault, item.itemName, claim.jobId);
    return { ...base, action: 'released', outcome: 'the claim had no job (its request ended before writing one)' };
  }
  if (isFinishedJobStatus(job.status)) {
    await releaseBackup(deps, vault, item.itemName, claim.jobId);
    return { ...base, action: 'released', outcome: `the job had already ended (${job.status})` };
  }

  const run = await deps.runs.state(claim.jobId);
  if (run.status === 'Running') return undefined;
  if (run.status === 'NotFound') {
    // A job whose orchestration never started (the request failed after writing the job): give it the grace a start takes.
    if (claimAgeMs < JOBLESS_CLAIM_GRACE_MS) return undefined;
    const finished = await recordBackupFailed(deps, ref, errors.backupRunEnded(claim.jobId, 'its orchestration never started'));
    return { ...base, action: 'finalized', outcome: outcomeOf(finished) };
  }

  if (run.runningParts !== undefined && run.runningParts.length > 0) {
    // Nothing is swept, recorded or released while a part of the run can still write or commit: the parts are
    // stopped now, and the run is finished by a later tick, once they have ended.
    await deps.runs.stop(run.runningParts, `backup job ${claim.jobId} ended (${run.status}) while this part still ran`);
    deps.log.warn(`Backup watchdog: job ${claim.jobId} of ${item.itemName} ended (${run.status}) with ${run.runningParts.length} part(s) still running; stopped them.`);
    return { ...base, action: 'stopping', outcome: `stopped ${run.runningParts.join(', ')}` };
  }

  const output = run.status === 'Completed' ? asBackupOutput(run.output) : undefined;
  const committed = output?.recoveryPointId !== undefined && output.recoveryPointId !== '';
  if (!committed && output?.status !== 'Cancelled') {
    await deps.runs.sweep({ itemId: item.engineItemId, jobId: claim.jobId, recoveryPointId: run.recoveryPointId, views: run.views });
  }
  let finished: JobRecord;
  if (output !== undefined) {
    finished = await finishBackupRun(deps, ref, {
      outcome: output.status,
      ...(committed ? { recoveryPointId: output.recoveryPointId } : {}),
      warnings: output.warnings,
    });
  } else if (run.status === 'Terminated') {
    finished = await recordBackupFailed(deps, ref, errors.backupRunEnded(claim.jobId, `it was terminated (${run.reason || 'no reason given'})`));
  } else {
    const failure = describeFailure(run.status === 'Failed' ? run.failure : undefined);
    finished = await recordBackupFailed(deps, ref, isKluisErrorCode(failure.code) ? new KluisError(failure.code, failure.message) : errors.backupOperationFailed());
  }
  deps.log.info(`Backup watchdog: job ${claim.jobId} of ${item.itemName} ended without its bookkeeping (${run.status}); recorded ${finished.status}, claim released.`);
  return { ...base, action: 'finalized', outcome: outcomeOf(finished) };
}

function outcomeOf(job: JobRecord): string {
  const code = job.errorDetails?.[0]?.errorCode;
  return code === undefined ? job.status : `${job.status} ${code}`;
}

interface BackupOutputShape {
  status: 'Completed' | 'CompletedWithWarnings' | 'Cancelled';
  recoveryPointId?: string;
  warnings: Array<{ code: string; message: string }>;
}

/** The backup orchestration's output (orchestrations/backup.ts BackupOutput), when it is one. */
function asBackupOutput(output: unknown): BackupOutputShape | undefined {
  if (typeof output !== 'object' || output === null) return undefined;
  const o = output as { status?: unknown; recoveryPointId?: unknown; warnings?: unknown };
  if (o.status !== 'Completed' && o.status !== 'CompletedWithWarnings' && o.status !== 'Cancelled') return undefined;
  const warnings = Array.isArray(o.warnings) ? o.warnings.filter((w): w is { code: string; message: string } => typeof w?.code === 'string' && typeof w?.message === 'string') : [];
  return { status: o.status, ...(typeof o.recoveryPointId === 'string' ? { recoveryPointId: o.recoveryPointId } : {}), warnings };
}
