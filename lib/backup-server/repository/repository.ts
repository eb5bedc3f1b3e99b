/**
 * A backup server repository, unlocked: chunk and snapshot objects in a RepositoryStore, sealed with keys derived
 * from the master secret (see domain/repository-crypto.ts). `createRepository` makes one; `openRepository` unlocks
 * one with the passphrase and refuses a wrong passphrase before anything is read beyond the config or written.
 *
 * Version 1 stores one object per chunk (`data/`). Version 2 (session 9, new repositories) packs chunk envelopes
 * into ~8 MiB packs (domain/pack.ts) and records where each is in index objects, written when a batch commits —
 * packs first, then the index, then (saveSnapshot) the snapshot document; unlock reads the index, not a listing.
 */
import { createHash, randomBytes as nodeRandomBytes, type Hash } from 'node:crypto';
import { errors } from '../../domain/errors';
import { openRangeReader, readObjectRange, type RangeReader, type RepositoryStore, type RepositoryWriteBatch, type StreamedWrite } from '../../stores/repository-store';
import { createChunker, type Chunker, type ChunkerParams } from '../domain/fastcdc';
import {
  chunkIdMatches,
  chunkIdOf,
  decrypt,
  derivePassphraseKey,
  deriveRepositoryKeys,
  encrypt,
  MASTER_SECRET_BYTES,
  openObject,
  sealObject,
  type RandomBytes,
  type RepositoryKeys,
} from '../domain/repository-crypto';
import {
  DEFAULT_CHUNKER,
  DEFAULT_COMPRESSION,
  DEFAULT_KDF,
  masterKeyAssociatedData,
  parseRepositoryConfig,
  REPOSITORY_FORMAT,
  REPOSITORY_VERSION,
  serializeRepositoryConfig,
  type CompressionParams,
  type KdfParams,
  type RepositoryConfig,
  type RepositoryVersion,
} from '../domain/repository-config';
import {
  chunkIdOfKey, chunkKey, CONFIG_KEY, DATA_PREFIX, INDEX_PREFIX, indexIdOfKey, indexKey, packKey, snapshotIdOfKey, snapshotKey, SNAPSHOTS_PREFIX,
} from '../domain/repository-layout';
import { assemblePack, PACK_TARGET_BYTES, packIdOf, packTail, parseIndex, parsePackHeader, serializeIndex, serializePackHeader, splitPack, type PackContents, type PackedBlob } from '../domain/pack';
import { BlobIndex } from './blob-index';
import { parseSnapshot, serializeSnapshot, type SnapshotDocument } from '../domain/snapshot';
import { unwrapForMachine, wrapForMachine, type MachineWrappedKey } from '../domain/unattended-unlock';

export const MIN_PASSPHRASE_LENGTH = 16;

export interface CreateRepositoryOptions {
  clock: () => Date;
  random?: RandomBytes;
  /** Defaults to scrypt N=2^17, r=8, p=1; only the cost fields may be overridden (tests lower logN). */
  kdf?: Partial<Pick<KdfParams, 'logN' | 'r' | 'p'>>;
  chunker?: ChunkerParams;
  compression?: CompressionParams;
  /** Defaults to REPOSITORY_VERSION (2: pack files); 1 makes a repository of one object per chunk (tests of that format). */
  version?: RepositoryVersion;
}

/** Reads chunks like `Repository.readChunk`, keeping what it opened for the next read until closed. */
export interface ChunkReader {
  read(id: string): Promise<Buffer>;
  close(): Promise<void>;
}

/** Index objects read at unlock at once. */
const INDEX_READS_IN_FLIGHT = 8;

/**
 * The pack being filled. Written piece by piece when the store's batch can (the file store: each envelope goes to
 * the pack's temporary file as it comes, hashed in order, so neither the envelopes nor an assembled copy stay in
 * memory); otherwise its envelopes are held and the pack assembled at its close.
 */
interface OpenPack {
  blobs: PackedBlob[];
  bytes: number;
  envelopes: Buffer[];
  streamed?: { write: StreamedWrite; hash: Hash; pending: Array<Promise<void>> };
}

