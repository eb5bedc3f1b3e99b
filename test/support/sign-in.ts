/**
 * Signing the tests in to a host's identity endpoint, as a client would: a service principal made
 * through the endpoint's admin API, tokens from its AD FS-shaped authority by client credentials
 * (over the endpoint's plain-HTTP listener, so no CA is needed), renewed before they expire. The test
 * support sends them on every request to a host that serves Kluis (see host-process.ts `http`).
 */

/** What kluis-host logs about its identity endpoint (the "Identity endpoint: …" record). */
export interface IdentityEndpointUrls {
  /** e.g. http://127.0.0.1:41000 */
  httpUrl: string;
  /** e.g. https://127.0.0.1:41001 */
  httpsUrl: string;
  tenantId: string;
  issuer: string;
  jwksUrl: string;
  /** The AD FS-shaped authority, https://…/adfs */
  authority: string;
  /** MSI_ENDPOINT (http) */
  msiEndpoint: string;
  /** The local CA's certificate file. */
  caFile: string;
}

/** The identity endpoint a host log record describes, if it is that record. */
export function identityUrlsOf(record: Record<string, unknown>): IdentityEndpointUrls | undefined {
  const text = (name: string) => (typeof record[name] === 'string' ? (record[name] as string) : undefined);
  const [httpUrl, httpsUrl, tenantId, issuer, jwksUrl, authority, msiEndpoint, caFile] = [
    'identityUrl',
    'identityHttpsUrl',
    'identityTenantId',
    'identityIssuer',
    'identityJwksUrl',
    'identityAuthority',
    'identityMsiEndpoint',
    'caFile',
  ].map(text);
  if (httpUrl === undefined || httpsUrl === undefined || tenantId === undefined || issuer === undefined || jwksUrl === undefined || authority === undefined || msiEndpoint === undefined || caFile === undefined) {
    return undefined;
  }
  return { httpUrl, httpsUrl, tenantId, issuer, jwksUrl, authority, msiEndpoint, caFile };
}

/** The resource tokens for Kluis's ARM API are asked for (as az asks for ARM's). */
export const ARM_RESOURCE = 'https://management.core.windows.net/';

export interface ServicePrincipal {
  objectId: string;
  appId: string;
  displayName: string;
  secret: string;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
}

async function jsonOf<T>(response: Response, what: string): Promise<T> {
  const text = await response.text();
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** A new service principal of the endpoint's directory, with its secret (shown once). */
export async function createServicePrincipal(identity: Pick<IdentityEndpointUrls, 'httpUrl'>, displayName: string): Promise<ServicePrincipal> {
  const response = await fetch(`${identity.httpUrl}/admin/principals`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ displayName, kind: 'servicePrincipal' }),
  });
  return jsonOf<ServicePrincipal>(response, `creating service principal ${displayName}`);
}

/** A token by client credentials at the endpoint's AD FS-shaped authority (`POST /adfs/oauth2/token`). */
export async function clientCredentialsToken(identity: Pick<IdentityEndpointUrls, 'httpUrl'>, principal: Pick<ServicePrincipal, 'appId' | 'secret'>, resource = ARM_RESOURCE): Promise<TokenResponse> {
  const response = await fetch(`${identity.httpUrl}/adfs/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: principal.appId, client_secret: principal.secret, scope: `${resource}/.default` }).toString(),
  });
  return jsonOf<TokenResponse>(response, 'client credentials token');
}

const REFRESH_MARGIN_IN_MS = 5 * 60_000;

/** Tokens of one service principal (created on first use), renewed five minutes before they expire. */
export function servicePrincipalTokens(identity: Pick<IdentityEndpointUrls, 'httpUrl'>, displayName = 'kluis-e2e-tests'): () => Promise<string> {
  let principal: Promise<ServicePrincipal> | undefined;
  let current: Promise<{ token: string; renewAtInMs: number }> | undefined;
  return async () => {
    const cached = current === undefined ? undefined : await current.catch(() => undefined);
    if (cached !== undefined && cached.renewAtInMs > Date.now()) return cached.token;
    principal ??= createServicePrincipal(identity, displayName).catch((err: unknown) => {
      principal = undefined;
      throw err;
    });
    const sp = principal;
    current = (async () => {
      const token = await clientCredentialsToken(identity, await sp);
      return { token: token.access_token, renewAtInMs: Date.now() + token.expires_in * 1000 - REFRESH_MARGIN_IN_MS };
    })();
    return (await current).token;
  };
}
