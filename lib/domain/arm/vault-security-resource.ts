/**
 * The vault's security resources that clients read before changing protection: its backup encryption
 * config (`backupEncryptionConfigs/backupResourceEncryptionConfig`; Kluis vaults use platform-managed
 * keys, shown as Azure shows a vault without customer-managed keys) and its resource guard proxies
 * (`backupResourceGuardProxies`; Kluis has no Resource Guard, so there are none).
 */
import type { VaultRecord } from '../catalog';

export const ENCRYPTION_CONFIG_NAME = 'backupResourceEncryptionConfig';
export const ENCRYPTION_CONFIG_RESOURCE_TYPE = 'Microsoft.RecoveryServices/vaults/backupEncryptionConfigs';
export const RESOURCE_GUARD_PROXY_RESOURCE_TYPE = 'Microsoft.RecoveryServices/vaults/backupResourceGuardProxies';

export interface ArmEncryptionConfigResource {
  id: string;
  name: typeof ENCRYPTION_CONFIG_NAME;
  type: typeof ENCRYPTION_CONFIG_RESOURCE_TYPE;
  properties: {
    encryptionAtRestType: 'MicrosoftManaged';
    lastUpdateStatus: 'NotEnabled';
    infrastructureEncryptionState: 'Disabled';
    subscriptionId: string;
  };
}

export function encryptionConfigResource(vault: VaultRecord): ArmEncryptionConfigResource {
  return {
    id: `${vault.id}/backupEncryptionConfigs/${ENCRYPTION_CONFIG_NAME}`,
    name: ENCRYPTION_CONFIG_NAME,
    type: ENCRYPTION_CONFIG_RESOURCE_TYPE,
    properties: {
      encryptionAtRestType: 'MicrosoftManaged',
      lastUpdateStatus: 'NotEnabled',
      infrastructureEncryptionState: 'Disabled',
      subscriptionId: vault.subscriptionId,
    },
  };
}
