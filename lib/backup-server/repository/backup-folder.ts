/**
 * Backs up a folder tree into a repository: walk, chunk every file (FastCDC), store the chunks the repository
 * lacks (compressed, encrypted), then store the tree the same way and the snapshot document last, so a snapshot
 * is visible only when everything it names is stored.
 */
import type { LocalEntry, LocalFileSystem } from '../../stores/local-file-system';
import { chunkStream } from '../domain/fastcdc';
import type { PathStyle } from '../domain/path-rules';
import { isSafeRelativePath, MAX_LISTED_SKIPPED, serializeTree, type SnapshotDocument, type SnapshotStats, type TreeEntry } from '../domain/snapshot';
import { applySourceFilter, compileSourceFilter, type SourceFilterRules } from '../domain/source-filter';
import type { Repository } from './repository';

export interface BackupFolderInput {
  /** The folder on this server. */
  root: string;
  /** The name the server shows for this source (e.g. the protection group's data source). */
  sourceName: string;
  /** The source's path rules (default: the file system's); windows matches include/exclude without case. */
  pathStyle?: PathStyle;
  /** Include/exclude glob patterns (domain/source-filter.ts). */
  filter?: SourceFilterRules;
}

export interface BackupFolderDeps {
  repository: Repository;
  files: LocalFileSystem;
  clock: () => Date;
  /**
   * Direct mode's cache: the chunk ids of a file unchanged since the last backup (then it is not read), or
   * undefined (read it); `fileStored` is told every file's chunks.
   */
  unchangedFileChunks?: (entry: LocalEntry) => string[] | undefined;
  fileStored?: (entry: LocalEntry, chunks: readonly string[]) => void;
}

/** Stores chunks in the repository, counting them (and the new ones, their bytes and stored size) in `stats`. */
export function chunkStorer(repository: Repository, stats: SnapshotStats): (data: Uint8Array) => Promise<string> {
  return async (data) => {
    const put = await repository.putChunk(data);
    stats.chunks++;
    if (put.added) {
      stats.newChunks++;
      stats.newChunkBytes += data.length;
      stats.storedBytes += put.storedBytes;
    }
    return put.id;
  };
}

export async function backupFolder(deps: BackupFolderDeps, input: BackupFolderInput): Promise<SnapshotDocument> {
  const { repository, files } = deps;
  const stats: SnapshotStats = { files: 0, dirs: 0, bytes: 0, chunks: 0, newChunks: 0, newChunkBytes: 0, storedBytes: 0 };
  const entries: TreeEntry[] = [];
  const pathStyle = input.pathStyle ?? files.pathStyle;
  const filter = compileSourceFilter(input.filter ?? {}, input.root, pathStyle);
  const skip = (path: string, reason: string) => {
    stats.skipped = (stats.skipped ?? 0) + 1;
    if ((stats.skippedEntries ??= []).length < MAX_LISTED_SKIPPED) stats.skippedEntries.push({ path, reason });
  };
  let excluded = 0;
  const descends = (folder: string) => {
    if (filter.descends(folder)) return true;
    excluded++;
    return false;
  };
  const store = chunkStorer(repository, stats);

  const walked: TreeEntry[] = [];
  /** What the walk said of each file (inode and change time: direct mode's cache asks by them). */
  const walkedFiles = new Map<string, LocalEntry>();
  for await (const entry of files.walk(input.root, { descends, onSkipped: skip })) {
    if (!isSafeRelativePath(entry.path)) continue;
    const owner = entry.uid === undefined || entry.gid === undefined ? {} : { uid: entry.uid, gid: entry.gid };
    walked.push({ path: entry.path, type: entry.type, mode: entry.mode, mtimeMs: entry.mtimeMs, size: entry.size, ...owner, ...(entry.target === undefined ? {} : { target: entry.target }) });
    if (entry.type === 'file') walkedFiles.set(entry.path, entry);
  }
  const kept = applySourceFilter(filter, walked);
  excluded += walked.length - kept.length;
  // Chunks are stored a few at a time (compression, encryption and writes overlap the next reads and chunking);
  // each file's ids are collected in order once its puts end.
  const puts = new PutWindow(CONCURRENT_PUTS);
  const stored: Array<{ local: LocalEntry; index: number; ids: Array<string | Promise<string>> }> = [];
  for (const entry of kept) {
    if (entry.type === 'dir') {
      stats.dirs++;
      entries.push({ ...entry, size: 0 });
    } else if (entry.type === 'symlink') {
      entries.push({ ...entry, size: 0, target: entry.target ?? '' });
    } else {
      const local = walkedFiles.get(entry.path)!;
      const unchanged = deps.unchangedFileChunks?.(local);
      const ids: Array<string | Promise<string>> = [...(unchanged ?? [])];
      let size = unchanged === undefined ? 0 : entry.size;
      stats.chunks += ids.length;
      if (unchanged === undefined) {
        try {
          for await (const chunk of chunkStream(files.read(input.root, entry.path, { sizeHint: entry.size }), repository.chunker)) {
            size += chunk.length;
            ids.push((await puts.start(() => store(chunk))).id);
          }
        } catch (err) {
          // A file that vanished or cannot be read is left out with the reason; its chunks stored so far go at the next prune.
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT' && code !== 'EACCES' && code !== 'EPERM' && code !== 'EIO') throw err;
          skip(entry.path, `it could not be read (${code})`);
          continue;
        }
      }
      stats.files++;
      stats.bytes += size;
      stored.push({ local, index: entries.length, ids });
      entries.push({ ...entry, size, chunks: [] });
    }
  }
  for (const { local, index, ids } of stored) {
    const chunks = await Promise.all(ids);
    deps.fileStored?.(local, chunks);
    entries[index] = { ...entries[index], chunks };
  }
  if (excluded > 0) stats.excluded = excluded;

  const tree: string[] = [];
  for await (const chunk of chunkStream([serializeTree(entries)], repository.chunker)) tree.push(await store(chunk));

  const doc: SnapshotDocument = {
    id: repository.newSnapshotId(),
    time: deps.clock().toISOString(),
    source: { name: input.sourceName, root: input.root, pathStyle },
    tree,
    stats,
  };
  stats.storedBytes += await repository.saveSnapshot(doc);
  return doc;
}

/** Chunk puts in flight at once: enough to keep the thread pool and the disk busy, each holding one chunk (≤ 8 MiB by default). */
const CONCURRENT_PUTS = 4;

/**
 * At most `limit` puts at once: `start` waits for a free place, starts the put and hands back its promise (wrapped,
 * so awaiting `start` does not await the put), already marked handled so a failure never surfaces as an unhandled rejection; the first failure is
 * thrown by the next `start` (and by the awaiting of that put's promise).
 */
class PutWindow {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number) {}

  async start(put: () => Promise<string>): Promise<{ id: Promise<string> }> {
    while (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.failure !== undefined) throw this.failure.error;
    this.running++;
    const promise = put().finally(() => {
      this.running--;
      this.waiting.shift()?.();
    });
    promise.catch((error: unknown) => {
      this.failure ??= { error };
    });
    return { id: promise };
  }
}
