/**
 * What the identity endpoint does, independent of HTTP: the sign-in flows the official clients use,
 * each issuing a token for a principal of the registry, and the documents they discover it with.
 *
 *  - App Service managed identity (msrestazure, az 2.45 with APPSETTING_WEBSITE_SITE_NAME):
 *    `GET {MSI_ENDPOINT}/?resource=…&api-version=2017-09-01[&clientid=…]`, header `secret: {MSI_SECRET}`
 *    → `{access_token, expires_on: "MM/DD/YYYY HH:MM:SS +00:00", resource, token_type, client_id}`;
 *    api-version 2019-08-01 with `X-IDENTITY-HEADER` (azure-identity) → `expires_on` in epoch seconds.
 *  - Cloud Shell (MSI_ENDPOINT alone): `POST {MSI_ENDPOINT}` with `Metadata: true` and the form
 *    `resource=…[&client_id=…|object_id=…|msi_res_id=…]` → `{access_token, expires_in, expires_on,
 *    not_before, resource, token_type}`; signs in the default user (a managed identity when named).
 *  - Client credentials at an AD FS-shaped authority `https://…/adfs` (MSAL skips instance discovery
 *    for it) and at `https://…/{tenant}` (for MSAL with instance discovery off): `grant_type=client_credentials`,
 *    `client_id` + `client_secret` (form or HTTP Basic), `scope=<resource>/.default` (or `resource=`).
 */
import type { JSONWebKeySet } from 'jose';
import { AuthorizationCodes, parseAuthorizeRequest, redirectWith, signInPage, type AuthorizeRequest } from './authorization-code';
import { identityErrors } from './errors';
import { DEFAULT_MANAGED_IDENTITY, DEFAULT_USER, type Principal, type PrincipalRegistry } from './principals';
import type { IdentitySecrets } from './signing-key';
import { isValidResource, issueToken, resourceOfScope, type IssuedToken } from './tokens';

export interface IdentityServiceOptions {
  tenantId: string;
  registry: PrincipalRegistry;
  secrets: IdentitySecrets;
  /** Where the endpoint is reached over HTTPS (documents name it), e.g. https://127.0.0.1:7444 */
  httpsOrigin: () => string;
  now?: () => Date;
  tokenLifetimeInSeconds?: number;
}

export interface OAuthTokenResponse {
  token_type: 'Bearer';
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
}

