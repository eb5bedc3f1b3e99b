/**
 * Who is calling Kluis's API: the bearer token of a request, checked as Azure Resource Manager checks
 * it, in this order: the header's form, the signature (RS256 only, by a key the configured JWKS
 * publishes — no `alg: none`, no HMAC), the lifetime (`exp` required, `nbf`, 5 minutes of skew), the
 * audience (ARM's resource ids plus the configured ones), the issuer. Each failure is ARM's code with a
 * message naming the cause; the token itself never appears in a message or a log line.
 */
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { AuthSettings } from '../config';
import { armUtcTime, bearerTokenOf, callerOf, checkAudience, checkIssuer, type Caller } from '../domain/access-token';
import { errors, isKluisErrorLike } from '../domain/errors';
import type { SigningKeys } from '../stores/signing-keys';

/** Tolerated difference between the issuer's clock and Kluis's when checking `exp` and `nbf`. */
export const CLOCK_SKEW_IN_SECONDS = 300;

const ALLOWED_ALGORITHMS = ['RS256'];

export interface AuthenticateDeps {
  settings: AuthSettings;
  /** Undefined when no JWKS URL is configured. */
  keys: SigningKeys | undefined;
  clock: () => Date;
}

/** The caller a request's `Authorization` header proves; throws a 401 KluisError (ARM's codes) otherwise. */
export async function authenticate(authorization: string | null | undefined, deps: AuthenticateDeps): Promise<Caller> {
  const { settings, keys } = deps;
  if (settings.issuers.length === 0 || keys === undefined) {
    throw errors.invalidConfiguration('KLUIS_AUTH_TENANT_ID', 'no token issuer is configured: set KLUIS_AUTH_TENANT_ID (Entra ID), or KLUIS_AUTH_ISSUERS and KLUIS_AUTH_JWKS_URL');
  }
  const token = bearerTokenOf(authorization);
  let algorithm: unknown;
  try {
    algorithm = decodeProtectedHeader(token).alg;
  } catch {
    throw errors.invalidAuthenticationToken();
  }
  if (typeof algorithm !== 'string' || !ALLOWED_ALGORITHMS.includes(algorithm)) {
    throw errors.invalidAuthenticationToken(`The access token is invalid: it is signed with '${typeof algorithm === 'string' ? algorithm.slice(0, 20) : '(none)'}'; only RS256 is accepted.`);
  }
  const now = deps.clock();
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(token, (header) => keys.keyFor(header), {
      algorithms: ALLOWED_ALGORITHMS,
      clockTolerance: CLOCK_SKEW_IN_SECONDS,
      currentDate: now,
      requiredClaims: ['exp'],
    }));
  } catch (err) {
    throw tokenError(err, now);
  }
  checkAudience(claims, settings.audiences);
  checkIssuer(claims, settings.issuers, settings.authority);
  return callerOf(claims);
}

/** jose's failures (checked after the signature: their payload is the signed one) as ARM's errors. */
function tokenError(err: unknown, now: Date): unknown {
  if (isKluisErrorLike(err)) return err;
  if (err instanceof joseErrors.JWTExpired) {
    return errors.expiredAuthenticationToken(timeOf(err.payload.exp), armUtcTime(now));
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'nbf' && err.reason === 'check_failed') {
    return errors.invalidAuthenticationToken(`The access token is not valid before UTC time '${timeOf(err.payload.nbf)}'; current UTC time is '${armUtcTime(now)}'.`);
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'exp') {
    return errors.invalidAuthenticationToken("The access token is invalid: it has no valid expiry ('exp').");
  }
  return errors.invalidAuthenticationToken();
}

function timeOf(seconds: unknown): string {
  return typeof seconds === 'number' && Number.isFinite(seconds) && Math.abs(seconds) < 8.64e12 ? armUtcTime(new Date(seconds * 1000)) : '(unknown)';
}
