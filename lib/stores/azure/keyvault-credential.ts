/**
 * A TokenCredential for the local Key Vault emulator. It mints an unsigned, JWT-shaped token that names
 * a principal (`oid`, `tid`, optionally `appid`); the emulator reads it to apply its access policies.
 * It proves nothing and real Key Vault rejects it: in Azure the app uses DefaultAzureCredential
 * (managed identity) instead, and only the choice of credential differs.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

/** The tenant of emulated vaults and local principals unless one is named. */
export const LOCAL_TENANT_ID = '00000000-0000-0000-0000-00000000c0de';

const TOKEN_LIFETIME_IN_MS = 60 * 60 * 1000;
const REFRESH_AFTER_IN_MS = 45 * 60 * 1000;

export interface LocalPrincipal {
  /** The principal's object id: what access policies name. */
  objectId: string;
  /** Default: the tenant the vault's challenge names, else LOCAL_TENANT_ID. */
  tenantId?: string;
  /** Shown in the emulator's Forbidden messages as `appid=…`, as Key Vault does. */
  applicationId?: string;
}

/** The claims of a local token (a subset of an Entra ID access token's). */
export interface LocalTokenClaims {
  aud: string;
  iss: string;
  tid: string;
  oid: string;
  appid?: string;
  iat: number;
  nbf: number;
  exp: number;
}

const base64urlJson = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export class LocalPrincipalCredential implements TokenCredential {
  constructor(
    readonly principal: LocalPrincipal,
    private readonly nowInMs: () => number = Date.now,
  ) {
    if (principal.objectId.trim() === '') throw new Error('A local principal needs an object id');
  }

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    const scope = (Array.isArray(scopes) ? scopes[0] : scopes) ?? '';
    const tenantId = options?.tenantId ?? this.principal.tenantId ?? LOCAL_TENANT_ID;
    const now = this.nowInMs();
    const seconds = Math.floor(now / 1000);
    const claims: LocalTokenClaims = {
      aud: scope.replace(/\/\.default$/, ''),
      iss: `https://sts.windows.net/${tenantId}/`,
      tid: tenantId,
      oid: this.principal.objectId,
      ...(this.principal.applicationId === undefined ? {} : { appid: this.principal.applicationId }),
      iat: seconds,
      nbf: seconds,
      exp: seconds + TOKEN_LIFETIME_IN_MS / 1000,
    };
    // An unsecured JWT (RFC 7519 §6): header.payload. with an empty signature.
    const token = `${base64urlJson({ alg: 'none', typ: 'JWT' })}.${base64urlJson(claims)}.`;
    return { token, tokenType: 'Bearer', expiresOnTimestamp: now + TOKEN_LIFETIME_IN_MS, refreshAfterTimestamp: now + REFRESH_AFTER_IN_MS };
  }
}
