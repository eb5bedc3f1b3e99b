/**
 * The narrow catalog of committed recovery points (the full catalog comes with the next issue).
 * A recovery point is visible exactly when its row exists: the commit writes the row last;
 * deletion marks it, deletes blobs, then removes the row (DESIGN §4).
 *
 * API: put (insert, or replace under an ETag), get, list (ascending by numeric id), delete.
 * Implementations: `azure/table-recovery-point-catalog.ts`, `memory/recovery-point-catalog.ts`.
 */
import type { Consistency } from '../engine/domain/recovery-point-manifest';
import type { LongTermRuleName } from '../domain/retention-rules';
import type { AbortOptions } from './disk-store';

export interface RecoveryPointRecord {
  itemId: string;
  /** Numeric string. */
  recoveryPointId: string;
  /** ISO time. */
  createdAt: string;
  consistency: Consistency;
  /** Vault container and blob of the manifest. */
  vaultContainer: string;
  manifestBlobName: string;
  diskCount: number;
  /** Lifecycle state (restore-plan.ts RecoveryPointStates: Committed, SnapshotTierDeleted, Deleting, …). */
  state: string;
  /** How long the point is kept: on-demand points carry their retain-until; retention records its last decision. */
  retention?: RecoveryPointRetention;
  /** The VM was encrypted (ADE): the point holds backups of its key and secret (named in the manifest). */
  isSourceVmEncrypted?: boolean;
}

export interface RecoveryPointRetention {
  isOnDemand: boolean;
  /** On-demand points: kept until this time (ISO). */
  retainUntil?: string;
  /** Scheduled points: the slot the backup ran for (ISO). */
  scheduledTime?: string;
  /** Scheduled points: the long-term rules (Weekly, Monthly, Yearly) that selected the point's day when it was taken. */
  longTermTags?: LongTermRuleName[];
  /** The rule that keeps the point, until when and why, as last evaluated (retention.ts). */
  ruleName?: string;
  expiryTime?: string;
  reason?: string;
  /** The snapshot tier's instant-restore days end at `expiryTime`; `reason` says whether and why it outlives them. */
  snapshotTier?: { expiryTime: string; reason: string };
}

export interface StoredRecoveryPoint extends RecoveryPointRecord {
  etag: string;
}

export interface PutRecoveryPointOptions extends AbortOptions {
  /** Replace the row only if it still has this ETag; without it, insert only (KluisCatalogConflict if present). */
  ifMatch?: string;
}

export interface DeleteRecoveryPointOptions extends AbortOptions {
  /** Delete only if the row still has this ETag (KluisCatalogConflict otherwise). */
  ifMatch?: string;
}

export interface RecoveryPointCatalog {
  put(record: RecoveryPointRecord, options?: PutRecoveryPointOptions): Promise<StoredRecoveryPoint>;
  get(itemId: string, recoveryPointId: string, options?: AbortOptions): Promise<StoredRecoveryPoint | undefined>;
  /** Points of one item, oldest (smallest id) first. */
  list(itemId: string, options?: AbortOptions): AsyncIterable<StoredRecoveryPoint>;
  /** Succeeds when the row is already gone. */
  delete(itemId: string, recoveryPointId: string, options?: DeleteRecoveryPointOptions): Promise<void>;
}

/** Row keys sort as strings: pad numeric ids so the table lists them in numeric order. */
export function recoveryPointRowKey(recoveryPointId: string): string {
  return recoveryPointId.padStart(20, '0');
}

/** The newest point of an item (largest id), or undefined. */
export async function latestRecoveryPoint(
  catalog: RecoveryPointCatalog,
  itemId: string,
  options?: AbortOptions,
): Promise<StoredRecoveryPoint | undefined> {
  let latest: StoredRecoveryPoint | undefined;
  for await (const point of catalog.list(itemId, options)) latest = point;
  return latest;
}
