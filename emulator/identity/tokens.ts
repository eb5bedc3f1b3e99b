/**
 * Access tokens as Entra ID issues them for Azure Resource Manager (v1 tokens), signed RS256 with the
 * endpoint's key. Every token carries `iss`, `aud` (the resource asked for), `iat`, `nbf`, `exp`,
 * `tid`, `oid`, `uti`, `ver`; applications and managed identities add `appid`, `appidacr` and
 * `idtyp: app` (`sub` = their object id); users add `upn`, `unique_name`, `name`, `scp`, `idtyp: user`
 * and the client they signed in with as `appid`. az decodes these without verifying: it reads `tid`,
 * and for users `unique_name`.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Principal } from './principals';
import type { IdentitySecrets } from './signing-key';

/** The Azure CLI's public client id: the application users "sign in with" locally. */
export const AZURE_CLI_CLIENT_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';

export const DEFAULT_TOKEN_LIFETIME_IN_SECONDS = 60 * 60;

export interface TokenRequest {
  principal: Principal;
  /** The resource (audience), e.g. https://management.core.windows.net/ */
  resource: string;
  tenantId: string;
  issuer: string;
  /** How the principal proved itself: 1 = client secret, 2 = managed identity (as Entra's appidacr). */
  clientAuthentication: 'secret' | 'managedIdentity' | 'user';
  /** Users: the application they signed in with (`appid`); default the Azure CLI's. */
  clientId?: string;
  now: Date;
  lifetimeInSeconds?: number;
}

export interface IssuedToken {
  accessToken: string;
  /** Seconds since the epoch. */
  expiresOn: number;
  notBefore: number;
  expiresIn: number;
}

export function claimsFor(request: TokenRequest): Record<string, unknown> {
  const { principal, tenantId } = request;
  const common = { tid: tenantId, oid: principal.objectId, uti: randomBytes(16).toString('base64url'), ver: '1.0' };
  if (principal.kind === 'user') {
    return {
      ...common,
      sub: principal.objectId,
      idtyp: 'user',
      upn: principal.userPrincipalName,
      unique_name: principal.userPrincipalName,
      name: principal.displayName,
      scp: 'user_impersonation',
      amr: ['pwd'],
      appid: request.clientId ?? AZURE_CLI_CLIENT_ID,
      appidacr: '0',
    };
  }
  return { ...common, sub: principal.objectId, idtyp: 'app', appid: principal.appId, appidacr: request.clientAuthentication === 'secret' ? '1' : '2' };
}

export async function issueToken(request: TokenRequest, secrets: Pick<IdentitySecrets, 'keyId' | 'privateKey'>): Promise<IssuedToken> {
  const issuedAt = Math.floor(request.now.getTime() / 1000);
  const lifetime = request.lifetimeInSeconds ?? DEFAULT_TOKEN_LIFETIME_IN_SECONDS;
  // Entra ID back-dates nbf and iat by five minutes for clock skew; so does this endpoint.
  const notBefore = issuedAt - 300;
  const expiresOn = issuedAt + lifetime;
  const accessToken = await new SignJWT(claimsFor(request))
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: secrets.keyId })
    .setIssuer(request.issuer)
    .setAudience(request.resource)
    .setIssuedAt(notBefore)
    .setNotBefore(notBefore)
    .setExpirationTime(expiresOn)
    .sign(secrets.privateKey);
  return { accessToken, expiresOn, notBefore, expiresIn: lifetime };
}

/** `resource` from an OAuth 2.0 v2 scope: `https://management.core.windows.net//.default` → `https://management.core.windows.net/`. */
export function resourceOfScope(scope: string): string | undefined {
  const scopes = scope.split(/\s+/).filter((s) => s !== '' && !['openid', 'profile', 'offline_access'].includes(s));
  if (scopes.length !== 1 || !scopes[0].endsWith('/.default')) return undefined;
  return scopes[0].slice(0, -'/.default'.length);
}

/** Whether a resource is an http(s) URL or an application id URI (`api://…`, a GUID). */
export function isValidResource(resource: string): boolean {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(resource)) return true;
  try {
    const url = new URL(resource);
    return ['http:', 'https:', 'api:'].includes(url.protocol) && resource.length <= 512;
  } catch {
    return false;
  }
}
