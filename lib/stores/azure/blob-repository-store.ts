/**
 * A backup server repository in a blob container (the vault's copy of a server's repository, issue 16 step 3+):
 * one block blob per object under an optional prefix. `writeIfAbsent` uses If-None-Match: * (409/412 → false);
 * a single Put Blob is atomic, so readers never see half an object. Listing is flat by prefix.
 */
import { ContainerClient } from '@azure/storage-blob';
import { errors } from '../../domain/errors';
import { isValidStoreKey } from '../../backup-server/domain/repository-layout';
import type { StorageConnection } from '../../domain/storage-account';
import type { RepositoryStore } from '../repository-store';
import { blobServiceClientOf } from './storage-clients';

export class BlobRepositoryStore implements RepositoryStore {
  readonly location: string;
  private created: Promise<unknown> | undefined;

  constructor(private readonly container: ContainerClient, private readonly prefix = '') {
    // The container URL without any query string (no SAS in messages).
    this.location = `${container.url.split('?')[0]}/${prefix}`;
  }

  /**
   * A store over a container the vault granted through a SAS (the server's vault copy): the vault made the
   * container, so writes do not try to create it (a container SAS cannot).
   */
  static fromSas(containerUrl: string, sasToken: string, prefix = ''): BlobRepositoryStore {
    const store = new BlobRepositoryStore(new ContainerClient(`${containerUrl}?${sasToken.replace(/^\?/, '')}`), prefix);
    store.created = Promise.resolve();
    return store;
  }

  static fromConnection(connection: StorageConnection, containerName: string, prefix = ''): BlobRepositoryStore {
    return new BlobRepositoryStore(blobServiceClientOf(connection).getContainerClient(containerName), prefix);
  }

  async read(key: string): Promise<Buffer | undefined> {
    try {
      return await this.container.getBlockBlobClient(this.nameOf(key)).downloadToBuffer();
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async readRange(key: string, offset: number, length: number): Promise<Buffer | undefined> {
    try {
      return await this.container.getBlockBlobClient(this.nameOf(key)).downloadToBuffer(offset, length);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async write(key: string, data: Uint8Array): Promise<void> {
    await this.ensureContainer();
    await this.container.getBlockBlobClient(this.nameOf(key)).uploadData(data, { maxSingleShotSize: 256 * 1024 * 1024 });
  }

  async writeIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    await this.ensureContainer();
    try {
      await this.container.getBlockBlobClient(this.nameOf(key)).uploadData(data, { maxSingleShotSize: 256 * 1024 * 1024, conditions: { ifNoneMatch: '*' } });
      return true;
    } catch (err) {
      if (statusOf(err) === 409 || statusOf(err) === 412) return false;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    return this.container.getBlockBlobClient(this.nameOf(key)).exists();
  }

  async *list(prefix: string): AsyncIterable<string> {
    try {
      for await (const blob of this.container.listBlobsFlat({ prefix: `${this.prefix}${prefix}` })) {
        const key = blob.name.slice(this.prefix.length);
        if (isValidStoreKey(key)) yield key;
      }
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.container.getBlockBlobClient(this.nameOf(key)).deleteIfExists();
  }

  private ensureContainer(): Promise<unknown> {
    this.created ??= this.container.createIfNotExists().catch((err) => {
      this.created = undefined;
      throw err;
    });
    return this.created;
  }

  private nameOf(key: string): string {
    if (!isValidStoreKey(key)) throw errors.invalidRequest('key', `'${key}' is not a valid repository key.`);
    return `${this.prefix}${key}`;
  }
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}
