/**
 * Verifies a repository: every snapshot opens and its tree parses, every chunk a tree names exists, and (with
 * `readData`) every stored chunk authenticates and matches its id. Returns the problems with what they concern
 * rather than stopping at the first, so one damaged chunk does not hide another.
 *
 * Version 2: "exists" means the index names it and its pack is stored; with `readData` each pack is read whole, its
 * id (SHA-256) and header checked, every index entry cross-checked against the header, and every blob opened.
 * `rebuildIndex` writes the index anew from the pack headers (a lost or damaged index).
 */
import { describeFailure, errors } from '../../domain/errors';
import { chunkKey, PACKS_PREFIX, packIdOfKey, packKey } from '../domain/repository-layout';
import type { PackContents } from '../domain/pack';
import type { Repository } from './repository';
import { readTree } from './restore-snapshot';

export interface VerifyProblem {
  object: string;
  code: string;
  message: string;
}

export interface VerifyReport {
  snapshots: number;
  chunksReferenced: number;
  chunksRead: number;
  problems: VerifyProblem[];
  /** Version 2: packs the index names. */
  packs?: number;
}

export async function verifyRepository(repository: Repository, options: { readData?: boolean } = {}): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  const note = (object: string, err: unknown) => {
    const failure = describeFailure(err);
    problems.push({ object, code: failure.code, message: failure.message });
  };
  const referenced = new Set<string>();
  const snapshotIds = await repository.listSnapshotIds();
  for (const id of snapshotIds) {
    try {
      const doc = await repository.loadSnapshot(id);
      doc.tree.forEach((c) => referenced.add(c));
      for (const entry of await readTree(repository, id)) entry.chunks?.forEach((c) => referenced.add(c));
    } catch (err) {
      note(`snapshots/${id}`, err);
    }
  }
  if (repository.packed) {
    const checked = await verifyPacks(repository, referenced, options.readData !== false, note);
    return { snapshots: snapshotIds.length, chunksReferenced: referenced.size, chunksRead: checked.chunksRead, problems, packs: checked.packs };
  }
  const stored = new Set(await repository.listChunkIdsInStore());
  for (const id of referenced) {
    if (!stored.has(id)) problems.push({ object: chunkKey(id), code: 'KluisRepositoryObjectNotFound', message: `The repository object '${chunkKey(id)}' is missing.` });
  }
  let chunksRead = 0;
  if (options.readData !== false) {
    for (const id of stored) {
      try {
        await repository.readChunk(id);
        chunksRead++;
      } catch (err) {
        note(chunkKey(id), err);
      }
    }
  }
  return { snapshots: snapshotIds.length, chunksReferenced: referenced.size, chunksRead, problems };
}

async function verifyPacks(repository: Repository, referenced: Set<string>, readData: boolean, note: (object: string, err: unknown) => void): Promise<{ chunksRead: number; packs: number }> {
  const index = await repository.blobIndex();
  const stored = new Set<string>();
  for await (const key of repository.store.list(PACKS_PREFIX)) {
    const id = packIdOfKey(key);
    if (id !== undefined) stored.add(id);
  }
  for (const id of referenced) {
    if (!index.blobs.has(id)) note(`index: chunk ${id}`, errors.repositoryObjectNotFound(`the index entry of chunk ${id}`));
  }
  for (const id of index.packs.keys()) {
    if (!stored.has(id)) note(packKey(id), errors.repositoryObjectNotFound(packKey(id)));
  }
  let chunksRead = 0;
  if (!readData) return { chunksRead, packs: index.packs.size };
  for (const [packId, indexed] of index.packs) {
    if (!stored.has(packId)) continue;
    let pack;
    try {
      pack = await repository.readPack(packId);
    } catch (err) {
      note(packKey(packId), err);
      continue;
    }
    const inHeader = new Map(pack.blobs.map((b) => [b.id, b]));
    for (const entry of indexed) {
      const found = inHeader.get(entry.id);
      if (found === undefined || found.offset !== entry.offset || found.length !== entry.length) {
        note(packKey(packId), errors.repositoryDataCorrupt('pack', packId, `its header does not list chunk ${entry.id} where the index says`));
      }
    }
    for (const blob of pack.blobs) {
      try {
        await repository.openChunk(blob.id, pack.bytes.subarray(blob.offset, blob.offset + blob.length));
        chunksRead++;
      } catch (err) {
        note(`${packKey(packId)}: chunk ${blob.id}`, err);
      }
    }
  }
  return { chunksRead, packs: index.packs.size };
}

/**
 * Writes the index anew from the headers of every pack stored (a lost or damaged index object); packs whose header
 * does not open are left out and reported. Callers hold the exclusive lock, as for a prune.
 */
export async function rebuildIndex(repository: Repository): Promise<{ packs: number; chunks: number; problems: VerifyProblem[] }> {
  const problems: VerifyProblem[] = [];
  const packs: PackContents[] = [];
  for await (const key of repository.store.list(PACKS_PREFIX)) {
    const id = packIdOfKey(key);
    if (id === undefined) continue;
    try {
      packs.push({ id, blobs: (await repository.readPack(id)).blobs });
    } catch (err) {
      const failure = describeFailure(err);
      problems.push({ object: key, code: failure.code, message: failure.message });
    }
  }
  await repository.replaceIndex(packs);
  return { packs: packs.length, chunks: new Set(packs.flatMap((p) => p.blobs.map((b) => b.id))).size, problems };
}
