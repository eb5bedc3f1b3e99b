/**
 * What a registered server tells its vault (issue 16, Deliver 8), and how the vault shows it through the ARM API,
 * as Azure does for Azure Backup Server: the server's protected sources (DPMProtectedItem), the jobs it ran
 * (DpmJob: local backup, vault copy, restore, prune) and its recovery points (GenericRecoveryPoint, on the server's
 * disk, in the vault, or both). Only the metadata Azure also shows: names and paths of sources, sizes, times,
 * statuses and error codes. Never file names, data or keys.
 *
 * Generic over `backupManagementType`: `AzureBackupServer` (DPM-type, this tier) and `MAB` (direct mode, the MARS
 * agent: MabFileFolderProtectedItem, MabJob) share the report and its records; only the resource shapes differ.
 * Pure: times are parameters, the digest is node:crypto.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { isoDuration } from '../arm/job-resource';

export const REPORTED_MANAGEMENT_TYPES = ['AzureBackupServer', 'MAB'] as const;
export type ReportedManagementType = (typeof REPORTED_MANAGEMENT_TYPES)[number];
/**
 * What the server's jobs did, in Kluis's words (the ARM view maps each to Azure's job operation). `DirectBackup`:
 * a backup straight to the vault (direct mode, the MARS agent: there is no local copy to copy from).
 */
export const SERVER_JOB_KINDS = ['LocalBackup', 'VaultCopy', 'Restore', 'Prune', 'DirectBackup'] as const;
export type ServerJobKind = (typeof SERVER_JOB_KINDS)[number];
export const SERVER_JOB_STATUSES = ['InProgress', 'Completed', 'CompletedWithWarnings', 'Failed'] as const;
export type ServerJobStatus = (typeof SERVER_JOB_STATUSES)[number];
export type PointLocation = 'Disk' | 'Online';

/** The vault keeps a server's jobs this long (Azure keeps backup jobs for 90 days in a vault's job list). */
export const SERVER_JOB_RETENTION_DAYS = 90;
/** Bounds of one report (a server that was offline sends its queued jobs in several reports if need be). */
export const REPORT_LIMITS = { sources: 500, jobs: 1000, points: 20_000 } as const;

const name = z.string().min(1).max(260);
const time = z.string().datetime({ offset: true });

const sourceSchema = z.object({
  /** The protection group. */
  group: z.string().min(1).max(64),
  /** How the server names the source (e.g. `/srv/data`, `D:\Data`): the item's friendly name. */
  name,
  /** The folder on the server. */
  path: z.string().min(1).max(1024),
  workloadType: z.string().min(1).max(40),
  /** Whether the group copies the source to the vault. */
  online: z.boolean(),
});

const jobSchema = z.object({
  jobId: z.string().uuid(),
  kind: z.enum(SERVER_JOB_KINDS),
  status: z.enum(SERVER_JOB_STATUSES),
  group: z.string().max(64).optional(),
  source: name.optional(),
  startTime: time,
  endTime: time.optional(),
  bytes: z.number().int().nonnegative().optional(),
  errorCode: z.string().max(100).optional(),
  errorMessage: z.string().max(1024).optional(),
});

const pointSchema = z.object({
  snapshotId: z.string().regex(/^[0-9a-f]{32}$/),
  group: z.string().min(1).max(64),
  source: name,
  /** When the point was taken on the server. */
  time,
  locations: z.array(z.enum(['Disk', 'Online'])).min(1).max(2),
  bytes: z.number().int().nonnegative().optional(),
});

export const serverReportSchema = z.object({
  backupManagementType: z.enum(REPORTED_MANAGEMENT_TYPES),
  serverName: z.string().min(1).max(253),
  reportedAt: time,
  /** Every source the server protects now (replaces what the vault had). */
  sources: z.array(sourceSchema).max(REPORT_LIMITS.sources),
  /** Jobs started or changed since the last report the vault accepted (added or updated by id). */
  jobs: z.array(jobSchema).max(REPORT_LIMITS.jobs),
  /** Every recovery point now (replaces what the vault had); absent when the server cannot read them (locked). */
  points: z.array(pointSchema).max(REPORT_LIMITS.points).optional(),
});

export type ServerReport = z.infer<typeof serverReportSchema>;
export type ReportedSource = z.infer<typeof sourceSchema>;
export type ReportedJob = z.infer<typeof jobSchema>;
export type ReportedPoint = z.infer<typeof pointSchema>;

/** The vault's record of a reported source (partition: vault; row: documentKey(server, itemName)). */
export interface ServerItemRecord extends ReportedSource {
  serverName: string;
  backupManagementType: ReportedManagementType;
  itemName: string;
  reportedAt: string;
}

