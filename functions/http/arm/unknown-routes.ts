/**
 * The catch-all for paths no other function serves: Azure Resource Manager's JSON error instead of an
 * empty 404 — `MethodNotAllowed` (405) when an ARM route exists with other methods, `InvalidResourceType`
 * for a resource type a provider does not have (`…/providers/Microsoft.RecoveryServices/vaults/{v}/backupNothing`),
 * `NotFound` for anything else; `GET /` redirects to the dashboard. The host matches literal routes before a catch-all, so every other
 * function keeps its paths.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { errors } from '../../../lib/domain/errors';
import { errorResponse } from '../jobs';
import { registeredOperations } from './route';

/** Every method an HTTP trigger can declare (CONNECT aside: it names a tunnel, not a resource). */
const ALL_METHODS = ['GET', 'PUT', 'POST', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE'] as const;

/** The request's path from `subscriptions/…` or `providers/…` on, without the host's route prefix. */
function armPathOf(pathname: string): string {
  return pathname.replace(/^\/+/, '').replace(/^api(\/|$)/i, '');
}

function segmentsOf(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

function matchesTemplate(template: string, segments: readonly string[]): boolean {
  const parts = segmentsOf(template);
  return parts.length === segments.length && parts.every((part, i) => /^\{[^}]+\}$/.test(part) || part.toLowerCase() === segments[i].toLowerCase());
}

/** The error for a path and method no route serves. */
export function unknownRouteError(method: string, path: string, apiVersion: string | null) {
  const segments = segmentsOf(path).map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  });
  const allowed = registeredOperations()
    .filter((operation) => matchesTemplate(operation.route, segments))
    .map((operation) => operation.method);
  if (allowed.length > 0) return errors.methodNotAllowed(method, [...new Set(allowed)].sort());
  const provider = segments.findIndex((segment) => segment.toLowerCase() === 'providers');
  if (provider >= 0 && provider + 1 < segments.length) {
    const namespace = segments[provider + 1];
    // Resource types are the name segments after the namespace: type/name/type/name/…
    const types = segments.slice(provider + 2).filter((_segment, i) => i % 2 === 0);
    if (types.length > 0) return errors.invalidResourceType(types.join('/'), namespace, apiVersion);
  }
  return errors.routeNotFound(`/${path}`);
}

export async function unknownRoute(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const url = new URL(request.url);
  // A browser at the root gets the dashboard (functions/http/dashboard.ts); ARM serves nothing there.
  if (request.method === 'GET' && url.pathname === '/') return { status: 302, headers: { location: '/dashboard/', 'cache-control': 'no-cache' } };
  return errorResponse(unknownRouteError(request.method, armPathOf(url.pathname), url.searchParams.get('api-version')), context);
}

app.http('ArmUnknownRoute', {
  route: '{*path}',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: unknownRoute,
});
