/**
 * The identity endpoint's lasting secrets, generated once and kept in `<dir>/identity.json` (mode 600):
 * the RSA key that signs every token (RS256, published as a JWKS under its key id) and the MSI secret
 * the App Service shape checks. Created exclusively, so processes starting at once on the same folder
 * agree on one key; kept across restarts, so tokens clients cached stay valid as long as the issuer does.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { readTextFile, writeAtomically } from '../atomic-file';

export interface IdentitySecrets {
  /** Key id: the public key's JWK thumbprint. */
  keyId: string;
  privateKey: KeyObject;
  /** The public key as published in the JWKS (kty, n, e, kid, use, alg). */
  publicJwk: JWK;
  /** What `MSI_SECRET` must hold for the App Service managed identity shape. */
  msiSecret: string;
}

interface IdentityFile {
  privateKeyPem: string;
  msiSecret: string;
}

export const IDENTITY_FILE = 'identity.json';

function readIdentityFile(file: string): IdentityFile | undefined {
  const text = readTextFile(file);
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<IdentityFile>;
    if (typeof parsed.privateKeyPem !== 'string' || typeof parsed.msiSecret !== 'string') return undefined;
    return parsed as IdentityFile;
  } catch {
    return undefined;
  }
}

/** An MSI secret as App Service generates them: 32 upper-case hex digits. */
export function newMsiSecret(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}

/** Reads `<dir>/identity.json`, generating it at first start. */
export async function loadOrCreateIdentitySecrets(dir: string): Promise<IdentitySecrets> {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, IDENTITY_FILE);
  let stored = readIdentityFile(file);
  if (stored === undefined) {
    if (readTextFile(file) !== undefined) throw new Error(`The identity endpoint's key file ${file} is unreadable: delete it to have a new key generated (tokens issued before are then refused).`);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const fresh: IdentityFile = { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), msiSecret: newMsiSecret() };
    stored = writeAtomically(file, JSON.stringify(fresh, null, 2), 0o600, true) ? fresh : readIdentityFile(file);
    if (stored === undefined) throw new Error(`The identity endpoint's key file ${file} is unreadable: delete it to have a new key generated.`);
  }
  const privateKey = createPrivateKey(stored.privateKeyPem);
  const { kty, n, e } = createPublicKey(privateKey).export({ format: 'jwk' });
  const keyId = await calculateJwkThumbprint({ kty, n, e } as JWK);
  return { keyId, privateKey, publicJwk: { kty, n, e, kid: keyId, use: 'sig', alg: 'RS256' } as JWK, msiSecret: stored.msiSecret };
}
