/**
 * VaultCopyAccessIssuer on Blob storage. A key-based connection (Azurite, a connection string with AccountKey)
 * signs a service SAS with the account key; an identity-based connection (cloud mode, managed identity) asks the
 * Blob service for a user delegation key and signs a user-delegation SAS with it — both scoped to one container,
 * HTTPS-or-HTTP as the endpoint is, and short-lived.
 */
import {
  BlobServiceClient,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
  type UserDelegationKey,
} from '@azure/storage-blob';
import type { StorageConnection } from '../../domain/storage-account';
import type { VaultCopyAccessIssuer, VaultCopyGrant, VaultCopyPermission } from '../vault-copy-access';
import { blobServiceClientOf } from './storage-clients';

export class BlobVaultCopyAccessIssuer implements VaultCopyAccessIssuer {
  private readonly service: BlobServiceClient;

  constructor(connection: StorageConnection, private readonly wallClock: () => Date = () => new Date()) {
    this.service = blobServiceClientOf(connection);
  }

  async grant(container: string, permission: VaultCopyPermission, minutes: number): Promise<VaultCopyGrant> {
    const now = this.wallClock().getTime();
    const startsOn = new Date(now - 5 * 60_000); // storage clock skew
    const expiresOn = new Date(now + minutes * 60_000);
    const client = this.service.getContainerClient(container);
    await client.createIfNotExists();
    const permissions = ContainerSASPermissions.parse(permission === 'write' ? 'rcwdl' : 'rl');
    const values = { containerName: container, permissions, startsOn, expiresOn };
    const credential = this.service.credential;
    let sasToken: string;
    if (credential instanceof StorageSharedKeyCredential) {
      sasToken = generateBlobSASQueryParameters(values, credential).toString();
    } else {
      const key: UserDelegationKey = await this.service.getUserDelegationKey(startsOn, expiresOn);
      sasToken = generateBlobSASQueryParameters(values, key, this.service.accountName).toString();
    }
    return { containerUrl: client.url.split('?')[0], sasToken, expiresOn: expiresOn.toISOString() };
  }

  async deleteContainer(container: string): Promise<void> {
    await this.service.getContainerClient(container).deleteIfExists();
  }
}
