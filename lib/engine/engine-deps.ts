/**
 * What the backup engine's use cases take as `deps` (each takes only the parts it needs, by Pick).
 * Nothing in lib/engine reads config or the environment; functions/deps.ts wires these from config.
 */
import type { RecoveryPointCatalog } from '../stores/recovery-point-catalog';
import type { PageBlobStore } from '../stores/page-blob-store';
import type { SourceDiskRegistry } from './sources/registry';

/** Structural logger: `console` and a Functions `InvocationContext` both fit. */
export interface EngineLogger {
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

export interface BackupEngineDeps {
  /** The source disks' backends, by kind: they open, read and delete the disks' point-in-time views (the instant-restore tier). */
  sources: SourceDiskRegistry;
  /** The vault storage account: replicas, checksums, manifests, job scratch. */
  vault: PageBlobStore;
  vaultContainer: string;
  catalog: RecoveryPointCatalog;
  clock: () => Date;
  log: EngineLogger;
}

/** Metadata keys Kluis puts on blobs and snapshots (Azure metadata names: lowercase, no dashes). */
export const META = {
  itemId: 'kluisitemid',
  recoveryPointId: 'kluisrecoverypointid',
  jobId: 'kluisjobid',
  lun: 'kluislun',
  createdAt: 'kluiscreatedat',
  kind: 'kluiskind',
  /** On a replica: the job currently writing it (empty when the replica equals its last committed point). */
  writingJob: 'kluiswritingjob',
  /** On a replica: the recovery point its content equals (when `writingJob` is empty). */
  committedPoint: 'kluiscommittedpoint',
  /** On a replica: the job whose server-side copy seeded it (set after the copy succeeded; the commit drops it). */
  seededBy: 'kluisseededby',
  bytesRead: 'kluisbytesread',
  bytesWritten: 'kluisbyteswritten',
  bytesCleared: 'kluisbytescleared',
  blocksChanged: 'kluisblockschanged',
  /** On a checksum part: how its segment found the changes (full, diff, or checksum when the planned diff was refused). */
  changeDetection: 'kluischangedetection',
} as const;
