/**
 * Recovery Services vaults over the ARM-shaped API: PUT/GET/DELETE `{vault}`, the lists by
 * subscription and resource group, and the vault's storage config
 * (`backupstorageconfig/vaultstorageconfig`) and backup config (`backupconfig/vaultconfig`).
 * `api-version` is accepted with any value.
 */
import {
  storageConfigBodySchema,
  storageConfigResource,
  vaultConfigBodySchema,
  vaultConfigResource,
  vaultPutBodySchema,
  vaultResource,
  type StorageConfigBody,
  type VaultConfigBody,
} from '../../../lib/domain/arm/vault-resource';
import {
  createOrUpdateVault,
  deleteVault,
  getStorageConfig,
  getVault,
  getVaultConfig,
  listVaults,
  updateStorageConfig,
  updateVaultConfig,
} from '../../../lib/services/vaults';
import { catalogDeps, vaultDeps } from '../../deps';
import { armRoute, list, noContent, ok, readableBy, VAULT_ROUTE, vaultPathOf, vaultRefOf, VAULTS_PROVIDER } from './route';
import type { RequestAccess } from '../../../lib/services/authorization';

const TAG = 'Vaults';

/**
 * Turning soft delete off needs its own action besides the route's (Backup Contributor, Contributor and
 * Owner hold it through their wildcards; a custom role can leave it out with notActions).
 */
export const DISABLE_SOFT_DELETE_ACTION = 'Microsoft.RecoveryServices/Vaults/backupconfig/disableSoftDelete/action';

async function demandSoftDeleteChange(access: RequestAccess, requested: string | undefined, scope: string): Promise<void> {
  if (requested === 'Disabled') await access.demand(DISABLE_SOFT_DELETE_ACTION, scope);
}
const STORAGE_CONFIG_ROUTE = `${VAULT_ROUTE}/backupstorageconfig/vaultstorageconfig`;
const VAULT_CONFIG_ROUTE = `${VAULT_ROUTE}/backupconfig/vaultconfig`;

armRoute({
  operationId: 'Vaults_CreateOrUpdate',
  action: 'Microsoft.RecoveryServices/Vaults/write',
  method: 'PUT',
  route: VAULT_ROUTE,
  summary:
    'Creates a Recovery Services vault with its DefaultPolicy, or updates its tags, redundancy, soft delete, managed identity (system-assigned: a new principal; None removes it), monitoring and restore settings.',
  tag: TAG,
  body: vaultPutBodySchema,
  responses: { 200: 'The vault was updated.', 201: 'The vault was created.', 400: 'Invalid name, body or location change.', 409: 'Limit reached, name in use, or redundancy locked.' },
  handler: async ({ params, body, access, scope }) => {
    await demandSoftDeleteChange(access, body.properties?.securitySettings?.softDeleteSettings?.softDeleteState, scope);
    const { vault, created } = await createOrUpdateVault(vaultDeps(), vaultRefOf(params), body);
    return ok(vaultResource(vault.value, vault.etag), created ? 201 : 200);
  },
});

armRoute({
  operationId: 'Vaults_Get',
  action: 'Microsoft.RecoveryServices/Vaults/read',
  method: 'GET',
  route: VAULT_ROUTE,
  summary: 'Gets a Recovery Services vault.',
  tag: TAG,
  responses: { 200: 'The vault.', 404: 'No such vault.' },
  handler: async ({ params }) => {
    const vault = await getVault(catalogDeps(), vaultRefOf(params));
    return ok(vaultResource(vault.value, vault.etag));
  },
});

armRoute({
  operationId: 'Vaults_Delete',
  action: 'Microsoft.RecoveryServices/Vaults/delete',
  method: 'DELETE',
  route: VAULT_ROUTE,
  summary: 'Deletes a vault that holds no backup items (protected, stopped with retained data, or soft-deleted), with its policies and jobs.',
  tag: TAG,
  responses: { 200: 'The vault was deleted, or there was none (the spec declares only 200).', 400: 'The vault holds backup items (ServiceResourceNotEmpty names them).' },
  handler: async ({ params }) => {
    await deleteVault(catalogDeps(), vaultRefOf(params));
    return ok(undefined);
  },
});

armRoute({
  operationId: 'Vaults_ListBySubscriptionId',
  action: 'Microsoft.RecoveryServices/Vaults/read',
  access: 'filtered',
  method: 'GET',
  route: `subscriptions/{subscriptionId}/${VAULTS_PROVIDER}`,
  summary: 'Lists the Recovery Services vaults of a subscription.',
  tag: TAG,
  responses: { 200: 'The vaults, in `value`.' },
  handler: async ({ params, access }) => {
    const vaults = await listVaults(catalogDeps(), params.subscriptionId ?? '');
    const readable = await readableBy(access, 'Microsoft.RecoveryServices/Vaults/read', vaults, (vault) => vault.value.id);
    return list(readable.map((vault) => vaultResource(vault.value, vault.etag)));
  },
});

armRoute({
  operationId: 'Vaults_ListByResourceGroup',
  action: 'Microsoft.RecoveryServices/Vaults/read',
  access: 'filtered',
  method: 'GET',
  route: `subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/${VAULTS_PROVIDER}`,
  summary: 'Lists the Recovery Services vaults of a resource group.',
  tag: TAG,
  responses: { 200: 'The vaults, in `value`.' },
  handler: async ({ params, access }) => {
    const vaults = await listVaults(catalogDeps(), params.subscriptionId ?? '', params.resourceGroupName ?? '');
    const readable = await readableBy(access, 'Microsoft.RecoveryServices/Vaults/read', vaults, (vault) => vault.value.id);
    return list(readable.map((vault) => vaultResource(vault.value, vault.etag)));
  },
});

