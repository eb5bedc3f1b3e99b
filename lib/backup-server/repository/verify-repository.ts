/**
 * Verifies a repository: every snapshot opens and its tree parses, every chunk a tree names exists, and (with
 * `readData`) every stored chunk authenticates and matches its id. Returns the problems with what they concern
 * rather than stopping at the first, so one damaged chunk does not hide another.
 */
import { describeFailure } from '../../domain/errors';
import { chunkKey } from '../domain/repository-layout';
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
