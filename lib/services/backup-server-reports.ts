/**
 * The vault's side of what registered servers report (issue 16, Deliver 8): `POST /backupServer/reports`, signed
 * with the server's identity key for the operation `report`, the report's SHA-256 bound into the signature. The
 * vault keeps the server's sources, jobs (90 days) and recovery points in the backup-server catalog, and shows
 * them read-only through the ARM API (protected items, jobs, recovery points) as Azure shows a backup server's.
 */
import type { VaultRef } from '../domain/arm-names';
import { errors } from '../domain/errors';
import {
  isServerJobExpired,
  reportDigest,
  serverItemNameOf,
  serverReportSchema,
  serverJobOperation,
  type ReportedManagementType,
  type ServerItemRecord,
  type ServerJobRecord,
  type ServerPointRecord,
  type ServerReport,
} from '../domain/backup-server/server-report';
import type { SignedServerRequest } from '../domain/backup-server/server-identity';
import { collect, documentKey, type DocumentStore } from '../stores/document-store';
import type { BackupServerCatalog } from '../stores/backup-server-catalog';
import type { VaultCatalog } from '../stores/vault-catalog';
import { authenticated } from './backup-server-connection';
import { vaultPartitionOf } from './backup-server-registration';
import { getVault } from './vaults';

export interface BackupServerReportDeps {
  catalog: VaultCatalog;
  backupServers: BackupServerCatalog;
  clock: () => Date;
}

export interface ReportAccepted {
  serverName: string;
  items: number;
  jobs: number;
  points?: number;
}

function pointPartitionOf(vault: VaultRef, serverName: string): string {
  return documentKey(vaultPartitionOf(vault), serverName);
}

function parseReport(reportJson: string): ServerReport {
  let body: unknown;
  try {
    body = JSON.parse(reportJson);
  } catch {
    throw errors.invalidRequest('report', 'The report is not valid JSON.');
  }
  const parsed = serverReportSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw errors.invalidRequest(`report.${issue?.path.join('.') ?? ''}`, `The report is invalid: ${issue?.message ?? 'unknown'}.`);
  }
  return parsed.data;
}

/**
 * Accepts a server's report: checks the signature (its operation `report`, its `reportSha256` the digest of the
 * report text as sent), then replaces the server's sources and points and adds or updates its jobs. Jobs older
 * than 90 days are forgotten. Nothing is stored when a check fails.
 */
export async function acceptServerReport(deps: BackupServerReportDeps, vault: VaultRef, signed: SignedServerRequest, reportJson: string): Promise<ReportAccepted> {
  const { partition, found } = await authenticated(deps, vault, signed, 'report');
  if (signed.request.arguments?.reportSha256 !== reportDigest(reportJson)) throw errors.backupServerSignatureInvalid('the report is not the one the request signed');
  const report = parseReport(reportJson);
  const serverName = found.value.serverName;
  if (report.serverName.toLowerCase() !== serverName.toLowerCase()) throw errors.invalidRequest('report.serverName', `The report is for '${report.serverName}', not '${serverName}'.`);
  const now = deps.clock();
  const type = report.backupManagementType;

  // Sources: the report names every source; the others are gone from the server.
  const itemRow = (itemName: string) => documentKey(serverName, itemName);
  const items = new Map<string, ServerItemRecord>();
  for (const source of report.sources) {
    const itemName = serverItemNameOf(source);
    items.set(itemRow(itemName), { ...source, serverName, backupManagementType: type, itemName, reportedAt: report.reportedAt });
  }
  const storedItems = await collect(deps.backupServers.items.list(partition, { rowPrefix: `${documentKey(serverName)}~` }));
  for (const stored of storedItems) if (!items.has(stored.row)) await deps.backupServers.items.delete(partition, stored.row);
  for (const [row, record] of items) await upsert(deps.backupServers.items, partition, row, record);

  const itemOf = (group: string | undefined, source: string | undefined) =>
    group === undefined || source === undefined ? undefined : report.sources.find((s) => s.group.toLowerCase() === group.toLowerCase() && s.name === source);
  for (const job of report.jobs) {
    const source = itemOf(job.group, job.source);
    const record: ServerJobRecord = { ...job, serverName, backupManagementType: type, ...(source === undefined ? {} : { itemName: serverItemNameOf(source) }) };
    await upsert(deps.backupServers.jobs, partition, job.jobId.toLowerCase(), record);
  }
  for (const stored of await collect(deps.backupServers.jobs.list(partition))) {
    if (stored.value.serverName.toLowerCase() === serverName.toLowerCase() && isServerJobExpired(stored.value, now)) await deps.backupServers.jobs.delete(partition, stored.row);
  }

  if (report.points !== undefined) {
    const pointPartition = pointPartitionOf(vault, serverName);
    const points = new Map<string, ServerPointRecord>();
    for (const point of report.points) {
      const source = itemOf(point.group, point.source);
      const itemName = serverItemNameOf(source ?? { group: point.group, name: point.source, workloadType: 'FileFolder' });
      points.set(documentKey(itemName, point.snapshotId), { ...point, itemName });
    }
    for (const stored of await collect(deps.backupServers.points.list(pointPartition))) {
      if (!points.has(stored.row)) await deps.backupServers.points.delete(pointPartition, stored.row);
    }
    for (const [row, record] of points) await upsert(deps.backupServers.points, pointPartition, row, record);
  }
  return { serverName, items: items.size, jobs: report.jobs.length, ...(report.points === undefined ? {} : { points: report.points.length }) };
}

