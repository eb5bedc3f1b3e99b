/**
 * Jobs: every operation on a protected item is a job (Backup, Restore, ConfigureBackup,
 * DisableBackup, DeleteBackupData, Undelete) with a task list, progress and error details.
 *
 * API:
 *   createJob(deps, vault, spec): JobRecord
 *   getJob(deps, vault, jobId) (KluisJobNotFound) · listJobs(deps, vault, filter?) newest first
 *   parseJobFilter($filter): JobFilter
 *   startTask / setTaskProgress / completeTask(deps, vault, jobId, taskId, …)
 *   completeJob(deps, vault, jobId, {status?, warnings?, propertyBag?}) · failJob(deps, vault, jobId, error)
 *   requestJobCancel(deps, vault, jobId) (UserErrorJobNotCancellable) · markJobCancelled(deps, vault, jobId)
 *   jobErrorDetail(error): JobErrorDetail
 *   isStorableId(id): whether a request's job or operation id can be a catalog key (else: not found)
 *   derivedJobId(...parts): the same GUID-shaped id for the same parts (scheduled slots, retention runs)
 * Finishing a job that has already finished changes nothing, so retried activities are harmless.
 */
import { createHash } from 'node:crypto';
import { initialTasks, isJobFinished, whyNotCancellable } from '../domain/arm/job-resource';
import { parseFilterTime, parseODataFilter } from '../domain/arm/odata-filter';
import { INITIATED_BY_KEY, INITIATOR_OBJECT_ID_KEY, vaultKey, type Initiator, type JobErrorDetail, type JobOperation, type JobRecord, type JobStatus, type JobTask, type VaultRecord } from '../domain/catalog';
import { describeFailure, ERROR_CODES, errors } from '../domain/errors';
import { collect, updateDocument } from '../stores/document-store';
import type { VaultCatalog } from '../stores/vault-catalog';

/** What services need to know of a vault to find its documents (a VaultRecord will do). */
export type VaultScope = Pick<VaultRecord, 'id' | 'subscriptionId' | 'resourceGroup' | 'name'>;

export interface JobDeps {
  catalog: Pick<VaultCatalog, 'jobs'>;
  clock: () => Date;
  newId: () => string;
  /** Who asked (the request's caller); recorded on the job and in its property bag. */
  initiator?: Initiator;
}

export function isFinishedJobStatus(status: JobStatus): boolean {
  return isJobFinished({ status });
}

export function vaultPartitionOf(vault: VaultScope): string {
  return vaultKey(vault.subscriptionId, vault.resourceGroup, vault.name);
}

export interface NewJob {
  operation: JobOperation;
  entityFriendlyName: string;
  containerName?: string;
  itemName?: string;
  isUserTriggered: boolean;
  /** Default: the operation's tasks (Backup: "Take Snapshot", "Transfer data to vault"). */
  tasks?: string[];
  propertyBag?: Record<string, string>;
  /** Default: a new id. */
  jobId?: string;
  /** Finished at once (e.g. ConfigureBackup, which has no work left after the catalog write). */
  status?: JobStatus;
}

export async function createJob(deps: JobDeps, vault: VaultScope, spec: NewJob): Promise<JobRecord> {
  const now = deps.clock().toISOString();
  const status = spec.status ?? 'InProgress';
  const job: JobRecord = {
    vaultId: vault.id,
    jobId: spec.jobId ?? deps.newId(),
    operation: spec.operation,
    status,
    entityFriendlyName: spec.entityFriendlyName,
    startTime: now,
    isUserTriggered: spec.isUserTriggered,
    tasks:
      spec.tasks === undefined
        ? initialTasks(spec.operation)
        : spec.tasks.map((taskId) => ({ taskId, status: 'NotStarted', progressPercentage: 0 }) satisfies JobTask),
    propertyBag: {
      ...(spec.propertyBag ?? {}),
      ...(deps.initiator === undefined ? {} : { [INITIATED_BY_KEY]: deps.initiator.name ?? deps.initiator.objectId, [INITIATOR_OBJECT_ID_KEY]: deps.initiator.objectId }),
    },
  };
  if (deps.initiator !== undefined) job.initiatedBy = { ...deps.initiator };
  if (spec.containerName !== undefined) job.containerName = spec.containerName;
  if (spec.itemName !== undefined) job.itemName = spec.itemName;
  if (isJobFinished({ status })) job.endTime = now;
  return (await deps.catalog.jobs.insert(vaultPartitionOf(vault), job.jobId.toLowerCase(), job)).value;
}

