/**
 * The manifest of a recovery point: a JSON block blob at `manifestBlobName(item, rp)`, written
 * after the replica snapshots and checksum blobs and before the catalog row.
 *
 * API summary (stable; restore/delete depend on it):
 *   RECOVERY_POINT_MANIFEST_SCHEMA_VERSION = 1
 *   recoveryPointManifestSchema (zod)  → type RecoveryPointManifest
 *   type ManifestDisk, KeyAndSecretBackup, Consistency, StorageType, ChangeDetection
 *   parseRecoveryPointManifest(jsonOrValue): RecoveryPointManifest   throws KluisInvalidManifest
 *   diskChangeDetection(planned, segments): {changeDetection, segmentChangeDetection?}   what a disk's segments did
 *   serializeRecoveryPointManifest(manifest): string                  validates first
 *   manifestDisk(manifest, lun): ManifestDisk                         throws KluisInvalidManifest when absent
 *
 * Never holds secrets: source blob URLs must carry no query string (no SAS), key/secret backups are
 * referenced by vault blob name, never inlined.
 */
import { z } from 'zod';
import { BLOCK_SIZE, HASH_ALGORITHM } from './block-sums';
import { errors } from '../../domain/errors';
import { DISK_KINDS, type DiskView, type ViewHandle } from './disk-view';
import { isValidBlobName, isValidIdentifier, isValidRecoveryPointId, MAX_LUN } from './vault-layout';

export const RECOVERY_POINT_MANIFEST_SCHEMA_VERSION = 1;

export const CONSISTENCY_VALUES = ['ApplicationConsistent', 'FileSystemConsistent', 'CrashConsistent'] as const;
export type Consistency = (typeof CONSISTENCY_VALUES)[number];
export const STORAGE_TYPES = ['Standard', 'Premium'] as const;
export type StorageType = (typeof STORAGE_TYPES)[number];
export const CHANGE_DETECTION_VALUES = ['full', 'diff', 'checksum'] as const;
export type ChangeDetection = (typeof CHANGE_DETECTION_VALUES)[number];

const byteCount = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const blobName = z.string().refine(isValidBlobName, 'not a valid blob name');
const snapshotId = z.string().min(1).max(64);

const blobUrlWithoutSecrets = z
  .string()
  .url()
  .refine((value) => {
    const url = new URL(value);
    return url.search === '' && url.username === '' && url.password === '';
  }, 'must not carry a query string or credentials (no SAS tokens in manifests)');

/** True when no string in the value looks like a shared access signature. */
function carriesNoSas(value: unknown): boolean {
  if (typeof value === 'string') return !/[?&]sig=/i.test(value);
  if (Array.isArray(value)) return value.every(carriesNoSas);
  if (typeof value === 'object' && value !== null) return Object.values(value).every(carriesNoSas);
  return true;
}

/**
 * The view a point was read from (its instant-restore tier). Page blobs keep the form every manifest has
 * had: the disk's URL (no query string) and the snapshot; other kinds record their backend's kind, the
 * disk's id and the view's handle (never a SAS).
 */
export const manifestSourceSchema = z
  .object({
    blobUrl: blobUrlWithoutSecrets.optional(),
    snapshot: snapshotId.optional(),
    kind: z.enum(DISK_KINDS).optional(),
    diskId: z.string().min(1).max(2048).optional(),
    handle: z.record(z.string(), z.json()).refine(carriesNoSas, 'must not carry a shared access signature').optional(),
  })
  .superRefine((source, ctx) => {
    const pageBlob = source.blobUrl !== undefined && source.snapshot !== undefined && source.kind === undefined && source.handle === undefined;
    const view = source.kind !== undefined && source.diskId !== undefined && source.handle !== undefined && source.blobUrl === undefined;
    if (!pageBlob && !view) ctx.addIssue({ code: 'custom', message: 'needs {blobUrl, snapshot} (a page blob) or {kind, diskId, handle}' });
  });

export const manifestDiskSchema = z.object({
  lun: z.number().int().min(0).max(MAX_LUN),
  name: z.string().min(1).max(1024),
  /** Page blob size: VHD data plus the 512-byte footer. */
  sizeBytes: byteCount.refine((n) => n % 512 === 0, 'must be a multiple of 512'),
  storageType: z.enum(STORAGE_TYPES),
  /** The source view this point was read from: its instant-restore tier (viewOfManifestDisk). */
  source: manifestSourceSchema,
  /** The vault replica (vault container) and its snapshot freezing this point. */
  replica: z.object({ blobName, snapshot: snapshotId }),
  checksumsBlobName: blobName,
  /**
   * How the changes were found, as the segments actually found them: `diff` only when every segment
   * diffed; a planned diff the source refused (the earlier snapshot gone, another lineage) is `checksum`.
   */
  changeDetection: z.enum(CHANGE_DETECTION_VALUES),
  /** Per segment (index = segment), when the segments differ; absent: every segment used `changeDetection`. */
  segmentChangeDetection: z.array(z.enum(CHANGE_DETECTION_VALUES)).min(1).optional(),
  bytesRead: byteCount,
  bytesWritten: byteCount,
  bytesCleared: byteCount,
});