/** A backup's writes until its commit: version 1 only `writes`; version 2 also the open pack and the packs written. */
interface WriteBatch {
  writes: RepositoryWriteBatch | undefined;
  ids: string[];
  open?: OpenPack;
  packs: PackContents[];
  failed?: unknown;
}

export interface PutChunkResult {
  id: string;
  /** True when this call added the chunk (false: the repository already had it). */
  added: boolean;
  storedBytes: number;
}

export class Repository {
  readonly chunker: Chunker;
  private readonly knownChunks: Set<string>;
  private readonly inFlight = new Map<string, Promise<PutChunkResult>>();
  /** Version 2: a pack is closed once it holds this many bytes (tests lower it to get several packs from little data). */
  packTargetBytes = PACK_TARGET_BYTES;
  /** Chunks written since the last snapshot, durable only once committed (`commitChunks`), with their ids. */
  private batch: WriteBatch | undefined;
  /** Version 2: the index, read at unlock (or at first need, when direct mode's cache gave the known chunks). */
  private index: BlobIndex | undefined;
  private indexLoading: Promise<BlobIndex> | undefined;

  private constructor(
    readonly store: RepositoryStore,
    readonly config: RepositoryConfig,
    private readonly keys: RepositoryKeys,
    knownChunks: Iterable<string>,
    private readonly random: RandomBytes,
    private readonly masterSecret?: Buffer,
  ) {
    this.chunker = createChunker(config.chunker, keys.gear);
    this.knownChunks = new Set(knownChunks);
  }

  /** The same repository's copy in another store (the vault copy, whose config the online copy wrote): same keys. */
  async onStore(store: RepositoryStore, knownChunks?: Iterable<string>): Promise<Repository> {
    return Repository.unlocked(store, this.config, this.keys, this.random, this.masterSecret, knownChunks);
  }

  /**
   * @internal: createRepository / openRepository build it. `knownChunks` (direct mode's checked local cache) replaces
   * listing the store's chunks.
   */
  static async unlocked(store: RepositoryStore, config: RepositoryConfig, keys: RepositoryKeys, random: RandomBytes, masterSecret?: Buffer, knownChunks?: Iterable<string>): Promise<Repository> {
    if (knownChunks !== undefined) return new Repository(store, config, keys, knownChunks, random, masterSecret);
    if (config.version >= 2) {
      const repository = new Repository(store, config, keys, [], random, masterSecret);
      for (const id of (await repository.blobIndex()).blobs.keys()) repository.knownChunks.add(id);
      return repository;
    }
    const known: string[] = [];
    for await (const key of store.list(DATA_PREFIX)) {
      const id = chunkIdOfKey(key);
      if (id !== undefined) known.push(id);
    }
    return new Repository(store, config, keys, known, random, masterSecret);
  }

  /** The master secret wrapped with this machine's key, for an unattended unlock after a restart (unattended-unlock.ts). */
  wrapForMachine(machineKey: Buffer, now: Date): MachineWrappedKey {
    if (this.masterSecret === undefined) throw errors.unattendedUnlockUnavailable('this repository was not unlocked with its passphrase or a remembered key');
    return wrapForMachine(machineKey, this.masterSecret, this.config, now, this.random);
  }

  get chunkCount(): number {
    return this.knownChunks.size;
  }

  /** The chunk ids this repository knows are stored (listed at open, or given by direct mode's cache, plus those put since). */
  knownChunkIds(): string[] {
    return [...this.knownChunks];
  }

  hasChunk(id: string): boolean {
    return this.knownChunks.has(id);
  }

  /** After a prune deleted the chunk: a later backup must store it again. */
  forgetChunk(id: string): void {
    this.knownChunks.delete(id);
  }

  /** Version 2: chunk envelopes in pack files, found through the index. */
  get packed(): boolean {
    return this.config.version >= 2;
  }

  /** Version 2: the index (read from the store's index objects the first time). */
  blobIndex(): Promise<BlobIndex> {
    if (this.index !== undefined) return Promise.resolve(this.index);
    this.indexLoading ??= this.readIndex().then(
      (index) => (this.index = index),
      (err: unknown) => {
        this.indexLoading = undefined; // a later call reads it again
        throw err;
      },
    );
    return this.indexLoading;
  }

