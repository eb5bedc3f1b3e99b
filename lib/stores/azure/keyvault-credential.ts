/**
 * A TokenCredential for a local principal: signed tokens from the local identity endpoint, asked for
 * as an App Service app asks its managed identity (`GET {IDENTITY_ENDPOINT}?resource=…&api-version=2019-08-01&principal_id={objectId}`
 * with the `X-IDENTITY-HEADER` secret; kluis-host sets both, as App Service does). The Key Vault
 * emulator checks their signatures against the endpoint's keys. In Azure the app uses
 * DefaultAzureCredential (its managed identity) instead; only the choice of credential differs.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

/** The tenant of emulated vaults and local principals unless one is named. */
export const LOCAL_TENANT_ID = '00000000-0000-0000-0000-00000000c0de';

/** Asks for a new token this long before the current one expires. */
const REFRESH_MARGIN_IN_MS = 5 * 60_000;

export interface LocalPrincipal {
  /** The principal's object id: what access policies name. It must be a managed identity of the endpoint's directory. */
  objectId: string;
}

/** Where the local identity endpoint issues managed identity tokens (App Service's IDENTITY_ENDPOINT / IDENTITY_HEADER). */
export interface LocalIdentityEndpoint {
  msiEndpoint: string;
  /** Never logged. */
  secret: string;
}

export class LocalPrincipalCredential implements TokenCredential {
  private readonly cache = new Map<string, Promise<AccessToken>>();

  constructor(
    readonly principal: LocalPrincipal,
    private readonly endpoint: LocalIdentityEndpoint,
    private readonly fetchFn: typeof fetch = (input, init) => fetch(input, init),
  ) {
    if (principal.objectId.trim() === '') throw new Error('A local principal needs an object id');
  }

  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    const resource = ((Array.isArray(scopes) ? scopes[0] : scopes) ?? '').replace(/\/\.default$/, '');
    const cached = this.cache.get(resource);
    const current = cached === undefined ? undefined : await cached.catch(() => undefined);
    if (current !== undefined && current.expiresOnTimestamp - REFRESH_MARGIN_IN_MS > Date.now()) return current;
    const next = this.request(resource);
    this.cache.set(resource, next);
    return next;
  }

  private async request(resource: string): Promise<AccessToken> {
    const query = new URLSearchParams({ resource, 'api-version': '2019-08-01', principal_id: this.principal.objectId });
    let response: Response;
    try {
      response = await this.fetchFn(`${this.endpoint.msiEndpoint}?${query.toString()}`, { headers: { 'x-identity-header': this.endpoint.secret } });
    } catch (err) {
      throw new Error(`The local identity endpoint does not answer at ${this.endpoint.msiEndpoint} (${(err as Error).message}).`, { cause: err });
    }
    const body = (await response.json().catch(() => undefined)) as { access_token?: unknown; expires_on?: unknown; error_description?: unknown } | undefined;
    if (!response.ok || typeof body?.access_token !== 'string') {
      const why = typeof body?.error_description === 'string' ? `: ${body.error_description.slice(0, 200)}` : '';
      throw new Error(`The local identity endpoint gave no token for ${this.principal.objectId} (HTTP ${response.status}${why}).`);
    }
    return { token: body.access_token, tokenType: 'Bearer', expiresOnTimestamp: Number(body.expires_on) * 1000 };
  }
}
