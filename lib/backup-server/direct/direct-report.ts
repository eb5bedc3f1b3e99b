/**
 * What a machine in direct mode (the MARS agent) reports to its vault: the same signed report as a backup server's
 * (lib/domain/backup-server/server-report.ts), with `backupManagementType: "MAB"`, so the vault shows its folders as
 * MabFileFolderProtectedItem, its jobs as MabJob and its points (all in the vault: `Online`) as GenericRecoveryPoint.
 * A MARS agent has no protection groups: every folder is reported in one group, DIRECT_GROUP.
 */
import { randomUUID } from 'node:crypto';
import { REPORT_LIMITS, type ReportedJob, type ReportedPoint, type ServerReport } from '../../domain/backup-server/server-report';
import type { LocalPoint } from '../domain/protection-group';

/** The one "group" of a machine's folders (part of each item's name; not shown for MAB items). */
export const DIRECT_GROUP = 'Direct';

export interface DirectReportItem {
  name: string;
  path: string;
}

/** A point the agent wrote to the vault, with its size when known (points taken before session 8 have none). */
export type DirectPoint = LocalPoint & { bytes?: number };

export function buildDirectReport(input: { machineName: string; items: DirectReportItem[]; points: DirectPoint[]; jobs: ReportedJob[]; now: Date }): ServerReport {
  const points: ReportedPoint[] = input.points.slice(-REPORT_LIMITS.points).map((p) => ({
    snapshotId: p.snapshotId,
    group: DIRECT_GROUP,
    source: p.source,
    time: p.time,
    locations: ['Online'],
    ...(p.bytes === undefined ? {} : { bytes: p.bytes }),
  }));
  return {
    backupManagementType: 'MAB',
    serverName: input.machineName,
    reportedAt: input.now.toISOString(),
    sources: input.items.slice(0, REPORT_LIMITS.sources).map((i) => ({ group: DIRECT_GROUP, name: i.name, path: i.path, workloadType: 'FileFolder', online: true })),
    jobs: input.jobs,
    points,
  };
}

/** What one direct-mode pass did, the parts jobs are made of (DirectAgent.runDue's report). */
export interface DirectRunOutcome {
  backups: Array<{ source: string; newChunkBytes: number; startTime: string; endTime: string }>;
  retention: unknown[];
  /** The retention ran (not deferred): a Prune job. */
  pruned: boolean;
}

/** The jobs of one pass: a backup per folder backed up, a prune when expired points were removed. */
export function jobsOfDirectRun(run: DirectRunOutcome, span: { startTime: string; endTime: string }, newId: () => string = randomUUID): ReportedJob[] {
  const jobs: ReportedJob[] = run.backups.map((b) => ({
    jobId: newId(), kind: 'DirectBackup', status: 'Completed', group: DIRECT_GROUP, source: b.source, startTime: b.startTime, endTime: b.endTime, bytes: b.newChunkBytes,
  }));
  if (run.pruned && run.retention.length > 0) jobs.push({ jobId: newId(), kind: 'Prune', status: 'Completed', startTime: span.startTime, endTime: span.endTime });
  return jobs;
}
