/**
 * A backup's views of its VM's disks, through the backend of the disks' kind (one kind per VM): discover
 * the disks, learn what the backend can do, open the views together (the instant-restore tier of the new
 * point), release them (always), and discard what a failed or cancelled backup opened.
 *
 * API:
 *   discoverSourceDisks(deps, {disks}): Promise<DiscoveredVmDisk[]>
 *   sourceCapabilities(deps, {kind?}): Promise<SourceCapabilities>
 *   openSourceViews(deps, {itemId, recoveryPointId, disks}): Promise<DiskView[]>
 *   releaseSourceViews(deps, {views}): Promise<{released}>
 *   discardSourceViews(deps, {itemId, recoveryPointId, disks}): Promise<{deleted}>
 */
import { errors } from '../../domain/errors';
import type { DiscoveredVmDisk, VmDiskRequest } from '../domain/backup-job';
import { DEFAULT_DISK_KIND, diskKindOf, type DiskKind, type DiskView } from '../domain/disk-view';
import { assertValidIdentifier, assertValidRecoveryPointId } from '../domain/vault-layout';
import type { BackupEngineDeps } from '../engine-deps';
import type { SourceCapabilities, ViewPlacement } from '../sources/source-disk';

export type SourceViewDeps = Pick<BackupEngineDeps, 'sources' | 'clock' | 'log'>;

/** The one kind of a VM's disks; a VM mixing kinds is refused (Azure has no such VM either). */
export function kindOfDisks(disks: readonly VmDiskRequest[]): DiskKind {
  const kinds = [...new Set(disks.map(diskKindOf))];
  if (kinds.length > 1) throw errors.invalidRequest('disks', `A VM's disks are all of one kind; these are ${kinds.join(' and ')}.`);
  return kinds[0] ?? DEFAULT_DISK_KIND;
}

export async function discoverSourceDisks(deps: Pick<BackupEngineDeps, 'sources'>, input: { disks: readonly VmDiskRequest[] }): Promise<DiscoveredVmDisk[]> {
  if (input.disks.length === 0) throw errors.invalidRequest('disks', 'A VM backup needs at least one disk.');
  return deps.sources.backendFor(kindOfDisks(input.disks)).discover(input.disks);
}

/** Requests before managed disks name no kind: they are page blobs. */
export function sourceCapabilities(deps: Pick<BackupEngineDeps, 'sources'>, input: { kind?: DiskKind }): Promise<SourceCapabilities> {
  return deps.sources.backendFor(input.kind ?? DEFAULT_DISK_KIND).capabilities();
}

export interface OpenSourceViewsInput {
  itemId: string;
  recoveryPointId: string;
  disks: readonly DiscoveredVmDisk[];
  /** Where a backend with a choice keeps the views (managed disks: the instant-restore resource group). */
  placement?: ViewPlacement;
}

/** All disks' views at one point in time (all or nothing), in the order of `disks`. */
export async function openSourceViews(deps: SourceViewDeps, input: OpenSourceViewsInput): Promise<DiskView[]> {
  assertValidIdentifier('itemId', input.itemId);
  assertValidRecoveryPointId(input.recoveryPointId);
  if (input.disks.length === 0) throw errors.invalidRequest('disks', 'A VM backup needs at least one disk.');
  const backend = deps.sources.backendFor(kindOfDisks(input.disks));
  const views = await backend.openViews({ ...input, createdAt: deps.clock().toISOString() });
  deps.log.info(`Opened ${views.length} ${backend.kind} view(s) of item ${input.itemId} for recovery point ${input.recoveryPointId}.`);
  return views;
}

/** Ends all access to the views (they stay as the instant-restore tier). Idempotent. */
export async function releaseSourceViews(deps: Pick<BackupEngineDeps, 'sources'>, input: { views: readonly DiskView[] }): Promise<{ released: number }> {
  const byKind = new Map<DiskKind, DiskView[]>();
  for (const view of input.views) byKind.set(view.kind, [...(byKind.get(view.kind) ?? []), view]);
  await Promise.all([...byKind].map(([kind, views]) => deps.sources.backendFor(kind).release(views)));
  return { released: input.views.length };
}

/**
 * Deletes whatever views an open of this request left (a backup that failed or was cancelled before its commit).
 * With `catalog`: never the views of a point that did get committed — under faults a commit can succeed while its
 * activity is still reported failed, and the committed point keeps its snapshot tier.
 */
export async function discardSourceViews(deps: SourceViewDeps & { catalog?: Pick<BackupEngineDeps['catalog'], 'get'> }, input: OpenSourceViewsInput): Promise<{ deleted: number }> {
  if (input.disks.length === 0) return { deleted: 0 };
  if (deps.catalog !== undefined && (await deps.catalog.get(input.itemId, input.recoveryPointId)) !== undefined) {
    deps.log.warn(`Kept the views of recovery point ${input.recoveryPointId} of item ${input.itemId}: the point is committed.`);
    return { deleted: 0 };
  }
  const result = await deps.sources.backendFor(kindOfDisks(input.disks)).discardViews(input);
  if (result.deleted > 0) deps.log.info(`Deleted ${result.deleted} view(s) of item ${input.itemId} opened for recovery point ${input.recoveryPointId}.`);
  return result;
}
