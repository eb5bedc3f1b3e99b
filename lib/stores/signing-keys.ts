/**
 * Where the public keys that sign access tokens come from: a JWKS document (Entra ID's
 * `…/discovery/v2.0/keys`, or the local identity endpoint's), fetched on first use, cached and fetched
 * again when a token names a key id it does not hold (key rollover), at most every 30 seconds.
 *
 * An https JWKS URL on a loopback host trusts the local CA (KLUIS_CA_FILE) in addition to Node's
 * roots, for that connection only; every other URL uses Node's defaults. TLS verification is never off.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { createRemoteJWKSet, errors as joseErrors, type JWTVerifyGetKey } from 'jose';
import { errors } from '../domain/errors';

/** The protected header fields a key is chosen by. */
export interface TokenHeader {
  alg?: string;
  kid?: string;
  [parameter: string]: unknown;
}

/** A key jose's jwtVerify takes (a KeyObject in Node). */
export type VerificationKey = Awaited<ReturnType<JWTVerifyGetKey>>;

export interface SigningKeys {
  /**
   * The public key a token's header names. Throws InvalidAuthenticationToken when no published key
   * matches, KluisTokenKeysUnavailable when the keys cannot be read.
   */
  keyFor(header: TokenHeader): Promise<VerificationKey>;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export const CA_FILE_SETTING = 'KLUIS_CA_FILE';

export interface RemoteSigningKeysOptions {
  /** PEM file of a local CA, trusted for a loopback https URL only. */
  caCertificateFile?: string;
  /** How long fetched keys are used before they are fetched again; default 10 minutes. */
  cacheMaxAgeInMs?: number;
}

export class RemoteSigningKeys implements SigningKeys {
  private readonly resolve: JWTVerifyGetKey;

  constructor(
    readonly jwksUrl: string,
    options: RemoteSigningKeysOptions = {},
  ) {
    const url = new URL(jwksUrl);
    const loopback = LOOPBACK_HOSTS.has(url.hostname.toLowerCase());
    const agent = url.protocol === 'https:' && loopback && options.caCertificateFile !== undefined ? new https.Agent({ ca: [...rootCertificates, readCaFile(options.caCertificateFile)] }) : undefined;
    this.resolve = createRemoteJWKSet(url, { ...(agent === undefined ? {} : { agent }), cacheMaxAge: options.cacheMaxAgeInMs ?? 10 * 60 * 1000, cooldownDuration: 30_000, timeoutDuration: 5_000 });
  }

  async keyFor(header: TokenHeader): Promise<VerificationKey> {
    try {
      return await this.resolve({ ...header, alg: header.alg ?? '' }, { payload: '', signature: '' });
    } catch (err) {
      if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) throw errors.invalidAuthenticationToken();
      const reason = err instanceof joseErrors.JOSEError ? err.code : ((err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.name : 'error'));
      throw errors.tokenKeysUnavailable(this.jwksUrl, reason);
    }
  }
}

function readCaFile(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw errors.invalidConfiguration(CA_FILE_SETTING, `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw errors.invalidConfiguration(CA_FILE_SETTING, 'the file holds no PEM certificate');
  return pem;
}
