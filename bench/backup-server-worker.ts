/**
 * One Kluis repository operation in its own process, so its peak RSS is its own:
 * `node dist/bench/backup-server-worker.js '<json>'`. Started by bench/support/kluis-repository-runs.ts; prints one
 * `RESULT {json}` line. It does what `kluis-server` does with the library: a FileRepositoryStore on the folder,
 * the default KDF (scrypt 2^17), chunker (FastCDC 512 KiB/1 MiB/8 MiB) and compression (brotli q3);
 * - init: createRepository;
 * - backup: openRepository (the passphrase unlock, timed apart as openMs), backupFolder of the source folder with
 *   the server's file cache (server/file-cache.ts, kept in `<repoDir>.state/` as the server keeps it in its state
 *   folder), so an incremental skips unchanged files as `kluis-server run` does;
 * - restore: openRepository, restoreSnapshot of one snapshot into an empty folder (every chunk authenticated and
 *   checked against its id: the restore's verification).
 */
import { performance } from 'node:perf_hooks';
import { backupFolder } from '../lib/backup-server/repository/backup-folder';
import { createRepository, openRepository } from '../lib/backup-server/repository/repository';
import { restoreSnapshot } from '../lib/backup-server/repository/restore-snapshot';
import type { SnapshotStats } from '../lib/backup-server/domain/snapshot';
import { NodeLocalFileSystem } from '../lib/stores/file/local-file-system';
import { FileRepositoryStore } from '../lib/stores/file/repository-store';
import { ServerFileCache } from '../lib/backup-server/server/file-cache';
import { peakRssOfThisProcess } from './support/process-memory';
import { TimingRepositoryStore, type StoreTimings } from './support/timing-repository-store';

export type KluisTask =
  | { op: 'init'; repoDir: string; passphrase: string }
  | { op: 'backup'; repoDir: string; passphrase: string; source: string }
  | { op: 'restore'; repoDir: string; passphrase: string; snapshotId: string; target: string };

export interface KluisWorkerResult {
  op: KluisTask['op'];
  /** The whole operation inside the process (open included); the parent also times the process. */
  ms: number;
  /** The passphrase unlock (scrypt) and the index read (version 2) or chunk listing (version 1) of openRepository / createRepository. */
  openMs: number;
  /** ru_maxrss of this process (the VmHWM it reached), bytes. */
  peakRss: number;
  snapshotId?: string;
  stats?: SnapshotStats;
  restored?: { files: number; dirs: number; bytes: number };
  /** Chunks the repository knew when it was opened. */
  chunksAtOpen: number;
  /** Time inside the store's calls (file reads, writes with their fsync and rename/link, the data/ listing). */
  store: StoreTimings;
  /** User + system CPU seconds of this process. */
  cpuSeconds: number;
  /** Backups: the server's file cache ('valid' or why it started empty) and how many files it spared reading. */
  fileCache?: { status: string; filesRead: number; filesUnchanged: number };
}

async function run(task: KluisTask): Promise<KluisWorkerResult> {
  const start = performance.now();
  const store = new TimingRepositoryStore(new FileRepositoryStore(task.repoDir));
  const clock = () => new Date();
  const repository = task.op === 'init' ? await createRepository(store, task.passphrase, { clock }) : await openRepository(store, task.passphrase);
  const openMs = performance.now() - start;
  const base = { op: task.op, openMs, chunksAtOpen: repository.chunkCount, store: store.timings };
  const files = new NodeLocalFileSystem();
  if (task.op === 'backup') {
    const cache = await ServerFileCache.open(new FileRepositoryStore(`${task.repoDir}.state`), repository);
    const hooks = cache.hooksFor('bench');
    const doc = await backupFolder({ repository, files, clock, unchangedFileChunks: hooks.unchangedFileChunks, fileStored: hooks.fileStored }, { root: task.source, sourceName: 'bench' });
    await cache.recordSnapshot('bench', doc.id, hooks.files);
    const fileCache = { status: cache.status, ...hooks.counts };
    return { ...base, ms: performance.now() - start, peakRss: peakRssOfThisProcess(), cpuSeconds: cpuSeconds(), snapshotId: doc.id, stats: doc.stats, fileCache };
  }
  if (task.op === 'restore') {
    const restored = await restoreSnapshot({ repository, files }, { snapshotId: task.snapshotId, targetRoot: task.target });
    return { ...base, ms: performance.now() - start, peakRss: peakRssOfThisProcess(), cpuSeconds: cpuSeconds(), restored };
  }
  return { ...base, ms: performance.now() - start, peakRss: peakRssOfThisProcess(), cpuSeconds: cpuSeconds() };
}

function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

run(JSON.parse(process.argv[2]) as KluisTask).then(
  (result) => process.stdout.write(`RESULT ${JSON.stringify(result)}\n`),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
