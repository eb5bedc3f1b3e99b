/**
 * A storage account Kluis is configured with, as Microsoft.Storage shows it (`storageAccounts` GET,
 * api-versions 2016-01-01 … 2023-05-01): id, location, sku, kind and primary endpoints. The roles the
 * account plays for Kluis are shown as the tag `kluis-roles`.
 */
import type { KnownStorageAccount } from '../storage-account';

export const STORAGE_ACCOUNT_RESOURCE_TYPE = 'Microsoft.Storage/storageAccounts';

export interface StorageAccountPlacement {
  subscriptionId: string;
  resourceGroup: string;
  location: string;
}

export function storageAccountId(placement: Pick<StorageAccountPlacement, 'subscriptionId' | 'resourceGroup'>, name: string): string {
  return `/subscriptions/${placement.subscriptionId}/resourceGroups/${placement.resourceGroup}/providers/${STORAGE_ACCOUNT_RESOURCE_TYPE}/${name}`;
}

export function storageAccountResource(account: KnownStorageAccount, placement: StorageAccountPlacement): Record<string, unknown> {
  const https = account.primaryEndpoints.blob.startsWith('https:');
  return {
    id: storageAccountId(placement, account.name),
    name: account.name,
    type: STORAGE_ACCOUNT_RESOURCE_TYPE,
    location: placement.location,
    tags: { 'kluis-roles': account.roles.join(',') },
    sku: { name: 'Standard_LRS', tier: 'Standard' },
    kind: 'StorageV2',
    properties: {
      provisioningState: 'Succeeded',
      primaryEndpoints: { ...account.primaryEndpoints },
      primaryLocation: placement.location,
      statusOfPrimary: 'available',
      creationTime: '1970-01-01T00:00:00.0000000Z',
      accessTier: 'Hot',
      supportsHttpsTrafficOnly: https,
      minimumTlsVersion: 'TLS1_2',
      allowBlobPublicAccess: false,
      encryption: {
        keySource: 'Microsoft.Storage',
        services: { blob: { enabled: true, keyType: 'Account' }, file: { enabled: true, keyType: 'Account' } },
      },
    },
  };
}
