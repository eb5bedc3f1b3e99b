/**
 * Restores a snapshot (whole, or the entries under some paths) into a folder. Every chunk is authenticated and
 * checked against its id before its bytes are written; a file is written under a temporary name and renamed only
 * when complete, so a failed restore leaves no half-written file under a real name. Folder times are set last
 * (writing into a folder changes its mtime).
 */
import { errors } from '../../domain/errors';
import type { LocalFileSystem } from '../../stores/local-file-system';
import type { ImageRestoreFormat } from '../domain/disk-image';
import { planRestoreNames, type InvalidNamePolicy, type PathStyle, type RestoreRename } from '../domain/path-rules';
import { parseTree, type TreeEntry } from '../domain/snapshot';
import { imageRestoreTarget, restoreImageEntry } from './disk-image-volume';
import { readAhead } from './read-ahead';
import type { ChunkReader, Repository } from './repository';

export interface RestoreSnapshotInput {
  snapshotId: string;
  /** The folder to restore into (the original root or an alternate location). */
  targetRoot: string;
  /** Only these paths (files or folders, with everything under them); default everything. */
  paths?: readonly string[];
  /** The target's path rules (default: the file system's); e.g. `windows` for a Windows share mounted on Linux. */
  targetStyle?: PathStyle;
  /** A name the target cannot hold: refuse the whole restore (default) or rename by the documented rules. */
  onInvalidName?: InvalidNamePolicy;
  /** Disk images: restore as a fixed VHD (`vhd`, default for VHD sources) or `raw`. */
  imageFormat?: ImageRestoreFormat;
}

export interface RestoreSnapshotResult {
  files: number;
  dirs: number;
  bytes: number;
  /** Names changed to fit the target (onInvalidName `rename`), each with the reason. */
  renamed?: RestoreRename[];
}

export async function readTree(repository: Repository, snapshotId: string, chunks?: ChunkReader): Promise<TreeEntry[]> {
  const doc = await repository.loadSnapshot(snapshotId);
  const parts: Buffer[] = [];
  for (const id of doc.tree) parts.push(chunks === undefined ? await repository.readChunk(id) : await chunks.read(id));
  return parseTree(Buffer.concat(parts), snapshotId);
}

export async function restoreSnapshot(
  deps: { repository: Repository; files: LocalFileSystem },
  input: RestoreSnapshotInput,
): Promise<RestoreSnapshotResult> {
  // One chunk reader for the whole restore: a pack is opened once for its chunks, not once per chunk.
  const chunks = deps.repository.openChunkReader();
  try {
    return await restoreWith({ ...deps, chunks }, input);
  } finally {
    await chunks.close();
  }
}

async function restoreWith(
  deps: { repository: Repository; files: LocalFileSystem; chunks: ChunkReader },
  input: RestoreSnapshotInput,
): Promise<RestoreSnapshotResult> {
  const { repository, files, chunks } = deps;
  const tree = await readTree(repository, input.snapshotId, chunks);
  const selected = input.paths === undefined ? tree : tree.filter((e) => input.paths!.some((p) => e.path === p || e.path.startsWith(`${p}/`)));
  if (input.paths !== undefined) {
    const missing = input.paths.filter((p) => !tree.some((e) => e.path === p));
    if (missing.length > 0) throw errors.invalidRequest('paths', `The snapshot has no '${missing[0]}'.`);
  }

  const result: RestoreSnapshotResult = { files: 0, dirs: 0, bytes: 0 };
  // Every name is checked against the target's rules before anything is written: refused whole, or renamed.
  const parents = parentsOf(selected);
  const imageTargets = new Map(selected.filter((e) => e.type === 'image').map((e) => [e.path, imageRestoreTarget(e, input.imageFormat)]));
  const plan = planRestoreNames(
    [...parents, ...selected.map((e) => imageTargets.get(e.path)?.path ?? e.path)].sort(byWalkOrder),
    input.targetRoot,
    input.targetStyle ?? files.pathStyle,
    input.onInvalidName,
  );
  if (plan.renames.length > 0) result.renamed = plan.renames;
  const at = (path: string) => plan.targetOf.get(imageTargets.get(path)?.path ?? path) ?? path;
  await files.makeDirectory(input.targetRoot, '');
  // Parents of selected entries that are not themselves selected (restoring one file deep in a tree).
  for (const parent of parents) await files.makeDirectory(input.targetRoot, at(parent));
  // Folders first, in walk order; then files, links and images a few at a time (each file's reads, writes and fsync
  // overlap the others': session 8's profile of a restore showed the main thread idle ~80 % of the time).
  for (const entry of selected) {
    if (entry.type !== 'dir') continue;
    await files.makeDirectory(input.targetRoot, at(entry.path));
    result.dirs++;
  }
  await eachLimited(selected.filter((e) => e.type !== 'dir'), RESTORE_CONCURRENCY, async (entry) => {
    if (entry.type === 'symlink') {
      await files.makeSymlink(input.targetRoot, at(entry.path), entry.target ?? '');
      await files.setAttributes(input.targetRoot, at(entry.path), attributesOf(entry));
    } else if (entry.type === 'image') {
      const target = imageTargets.get(entry.path)!;
      result.bytes += await restoreImageEntry({ repository, files }, entry, input.targetRoot, { ...target, path: at(entry.path) }, input.snapshotId);
      await files.setAttributes(input.targetRoot, at(entry.path), attributesOf(entry));
      result.files++;
    } else {
      let written = 0;
      await files.writeFile(input.targetRoot, at(entry.path), (async function* () {
        for await (const chunk of readAhead(entry.chunks ?? [], (id) => chunks.read(id), CHUNKS_READ_AHEAD)) {
          written += chunk.length;
          yield chunk;
        }
      })());
      if (written !== entry.size) throw errors.repositoryDataCorrupt('snapshot', input.snapshotId, `'${entry.path}' restored ${written} bytes, the tree says ${entry.size}`);
      await files.setAttributes(input.targetRoot, at(entry.path), attributesOf(entry));
      result.files++;
      result.bytes += written;
    }
  });
  for (const entry of [...selected].reverse()) if (entry.type === 'dir') await files.setAttributes(input.targetRoot, at(entry.path), attributesOf(entry));
  return result;
}

/**
 * Files restored at once: enough to overlap I/O waits, few enough to bound memory (each holds up to
 * CHUNKS_READ_AHEAD chunks, ≤ 8 MiB each by default).
 */
const RESTORE_CONCURRENCY = 4;
/** A file's chunks read at once: the next is read and opened (decrypted, decompressed) while the current is written. */
const CHUNKS_READ_AHEAD = 2;

/** Runs `work` on every item, at most `limit` at once; the first failure is thrown once all started ones have ended. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && failure === undefined) {
      const item = items[next++];
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}

/** What a restore sets on a written entry (an image is a file on the target). */
function attributesOf(entry: TreeEntry) {
  return { mode: entry.mode, mtimeMs: entry.mtimeMs, type: entry.type === 'image' ? 'file' as const : entry.type, uid: entry.uid, gid: entry.gid };
}

/** A folder before what it holds: compare name by name ('a/b' before 'a b', which plain string order breaks). */
function byWalkOrder(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return x.length - y.length;
}

function parentsOf(entries: readonly TreeEntry[]): string[] {
  const have = new Set(entries.filter((e) => e.type === 'dir').map((e) => e.path));
  const parents = new Set<string>();
  for (const e of entries) {
    const segments = e.path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join('/');
      if (!have.has(parent)) parents.add(parent);
    }
  }
  return [...parents].sort();
}