/** The vault's record of a reported job (partition: vault; row: job id). */
export interface ServerJobRecord extends ReportedJob {
  serverName: string;
  backupManagementType: ReportedManagementType;
  /** The item the job is about, if any (prune runs per repository). */
  itemName?: string;
}

/** The vault's record of a reported point (partition: vault + server; row: documentKey(itemName, snapshotId)). */
export interface ServerPointRecord extends ReportedPoint {
  itemName: string;
}

/** The report's SHA-256, bound into the signed request (its arguments hold only short strings). */
export function reportDigest(reportJson: string): string {
  return createHash('sha256').update(reportJson, 'utf8').digest('hex');
}

/**
 * A source's protected item name: the workload type, then a readable slug and a hash of (group, source), so
 * names stay unique, fit ARM paths and Azure Tables keys (no '/', '\\', '#', '?'), and stay stable across
 * reports. Azure's own MARS item names look alike (`FileFolder;D^col^bs<guid>`).
 */
export function serverItemNameOf(source: Pick<ReportedSource, 'group' | 'name' | 'workloadType'>): string {
  const slug = source.name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'root';
  const hash = createHash('sha256').update(`${source.group.toLowerCase()}\u0000${source.name}`, 'utf8').digest('hex').slice(0, 12);
  return `${source.workloadType};${slug}-${hash}`.toLowerCase();
}

/** Jobs older than the retention (by start time) are forgotten. */
export function isServerJobExpired(job: Pick<ReportedJob, 'startTime'>, now: Date): boolean {
  return now.getTime() - Date.parse(job.startTime) > SERVER_JOB_RETENTION_DAYS * 86_400_000;
}

// ---- ARM shapes ---------------------------------------------------------------------------------------

const ITEM_TYPE = 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems';
const POINT_TYPE = 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints';
const JOB_TYPE = 'Microsoft.RecoveryServices/vaults/backupJobs';

export function serverItemId(vaultId: string, item: Pick<ServerItemRecord, 'serverName' | 'itemName'>): string {
  return `${vaultId}/backupFabrics/Azure/protectionContainers/${item.serverName}/protectedItems/${item.itemName}`;
}

function times(points: ServerPointRecord[], location: PointLocation) {
  const at = points.filter((p) => p.locations.includes(location)).map((p) => p.time).sort();
  return { count: at.length, oldest: at[0], newest: at.at(-1) };
}

/** The last finished backup job of the item (local or vault copy), for lastBackupStatus. */
function lastBackup(jobs: ServerJobRecord[]): ServerJobRecord | undefined {
  return jobs
    .filter((j) => (j.kind === 'LocalBackup' || j.kind === 'VaultCopy' || j.kind === 'DirectBackup') && j.status !== 'InProgress')
    .sort((a, b) => (a.startTime < b.startTime ? -1 : 1))
    .at(-1);
}

/**
 * The item as Azure shows a backup server's data source: DPMProtectedItem (AzureBackupServer) with the disk and
 * cloud recovery point counts and times in extendedInfo, or MabFileFolderProtectedItem (MAB).
 */
export function serverProtectedItemResource(vaultId: string, item: ServerItemRecord, points: ServerPointRecord[], jobs: ServerJobRecord[]) {
  const disk = times(points, 'Disk');
  const cloud = times(points, 'Online');
  const last = lastBackup(jobs);
  const lastRecoveryPoint = [disk.newest, cloud.newest].filter((t): t is string => t !== undefined).sort().at(-1);
  const lastBackupStatus = last === undefined ? undefined : last.status === 'Failed' ? 'Failed' : 'Completed';
  const protectionState = disk.count + cloud.count === 0 ? 'IRPending' : last?.status === 'Failed' ? 'ProtectionError' : 'Protected';
  const common = {
    backupManagementType: item.backupManagementType,
    workloadType: item.workloadType,
    containerName: item.serverName,
    friendlyName: item.name,
    ...(lastRecoveryPoint === undefined ? {} : { lastRecoveryPoint }),
  };
  const properties =
    item.backupManagementType === 'MAB'
      ? {
          protectedItemType: 'MabFileFolderProtectedItem',
          ...common,
          computerName: item.serverName,
          protectionState,
          ...(lastBackupStatus === undefined ? {} : { lastBackupStatus, lastBackupTime: last!.startTime }),
          extendedInfo: { lastRefreshedAt: item.reportedAt, recoveryPointCount: cloud.count, ...(cloud.oldest === undefined ? {} : { oldestRecoveryPoint: cloud.oldest }) },
        }
      : {
          protectedItemType: 'DPMProtectedItem',
          ...common,
          backupEngineName: item.serverName,
          protectionState,
          extendedInfo: {
            protectableObjectLoadPath: { path: item.path },
            protected: disk.count > 0,
            isPresentOnCloud: cloud.count > 0,
            ...(lastBackupStatus === undefined ? {} : { lastBackupStatus }),
            lastRefreshedAt: item.reportedAt,
            recoveryPointCount: cloud.count,
            ...(cloud.oldest === undefined ? {} : { oldestRecoveryPoint: cloud.oldest }),
            onPremiseRecoveryPointCount: disk.count,
            ...(disk.oldest === undefined ? {} : { onPremiseOldestRecoveryPoint: disk.oldest }),
            ...(disk.newest === undefined ? {} : { onPremiseLatestRecoveryPoint: disk.newest }),
            protectionGroupName: item.group,
          },
        };
  return { id: serverItemId(vaultId, item), name: item.itemName, type: ITEM_TYPE, properties };
}

