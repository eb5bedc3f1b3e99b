/**
 * The repository config (object `config`): everything needed to unlock and read a repository, and nothing secret
 * in the clear. The master key is stored only wrapped (AES-256-GCM) under a key derived from the passphrase by
 * scrypt, with the parameters recorded here; the wrap's associated data binds every other field, so a config
 * whose chunker, compression or KDF fields were edited no longer unlocks.
 */
import { z } from 'zod';
import { errors } from '../../domain/errors';
import { DEFAULT_CHUNKER, validateChunkerParams, type ChunkerParams } from './fastcdc';

export const REPOSITORY_FORMAT = 'kluis-backup-server-repository';
/** Version 1: one object per chunk (data/). Version 2 (session 9, new repositories): chunks in pack files + index. */
export const REPOSITORY_VERSION = 2;
export type RepositoryVersion = 1 | 2;

/** scrypt cost: N = 2^17, r = 8, p = 1 (128 MiB, OWASP's recommended minimum for scrypt). */
export const DEFAULT_KDF: KdfParams = { algorithm: 'scrypt', logN: 17, r: 8, p: 1, saltBase64: '' };
/** The lowest cost a repository may record (tests use it; `kluis-server` always uses DEFAULT_KDF). */
export const MIN_KDF_LOG_N = 14;

export interface KdfParams {
  algorithm: 'scrypt';
  logN: number;
  r: number;
  p: number;
  saltBase64: string;
}

export interface CompressionParams {
  /** node:zlib brotli (zstd needs Node 22 or a native binding that cannot install offline; docs/backup-server.md). */
  codec: 'brotli';
  /** Brotli quality 0–11. */
  level: number;
}

export const DEFAULT_COMPRESSION: CompressionParams = { codec: 'brotli', level: 3 };

export interface RepositoryConfig {
  format: typeof REPOSITORY_FORMAT;
  version: RepositoryVersion;
  repositoryId: string;
  createdAt: string;
  aead: 'AES-256-GCM';
  chunkIdHash: 'HMAC-SHA-256';
  kdf: KdfParams;
  chunker: ChunkerParams;
  compression: CompressionParams;
  /** The 32-byte master secret, AES-256-GCM under the passphrase key: 12-byte nonce ‖ ciphertext ‖ 16-byte tag. */
  wrappedMasterKeyBase64: string;
}

const configSchema = z.object({
  format: z.literal(REPOSITORY_FORMAT),
  version: z.union([z.literal(1), z.literal(2)]),
  repositoryId: z.string().regex(/^[0-9a-f]{32}$/),
  createdAt: z.string().min(1),
  aead: z.literal('AES-256-GCM'),
  chunkIdHash: z.literal('HMAC-SHA-256'),
  kdf: z.object({
    algorithm: z.literal('scrypt'),
    logN: z.number().int().min(MIN_KDF_LOG_N).max(22),
    r: z.number().int().min(1).max(32),
    p: z.number().int().min(1).max(16),
    saltBase64: z.string().min(16),
  }),
  chunker: z.object({ minSize: z.number().int(), avgSize: z.number().int(), maxSize: z.number().int() }),
  compression: z.object({ codec: z.literal('brotli'), level: z.number().int().min(0).max(11) }),
  wrappedMasterKeyBase64: z.string().min(1),
});

export function parseRepositoryConfig(bytes: Uint8Array): RepositoryConfig {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw errors.repositoryConfigInvalid('the config is not JSON');
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw errors.repositoryConfigInvalid(`${issue.path.join('.') || 'config'}: ${issue.message}`);
  }
  validateChunkerParams(parsed.data.chunker);
  return parsed.data as RepositoryConfig;
}

export function serializeRepositoryConfig(config: RepositoryConfig): Buffer {
  return Buffer.from(`${JSON.stringify(config, null, 2)}\n`, 'utf8');
}

/** The associated data of the master-key wrap: every field but the wrap itself, in a fixed order. */
export function masterKeyAssociatedData(config: Omit<RepositoryConfig, 'wrappedMasterKeyBase64'>): Buffer {
  const bound = [
    config.format, config.version, config.repositoryId, config.createdAt, config.aead, config.chunkIdHash,
    config.kdf.algorithm, config.kdf.logN, config.kdf.r, config.kdf.p, config.kdf.saltBase64,
    config.chunker.minSize, config.chunker.avgSize, config.chunker.maxSize,
    config.compression.codec, config.compression.level,
  ];
  return Buffer.from(JSON.stringify(bound), 'utf8');
}

export { DEFAULT_CHUNKER };