/** `MM/DD/YYYY HH:MM:SS +00:00`, as App Service's 2017-09-01 MSI API writes `expires_on`. */
export function appServiceTime(epochSeconds: number): string {
  const t = new Date(epochSeconds * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(t.getUTCMonth() + 1)}/${pad(t.getUTCDate())}/${t.getUTCFullYear()} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())} +00:00`;
}

export class IdentityService {
  private readonly now: () => Date;
  private readonly codes: AuthorizationCodes;

  constructor(private readonly options: IdentityServiceOptions) {
    this.now = options.now ?? (() => new Date());
    this.codes = new AuthorizationCodes(this.now);
  }

  get tenantId(): string {
    return this.options.tenantId;
  }

  get registry(): PrincipalRegistry {
    return this.options.registry;
  }

  /** The `iss` of every token: `https://<endpoint>/<tenant>/`, as Entra's v1 `https://sts.windows.net/<tenant>/`. */
  get issuer(): string {
    return `${this.options.httpsOrigin()}/${this.options.tenantId}/`;
  }

  get jwksUri(): string {
    return `${this.options.httpsOrigin()}/discovery/keys`;
  }

  /** The AD FS-shaped authority for `az cloud register --endpoint-active-directory`. */
  get adfsAuthority(): string {
    return `${this.options.httpsOrigin()}/adfs`;
  }

  jwks(): JSONWebKeySet {
    return { keys: [this.options.secrets.publicJwk] };
  }

  /** OpenID Connect discovery for an authority: `adfs` or this tenant (`v2` adds /v2.0 to its endpoints). */
  openIdConfiguration(authority: 'adfs' | 'tenant', v2 = false): Record<string, unknown> {
    const origin = this.options.httpsOrigin();
    const base = authority === 'adfs' ? `${origin}/adfs` : `${origin}/${this.options.tenantId}`;
    const oauth = authority === 'adfs' ? `${base}/oauth2` : `${base}/oauth2${v2 ? '/v2.0' : ''}`;
    return {
      issuer: authority === 'adfs' ? base : this.issuer,
      access_token_issuer: this.issuer,
      authorization_endpoint: `${oauth}/authorize`,
      token_endpoint: `${oauth}/token`,
      jwks_uri: this.jwksUri,
      response_types_supported: ['code', 'id_token', 'code id_token', 'token'],
      response_modes_supported: ['query', 'fragment', 'form_post'],
      grant_types_supported: ['client_credentials', 'authorization_code'],
      code_challenge_methods_supported: ['S256'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      scopes_supported: ['openid', 'profile', 'offline_access'],
      claims_supported: ['aud', 'iss', 'iat', 'nbf', 'exp', 'tid', 'oid', 'sub', 'appid', 'idtyp', 'name', 'upn', 'unique_name'],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'kluis.local',
    };
  }

  /** The App Service shape: the secret header decides; `clientid` picks another managed identity. */
  async appServiceToken(query: URLSearchParams, headers: Headers): Promise<Record<string, string>> {
    const apiVersion = query.get('api-version') ?? '';
    const header = apiVersion === '2017-09-01' ? 'secret' : apiVersion === '2019-08-01' ? 'x-identity-header' : undefined;
    if (header === undefined) throw identityErrors.unsupportedApiVersion(apiVersion);
    if (headers.get(header) !== this.options.secrets.msiSecret) throw identityErrors.missingMsiSecret(header === 'secret' ? 'secret' : 'X-IDENTITY-HEADER');
    const resource = this.resource(query.get('resource'));
    const clientId = query.get('clientid') ?? query.get('client_id') ?? undefined;
    const principalId = query.get('principal_id') ?? query.get('object_id') ?? undefined;
    const principal = clientId === undefined && principalId === undefined ? DEFAULT_MANAGED_IDENTITY : this.options.registry.managedIdentity({ clientId, objectId: principalId });
    if (principal === undefined) throw identityErrors.unknownManagedIdentity();
    const token = await this.issue(principal, resource, 'managedIdentity');
    return {
      access_token: token.accessToken,
      expires_on: apiVersion === '2017-09-01' ? appServiceTime(token.expiresOn) : String(token.expiresOn),
      resource,
      token_type: 'Bearer',
      client_id: principal.appId ?? '',
    };
  }

  /** The Cloud Shell shape: `Metadata: true`, a form body; the default user unless a managed identity is named. */
  async cloudShellToken(form: URLSearchParams, headers: Headers): Promise<Record<string, string>> {
    if (headers.get('metadata')?.toLowerCase() !== 'true') throw identityErrors.missingMetadataHeader();
    const resource = this.resource(form.get('resource'));
    const clientId = form.get('client_id') ?? undefined;
    const objectId = form.get('object_id') ?? undefined;
    if (form.get('msi_res_id') !== null) throw identityErrors.unknownManagedIdentity();
    let principal: Principal | undefined = DEFAULT_USER;
    if (clientId !== undefined || objectId !== undefined) principal = this.options.registry.managedIdentity({ clientId, objectId });
    if (principal === undefined) throw identityErrors.unknownManagedIdentity();
    const token = await this.issue(principal, resource, principal.kind === 'user' ? 'user' : 'managedIdentity');
    return {
      access_token: token.accessToken,
      refresh_token: '',
      expires_in: String(token.expiresIn),
      expires_on: String(token.expiresOn),
      not_before: String(token.notBefore),
      resource,
      token_type: 'Bearer',
    };
  }

  /** OAuth 2.0 client credentials for a service principal (RFC 6749 §4.4). */
  async clientCredentialsToken(form: URLSearchParams, authorization: string | null): Promise<OAuthTokenResponse> {
    const grantType = form.get('grant_type');
    if (grantType === null) throw identityErrors.missingParameter('grant_type');
    if (grantType !== 'client_credentials') throw identityErrors.unsupportedGrantType(grantType);
    const basic = basicCredentials(authorization);
    const clientId = basic?.clientId ?? form.get('client_id');
    const secret = basic?.secret ?? form.get('client_secret');
    if (clientId === null) throw identityErrors.missingParameter('client_id');
    if (secret === null) throw identityErrors.missingParameter('client_secret');
    const scope = form.get('scope');
    const resourceParameter = form.get('resource');
    let resource: string;
    if (scope !== null) {
      const fromScope = resourceOfScope(scope);
      if (fromScope === undefined || !isValidResource(fromScope)) throw identityErrors.invalidScope(scope);
      resource = fromScope;
    } else if (resourceParameter !== null) {
      resource = this.resource(resourceParameter);
    } else {
      throw identityErrors.missingParameter('scope');
    }
    const principal = this.options.registry.verifyClientSecret(clientId, secret);
    if (principal === undefined) throw identityErrors.invalidClient();
    const token = await this.issue(principal, resource, 'secret');
    return { token_type: 'Bearer', expires_in: token.expiresIn, ext_expires_in: token.expiresIn, access_token: token.accessToken };
  }

  /** The browser sign-in page for an authorize request (authorization-code.ts): the directory's users. */
  signInPage(query: URLSearchParams): string {
    const request = parseAuthorizeRequest(query);
    const users = this.options.registry.list().filter((principal) => principal.kind === 'user');
    return signInPage(request, users, this.options.tenantId);
  }

  /** The page's answer: a code for the user picked, as the URL to send the browser to. */
  authorize(form: URLSearchParams): string {
    const request: AuthorizeRequest = parseAuthorizeRequest(form);
    const user = this.options.registry.get(form.get('user') ?? '');
    if (user?.kind !== 'user') throw identityErrors.unknownUser();
    return redirectWith(request, { code: this.codes.issue(request, user) });
  }

  /** `grant_type=authorization_code`: redeems a code with its PKCE verifier for the user's token. */
  async authorizationCodeToken(form: URLSearchParams): Promise<OAuthTokenResponse & { scope: string }> {
    const { principal, request } = this.codes.redeem(form);
    const resource = resourceOfScope(request.scope);
    if (resource === undefined || !isValidResource(resource)) throw identityErrors.invalidScope(request.scope);
    const token = await this.issue(principal, resource, 'user', request.clientId);
    return { token_type: 'Bearer', scope: request.scope, expires_in: token.expiresIn, ext_expires_in: token.expiresIn, access_token: token.accessToken };
  }

  /** A token for a principal of the registry (in-process callers such as the test support). */
  issue(principal: Principal, resource: string, clientAuthentication: 'secret' | 'managedIdentity' | 'user', clientId?: string): Promise<IssuedToken> {
    return issueToken(
      {
        principal,
        resource,
        ...(clientId === undefined ? {} : { clientId }),
        tenantId: this.options.tenantId,
        issuer: this.issuer,
        clientAuthentication,
        now: this.now(),
        ...(this.options.tokenLifetimeInSeconds === undefined ? {} : { lifetimeInSeconds: this.options.tokenLifetimeInSeconds }),
      },
      this.options.secrets,
    );
  }

  private resource(value: string | null): string {
    if (value === null || value === '') throw identityErrors.missingParameter('resource');
    if (!isValidResource(value)) throw identityErrors.invalidResource(value);
    return value;
  }
}

function basicCredentials(authorization: string | null): { clientId: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  // RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding (MSAL does so).
  const decode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
  try {
    return { clientId: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}
