/**
 * The emulator's side of Key Vault's bearer-token challenge. A request without a token gets 401 with
 * `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>", resource="https://vault.azure.net"`
 * (what the SDK's challenge policy parses); a token is a JWT whose claims are read, not verified (the
 * local credential signs nothing): audience, tenant, lifetime and the caller's object id are checked.
 */
import type { LocalTokenClaims } from '../../lib/stores/azure/keyvault-credential';
import { keyVaultErrors } from './errors';

export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';
const CLOCK_SKEW_IN_SECONDS = 300;

export interface Caller {
  objectId: string;
  tenantId: string;
  applicationId?: string;
}

export function challengeHeader(tenantId: string): string {
  return `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${KEY_VAULT_RESOURCE}"`;
}

function decodeClaims(token: string): Partial<LocalTokenClaims> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null ? (claims as Partial<LocalTokenClaims>) : undefined;
  } catch {
    return undefined;
  }
}

/** The caller a request's Authorization header names; throws a 401 KeyVaultError otherwise. */
export function authenticate(authorization: string | null, vaultTenantId: string, nowInMs: number): Caller {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) throw keyVaultErrors.missingToken();
  const claims = decodeClaims(match[1]);
  if (claims === undefined) throw keyVaultErrors.invalidToken('AKV10021: The bearer token could not be parsed.');
  const audience = typeof claims.aud === 'string' ? claims.aud.replace(/\/$/, '') : '';
  if (audience !== KEY_VAULT_RESOURCE) throw keyVaultErrors.invalidToken(`AKV10022: Invalid audience. Expected ${KEY_VAULT_RESOURCE}, found: ${String(claims.aud)}.`);
  if (claims.tid !== vaultTenantId) {
    throw keyVaultErrors.invalidToken(`AKV10032: Invalid issuer. Expected one of https://sts.windows.net/${vaultTenantId}/, found ${String(claims.iss)}.`);
  }
  const now = nowInMs / 1000;
  if (typeof claims.exp !== 'number' || claims.exp + CLOCK_SKEW_IN_SECONDS < now) throw keyVaultErrors.invalidToken('AKV10023: Token is expired.');
  if (typeof claims.nbf === 'number' && claims.nbf - CLOCK_SKEW_IN_SECONDS > now) throw keyVaultErrors.invalidToken('AKV10024: Token is not valid yet.');
  if (typeof claims.oid !== 'string' || claims.oid === '') throw keyVaultErrors.invalidToken("AKV10031: The token names no principal (claim 'oid').");
  return { objectId: claims.oid, tenantId: claims.tid, ...(typeof claims.appid === 'string' ? { applicationId: claims.appid } : {}) };
}

/** How Key Vault names a caller in Forbidden messages. */
export function describeCaller(caller: Caller): string {
  return `${caller.applicationId === undefined ? '' : `appid=${caller.applicationId};`}oid=${caller.objectId};iss=https://sts.windows.net/${caller.tenantId}/`;
}
