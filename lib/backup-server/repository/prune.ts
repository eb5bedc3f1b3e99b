/**
 * Removing snapshots from a repository: `forgetSnapshots` deletes snapshot documents, `pruneRepository` then
 * deletes every chunk no remaining snapshot references. Documents go first, chunks last, so a crash in between
 * leaves only unreferenced chunks, which the next prune removes (never a snapshot pointing at a missing chunk).
 * Prune must not run while a backup of the same repository runs (its new chunks are not referenced yet): callers
 * hold an exclusive repository lock (repository-lock.ts) for forget + prune, backups and copies a shared one.
 *
 * Version 2 (packs): a pack with no referenced blob is deleted; a pack whose referenced bytes are under half of its
 * blobs' bytes is repacked (its live blobs copied as they are into new packs); the rest are kept whole (restic's
 * `--max-unused` trade-off). Order: new packs durable → one new index naming every pack kept or new → old index
 * objects deleted → old packs deleted; packs no index names (a backup that crashed before its commit) go too.
 */
import { errors } from '../../domain/errors';
import { chunkKey, PACKS_PREFIX, packIdOfKey, packKey, snapshotKey } from '../domain/repository-layout';
import { readObjectRange } from '../../stores/repository-store';
import type { PackedBlob } from '../domain/pack';
import type { Repository } from './repository';
import { readTree } from './restore-snapshot';

/** A pack whose referenced bytes are below this share of its blobs' bytes is repacked. */
export const REPACK_BELOW_LIVE_SHARE = 0.5;

export async function forgetSnapshots(repository: Repository, snapshotIds: readonly string[]): Promise<void> {
  for (const id of snapshotIds) await repository.store.delete(snapshotKey(id));
}

export interface PruneResult {
  chunksDeleted: number;
  chunksKept: number;
  /** Version 2 only. */
  packsDeleted?: number;
  packsRepacked?: number;
  packsWritten?: number;
}

export async function referencedChunks(repository: Repository): Promise<Set<string>> {
  const referenced = new Set<string>();
  for (const id of await repository.listSnapshotIds()) {
    const doc = await repository.loadSnapshot(id);
    doc.tree.forEach((c) => referenced.add(c));
    for (const entry of await readTree(repository, id)) entry.chunks?.forEach((c) => referenced.add(c));
  }
  return referenced;
}

export async function pruneRepository(repository: Repository): Promise<PruneResult> {
  const referenced = await referencedChunks(repository);
  if (repository.packed) return prunePacks(repository, referenced);
  let chunksDeleted = 0;
  for (const id of await repository.listChunkIdsInStore()) {
    if (referenced.has(id)) continue;
    await repository.store.delete(chunkKey(id));
    repository.forgetChunk(id);
    chunksDeleted++;
  }
  return { chunksDeleted, chunksKept: referenced.size };
}

/** Version 2's prune against a set of referenced chunks (exported for its tests). */
export async function prunePacks(repository: Repository, referenced: Set<string>): Promise<PruneResult> {
  const index = await repository.blobIndex();
  const keep: Array<{ id: string; blobs: PackedBlob[] }> = [];
  const repack: Array<{ id: string; live: PackedBlob[] }> = [];
  const drop: string[] = [];
  let chunksDeleted = 0;
  for (const [packId, blobs] of index.packs) {
    // A blob counts where the index finds it; a second copy elsewhere is dead.
    const live = blobs.filter((b) => referenced.has(b.id) && index.blobs.get(b.id)?.pack === packId);
    const liveBytes = live.reduce((sum, b) => sum + b.length, 0);
    const allBytes = blobs.reduce((sum, b) => sum + b.length, 0);
    if (live.length === 0) drop.push(packId);
    else if (live.length < blobs.length && liveBytes < allBytes * REPACK_BELOW_LIVE_SHARE) repack.push({ id: packId, live });
    else {
      keep.push({ id: packId, blobs }); // dead blobs of a mostly live pack stay stored (and may be deduped against)
      continue;
    }
    chunksDeleted += blobs.length - live.length;
  }
  const unindexed: string[] = [];
  for await (const key of repository.store.list(PACKS_PREFIX)) {
    const id = packIdOfKey(key);
    if (id !== undefined && !index.packs.has(id)) unindexed.push(id);
  }
  if (drop.length === 0 && repack.length === 0 && unindexed.length === 0) {
    return { chunksDeleted: 0, chunksKept: referenced.size, packsDeleted: 0, packsRepacked: 0, packsWritten: 0 };
  }
  const written = await repository.writePacks(liveEnvelopes(repository, repack));
  await repository.replaceIndex([...keep, ...written]);
  for (const id of [...drop, ...repack.map((p) => p.id), ...unindexed]) await repository.store.delete(packKey(id));
  return {
    chunksDeleted,
    chunksKept: referenced.size,
    packsDeleted: drop.length + repack.length + unindexed.length,
    packsRepacked: repack.length,
    packsWritten: written.length,
  };
}

async function* liveEnvelopes(repository: Repository, packs: ReadonlyArray<{ id: string; live: PackedBlob[] }>): AsyncIterable<{ id: string; envelope: Buffer }> {
  for (const pack of packs) {
    for (const blob of pack.live) {
      const envelope = await readObjectRange(repository.store, packKey(pack.id), blob.offset, blob.length);
      if (envelope === undefined) throw errors.repositoryObjectNotFound(packKey(pack.id));
      // Authenticated before it moves: a damaged blob must fail the prune, not be copied into a fresh pack.
      await repository.openChunk(blob.id, envelope);
      yield { id: blob.id, envelope };
    }
  }
}
