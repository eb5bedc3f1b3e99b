/**
 * The identity endpoint's HTTP surface, the same on its HTTP and HTTPS listeners (documents always
 * name the HTTPS URLs; MSAL requires https authorities, App Service's MSI endpoint is plain http):
 *
 *   GET  /msi/token[/]?resource=…&api-version=2017-09-01   App Service managed identity (header `secret`)
 *   POST /msi/token[/]                                     Cloud Shell (header `Metadata: true`, form body)
 *   GET  /adfs/.well-known/openid-configuration            AD FS discovery (MSAL, az with an /adfs authority)
 *   POST /adfs/oauth2/token                                client credentials
 *   GET  /{tenant}/[v2.0/].well-known/openid-configuration tenant discovery (MSAL with instance discovery off)
 *   POST /{tenant}/oauth2/[v2.0/]token                     client credentials
 *   GET|POST /{adfs|tenant|organizations}/oauth2/[v2.0/]authorize   browser sign-in of a directory user
 *        (authorization code with PKCE, authorization-code.ts); its code is redeemed at …/token with
 *        grant_type=authorization_code (answers carry CORS headers for single-page apps)
 *   GET  /discovery/keys, /adfs/discovery/keys, /{tenant}/discovery/[v2.0/]keys   the signing keys (JWKS)
 *   GET  /ca.pem                                           the local CA clients trust
 *   GET|POST /admin/principals, GET|DELETE /admin/principals/{objectId|appId}     the directory: the host
 *        key or an Owner at the root scope only (admin-access.ts) — who may create principals may choose their ids
 *
 * Logs name the method and path only: never a query string (resources), header or body (secrets).
 */
import type { HostLogger } from '../logger';
import type { HostRequest, HostResponse } from '../http-types';
import { SIGN_IN_PAGE_HEADERS } from './authorization-code';
import { asIdentityError, identityErrors } from './errors';
import type { NewPrincipal } from './principals';
import type { IdentityService } from './service';
import { refusedAdminResponse, type AdminGate } from '../admin-access';

function json(status: number, body: unknown, extraHeaders: Record<string, string> = {}): HostResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache', ...extraHeaders },
    body: JSON.stringify(body),
  };
}

function form(request: HostRequest): URLSearchParams {
  return new URLSearchParams(request.body.toString('utf8'));
}

function jsonBody(request: HostRequest): unknown {
  if (request.body.length === 0) throw identityErrors.invalidBody('a JSON object is required');
  try {
    return JSON.parse(request.body.toString('utf8')) as unknown;
  } catch {
    throw identityErrors.invalidBody('it is not valid JSON');
  }
}

/**
 * A single-page app redeems its code from the browser: the token answer carries CORS headers, as Entra
 * ID's does for SPA redirect URIs (the code is bound to its PKCE verifier, so any origin may ask).
 */
function browserCors(request: HostRequest): Record<string, string> {
  return request.headers.get('origin') === null ? {} : { 'access-control-allow-origin': '*' };
}

export interface IdentityRouterOptions {
  caCertificatePem: string;
  logger?: HostLogger;
  adminGate?: AdminGate;
}

