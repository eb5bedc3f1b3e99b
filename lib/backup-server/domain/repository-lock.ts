/**
 * Repository locks (restic's `locks/` in spirit): an object per running operation, so backups and prunes of one
 * repository exclude each other across processes and machines (two `kluis-server run`s on one data folder, a second
 * server restoring from the vault copy while its owner prunes it). Shared locks (backup, copy, restore) coexist;
 * an exclusive lock (prune, forget) excludes every other lock. A holder refreshes its lock while it runs; a lock not
 * refreshed for STALE_AFTER_MS is stale (its holder crashed or lost its disk) and the next operation removes it.
 * Pure: the document, staleness and conflicts; the store side is repository/repository-lock.ts.
 *
 * Locks are plain JSON, not encrypted: a server that must only check for a prune (a read-only restore from another
 * server's vault copy) reads them without keys, and they hold no secret (operation, server name, host, pid, times).
 */
import { z } from 'zod';

/** A lock's holder rewrites it this often while the operation runs. */
export const LOCK_REFRESH_MS = 5 * 60_000;
/** Not refreshed for this long: stale, removable (restic uses the same 30 minutes). */
export const LOCK_STALE_AFTER_MS = 30 * 60_000;

export type LockOperation = 'backup' | 'copy' | 'restore' | 'prune' | 'forget';

export const EXCLUSIVE_OPERATIONS: ReadonlySet<LockOperation> = new Set(['prune', 'forget']);

export interface LockHolder {
  /** The server (or tool) that holds it, e.g. the registered server name. */
  name: string;
  hostname: string;
  pid: number;
}

export interface RepositoryLockDocument {
  exclusive: boolean;
  operation: LockOperation;
  holder: LockHolder;
  /** When the lock was taken (ISO). */
  time: string;
  /** When its holder last rewrote it (ISO). */
  refreshedAt: string;
}

const lockSchema = z.object({
  exclusive: z.boolean(),
  operation: z.enum(['backup', 'copy', 'restore', 'prune', 'forget']),
  holder: z.object({ name: z.string(), hostname: z.string(), pid: z.number().int() }),
  time: z.string().min(1),
  refreshedAt: z.string().min(1),
});

export function newLockDocument(operation: LockOperation, holder: LockHolder, now: Date): RepositoryLockDocument {
  return { exclusive: EXCLUSIVE_OPERATIONS.has(operation), operation, holder, time: now.toISOString(), refreshedAt: now.toISOString() };
}

export function serializeLock(lock: RepositoryLockDocument): Buffer {
  return Buffer.from(`${JSON.stringify(lock)}\n`, 'utf8');
}

/** The lock, or undefined for an object that is not one (unreadable locks are treated as stale: removable). */
export function parseLock(bytes: Uint8Array): RepositoryLockDocument | undefined {
  try {
    const parsed = lockSchema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function isLockStale(lock: RepositoryLockDocument, now: Date): boolean {
  const refreshed = Date.parse(lock.refreshedAt);
  return Number.isNaN(refreshed) || now.getTime() - refreshed > LOCK_STALE_AFTER_MS;
}

/** Whether a lock taken for `exclusive` must wait for `other` (a live lock of another holder). */
export function conflicts(exclusive: boolean, other: RepositoryLockDocument): boolean {
  return exclusive || other.exclusive;
}

export function describeLock(lock: RepositoryLockDocument): string {
  const kind = lock.exclusive ? 'an exclusive' : 'a shared';
  return `${kind} lock (${lock.operation}) is held by ${lock.holder.name} (pid ${lock.holder.pid} on ${lock.holder.hostname}) since ${lock.time}, refreshed ${lock.refreshedAt}`;
}