/** A GUID-shaped job id that is the same for the same parts, on every host (e.g. an item and a schedule slot). */
export function derivedJobId(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('|')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Whether an id from a request can be a catalog key at all. Azure Table keys hold at most 1 KiB and
 * no '/', '\\', '#', '?' or control characters; the table answers a lookup of such a key with 400,
 * so an id that breaks the rules is "not found" before it reaches the table.
 */
export function isStorableId(id: string): boolean {
  if (id.length === 0 || id.length > 255 || /[/\\#?]/.test(id)) return false;
  for (const ch of id) {
    const code = ch.charCodeAt(0);
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return false;
  }
  return true;
}

export async function findJob(deps: Pick<JobDeps, 'catalog'>, vault: VaultScope, jobId: string): Promise<JobRecord | undefined> {
  if (!isStorableId(jobId)) return undefined;
  return (await deps.catalog.jobs.get(vaultPartitionOf(vault), jobId.toLowerCase()))?.value;
}

export async function getJob(deps: Pick<JobDeps, 'catalog'>, vault: VaultScope, jobId: string): Promise<JobRecord> {
  const job = await findJob(deps, vault, jobId);
  if (job === undefined) throw errors.jobNotFound(jobId);
  return job;
}

// ---- listing ---------------------------------------------------------------------------------------

export interface JobFilter {
  status?: JobStatus;
  operation?: JobOperation;
  /** Jobs that started at or after this time. */
  startTime?: Date;
  /** Jobs that started at or before this time. */
  endTime?: Date;
  /** Another workload than AzureIaasVM: no job matches. */
  otherWorkload?: boolean;
  /** The filter's backupManagementType as given (backup servers' jobs are listed by it too). */
  backupManagementType?: string;
}

const JOB_STATUSES: readonly JobStatus[] = ['InProgress', 'Completed', 'Failed', 'CompletedWithWarnings', 'Cancelled', 'Cancelling'];
const JOB_OPERATIONS: readonly JobOperation[] = [
  'Register',
  'UnRegister',
  'ConfigureBackup',
  'Backup',
  'Restore',
  'DisableBackup',
  'DeleteBackupData',
  'Undelete',
  'RestoreDrill',
];
const FILTER_FIELDS = ['status', 'operation', 'startTime', 'endTime', 'backupManagementType'] as const;

/** `status eq 'InProgress' and operation eq 'Backup' and startTime eq '…' and endTime eq '…'` (each optional). */
export function parseJobFilter(text: string | null | undefined): JobFilter {
  const clauses = parseODataFilter(text, FILTER_FIELDS);
  const filter: JobFilter = {};
  if (clauses.status !== undefined) filter.status = oneOf(clauses.status, JOB_STATUSES, 'status');
  if (clauses.operation !== undefined) filter.operation = oneOf(clauses.operation, JOB_OPERATIONS, 'operation');
  if (clauses.startTime !== undefined) filter.startTime = parseFilterTime(clauses.startTime, 'startTime');
  if (clauses.endTime !== undefined) filter.endTime = parseFilterTime(clauses.endTime, 'endTime');
  if (filter.startTime !== undefined && filter.endTime !== undefined && filter.startTime > filter.endTime) {
    throw errors.invalidRequest('$filter', 'The filter startTime is after its endTime.');
  }
  if (clauses.backupManagementType !== undefined && clauses.backupManagementType.toLowerCase() !== 'azureiaasvm') filter.otherWorkload = true;
  if (clauses.backupManagementType !== undefined) filter.backupManagementType = clauses.backupManagementType;
  return filter;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], field: string): T {
  const found = allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
  if (found === undefined) throw errors.invalidRequest('$filter', `The filter ${field} '${value}' is not one of ${allowed.join(', ')}.`);
  return found;
}

export function jobMatches(job: JobRecord, filter: JobFilter): boolean {
  if (filter.otherWorkload === true) return false;
  if (filter.status !== undefined && job.status !== filter.status) return false;
  if (filter.operation !== undefined && job.operation !== filter.operation) return false;
  const started = Date.parse(job.startTime);
  if (filter.startTime !== undefined && started < filter.startTime.getTime()) return false;
  if (filter.endTime !== undefined && started > filter.endTime.getTime()) return false;
  return true;
}

/** The vault's jobs that match the filter, newest first. */
export async function listJobs(deps: Pick<JobDeps, 'catalog'>, vault: VaultScope, filter: JobFilter = {}): Promise<JobRecord[]> {
  const all = await collect(deps.catalog.jobs.list(vaultPartitionOf(vault)));
  return all
    .map((doc) => doc.value)
    .filter((job) => jobMatches(job, filter))
    .sort((a, b) => (a.startTime === b.startTime ? (a.jobId < b.jobId ? -1 : 1) : a.startTime < b.startTime ? 1 : -1));
}

// ---- progress --------------------------------------------------------------------------------------

/** Read → change → write under the job's ETag; `change` returns undefined to leave it as is. */
export async function updateJob(
  deps: Pick<JobDeps, 'catalog'>,
  vault: VaultScope,
  jobId: string,
  change: (job: JobRecord) => JobRecord | undefined,
): Promise<JobRecord> {
  if (!isStorableId(jobId)) throw errors.jobNotFound(jobId);
  const stored = await updateDocument(deps.catalog.jobs, vaultPartitionOf(vault), jobId.toLowerCase(), change);
  if (stored === undefined) throw errors.jobNotFound(jobId);
  return stored.value;
}

export async function startTask(deps: Pick<JobDeps, 'catalog' | 'clock'>, vault: VaultScope, jobId: string, taskId: string): Promise<JobRecord> {
  const now = deps.clock().toISOString();
  return updateJob(deps, vault, jobId, (job) =>
    editTask(job, taskId, (task) => (task.status === 'NotStarted' ? { ...task, status: 'InProgress', startTime: now } : undefined)),
  );
}

export async function setTaskProgress(deps: Pick<JobDeps, 'catalog' | 'clock'>, vault: VaultScope, jobId: string, taskId: string, progressPercentage: number): Promise<JobRecord> {
  const now = deps.clock().toISOString();
  const progress = Math.max(0, Math.min(100, Math.round(progressPercentage * 100) / 100));
  return updateJob(deps, vault, jobId, (job) =>
    editTask(job, taskId, (task) => {
      if (task.status === 'Completed' || task.status === 'Failed' || task.status === 'Cancelled') return undefined;
      if (task.status === 'InProgress' && task.progressPercentage === progress) return undefined;
      return { ...task, status: 'InProgress', startTime: task.startTime ?? now, progressPercentage: progress };
    }),
  );
}

export async function completeTask(deps: Pick<JobDeps, 'catalog' | 'clock'>, vault: VaultScope, jobId: string, taskId: string): Promise<JobRecord> {
  const now = deps.clock().toISOString();
  return updateJob(deps, vault, jobId, (job) =>
    editTask(job, taskId, (task) =>
      task.status === 'Completed' ? undefined : { ...task, status: 'Completed', startTime: task.startTime ?? now, endTime: now, progressPercentage: 100 },
    ),
  );
}

/** Changes one task of a running job; unknown tasks are added (so callers may record extra steps). */
function editTask(job: JobRecord, taskId: string, change: (task: JobTask) => JobTask | undefined): JobRecord | undefined {
  if (isJobFinished(job)) return undefined;
  const index = job.tasks.findIndex((task) => task.taskId === taskId);
  const current: JobTask = index >= 0 ? job.tasks[index] : { taskId, status: 'NotStarted', progressPercentage: 0 };
  const next = change(current);
  if (next === undefined) return undefined;
  const tasks = [...job.tasks];
  if (index >= 0) tasks[index] = next;
  else tasks.push(next);
  return { ...job, tasks };
}

// ---- finishing -------------------------------------------------------------------------------------

/** Code, message and recommendation of any failure, as a job shows them. */
export function jobErrorDetail(error: unknown): JobErrorDetail {
  const failure = describeFailure(error);
  return {
    errorCode: failure.code,
    errorTitle: titleOf(failure.code),
    errorString: failure.message,
    recommendations: [ERROR_CODES[failure.code].recommendation],
  };
}

/** `UserErrorBackupOperationInProgress` → `Backup operation in progress`. */
function titleOf(code: string): string {
  const words = code
    .replace(/^(UserError|Kluis)/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export interface CompleteJobOptions {
  status?: 'Completed' | 'CompletedWithWarnings';
  /** Warnings (e.g. a failed cleanup) shown as error details of a CompletedWithWarnings job. */
  warnings?: JobErrorDetail[];
  propertyBag?: Record<string, string>;
}

export async function completeJob(deps: Pick<JobDeps, 'catalog' | 'clock'>, vault: VaultScope, jobId: string, options: CompleteJobOptions = {}): Promise<JobRecord> {
  const now = deps.clock().toISOString();
  const warnings = options.warnings ?? [];
  const status = options.status ?? (warnings.length > 0 ? 'CompletedWithWarnings' : 'Completed');
  return updateJob(deps, vault, jobId, (job) => {
    if (isJobFinished(job)) return undefined;
    const finished: JobRecord = {
      ...job,
      status,
      endTime: now,
      tasks: job.tasks.map((task) =>
        task.status === 'Completed' ? task : { ...task, status: 'Completed', startTime: task.startTime ?? now, endTime: now, progressPercentage: 100 },
      ),
      propertyBag: { ...job.propertyBag, ...(options.propertyBag ?? {}) },
    };
    if (warnings.length > 0) finished.errorDetails = [...(job.errorDetails ?? []), ...warnings];
    return finished;
  });
}

/** Fails the job with the error's code, message and recommendation; the running task fails with it. */
export async function failJob(
  deps: Pick<JobDeps, 'catalog' | 'clock'>,
  vault: VaultScope,
  jobId: string,
  error: unknown,
  options: { propertyBag?: Record<string, string> } = {},
): Promise<JobRecord> {
  const now = deps.clock().toISOString();
  const detail = jobErrorDetail(error);
  return updateJob(deps, vault, jobId, (job) => {
    if (isJobFinished(job)) return undefined;
    return {
      ...job,
      status: 'Failed',
      endTime: now,
      tasks: job.tasks.map((task) => (task.status === 'InProgress' ? { ...task, status: 'Failed', endTime: now } : task)),
      errorDetails: [...(job.errorDetails ?? []), detail],
      propertyBag: { ...job.propertyBag, ...(options.propertyBag ?? {}) },
    };
  });
}

/**
 * Marks a cancellable job Cancelling (UserErrorJobNotCancellable, naming why, otherwise). The
 * caller then tells the job's orchestration (instanceId) to stop; it reports back through
 * markJobCancelled.
 */
export async function requestJobCancel(deps: Pick<JobDeps, 'catalog' | 'clock'>, vault: VaultScope, jobId: string): Promise<JobRecord> {
  return updateJob(deps, vault, jobId, (job) => {
    const reason = whyNotCancellable(job);
    if (reason !== undefined) throw errors.jobNotCancellable(jobId, reason);
    return { ...job, status: 'Cancelling' };
  });
}

export async function markJobCancelled(deps: Pick<JobDeps, 'catalog' | 'clock'>, vault: VaultScope, jobId: string): Promise<JobRecord> {
  const now = deps.clock().toISOString();
  return updateJob(deps, vault, jobId, (job) => {
    if (isJobFinished(job)) return undefined;
    return {
      ...job,
      status: 'Cancelled',
      endTime: now,
      tasks: job.tasks.map((task): JobTask => {
        if (task.status === 'InProgress') return { ...task, status: 'Cancelled', endTime: now };
        return task.status === 'NotStarted' ? { ...task, status: 'Cancelled' } : task;
      }),
    };
  });
}
