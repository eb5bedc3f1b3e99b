/**
 * The base URL a client reached Kluis at, for the absolute URLs Kluis answers with (`Location`,
 * `Azure-AsyncOperation`): the configured public base URL when there is one; else the first
 * `X-Forwarded-Proto` and `X-Forwarded-Host` values a reverse proxy added, when they are a valid
 * scheme and host; else the request's own scheme and host. Never ends with a slash.
 */

export interface BaseUrlSources {
  /** KLUIS_PUBLIC_BASE_URL (validated by lib/config). */
  configured?: string;
  /** The request's URL as the Functions host shows it. */
  requestUrl: string;
  forwardedProto?: string | null;
  forwardedHost?: string | null;
}

const HOST_AND_PORT = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;

/** The first of a comma-separated header's values, trimmed; undefined when empty. */
function firstValue(header: string | null | undefined): string | undefined {
  const value = header?.split(',')[0]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function forwardedScheme(header: string | null | undefined): 'http' | 'https' | undefined {
  const value = firstValue(header)?.toLowerCase();
  return value === 'http' || value === 'https' ? value : undefined;
}

function forwardedHost(header: string | null | undefined): string | undefined {
  const value = firstValue(header);
  if (value === undefined) return undefined;
  const match = HOST_AND_PORT.exec(value);
  if (match === null || (match[1] !== undefined && Number(match[1]) > 65535)) return undefined;
  return value.toLowerCase();
}

export function publicBaseUrl(sources: BaseUrlSources): string {
  if (sources.configured !== undefined) return sources.configured.replace(/\/+$/, '');
  const request = new URL(sources.requestUrl);
  const scheme = forwardedScheme(sources.forwardedProto) ?? request.protocol.replace(/:$/, '');
  const host = forwardedHost(sources.forwardedHost) ?? request.host;
  // Through URL, so a default port (https:443, http:80) is dropped as browsers and SDKs write it.
  return new URL(`${scheme}://${host}`).origin;
}
