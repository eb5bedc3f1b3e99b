/**
 * Browser sign-in at the local identity endpoint: OAuth 2.0's authorization code flow with PKCE
 * (RFC 6749 §4.1, RFC 7636), the flow single-page apps use with Entra ID (MSAL browser sends exactly
 * this), for the local directory's users.
 *
 *   GET  /{authority}/oauth2/[v2.0/]authorize?client_id&redirect_uri&response_type=code&scope&state
 *        &code_challenge&code_challenge_method=S256     → the sign-in page: pick a user of the directory
 *   POST /{authority}/oauth2/[v2.0/]authorize  (the page's form, the same fields + `user`)
 *        → 302 redirect_uri?code=…&state=…
 *   POST /{authority}/oauth2/[v2.0/]token  grant_type=authorization_code, code, redirect_uri,
 *        client_id, code_verifier                        → {access_token, token_type, expires_in, scope}
 *
 * Locally there are no passwords: whoever reaches the endpoint (it listens on 127.0.0.1 only) may
 * already create principals through its admin API, so the page signs in the user picked. What keeps
 * the code to its client: redirect URIs must be loopback URLs (a code never leaves the machine), PKCE
 * with S256 is required, a code is single-use, lives five minutes, and only redeems with the
 * client id, redirect URI and verifier it was issued for.
 */
import { createHash, randomBytes } from 'node:crypto';
import { identityErrors } from './errors';
import type { Principal } from './principals';

export const AUTHORIZATION_CODE_LIFETIME_IN_MS = 5 * 60_000;

/** What an authorize request asks for, validated. */
export interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  scope: string;
  state?: string;
  codeChallenge: string;
  /** Entra echoes these; the page keeps them through its form. */
  nonce?: string;
  loginHint?: string;
}