// ---- storage redundancy -------------------------------------------------------------------------

armRoute({
  operationId: 'BackupResourceStorageConfigs_Get',
  action: 'Microsoft.RecoveryServices/Vaults/backupstorageconfig/read',
  method: 'GET',
  route: STORAGE_CONFIG_ROUTE,
  summary: "Gets the vault's storage redundancy and whether it is locked (the vault holds backup items).",
  tag: TAG,
  responses: { 200: 'The storage config.', 404: 'No such vault.' },
  handler: async ({ params }) => {
    const config = await getStorageConfig(catalogDeps(), vaultRefOf(params));
    return ok(storageConfigResource(config.vault, config.lockedBecause !== undefined));
  },
});

async function putStorageConfig(params: Record<string, string>, body: StorageConfigBody, partial: boolean) {
  const config = await updateStorageConfig(catalogDeps(), vaultRefOf(params), body, { partial });
  // As the spec declares: PUT answers the config, PATCH answers 204 without a body.
  return partial ? noContent() : ok(storageConfigResource(config.vault, config.lockedBecause !== undefined));
}

const storageConfigErrors = {
  400: 'Invalid body.',
  404: 'No such vault.',
  409: 'The redundancy is locked because the vault holds backup items (KluisStorageRedundancyLocked names them).',
};

armRoute({
  operationId: 'BackupResourceStorageConfigs_Update',
  action: 'Microsoft.RecoveryServices/Vaults/backupstorageconfig/write',
  method: 'PUT',
  route: STORAGE_CONFIG_ROUTE,
  summary: "Sets the vault's storage redundancy (GeoRedundant, LocallyRedundant, ZoneRedundant); only while the vault holds no backup items.",
  tag: TAG,
  body: storageConfigBodySchema,
  responses: { 200: 'The storage config after the change.', ...storageConfigErrors },
  handler: ({ params, body }) => putStorageConfig(params, body, false),
});

armRoute({
  operationId: 'BackupResourceStorageConfigs_Patch',
  action: 'Microsoft.RecoveryServices/Vaults/backupstorageconfig/write',
  method: 'PATCH',
  route: STORAGE_CONFIG_ROUTE,
  summary: "Changes the vault's storage redundancy, if the body names one; only while the vault holds no backup items.",
  tag: TAG,
  body: storageConfigBodySchema,
  responses: { 204: 'Changed (no body; GET shows the config).', ...storageConfigErrors },
  handler: ({ params, body }) => putStorageConfig(params, body, true),
});

// ---- soft delete --------------------------------------------------------------------------------

armRoute({
  operationId: 'BackupResourceVaultConfigs_Get',
  action: 'Microsoft.RecoveryServices/Vaults/backupconfig/read',
  method: 'GET',
  route: VAULT_CONFIG_ROUTE,
  summary: "Gets the vault's soft delete state and retention.",
  tag: TAG,
  responses: { 200: 'The vault config.', 404: 'No such vault.' },
  handler: async ({ params }) => ok(vaultConfigResource(await getVaultConfig(catalogDeps(), vaultRefOf(params)))),
});

async function putVaultConfig(params: Record<string, string>, body: VaultConfigBody, access: RequestAccess) {
  await demandSoftDeleteChange(access, body.properties.softDeleteFeatureState, `/${vaultPathOf(params)}`);
  return ok(vaultConfigResource(await updateVaultConfig(catalogDeps(), vaultRefOf(params), body)));
}

const vaultConfigResponses = {
  200: 'The vault config after the change.',
  400: 'Invalid body (e.g. retention outside 14–180 days).',
  404: 'No such vault.',
  403: 'The caller may not turn soft delete off (Microsoft.RecoveryServices/Vaults/backupconfig/disableSoftDelete/action).',
  409: 'Soft delete is AlwaysON, or holds soft-deleted items (BMSUserErrorDisablingSoftDeleteStateNotAllowed): it cannot be turned off.',
};

armRoute({
  operationId: 'BackupResourceVaultConfigs_Put',
  action: 'Microsoft.RecoveryServices/Vaults/backupconfig/write',
  method: 'PUT',
  route: VAULT_CONFIG_ROUTE,
  summary: 'Sets soft delete (Enabled, Disabled, AlwaysON — irreversible) and its retention (14–180 days); Kluis: the default for restore drills (kluisRestoreDrill).',
  tag: TAG,
  body: vaultConfigBodySchema,
  responses: vaultConfigResponses,
  handler: ({ params, body, access }) => putVaultConfig(params, body, access),
});

armRoute({
  operationId: 'BackupResourceVaultConfigs_Update',
  action: 'Microsoft.RecoveryServices/Vaults/backupconfig/write',
  method: 'PATCH',
  route: VAULT_CONFIG_ROUTE,
  summary: 'Changes soft delete state or retention, or (Kluis) the default for restore drills (kluisRestoreDrill); fields left out keep their value.',
  tag: TAG,
  body: vaultConfigBodySchema,
  responses: vaultConfigResponses,
  handler: ({ params, body, access }) => putVaultConfig(params, body, access),
});
