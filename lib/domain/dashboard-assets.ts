/**
 * What a request under `/dashboard/` asks for: the sign-in settings (`config.json`), a built asset of
 * `dist/web` (`assets/…` with content-hashed names, cached for good; `favicon.svg`), or a page of the
 * single-page app (any other path: `index.html`, never cached, so a new build shows at once). Pure:
 * the function serving them reads files through lib/stores/web-assets.
 */

/**
 * How the dashboard signs users in (lib/config reads it from the settings): MSAL browser with an Entra
 * app registration, the local identity endpoint's browser sign-in, or not configured.
 */
export type DashboardSignIn =
  | { kind: 'entra'; clientId: string; authority: string; scopes: string[] }
  | { kind: 'local'; clientId: string; authority: string; scopes: string[] }
  | { kind: 'none' };

export type DashboardRequest =
  | { kind: 'config' }
  | { kind: 'asset'; file: string; immutable: boolean }
  | { kind: 'page' }
  | { kind: 'notFound' };

export const DASHBOARD_BASE_PATH = '/dashboard/';
export const DASHBOARD_INDEX_FILE = 'index.html';

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const HASHED_NAME = /-[A-Z0-9]{8,}\.[a-z0-9]+$/i;

/**
 * `path` is the route's catch-all: the request path after `/dashboard/`, without query. Files are
 * only `assets/<name>`, `favicon.svg` and `config.json`; every other path is a page of the app (item
 * pages carry `;` and dots in their paths), answered with index.html whatever it says.
 */
export function dashboardRequestOf(path: string | undefined): DashboardRequest {
  const segments = (path ?? '').split('/').filter((segment) => segment !== '');
  if (segments.length === 1 && segments[0] === 'config.json') return { kind: 'config' };
  if (segments.length === 1 && segments[0] === 'favicon.svg') return { kind: 'asset', file: 'favicon.svg', immutable: false };
  if (segments[0] === 'assets') {
    const name = segments[1];
    if (segments.length !== 2 || name === undefined || !SAFE_SEGMENT.test(name)) return { kind: 'notFound' };
    return { kind: 'asset', file: `assets/${name}`, immutable: HASHED_NAME.test(name) };
  }
  return { kind: 'page' };
}

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  map: 'application/json; charset=utf-8',
  woff2: 'font/woff2',
};

export function contentTypeOf(file: string): string {
  const extension = /\.([a-z0-9]+)$/i.exec(file)?.[1]?.toLowerCase() ?? '';
  return CONTENT_TYPES[extension] ?? 'application/octet-stream';
}

/** What the browser receives at `/dashboard/config.json`: how to sign in. Nothing secret. */
export interface DashboardClientConfig {
  signIn: DashboardSignIn;
}

/**
 * The Content-Security-Policy of the dashboard's pages: scripts only from the app itself, styles
 * inline too (Fluent UI's Griffel inserts style rules at run time), requests to the app and to the
 * sign-in authority, no framing by others; MSAL's silent renewal frames the Entra authority.
 */
export function dashboardContentSecurityPolicy(signIn: DashboardSignIn): string {
  const authority = signIn.kind === 'none' ? undefined : new URL(signIn.authority).origin;
  const connect = ["'self'", ...(authority === undefined ? [] : [authority])];
  const frames = signIn.kind === 'entra' && authority !== undefined ? [authority] : ["'none'"];
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    `connect-src ${connect.join(' ')}`,
    `frame-src ${frames.join(' ')}`,
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ].join('; ');
}
