/**
 * The "Backup servers" view (issue 16, Deliver 8): what the vault's ARM answers say about each registered backup
 * server (AzureBackupServerContainer) and direct-mode MARS machine (MabContainer), their sources (DPMProtectedItem,
 * MabFileFolderProtectedItem), recovery points (GenericRecoveryPoint: Disk, Online, DiskAndOnline) and jobs (DpmJob,
 * MabJob). Connectivity and what a server may do come from the seed's table (lib/domain/backup-server/connectivity,
 * the function the servers themselves use): Disconnected after 15 days without a check-in. Pure.
 */
import {
  allowedOperations,
  connectivityOf,
  serverSubscriptionState,
  type AllowedOperations,
  type Connectivity,
  type ServerSubscriptionState,
} from '../../../lib/domain/backup-server/connectivity';
import type { GenericRecoveryPoint, Job, ServerContainer, ServerItem } from '../api/types';

export { DISCONNECTED_AFTER_DAYS } from '../../../lib/domain/backup-server/connectivity';

/** The two kinds of machine that report to a vault, by Azure's `backupManagementType`. */
export const SERVER_MANAGEMENT_TYPES = ['AzureBackupServer', 'MAB'] as const;
export type ServerManagementType = (typeof SERVER_MANAGEMENT_TYPES)[number];

export const SERVER_KIND_LABELS: Record<ServerManagementType, string> = {
  AzureBackupServer: 'Backup server',
  MAB: 'MARS agent (direct)',
};

const ARM_SUBSCRIPTION_STATES = ['Enabled', 'Warned', 'PastDue', 'Disabled', 'Deleted'] as const;

/** ARM's subscription state (`GET /subscriptions/{id}`) as the seed's Active / Expired / Deprovisioned; undefined when unknown. */
export function subscriptionStateOf(armState: string | undefined): ServerSubscriptionState | undefined {
  const known = ARM_SUBSCRIPTION_STATES.find((s) => s.toLowerCase() === armState?.toLowerCase());
  return known === undefined ? undefined : serverSubscriptionState(known);
}

export function managementTypeOf(container: ServerContainer): ServerManagementType | undefined {
  const type = container.properties.backupManagementType?.toLowerCase();
  return SERVER_MANAGEMENT_TYPES.find((t) => t.toLowerCase() === type);
}

const sameName = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

/** The sources a server reported (items whose container is the server). */
export function itemsOfServer(items: readonly ServerItem[], serverName: string): ServerItem[] {
  return items.filter((item) => sameName(item.properties.containerName, serverName));
}

export type SourceHealth = 'Healthy' | 'Failed' | 'IRPending';

/** `lastBackupStatus` (DPM items keep it in extendedInfo, MARS items on the item). */
export function lastBackupStatusOf(item: ServerItem): string | undefined {
  return item.properties.extendedInfo?.lastBackupStatus ?? item.properties.lastBackupStatus;
}

/** Failed when the last backup failed or protection is in error; IRPending before the first point; else Healthy. */
export function sourceHealthOf(item: ServerItem): SourceHealth {
  const state = item.properties.protectionState;
  if (state === 'ProtectionError' || lastBackupStatusOf(item) === 'Failed') return 'Failed';
  if (state === 'IRPending') return 'IRPending';
  return 'Healthy';
}

export interface ServerRow {
  name: string;
  managementType: ServerManagementType;
  kindLabel: string;
  agentVersion?: string;
  /** The last check-in (the container's `extendedInfo.lastRefreshedAt`), ISO. */
  lastCheckIn?: string;
  connectivity: Connectivity;
  /** Undefined when the subscription's state is not known (the caller may not read it). */
  subscription?: ServerSubscriptionState;
  /** The seed's table for this connectivity and subscription state. */
  allowed?: AllowedOperations;
  sources: number;
  failedSources: number;
  /** The newest recovery point of any of its sources, on disk or in the vault. */
  lastRecoveryPoint?: string;
  /** Disconnected, a subscription that is not Active, or a failing source. */
  needsAttention: boolean;
}

/**
 * One row per registered server and MARS machine (other containers are ignored), those that need attention first,
 * then by name.
 */
