/**
 * The emulator's side of Key Vault's bearer-token challenge. A request without a token gets 401 with
 * `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>", resource="https://vault.azure.net"`
 * (what the SDK's challenge policy parses). A token must be an RS256 JWT signed by a key the emulator
 * trusts (the local identity endpoint's), from a trusted issuer, for Key Vault's audience, for the
 * vault's tenant and within its lifetime; unsigned tokens and tokens signed by anyone else are refused.
 */
import { createLocalJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { keyVaultErrors } from './errors';

export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';
const CLOCK_SKEW_IN_SECONDS = 300;

export interface Caller {
  objectId: string;
  tenantId: string;
  applicationId?: string;
}

/** Whose tokens the emulator accepts: the issuers (`iss`, exact) and their signing keys. */
export interface TokenTrust {
  issuers: readonly string[];
  keys: JSONWebKeySet;
}

export function challengeHeader(tenantId: string): string {
  return `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${KEY_VAULT_RESOURCE}"`;
}

/** The caller a request's Authorization header proves; throws a 401 KeyVaultError otherwise. */
export async function authenticate(authorization: string | null, vaultTenantId: string, nowInMs: number, trust: TokenTrust | undefined): Promise<Caller> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) throw keyVaultErrors.missingToken();
  if (trust === undefined) throw keyVaultErrors.invalidToken('AKV10000: The emulator trusts no token issuer (start it with the identity endpoint).');
  try {
    if (decodeProtectedHeader(match[1]).alg !== 'RS256') throw keyVaultErrors.invalidToken('AKV10021: The bearer token is not signed with RS256.');
  } catch (err) {
    if (err instanceof Error && err.name === 'KeyVaultError') throw err;
    throw keyVaultErrors.invalidToken('AKV10021: The bearer token could not be parsed.');
  }
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(match[1], createLocalJWKSet(trust.keys), {
      algorithms: ['RS256'],
      clockTolerance: CLOCK_SKEW_IN_SECONDS,
      currentDate: new Date(nowInMs),
      requiredClaims: ['exp'],
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw keyVaultErrors.invalidToken('AKV10023: Token is expired.');
    if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'nbf') throw keyVaultErrors.invalidToken('AKV10024: Token is not valid yet.');
    throw keyVaultErrors.invalidToken('AKV10000: The bearer token signature could not be verified.');
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.some((audience) => typeof audience === 'string' && audience.replace(/\/$/, '') === KEY_VAULT_RESOURCE)) {
    throw keyVaultErrors.invalidToken(`AKV10022: Invalid audience. Expected ${KEY_VAULT_RESOURCE}, found: ${String(claims.aud).slice(0, 100)}.`);
  }
  if (typeof claims.iss !== 'string' || !trust.issuers.includes(claims.iss) || claims.tid !== vaultTenantId) {
    throw keyVaultErrors.invalidToken(`AKV10032: Invalid issuer. Expected one of ${trust.issuers.join(', ')} for tenant ${vaultTenantId}, found ${String(claims.iss).slice(0, 100)}.`);
  }
  if (typeof claims.oid !== 'string' || claims.oid === '') throw keyVaultErrors.invalidToken("AKV10031: The token names no principal (claim 'oid').");
  return { objectId: claims.oid, tenantId: claims.tid, ...(typeof claims.appid === 'string' ? { applicationId: claims.appid } : {}) };
}

/** How Key Vault names a caller in Forbidden messages. */
export function describeCaller(caller: Caller): string {
  return `${caller.applicationId === undefined ? '' : `appid=${caller.applicationId};`}oid=${caller.objectId};iss=https://sts.windows.net/${caller.tenantId}/`;
}
