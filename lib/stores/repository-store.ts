/**
 * Where a backup server repository's objects live (restic's backend in spirit): a flat namespace of keys built by
 * lib/backup-server/domain/repository-layout.ts. Implementations: file/repository-store.ts (the server's local
 * disks), memory/repository-store.ts (tests); the vault's copy will be a blob implementation of the same interface.
 * Objects are immutable once written; a write is all-or-nothing (readers never see half an object).
 */
export interface RepositoryStore {
  /** A human-readable location for messages (a folder path, a container URL without credentials). */
  readonly location: string;
  /** The object's bytes, or undefined when it does not exist. */
  read(key: string): Promise<Buffer | undefined>;
  /**
   * Optional: `length` bytes of the object from `offset` (fewer when the object is shorter), or undefined when it does
   * not exist. A version-2 repository reads one blob of a pack this way; without it the whole object is read.
   */
  readRange?(key: string, offset: number, length: number): Promise<Buffer | undefined>;
  /**
   * Optional: a reader of many ranges (a restore reading its chunks pack by pack) that may keep objects open between
   * reads (the file store: a few open handles, not an open per read). Closed by the caller when done; objects deleted
   * or replaced meanwhile may still be read as they were when opened.
   */
  openRangeReader?(): RangeReader;
  /** Writes (replacing any object with that key) atomically. */
  write(key: string, data: Uint8Array): Promise<void>;
  /** Writes only when no object has that key; false (nothing written) when one does. Atomic. */
  writeIfAbsent(key: string, data: Uint8Array): Promise<boolean>;
  exists(key: string): Promise<boolean>;
  /** Every key starting with `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<string>;
  /** Removes the object; succeeds when it is already gone. */
  delete(key: string): Promise<void>;
  /**
   * Optional: a batch of writes made durable together (the file store: no fsync per object, one round of fsyncs at
   * `commit`). A store without it (or answering undefined) writes each object durably at once. The repository writes a backup's chunks in
   * one batch and commits it before the snapshot document, so a snapshot still names only durable objects.
   */
  beginBatch?(): RepositoryWriteBatch | undefined;
  /**
   * Optional: removes temporary files a crash before a batch commit left, once older than a day (the file store's
   * `tmp/`); run at unlock. Returns how many were removed.
   */
  sweepTemporary?(): Promise<number>;
}

export interface RangeReader {
  /** As RepositoryStore.readRange. */
  readRange(key: string, offset: number, length: number): Promise<Buffer | undefined>;
  /** Releases what the reader holds open (after its reads have ended). */
  close(): Promise<void>;
}

/** A range reader over any store: its own `openRangeReader`, else `readObjectRange` per read. */
export function openRangeReader(store: RepositoryStore): RangeReader {
  return store.openRangeReader?.() ?? { readRange: (key, offset, length) => readObjectRange(store, key, offset, length), close: async () => undefined };
}

/** A range of an object, through `readRange` when the store has it, else by reading the whole object. */
export async function readObjectRange(store: RepositoryStore, key: string, offset: number, length: number): Promise<Buffer | undefined> {
  if (store.readRange !== undefined) return store.readRange(key, offset, length);
  return (await store.read(key))?.subarray(offset, offset + length);
}

/**
 * Writes that become visible and durable only at `commit` (before it, `read`/`exists`/`list` do not see them; a
 * crash before it leaves none of them under its key). After `commit` resolves every object written is durable.
 */
export interface RepositoryWriteBatch {
  /** As RepositoryStore.writeIfAbsent, decided against the objects visible now (an object another writer adds before the commit is kept: the same key holds the same content). */
  writeIfAbsent(key: string, data: Uint8Array): Promise<boolean>;
  /**
   * Optional: an object written piece by piece before its key is known (a pack, named by the hash of its bytes), so
   * its bytes need not all be held in memory. Staged like `writeIfAbsent` once `finish` names it.
   */
  openStreamedWrite?(): StreamedWrite;
  commit(): Promise<void>;
}

export interface StreamedWrite {
  /** Writes `data` at `offset` of the object (pieces may be written concurrently, each at its own offset). */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Ends the object (after every `write` has resolved) and stages it under `key` as `writeIfAbsent` would. */
  finish(key: string): Promise<boolean>;
}
