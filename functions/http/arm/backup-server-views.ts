/**
 * The vault's read-only view of what backup servers reported (issue 16, Deliver 8), for the ARM routes that also
 * serve Azure VMs: a container that is not a VM's (`IaasVMContainer;…`) and names a registered server holds that
 * server's items (DPMProtectedItem), their recovery points (GenericRecoveryPoint), and the vault's job list holds
 * its jobs (DpmJob). Changes to a server's items through ARM are refused: they are managed on the server.
 */
import { vaultId, type VaultRef } from '../../../lib/domain/arm-names';
import { parseODataFilter } from '../../../lib/domain/arm/odata-filter';
import { errors } from '../../../lib/domain/errors';
import {
  REPORTED_MANAGEMENT_TYPES,
  serverItemId,
  serverJobResource,
  serverProtectedItemResource,
  serverRecoveryPointResource,
  type ReportedManagementType,
} from '../../../lib/domain/backup-server/server-report';
import { findServerItem, findServerJob, listServerItems, listServerJobs, type ServerItemView, type ServerJobFilter } from '../../../lib/services/backup-server-reports';
import { vaultPartitionOf } from '../../../lib/services/backup-server-registration';
import { backupServerReportDeps } from '../../deps';

/** Azure VM containers are `IaasVMContainer;iaasvmcontainerv2;{rg};{vm}`; anything else may be a backup server's. */
export function isVmContainerName(containerName: string): boolean {
  return /^iaasvmcontainer/i.test(containerName);
}

/** A name that can be a server's (a host name or FQDN; also safe as a table key). Others go the VM path (its 400). */
function mayNameServer(containerName: string): boolean {
  return !isVmContainerName(containerName) && /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(containerName);
}

/**
 * The server item a route names; undefined when the container is a VM's or names no registered server (the VM
 * path answers then). A registered server without such an item: UserErrorBcmDatasourceNotPresent (404).
 */
export async function serverItemOfRoute(vault: VaultRef, params: Record<string, string>): Promise<ServerItemView | undefined> {
  const container = params.containerName ?? '';
  if (!mayNameServer(container)) return undefined;
  const itemName = params.protectedItemName ?? '';
  // Item names are `<workload>;<slug>-<hash>` (server-report.ts); anything else is no item of the server.
  const found = await findServerItem(backupServerReportDeps(), vault, container, /^[A-Za-z0-9;._-]{1,200}$/.test(itemName) ? itemName : '');
  if (found === undefined) return undefined;
  if (found.view === undefined) throw errors.datasourceNotPresent(itemName);
  return found.view;
}

export function serverItemResourceOf(vault: VaultRef, view: ServerItemView) {
  return serverProtectedItemResource(vaultId(vault), view.item, view.points, view.jobs);
}

/** Refuses a write (enable, backup now, restore, delete) on a backup server's item: KluisBackupServerItemReadOnly. */
export async function refuseServerItemChange(vault: VaultRef, params: Record<string, string>, operation: string): Promise<void> {
  const container = params.containerName ?? '';
  if (!mayNameServer(container)) return;
  const server = await backupServerReportDeps().backupServers.servers.get(vaultPartitionOf(vault), container.toLowerCase());
  if (server !== undefined) throw errors.backupServerItemReadOnly(params.protectedItemName ?? '', server.value.serverName, operation);
}

/** Which servers' items a `backupProtectedItems` $filter asks for: none with a policyName or an itemType other than FileFolder. */
export function serverItemTypesOf(filterText: string | null | undefined): ReportedManagementType[] {
  const clauses = parseODataFilter(filterText, ['backupManagementType', 'itemType', 'policyName'] as const);
  if (clauses.policyName !== undefined) return [];
  if (clauses.itemType !== undefined && clauses.itemType.toLowerCase() !== 'filefolder') return [];
  const type = clauses.backupManagementType?.toLowerCase();
  return REPORTED_MANAGEMENT_TYPES.filter((t) => type === undefined || t.toLowerCase() === type);
}

export async function serverItemResources(vault: VaultRef, filterText: string | null | undefined) {
  const types = serverItemTypesOf(filterText);
  if (types.length === 0) return [];
  const views = await listServerItems(backupServerReportDeps(), vault);
  return views.filter((v) => types.includes(v.item.backupManagementType)).map((v) => serverItemResourceOf(vault, v));
}

/** The item's points, newest first, in the filter's time range. */
export function serverPointResources(vault: VaultRef, view: ServerItemView, range: { startDate?: Date; endDate?: Date }) {
  const from = range.startDate?.getTime() ?? -Infinity;
  const to = range.endDate?.getTime() ?? Infinity;
  const itemId = serverItemId(vaultId(vault), view.item);
  return view.points
    .filter((p) => Date.parse(p.time) >= from && Date.parse(p.time) <= to)
    .sort((a, b) => (a.time < b.time ? 1 : -1))
    .map((p) => serverRecoveryPointResource(itemId, p));
}

export function serverPointResource(vault: VaultRef, view: ServerItemView, recoveryPointId: string) {
  const point = view.points.find((p) => p.snapshotId === recoveryPointId.toLowerCase());
  if (point === undefined) throw errors.recoveryPointNotFound(view.item.itemName, recoveryPointId);
  return serverRecoveryPointResource(serverItemId(vaultId(vault), view.item), point);
}

export async function serverJobResources(vault: VaultRef, filter: ServerJobFilter, now: Date) {
  const type = filter.backupManagementType?.toLowerCase();
  if (type !== undefined && !REPORTED_MANAGEMENT_TYPES.some((t) => t.toLowerCase() === type)) return [];
  return (await listServerJobs(backupServerReportDeps(), vault, filter)).map((job) => serverJobResource(vaultId(vault), job, now));
}

export async function serverJobResourceOf(vault: VaultRef, jobId: string, now: Date) {
  const job = await findServerJob(backupServerReportDeps(), vault, jobId);
  return job === undefined ? undefined : serverJobResource(vaultId(vault), job, now);
}
