/**
 * The jobs list's filters, kept in the page's query string so a link can open a filtered list (the
 * overview links "failed in the last 24 hours" this way). Pure.
 */
import type { Job } from '../api/types';

export const JOB_OPERATIONS = ['Backup', 'Restore', 'ConfigureBackup', 'DisableBackup', 'DeleteBackupData', 'Undelete'] as const;
export const JOB_STATUS_FILTERS = ['InProgress', 'Completed', 'CompletedWithWarnings', 'Failed', 'Cancelling', 'Cancelled'] as const;
export const JOB_RANGES = { '24h': 24, '7d': 24 * 7, '30d': 24 * 30, all: undefined } as const;
export type JobRange = keyof typeof JOB_RANGES;
/** Whose jobs: Azure VMs', backup servers' (DpmJob) or direct-mode MARS machines' (MabJob), by Azure's backupManagementType. */
export const JOB_MANAGEMENT_TYPES = ['AzureIaasVM', 'AzureBackupServer', 'MAB'] as const;

export interface JobFilter {
  status?: string;
  operation?: string;
  range: JobRange;
  /** Part of the item's (VM's or source's) name or of its backup server's, case-insensitive. */
  text?: string;
  /** One of JOB_MANAGEMENT_TYPES. */
  type?: string;
}

export const DEFAULT_JOB_FILTER: JobFilter = { range: '7d' };

export function parseJobFilter(search: string): JobFilter {
  const query = new URLSearchParams(search);
  const range = query.get('range');
  const status = query.get('status') ?? undefined;
  const operation = query.get('operation') ?? undefined;
  const text = query.get('q') ?? undefined;
  const type = JOB_MANAGEMENT_TYPES.find((t) => t.toLowerCase() === query.get('type')?.toLowerCase());
  return {
    range: range !== null && range in JOB_RANGES ? (range as JobRange) : DEFAULT_JOB_FILTER.range,
    ...(status !== undefined && (JOB_STATUS_FILTERS as readonly string[]).includes(status) ? { status } : {}),
    ...(operation !== undefined && (JOB_OPERATIONS as readonly string[]).includes(operation) ? { operation } : {}),
    ...(text !== undefined && text.trim() !== '' ? { text: text.trim() } : {}),
    ...(type === undefined ? {} : { type }),
  };
}

export function jobFilterQuery(filter: JobFilter): string {
  const query = new URLSearchParams();
  if (filter.status !== undefined) query.set('status', filter.status);
  if (filter.operation !== undefined) query.set('operation', filter.operation);
  if (filter.range !== DEFAULT_JOB_FILTER.range) query.set('range', filter.range);
  if (filter.text !== undefined) query.set('q', filter.text);
  if (filter.type !== undefined) query.set('type', filter.type);
  const text = query.toString();
  return text === '' ? '' : `?${text}`;
}

/** The jobs that pass the filter, newest first. */
export function filterJobs(jobs: readonly Job[], filter: JobFilter, now: Date): Job[] {
  const hours = JOB_RANGES[filter.range];
  const since = hours === undefined ? undefined : now.getTime() - hours * 3_600_000;
  const text = filter.text?.toLowerCase();
  return jobs
    .filter((job) => {
      const p = job.properties;
      if (filter.status !== undefined && p.status !== filter.status) return false;
      if (filter.operation !== undefined && p.operation !== filter.operation) return false;
      if (since !== undefined && !(Date.parse(p.startTime) > since)) return false;
      if (text !== undefined && ![p.entityFriendlyName, p.dpmServerName, p.mabServerName].some((name) => name?.toLowerCase().includes(text))) return false;
      if (filter.type !== undefined && managementTypeOfJob(job).toLowerCase() !== filter.type.toLowerCase()) return false;
      return true;
    })
    .sort((a, b) => b.properties.startTime.localeCompare(a.properties.startTime));
}

/** A job's backupManagementType (a VM's job when it names none). */
export function managementTypeOfJob(job: Job): string {
  return job.properties.backupManagementType ?? (job.properties.dpmServerName !== undefined ? 'AzureBackupServer' : job.properties.mabServerName !== undefined ? 'MAB' : 'AzureIaasVM');
}

/** Whether a job may be cancelled now (Azure: `actionsInfo` lists Cancellable, only while it snapshots). */
export function isCancellable(job: Job): boolean {
  return job.properties.status === 'InProgress' && (job.properties.actionsInfo ?? []).includes('Cancellable');
}

/** Whether the job page should keep polling. */
export function isRunning(job: Job): boolean {
  return job.properties.status === 'InProgress' || job.properties.status === 'Cancelling';
}

/** The job's overall progress (0–100): its own, else the mean of its tasks'. */
export function jobProgress(job: Job): number {
  const info = job.properties.extendedInfo;
  if (info?.progressPercentage !== undefined) return Math.max(0, Math.min(100, info.progressPercentage));
  const tasks = info?.tasksList ?? [];
  if (tasks.length === 0) return job.properties.status === 'Completed' ? 100 : 0;
  return tasks.reduce((sum, task) => sum + (task.progressPercentage ?? (task.status === 'Completed' ? 100 : 0)), 0) / tasks.length;
}
