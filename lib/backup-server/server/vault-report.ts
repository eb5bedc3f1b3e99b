/**
 * What the backup server reports to its vault (issue 16, Deliver 8; the shapes are lib/domain/backup-server/
 * server-report.ts): its sources, the jobs it ran and its recovery points, on disk and in the vault. Jobs wait in
 * the server's state until the vault accepted them (a vault that is unreachable gets them later), at most
 * REPORT_LIMITS.jobs of them, newest kept.
 */
import { randomUUID } from 'node:crypto';
import {
  REPORT_LIMITS,
  type PointLocation,
  type ReportedJob,
  type ReportedPoint,
  type ReportedSource,
  type ServerReport,
} from '../../domain/backup-server/server-report';
import type { KluisError } from '../../domain/errors';
import type { LocalPoint, ProtectionGroup } from '../domain/protection-group';
import type { Repository } from '../repository/repository';

export function reportedSources(groups: ProtectionGroup[]): ReportedSource[] {
  return groups.flatMap((group) =>
    group.sources.map((source) => ({
      group: group.name,
      name: source.name,
      path: source.path,
      workloadType: source.workloadType ?? 'FileFolder',
      online: group.online !== undefined,
    })),
  );
}

/** `group/source` (backup-server.ts sourceKey) back into its parts; group names hold no '/'. */
export function splitSourceKey(key: string): { group: string; source: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { group: key, source: key } : { group: key.slice(0, slash), source: key.slice(slash + 1) };
}

/**
 * The server's recovery points: every snapshot of the local repository (time, size) and every vault copy the
 * state records, one point per snapshot with where it is. Undefined when the repository is locked (the vault then
 * keeps the points it has).
 */
export async function reportedPoints(repository: Repository | undefined, vaultPoints: LocalPoint[]): Promise<ReportedPoint[] | undefined> {
  if (repository === undefined) return undefined;
  const points = new Map<string, ReportedPoint>();
  for (const id of await repository.listSnapshotIds()) {
    const doc = await repository.loadSnapshot(id);
    points.set(id, { snapshotId: id, ...splitSourceKey(doc.source.name), time: doc.time, locations: ['Disk'], bytes: doc.stats.bytes });
  }
  for (const copy of vaultPoints) {
    const local = points.get(copy.snapshotId);
    const locations: PointLocation[] = local === undefined ? ['Online'] : ['Disk', 'Online'];
    points.set(copy.snapshotId, { ...(local ?? { snapshotId: copy.snapshotId, ...splitSourceKey(copy.source), time: copy.time }), locations });
  }
  return [...points.values()].sort((a, b) => a.time.localeCompare(b.time)).slice(-REPORT_LIMITS.points);
}

/** What one scheduler pass did (BackupServer.runDue's RunReport, the parts jobs are made of). */
export interface RunOutcome {
  backups: Array<{ group: string; source: string; newChunkBytes: number; startTime?: string; endTime?: string }>;
  retention: Array<{ group: string; keep: boolean }>;
  chunksDeleted: number;
  vaultCopies: Array<{ group: string; source: string; chunksCopied: number; bytesCopied?: number; startTime?: string; endTime?: string }>;
  vaultRetention: Array<{ source: string }>;
  vaultCopyError?: string;
}

/** The jobs of one pass: a local backup per point taken, a vault copy per point copied (or one failed), prunes. */
export function jobsOfRun(run: RunOutcome, span: { startTime: string; endTime: string }, newId: () => string = randomUUID): ReportedJob[] {
  const jobs: ReportedJob[] = [];
  for (const b of run.backups) {
    jobs.push({ jobId: newId(), kind: 'LocalBackup', status: 'Completed', group: b.group, source: b.source, startTime: b.startTime ?? span.startTime, endTime: b.endTime ?? span.endTime, bytes: b.newChunkBytes });
  }
  for (const c of run.vaultCopies) {
    jobs.push({ jobId: newId(), kind: 'VaultCopy', status: 'Completed', group: c.group, source: c.source, startTime: c.startTime ?? span.startTime, endTime: c.endTime ?? span.endTime, ...(c.bytesCopied === undefined ? {} : { bytes: c.bytesCopied }) });
  }
  if (run.vaultCopyError !== undefined) {
    jobs.push({ jobId: newId(), kind: 'VaultCopy', status: 'Failed', startTime: span.startTime, endTime: span.endTime, errorCode: errorCodeOf(run.vaultCopyError), errorMessage: run.vaultCopyError.slice(0, 1024) });
  }
  const expired = run.retention.filter((d) => !d.keep);
  if (expired.length > 0 || run.vaultRetention.length > 0) {
    jobs.push({ jobId: newId(), kind: 'Prune', status: 'Completed', startTime: span.startTime, endTime: span.endTime });
  }
  return jobs;
}

