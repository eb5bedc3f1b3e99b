/**
 * Taking and releasing repository locks through the RepositoryStore interface (so they work alike on the server's
 * folder, in memory and in the vault copy's blob container). restic's protocol: write our own lock object, then list
 * the others; if a live one conflicts, remove ours and wait (bounded) or fail with KluisRepositoryLocked (retryable).
 * Two holders racing both see each other and both back off, with a random delay so one wins the next round.
 * Stale locks of others (not refreshed for LOCK_STALE_AFTER_MS) are removed on the way.
 */
import { randomBytes } from 'node:crypto';
import { errors } from '../../domain/errors';
import type { RepositoryStore } from '../../stores/repository-store';
import {
  conflicts,
  describeLock,
  EXCLUSIVE_OPERATIONS,
  isLockStale,
  LOCK_REFRESH_MS,
  newLockDocument,
  parseLock,
  serializeLock,
  type LockHolder,
  type LockOperation,
  type RepositoryLockDocument,
} from '../domain/repository-lock';
import { lockIdOfKey, lockKey, LOCKS_PREFIX } from '../domain/repository-layout';

export interface LockOptions {
  clock: () => Date;
  holder: LockHolder;
  /** How long to wait for a conflicting lock to go away before failing; 0 (default): fail at once. */
  waitMs?: number;
  /** Pause between tries while waiting (randomized ±50 %). */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface HeldLock {
  readonly id: string;
  readonly document: RepositoryLockDocument;
  /** Stale locks of others this acquisition removed. */
  readonly staleRemoved: number;
  refresh(): Promise<void>;
  release(): Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Scan {
  conflict?: RepositoryLockDocument;
  staleRemoved: number;
}

/** Live locks other than `ownId` that conflict with an `exclusive` (or shared) lock; stale ones are removed. */
async function scanLocks(store: RepositoryStore, ownId: string | undefined, exclusive: boolean, now: Date): Promise<Scan> {
  let staleRemoved = 0;
  let conflict: RepositoryLockDocument | undefined;
  for await (const key of store.list(LOCKS_PREFIX)) {
    const id = lockIdOfKey(key);
    if (id === undefined || id === ownId) continue;
    const bytes = await store.read(key);
    if (bytes === undefined) continue; // released meanwhile
    const lock = parseLock(bytes);
    if (lock === undefined || isLockStale(lock, now)) {
      await store.delete(key);
      staleRemoved++;
      continue;
    }
    if (conflict === undefined && conflicts(exclusive, lock)) conflict = lock;
  }
  return { conflict, staleRemoved };
}

async function retrying<T>(operation: LockOperation, options: LockOptions, attempt: () => Promise<{ done: T } | { conflict: RepositoryLockDocument }>): Promise<T> {
  const sleep = options.sleep ?? defaultSleep;
  const pollMs = options.pollMs ?? 2_000;
  let waited = 0;
  for (;;) {
    const result = await attempt();
    if ('done' in result) return result.done;
    if (waited >= (options.waitMs ?? 0)) throw errors.repositoryLocked(operation, describeLock(result.conflict));
    const pause = Math.round(pollMs * (0.5 + Math.random()));
    await sleep(pause);
    waited += pause;
  }
}

/** Takes a lock for `operation` (prune/forget exclusive, the others shared), waiting up to `waitMs` for conflicts. */
export async function acquireRepositoryLock(store: RepositoryStore, operation: LockOperation, options: LockOptions): Promise<HeldLock> {
  const exclusive = EXCLUSIVE_OPERATIONS.has(operation);
  let staleRemoved = 0;
  return retrying<HeldLock>(operation, options, async () => {
    const id = randomBytes(16).toString('hex');
    let document = newLockDocument(operation, options.holder, options.clock());
    await store.write(lockKey(id), serializeLock(document));
    const scan = await scanLocks(store, id, exclusive, options.clock());
    staleRemoved += scan.staleRemoved;
    if (scan.conflict !== undefined) {
      await store.delete(lockKey(id));
      return { conflict: scan.conflict };
    }
    const held: HeldLock = {
      id,
      get document() {
        return document;
      },
      staleRemoved,
      async refresh() {
        document = { ...document, refreshedAt: options.clock().toISOString() };
        await store.write(lockKey(id), serializeLock(document));
      },
      async release() {
        await store.delete(lockKey(id));
      },
    };
    return { done: held };
  });
}

/**
 * For a reader that may not write to the store (a restore through a read-only vault SAS): waits up to `waitMs`
 * while a live exclusive lock (a prune) is held, then proceeds without a lock of its own.
 */
export async function awaitNoExclusiveLock(store: RepositoryStore, operation: LockOperation, options: Omit<LockOptions, 'holder'>): Promise<void> {
  await retrying<undefined>(operation, { ...options, holder: { name: '', hostname: '', pid: 0 } }, async () => {
    const now = options.clock();
    for await (const key of store.list(LOCKS_PREFIX)) {
      if (lockIdOfKey(key) === undefined) continue;
      const bytes = await store.read(key);
      const lock = bytes === undefined ? undefined : parseLock(bytes);
      if (lock !== undefined && lock.exclusive && !isLockStale(lock, now)) return { conflict: lock };
    }
    return { done: undefined };
  });
}

/** Runs `work` under a lock, refreshing it every LOCK_REFRESH_MS, and releases it however `work` ends. */
export async function withRepositoryLock<T>(store: RepositoryStore, operation: LockOperation, options: LockOptions, work: () => Promise<T>): Promise<T> {
  const lock = await acquireRepositoryLock(store, operation, options);
  const timer = setInterval(() => void lock.refresh().catch(() => undefined), LOCK_REFRESH_MS);
  timer.unref();
  try {
    return await work();
  } finally {
    clearInterval(timer);
    await lock.release();
  }
}
