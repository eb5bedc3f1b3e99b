/**
 * Staging, where the disk's backend offers it (page blobs: Premium disks are transferred from a staging
 * copy `AzureBackup-<item>-<job>-<lun>` next to the disk, as Azure Backup does). The plan asks for it
 * (`plan.stage`); the copy is always deleted afterwards, and a sweeper removes what a crash left.
 *
 * API:
 *   stageDisk(deps, {itemId, jobId, lun, view, capabilities}): Promise<StagedDisk>
 *   deleteStagingCopy(deps, {itemId, jobId, lun, view}): Promise<void>
 *   sweepStagingCopies(deps, {olderThan}): Promise<{deleted}>
 */
import { errors } from '../../domain/errors';
import type { StagedDisk } from '../domain/backup-job';
import type { DiskView } from '../domain/disk-view';
import type { BackupEngineDeps } from '../engine-deps';
import type { SourceCapabilities, SourceDiskBackend, StagingSupport } from '../sources/source-disk';

export type StageDeps = Pick<BackupEngineDeps, 'sources'>;

export interface StageDiskInput {
  itemId: string;
  jobId: string;
  lun: number;
  /** The disk's view to stage. */
  view: DiskView;
  capabilities: SourceCapabilities;
}

/** Idempotent: a re-run makes the staging copy again from the (immutable) view. */
export async function stageDisk(deps: StageDeps, input: StageDiskInput): Promise<StagedDisk> {
  const staging = stagingOf(deps.sources.backendFor(input.view.kind));
  return staging.stage(input.view, input, input.capabilities);
}

/** Succeeds when the staging copy is gone already, and for backends that never stage. */
export async function deleteStagingCopy(deps: StageDeps, input: Omit<StageDiskInput, 'capabilities'>): Promise<void> {
  await deps.sources.backendFor(input.view.kind).staging?.unstage(input.view, input);
}

/** Every backend's staging copies older than `olderThan` (crashed jobs' leftovers). */
export async function sweepStagingCopies(deps: StageDeps, input: { olderThan: Date }): Promise<{ deleted: number }> {
  let deleted = 0;
  for (const backend of deps.sources.all()) deleted += (await backend.staging?.sweep(input.olderThan))?.deleted ?? 0;
  return { deleted };
}

function stagingOf(backend: SourceDiskBackend): StagingSupport {
  if (backend.staging === undefined) throw errors.invalidRequest('stage', `Disks of kind '${backend.kind}' are never staged.`);
  return backend.staging;
}