  private async readIndex(): Promise<BlobIndex> {
    const index = new BlobIndex();
    const ids: string[] = [];
    for await (const key of this.store.list(INDEX_PREFIX)) {
      const id = indexIdOfKey(key);
      if (id !== undefined) ids.push(id);
    }
    for (let at = 0; at < ids.length; at += INDEX_READS_IN_FLIGHT) {
      const docs = await Promise.all(ids.slice(at, at + INDEX_READS_IN_FLIGHT).map(async (id) => ({ id, packs: await this.readIndexObject(id) })));
      for (const doc of docs) {
        doc.packs.forEach((pack) => index.add(pack));
        index.indexIds.add(doc.id);
      }
    }
    return index;
  }

  private async readIndexObject(id: string): Promise<PackContents[]> {
    const envelope = await this.store.read(indexKey(id));
    if (envelope === undefined) throw errors.repositoryObjectNotFound(indexKey(id));
    return parseIndex(await openObject('index', id, envelope, this.keys), id);
  }

  /** Writes (durably) an index object naming these packs; returns its id. */
  private async writeIndexObject(packs: readonly PackContents[]): Promise<string> {
    const id = this.random(16).toString('hex');
    const envelope = await sealObject('index', id, serializeIndex(packs), this.keys, this.config.compression, this.random);
    if (!(await this.store.writeIfAbsent(indexKey(id), envelope))) throw errors.repositoryDataCorrupt('index', id, 'an index with this id already exists');
    return id;
  }

  /** Writes an index object naming these (durable) packs, and adds them to the index in memory. */
  async indexPacks(packs: readonly PackContents[]): Promise<void> {
    const indexId = await this.writeIndexObject(packs);
    // An index not read yet (direct mode's cache) is not read for this: it will list the new object when it is.
    const index = this.index ?? (this.indexLoading === undefined ? undefined : await this.indexLoading);
    index?.indexIds.add(indexId);
    packs.forEach((pack) => index?.add(pack));
  }

  /**
   * Prune's last step before deleting packs: one new index object naming exactly `packs`, then the old index objects
   * go. A crash in between leaves both, and every pack either names still exists.
   */
  async replaceIndex(packs: readonly PackContents[]): Promise<void> {
    const old: string[] = []; // listed, not remembered: the index in memory may not have loaded (rebuildIndex)
    for await (const key of this.store.list(INDEX_PREFIX)) {
      const id = indexIdOfKey(key);
      if (id !== undefined) old.push(id);
    }
    const id = await this.writeIndexObject(packs);
    for (const oldId of old) await this.store.delete(indexKey(oldId));
    const index = new BlobIndex();
    packs.forEach((pack) => index.add(pack));
    index.indexIds.add(id);
    this.index = index;
    this.indexLoading = Promise.resolve(index);
    this.knownChunks.clear();
    for (const blobId of index.blobs.keys()) this.knownChunks.add(blobId);
  }

  /** A pack's blobs from its own header (authenticated), and the pack's bytes; throws when the pack is damaged. */
  async readPack(packId: string): Promise<{ bytes: Buffer; blobs: PackedBlob[] }> {
    const bytes = await this.store.read(packKey(packId));
    if (bytes === undefined) throw errors.repositoryObjectNotFound(packKey(packId));
    if (packIdOf(bytes) !== packId) throw errors.repositoryDataCorrupt('pack', packId, 'its content does not match its id');
    const { sealedHeader, dataBytes } = splitPack(bytes, packId);
    const header = await openObject('pack-header', '', sealedHeader, this.keys);
    return { bytes, blobs: parsePackHeader(header, packId, dataBytes) };
  }

  /** A blob's plaintext from its envelope, authenticated and checked against its id. */
  async openChunk(id: string, envelope: Uint8Array): Promise<Buffer> {
    const plaintext = await openObject('chunk', id, envelope, this.keys);
    if (!chunkIdMatches(id, plaintext, this.keys)) throw errors.repositoryDataCorrupt('chunk', id, 'its content does not match its id');
    return plaintext;
  }

