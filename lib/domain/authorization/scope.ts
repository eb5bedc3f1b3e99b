/**
 * ARM scopes, as role assignments and authorization checks use them: the root `/` (the tenant), a
 * subscription `/subscriptions/{id}`, a resource group `/subscriptions/{id}/resourceGroups/{name}`, or
 * a resource id below one (`…/providers/Microsoft.RecoveryServices/vaults/{name}[/…]`). Scopes compare
 * case-insensitively (ARM names are), segment by segment: an assignment at a scope applies to that
 * scope and everything below it.
 */

export type ScopeKind = 'root' | 'subscription' | 'resourceGroup' | 'resource';

export interface ParsedScope {
  kind: ScopeKind;
  /** Normalized: a leading slash, no trailing or doubled slashes; `/` for the root. */
  scope: string;
  subscriptionId?: string;
  resourceGroup?: string;
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** `/` + the segments joined by one slash; empty segments (`storageAccounts//name`, trailing `/`) dropped. */
export function normalizeScope(scope: string): string {
  const segments = scope.split('/').filter((segment) => segment !== '');
  return `/${segments.join('/')}`;
}

function segmentsOf(scope: string): string[] {
  return normalizeScope(scope)
    .split('/')
    .filter((segment) => segment !== '');
}

/** The key two equal scopes share (lower case, normalized). */
export function scopeKey(scope: string): string {
  return normalizeScope(scope).toLowerCase();
}

/** Whether an assignment at `outer` applies at `inner`: the same scope, or one below it. */
export function scopeContains(outer: string, inner: string): boolean {
  const a = segmentsOf(outer).map((segment) => segment.toLowerCase());
  const b = segmentsOf(inner).map((segment) => segment.toLowerCase());
  return a.length <= b.length && a.every((segment, i) => segment === b[i]);
}

/**
 * What a scope is, or undefined when it is none ARM accepts: the root, a subscription (a GUID), a
 * resource group, or a resource (`providers/{namespace}/{type}/{name}` and further type/name pairs).
 */
export function parseScope(scope: string): ParsedScope | undefined {
  const normalized = normalizeScope(scope);
  const segments = segmentsOf(normalized);
  if (segments.length === 0) return { kind: 'root', scope: '/' };
  if (segments[0].toLowerCase() !== 'subscriptions' || segments.length < 2 || !GUID.test(segments[1])) return undefined;
  const subscriptionId = segments[1].toLowerCase();
  if (segments.length === 2) return { kind: 'subscription', scope: normalized, subscriptionId };
  if (segments[2].toLowerCase() !== 'resourcegroups' || segments.length < 4) return undefined;
  const resourceGroup = segments[3];
  if (segments.length === 4) return { kind: 'resourceGroup', scope: normalized, subscriptionId, resourceGroup };
  // providers/{namespace}/{type}/{name}[/{type}/{name}…]
  const rest = segments.slice(4);
  if (rest[0].toLowerCase() !== 'providers' || rest.length < 4 || rest.length % 2 !== 0 || !/^[A-Za-z]+(\.[A-Za-z]+)+$/.test(rest[1])) return undefined;
  return { kind: 'resource', scope: normalized, subscriptionId, resourceGroup };
}

/** The subscription a scope lies in, if any. */
export function subscriptionOfScope(scope: string): string | undefined {
  const segments = segmentsOf(scope);
  return segments[0]?.toLowerCase() === 'subscriptions' && segments[1] !== undefined ? segments[1].toLowerCase() : undefined;
}

/**
 * The scope a request acts on: its route template with the parameters filled in (`{name}`,
 * `{*rest}`), as ARM takes the request path for it.
 */
export function scopeOfRoute(template: string, params: Readonly<Record<string, string | undefined>>): string {
  const path = template.replace(/\{\*{0,2}([A-Za-z0-9_]+)[^}]*\}/g, (_match, name: string) => params[name] ?? '');
  return normalizeScope(path);
}
