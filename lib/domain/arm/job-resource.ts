/**
 * A job as ARM returns it (`Microsoft.RecoveryServices/vaults/backupJobs`, `AzureIaaSVMJob`), and
 * the rules read from a job record: which tasks an operation has, when a job can be cancelled,
 * its overall progress and its ISO 8601 durations (computed at read time for running jobs).
 */
import type { JobOperation, JobRecord, JobStatus, JobTask } from '../catalog';

export const TaskIds = {
  TakeSnapshot: 'Take Snapshot',
  TransferData: 'Transfer data to vault',
} as const;

/** The task list a new job of each operation starts with. */
export function initialTasks(operation: JobOperation): JobTask[] {
  const ids: string[] = operation === 'Backup' ? [TaskIds.TakeSnapshot, TaskIds.TransferData] : [];
  return ids.map((taskId) => ({ taskId, status: 'NotStarted', progressPercentage: 0 }));
}

export const FINISHED_JOB_STATUSES: readonly JobStatus[] = ['Completed', 'CompletedWithWarnings', 'Failed', 'Cancelled'];

export function isJobFinished(job: Pick<JobRecord, 'status'>): boolean {
  return FINISHED_JOB_STATUSES.includes(job.status);
}

/**
 * Why a job cannot be cancelled now, or undefined when it can: only a running Backup job that
 * has not yet left the "Take Snapshot" task (transfers are not interrupted, as in Azure Backup).
 */
export function whyNotCancellable(job: Pick<JobRecord, 'operation' | 'status' | 'tasks'>): string | undefined {
  if (job.operation !== 'Backup') return `only Backup jobs can be cancelled, and this is a ${job.operation} job`;
  if (job.status === 'Cancelling') return 'it is already being cancelled';
  if (job.status !== 'InProgress') return `it has already finished (${job.status})`;
  const transfer = job.tasks.find((task) => task.taskId === TaskIds.TransferData);
  if (transfer !== undefined && transfer.status !== 'NotStarted') {
    return `it is past the '${TaskIds.TakeSnapshot}' task: data is being transferred to the vault, which cannot be interrupted`;
  }
  return undefined;
}

/** The job's progress: the mean of its tasks' progress, 100 once it has finished successfully. */
export function jobProgress(job: Pick<JobRecord, 'status' | 'tasks'>): number {
  if (job.status === 'Completed' || job.status === 'CompletedWithWarnings') return 100;
  if (job.tasks.length === 0) return 0;
  const sum = job.tasks.reduce((total, task) => total + (task.status === 'Completed' ? 100 : task.progressPercentage), 0);
  return Math.round((sum / job.tasks.length) * 100) / 100;
}

/**
 * ISO 8601 duration of a span in milliseconds, as Azure prints job durations: `PT9.87S`,
 * `PT1H2M3.5S`, `P1DT2H`, `PT0S`. Negative spans (clock skew) count as zero.
 */
export function isoDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms));
  const days = Math.floor(rest / 86_400_000);
  rest -= days * 86_400_000;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = rest / 1000;
  let time = '';
  if (hours > 0) time += `${hours}H`;
  if (minutes > 0) time += `${minutes}M`;
  if (seconds > 0) time += `${Number(seconds.toFixed(3))}S`;
  const date = days > 0 ? `${days}D` : '';
  if (date === '' && time === '') return 'PT0S';
  return `P${date}${time === '' ? '' : `T${time}`}`;
}

/** Span from `start` to `end`, or to `now` when the thing is still running. */
export function elapsedMs(start: string | undefined, end: string | undefined, now: Date): number {
  if (start === undefined) return 0;
  const endMs = end === undefined ? now.getTime() : Date.parse(end);
  return endMs - Date.parse(start);
}

export interface ArmJobTask {
  taskId: string;
  status: JobTask['status'];
  startTime?: string;
  endTime?: string;
  duration?: string;
  progressPercentage: number;
}

