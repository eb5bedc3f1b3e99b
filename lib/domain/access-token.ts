/**
 * What Kluis reads from a verified access token, and the checks on its claims that Azure Resource
 * Manager makes: the audience (the ARM resource ids clients ask tokens for), the issuer, and who the
 * caller is (object id, tenant, application, name). Signatures are checked elsewhere (services/authenticate).
 */
import { errors } from './errors';

/**
 * The resource ids the official clients ask tokens for when they call ARM: az and the SDKs use the
 * cloud's `active_directory_resource_id` (https://management.core.windows.net/) or the
 * resource-manager endpoint (https://management.azure.com/). Compared without a trailing slash, as
 * ARM lists both forms.
 */
export const ARM_AUDIENCES: readonly string[] = ['https://management.core.windows.net/', 'https://management.azure.com/'];

/** Who called, from a verified token: what the next layer (role assignments) authorizes. */
export interface Caller {
  /** `oid`: the principal's object id (what role assignments name). */
  objectId: string;
  /** `tid`: the principal's tenant. */
  tenantId: string;
  /** `appid` (v1 tokens) or `azp` (v2): the client application, or the service principal's app id. */
  applicationId?: string;
  /** `name`, `upn` or `unique_name`, for messages and logs. */
  name?: string;
  /** `idtyp` (`app` for service principals and managed identities) or inferred from `scp`/`upn`. */
  principalType: 'User' | 'ServicePrincipal';
}

/** The claims Kluis reads; others are ignored. */
export interface AccessTokenClaims {
  iss?: unknown;
  aud?: unknown;
  exp?: unknown;
  nbf?: unknown;
  tid?: unknown;
  oid?: unknown;
  sub?: unknown;
  appid?: unknown;
  azp?: unknown;
  idtyp?: unknown;
  scp?: unknown;
  name?: unknown;
  upn?: unknown;
  unique_name?: unknown;
}

const withoutTrailingSlash = (value: string): string => value.replace(/\/+$/, '');

/** The token's audiences (`aud` is a string or an array of strings). */
export function audiencesOf(claims: AccessTokenClaims): string[] {
  if (typeof claims.aud === 'string') return [claims.aud];
  if (Array.isArray(claims.aud)) return claims.aud.filter((value): value is string => typeof value === 'string');
  return [];
}

/** Throws ARM's InvalidAuthenticationTokenAudience unless one of the token's audiences is accepted. */
export function checkAudience(claims: AccessTokenClaims, accepted: readonly string[]): void {
  const wanted = new Set(accepted.map(withoutTrailingSlash));
  const audiences = audiencesOf(claims);
  if (audiences.some((audience) => wanted.has(withoutTrailingSlash(audience)))) return;
  const allowed = [...new Set(accepted.flatMap((audience) => [`${withoutTrailingSlash(audience)}/`, withoutTrailingSlash(audience)]))];
  throw errors.invalidAuthenticationTokenAudience(audiences.join(',') || '(none)', allowed);
}

/** Throws ARM's InvalidAuthenticationTokenTenant unless the token's issuer is one of the accepted ones (exactly). */
export function checkIssuer(claims: AccessTokenClaims, accepted: readonly string[], authority: string): void {
  if (typeof claims.iss === 'string' && accepted.includes(claims.iss)) return;
  throw errors.invalidAuthenticationTokenTenant(typeof claims.iss === 'string' ? claims.iss : '(none)', accepted, authority);
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const stringClaim = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined);

/** The caller a verified token names; a token without an object id and tenant (GUIDs) is invalid. */
export function callerOf(claims: AccessTokenClaims): Caller {
  const objectId = stringClaim(claims.oid);
  const tenantId = stringClaim(claims.tid);
  if (objectId === undefined || !GUID.test(objectId)) throw errors.invalidAuthenticationToken("The access token names no principal: its 'oid' claim is missing or not an object id.");
  if (tenantId === undefined || !GUID.test(tenantId)) throw errors.invalidAuthenticationToken("The access token names no tenant: its 'tid' claim is missing or not a tenant id.");
  const applicationId = stringClaim(claims.appid) ?? stringClaim(claims.azp);
  const name = stringClaim(claims.name) ?? stringClaim(claims.upn) ?? stringClaim(claims.unique_name);
  const isApp = claims.idtyp === 'app' || (claims.idtyp === undefined && claims.scp === undefined && claims.upn === undefined && claims.unique_name === undefined);
  return {
    objectId: objectId.toLowerCase(),
    tenantId: tenantId.toLowerCase(),
    ...(applicationId === undefined ? {} : { applicationId }),
    ...(name === undefined ? {} : { name }),
    principalType: isApp ? 'ServicePrincipal' : 'User',
  };
}

/** A time as ARM writes it in token messages: `8/17/2017 10:54:41 PM` (UTC). */
export function armUtcTime(time: Date): string {
  const hours = time.getUTCHours();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${time.getUTCMonth() + 1}/${time.getUTCDate()}/${time.getUTCFullYear()} ${hours % 12 === 0 ? 12 : hours % 12}:${pad(time.getUTCMinutes())}:${pad(time.getUTCSeconds())} ${hours < 12 ? 'AM' : 'PM'}`;
}

/**
 * The `Authorization` header's bearer token; throws ARM's AuthenticationFailed when the header is
 * missing or not `Bearer <token>`.
 */
export function bearerTokenOf(authorization: string | null | undefined): string {
  if (authorization === null || authorization === undefined || authorization.trim() === '') throw errors.authenticationHeaderMissing();
  const match = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(authorization);
  if (match === null) throw errors.authenticationHeaderInvalid();
  return match[1];
}
