/**
 * The Key Vault data-plane REST API of one vault, as the real SDK clients call it:
 *
 *   secrets  PUT /secrets/{n} · GET /secrets/{n}[/{v}] · PATCH /secrets/{n}/{v} · DELETE /secrets/{n} ·
 *            GET /secrets · GET /secrets/{n}/versions · POST /secrets/{n}/backup · POST /secrets/restore ·
 *            GET /deletedsecrets · GET|DELETE /deletedsecrets/{n} · POST /deletedsecrets/{n}/recover
 *   keys     POST /keys/{n}/create · GET /keys/{n}[/{v}] · PATCH /keys/{n}/{v} · DELETE /keys/{n} ·
 *            GET /keys · GET /keys/{n}/versions · POST /keys/{n}/backup · POST /keys/restore ·
 *            POST /keys/{n}/{v}/wrapkey|unwrapkey|encrypt|decrypt ·
 *            GET /deletedkeys · GET|DELETE /deletedkeys/{n} · POST /deletedkeys/{n}/recover
 *
 * Order of checks, as Key Vault: bearer token (401 + challenge), api-version, route, the caller's
 * access policy (403 naming the missing permission), then the operation. Lists are paged
 * (`maxresults` ≤ 25, `nextLink` with `$skiptoken`). Request lines are logged at debug level without
 * query strings or bodies: no secret value, key or backup ever reaches a log.
 */
import { randomUUID } from 'node:crypto';
import type { HostLogger } from '../logger';
import type { HostRequest, HostResponse } from '../http-types';
import { authenticate, challengeHeader, describeCaller, type TokenTrust } from './bearer-token';
import { asKeyVaultError, keyVaultErrors } from './errors';
import * as keyOps from './key-operations';
import { grants, type KeyPermission, type Requirement, type SecretPermission } from './permissions';
import * as secretOps from './secret-operations';
import type { EmulatedVault } from './vault';

export const LATEST_API_VERSION = '2025-07-01';
const API_VERSIONS = new Set(['2016-10-01', '7.0', '7.1', '7.2', '7.3', '7.4', '7.5', '7.6-preview.1', '7.6-preview.2', '7.6', LATEST_API_VERSION]);
const MAX_PAGE_SIZE = 25;
const SERVICE_VERSION = '1.9.0.0-kluis';

type Result = { status: 200; body: unknown; page?: false } | { status: 200; items: unknown[]; page: true } | { status: 204 };

interface Operation {
  requirement: Requirement;
  mutates: boolean;
  run(body: Buffer): Result | Promise<Result>;
}

export interface VaultRouterOptions {
  logger?: HostLogger;
  /** Called after every successful change (the emulator persists its state). */
  onChange?: () => void;
  /** Whose signed tokens are accepted (the local identity endpoint's); none: every token is refused. */
  tokenTrust?: () => TokenTrust | undefined;
}

const ok = (body: unknown): Result => ({ status: 200, body });
const items = (list: unknown[]): Result => ({ status: 200, items: list, page: true });
const noContent = (): Result => ({ status: 204 });

function secret(permission: SecretPermission, mutates: boolean, run: Operation['run']): Operation {
  return { requirement: { collection: 'secrets', permission }, mutates, run };
}

function key(permission: KeyPermission, mutates: boolean, run: Operation['run']): Operation {
  return { requirement: { collection: 'keys', permission }, mutates, run };
}

/** `''` (the SDK's "current version": /secrets/n/) and absent both mean the current version. */
const versionOf = (segment: string | undefined): string | undefined => (segment === undefined || segment === '' ? undefined : segment);

function secretRoute(vault: EmulatedVault, method: string, rest: string[]): Operation | undefined {
  const [name, second, ...more] = rest;
  if (more.length > 0) return undefined;
  if (name === undefined || name === '') return method === 'GET' && rest.length <= 1 ? secret('list', false, () => items(secretOps.listSecrets(vault))) : undefined;
  if (second === undefined && name.toLowerCase() === 'restore' && method === 'POST') return secret('restore', true, (body) => ok(secretOps.restoreSecret(vault, body)));
  const lower = second?.toLowerCase();
  if (lower === 'versions' && method === 'GET') return secret('list', false, () => items(secretOps.listSecretVersions(vault, name)));
  if (lower === 'backup' && method === 'POST') return secret('backup', false, () => ok(secretOps.backupSecret(vault, name)));
  const version = versionOf(second);
  switch (method) {
    case 'GET':
      return secret('get', false, () => ok(secretOps.getSecret(vault, name, version)));
    case 'PATCH':
      return secret('set', true, (body) => ok(secretOps.updateSecret(vault, name, version, body)));
    case 'PUT':
      return version === undefined ? secret('set', true, (body) => ok(secretOps.setSecret(vault, name, body))) : undefined;
    case 'DELETE':
      return version === undefined ? secret('delete', true, () => ok(secretOps.deleteSecret(vault, name))) : undefined;
    default:
      return undefined;
  }
}