/** A failed job from an error thrown by the work (its Kluis code when it has one). */
export function failedJob(kind: ReportedJob['kind'], startTime: string, endTime: string, err: unknown, where: { group?: string; source?: string } = {}): ReportedJob {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as Partial<KluisError> | undefined)?.code;
  return { jobId: randomUUID(), kind, status: 'Failed', ...where, startTime, endTime, errorCode: typeof code === 'string' ? code : errorCodeOf(message), errorMessage: message.slice(0, 1024) };
}

function errorCodeOf(message: string): string {
  return /ECONNREFUSED|ENOTFOUND|fetch failed|unreachable/i.test(message) ? 'KluisVaultUnreachable' : 'KluisServerJobFailed';
}

/** Queued jobs plus new ones (an update replaces by id), at most REPORT_LIMITS.jobs, newest kept. */
export function queueJobs(pending: ReportedJob[], jobs: ReportedJob[]): ReportedJob[] {
  const byId = new Map(pending.map((j) => [j.jobId, j]));
  for (const job of jobs) byId.set(job.jobId, job);
  return [...byId.values()].sort((a, b) => a.startTime.localeCompare(b.startTime)).slice(-REPORT_LIMITS.jobs);
}

export function buildServerReport(input: {
  serverName: string;
  groups: ProtectionGroup[];
  jobs: ReportedJob[];
  points: ReportedPoint[] | undefined;
  now: Date;
}): ServerReport {
  return {
    backupManagementType: 'AzureBackupServer',
    serverName: input.serverName,
    reportedAt: input.now.toISOString(),
    sources: reportedSources(input.groups).slice(0, REPORT_LIMITS.sources),
    jobs: input.jobs,
    ...(input.points === undefined ? {} : { points: input.points }),
  };
}

/** What a reporter keeps between reports: where its vault is and the jobs the vault has not accepted yet. */
export interface ReportQueueState {
  endpoint: string;
  pendingJobs?: ReportedJob[];
}

/** The reporter's state file (state.json of a server or a direct-mode machine). */
export interface ReportQueue<S extends ReportQueueState> {
  readState(): Promise<S | undefined>;
  requireState(): Promise<S>;
  writeState(state: S): Promise<void>;
}

/** Adds jobs to the state's queue (bounded), so they survive a restart and an unreachable vault. */
export async function enqueueJobs<S extends ReportQueueState>(queue: ReportQueue<S>, jobs: ReportedJob[]): Promise<void> {
  if (jobs.length === 0) return;
  const state = await queue.requireState();
  await queue.writeState({ ...state, pendingJobs: queueJobs(state.pendingJobs ?? [], jobs) });
}

/**
 * Sends the report `build` makes of the state and its queued jobs. The jobs the vault accepted leave the queue; when
 * the vault cannot be reached they stay for the next report (the failure is returned, never thrown).
 */
export async function sendQueuedReport<S extends ReportQueueState>(
  queue: ReportQueue<S>,
  send: (state: S, json: string) => Promise<unknown>,
  build: (state: S, jobs: ReportedJob[]) => unknown,
): Promise<{ ok: boolean; error?: string }> {
  const state = await queue.readState();
  if (state === undefined) return { ok: true };
  const jobs = state.pendingJobs ?? [];
  try {
    await send(state, JSON.stringify(await build(state, jobs)));
    const sent = new Set(jobs.map((j) => j.jobId));
    const after = await queue.requireState();
    await queue.writeState({ ...after, pendingJobs: (after.pendingJobs ?? []).filter((j) => !sent.has(j.jobId)) });
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
