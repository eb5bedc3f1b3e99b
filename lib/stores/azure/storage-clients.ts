/**
 * Blob and Table clients for a configured storage connection: from its connection string (account key,
 * SAS, development storage), or, for an identity-based connection, from its service endpoints and the
 * app's managed identity (`credential: managedidentity`, the user-assigned identity named by its client id)
 * or DefaultAzureCredential. One credential per identity per process, so tokens are cached once.
 */
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { BlobServiceClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { TableClient, type TableServiceClientOptions } from '@azure/data-tables';
import type { IdentityStorageConnection, StorageConnection } from '../../domain/storage-account';

const credentials = new Map<string, TokenCredential>();

/** The token credential an identity-based connection presents. */
export function credentialOf(connection: Pick<IdentityStorageConnection, 'credential' | 'clientId'>): TokenCredential {
  const key = `${connection.credential ?? 'default'}:${connection.clientId ?? ''}`;
  let credential = credentials.get(key);
  if (credential === undefined) {
    credential =
      connection.credential === 'managedidentity'
        ? new ManagedIdentityCredential(connection.clientId === undefined ? {} : { clientId: connection.clientId })
        : new DefaultAzureCredential(connection.clientId === undefined ? {} : { managedIdentityClientId: connection.clientId });
    credentials.set(key, credential);
  }
  return credential;
}

export function blobServiceClientOf(connection: StorageConnection, options?: StoragePipelineOptions): BlobServiceClient {
  if (typeof connection === 'string') return BlobServiceClient.fromConnectionString(connection, options);
  return new BlobServiceClient(connection.blobServiceUri, credentialOf(connection), options);
}

export function tableClientOf(connection: StorageConnection, tableName: string, options?: TableServiceClientOptions): TableClient {
  if (typeof connection === 'string') return TableClient.fromConnectionString(connection, tableName, { allowInsecureConnection: true, ...options });
  return new TableClient(connection.tableServiceUri, tableName, credentialOf(connection), options);
}