function deletedSecretRoute(vault: EmulatedVault, method: string, rest: string[]): Operation | undefined {
  const [name, action, ...more] = rest;
  if (more.length > 0) return undefined;
  if (name === undefined || name === '') return method === 'GET' && rest.length <= 1 ? secret('list', false, () => items(secretOps.listDeletedSecrets(vault))) : undefined;
  if (action !== undefined) return action.toLowerCase() === 'recover' && method === 'POST' ? secret('recover', true, () => ok(secretOps.recoverDeletedSecret(vault, name))) : undefined;
  if (method === 'GET') return secret('get', false, () => ok(secretOps.getDeletedSecret(vault, name)));
  if (method === 'DELETE') return secret('purge', true, () => (secretOps.purgeDeletedSecret(vault, name), noContent()));
  return undefined;
}

const CRYPTO_ACTIONS: Record<string, keyOps.CryptoOperation> = { wrapkey: 'wrapKey', unwrapkey: 'unwrapKey', encrypt: 'encrypt', decrypt: 'decrypt' };

function keyRoute(vault: EmulatedVault, method: string, rest: string[]): Operation | undefined {
  const [name, second, third, ...more] = rest;
  if (more.length > 0) return undefined;
  if (name === undefined || name === '') return method === 'GET' && rest.length <= 1 ? key('list', false, () => items(keyOps.listKeys(vault))) : undefined;
  if (second === undefined && name.toLowerCase() === 'restore' && method === 'POST') return key('restore', true, (body) => ok(keyOps.restoreKey(vault, body)));
  if (third !== undefined) {
    const operation = CRYPTO_ACTIONS[third.toLowerCase()];
    if (operation === undefined || method !== 'POST') return undefined;
    return key(operation, false, (body) => ok(keyOps.keyOperation(vault, name, versionOf(second), operation, body)));
  }
  const lower = second?.toLowerCase();
  if (lower === 'create' && method === 'POST') return key('create', true, async (body) => ok(await keyOps.createKey(vault, name, body)));
  if (lower === 'versions' && method === 'GET') return key('list', false, () => items(keyOps.listKeyVersions(vault, name)));
  if (lower === 'backup' && method === 'POST') return key('backup', false, () => ok(keyOps.backupKey(vault, name)));
  const version = versionOf(second);
  switch (method) {
    case 'GET':
      return key('get', false, () => ok(keyOps.getKey(vault, name, version)));
    case 'PATCH':
      return key('update', true, (body) => ok(keyOps.updateKey(vault, name, version, body)));
    case 'DELETE':
      return version === undefined ? key('delete', true, () => ok(keyOps.deleteKey(vault, name))) : undefined;
    default:
      return undefined;
  }
}

function deletedKeyRoute(vault: EmulatedVault, method: string, rest: string[]): Operation | undefined {
  const [name, action, ...more] = rest;
  if (more.length > 0) return undefined;
  if (name === undefined || name === '') return method === 'GET' && rest.length <= 1 ? key('list', false, () => items(keyOps.listDeletedKeys(vault))) : undefined;
  if (action !== undefined) return action.toLowerCase() === 'recover' && method === 'POST' ? key('recover', true, () => ok(keyOps.recoverDeletedKey(vault, name))) : undefined;
  if (method === 'GET') return key('get', false, () => ok(keyOps.getDeletedKey(vault, name)));
  if (method === 'DELETE') return key('purge', true, () => (keyOps.purgeDeletedKey(vault, name), noContent()));
  return undefined;
}

function pathSegments(pathname: string): string[] {
  try {
    return pathname.split('/').slice(1).map((segment) => decodeURIComponent(segment));
  } catch {
    throw keyVaultErrors.badParameter('The request URI is not correctly encoded.');
  }
}

