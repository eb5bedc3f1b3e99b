/**
 * The online copy (issue 16): copies local points to a second repository store (the vault's) as they are —
 * envelopes are already encrypted and bound to their names, so nothing is decrypted or re-encrypted and the vault
 * never sees a key. Only chunks the target lacks move; the config goes first (once), each snapshot document last,
 * so a point appears in the vault only when everything it names is there.
 *
 * Version 2: whole packs move — those holding a needed chunk the vault's index does not name — then an index object
 * naming them (from their own headers), then the snapshot document. Incremental as before: a backup's new chunks
 * are in new packs. A pack a crashed copy left unindexed in the vault is written again (same id, same bytes).
 */
import { errors } from '../../domain/errors';
import type { RepositoryStore } from '../../stores/repository-store';
import type { PackContents } from '../domain/pack';
import { chunkIdOfKey, chunkKey, CONFIG_KEY, DATA_PREFIX, packKey, snapshotKey } from '../domain/repository-layout';
import type { Repository } from './repository';
import { readTree } from './restore-snapshot';

export interface CopyResult {
  snapshots: number;
  chunksCopied: number;
  bytesCopied: number;
  chunksSkipped: number;
  /** Version 2: packs copied (chunksCopied then counts every chunk in them). */
  packsCopied?: number;
}

export async function copySnapshotsToVault(local: Repository, vault: RepositoryStore, snapshotIds: readonly string[]): Promise<CopyResult> {
  const config = await local.store.read(CONFIG_KEY);
  if (config === undefined) throw errors.repositoryNotFound(local.store.location);
  const vaultConfig = await vault.read(CONFIG_KEY);
  if (vaultConfig === undefined) await vault.writeIfAbsent(CONFIG_KEY, config);
  else if (!vaultConfig.equals(config)) throw errors.repositoryAlreadyExists(vault.location); // another repository lives there
  if (local.packed) return copyPacks(local, vault, snapshotIds);

  const present = new Set<string>();
  for await (const key of vault.list(DATA_PREFIX)) {
    const id = chunkIdOfKey(key);
    if (id !== undefined) present.add(id);
  }
  const result: CopyResult = { snapshots: 0, chunksCopied: 0, bytesCopied: 0, chunksSkipped: 0 };
  for (const snapshotId of snapshotIds) {
    const doc = await local.loadSnapshot(snapshotId);
    const needed = new Set(doc.tree);
    for (const entry of await readTree(local, snapshotId)) entry.chunks?.forEach((c) => needed.add(c));
    for (const id of needed) {
      if (present.has(id)) {
        result.chunksSkipped++;
        continue;
      }
      const envelope = await local.store.read(chunkKey(id));
      if (envelope === undefined) throw errors.repositoryObjectNotFound(chunkKey(id));
      await vault.writeIfAbsent(chunkKey(id), envelope);
      present.add(id);
      result.chunksCopied++;
      result.bytesCopied += envelope.length;
    }
    const snapshot = await local.store.read(snapshotKey(snapshotId));
    if (snapshot === undefined) throw errors.repositoryObjectNotFound(snapshotKey(snapshotId));
    await vault.writeIfAbsent(snapshotKey(snapshotId), snapshot);
    result.snapshots++;
  }
  return result;
}

async function neededChunks(local: Repository, snapshotId: string): Promise<Set<string>> {
  const doc = await local.loadSnapshot(snapshotId);
  const needed = new Set(doc.tree);
  for (const entry of await readTree(local, snapshotId)) entry.chunks?.forEach((c) => needed.add(c));
  return needed;
}

async function copyPacks(local: Repository, vault: RepositoryStore, snapshotIds: readonly string[]): Promise<CopyResult> {
  const localIndex = await local.blobIndex();
  const target = await local.onStore(vault, []); // its index is read below, not its chunks listed
  const targetIndex = await target.blobIndex();
  const result: CopyResult = { snapshots: 0, chunksCopied: 0, bytesCopied: 0, chunksSkipped: 0, packsCopied: 0 };
  for (const snapshotId of snapshotIds) {
    const packs = new Set<string>();
    for (const id of await neededChunks(local, snapshotId)) {
      const location = localIndex.blobs.get(id);
      if (targetIndex.blobs.has(id) || (location !== undefined && targetIndex.packs.has(location.pack))) {
        result.chunksSkipped++;
        continue;
      }
      if (location === undefined) throw errors.repositoryObjectNotFound(`the index entry of chunk ${id}`);
      packs.add(location.pack);
    }
    const copied: PackContents[] = [];
    for (const packId of packs) {
      const pack = await local.readPack(packId); // authenticated header, id checked: a damaged pack does not move
      await vault.writeIfAbsent(packKey(packId), pack.bytes);
      copied.push({ id: packId, blobs: pack.blobs });
      result.chunksCopied += pack.blobs.length;
      result.bytesCopied += pack.bytes.length;
      result.packsCopied!++;
    }
    if (copied.length > 0) await target.indexPacks(copied);
    const snapshot = await local.store.read(snapshotKey(snapshotId));
    if (snapshot === undefined) throw errors.repositoryObjectNotFound(snapshotKey(snapshotId));
    await vault.writeIfAbsent(snapshotKey(snapshotId), snapshot);
    result.snapshots++;
  }
  return result;
}
