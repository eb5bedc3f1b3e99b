/**
 * A backup server repository, unlocked: chunk and snapshot objects in a RepositoryStore, sealed with keys derived
 * from the master secret (see domain/repository-crypto.ts). `createRepository` makes one; `openRepository` unlocks
 * one with the passphrase and refuses a wrong passphrase before anything is read beyond the config or written.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { errors } from '../../domain/errors';
import type { RepositoryStore, RepositoryWriteBatch } from '../../stores/repository-store';
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
} from '../domain/repository-config';
import { chunkIdOfKey, chunkKey, CONFIG_KEY, DATA_PREFIX, snapshotIdOfKey, snapshotKey, SNAPSHOTS_PREFIX } from '../domain/repository-layout';
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
  /** Chunks written since the last snapshot, durable only once committed (`commitChunks`), with their ids. */
  private batch: { writes: RepositoryWriteBatch; ids: string[] } | undefined;

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
      const batch = this.currentBatch();
      const added = batch === undefined ? await this.store.writeIfAbsent(chunkKey(id), envelope) : await batch.writes.writeIfAbsent(chunkKey(id), envelope);
      if (added) batch?.ids.push(id);
      this.knownChunks.add(id);
      return { id, added, storedBytes: added ? envelope.length : 0 };
    })();
    this.inFlight.set(id, write);
    return write.finally(() => this.inFlight.delete(id));
  }

  /** The chunk's plaintext, authenticated (AES-GCM) and checked against its id (HMAC); throws when either fails. */
  async readChunk(id: string): Promise<Buffer> {
    const envelope = await this.store.read(chunkKey(id));
    if (envelope === undefined) throw errors.repositoryObjectNotFound(chunkKey(id));
    const plaintext = await openObject('chunk', id, envelope, this.keys);
    if (!chunkIdMatches(id, plaintext, this.keys)) throw errors.repositoryDataCorrupt('chunk', id, 'its content does not match its id');
    return plaintext;
  }

  newSnapshotId(): string {
    return this.random(16).toString('hex');
  }

  private currentBatch(): { writes: RepositoryWriteBatch; ids: string[] } | undefined {
    if (this.batch !== undefined) return this.batch;
    const writes = this.store.beginBatch?.();
    return writes === undefined ? undefined : (this.batch = { writes, ids: [] });
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
      await batch.writes.commit();
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

  async listChunkIdsInStore(): Promise<string[]> {
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
    version: REPOSITORY_VERSION,
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
  return Repository.unlocked(store, config, deriveRepositoryKeys(masterSecret, config.repositoryId), options.random ?? nodeRandomBytes, masterSecret, options.knownChunks);
}

/** Unlocks with the master secret a machine key unwraps (unattended unlock); refuses a wrap that does not fit. */
export async function openRepositoryWithMachineKey(store: RepositoryStore, machineKey: Buffer, wrapped: MachineWrappedKey, options: { random?: RandomBytes; knownChunks?: Iterable<string> } = {}): Promise<Repository> {
  const bytes = await store.read(CONFIG_KEY);
  if (bytes === undefined) throw errors.repositoryNotFound(store.location);
  const config = parseRepositoryConfig(bytes);
  const unwrapped = unwrapForMachine(machineKey, wrapped, config);
  if ('reason' in unwrapped) throw errors.unattendedUnlockUnavailable(unwrapped.reason);
  return Repository.unlocked(store, config, deriveRepositoryKeys(unwrapped.masterSecret, config.repositoryId), options.random ?? nodeRandomBytes, unwrapped.masterSecret, options.knownChunks);
}
