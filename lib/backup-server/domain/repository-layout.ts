/**
 * The only place the backup server's repository object names are built (as vault-layout.ts is for the vault).
 *
 * A repository (local folder, later also the vault's copy) holds:
 *   config                    the repository config: format, KDF parameters + salt, the wrapped master key,
 *                             chunker and compression parameters (no plaintext secret; see repository-config.ts)
 *   data/<id[0..2]>/<id>      version 1: one encrypted chunk per content-defined chunk; <id> = keyed hash of its plaintext
 *   packs/<id[0..2]>/<id>     version 2: chunk envelopes packed together (~8 MiB) + an encrypted header; <id> = SHA-256
 *                             of the pack's bytes (domain/pack.ts)
 *   index/<id>                version 2: encrypted blob → pack, offset, length entries, one per committed batch
 *   snapshots/<id>            one encrypted snapshot document per backup (points to its encrypted file tree)
 *   locks/<id>                one lock per running backup, copy, restore or prune (repository-lock.ts; no secret)
 * Names carry no plaintext: chunk ids are HMAC-SHA-256 under a key derived from the master key, snapshot ids are random.
 */
import { errors } from '../../domain/errors';

export const CONFIG_KEY = 'config';
export const DATA_PREFIX = 'data/';
export const SNAPSHOTS_PREFIX = 'snapshots/';
export const LOCKS_PREFIX = 'locks/';
export const PACKS_PREFIX = 'packs/';
export const INDEX_PREFIX = 'index/';

const CHUNK_ID = /^[0-9a-f]{64}$/;
const SNAPSHOT_ID = /^[0-9a-f]{32}$/;
const LOCK_ID = /^[0-9a-f]{32}$/;

export function isChunkId(id: string): boolean {
  return CHUNK_ID.test(id);
}

export function isSnapshotId(id: string): boolean {
  return SNAPSHOT_ID.test(id);
}

export function chunkKey(id: string): string {
  if (!isChunkId(id)) throw errors.invalidRequest('chunkId', `'${id}' is not a chunk id (64 lowercase hex digits).`);
  return `${DATA_PREFIX}${id.slice(0, 2)}/${id}`;
}

export function snapshotKey(id: string): string {
  if (!isSnapshotId(id)) throw errors.invalidRequest('snapshotId', `'${id}' is not a snapshot id (32 lowercase hex digits).`);
  return `${SNAPSHOTS_PREFIX}${id}`;
}

/** The chunk id in a data key, or undefined when the key is not a chunk (a leftover, a foreign file). */
export function chunkIdOfKey(key: string): string | undefined {
  if (!key.startsWith(DATA_PREFIX)) return undefined;
  const id = key.slice(key.lastIndexOf('/') + 1);
  return isChunkId(id) && key === chunkKey(id) ? id : undefined;
}

export function snapshotIdOfKey(key: string): string | undefined {
  if (!key.startsWith(SNAPSHOTS_PREFIX)) return undefined;
  const id = key.slice(SNAPSHOTS_PREFIX.length);
  return isSnapshotId(id) ? id : undefined;
}

/** A pack's key: packs/<id[0..2]>/<id>, id = SHA-256 of the pack's bytes in hex. */
export function packKey(id: string): string {
  if (!CHUNK_ID.test(id)) throw errors.invalidRequest('packId', `'${id}' is not a pack id (64 lowercase hex digits).`);
  return `${PACKS_PREFIX}${id.slice(0, 2)}/${id}`;
}

export function packIdOfKey(key: string): string | undefined {
  if (!key.startsWith(PACKS_PREFIX)) return undefined;
  const id = key.slice(key.lastIndexOf('/') + 1);
  return CHUNK_ID.test(id) && key === packKey(id) ? id : undefined;
}

export function isIndexId(id: string): boolean {
  return SNAPSHOT_ID.test(id);
}

export function indexKey(id: string): string {
  if (!isIndexId(id)) throw errors.invalidRequest('indexId', `'${id}' is not an index id (32 lowercase hex digits).`);
  return `${INDEX_PREFIX}${id}`;
}

export function indexIdOfKey(key: string): string | undefined {
  if (!key.startsWith(INDEX_PREFIX)) return undefined;
  const id = key.slice(INDEX_PREFIX.length);
  return isIndexId(id) ? id : undefined;
}

export function lockKey(id: string): string {
  if (!LOCK_ID.test(id)) throw errors.invalidRequest('lockId', `'${id}' is not a lock id (32 lowercase hex digits).`);
  return `${LOCKS_PREFIX}${id}`;
}

export function lockIdOfKey(key: string): string | undefined {
  if (!key.startsWith(LOCKS_PREFIX)) return undefined;
  const id = key.slice(LOCKS_PREFIX.length);
  return LOCK_ID.test(id) ? id : undefined;
}

/** Store keys are relative, '/'-separated, without '.' or '..' segments (a store maps them under its root). */
export function isValidStoreKey(key: string): boolean {
  if (key.length === 0 || key.length > 512 || key.startsWith('/') || key.endsWith('/')) return false;
  return key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..' && /^[A-Za-z0-9._-]+$/.test(segment));
}
