/**
 * The emulator's admin API (plain HTTP on 127.0.0.1), in ARM's shapes where ARM has one. Reads need a
 * signed-in caller (a bearer token the app validates) or the host key; creating and deleting vaults and
 * changing access policies need an Owner of the vault's subscription or the host key (admin-access.ts);
 * only the CA certificate is public:
 *
 *   GET    /vaults                                   → {value:[vault]}
 *   POST   /vaults                                   → 201 vault (body: VaultSpec)
 *   GET    /vaults/{name}                            → vault
 *   DELETE /vaults/{name}                            → 200 (204 when there was none)
 *   PUT    /vaults/{name}/accessPolicies             → vault (body: {objectId, tenantId?, permissions:{keys,secrets,certificates}}; replaces that principal's entry)
 *   DELETE /vaults/{name}/accessPolicies/{objectId}  → vault
 *   GET    /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name} → vault (lookup by ARM id)
 *   GET    /ca.pem                                   → the CA certificate clients trust
 *
 * A vault is `{id, name, type, location, properties:{tenantId, vaultUri, accessPolicies, sku,
 * enableSoftDelete, softDeleteRetentionInDays, …}}`. Errors: `{error:{code,message}}`.
 */
import type { HostRequest, HostResponse } from '../http-types';
import { refusedAdminResponse, subscriptionScopeOfPath, type AdminGate } from '../admin-access';
import { asKeyVaultError, keyVaultErrors } from './errors';
import type { AccessPolicyInput } from './permissions';
import type { VaultDescription } from './vault';
import type { VaultSpec } from './vault-spec';

export interface VaultAdmin {
  readonly caCertificatePem: string;
  createVault(spec: VaultSpec): Promise<VaultDescription>;
  getVault(nameIdOrUrl: string): VaultDescription | undefined;
  listVaults(): VaultDescription[];
  deleteVault(name: string): Promise<boolean>;
  setAccessPolicy(vaultName: string, policy: AccessPolicyInput): VaultDescription;
  removeAccessPolicy(vaultName: string, objectId: string): VaultDescription;
}

/** A vault as ARM shows a Microsoft.KeyVault/vaults resource. */
export function vaultResource(vault: VaultDescription): Record<string, unknown> {
  return {
    id: vault.id,
    name: vault.name,
    type: 'Microsoft.KeyVault/vaults',
    location: vault.location,
    tags: {},
    properties: {
      tenantId: vault.tenantId,
      sku: { family: 'A', name: 'standard' },
      accessPolicies: vault.accessPolicies,
      vaultUri: vault.vaultUri,
      enabledForDeployment: false,
      enabledForDiskEncryption: true,
      enabledForTemplateDeployment: false,
      enableSoftDelete: true,
      softDeleteRetentionInDays: vault.softDeleteRetentionInDays,
      enableRbacAuthorization: false,
      provisioningState: 'Succeeded',
    },
  };
}

const ARM_VAULT = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/[^/]+\/?$/i;

function json(status: number, body: unknown): HostResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) };
}

function readBody(request: HostRequest): unknown {
  if (request.body.length === 0) throw keyVaultErrors.invalidVaultParameter('body', 'a JSON body is required');
  try {
    return JSON.parse(request.body.toString('utf8')) as unknown;
  } catch {
    throw keyVaultErrors.invalidVaultParameter('body', 'it is not valid JSON');
  }
}

function existing(admin: VaultAdmin, name: string): VaultDescription {
  const vault = admin.getVault(name);
  if (vault === undefined || vault.name.toLowerCase() !== name.toLowerCase()) throw keyVaultErrors.vaultNotFound(name);
  return vault;
}

async function route(admin: VaultAdmin, request: HostRequest): Promise<HostResponse> {
  const method = request.method.toUpperCase();
  const path = request.url.pathname;
  if (ARM_VAULT.test(path)) {
    if (method !== 'GET') throw keyVaultErrors.methodNotAllowed(method, path);
    const vault = admin.getVault(path.replace(/\/$/, ''));
    if (vault === undefined) throw keyVaultErrors.vaultNotFound(path.split('/').filter(Boolean).pop() ?? '');
    return json(200, vaultResource(vault));
  }
  let segments: string[];
  try {
    segments = path.split('/').filter(Boolean).map((segment) => decodeURIComponent(segment));
  } catch {
    throw keyVaultErrors.routeNotFound(method, path);
  }
  const [root, name, child, objectId, ...more] = segments;
  if (root === 'ca.pem' && segments.length === 1 && method === 'GET') {
    return { status: 200, headers: { 'content-type': 'application/x-pem-file' }, body: admin.caCertificatePem };
  }
  if (root?.toLowerCase() !== 'vaults' || more.length > 0) throw keyVaultErrors.routeNotFound(method, path);
  if (name === undefined) {
    if (method === 'GET') return json(200, { value: admin.listVaults().map(vaultResource) });
    if (method === 'POST') return json(201, vaultResource(await admin.createVault(readBody(request) as VaultSpec)));
    throw keyVaultErrors.methodNotAllowed(method, path);
  }
  if (child === undefined) {
    if (method === 'GET') return json(200, vaultResource(existing(admin, name)));
    if (method === 'DELETE') return (await admin.deleteVault(name)) ? json(200, {}) : { status: 204 };
    throw keyVaultErrors.methodNotAllowed(method, path);
  }
  if (child.toLowerCase() !== 'accesspolicies') throw keyVaultErrors.routeNotFound(method, path);
  if (objectId === undefined && method === 'PUT') return json(200, vaultResource(admin.setAccessPolicy(existing(admin, name).name, readBody(request) as AccessPolicyInput)));
  if (objectId !== undefined && method === 'DELETE') return json(200, vaultResource(admin.removeAccessPolicy(existing(admin, name).name, objectId)));
  throw keyVaultErrors.methodNotAllowed(method, path);
}

export interface AdminRouterOptions {
  gate?: AdminGate;
  /** The subscription of vaults whose request names none (the emulator's default). */
  defaultSubscriptionId: string;
}

/** The subscription an admin request acts in: the one its ARM path or the named vault's id names. */
function scopeOf(admin: VaultAdmin, request: HostRequest, defaultSubscriptionId: string): string {
  const named = /^\/vaults\/([^/]+)/i.exec(request.url.pathname);
  const vault = named === null ? undefined : admin.getVault(decodeURIComponent(named[1]));
  return subscriptionScopeOfPath(vault?.id ?? request.url.pathname, defaultSubscriptionId);
}

export function adminRouter(admin: VaultAdmin, options: AdminRouterOptions = { defaultSubscriptionId: '00000000-0000-0000-0000-000000000000' }): (request: HostRequest) => Promise<HostResponse> {
  return async (request) => {
    try {
      const method = request.method.toUpperCase();
      if (!(method === 'GET' && request.url.pathname === '/ca.pem')) {
        const scope = scopeOf(admin, request, options.defaultSubscriptionId);
        const decision = options.gate === undefined ? 'unauthenticated' : await options.gate(request, scope, { readOnly: method === 'GET' });
        if (decision !== 'allowed') return refusedAdminResponse(decision, "The Key Vault emulator's admin API", scope);
      }
      return await route(admin, request);
    } catch (err) {
      const error = asKeyVaultError(err);
      return json(error.status, error.toBody());
    }
  };
}
