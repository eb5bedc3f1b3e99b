/**
 * The repository's cryptography, all from node:crypto and node:zlib:
 *   - passphrase key: scrypt(passphrase, salt; N, r, p) → 32 bytes; it only wraps the master secret.
 *   - master secret: 32 random bytes; HKDF-SHA-256 derives from it the data key (AES-256-GCM), the chunk-id key
 *     (HMAC-SHA-256) and the chunker's gear table, each under its own label.
 *   - envelope (every chunk and snapshot): version byte 1 ‖ 12-byte random nonce ‖ AES-256-GCM(codec byte ‖ payload)
 *     ‖ 16-byte tag, with "<kind>:<id>" as associated data, so an envelope moved to another name fails to open.
 *   - chunk id: HMAC-SHA-256(id key, plaintext) in hex: equal plaintexts dedupe, and ids reveal nothing without the key.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, brotliCompressSync, brotliDecompress, brotliDecompressSync, constants as zlibConstants } from 'node:zlib';
import { errors } from '../../domain/errors';
import { GEAR_TABLE_BYTES, gearTableFrom } from './fastcdc';
import type { CompressionParams, KdfParams } from './repository-config';

const scryptAsync = promisify(scrypt) as (password: string | Buffer, salt: Buffer, keylen: number, options: object) => Promise<Buffer>;
const brotliCompressAsync = promisify(brotliCompress);
const brotliDecompressAsync = promisify(brotliDecompress);

export const MASTER_SECRET_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const ENVELOPE_VERSION = 1;
const CODEC_STORED = 0;
const CODEC_BROTLI = 1;
const CODEC_STORED_BYTE = Uint8Array.of(CODEC_STORED);
const CODEC_BROTLI_BYTE = Uint8Array.of(CODEC_BROTLI);
/**
 * Below this size brotli runs on the calling thread: handing a small chunk to the thread pool costs more than
 * compressing it (a 32 KiB chunk: ~0.25 ms async against ~0.09 ms inline), and small files are one chunk each.
 */
const INLINE_CODEC_BYTES = 256 * 1024;

/** What an envelope holds, bound into its associated data ("kluis/<kind>:<id>"). */
export type EnvelopeKind = 'chunk' | 'snapshot' | 'index' | 'pack-header';

export type RandomBytes = (size: number) => Buffer;

export interface RepositoryKeys {
  dataKey: Buffer;
  chunkIdKey: Buffer;
  gear: Uint32Array;
}

export async function derivePassphraseKey(passphrase: string, kdf: KdfParams): Promise<Buffer> {
  const N = 2 ** kdf.logN;
  return scryptAsync(passphrase.normalize('NFC'), Buffer.from(kdf.saltBase64, 'base64'), 32, {
    N, r: kdf.r, p: kdf.p, maxmem: 128 * N * kdf.r * kdf.p + 16 * 1024 * 1024,
  });
}

export function deriveRepositoryKeys(masterSecret: Buffer, repositoryId: string): RepositoryKeys {
  const salt = Buffer.from(repositoryId, 'hex');
  const derive = (label: string, size: number) => Buffer.from(hkdfSync('sha256', masterSecret, salt, `kluis/backup-server/${label}`, size));
  return {
    dataKey: derive('data-key', 32),
    chunkIdKey: derive('chunk-id-key', 32),
    gear: gearTableFrom(derive('chunker-gear', GEAR_TABLE_BYTES)),
  };
}

export function chunkIdOf(plaintext: Uint8Array, keys: Pick<RepositoryKeys, 'chunkIdKey'>): string {
  return createHmac('sha256', keys.chunkIdKey).update(plaintext).digest('hex');
}

/** Constant-time comparison of a chunk's plaintext against the id it was stored under. */
export function chunkIdMatches(id: string, plaintext: Uint8Array, keys: Pick<RepositoryKeys, 'chunkIdKey'>): boolean {
  const expected = Buffer.from(chunkIdOf(plaintext, keys), 'hex');
  const actual = Buffer.from(id, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export function encrypt(key: Buffer, plaintext: Uint8Array | readonly Uint8Array[], associatedData: Buffer, random: RandomBytes): Buffer {
  const nonce = random(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(associatedData);
  // The plaintext may come in parts (codec byte, payload): GCM encrypts them as one stream, and the envelope is
  // assembled with a single copy (a first backup's profile showed its copies and their garbage collection).
  const parts = plaintext instanceof Uint8Array ? [plaintext] : plaintext;
  const encrypted = parts.map((part) => cipher.update(part));
  return Buffer.concat([Buffer.from([ENVELOPE_VERSION]), nonce, ...encrypted, cipher.final(), cipher.getAuthTag()]);
}

/** The plaintext, or undefined when the envelope does not authenticate (wrong key, tampered, renamed, truncated). */
export function decrypt(key: Buffer, envelope: Uint8Array, associatedData: Buffer): Buffer | undefined {
  if (envelope.length < 1 + NONCE_BYTES + TAG_BYTES || envelope[0] !== ENVELOPE_VERSION) return undefined;
  const nonce = envelope.subarray(1, 1 + NONCE_BYTES);
  const tag = envelope.subarray(envelope.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(associatedData);
  decipher.setAuthTag(tag);
  try {
    const plaintext = decipher.update(envelope.subarray(1 + NONCE_BYTES, envelope.length - TAG_BYTES));
    decipher.final(); // GCM yields nothing more here; it throws when the tag does not match
    return plaintext;
  } catch {
    return undefined;
  }
}

export function envelopeAssociatedData(kind: EnvelopeKind, id: string): Buffer {
  return Buffer.from(`kluis/${kind}:${id}`, 'utf8');
}

/** Compresses (when that makes it smaller) and encrypts; `kind:id` is bound as associated data. */
export async function sealObject(
  kind: EnvelopeKind,
  id: string,
  plaintext: Uint8Array,
  keys: Pick<RepositoryKeys, 'dataKey'>,
  compression: CompressionParams,
  random: RandomBytes,
): Promise<Buffer> {
  const options = {
    params: { [zlibConstants.BROTLI_PARAM_QUALITY]: compression.level, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: plaintext.length },
  };
  const compressed = plaintext.length < INLINE_CODEC_BYTES ? brotliCompressSync(plaintext, options) : await brotliCompressAsync(plaintext, options);
  const framed = compressed.length < plaintext.length ? [CODEC_BROTLI_BYTE, compressed] : [CODEC_STORED_BYTE, plaintext];
  return encrypt(keys.dataKey, framed, envelopeAssociatedData(kind, id), random);
}

/** Decrypts and decompresses; throws KluisRepositoryDataCorrupt when the envelope does not authenticate. */
export async function openObject(
  kind: EnvelopeKind,
  id: string,
  envelope: Uint8Array,
  keys: Pick<RepositoryKeys, 'dataKey'>,
): Promise<Buffer> {
  const framed = decrypt(keys.dataKey, envelope, envelopeAssociatedData(kind, id));
  if (framed === undefined || framed.length === 0) throw errors.repositoryDataCorrupt(kind, id, 'it does not authenticate (modified, truncated or moved)');
  const body = framed.subarray(1);
  if (framed[0] === CODEC_STORED) return body;
  if (framed[0] === CODEC_BROTLI) {
    try {
      return body.length < INLINE_CODEC_BYTES ? brotliDecompressSync(body) : await brotliDecompressAsync(body);
    } catch {
      throw errors.repositoryDataCorrupt(kind, id, 'its compressed body does not decompress');
    }
  }
  throw errors.repositoryDataCorrupt(kind, id, `it names an unknown codec ${framed[0]}`);
}
