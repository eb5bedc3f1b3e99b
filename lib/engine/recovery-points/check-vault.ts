/**
 * `kluis check` for the engine's part of a vault (restic's `check` in spirit): walks the recovery point
 * catalog, the manifests and the blobs of the given items and reports what is wrong, never changing anything
 * unless `repair` is set — and then only the safe cases (orphans: blobs and replica snapshots of points the
 * catalog does not have). With `readData`, every block of every point's replica snapshot is read back and
 * verified against the point's checksums.
 *
 * API: checkVaultItems(deps, {itemIds, readData?, repair?}): Promise<VaultCheckReport>
 */
import { describeFailure } from '../../domain/errors';
import { decodeBlockSums } from '../domain/block-sums';
import { META } from '../engine-deps';
import { parseRecoveryPointManifest, viewOfManifestDisk, type RecoveryPointManifest } from '../domain/recovery-point-manifest';
import { tiersOfState } from '../domain/restore-plan';
import { drillsScratchPrefix, itemPrefix, recoveryPointIdOfBlobName, recoveryPointsPrefix } from '../domain/vault-layout';
import type { PageBlobStore } from '../../stores/page-blob-store';
import type { RecoveryPointCatalog, StoredRecoveryPoint } from '../../stores/recovery-point-catalog';
import type { SourceDiskRegistry } from '../sources/registry';
import { blobReader } from '../restore/range-reader';
import { readDiskVerified } from '../restore/verified-read';

export type VaultProblemKind =
  | 'CatalogRowWithoutBlobs'
  | 'ManifestMissing'
  | 'ManifestInvalid'
  | 'ManifestMismatch'
  | 'ReplicaSnapshotMissing'
  | 'ChecksumsMissing'
  | 'ChecksumsInvalid'
  | 'InstantSnapshotMissing'
  | 'DataChecksumMismatch'
  | 'OrphanBlob'
  | 'OrphanReplicaSnapshot'
  /** A restore drill's scratch: left by a drill that died (or one running now); the item's next drill deletes it. */
  | 'OrphanDrillScratch';

/** Orphans are the only problems `repair` removes. */
export const REPAIRABLE: ReadonlySet<VaultProblemKind> = new Set(['OrphanBlob', 'OrphanReplicaSnapshot']);

export interface VaultProblem {
  kind: VaultProblemKind;
  itemId: string;
  recoveryPointId?: string;
  lun?: number;
  /** The blob (and snapshot) concerned, in the vault container. */
  blob?: string;
  snapshot?: string;
  message: string;
  /** Set when `repair` removed it. */
  repaired?: boolean;
}

export interface VaultCheckReport {
  items: number;
  recoveryPoints: number;
  /** Bytes read back and verified (readData). */
  bytesVerified: number;
  problems: VaultProblem[];
}

export interface CheckVaultDeps {
  vault: PageBlobStore;
  vaultContainer: string;
  catalog: RecoveryPointCatalog;
  sources: SourceDiskRegistry;
}

export interface CheckVaultInput {
  itemIds: readonly string[];
  readData?: boolean;
  repair?: boolean;
}

export async function checkVaultItems(deps: CheckVaultDeps, input: CheckVaultInput): Promise<VaultCheckReport> {
  const report: VaultCheckReport = { items: input.itemIds.length, recoveryPoints: 0, bytesVerified: 0, problems: [] };
  for (const itemId of input.itemIds) {
    const rows = new Map<string, StoredRecoveryPoint>();
    for await (const row of deps.catalog.list(itemId)) rows.set(row.recoveryPointId, row);
    report.recoveryPoints += rows.size;
    for (const row of rows.values()) report.problems.push(...(await checkPoint(deps, row, input, report)));
    report.problems.push(...(await findOrphans(deps, itemId, new Set(rows.keys()))));
  }
  if (input.repair === true) {
    for (const problem of report.problems) {
      if (!REPAIRABLE.has(problem.kind) || problem.blob === undefined) continue;
      const ref = { container: deps.vaultContainer, blob: problem.blob };
      if (problem.snapshot === undefined) await deps.vault.deleteBlob(ref);
      else await deps.vault.deleteSnapshot({ ...ref, snapshot: problem.snapshot });
      problem.repaired = true;
    }
  }
  return report;
}

