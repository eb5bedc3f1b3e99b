/**
 * Key Vault access policies: per principal (object id) the key and secret permissions it holds, with
 * Key Vault's permission names. Input names match case-insensitively ('Get', 'unwrapkey', 'all');
 * stored and shown in Key Vault's own spelling.
 */
import { keyVaultErrors } from './errors';

export const KEY_PERMISSIONS = [
  'get', 'list', 'update', 'create', 'import', 'delete', 'recover', 'backup', 'restore',
  'decrypt', 'encrypt', 'unwrapKey', 'wrapKey', 'verify', 'sign', 'purge', 'release', 'rotate', 'getRotationPolicy', 'setRotationPolicy',
] as const;
export const SECRET_PERMISSIONS = ['get', 'list', 'set', 'delete', 'recover', 'backup', 'restore', 'purge'] as const;
export const CERTIFICATE_PERMISSIONS = [
  'get', 'list', 'update', 'create', 'import', 'delete', 'recover', 'backup', 'restore',
  'manageContacts', 'manageIssuers', 'getIssuers', 'listIssuers', 'setIssuers', 'deleteIssuers', 'purge',
] as const;

export type KeyPermission = (typeof KEY_PERMISSIONS)[number];
export type SecretPermission = (typeof SECRET_PERMISSIONS)[number];
export type CertificatePermission = (typeof CERTIFICATE_PERMISSIONS)[number];

export interface AccessPolicyEntry {
  tenantId: string;
  objectId: string;
  permissions: { keys: KeyPermission[]; secrets: SecretPermission[]; certificates: CertificatePermission[] };
}

/** What a request may name: any casing, 'all' for every permission of the collection. */
export interface AccessPolicyInput {
  tenantId?: string;
  objectId: string;
  permissions?: { keys?: readonly string[]; secrets?: readonly string[]; certificates?: readonly string[] };
}

export type Requirement = { collection: 'keys'; permission: KeyPermission } | { collection: 'secrets'; permission: SecretPermission };

function normalizeList<T extends string>(field: string, names: readonly string[] | undefined, known: readonly T[]): T[] {
  if (names === undefined) return [];
  if (!Array.isArray(names)) throw keyVaultErrors.invalidVaultParameter(field, 'it must be a list of permission names');
  const chosen = new Set<T>();
  for (const name of names) {
    if (typeof name !== 'string') throw keyVaultErrors.invalidVaultParameter(field, 'it must be a list of permission names');
    if (name.toLowerCase() === 'all') {
      known.forEach((permission) => chosen.add(permission));
      continue;
    }
    const match = known.find((permission) => permission.toLowerCase() === name.toLowerCase());
    if (match === undefined) throw keyVaultErrors.invalidVaultParameter(field, `'${name}' is not one of ${known.join(', ')}, all`);
    chosen.add(match);
  }
  return known.filter((permission) => chosen.has(permission));
}

export function normalizeAccessPolicy(input: AccessPolicyInput, defaultTenantId: string): AccessPolicyEntry {
  if (typeof input !== 'object' || input === null) throw keyVaultErrors.invalidVaultParameter('accessPolicies', 'each entry must be an object');
  if (typeof input.objectId !== 'string' || input.objectId.trim() === '') throw keyVaultErrors.invalidVaultParameter('objectId', 'it is required');
  if (input.tenantId !== undefined && typeof input.tenantId !== 'string') throw keyVaultErrors.invalidVaultParameter('tenantId', 'it must be a string');
  const permissions = input.permissions ?? {};
  return {
    tenantId: input.tenantId ?? defaultTenantId,
    objectId: input.objectId,
    permissions: {
      keys: normalizeList('permissions.keys', permissions.keys, KEY_PERMISSIONS),
      secrets: normalizeList('permissions.secrets', permissions.secrets, SECRET_PERMISSIONS),
      certificates: normalizeList('permissions.certificates', permissions.certificates, CERTIFICATE_PERMISSIONS),
    },
  };
}

export function grants(entry: AccessPolicyEntry | undefined, requirement: Requirement): boolean {
  if (entry === undefined) return false;
  return requirement.collection === 'keys'
    ? entry.permissions.keys.includes(requirement.permission)
    : entry.permissions.secrets.includes(requirement.permission);
}