async function route(service: IdentityService, request: HostRequest, options: IdentityRouterOptions): Promise<HostResponse> {
  const method = request.method.toUpperCase();
  const path = request.url.pathname.replace(/\/+$/, '') || '/';
  const segments = path.split('/').filter(Boolean);
  const lower = segments.map((s) => s.toLowerCase());
  const tenant = service.tenantId;

  if (lower[0] === 'msi' && lower[1] === 'token' && segments.length === 2) {
    if (method === 'GET') return json(200, await service.appServiceToken(request.url.searchParams, request.headers));
    if (method === 'POST') return json(200, await service.cloudShellToken(form(request), request.headers));
  }
  if (method === 'GET' && path === '/ca.pem') return { status: 200, headers: { 'content-type': 'application/x-pem-file' }, body: options.caCertificatePem };

  const authority = lower[0] === 'adfs' ? 'adfs' : lower[0] === tenant || lower[0] === 'organizations' || lower[0] === 'common' ? 'tenant' : undefined;
  const rest = authority === undefined ? lower : lower.slice(1);
  const v2 = rest[0] === 'v2.0' || (rest[0] === 'oauth2' && rest[1] === 'v2.0') || (rest[0] === 'discovery' && rest[1] === 'v2.0');
  const tail = rest.filter((s) => s !== 'v2.0').join('/');
  if (method === 'GET' && tail === 'discovery/keys') return json(200, service.jwks(), { 'cache-control': 'max-age=3600' });
  if (authority !== undefined) {
    if (method === 'GET' && tail === '.well-known/openid-configuration') return json(200, service.openIdConfiguration(authority, v2));
    if (method === 'POST' && tail === 'oauth2/token') {
      const fields = form(request);
      if (fields.get('grant_type') === 'authorization_code') return json(200, await service.authorizationCodeToken(fields), browserCors(request));
      return json(200, await service.clientCredentialsToken(fields, request.headers.get('authorization')));
    }
    if (method === 'GET' && tail === 'oauth2/authorize') return { status: 200, headers: SIGN_IN_PAGE_HEADERS, body: service.signInPage(request.url.searchParams) };
    if (method === 'POST' && tail === 'oauth2/authorize') return { status: 302, headers: { location: service.authorize(form(request)), 'cache-control': 'no-store' } };
    if (tail === 'oauth2/devicecode') throw identityErrors.interactiveSignInNotSupported();
  }

  if (lower[0] === 'admin' && lower[1] === 'principals') {
    const decision = options.adminGate === undefined ? 'unauthenticated' : await options.adminGate(request, '/');
    if (decision !== 'allowed') return refusedAdminResponse(decision, "The identity endpoint's directory", '/');
    const registry = service.registry;
    if (segments.length === 2) {
      if (method === 'GET') return json(200, { value: registry.list() });
      if (method === 'POST') {
        const created = registry.create(jsonBody(request) as NewPrincipal);
        options.logger?.log('information', `Identity endpoint: created ${created.principal.kind} ${created.principal.displayName} (${created.principal.objectId})`, { category: 'Identity' });
        return json(201, { ...created.principal, ...(created.secret === undefined ? {} : { secret: created.secret }) });
      }
    } else if (segments.length === 3) {
      const id = decodeURIComponent(segments[2]);
      if (method === 'GET') {
        const principal = registry.get(id);
        if (principal === undefined) throw identityErrors.principalNotFound(id);
        return json(200, principal);
      }
      if (method === 'DELETE') return registry.delete(id) ? json(200, {}) : { status: 204 };
    }
  }
  throw identityErrors.routeNotFound(method, path);
}

export function identityRouter(service: IdentityService, options: IdentityRouterOptions): (request: HostRequest) => Promise<HostResponse> {
  return async (request) => {
    let response: HostResponse;
    try {
      response = await route(service, request, options);
    } catch (err) {
      const error = asIdentityError(err);
      if (error.status >= 500) options.logger?.log('error', `Identity endpoint: ${request.method} ${request.url.pathname} failed: ${err instanceof Error ? err.name : 'error'}`, { category: 'Identity' });
      const headers: Record<string, string> = error.code === 'invalid_client' ? { 'www-authenticate': 'Basic realm="identity endpoint"' } : {};
      const isTokenRequest = /\/token\/?$/i.test(request.url.pathname);
      response = json(error.status, error.toBody(), { ...headers, ...(isTokenRequest ? browserCors(request) : {}) });
    }
    options.logger?.log('debug', `Identity endpoint: ${request.method} ${request.url.pathname} → ${response.status}`, { category: 'Identity' });
    return response;
  };
}
