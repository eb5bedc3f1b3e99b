/**
 * Backs up a folder tree into a repository: walk, chunk every file (FastCDC), store the chunks the repository
 * lacks (compressed, encrypted), then store the tree the same way and the snapshot document last, so a snapshot
 * is visible only when everything it names is stored.
 */
import type { LocalEntry, LocalFileSystem } from '../../stores/local-file-system';
import { chunkStream } from '../domain/fastcdc';
import { isSafeRelativePath, serializeTree, type SnapshotDocument, type SnapshotStats, type TreeEntry } from '../domain/snapshot';
import type { Repository } from './repository';

export interface BackupFolderInput {
  /** The folder on this server. */
  root: string;
  /** The name the server shows for this source (e.g. the protection group's data source). */
  sourceName: string;
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

export async function backupFolder(deps: BackupFolderDeps, input: BackupFolderInput): Promise<SnapshotDocument> {
  const { repository, files } = deps;
  const stats: SnapshotStats = { files: 0, dirs: 0, bytes: 0, chunks: 0, newChunks: 0, newChunkBytes: 0, storedBytes: 0 };
  const entries: TreeEntry[] = [];
  const store = async (data: Uint8Array): Promise<string> => {
    const put = await repository.putChunk(data);
    stats.chunks++;
    if (put.added) {
      stats.newChunks++;
      stats.newChunkBytes += data.length;
      stats.storedBytes += put.storedBytes;
    }
    return put.id;
  };

  for await (const entry of files.walk(input.root)) {
    if (!isSafeRelativePath(entry.path)) continue;
    const base = { path: entry.path, type: entry.type, mode: entry.mode, mtimeMs: entry.mtimeMs };
    if (entry.type === 'dir') {
      stats.dirs++;
      entries.push({ ...base, size: 0 });
    } else if (entry.type === 'symlink') {
      entries.push({ ...base, size: 0, target: entry.target ?? '' });
    } else {
      const unchanged = deps.unchangedFileChunks?.(entry);
      const chunks: string[] = [...(unchanged ?? [])];
      let size = unchanged === undefined ? 0 : entry.size;
      stats.chunks += chunks.length;
      if (unchanged === undefined) {
        for await (const chunk of chunkStream(files.read(input.root, entry.path), repository.chunker)) {
          size += chunk.length;
          chunks.push(await store(chunk));
        }
      }
      deps.fileStored?.(entry, chunks);
      stats.files++;
      stats.bytes += size;
      entries.push({ ...base, size, chunks });
    }
  }

  const tree: string[] = [];
  for await (const chunk of chunkStream([serializeTree(entries)], repository.chunker)) tree.push(await store(chunk));

  const doc: SnapshotDocument = {
    id: repository.newSnapshotId(),
    time: deps.clock().toISOString(),
    source: { name: input.sourceName, root: input.root },
    tree,
    stats,
  };
  stats.storedBytes += await repository.saveSnapshot(doc);
  return doc;
}
