/**
 * Sign-in at Kluis's local identity endpoint, in the browser: OAuth 2.0's authorization code flow with
 * PKCE (RFC 7636), as MSAL does it with Entra ID. The page goes to the endpoint's sign-in page, the
 * user picks an account, the endpoint sends the browser back to `/dashboard/signed-in` with a code,
 * and the page redeems it (with the verifier only it knows) for an access token.
 */
import { claimsOf, userOfClaims, type Session, type SignedInUser } from './session';

const SESSION_KEY = 'kluis.session';
const PENDING_KEY = 'kluis.signIn';
export const SIGNED_IN_PATH = '/dashboard/signed-in';
const RENEW_MARGIN_IN_MS = 60_000;

interface StoredSession {
  accessToken: string;
  expiresAtInMs: number;
  user: SignedInUser;
}

interface PendingSignIn {
  state: string;
  verifier: string;
  returnTo: string;
}

export interface LocalSignInSettings {
  clientId: string;
  authority: string;
  scopes: string[];
}

function randomText(bytes = 32): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return base64Url(data);
}

function base64Url(data: Uint8Array): string {
  let text = '';
  data.forEach((byte) => (text += String.fromCharCode(byte)));
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64Url(new Uint8Array(digest));
}

function redirectUri(): string {
  return `${window.location.origin}${SIGNED_IN_PATH}`;
}

/** Goes to the identity endpoint's sign-in page; comes back to `returnTo` (a dashboard path). */
export async function startLocalSignIn(settings: LocalSignInSettings, returnTo: string, loginHint?: string): Promise<void> {
  const pending: PendingSignIn = { state: randomText(16), verifier: randomText(48), returnTo };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const query = new URLSearchParams({
    client_id: settings.clientId,
    response_type: 'code',
    redirect_uri: redirectUri(),
    scope: [...settings.scopes, 'openid', 'profile'].join(' '),
    state: pending.state,
    code_challenge: await challengeOf(pending.verifier),
    code_challenge_method: 'S256',
    ...(loginHint === undefined ? {} : { login_hint: loginHint }),
  });
  window.location.assign(`${settings.authority}/oauth2/v2.0/authorize?${query}`);
}

/** On `/dashboard/signed-in`: redeems the code; returns where to go next. Throws with the endpoint's error. */
export async function completeLocalSignIn(settings: LocalSignInSettings, url: URL): Promise<string> {
  const pending = readJson<PendingSignIn>(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  const error = url.searchParams.get('error');
  if (error !== null) throw new Error(`${error}: ${url.searchParams.get('error_description') ?? 'sign-in failed'}`);
  const code = url.searchParams.get('code');
  if (pending === undefined || code === null || url.searchParams.get('state') !== pending.state) throw new Error('This sign-in answer does not belong to a sign-in started here: sign in again.');
  const response = await fetch(`${settings.authority}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: settings.clientId, redirect_uri: redirectUri(), code_verifier: pending.verifier }).toString(),
  });
  const body = (await response.json()) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
  if (!response.ok || body.access_token === undefined) throw new Error(`${body.error ?? response.status}: ${body.error_description ?? 'the token request failed'}`);
  const stored: StoredSession = {
    accessToken: body.access_token,
    expiresAtInMs: Date.now() + (body.expires_in ?? 3600) * 1000,
    user: userOfClaims(claimsOf(body.access_token)),
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(stored));
  return pending.returnTo;
}

/** The session of this tab, while its token is valid. */
export function localSession(settings: LocalSignInSettings): Session | undefined {
  const stored = readJson<StoredSession>(SESSION_KEY);
  if (stored === undefined || stored.expiresAtInMs - RENEW_MARGIN_IN_MS <= Date.now()) return undefined;
  return {
    user: stored.user,
    token: async () => {
      const current = readJson<StoredSession>(SESSION_KEY);
      if (current === undefined || current.expiresAtInMs - RENEW_MARGIN_IN_MS <= Date.now()) {
        await startLocalSignIn(settings, currentPath(), current?.user.userName);
        throw new Error('The session expired: signing in again.');
      }
      return current.accessToken;
    },
    signOut: () => {
      sessionStorage.removeItem(SESSION_KEY);
      window.location.assign('/dashboard/');
    },
  };
}

export function currentPath(): string {
  return `${window.location.pathname}${window.location.search}`;
}

function readJson<T>(key: string): T | undefined {
  const text = sessionStorage.getItem(key);
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
