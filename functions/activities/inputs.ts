/**
 * Schemas for activity inputs: the orchestrator builds them, but they cross a serialisation
 * boundary, so each activity checks its payload before acting on it.
 */
import { z } from 'zod';
import type {
  BackupRequest,
  DiscoveredDisk,
  SnapshotRef,
  TransferResult,
} from '../../lib/domain/backup-slice';
import { errors } from '../../lib/domain/errors';
import type {
  CleanupActivityInput,
  CommitActivityInput,
  DiscoverActivityInput,
  SnapshotActivityInput,
  TransferActivityInput,
} from '../../orchestrations/contracts';

const size = z.number().int().nonnegative();

const backupRequest = z.object({
  sourceContainer: z.string(),
  sourceBlob: z.string(),
  itemId: z.string(),
}) satisfies z.ZodType<BackupRequest>;

const discoveredDisk = z.object({
  sourceContainer: z.string(),
  sourceBlob: z.string(),
  lun: z.number().int(),
  blobSize: size,
  dataSize: size,
  vhdUniqueId: z.string(),
  etag: z.string().optional(),
}) satisfies z.ZodType<DiscoveredDisk>;

const snapshotRef = z.object({
  container: z.string(),
  blob: z.string(),
  snapshot: z.string().min(1),
  takenAt: z.string(),
}) satisfies z.ZodType<SnapshotRef>;

const transferResult = z.object({
  replicaContainer: z.string(),
  replicaBlob: z.string(),
  bytesCopied: size,
  bytesUploaded: size,
  chunksUploaded: size,
  md5Base64: z.string(),
}) satisfies z.ZodType<TransferResult>;

export const discoverInput = z.object({ request: backupRequest }) satisfies z.ZodType<DiscoverActivityInput>;

export const snapshotInput = z.object({
  disk: discoveredDisk,
  itemId: z.string(),
  jobId: z.string(),
}) satisfies z.ZodType<SnapshotActivityInput>;

export const transferInput = z.object({
  disk: discoveredDisk,
  snapshot: snapshotRef,
  itemId: z.string(),
  jobId: z.string(),
}) satisfies z.ZodType<TransferActivityInput>;

export const commitInput = z.object({
  request: backupRequest,
  jobId: z.string(),
  recoveryPointId: z.string(),
  disk: discoveredDisk,
  snapshot: snapshotRef,
  transfer: transferResult,
}) satisfies z.ZodType<CommitActivityInput>;

export const cleanupInput = z.object({ snapshot: snapshotRef }) satisfies z.ZodType<CleanupActivityInput>;

/** Parses an activity payload; a mismatch is a KluisInvalidRequest naming the first bad field. */
export function parseActivityInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const target = ['input', ...issue.path.map(String)].join('.');
  throw errors.invalidRequest(target, `The activity input is invalid at '${target}': ${issue.message}`);
}