  /**
   * Prune's repack: packs envelopes read from other packs (as they are: they stay bound to their ids) into new
   * packs and makes them durable; they are not indexed yet (`replaceIndex` names them).
   */
  async writePacks(blobs: AsyncIterable<{ id: string; envelope: Buffer }>): Promise<PackContents[]> {
    const batch: WriteBatch = { writes: this.store.beginBatch?.(), ids: [], packs: [] };
    for await (const { id, envelope } of blobs) await this.addToPack(batch, id, envelope);
    if (batch.open !== undefined) await this.closePack(batch);
    await batch.writes?.commit();
    return batch.packs;
  }

  private async addToPack(batch: WriteBatch, id: string, envelope: Buffer): Promise<void> {
    const open = (batch.open ??= this.openPack(batch));
    const offset = open.bytes;
    open.blobs.push({ id, offset, length: envelope.length });
    open.bytes += envelope.length;
    if (open.streamed === undefined) open.envelopes.push(envelope);
    else {
      open.streamed.hash.update(envelope); // in offset order: the offsets and the hash advance together, here
      const written = open.streamed.write.write(offset, envelope);
      written.catch(() => undefined); // awaited below, and again by closePack
      open.streamed.pending.push(written);
      await written;
    }
    if (open.bytes >= this.packTargetBytes && batch.open === open) await this.closePack(batch);
  }

  private openPack(batch: WriteBatch): OpenPack {
    const write = batch.writes?.openStreamedWrite?.();
    return { blobs: [], bytes: 0, envelopes: [], streamed: write === undefined ? undefined : { write, hash: createHash('sha256'), pending: [] } };
  }

  private async closePack(batch: WriteBatch): Promise<void> {
    const open = batch.open!;
    batch.open = undefined;
    const header = await sealObject('pack-header', '', serializePackHeader(open.blobs), this.keys, this.config.compression, this.random);
    let id: string;
    if (open.streamed !== undefined) {
      const { write, hash, pending } = open.streamed;
      const tail = packTail(header);
      id = hash.update(tail).digest('hex');
      await Promise.all([...pending, write.write(open.bytes, tail)]);
      await write.finish(packKey(id));
    } else {
      const bytes = assemblePack(open.envelopes, header);
      open.envelopes.length = 0; // only the assembled copy stays alive while it is written
      id = packIdOf(bytes);
      if (batch.writes !== undefined) await batch.writes.writeIfAbsent(packKey(id), bytes);
      else await this.store.writeIfAbsent(packKey(id), bytes);
    }
    batch.packs.push({ id, blobs: open.blobs });
  }

  chunkIdOf(plaintext: Uint8Array): string {
    return chunkIdOf(plaintext, this.keys);
  }

  /** Stores a chunk unless the repository has one with the same id (dedup); concurrent puts of one id share a write. */
  putChunk(plaintext: Uint8Array): Promise<PutChunkResult> {
    const id = chunkIdOf(plaintext, this.keys);
    if (this.knownChunks.has(id)) return Promise.resolve({ id, added: false, storedBytes: 0 });
    const running = this.inFlight.get(id);
    if (running !== undefined) return running.then(() => ({ id, added: false, storedBytes: 0 }));
    const write = (async () => {
      const envelope = await sealObject('chunk', id, plaintext, this.keys, this.config.compression, this.random);
      if (this.packed) return this.putIntoPack(id, envelope);
      const batch = this.currentBatch();
      const added = batch?.writes === undefined ? await this.store.writeIfAbsent(chunkKey(id), envelope) : await batch.writes.writeIfAbsent(chunkKey(id), envelope);
      if (added) batch?.ids.push(id);
      this.knownChunks.add(id);
      return { id, added, storedBytes: added ? envelope.length : 0 };
    })();
    this.inFlight.set(id, write);
    return write.finally(() => this.inFlight.delete(id));
  }

  private async putIntoPack(id: string, envelope: Buffer): Promise<PutChunkResult> {
    const batch = this.currentBatch()!;
    batch.ids.push(id);
    this.knownChunks.add(id);
    try {
      await this.addToPack(batch, id, envelope);
    } catch (err) {
      batch.failed ??= err; // a commit already under way fails too
      // The batch is dropped and its chunks forgotten now, so the next backup starts a new one and writes them again
      // (kept until its commit, the failure also failed the next backup, which deduplicated against them).
      if (this.batch === batch) this.batch = undefined;
      batch.ids.forEach((chunk) => this.knownChunks.delete(chunk));
      throw err;
    }
    return { id, added: true, storedBytes: envelope.length };
  }

