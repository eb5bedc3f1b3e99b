/**
 * Who is signed in and how the dashboard gets their token. Two ways in (config.json says which):
 * the local identity endpoint (local-sign-in.ts: authorization code with PKCE, no library needed) and
 * Entra ID (entra-sign-in.ts: MSAL browser). Tokens stay in sessionStorage: gone when the tab closes,
 * never in localStorage.
 */
export interface SignedInUser {
  name: string;
  /** The sign-in name (upn), when the token has one. */
  userName?: string;
  objectId: string;
  tenantId?: string;
}

export interface Session {
  user: SignedInUser;
  /** A valid access token for the API (renewed or re-asked for when it expires). */
  token(): Promise<string>;
  signOut(): void;
}

export type SignInSettings =
  | { kind: 'entra'; clientId: string; authority: string; scopes: string[] }
  | { kind: 'local'; clientId: string; authority: string; scopes: string[] }
  | { kind: 'none' };

export interface DashboardConfig {
  signIn: SignInSettings;
}

/** The claims of a JWT, read for display only (the API verifies tokens; the browser never needs to). */
export function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (payload === undefined) return {};
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
    return JSON.parse(decodeURIComponent(Array.from(json, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''))) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export function userOfClaims(claims: Record<string, unknown>): SignedInUser {
  const text = (name: string) => (typeof claims[name] === 'string' ? (claims[name] as string) : undefined);
  const userName = text('upn') ?? text('preferred_username') ?? text('unique_name');
  return {
    name: text('name') ?? userName ?? text('appid') ?? 'Signed in',
    ...(userName === undefined ? {} : { userName }),
    objectId: text('oid') ?? text('sub') ?? '',
    ...(text('tid') === undefined ? {} : { tenantId: text('tid') }),
  };
}