/** Writes a record unless the stored one is the same (reports repeat most of what the vault has). */
async function upsert<T>(store: DocumentStore<T>, partition: string, row: string, value: T): Promise<void> {
  const existing = await store.get(partition, row);
  if (existing === undefined) await store.insert(partition, row, value);
  else if (JSON.stringify(existing.value) !== JSON.stringify(value)) await store.replace(partition, row, value, existing.etag);
}

/** Forgets what a server reported (it is unregistered: Azure removes its items and their cloud data). */
export async function forgetServerReports(deps: Pick<BackupServerReportDeps, 'backupServers'>, vault: VaultRef, serverName: string): Promise<void> {
  const partition = vaultPartitionOf(vault);
  for (const stored of await collect(deps.backupServers.items.list(partition, { rowPrefix: `${documentKey(serverName)}~` }))) await deps.backupServers.items.delete(partition, stored.row);
  for (const stored of await collect(deps.backupServers.points.list(pointPartitionOf(vault, serverName)))) await deps.backupServers.points.delete(stored.partition, stored.row);
  for (const stored of await collect(deps.backupServers.jobs.list(partition))) {
    if (stored.value.serverName.toLowerCase() === serverName.toLowerCase()) await deps.backupServers.jobs.delete(partition, stored.row);
  }
}

// ---- reading ------------------------------------------------------------------------------------------

export interface ServerItemView {
  item: ServerItemRecord;
  points: ServerPointRecord[];
  jobs: ServerJobRecord[];
}

/** The reported items of every server of the vault (or of one management type), with their points and jobs. */
export async function listServerItems(deps: Pick<BackupServerReportDeps, 'catalog' | 'backupServers'>, vault: VaultRef, type?: ReportedManagementType): Promise<ServerItemView[]> {
  await getVault(deps, vault);
  const partition = vaultPartitionOf(vault);
  const items = (await collect(deps.backupServers.items.list(partition))).map((s) => s.value).filter((i) => type === undefined || i.backupManagementType === type);
  const jobs = (await collect(deps.backupServers.jobs.list(partition))).map((s) => s.value);
  const pointsByServer = new Map<string, ServerPointRecord[]>();
  for (const server of new Set(items.map((i) => i.serverName.toLowerCase()))) {
    pointsByServer.set(server, (await collect(deps.backupServers.points.list(pointPartitionOf(vault, server)))).map((s) => s.value));
  }
  return items.map((item) => ({
    item,
    points: (pointsByServer.get(item.serverName.toLowerCase()) ?? []).filter((p) => p.itemName === item.itemName),
    jobs: jobs.filter((j) => j.serverName.toLowerCase() === item.serverName.toLowerCase() && j.itemName === item.itemName),
  }));
}

/** One reported item of a server's container, or undefined when the container is not a registered server. */
export async function findServerItem(
  deps: Pick<BackupServerReportDeps, 'catalog' | 'backupServers'>,
  vault: VaultRef,
  containerName: string,
  itemName: string,
): Promise<{ server: true; view?: ServerItemView } | undefined> {
  const partition = vaultPartitionOf(vault);
  const server = await deps.backupServers.servers.get(partition, containerName.toLowerCase());
  if (server === undefined) return undefined;
  const stored = await deps.backupServers.items.get(partition, documentKey(server.value.serverName, itemName));
  if (stored === undefined) return { server: true };
  const points = (await collect(deps.backupServers.points.list(pointPartitionOf(vault, server.value.serverName), { rowPrefix: `${documentKey(stored.value.itemName)}~` }))).map((s) => s.value);
  const jobs = (await collect(deps.backupServers.jobs.list(partition))).map((s) => s.value)
    .filter((j) => j.serverName.toLowerCase() === server.value.serverName.toLowerCase() && j.itemName === stored.value.itemName);
  return { server: true, view: { item: stored.value, points, jobs } };
}

export interface ServerJobFilter {
  status?: string;
  operation?: string;
  startTime?: Date;
  endTime?: Date;
  backupManagementType?: string;
}

export function serverJobMatches(job: ServerJobRecord, filter: ServerJobFilter): boolean {
  if (filter.backupManagementType !== undefined && filter.backupManagementType.toLowerCase() !== job.backupManagementType.toLowerCase()) return false;
  if (filter.status !== undefined && filter.status !== job.status) return false;
  if (filter.operation !== undefined && filter.operation !== serverJobOperation(job.kind)) return false;
  const started = Date.parse(job.startTime);
  if (filter.startTime !== undefined && started < filter.startTime.getTime()) return false;
  if (filter.endTime !== undefined && started > filter.endTime.getTime()) return false;
  return true;
}

export async function listServerJobs(deps: Pick<BackupServerReportDeps, 'backupServers'>, vault: VaultRef, filter: ServerJobFilter = {}): Promise<ServerJobRecord[]> {
  return (await collect(deps.backupServers.jobs.list(vaultPartitionOf(vault)))).map((s) => s.value).filter((j) => serverJobMatches(j, filter));
}

export async function findServerJob(deps: Pick<BackupServerReportDeps, 'backupServers'>, vault: VaultRef, jobId: string): Promise<ServerJobRecord | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(jobId)) return undefined;
  return (await deps.backupServers.jobs.get(vaultPartitionOf(vault), jobId.toLowerCase()))?.value;
}
