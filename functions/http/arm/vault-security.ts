/**
 * What `az backup` reads before it changes protection or restores: GET
 * `{vault}/backupEncryptionConfigs/backupResourceEncryptionConfig` (platform-managed keys) and GET
 * `{vault}/backupResourceGuardProxies` (none: `{"value":[]}`; GET of one is ARM's 404).
 */
import { encryptionConfigResource, RESOURCE_GUARD_PROXY_RESOURCE_TYPE } from '../../../lib/domain/arm/vault-security-resource';
import { errors } from '../../../lib/domain/errors';
import { getVault } from '../../../lib/services/vaults';
import { vaultCatalog } from '../../deps';
import { armRoute, list, ok, VAULT_ROUTE, vaultRefOf } from './route';

const TAG = 'Vaults';

armRoute({
  operationId: 'BackupResourceEncryptionConfigs_Get',
  action: 'Microsoft.RecoveryServices/Vaults/read',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupEncryptionConfigs/backupResourceEncryptionConfig`,
  summary: "Gets the vault's encryption at rest: platform-managed keys (Kluis has no customer-managed keys).",
  tag: TAG,
  responses: { 200: 'The encryption config.', 404: 'No such vault.' },
  handler: async ({ params }) => ok(encryptionConfigResource((await getVault({ catalog: vaultCatalog() }, vaultRefOf(params))).value)),
});

armRoute({
  operationId: 'ResourceGuardProxies_Get',
  action: 'Microsoft.RecoveryServices/Vaults/read',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupResourceGuardProxies`,
  summary: "Lists the vault's Resource Guard proxies: none (Kluis has no Resource Guard; operations need no second approval).",
  tag: TAG,
  responses: { 200: 'An empty `value`.', 404: 'No such vault.' },
  handler: async ({ params }) => {
    await getVault({ catalog: vaultCatalog() }, vaultRefOf(params));
    return list([]);
  },
});

armRoute({
  operationId: 'ResourceGuardProxy_Get',
  action: 'Microsoft.RecoveryServices/Vaults/read',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupResourceGuardProxies/{resourceGuardProxyName}`,
  summary: 'Gets a Resource Guard proxy: there are none (ResourceNotFound).',
  tag: TAG,
  responses: { 404: 'No such vault or proxy.' },
  handler: async ({ params }) => {
    const vault = (await getVault({ catalog: vaultCatalog() }, vaultRefOf(params))).value;
    throw errors.resourceNotFound(RESOURCE_GUARD_PROXY_RESOURCE_TYPE, params.resourceGuardProxyName ?? '', vault.resourceGroup, 'resourceGuardProxyName');
  },
});
