/**
 * Restores a snapshot (whole, or the entries under some paths) into a folder. Every chunk is authenticated and
 * checked against its id before its bytes are written; a file is written under a temporary name and renamed only
 * when complete, so a failed restore leaves no half-written file under a real name. Folder times are set last
 * (writing into a folder changes its mtime).
 */
import { errors } from '../../domain/errors';
import type { LocalFileSystem } from '../../stores/local-file-system';
import { parseTree, type TreeEntry } from '../domain/snapshot';
import type { Repository } from './repository';

export interface RestoreSnapshotInput {
  snapshotId: string;
  /** The folder to restore into (the original root or an alternate location). */
  targetRoot: string;
  /** Only these paths (files or folders, with everything under them); default everything. */
  paths?: readonly string[];
}

export interface RestoreSnapshotResult {
  files: number;
  dirs: number;
  bytes: number;
}

export async function readTree(repository: Repository, snapshotId: string): Promise<TreeEntry[]> {
  const doc = await repository.loadSnapshot(snapshotId);
  const parts: Buffer[] = [];
  for (const id of doc.tree) parts.push(await repository.readChunk(id));
  return parseTree(Buffer.concat(parts), snapshotId);
}

export async function restoreSnapshot(
  deps: { repository: Repository; files: LocalFileSystem },
  input: RestoreSnapshotInput,
): Promise<RestoreSnapshotResult> {
  const { repository, files } = deps;
  const tree = await readTree(repository, input.snapshotId);
  const selected = input.paths === undefined ? tree : tree.filter((e) => input.paths!.some((p) => e.path === p || e.path.startsWith(`${p}/`)));
  if (input.paths !== undefined) {
    const missing = input.paths.filter((p) => !tree.some((e) => e.path === p));
    if (missing.length > 0) throw errors.invalidRequest('paths', `The snapshot has no '${missing[0]}'.`);
  }

  const result: RestoreSnapshotResult = { files: 0, dirs: 0, bytes: 0 };
  await files.makeDirectory(input.targetRoot, '');
  // Parents of selected entries that are not themselves selected (restoring one file deep in a tree).
  for (const parent of parentsOf(selected)) await files.makeDirectory(input.targetRoot, parent);
  for (const entry of selected) {
    if (entry.type === 'dir') {
      await files.makeDirectory(input.targetRoot, entry.path);
      result.dirs++;
    } else if (entry.type === 'symlink') {
      await files.makeSymlink(input.targetRoot, entry.path, entry.target ?? '');
      await files.setAttributes(input.targetRoot, entry.path, entry);
    } else {
      let written = 0;
      await files.writeFile(input.targetRoot, entry.path, (async function* () {
        for (const id of entry.chunks ?? []) {
          const chunk = await repository.readChunk(id);
          written += chunk.length;
          yield chunk;
        }
      })());
      if (written !== entry.size) throw errors.repositoryDataCorrupt('snapshot', input.snapshotId, `'${entry.path}' restored ${written} bytes, the tree says ${entry.size}`);
      await files.setAttributes(input.targetRoot, entry.path, entry);
      result.files++;
      result.bytes += written;
    }
  }
  for (const entry of [...selected].reverse()) if (entry.type === 'dir') await files.setAttributes(input.targetRoot, entry.path, entry);
  return result;
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
