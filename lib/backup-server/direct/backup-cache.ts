/**
 * Direct mode's local cache (`<data>/cache/`), the MARS agent's "checksums for each block, used to detect changed
 * blocks for later incremental backups" (seed 003): per source and file its size, mtime, inode and ctime with the
 * chunk ids of its last backup (an unchanged file is not read again), and the chunk ids known to be in the vault
 * (a known chunk is neither uploaded nor probed).
 *
 * Only an optimisation, never trusted blindly: the cache is written after each snapshot document, with a SHA-256
 * checksum of its content, the vault repository's id and the exact set of snapshot ids in the vault at that moment.
 * It is used only when all three still hold (`checkBackupCache`); otherwise (lost, torn, edited, another
 * repository, or the vault changed since — a crash between snapshot and cache, a retention run elsewhere) it is
 * rebuilt from the vault: the chunk index by listing the vault's chunks, the snapshot set by listing its snapshot
 * documents; the file entries start empty (the vault's trees record no inode or ctime, so no file is skipped
 * until it has been read once more).
 *
 * The backup server's local backups use the same cache for their files (`<data>/server/file-cache.json`, session 8),
 * checked against the local repository's id and snapshot set; the server keeps no chunk list in it (its repository
 * lists its own disk when unlocked), so `chunkIds` is direct mode's only.
 */
import { createHash } from 'node:crypto';
import type { LocalEntry } from '../../stores/local-file-system';
import type { RepositoryStore } from '../../stores/repository-store';

export const BACKUP_CACHE_KEY = 'index.json';
/** The backup server's cache of its local backups' files, in its state folder. */
export const SERVER_FILE_CACHE_KEY = 'file-cache.json';
const FORMAT = 'kluis-direct-cache';
const VERSION = 1;

export interface CachedFile {
  size: number;
  mtimeMs: number;
  ino: number;
  ctimeMs: number;
  chunks: string[];
}

export interface BackupCacheContent {
  repositoryId: string;
  /** The vault's snapshot ids when the cache was written: the cache describes exactly that state of the vault. */
  snapshotIds: string[];
  /** Direct mode: chunk ids stored in the vault (the server omits them: its repository lists its own disk). */
  chunkIds?: string[];
  /** Per source name, per relative path: the file as last backed up. */
  files: Record<string, Record<string, CachedFile>>;
}

export type BackupCacheCheck =
  | { usable: true; content: BackupCacheContent }
  | { usable: false; reason: string };

function checksumOf(content: BackupCacheContent): string {
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

export async function saveBackupCache(store: RepositoryStore, content: BackupCacheContent, key = BACKUP_CACHE_KEY): Promise<void> {
  const document = { format: FORMAT, version: VERSION, checksum: checksumOf(content), content };
  await store.write(key, Buffer.from(JSON.stringify(document), 'utf8'));
}

/**
 * The cache when it is intact and describes the vault as it is now (`repositoryId`, `vaultSnapshotIds` listed from
 * the vault), else why not.
 */
export async function checkBackupCache(store: RepositoryStore, repositoryId: string, vaultSnapshotIds: readonly string[], key = BACKUP_CACHE_KEY): Promise<BackupCacheCheck> {
  const bytes = await store.read(key).catch(() => undefined);
  if (bytes === undefined) return { usable: false, reason: 'there is no local cache' };
  let document: { format?: unknown; version?: unknown; checksum?: unknown; content?: BackupCacheContent };
  try {
    document = JSON.parse(bytes.toString('utf8')) as typeof document;
  } catch {
    return { usable: false, reason: 'the local cache is not readable' };
  }
  const content = document.content;
  if (document.format !== FORMAT || document.version !== VERSION || typeof content !== 'object' || content === null || !Array.isArray(content.snapshotIds) || typeof content.files !== 'object' || content.files === null) {
    return { usable: false, reason: 'the local cache is not in a known format' };
  }
  if (document.checksum !== checksumOf(content)) return { usable: false, reason: 'the local cache does not match its checksum' };
  if (content.repositoryId !== repositoryId) return { usable: false, reason: 'the local cache belongs to another repository' };
  const vault = new Set(vaultSnapshotIds);
  if (content.snapshotIds.length !== vault.size || content.snapshotIds.some((id) => !vault.has(id))) {
    return { usable: false, reason: 'the vault has changed since the local cache was written' };
  }
  return { usable: true, content };
}

/** The chunk ids of `entry` when the cache proves it unchanged (same size, mtime, inode, ctime; all chunks in the vault). */
export function unchangedChunks(
  cached: Record<string, CachedFile> | undefined,
  entry: { path: string; size: number; mtimeMs: number; ino?: number; ctimeMs?: number },
  inVault: (id: string) => boolean,
): string[] | undefined {
  const file = cached?.[entry.path];
  if (file === undefined || entry.ino === undefined || entry.ctimeMs === undefined) return undefined;
  const same = file.size === entry.size && file.mtimeMs === entry.mtimeMs && file.ino === entry.ino && file.ctimeMs === entry.ctimeMs;
  return same && file.chunks.every(inVault) ? file.chunks : undefined;
}

/**
 * backupFolder's hooks over one source's cached files: a file the cache proves unchanged (`unchangedChunks`) is not
 * read; every file backed up (read or not) is recorded in `files`, the source's entries for the next cache.
 */
export function fileCacheHooks(previous: Record<string, CachedFile> | undefined, hasChunk: (id: string) => boolean): {
  files: Record<string, CachedFile>;
  counts: { filesRead: number; filesUnchanged: number };
  unchangedFileChunks: (entry: LocalEntry) => string[] | undefined;
  fileStored: (entry: LocalEntry, chunks: readonly string[]) => void;
} {
  const files: Record<string, CachedFile> = {};
  const counts = { filesRead: 0, filesUnchanged: 0 };
  return {
    files,
    counts,
    unchangedFileChunks: (entry) => {
      const chunks = unchangedChunks(previous, entry, hasChunk);
      if (chunks === undefined) counts.filesRead++;
      else counts.filesUnchanged++;
      return chunks;
    },
    fileStored: (entry, chunks) => {
      if (entry.ino !== undefined && entry.ctimeMs !== undefined) files[entry.path] = { size: entry.size, mtimeMs: entry.mtimeMs, ino: entry.ino, ctimeMs: entry.ctimeMs, chunks: [...chunks] };
    },
  };
}