/**
 * Backups of the ADE key and secret (issues 4/5 fill this in). Loose: later fields survive a
 * round trip through this schema. The wrapped key/secret bytes live in vault blobs named here.
 */
export const keyAndSecretBackupSchema = z.looseObject({
  encryptionMechanism: z.string().min(1),
  kek: z.looseObject({ keyUrl: z.string().url(), keyVaultId: z.string().min(1), backupBlobName: blobName.optional() }).optional(),
  bek: z.looseObject({
    secretUrl: z.string().url(),
    secretVaultId: z.string().min(1),
    backupBlobName: blobName.optional(),
  }),
});

export const recoveryPointManifestSchema = z
  .object({
    schemaVersion: z.literal(RECOVERY_POINT_MANIFEST_SCHEMA_VERSION),
    itemId: z.string().refine(isValidIdentifier, 'not a valid identifier'),
    recoveryPointId: z.string().refine(isValidRecoveryPointId, 'must be a numeric string'),
    createdAt: z.iso.datetime({ offset: true }),
    consistency: z.enum(CONSISTENCY_VALUES),
    /** The VM's configuration as discovered (opaque JSON; restore writes it next to the disks). */
    vmConfig: z.json(),
    blockSize: z.number().int().positive().max(0x7fffffff),
    hashAlgorithm: z.literal(HASH_ALGORITHM),
    disks: z.array(manifestDiskSchema).min(1),
    keyAndSecret: keyAndSecretBackupSchema.nullable(),
  })
  .superRefine((manifest, ctx) => {
    const luns = new Set<number>();
    manifest.disks.forEach((disk, index) => {
      if (luns.has(disk.lun)) ctx.addIssue({ code: 'custom', path: ['disks', index, 'lun'], message: 'duplicate lun' });
      luns.add(disk.lun);
    });
  });

export type RecoveryPointManifest = z.infer<typeof recoveryPointManifestSchema>;
export type ManifestDisk = z.infer<typeof manifestDiskSchema>;
export type KeyAndSecretBackup = z.infer<typeof keyAndSecretBackupSchema>;

/** The defaults new manifests record (block-sums.ts). */
export const DEFAULT_MANIFEST_BLOCK_SIZE = BLOCK_SIZE;

/** Validates a manifest given as JSON text, bytes, or an already-parsed value. */
export function parseRecoveryPointManifest(input: string | Uint8Array | unknown): RecoveryPointManifest {
  let value: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
    try {
      value = JSON.parse(text);
    } catch {
      throw errors.invalidManifest('it is not JSON');
    }
  }
  const result = recoveryPointManifestSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw errors.invalidManifest(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return result.data;
}

/** Validates and renders the manifest as JSON (two-space indent, stable field order of the input). */
export function serializeRecoveryPointManifest(manifest: RecoveryPointManifest): string {
  return `${JSON.stringify(parseRecoveryPointManifest(manifest), null, 2)}\n`;
}

export type ManifestSource = z.infer<typeof manifestSourceSchema>;

/** How a manifest records a disk's view: page-blob snapshots in their original form, other views by kind, disk and handle. */
export function manifestSourceOf(view: DiskView): ManifestSource {
  const { blobUrl, snapshot, ...rest } = view.handle;
  if (view.kind === 'pageBlob' && typeof blobUrl === 'string' && typeof snapshot === 'string' && Object.keys(rest).length === 0 && view.diskId === blobUrl) {
    return { blobUrl, snapshot };
  }
  return { kind: view.kind, diskId: view.diskId, handle: view.handle };
}

/** The view a manifest disk was read from (to read or delete its instant-restore tier). */
export function viewOfManifestDisk(disk: ManifestDisk, createdAt: string): DiskView {
  const { source } = disk;
  if (source.blobUrl !== undefined && source.snapshot !== undefined) {
    return { kind: 'pageBlob', lun: disk.lun, handle: { blobUrl: source.blobUrl, snapshot: source.snapshot }, sizeBytes: disk.sizeBytes, diskId: source.blobUrl, createdAt };
  }
  if (source.kind === undefined || source.diskId === undefined || source.handle === undefined) throw errors.invalidManifest(`disk lun ${disk.lun} records no source view`);
  return { kind: source.kind, lun: disk.lun, handle: source.handle as ViewHandle, sizeBytes: disk.sizeBytes, diskId: source.diskId, createdAt };
}

/**
 * A disk's change detection from what its segments did: the one method they all used, else `checksum`
 * (not every range came from a diff) with the per-segment list. No segment reported: the plan's method.
 */
export function diskChangeDetection(
  planned: ChangeDetection,
  segments: ReadonlyArray<ChangeDetection | undefined>,
): { changeDetection: ChangeDetection; segmentChangeDetection?: ChangeDetection[] } {
  const used = segments.map((method) => method ?? planned);
  if (used.length === 0 || used.every((method) => method === used[0])) return { changeDetection: used[0] ?? planned };
  return { changeDetection: used.includes('full') ? 'full' : 'checksum', segmentChangeDetection: used };
}

export function manifestDisk(manifest: RecoveryPointManifest, lun: number): ManifestDisk {
  const disk = manifest.disks.find((d) => d.lun === lun);
  if (disk === undefined) throw errors.invalidManifest(`it has no disk with lun ${lun}`);
  return disk;
}
