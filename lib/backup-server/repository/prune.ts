/**
 * Removing snapshots from a repository: `forgetSnapshots` deletes snapshot documents, `pruneRepository` then
 * deletes every chunk no remaining snapshot references. Documents go first, chunks last, so a crash in between
 * leaves only unreferenced chunks, which the next prune removes (never a snapshot pointing at a missing chunk).
 * Prune must not run while a backup of the same repository runs (its new chunks are not referenced yet): callers
 * hold an exclusive repository lock (repository-lock.ts) for forget + prune, backups and copies a shared one.
 */
import { chunkKey, snapshotKey } from '../domain/repository-layout';
import type { Repository } from './repository';
import { readTree } from './restore-snapshot';

export async function forgetSnapshots(repository: Repository, snapshotIds: readonly string[]): Promise<void> {
  for (const id of snapshotIds) await repository.store.delete(snapshotKey(id));
}

export interface PruneResult {
  chunksDeleted: number;
  chunksKept: number;
}

export async function pruneRepository(repository: Repository): Promise<PruneResult> {
  const referenced = new Set<string>();
  for (const id of await repository.listSnapshotIds()) {
    const doc = await repository.loadSnapshot(id);
    doc.tree.forEach((c) => referenced.add(c));
    for (const entry of await readTree(repository, id)) entry.chunks?.forEach((c) => referenced.add(c));
  }
  let chunksDeleted = 0;
  for (const id of await repository.listChunkIdsInStore()) {
    if (referenced.has(id)) continue;
    await repository.store.delete(chunkKey(id));
    repository.forgetChunk(id);
    chunksDeleted++;
  }
  return { chunksDeleted, chunksKept: referenced.size };
}
