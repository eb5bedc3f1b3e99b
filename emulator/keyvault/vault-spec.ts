/**
 * What creating a vault takes, checked with Azure's rules: name 3–24 letters, digits and single
 * hyphens, starting with a letter and ending with a letter or digit; subscription a GUID; resource
 * group 1–90 characters; location as ARM writes it ("West Europe" → westeurope); soft-delete
 * retention 7–90 days; access policies with Key Vault's permission names.
 */
import { LOCAL_TENANT_ID } from '../../lib/stores/azure/keyvault-credential';
import { keyVaultErrors } from './errors';
import { normalizeAccessPolicy, type AccessPolicyEntry, type AccessPolicyInput } from './permissions';
import { MAX_RETENTION_DAYS, type VaultSettings } from './vault';

export interface VaultSpec {
  name: string;
  /** Default: the emulator's default location (westeurope). */
  location?: string;
  tenantId?: string;
  subscriptionId?: string;
  resourceGroup?: string;
  /** 7–90; default 90. */
  softDeleteRetentionInDays?: number;
  accessPolicies?: AccessPolicyInput[];
  /** Port of the vault's HTTPS listener; default 0 (any free port). */
  port?: number;
}

export type VaultDefaults = Pick<VaultSettings, 'location' | 'tenantId' | 'subscriptionId' | 'resourceGroup'>;

export const VAULT_DEFAULTS: VaultDefaults = {
  location: 'westeurope',
  tenantId: LOCAL_TENANT_ID,
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroup: 'kluis-keyvaults',
};

const VAULT_NAME = /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const RESOURCE_GROUP = /^[-\w.()]{0,89}[-\w()]$/;
const MIN_RETENTION_DAYS = 7;

export interface NormalizedVaultSpec {
  settings: VaultSettings;
  accessPolicies: AccessPolicyEntry[];
  port: number;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw keyVaultErrors.invalidVaultParameter(field, 'it must be a string');
  return value;
}

export function normalizeVaultSpec(spec: VaultSpec, defaults: VaultDefaults = VAULT_DEFAULTS): NormalizedVaultSpec {
  if (typeof spec !== 'object' || spec === null) throw keyVaultErrors.invalidVaultParameter('body', 'it must be a JSON object');
  const name = optionalString(spec.name, 'name');
  if (name === undefined || !VAULT_NAME.test(name)) {
    throw keyVaultErrors.invalidVaultParameter('name', 'a vault name is 3–24 letters, digits and single hyphens, starting with a letter and ending with a letter or digit');
  }
  const subscriptionId = optionalString(spec.subscriptionId, 'subscriptionId') ?? defaults.subscriptionId;
  if (!GUID.test(subscriptionId)) throw keyVaultErrors.invalidVaultParameter('subscriptionId', 'it must be a GUID');
  const tenantId = optionalString(spec.tenantId, 'tenantId') ?? defaults.tenantId;
  if (!GUID.test(tenantId)) throw keyVaultErrors.invalidVaultParameter('tenantId', 'it must be a GUID');
  const resourceGroup = optionalString(spec.resourceGroup, 'resourceGroup') ?? defaults.resourceGroup;
  if (!RESOURCE_GROUP.test(resourceGroup)) throw keyVaultErrors.invalidVaultParameter('resourceGroup', 'it must be 1–90 letters, digits, underscores, hyphens, periods and parentheses, not ending with a period');
  const location = (optionalString(spec.location, 'location') ?? defaults.location).replace(/\s+/g, '').toLowerCase();
  if (!/^[a-z0-9]{1,64}$/.test(location)) throw keyVaultErrors.invalidVaultParameter('location', 'it must be an Azure region name such as westeurope');
  const retention = spec.softDeleteRetentionInDays ?? MAX_RETENTION_DAYS;
  if (!Number.isInteger(retention) || retention < MIN_RETENTION_DAYS || retention > MAX_RETENTION_DAYS) {
    throw keyVaultErrors.invalidVaultParameter('softDeleteRetentionInDays', `it must be a whole number of days from ${MIN_RETENTION_DAYS} to ${MAX_RETENTION_DAYS}`);
  }
  const port = spec.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw keyVaultErrors.invalidVaultParameter('port', 'it must be a port number 0–65535');
  if (spec.accessPolicies !== undefined && !Array.isArray(spec.accessPolicies)) throw keyVaultErrors.invalidVaultParameter('accessPolicies', 'it must be a list');
  const accessPolicies = (spec.accessPolicies ?? []).map((policy) => normalizeAccessPolicy(policy, tenantId));
  return { settings: { name, location, tenantId, subscriptionId, resourceGroup, softDeleteRetentionInDays: retention }, accessPolicies, port };
}