export interface ArmJobResource {
  id: string;
  name: string;
  type: 'Microsoft.RecoveryServices/vaults/backupJobs';
  properties: {
    jobType: 'AzureIaaSVMJob';
    entityFriendlyName: string;
    backupManagementType: 'AzureIaasVM';
    operation: JobOperation;
    status: JobStatus;
    startTime: string;
    endTime?: string;
    duration: string;
    actionsInfo: Array<'Cancellable'>;
    isUserTriggered: boolean;
    virtualMachineVersion: 'Compute';
    containerName?: string;
    protectedItemName?: string;
    activityId: string;
    errorDetails?: ArmJobErrorInfo[];
    extendedInfo: {
      tasksList: ArmJobTask[];
      progressPercentage: number;
      propertyBag: Record<string, string>;
    };
  };
}

/**
 * Azure's `AzureIaaSVMErrorInfo`: `errorCode` is an integer there (the official clients parse it as one),
 * so the error's name — Azure Backup's code where Azure has one, e.g. UserErrorGuestAgentStatusUnavailable —
 * is the `errorTitle`, and `errorCode` a stable number derived from that name (errorNumberOf).
 */
export interface ArmJobErrorInfo {
  errorCode: number;
  errorTitle: string;
  errorString: string;
  recommendations: string[];
}

/** A stable number in 100000–999999 for an error name (FNV-1a), as Azure's job errors carry numbers. */
export function errorNumberOf(code: string): number {
  let hash = 0x811c9dc5;
  for (const char of code) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return 100000 + (hash % 900000);
}

export const JOB_RESOURCE_TYPE = 'Microsoft.RecoveryServices/vaults/backupJobs';

/** `{vaultId}/backupJobs/{jobId}` */
export function jobResourceId(vaultId: string, jobId: string): string {
  return `${vaultId}/backupJobs/${jobId}`;
}

export function jobResource(vaultId: string, job: JobRecord, now: Date): ArmJobResource {
  const properties: ArmJobResource['properties'] = {
    jobType: 'AzureIaaSVMJob',
    entityFriendlyName: job.entityFriendlyName,
    backupManagementType: 'AzureIaasVM',
    operation: job.operation,
    status: job.status,
    startTime: job.startTime,
    duration: isoDuration(elapsedMs(job.startTime, job.endTime, now)),
    actionsInfo: whyNotCancellable(job) === undefined ? ['Cancellable'] : [],
    isUserTriggered: job.isUserTriggered,
    virtualMachineVersion: 'Compute',
    activityId: job.jobId,
    extendedInfo: {
      tasksList: job.tasks.map((task) => taskView(task, job, now)),
      progressPercentage: jobProgress(job),
      propertyBag: { ...job.propertyBag },
    },
  };
  if (job.endTime !== undefined) properties.endTime = job.endTime;
  if (job.containerName !== undefined) properties.containerName = job.containerName;
  if (job.itemName !== undefined) properties.protectedItemName = job.itemName;
  if (job.errorDetails !== undefined && job.errorDetails.length > 0) {
    properties.errorDetails = job.errorDetails.map((detail) => ({
      errorCode: errorNumberOf(detail.errorCode),
      errorTitle: detail.errorCode,
      errorString: detail.errorString,
      recommendations: [...detail.recommendations],
    }));
  }
  return { id: jobResourceId(vaultId, job.jobId), name: job.jobId, type: JOB_RESOURCE_TYPE, properties };
}

function taskView(task: JobTask, job: JobRecord, now: Date): ArmJobTask {
  const view: ArmJobTask = { taskId: task.taskId, status: task.status, progressPercentage: task.status === 'Completed' ? 100 : task.progressPercentage };
  if (task.startTime !== undefined) {
    view.startTime = task.startTime;
    // A task of a finished job that never recorded its end stops counting at the job's end.
    view.duration = isoDuration(elapsedMs(task.startTime, task.endTime ?? job.endTime, now));
  }
  if (task.endTime !== undefined) view.endTime = task.endTime;
  return view;
}
