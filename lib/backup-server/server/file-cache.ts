/**
 * The backup server's file cache for its local backups (issue 16, session 8): direct mode's cache
 * (direct/backup-cache.ts, same format and the same "never trusted blindly" rules) kept in the server's state folder
 * and checked against the LOCAL repository: its id and the exact set of its snapshot ids. A file whose size, mtime,
 * inode and ctime are unchanged and whose chunks the repository still has is not read again.
 *
 * Lifecycle in `BackupServer.runDue`: `open` (checked, or started empty with the reason) → after each folder backup
 * `recordSnapshot` (the snapshot joins the set, the source's entries are replaced) → before a prune `invalidate`
 * (a crash mid-prune must not leave a cache that still matches) → after it `resync` (saved again when the set is
 * exactly the old one minus what was forgotten; entries whose chunks were pruned are refused by `hasChunk`).
 */
import type { RepositoryStore } from '../../stores/repository-store';
import { checkBackupCache, fileCacheHooks, saveBackupCache, SERVER_FILE_CACHE_KEY, type BackupCacheContent } from '../direct/backup-cache';
import type { Repository } from '../repository/repository';

export class ServerFileCache {
  private constructor(
    private readonly store: RepositoryStore,
    private readonly repository: Repository,
    private content: BackupCacheContent,
    /** 'valid', or why the cache starts empty. */
    readonly status: string,
  ) {}

  static async open(store: RepositoryStore, repository: Repository): Promise<ServerFileCache> {
    const snapshotIds = await repository.listSnapshotIds();
    const check = await checkBackupCache(store, repository.config.repositoryId, snapshotIds, SERVER_FILE_CACHE_KEY);
    if (check.usable) return new ServerFileCache(store, repository, check.content, 'valid');
    return new ServerFileCache(store, repository, { repositoryId: repository.config.repositoryId, snapshotIds, files: {} }, `started empty: ${check.reason}`);
  }

  /** backupFolder's hooks for one source (its key in the snapshots' `source.name`). */
  hooksFor(source: string): ReturnType<typeof fileCacheHooks> {
    return fileCacheHooks(this.content.files[source], (id) => this.repository.hasChunk(id));
  }

  async recordSnapshot(source: string, snapshotId: string, files: BackupCacheContent['files'][string]): Promise<void> {
    this.content = { ...this.content, snapshotIds: [...this.content.snapshotIds, snapshotId], files: { ...this.content.files, [source]: files } };
    await saveBackupCache(this.store, this.content, SERVER_FILE_CACHE_KEY);
  }

  async invalidate(): Promise<void> {
    await this.store.delete(SERVER_FILE_CACHE_KEY);
  }

  /**
   * After our forget + prune of `forgotten`: saved again only when the repository holds exactly the snapshots the
   * cache knew minus those (anything else — another process's backup or prune — leaves it invalidated, to start
   * empty next time).
   */
  async resync(forgotten: readonly string[]): Promise<boolean> {
    const gone = new Set(forgotten);
    const expected = new Set(this.content.snapshotIds.filter((id) => !gone.has(id)));
    const actual = await this.repository.listSnapshotIds();
    if (actual.length !== expected.size || actual.some((id) => !expected.has(id))) return false;
    this.content = { ...this.content, snapshotIds: actual };
    await saveBackupCache(this.store, this.content, SERVER_FILE_CACHE_KEY);
    return true;
  }
}
