/**
 * Who may use the emulators' own endpoints — the VM fabric (`/fabric/…`), the Key Vault emulator's
 * admin API and the identity endpoint's directory (`/admin/principals`): a request that presents a
 * host key (`x-functions-key` or `code`: the master key or a host function key, as for the host's
 * admin endpoints) or a bearer token of a principal that is Owner at the scope the endpoint acts on
 * (the VM's subscription; the Key Vault's subscription; the root for the directory) — checked by the
 * app's own token validation and role assignments. Everything else gets 401 (no credentials) or 403.
 * `kluis-host --insecure-no-auth` (loopback only) opens them as it opens the API.
 */
import { loadConfig } from '../lib/config';
import { insecureNoAuth } from '../lib/config/host-mode';
import { authenticate, type AuthenticateDeps } from '../lib/services/authenticate';
import { requestAccess, type AuthorizationDeps } from '../lib/services/authorization';
import { tableAccessCatalog } from '../lib/stores/access-catalog';
import { azureRbacSourceForApp } from '../lib/stores/azure/azure-rbac-source';
import { CatalogRoleAssignments } from '../lib/stores/role-assignment-source';
import { RemoteSigningKeys } from '../lib/stores/signing-keys';
import { authorize, presentedKey, type HostSecrets } from './http-auth';
import type { HostRequest, HostResponse } from './http-types';

export type AdminDecision = 'allowed' | 'unauthenticated' | 'forbidden';

export interface AdminRequest {
  headers: Headers;
  url: URL;
}

/**
 * Decides whether a request may use an emulator's admin endpoint acting at `scope`; `readOnly`
 * requests need only a signed-in caller (any principal of the tenant, as ARM lets readers read).
 */
export type AdminGate = (request: AdminRequest, scope: string, options?: { readOnly?: boolean }) => Promise<AdminDecision>;

interface OwnerCheckDeps {
  authentication: AuthenticateDeps;
  authorization: AuthorizationDeps;
}

/**
 * The gate of one host: its keys (known once the host has loaded them) and the app's settings
 * (read on first use, after the host applied them).
 */
export class EmulatorAdminAccess {
  private secrets: HostSecrets | undefined;
  private deps: Promise<OwnerCheckDeps> | undefined;

  /** The host's keys, once it has read its secrets file. */
  useSecrets(secrets: HostSecrets): void {
    this.secrets = secrets;
  }

  readonly gate: AdminGate = async (request, scope, options = {}) => {
    if (insecureNoAuth()) return 'allowed';
    const key = presentedKey(request.headers, request.url.searchParams);
    if (key !== undefined && this.secrets !== undefined && authorize('function', '', key, this.secrets).ok) return 'allowed';
    const authorization = request.headers.get('authorization');
    if (authorization === null) return 'unauthenticated';
    let deps: OwnerCheckDeps;
    try {
      deps = await this.ownerCheckDeps();
    } catch {
      return 'unauthenticated';
    }
    try {
      const caller = await authenticate(authorization, deps.authentication);
      if (options.readOnly === true) return 'allowed';
      return (await requestAccess(deps.authorization, caller).isOwnerAt(scope)) ? 'allowed' : 'forbidden';
    } catch {
      return 'unauthenticated';
    }
  };

  private ownerCheckDeps(): Promise<OwnerCheckDeps> {
    this.deps ??= (async () => {
      const config = loadConfig(process.env);
      const { jwksUrl, caCertificateFile } = config.auth;
      const keys = jwksUrl === undefined ? undefined : new RemoteSigningKeys(jwksUrl, caCertificateFile === undefined ? {} : { caCertificateFile });
      const source = config.access.source === 'azure' ? await azureRbacSourceForApp() : new CatalogRoleAssignments(tableAccessCatalog(config.vaultStorage, config.catalogTablePrefix).roleAssignments);
      return {
        authentication: { settings: config.auth, keys, clock: () => new Date() },
        authorization: { source, owners: config.access.owners },
      };
    })();
    this.deps.catch(() => (this.deps = undefined));
    return this.deps;
  }
}

/** The answer to a request the gate refused, in ARM's envelope. */
export function refusedAdminResponse(decision: Exclude<AdminDecision, 'allowed'>, what: string, scope: string): HostResponse {
  const body =
    decision === 'unauthenticated'
      ? { error: { code: 'AuthenticationFailed', message: `${what} needs the host key (x-functions-key) or a bearer token of an Owner of '${scope}'.` } }
      : { error: { code: 'AuthorizationFailed', message: `${what} needs the Owner role at '${scope}' (or the host key).` } };
  return {
    status: decision === 'unauthenticated' ? 401 : 403,
    headers: { 'content-type': 'application/json; charset=utf-8', ...(decision === 'unauthenticated' ? { 'www-authenticate': 'Bearer' } : {}) },
    body: JSON.stringify(body),
  };
}

/** A host route handler (e.g. the fabric's) behind the gate; `scopeOf` names the scope a request acts on. */
export function gatedRoutes(
  handler: (request: HostRequest) => Promise<HostResponse | undefined>,
  options: { gate: AdminGate; applies: (request: HostRequest) => boolean; scopeOf: (request: HostRequest) => string; what: string },
): (request: HostRequest) => Promise<HostResponse | undefined> {
  return async (request) => {
    if (!options.applies(request)) return undefined;
    const scope = options.scopeOf(request);
    const decision = await options.gate(request, scope);
    if (decision !== 'allowed') return refusedAdminResponse(decision, options.what, scope);
    return handler(request);
  };
}

/** `/subscriptions/{sub}` of a path that names one (`/fabric/subscriptions/{sub}/…`, ARM ids), else the fallback. */
export function subscriptionScopeOfPath(pathname: string, fallbackSubscriptionId: string): string {
  const match = /\/subscriptions\/([0-9a-fA-F-]{36})(\/|$)/.exec(pathname);
  return `/subscriptions/${(match?.[1] ?? fallbackSubscriptionId).toLowerCase()}`;
}