async function checkPoint(deps: CheckVaultDeps, row: StoredRecoveryPoint, input: CheckVaultInput, report: VaultCheckReport): Promise<VaultProblem[]> {
  const at = { itemId: row.itemId, recoveryPointId: row.recoveryPointId };
  const container = row.vaultContainer;
  const problems: VaultProblem[] = [];
  const exists = async (blob: string, snapshot?: string) => (await deps.vault.getBlobProperties({ container, blob, ...(snapshot === undefined ? {} : { snapshot }) })) !== undefined;

  let manifest: RecoveryPointManifest;
  if (!(await exists(row.manifestBlobName))) {
    const anyBlob = await first(deps.vault.listBlobs(container, { prefix: recoveryPointsPrefix(row.itemId) + `${row.recoveryPointId}/` }));
    const kind = anyBlob === undefined ? 'CatalogRowWithoutBlobs' : 'ManifestMissing';
    return [{ kind, ...at, blob: row.manifestBlobName, message: kind === 'CatalogRowWithoutBlobs' ? 'The catalog lists this recovery point, but none of its blobs exist.' : 'The manifest of this recovery point is missing.' }];
  }
  try {
    manifest = parseRecoveryPointManifest((await deps.vault.readBlob({ container, blob: row.manifestBlobName })).toString('utf8'));
  } catch (err) {
    return [{ kind: 'ManifestInvalid', ...at, blob: row.manifestBlobName, message: describeFailure(err).message }];
  }
  if (manifest.itemId !== row.itemId || manifest.recoveryPointId !== row.recoveryPointId || manifest.disks.length !== row.diskCount) {
    problems.push({
      kind: 'ManifestMismatch',
      ...at,
      blob: row.manifestBlobName,
      message: `The manifest describes item ${manifest.itemId}, point ${manifest.recoveryPointId} with ${manifest.disks.length} disk(s); the catalog says ${row.itemId}, ${row.recoveryPointId}, ${row.diskCount}.`,
    });
  }
  const tiers = tiersOfState(row.state);
  for (const disk of manifest.disks) {
    const onDisk = { ...at, lun: disk.lun };
    const replicaPresent = await exists(disk.replica.blobName, disk.replica.snapshot);
    if (!replicaPresent) problems.push({ kind: 'ReplicaSnapshotMissing', ...onDisk, blob: disk.replica.blobName, snapshot: disk.replica.snapshot, message: `The vault copy of disk lun ${disk.lun} (a replica snapshot) is missing.` });
    if (tiers.instant === 'Valid') {
      const view = viewOfManifestDisk(disk, manifest.createdAt);
      const state = await deps.sources.backendFor(view.kind).describeView(view);
      if (state.status === 'gone') problems.push({ kind: 'InstantSnapshotMissing', ...onDisk, message: `The instant-restore snapshot of disk lun ${disk.lun} is gone, but the catalog still lists the snapshot tier.` });
    }
    let sums;
    try {
      sums = decodeBlockSums(await deps.vault.readBlob({ container, blob: disk.checksumsBlobName }));
    } catch (err) {
      const missing = describeFailure(err).code === 'KluisBlobNotFound';
      problems.push({ kind: missing ? 'ChecksumsMissing' : 'ChecksumsInvalid', ...onDisk, blob: disk.checksumsBlobName, message: missing ? `The checksums of disk lun ${disk.lun} are missing.` : describeFailure(err).message });
      continue;
    }
    if (input.readData !== true || !replicaPresent) continue;
    try {
      const verified = await readDiskVerified({ source: blobReader(deps.vault, { container, blob: disk.replica.blobName, snapshot: disk.replica.snapshot }), sums, blobSize: disk.sizeBytes, lun: disk.lun, tier: 'HardenedRP' });
      report.bytesVerified += verified.bytesRead;
    } catch (err) {
      problems.push({ kind: 'DataChecksumMismatch', ...onDisk, blob: disk.replica.blobName, snapshot: disk.replica.snapshot, message: describeFailure(err).message });
    }
  }
  return problems;
}

/** Blobs under the item's points prefix, and replica snapshots, of points the catalog does not have; restore drill scratch. */
async function findOrphans(deps: CheckVaultDeps, itemId: string, points: ReadonlySet<string>): Promise<VaultProblem[]> {
  const problems: VaultProblem[] = [];
  for await (const blob of deps.vault.listBlobs(deps.vaultContainer, { prefix: recoveryPointsPrefix(itemId) })) {
    const recoveryPointId = recoveryPointIdOfBlobName(itemId, blob.name);
    if (recoveryPointId === undefined || points.has(recoveryPointId)) continue;
    problems.push({ kind: 'OrphanBlob', itemId, recoveryPointId, blob: blob.name, message: `A blob of recovery point ${recoveryPointId}, which the catalog does not list.` });
  }
  for await (const entry of deps.vault.listBlobs(deps.vaultContainer, { prefix: `${itemPrefix(itemId)}disks/`, includeSnapshots: true })) {
    const recoveryPointId = entry.metadata[META.recoveryPointId];
    if (entry.snapshot === undefined || recoveryPointId === undefined || points.has(recoveryPointId)) continue;
    problems.push({ kind: 'OrphanReplicaSnapshot', itemId, recoveryPointId, blob: entry.name, snapshot: entry.snapshot, message: `A replica snapshot of recovery point ${recoveryPointId}, which the catalog does not list.` });
  }
  // Not repaired here (a drill may be running): the item's next drill sweeps it.
  for await (const blob of deps.vault.listBlobs(deps.vaultContainer, { prefix: drillsScratchPrefix(itemId) })) {
    problems.push({ kind: 'OrphanDrillScratch', itemId, blob: blob.name, message: 'Scratch of a restore drill that did not finish (or is running now); the next drill of the item deletes it.' });
  }
  return problems;
}

async function first<T>(items: AsyncIterable<T>): Promise<T | undefined> {
  for await (const item of items) return item;
  return undefined;
}