interface IssuedCode {
  request: AuthorizeRequest;
  principal: Principal;
  expiresAtInMs: number;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;

/** Reads and checks the authorize parameters (query of the GET, form of the POST). */
export function parseAuthorizeRequest(fields: URLSearchParams): AuthorizeRequest {
  const required = (name: string) => {
    const value = fields.get(name);
    if (value === null || value === '') throw identityErrors.missingParameter(name);
    return value;
  };
  const responseType = required('response_type');
  if (responseType !== 'code') throw identityErrors.invalidAuthorizeRequest(`response_type '${responseType.slice(0, 40)}' is not supported: use 'code' (with PKCE)`);
  const clientId = required('client_id');
  if (clientId.length > 128) throw identityErrors.invalidAuthorizeRequest('client_id is too long');
  const redirectUri = required('redirect_uri');
  if (!isLoopbackRedirect(redirectUri)) throw identityErrors.invalidAuthorizeRequest('redirect_uri must be an http(s) URL on this machine (127.0.0.1, localhost or [::1]) without a fragment');
  const codeChallenge = fields.get('code_challenge');
  if (codeChallenge === null || codeChallenge === '') throw identityErrors.invalidAuthorizeRequest('PKCE is required: send code_challenge and code_challenge_method=S256');
  if (fields.get('code_challenge_method') !== 'S256') throw identityErrors.invalidAuthorizeRequest("code_challenge_method must be 'S256'");
  if (!PKCE_VALUE.test(codeChallenge)) throw identityErrors.invalidAuthorizeRequest('code_challenge is not a base64url SHA-256 value');
  const optional = (name: string) => {
    const value = fields.get(name);
    return value === null || value === '' ? undefined : value.slice(0, 2048);
  };
  const state = optional('state');
  const nonce = optional('nonce');
  const loginHint = optional('login_hint');
  return {
    clientId,
    redirectUri,
    scope: fields.get('scope') ?? '',
    codeChallenge,
    ...(state === undefined ? {} : { state }),
    ...(nonce === undefined ? {} : { nonce }),
    ...(loginHint === undefined ? {} : { loginHint }),
  };
}

export function isLoopbackRedirect(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_HOSTS.has(url.hostname) && url.hash === '' && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

/** `base64url(SHA-256(verifier))`, RFC 7636 §4.2. */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** Where the browser goes with its code (or error), state echoed. */
export function redirectWith(request: Pick<AuthorizeRequest, 'redirectUri' | 'state'>, fields: Record<string, string>): string {
  const url = new URL(request.redirectUri);
  for (const [name, value] of Object.entries(fields)) url.searchParams.set(name, value);
  if (request.state !== undefined) url.searchParams.set('state', request.state);
  return url.toString();
}

/** The codes issued and not yet redeemed, in memory: a restart simply asks the user to sign in again. */
export class AuthorizationCodes {
  private readonly codes = new Map<string, IssuedCode>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  issue(request: AuthorizeRequest, principal: Principal): string {
    this.sweep();
    const code = randomBytes(32).toString('base64url');
    this.codes.set(code, { request, principal, expiresAtInMs: this.now().getTime() + AUTHORIZATION_CODE_LIFETIME_IN_MS });
    return code;
  }

  /** The user and request a code was issued for; throws invalid_grant for anything that does not match (the code is spent either way). */
  redeem(form: URLSearchParams): { principal: Principal; request: AuthorizeRequest } {
    const code = form.get('code');
    if (code === null || code === '') throw identityErrors.missingParameter('code');
    const verifier = form.get('code_verifier');
    if (verifier === null || verifier === '') throw identityErrors.missingParameter('code_verifier');
    const issued = this.codes.get(code);
    this.codes.delete(code);
    if (issued === undefined || issued.expiresAtInMs <= this.now().getTime()) throw identityErrors.invalidGrant('The authorization code is unknown, expired or already redeemed: sign in again.');
    if (form.get('client_id') !== issued.request.clientId) throw identityErrors.invalidGrant('The client_id is not the one the code was issued to.');
    if (form.get('redirect_uri') !== issued.request.redirectUri) throw identityErrors.invalidGrant('The redirect_uri is not the one the code was issued for.');
    if (!PKCE_VALUE.test(verifier) || s256(verifier) !== issued.request.codeChallenge) throw identityErrors.invalidGrant('The code_verifier does not match the code_challenge.');
    return { principal: issued.principal, request: issued.request };
  }

  private sweep(): void {
    const nowMs = this.now().getTime();
    for (const [code, issued] of this.codes) if (issued.expiresAtInMs <= nowMs) this.codes.delete(code);
  }
}

const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The sign-in page: the directory's users, each a button of one form that posts the request back.
 * Plain HTML and inline CSS, no script (its Content-Security-Policy forbids any).
 */
export function signInPage(request: AuthorizeRequest, users: readonly Principal[], tenantId: string): string {
  const hidden = (name: string, value: string | undefined) => (value === undefined ? '' : `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`);
  const fields = [
    hidden('response_type', 'code'),
    hidden('client_id', request.clientId),
    hidden('redirect_uri', request.redirectUri),
    hidden('scope', request.scope),
    hidden('state', request.state),
    hidden('code_challenge', request.codeChallenge),
    hidden('code_challenge_method', 'S256'),
    hidden('nonce', request.nonce),
    hidden('login_hint', request.loginHint),
  ].join('');
  const hint = request.loginHint?.toLowerCase();
  const buttons = users
    .map((user) => {
      const upn = user.userPrincipalName ?? user.objectId;
      const autofocus = hint !== undefined && upn.toLowerCase() === hint ? ' autofocus' : '';
      return `<li><button type="submit" name="user" value="${escapeHtml(user.objectId)}"${autofocus}><span class="name">${escapeHtml(user.displayName)}</span><span class="upn">${escapeHtml(upn)}</span></button></li>`;
    })
    .join('');
  const target = new URL(request.redirectUri).origin;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in — Kluis local identity</title>
<style>
body{font-family:"Segoe UI",system-ui,sans-serif;background:#f5f5f5;color:#242424;margin:0;display:flex;justify-content:center;padding:48px 16px}
main{background:#fff;max-width:440px;width:100%;padding:32px;border-radius:8px;box-shadow:0 2px 8px rgba(0,0,0,.14)}
h1{font-size:24px;font-weight:600;margin:0 0 8px}p{margin:0 0 16px;line-height:1.4}
ul{list-style:none;padding:0;margin:0}li{margin:0 0 8px}
button{width:100%;text-align:left;padding:12px 16px;border:1px solid #d1d1d1;border-radius:4px;background:#fff;font:inherit;cursor:pointer;display:flex;flex-direction:column}
button:hover{background:#ebf3fc;border-color:#0f6cbd}button:focus-visible{outline:2px solid #0f6cbd;outline-offset:2px}
.name{font-weight:600}.upn{color:#424242;font-size:14px}.note{font-size:13px;color:#424242;margin-top:16px}
</style></head>
<body><main>
<h1>Pick an account</h1>
<p>Signing in to <strong>${escapeHtml(target)}</strong> (client ${escapeHtml(request.clientId)}) as a user of the local directory, tenant ${escapeHtml(tenantId)}.</p>
<form method="post">${fields}<ul>${buttons}</ul></form>
<p class="note">Kluis's local identity endpoint: users of this machine's directory sign in without a password. Create users with <code>POST /admin/principals</code> <code>{"displayName","kind":"user"}</code>.</p>
</main></body></html>`;
}

/** Headers of the sign-in page: no caching, no framing, no script. */
export const SIGN_IN_PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http://127.0.0.1:* http://localhost:* https://127.0.0.1:* https://localhost:*; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};
