/**
 * The page-blob backend's views: blob snapshots of all disks of a VM taken together, in the source account,
 * tagged with the item and recovery point so a failed backup's leftovers can be found (and expired) by tag.
 *
 * API:
 *   snapshotDisks(deps, {itemId, recoveryPointId, disks:[{lun, container, blob}]}): Promise<InstantSnapshot[]>
 *   listInstantSnapshots(deps, {itemId, containers?}): AsyncIterable<InstantSnapshot>
 *   expireInstantSnapshots(deps, {itemId, olderThan, containers?}): Promise<{deleted: InstantSnapshot[]}>
 *   deleteInstantSnapshots(deps, {itemId, recoveryPointId, containers?}): Promise<{deleted: InstantSnapshot[]}>
 */
import { errors } from '../../../domain/errors';
import { assertValidIdentifier, assertValidRecoveryPointId } from '../../domain/vault-layout';
import type { BlobRef } from '../../../stores/disk-store';
import type { PageBlobStore } from '../../../stores/page-blob-store';
import { META } from '../../engine-deps';
import type { PageBlobSourceDeps } from './page-blob-deps';

export type SnapshotDeps = PageBlobSourceDeps;

/** An instant-restore snapshot of one disk, taken in the source account. */
export interface InstantSnapshot {
  itemId: string;
  recoveryPointId: string;
  lun: number;
  container: string;
  blob: string;
  snapshot: string;
  /** ISO time (the clock handed to snapshotDisks). */
  createdAt: string;
  /** Page blob size of the disk when snapshotted. */
  sizeBytes: number;
}

export interface DiskToSnapshot {
  lun: number;
  container: string;
  blob: string;
}


export interface SnapshotDisksInput {
  itemId: string;
  recoveryPointId: string;
  disks: readonly DiskToSnapshot[];
  /** ISO time recorded on the snapshots; default: the clock. */
  createdAt?: string;
}

/**
 * Snapshots every disk at once (Promise.all). All or nothing: if one fails, the snapshots already
 * taken are deleted and the failure is rethrown.
 */
export async function snapshotDisks(deps: SnapshotDeps, input: SnapshotDisksInput): Promise<InstantSnapshot[]> {
  assertValidIdentifier('itemId', input.itemId);
  assertValidRecoveryPointId(input.recoveryPointId);
  if (input.disks.length === 0) throw errors.invalidRequest('disks', 'A VM backup needs at least one disk.');
  const createdAt = input.createdAt ?? deps.clock().toISOString();
  const results = await Promise.allSettled(
    input.disks.map(async (disk): Promise<InstantSnapshot> => {
      const base: BlobRef = { container: disk.container, blob: disk.blob };
      const snapshot = await deps.source.createSnapshot(base, {
        metadata: {
          [META.itemId]: input.itemId,
          [META.recoveryPointId]: input.recoveryPointId,
          [META.lun]: String(disk.lun),
          [META.createdAt]: createdAt,
          [META.kind]: 'instant',
        },
      });
      const props = await deps.source.getBlobProperties({ ...base, snapshot });
      if (props === undefined) throw errors.blobNotFound(base.container, `${base.blob}?snapshot=${snapshot}`);
      return { itemId: input.itemId, recoveryPointId: input.recoveryPointId, lun: disk.lun, ...base, snapshot, createdAt, sizeBytes: props.size };
    }),
  );
  const taken = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await Promise.allSettled(taken.map((s) => deps.source.deleteSnapshot(s)));
    throw failed.reason;
  }
  deps.log.info(`Snapshotted ${taken.length} disk(s) of item ${input.itemId} for recovery point ${input.recoveryPointId}.`);
  return taken;
}

export interface ListInstantSnapshotsInput {
  itemId: string;
  /** Containers to look in; default: every container of the source account. */
  containers?: readonly string[];
}