  /**
   * The chunk's plaintext, authenticated (AES-GCM) and checked against its id (HMAC); throws when either fails.
   * Version 2 reads the blob's range of its pack (the index says where); a chunk not in the index is looked for in
   * `data/` (version 1).
   */
  async readChunk(id: string, ranges?: RangeReader): Promise<Buffer> {
    const location = this.packed ? (await this.blobIndex()).blobs.get(id) : undefined;
    const key = location === undefined ? chunkKey(id) : packKey(location.pack);
    const envelope = location === undefined
      ? await this.store.read(key)
      : await (ranges?.readRange(key, location.offset, location.length) ?? readObjectRange(this.store, key, location.offset, location.length));
    if (envelope === undefined) throw errors.repositoryObjectNotFound(key);
    return this.openChunk(id, envelope);
  }

  /**
   * A reader of many chunks (a restore): as `readChunk`, through one range reader of the store, which may keep packs
   * open between reads. Every chunk is still authenticated and id-checked. Close it when done.
   */
  openChunkReader(): ChunkReader {
    const ranges = openRangeReader(this.store);
    return { read: (id) => this.readChunk(id, ranges), close: () => ranges.close() };
  }

  newSnapshotId(): string {
    return this.random(16).toString('hex');
  }

  private currentBatch(): WriteBatch | undefined {
    if (this.batch !== undefined) return this.batch;
    const writes = this.store.beginBatch?.();
    // Version 1 without a store batch writes each chunk durably at once; version 2 always packs until the commit.
    return writes === undefined && !this.packed ? undefined : (this.batch = { writes, ids: [], packs: [] });
  }

  /**
   * Makes every chunk written so far durable (one round of fsyncs in the file store). A failed commit forgets its
   * chunks, so a later backup writes them again instead of naming chunks that may not be stored.
   */
  async commitChunks(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()]);
    const batch = this.batch;
    if (batch === undefined) return;
    this.batch = undefined;
    try {
      if (batch.failed !== undefined) throw batch.failed;
      if (batch.open !== undefined) await this.closePack(batch);
      await batch.writes?.commit();
      if (batch.packs.length > 0) await this.indexPacks(batch.packs); // after the packs are durable, before any snapshot
    } catch (err) {
      batch.ids.forEach((id) => this.knownChunks.delete(id));
      throw err;
    }
  }

  /** Written last: every chunk is committed first, so a snapshot is visible only when all it names is durable. */
  async saveSnapshot(doc: SnapshotDocument): Promise<number> {
    await this.commitChunks();
    const envelope = await sealObject('snapshot', doc.id, serializeSnapshot(doc), this.keys, this.config.compression, this.random);
    if (!(await this.store.writeIfAbsent(snapshotKey(doc.id), envelope))) {
      throw errors.repositoryDataCorrupt('snapshot', doc.id, 'a snapshot with this id already exists');
    }
    return envelope.length;
  }

  async loadSnapshot(id: string): Promise<SnapshotDocument> {
    const envelope = await this.store.read(snapshotKey(id));
    if (envelope === undefined) throw errors.repositoryObjectNotFound(snapshotKey(id));
    return parseSnapshot(await openObject('snapshot', id, envelope, this.keys), id);
  }

  async listSnapshotIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const key of this.store.list(SNAPSHOTS_PREFIX)) {
      const id = snapshotIdOfKey(key);
      if (id !== undefined) ids.push(id);
    }
    return ids.sort();
  }

  /** The chunks stored: version 2 those the index names, version 1 those `data/` lists. */
  async listChunkIdsInStore(): Promise<string[]> {
    if (this.packed) return [...(await this.blobIndex()).blobs.keys()];
    const ids: string[] = [];
    for await (const key of this.store.list(DATA_PREFIX)) {
      const id = chunkIdOfKey(key);
      if (id !== undefined) ids.push(id);
    }
    return ids;
  }
}

export function checkPassphrase(passphrase: string): void {
  const length = [...passphrase.normalize('NFC')].length;
  if (length < MIN_PASSPHRASE_LENGTH) throw errors.passphraseTooShort(length);
}