/** A point on the server's disk, in the vault, or both: GenericRecoveryPoint (the model Azure uses for DPM). */
export function serverRecoveryPointResource(itemId: string, point: ServerPointRecord) {
  const where = point.locations.includes('Disk') && point.locations.includes('Online') ? 'DiskAndOnline' : point.locations[0];
  return {
    id: `${itemId}/recoveryPoints/${point.snapshotId}`,
    name: point.snapshotId,
    type: POINT_TYPE,
    properties: {
      objectType: 'GenericRecoveryPoint',
      friendlyName: point.source,
      recoveryPointType: where,
      recoveryPointTime: point.time,
      recoveryPointAdditionalInfo: `Location: ${point.locations.join(', ')}${point.bytes === undefined ? '' : `; size: ${point.bytes} bytes`}`,
    },
  };
}

/** Azure's job operation for each of the server's job kinds (a vault copy is a Backup to Azure; a prune deletes data). */
export function serverJobOperation(kind: ServerJobKind): 'Backup' | 'Restore' | 'DeleteBackupData' {
  return kind === 'Restore' ? 'Restore' : kind === 'Prune' ? 'DeleteBackupData' : 'Backup';
}

const TASK_NAMES: Record<ServerJobKind, string> = {
  LocalBackup: 'Backup to disk',
  VaultCopy: 'Backup to Azure (online copy)',
  Restore: 'Restore',
  Prune: 'Delete expired recovery points',
  DirectBackup: 'Backup to Azure',
};

/** A server job as Azure shows it: DpmJob (AzureBackupServer) or MabJob (MAB). */
export function serverJobResource(vaultId: string, job: ServerJobRecord, now: Date) {
  const end = job.endTime ?? (job.status === 'InProgress' ? now.toISOString() : job.startTime);
  const duration = isoDuration(Math.max(0, Date.parse(end) - Date.parse(job.startTime)));
  const errors = job.errorCode === undefined ? [] : [{ errorString: `${job.errorCode}: ${job.errorMessage ?? 'the job failed'}`, recommendations: [] as string[] }];
  const extendedInfo = {
    tasksList: [{ taskId: TASK_NAMES[job.kind], startTime: job.startTime, ...(job.endTime === undefined ? {} : { endTime: job.endTime }), duration, status: job.status }],
    propertyBag: {
      Kind: job.kind,
      // A MARS agent has no protection groups (one schedule per machine).
      ...(job.group === undefined || job.backupManagementType === 'MAB' ? {} : { 'Protection group': job.group }),
      ...(job.bytes === undefined ? {} : { 'Bytes transferred': String(job.bytes) }),
    },
    ...(job.errorMessage === undefined ? {} : { dynamicErrorMessage: job.errorMessage }),
  };
  const common = {
    entityFriendlyName: job.source ?? job.group ?? job.serverName,
    backupManagementType: job.backupManagementType,
    operation: serverJobOperation(job.kind),
    status: job.status,
    startTime: job.startTime,
    ...(job.endTime === undefined ? {} : { endTime: job.endTime }),
    activityId: job.jobId,
    duration,
    actionsInfo: [] as string[],
    errorDetails: errors,
    extendedInfo,
  };
  const properties =
    job.backupManagementType === 'MAB'
      ? { jobType: 'MabJob', ...common, mabServerName: job.serverName, mabServerType: 'Windows', workloadType: 'FileFolder' }
      : { jobType: 'DpmJob', ...common, dpmServerName: job.serverName, containerName: job.serverName, containerType: 'AzureBackupServerContainer', workloadType: 'FileFolder' };
  return { id: `${vaultId}/backupJobs/${job.jobId}`, name: job.jobId, type: JOB_TYPE, properties };
}
