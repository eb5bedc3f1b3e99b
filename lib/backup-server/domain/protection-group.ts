/**
 * Protection groups of the backup server (seed 004; DPM's term): folders protected together, with a short-term
 * policy for the copies on the server's own disks: one point a day at a set time (UTC), kept 1–5 days — the seed's
 * rule is never more than five days on local disks; longer retention belongs to the online (vault) copy.
 * Pure: decisions come with reasons, time is a parameter.
 */
import { errors } from '../../domain/errors';
import type { PathStyle } from './path-rules';
import { compileSourceFilter } from './source-filter';

export const MIN_LOCAL_RETENTION_DAYS = 1;
export const MAX_LOCAL_RETENTION_DAYS = 5;
/** The vault's limit (seed 004: at most 9999 recovery points per protected source), as daily points. */
export const MAX_ONLINE_RETENTION_DAYS = 9999;
const DAY_MS = 86_400_000;

/**
 * What a source holds, by Azure Backup's workload names. Azure Backup Server also protects SQL Server databases and
 * SharePoint farms (seed 004's protection matrix); the Kluis backup server protects volumes, files and folders only.
 */
export const SUPPORTED_WORKLOADS = ['FileFolder'] as const;
export const UNSUPPORTED_WORKLOADS = { SQLDataBase: 'SQL Server databases', SharePoint: 'SharePoint farms' } as const;
export type ServerWorkloadType = (typeof SUPPORTED_WORKLOADS)[number] | keyof typeof UNSUPPORTED_WORKLOADS;

export interface ProtectedSource {
  /** How the server names the source (e.g. `D:\Data` or `/srv/data`). */
  name: string;
  /** The folder on this server. */
  path: string;
  /** Default `FileFolder`. */
  workloadType?: ServerWorkloadType;
  /** `Folder` (default): a folder tree; `DiskImage`: `path` is a raw or VHD image file, backed up as one volume. */
  kind?: SourceKind;
  /** The rules of the source's names (default: the server's platform); windows matches include/exclude without case. */
  pathStyle?: PathStyle;
  /** Folders: glob patterns relative to the folder (domain/source-filter.ts); only matching files are backed up. */
  include?: string[];
  /** Folders: glob patterns of files and folders left out (`*.tmp`, `Temp/`); an excluded folder is not read. */
  exclude?: string[];
}