export function serverRowsOf(containers: readonly ServerContainer[], items: readonly ServerItem[], armSubscriptionState: string | undefined, now: Date): ServerRow[] {
  const subscription = subscriptionStateOf(armSubscriptionState);
  const rows: ServerRow[] = [];
  for (const container of containers) {
    const managementType = managementTypeOf(container);
    if (managementType === undefined) continue;
    const p = container.properties;
    const name = container.name;
    const lastCheckIn = p.extendedInfo?.lastRefreshedAt;
    const connectivity = connectivityOf(lastCheckIn, now);
    const own = itemsOfServer(items, name);
    const failedSources = own.filter((item) => sourceHealthOf(item) === 'Failed').length;
    const lastRecoveryPoint = own.map((item) => item.properties.lastRecoveryPoint).filter((t): t is string => t !== undefined).sort().at(-1);
    const agentVersion = p.dpmAgentVersion ?? p.agentVersion;
    rows.push({
      name,
      managementType,
      kindLabel: SERVER_KIND_LABELS[managementType],
      ...(agentVersion === undefined ? {} : { agentVersion }),
      ...(lastCheckIn === undefined ? {} : { lastCheckIn }),
      connectivity,
      ...(subscription === undefined ? {} : { subscription, allowed: allowedOperations(connectivity, subscription) }),
      sources: own.length,
      failedSources,
      ...(lastRecoveryPoint === undefined ? {} : { lastRecoveryPoint }),
      needsAttention: connectivity === 'Disconnected' || (subscription !== undefined && subscription !== 'Active') || failedSources > 0,
    });
  }
  return rows.sort((a, b) => Number(b.needsAttention) - Number(a.needsAttention) || a.name.localeCompare(b.name, 'en', { sensitivity: 'base' }));
}

/** Where a point is: on the server's disk, in the vault, or both. */
export function pointLocationLabel(recoveryPointType: string | undefined): string {
  switch (recoveryPointType) {
    case 'Disk':
      return 'Disk (on the server)';
    case 'Online':
      return 'Online (in the vault)';
    case 'DiskAndOnline':
      return 'Disk and online';
    default:
      return recoveryPointType ?? '—';
  }
}

const onDisk = (type: string | undefined) => type === 'Disk' || type === 'DiskAndOnline';
const online = (type: string | undefined) => type === 'Online' || type === 'DiskAndOnline';

export interface PointRow {
  id: string;
  name: string;
  time?: string;
  recoveryPointType?: string;
  location: string;
  /** From `recoveryPointAdditionalInfo` ("…; size: N bytes"). */
  bytes?: number;
}

/** A source's points, newest first. */
export function pointRowsOf(points: readonly GenericRecoveryPoint[]): PointRow[] {
  return points
    .map((point) => {
      const p = point.properties;
      const size = /size: (\d+) bytes/.exec(p.recoveryPointAdditionalInfo ?? '')?.[1];
      return {
        id: point.id,
        name: point.name,
        ...(p.recoveryPointTime === undefined ? {} : { time: p.recoveryPointTime }),
        ...(p.recoveryPointType === undefined ? {} : { recoveryPointType: p.recoveryPointType }),
        location: pointLocationLabel(p.recoveryPointType),
        ...(size === undefined ? {} : { bytes: Number(size) }),
      };
    })
    .sort((a, b) => (b.time ?? '').localeCompare(a.time ?? '') || a.name.localeCompare(b.name));
}

export interface SourceRow {
  id: string;
  itemName: string;
  name: string;
  group?: string;
  path?: string;
  protectionState?: string;
  lastBackupStatus?: string;
  health: SourceHealth;
  /** The newest point on the server's disk (Disk or DiskAndOnline). */
  lastLocalPoint?: string;
  /** The newest point in the vault (Online or DiskAndOnline). */
  lastVaultPoint?: string;
  localPoints: number;
  vaultPoints: number;
}

/**
 * The server's sources by name. With the sources' points (`pointsOf`), the last local and vault points come from
 * them; without, from what the item says (its disk counts and newest disk point; a MARS machine has no disk copy, so
 * its newest point is in the vault).
 */
