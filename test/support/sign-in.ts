/**
 * Signing the tests in to a host's identity endpoint, as a client would: as the local administrator
 * (the default managed identity, Owner by KLUIS_OWNER_PRINCIPAL_IDS, through the App Service MSI shape
 * with the secret from the endpoint's folder — what the test support sends on every request to a host
 * that serves Kluis, see host-process.ts `http`), or as a service principal made through the
 * endpoint's directory (the administrator's token opens it) with tokens from its AD FS-shaped authority
 * by client credentials — principals the tests give exactly the roles they need. Tokens are renewed
 * before they expire; everything goes over the endpoint's plain-HTTP listener, so no CA is needed.
 */
import { readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';

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
  /** The endpoint's identity.json (signing key, MSI secret; mode 600), when logged. */
  secretsFile?: string;
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
  const secretsFile = text('identitySecretsFile');
  return { httpUrl, httpsUrl, tenantId, issuer, jwksUrl, authority, msiEndpoint, caFile, ...(secretsFile === undefined ? {} : { secretsFile }) };
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

/** A new service principal of the endpoint's directory, with its secret (shown once); `adminToken` opens the directory. */
export async function createServicePrincipal(identity: Pick<IdentityEndpointUrls, 'httpUrl'>, displayName: string, adminToken: string): Promise<ServicePrincipal> {
  const response = await fetch(`${identity.httpUrl}/admin/principals`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
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

/** The MSI secret of an endpoint whose folder the test can read (identity.json, mode 600). */
export function msiSecretOf(identity: Pick<IdentityEndpointUrls, 'secretsFile'>): string {
  if (identity.secretsFile === undefined) throw new Error('The identity endpoint logged no secrets file: cannot sign in as its managed identity.');
  return (JSON.parse(readFileSync(identity.secretsFile, 'utf8')) as { msiSecret: string }).msiSecret;
}

/**
 * Tokens of the endpoint's default managed identity (the local administrator) or, with `principalId`,
 * another managed identity of its directory, by the App Service MSI shape; renewed before they expire.
 */
export function managedIdentityTokens(identity: Pick<IdentityEndpointUrls, 'msiEndpoint' | 'secretsFile'>, principalId?: string): () => Promise<string> {
  let current: Promise<{ token: string; renewAtInMs: number }> | undefined;
  return async () => {
    const cached = current === undefined ? undefined : await current.catch(() => undefined);
    if (cached !== undefined && cached.renewAtInMs > Date.now()) return cached.token;
    current = (async () => {
      const query = new URLSearchParams({ resource: ARM_RESOURCE, 'api-version': '2019-08-01', ...(principalId === undefined ? {} : { principal_id: principalId }) });
      const response = await fetch(`${identity.msiEndpoint}?${query.toString()}`, { headers: { 'x-identity-header': msiSecretOf(identity) } });
      const body = await jsonOf<{ access_token: string; expires_on: string }>(response, 'managed identity token');
      return { token: body.access_token, renewAtInMs: Number(body.expires_on) * 1000 - REFRESH_MARGIN_IN_MS };
    })();
    return (await current).token;
  };
}

/** Tokens of one service principal (created on first use with the administrator's token), renewed five minutes before they expire. */
export function servicePrincipalTokens(identity: Pick<IdentityEndpointUrls, 'httpUrl'>, adminToken: () => Promise<string>, displayName = 'kluis-e2e-tests'): () => Promise<string> {
  let principal: Promise<ServicePrincipal> | undefined;
  let current: Promise<{ token: string; renewAtInMs: number }> | undefined;
  return async () => {
    const cached = current === undefined ? undefined : await current.catch(() => undefined);
    if (cached !== undefined && cached.renewAtInMs > Date.now()) return cached.token;
    principal ??= (async () => createServicePrincipal(identity, displayName, await adminToken()))().catch((err: unknown) => {
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

/** A managed identity of the endpoint's directory with the object id the test chose (e.g. the app's backup identity). */
export async function createManagedIdentity(identity: Pick<IdentityEndpointUrls, 'httpUrl'>, displayName: string, objectId: string, adminToken: string): Promise<{ objectId: string; appId: string }> {
  const response = await fetch(`${identity.httpUrl}/admin/principals`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ displayName, kind: 'managedIdentity', objectId }),
  });
  return jsonOf<{ objectId: string; appId: string }>(response, `creating managed identity ${displayName}`);
}

/** The endpoint's issuer and signing keys (its JWKS, over plain HTTP), for an emulator that must trust its tokens. */
export async function identityTrust(identity: Pick<IdentityEndpointUrls, 'httpUrl' | 'issuer'>): Promise<{ issuers: string[]; keys: JSONWebKeySet }> {
  const keys = await jsonOf<JSONWebKeySet>(await fetch(`${identity.httpUrl}/discovery/keys`), 'signing keys');
  return { issuers: [identity.issuer], keys };
}