/** A fresh passphrase (32 base32-like characters, 160 bits), for "generate one and show it once". */
export function generatePassphrase(random: RandomBytes = nodeRandomBytes): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = random(32);
  const chars = [...bytes].map((b) => alphabet[b % alphabet.length]);
  return [0, 8, 16, 24].map((i) => chars.slice(i, i + 8).join('')).join('-');
}

export async function createRepository(store: RepositoryStore, passphrase: string, options: CreateRepositoryOptions): Promise<Repository> {
  checkPassphrase(passphrase);
  const random = options.random ?? nodeRandomBytes;
  if (await store.exists(CONFIG_KEY)) throw errors.repositoryAlreadyExists(store.location);
  const unwrapped: Omit<RepositoryConfig, 'wrappedMasterKeyBase64'> = {
    format: REPOSITORY_FORMAT,
    version: options.version ?? REPOSITORY_VERSION,
    repositoryId: random(16).toString('hex'),
    createdAt: options.clock().toISOString(),
    aead: 'AES-256-GCM',
    chunkIdHash: 'HMAC-SHA-256',
    kdf: { ...DEFAULT_KDF, ...options.kdf, saltBase64: random(32).toString('base64') },
    chunker: options.chunker ?? DEFAULT_CHUNKER,
    compression: options.compression ?? DEFAULT_COMPRESSION,
  };
  const masterSecret = random(MASTER_SECRET_BYTES);
  const passphraseKey = await derivePassphraseKey(passphrase, unwrapped.kdf);
  const wrapped = encrypt(passphraseKey, masterSecret, masterKeyAssociatedData(unwrapped), random);
  const config: RepositoryConfig = { ...unwrapped, wrappedMasterKeyBase64: wrapped.toString('base64') };
  const serialized = serializeRepositoryConfig(config);
  parseRepositoryConfig(serialized); // refuses parameters a later open would refuse, before anything is written
  if (!(await store.writeIfAbsent(CONFIG_KEY, serialized))) throw errors.repositoryAlreadyExists(store.location);
  return Repository.unlocked(store, config, deriveRepositoryKeys(masterSecret, config.repositoryId), random, masterSecret);
}

export async function openRepository(store: RepositoryStore, passphrase: string, options: { random?: RandomBytes; knownChunks?: Iterable<string> } = {}): Promise<Repository> {
  const bytes = await store.read(CONFIG_KEY);
  if (bytes === undefined) throw errors.repositoryNotFound(store.location);
  const config = parseRepositoryConfig(bytes);
  const { wrappedMasterKeyBase64, ...unwrapped } = config;
  const passphraseKey = await derivePassphraseKey(passphrase, config.kdf);
  const masterSecret = decrypt(passphraseKey, Buffer.from(wrappedMasterKeyBase64, 'base64'), masterKeyAssociatedData(unwrapped));
  if (masterSecret === undefined || masterSecret.length !== MASTER_SECRET_BYTES) throw errors.passphraseIncorrect();
  await store.sweepTemporary?.(); // a crash before a batch commit left temporary files: gone after a day
  return Repository.unlocked(store, config, deriveRepositoryKeys(masterSecret, config.repositoryId), options.random ?? nodeRandomBytes, masterSecret, options.knownChunks);
}

/** Unlocks with the master secret a machine key unwraps (unattended unlock); refuses a wrap that does not fit. */
export async function openRepositoryWithMachineKey(store: RepositoryStore, machineKey: Buffer, wrapped: MachineWrappedKey, options: { random?: RandomBytes; knownChunks?: Iterable<string> } = {}): Promise<Repository> {
  const bytes = await store.read(CONFIG_KEY);
  if (bytes === undefined) throw errors.repositoryNotFound(store.location);
  const config = parseRepositoryConfig(bytes);
  const unwrapped = unwrapForMachine(machineKey, wrapped, config);
  if ('reason' in unwrapped) throw errors.unattendedUnlockUnavailable(unwrapped.reason);
  await store.sweepTemporary?.();
  return Repository.unlocked(store, config, deriveRepositoryKeys(unwrapped.masterSecret, config.repositoryId), options.random ?? nodeRandomBytes, unwrapped.masterSecret, options.knownChunks);
}