export function sourceRowsOf(items: readonly ServerItem[], pointsOf?: (item: ServerItem) => readonly GenericRecoveryPoint[] | undefined): SourceRow[] {
  return items
    .map((item) => {
      const p = item.properties;
      const info = p.extendedInfo ?? {};
      const points = pointsOf?.(item);
      const newest = (keep: (type: string | undefined) => boolean) =>
        points?.filter((pt) => keep(pt.properties.recoveryPointType)).map((pt) => pt.properties.recoveryPointTime ?? '').filter((t) => t !== '').sort().at(-1);
      const isMab = p.backupManagementType?.toLowerCase() === 'mab';
      const lastLocalPoint = points === undefined ? info.onPremiseLatestRecoveryPoint : newest(onDisk);
      const lastVaultPoint = points === undefined ? (isMab ? p.lastRecoveryPoint : undefined) : newest(online);
      const path = info.protectableObjectLoadPath?.path;
      const lastBackupStatus = lastBackupStatusOf(item);
      return {
        id: item.id,
        itemName: item.name,
        name: p.friendlyName,
        ...(info.protectionGroupName === undefined ? {} : { group: info.protectionGroupName }),
        ...(path === undefined ? {} : { path }),
        ...(p.protectionState === undefined ? {} : { protectionState: p.protectionState }),
        ...(lastBackupStatus === undefined ? {} : { lastBackupStatus }),
        health: sourceHealthOf(item),
        ...(lastLocalPoint === undefined ? {} : { lastLocalPoint }),
        ...(lastVaultPoint === undefined ? {} : { lastVaultPoint }),
        localPoints: points === undefined ? (info.onPremiseRecoveryPointCount ?? 0) : points.filter((pt) => onDisk(pt.properties.recoveryPointType)).length,
        vaultPoints: points === undefined ? (info.recoveryPointCount ?? 0) : points.filter((pt) => online(pt.properties.recoveryPointType)).length,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name, 'en', { sensitivity: 'base' }) || a.itemName.localeCompare(b.itemName));
}

/** The server named by a job (DpmJob `dpmServerName`, MabJob `mabServerName`); undefined for a VM's job. */
export function serverOfJob(job: Job): string | undefined {
  return job.properties.dpmServerName ?? job.properties.mabServerName;
}

/** A server's jobs, newest first, at most `limit`. */
export function jobsOfServer(jobs: readonly Job[], serverName: string, limit = 20): Job[] {
  return jobs
    .filter((job) => sameName(serverOfJob(job), serverName))
    .sort((a, b) => b.properties.startTime.localeCompare(a.properties.startTime))
    .slice(0, limit);
}

/** The `kluis-server` commands that manage what the view shows (the vault's view is read-only). */
export function serverCommands(managementType: ServerManagementType): Array<{ command: string; what: string }> {
  if (managementType === 'MAB') {
    return [
      { command: 'kluis-server protect --folder PATH --at HH:MM --online-retention-days N', what: "protect a folder of this machine (up to three times a day)" },
      { command: 'kluis-server run', what: 'back up on schedule (--once for one pass)' },
      { command: 'kluis-server points', what: 'list its recovery points' },
      { command: 'kluis-server restore --snapshot ID --target DIR', what: 'restore a point, to the original or another folder' },
      { command: 'kluis-server unregister --delete-vault-data', what: 'unregister the machine and delete its backups in the vault' },
    ];
  }
  return [
    { command: 'kluis-server protect --group NAME --folder PATH --online-retention-days N', what: 'add a source to a protection group (a local point daily, a vault copy daily)' },
    { command: 'kluis-server run', what: 'take local points and vault copies on schedule (--once for one pass)' },
    { command: 'kluis-server points', what: 'list its recovery points' },
    { command: 'kluis-server restore --snapshot ID --target DIR', what: 'restore from its disk when the point is there, else from the vault' },
    { command: 'kluis-server unregister --delete-vault-data', what: 'unregister the server (its local copies stay on its disks)' },
  ];
}

/** How a newcomer registers a server or a MARS machine with this vault (the empty state). */
export function registrationSteps(vaultId: string): Array<{ command: string; what: string }> {
  return [
    { command: `kluis-server credentials --vault ${vaultId} --out DIR`, what: 'download a vault credentials file (valid 48 hours)' },
    { command: 'kluis-server register --vault-credentials FILE --server-name NAME', what: 'register a backup server (add --mode direct for one machine straight to the vault, as the MARS agent)' },
    { command: 'kluis-server protect --group NAME --folder PATH --online-retention-days 30', what: 'protect a folder: a local point daily, kept 1–5 days, and a vault copy' },
    { command: 'kluis-server run', what: 'back up on schedule; the server reports its sources, points and jobs here' },
  ];
}
