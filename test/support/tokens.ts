/**
 * Access tokens made by the tests themselves: signed with a key of the host's identity endpoint (read
 * from its folder, to make tokens whose signature is right and whose claims are wrong), with a key of
 * their own (a signature the endpoint's JWKS cannot verify), unsigned (`alg: none`) or HMAC-signed.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, SignJWT, type JWK } from 'jose';

export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

async function signingKeyOf(privateKey: KeyObject): Promise<SigningKey> {
  const { kty, n, e } = createPublicKey(privateKey).export({ format: 'jwk' });
  const keyId = await calculateJwkThumbprint({ kty, n, e } as JWK);
  return { keyId, privateKey, publicJwk: { kty, n, e, kid: keyId, use: 'sig', alg: 'RS256' } as JWK };
}

/** A new RSA key (2048 bits) with its JWK. */
export function newSigningKey(): Promise<SigningKey> {
  return signingKeyOf(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
}

/** The identity endpoint's signing key, from its folder (`--identity-dir`). */
export function identityEndpointKey(identityDir: string): Promise<SigningKey> {
  const file = JSON.parse(readFileSync(path.join(identityDir, 'identity.json'), 'utf8')) as { privateKeyPem: string };
  return signingKeyOf(createPrivateKey(file.privateKeyPem));
}

export interface TokenClaims {
  iss: string;
  aud: string | string[];
  tid: string;
  oid: string;
  [claim: string]: unknown;
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** Claims of a valid app token for `now` (one hour), overridable. */
export function appClaims(base: { issuer: string; tenantId: string; now?: Date }, overrides: Partial<TokenClaims> = {}): TokenClaims {
  const now = seconds(base.now ?? new Date());
  return {
    iss: base.issuer,
    aud: 'https://management.core.windows.net/',
    tid: base.tenantId,
    oid: randomUUID(),
    sub: 'sub',
    appid: randomUUID(),
    idtyp: 'app',
    iat: now - 60,
    nbf: now - 60,
    exp: now + 3600,
    ...overrides,
  };
}

/** RS256 with `key`; `keyId` overrides the header's kid (e.g. a kid the JWKS has, with another key). */
export function signedToken(claims: Record<string, unknown>, key: SigningKey, options: { keyId?: string } = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: options.keyId ?? key.keyId }).sign(key.privateKey);
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsecured JWT (`alg: none`, empty signature). */
export function unsignedToken(claims: Record<string, unknown>): string {
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`;
}

/** HS256 with a shared secret (e.g. the public key's text, the classic algorithm-confusion attack). */
export function hmacToken(claims: Record<string, unknown>, secret: string, keyId?: string): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...(keyId === undefined ? {} : { kid: keyId }) }).sign(Buffer.from(secret));
}