function resolve(vault: EmulatedVault, method: string, pathname: string): Operation {
  const [collection = '', ...rest] = pathSegments(pathname);
  const routes: Record<string, typeof secretRoute> = { secrets: secretRoute, deletedsecrets: deletedSecretRoute, keys: keyRoute, deletedkeys: deletedKeyRoute };
  const route = routes[collection.toLowerCase()];
  const operation = route?.(vault, method, rest);
  if (operation === undefined) throw keyVaultErrors.routeNotFound(method, pathname);
  return operation;
}

function checkApiVersion(url: URL): string {
  const version = url.searchParams.get('api-version');
  if (version === null || version === '') throw keyVaultErrors.missingApiVersion();
  if (!API_VERSIONS.has(version)) throw keyVaultErrors.unsupportedApiVersion(version, LATEST_API_VERSION);
  return version;
}

function pageSize(url: URL): number {
  const raw = url.searchParams.get('maxresults');
  if (raw === null || raw === '') return MAX_PAGE_SIZE;
  const size = Number(raw);
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) throw keyVaultErrors.badParameter(`maxresults must be a whole number from 1 to ${MAX_PAGE_SIZE}.`);
  return size;
}

function pageOf(vault: EmulatedVault, url: URL, apiVersion: string, all: unknown[]): unknown {
  const size = pageSize(url);
  const token = url.searchParams.get('$skiptoken');
  const offset = token === null ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Number.isInteger(offset) || offset < 0) throw keyVaultErrors.badParameter('The $skiptoken is not valid.');
  const value = all.slice(offset, offset + size);
  if (offset + size >= all.length) return { value, nextLink: null };
  const next = new URL(`${vault.baseUrl}${url.pathname}`);
  next.searchParams.set('api-version', apiVersion);
  next.searchParams.set('$skiptoken', Buffer.from(String(offset + size)).toString('base64url'));
  if (url.searchParams.has('maxresults')) next.searchParams.set('maxresults', String(size));
  return { value, nextLink: next.toString() };
}

/** The handler the vault's HTTPS listener runs. */
export function vaultRouter(vault: EmulatedVault, options: VaultRouterOptions = {}): (request: HostRequest) => Promise<HostResponse> {
  return async (request) => {
    const method = request.method.toUpperCase();
    const headers: Record<string, string> = {
      'cache-control': 'no-cache',
      'x-ms-request-id': randomUUID(),
      'x-ms-keyvault-region': vault.settings.location,
      'x-ms-keyvault-service-version': SERVICE_VERSION,
      'x-ms-keyvault-network-info': 'conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;',
    };
    const clientRequestId = request.headers.get('x-ms-client-request-id');
    if (clientRequestId !== null) headers['x-ms-client-request-id'] = clientRequestId;
    let status: number;
    let body: string | undefined;
    let objectId: string | undefined;
    try {
      const caller = await authenticate(request.headers.get('authorization'), vault.settings.tenantId, Date.now(), options.tokenTrust?.());
      objectId = caller.objectId;
      const apiVersion = checkApiVersion(request.url);
      const operation = resolve(vault, method, request.url.pathname);
      if (!grants(vault.policyFor(caller.objectId), operation.requirement)) {
        throw keyVaultErrors.forbidden(describeCaller(caller), operation.requirement.collection, operation.requirement.permission, vault.forbiddenTarget);
      }
      const result = await operation.run(request.body);
      status = result.status;
      if (result.status === 200) body = JSON.stringify(result.page ? pageOf(vault, request.url, apiVersion, result.items) : result.body);
      if (operation.mutates) options.onChange?.();
    } catch (err) {
      const error = asKeyVaultError(err);
      status = error.status;
      body = JSON.stringify(error.toBody());
      if (status === 401) headers['www-authenticate'] = challengeHeader(vault.settings.tenantId);
      if (status >= 500) options.logger?.log('error', `Key Vault ${vault.name}: ${method} ${request.url.pathname} failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, { category: 'KeyVault' });
    }
    if (body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    options.logger?.log('debug', `Key Vault ${vault.name}: ${method} ${request.url.pathname} → ${status}`, { category: 'KeyVault', vault: vault.name, status, ...(objectId ? { objectId } : {}) });
    return { status, headers, body };
  };
}
