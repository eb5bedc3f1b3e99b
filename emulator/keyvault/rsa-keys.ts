/**
 * RSA key material and the key operations the emulator performs with node:crypto: generation
 * (2048/3072/4096 bits, exponent 65537, off the event loop), wrapKey/unwrapKey and encrypt/decrypt with
 * RSA-OAEP (SHA-1, as Key Vault and the SDK's local provider use it) and RSA-OAEP-256.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, privateDecrypt, publicEncrypt, constants, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { keyVaultErrors } from './errors';

export const RSA_KEY_SIZES = [2048, 3072, 4096] as const;
export type RsaKeySize = (typeof RSA_KEY_SIZES)[number];
export const DEFAULT_RSA_KEY_SIZE: RsaKeySize = 2048;

export const RSA_ALGORITHMS = ['RSA-OAEP', 'RSA-OAEP-256'] as const;
export type RsaAlgorithm = (typeof RSA_ALGORITHMS)[number];

/** A private RSA key as a JWK (base64url members), which is also how the state file keeps it. */
export interface RsaPrivateJwk {
  kty: 'RSA';
  n: string;
  e: string;
  d: string;
  p: string;
  q: string;
  dp: string;
  dq: string;
  qi: string;
}

const generateKeyPairAsync = promisify(generateKeyPair);

export async function generateRsaKey(size: RsaKeySize): Promise<RsaPrivateJwk> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: size, publicExponent: 0x10001 });
  return privateKey.export({ format: 'jwk' }) as RsaPrivateJwk;
}

export function isRsaPrivateJwk(value: unknown): value is RsaPrivateJwk {
  if (typeof value !== 'object' || value === null) return false;
  const jwk = value as Record<string, unknown>;
  return jwk.kty === 'RSA' && ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'].every((member) => typeof jwk[member] === 'string');
}

export function keySizeOf(jwk: RsaPrivateJwk): number {
  return Buffer.from(jwk.n, 'base64url').length * 8;
}

const privateKeys = new WeakMap<RsaPrivateJwk, KeyObject>();

function privateKeyOf(jwk: RsaPrivateJwk): KeyObject {
  let key = privateKeys.get(jwk);
  if (key === undefined) {
    key = createPrivateKey({ key: { ...jwk }, format: 'jwk' });
    privateKeys.set(jwk, key);
  }
  return key;
}

export function isRsaAlgorithm(value: unknown): value is RsaAlgorithm {
  return typeof value === 'string' && (RSA_ALGORITHMS as readonly string[]).includes(value);
}

const oaepHash = (algorithm: RsaAlgorithm): string => (algorithm === 'RSA-OAEP-256' ? 'sha256' : 'sha1');

export function rsaEncrypt(jwk: RsaPrivateJwk, algorithm: RsaAlgorithm, plaintext: Buffer): Buffer {
  try {
    return publicEncrypt({ key: createPublicKey(privateKeyOf(jwk)), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHash(algorithm) }, plaintext);
  } catch {
    throw keyVaultErrors.badParameter(`The value is too long for ${algorithm} with a ${keySizeOf(jwk)}-bit key.`);
  }
}

export function rsaDecrypt(jwk: RsaPrivateJwk, algorithm: RsaAlgorithm, ciphertext: Buffer): Buffer {
  try {
    return privateDecrypt({ key: privateKeyOf(jwk), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHash(algorithm) }, ciphertext);
  } catch {
    throw keyVaultErrors.badParameter(`The value could not be decrypted with ${algorithm}: it was not encrypted with this key and algorithm.`);
  }
}