export async function* listInstantSnapshots(deps: SnapshotDeps, input: ListInstantSnapshotsInput): AsyncIterable<InstantSnapshot> {
  const containers = input.containers ?? (await collect(deps.source.listContainers()));
  for (const container of containers) {
    for await (const entry of deps.source.listBlobs(container, { includeSnapshots: true })) {
      if (entry.snapshot === undefined) continue;
      const meta = entry.metadata;
      if (meta[META.itemId] !== input.itemId || meta[META.kind] !== 'instant') continue;
      yield {
        itemId: input.itemId,
        recoveryPointId: meta[META.recoveryPointId] ?? '',
        lun: Number(meta[META.lun] ?? -1),
        container,
        blob: entry.name,
        snapshot: entry.snapshot,
        createdAt: meta[META.createdAt] ?? snapshotTime(entry.snapshot),
        sizeBytes: entry.size,
      };
    }
  }
}

export interface ExpireInstantSnapshotsInput extends ListInstantSnapshotsInput {
  /** Snapshots created before this instant are deleted. */
  olderThan: Date;
}

export async function expireInstantSnapshots(
  deps: SnapshotDeps,
  input: ExpireInstantSnapshotsInput,
): Promise<{ deleted: InstantSnapshot[] }> {
  return deleteMatching(deps, input, (s) => Date.parse(s.createdAt) < input.olderThan.getTime(), 'expired');
}

/** Deletes the snapshot tier of one recovery point (all its disks). */
export async function deleteInstantSnapshots(
  deps: SnapshotDeps,
  input: ListInstantSnapshotsInput & { recoveryPointId: string },
): Promise<{ deleted: InstantSnapshot[] }> {
  return deleteMatching(deps, input, (s) => s.recoveryPointId === input.recoveryPointId, `of point ${input.recoveryPointId}`);
}

async function deleteMatching(
  deps: SnapshotDeps,
  input: ListInstantSnapshotsInput,
  matches: (s: InstantSnapshot) => boolean,
  why: string,
): Promise<{ deleted: InstantSnapshot[] }> {
  const doomed: InstantSnapshot[] = [];
  for await (const snapshot of listInstantSnapshots(deps, input)) if (matches(snapshot)) doomed.push(snapshot);
  await Promise.all(doomed.map((s) => deps.source.deleteSnapshot(s)));
  if (doomed.length > 0) deps.log.info(`Deleted ${doomed.length} instant snapshot(s) of item ${input.itemId} (${why}).`);
  return { deleted: doomed };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** Snapshot ids are the service's timestamps (`2026-01-01T00:00:00.1234567Z`). */
function snapshotTime(snapshot: string): string {
  const ms = Date.parse(snapshot);
  return Number.isNaN(ms) ? new Date(0).toISOString() : new Date(ms).toISOString();
}

/**
 * Deletes an instant snapshot together with its twins: a snapshot request whose answer was lost (a reset, a
 * timeout) is retried by the SDK and takes a second snapshot, of which only the one that answered is recorded.
 * Twins are the other snapshots of the same blob labelled with the same item and point; they go first, the
 * recorded one last, so a re-run after a crash still finds them through it. Twins are left to delete here rather
 * than when the snapshot is taken, because two runs of one opening may race and each would delete the other's.
 */
export async function deleteInstantSnapshotWithTwins(source: PageBlobStore, recorded: BlobRef & { snapshot: string }): Promise<void> {
  const props = await source.getBlobProperties(recorded);
  if (props === undefined) return;
  const { [META.itemId]: itemId, [META.recoveryPointId]: recoveryPointId } = props.metadata;
  const twins: BlobRef[] = [];
  if (itemId !== undefined && recoveryPointId !== undefined) {
    for await (const entry of source.listBlobs(recorded.container, { prefix: recorded.blob, includeSnapshots: true })) {
      const meta = entry.metadata;
      if (entry.name !== recorded.blob || entry.snapshot === undefined || entry.snapshot === recorded.snapshot) continue;
      if (meta[META.kind] === 'instant' && meta[META.itemId] === itemId && meta[META.recoveryPointId] === recoveryPointId) twins.push({ ...recorded, snapshot: entry.snapshot });
    }
  }
  await Promise.all(twins.map((twin) => source.deleteSnapshot(twin)));
  await source.deleteSnapshot(recorded);
}