export const SOURCE_KINDS = ['Folder', 'DiskImage'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export interface ProtectionGroup {
  name: string;
  sources: ProtectedSource[];
  shortTerm: {
    /** 1–5. */
    retentionDays: number;
    /** "HH:MM", UTC. */
    dailyAt: string;
  };
  /** The online copy to the vault: its own daily time and retention (1–9999 daily points, optional weekly/monthly/yearly). */
  online?: {
    dailyAt: string;
    retentionDays: number;
    /**
     * Weekly/monthly/yearly rules in Azure's LongTermRetentionPolicy shapes (weeklySchedule, monthlySchedule,
     * yearlySchedule): parsed, checked and applied by lib/domain/backup-server/online-retention.ts, which this pure
     * domain may not import.
     */
    longTerm?: Record<string, unknown>;
  };
}

export interface LocalPoint {
  snapshotId: string;
  source: string;
  time: string;
  /** Vault points: the long-term rules (Weekly/Monthly/Yearly) that selected the copy's day. */
  longTermTags?: Array<'Weekly' | 'Monthly' | 'Yearly'>;
}

export interface RetentionDecision {
  snapshotId: string;
  keep: boolean;
  reason: string;
}

export function validateProtectionGroup(group: ProtectionGroup): ProtectionGroup {
  if (!/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/.test(group.name)) throw errors.invalidRequest('name', `'${group.name}' is not a valid protection group name.`);
  const days = group.shortTerm.retentionDays;
  if (!Number.isInteger(days) || days < MIN_LOCAL_RETENTION_DAYS || days > MAX_LOCAL_RETENTION_DAYS) throw errors.localRetentionOutOfRange(days);
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(group.shortTerm.dailyAt)) throw errors.invalidRequest('shortTerm.dailyAt', `'${group.shortTerm.dailyAt}' is not a time HH:MM.`);
  if (group.online !== undefined) {
    const online = group.online.retentionDays;
    if (!Number.isInteger(online) || online < 1 || online > MAX_ONLINE_RETENTION_DAYS) {
      throw errors.invalidRequest('online.retentionDays', `An online retention of ${online} days is not allowed: it must be 1 to ${MAX_ONLINE_RETENTION_DAYS} days.`);
    }
    if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(group.online.dailyAt)) throw errors.invalidRequest('online.dailyAt', `'${group.online.dailyAt}' is not a time HH:MM.`);
  }
  if (group.sources.length === 0) throw errors.invalidRequest('sources', 'A protection group protects at least one folder.');
  for (const source of group.sources) {
    const workload: string = source.workloadType ?? 'FileFolder';
    if (Object.hasOwn(UNSUPPORTED_WORKLOADS, workload)) {
      throw errors.serverWorkloadNotSupported(workload, UNSUPPORTED_WORKLOADS[workload as keyof typeof UNSUPPORTED_WORKLOADS]);
    }
    if (!(SUPPORTED_WORKLOADS as readonly string[]).includes(workload)) {
      throw errors.invalidRequest('sources.workloadType', `'${workload}' is not a workload type; the backup server protects ${SUPPORTED_WORKLOADS.join(', ')}.`);
    }
    const kind: string = source.kind ?? 'Folder';
    if (!(SOURCE_KINDS as readonly string[]).includes(kind)) throw errors.invalidRequest('sources.kind', `'${kind}' is not a source kind: use ${SOURCE_KINDS.join(' or ')}.`);
    if (kind === 'DiskImage' && (source.include !== undefined || source.exclude !== undefined)) {
      throw errors.invalidRequest('sources.exclude', `'${source.name}' is a disk image, backed up whole: include and exclude patterns apply to folders.`);
    }
    compileSourceFilter({ include: source.include, exclude: source.exclude }, source.path, source.pathStyle ?? 'posix');
  }
  const names = new Set(group.sources.map((s) => s.name.toLowerCase()));
  if (names.size !== group.sources.length) throw errors.invalidRequest('sources', 'Two sources of the group have the same name.');
  return group;
}

/** The most recent scheduled time at or before `now` (today's dailyAt, or yesterday's when that is still ahead). */
export function lastScheduledTime(group: ProtectionGroup, now: Date, dailyAt = group.shortTerm.dailyAt): Date {
  const [h, m] = dailyAt.split(':').map(Number);
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), h, m);
  return new Date(today <= now.getTime() ? today : today - DAY_MS);
}

/** Whether a source's daily point is due: it has no point since the last scheduled time. */
export function isLocalPointDue(group: ProtectionGroup, lastPointTime: string | undefined, now: Date): boolean {
  if (lastPointTime === undefined) return true;
  return Date.parse(lastPointTime) < lastScheduledTime(group, now).getTime();
}

/** Whether a source's daily online copy is due (the group has an online policy and no copy since its time). */
export function isOnlineCopyDue(group: ProtectionGroup, lastCopyTime: string | undefined, now: Date): boolean {
  if (group.online === undefined) return false;
  if (lastCopyTime === undefined) return true;
  return Date.parse(lastCopyTime) < lastScheduledTime(group, now, group.online.dailyAt).getTime();
}

/** Which local points to keep: those younger than the retention days; the rest go, with the reason. */
export function localRetention(group: ProtectionGroup, points: readonly LocalPoint[], now: Date): RetentionDecision[] {
  const days = group.shortTerm.retentionDays;
  const limit = now.getTime() - days * DAY_MS;
  return points.map((p) =>
    Date.parse(p.time) > limit
      ? { snapshotId: p.snapshotId, keep: true, reason: `younger than the group's ${days}-day local retention` }
      : { snapshotId: p.snapshotId, keep: false, reason: `older than the group's ${days}-day local retention (taken ${p.time})` },
  );
}
