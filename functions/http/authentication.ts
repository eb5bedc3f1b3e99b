/**
 * Every request to Kluis's ARM API proves its caller with a bearer token (lib/services/authenticate),
 * before anything else is read (armRoute). The engine's raw /api/backups, /api/restores and /api/items
 * routes are not part of that API: they take the host's admin key only. A refused request gets 401
 * with ARM's error body and ARM's challenge:
 * `WWW-Authenticate: Bearer authorization_uri="…", error="invalid_token", error_description="…"`.
 * This is the app's check, on every host: kluis-host's own endpoints and other apps it hosts keep
 * their function-key auth levels.
 */
import type { HttpRequest } from '@azure/functions';
import { getConfig, DEFAULT_AUTH_AUTHORITY } from '../../lib/config';
import type { Caller } from '../../lib/domain/access-token';
import { isKluisErrorLike } from '../../lib/domain/errors';
import { authenticate } from '../../lib/services/authenticate';
import { authenticateDeps } from '../deps';

/** The caller the request's Authorization header proves; throws a 401 KluisError otherwise. */
export function callerOfRequest(request: HttpRequest): Promise<Caller> {
  return authenticate(request.headers.get('authorization'), authenticateDeps());
}

const MISSING_HEADER_DESCRIPTION = "The authentication failed because of missing 'Authorization' header.";

/** A quoted-string for a header value: header values are Latin-1 bytes, so typographic quotes become plain ones and
 * any other character outside printable ASCII a '?' (a message with ’ made the whole response fail). */
export function quoted(value: string): string {
  const ascii = value
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201C\u201D]/g, "'")
    .replace(/[^\x20-\x7E]/g, '?');
  return `"${ascii.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function authority(): string {
  try {
    return getConfig().auth.authority;
  } catch {
    return DEFAULT_AUTH_AUTHORITY;
  }
}

/** The WWW-Authenticate header of a refused token (a 401 error), as ARM sends it; undefined for other errors. */
export function challengeHeaders(err: unknown): Record<string, string> | undefined {
  if (!isKluisErrorLike(err) || err.status !== 401) return undefined;
  const description = err.code === 'AuthenticationFailed' && /missing/.test(err.message) ? MISSING_HEADER_DESCRIPTION : err.message;
  return { 'WWW-Authenticate': `Bearer authorization_uri=${quoted(authority())}, error="invalid_token", error_description=${quoted(description)}` };
}
