/** A repository store in memory (tests; the conformance suite runs against it and the file store alike). */
import { errors } from '../../domain/errors';
import { isValidStoreKey } from '../../backup-server/domain/repository-layout';
import type { RepositoryStore } from '../repository-store';

export class MemoryRepositoryStore implements RepositoryStore {
  readonly location = 'memory';
  readonly objects = new Map<string, Buffer>();

  async read(key: string): Promise<Buffer | undefined> {
    const data = this.objects.get(checked(key));
    return data === undefined ? undefined : Buffer.from(data);
  }

  async readRange(key: string, offset: number, length: number): Promise<Buffer | undefined> {
    const data = this.objects.get(checked(key));
    return data === undefined ? undefined : Buffer.from(data.subarray(offset, offset + length));
  }

  async write(key: string, data: Uint8Array): Promise<void> {
    this.objects.set(checked(key), Buffer.from(data));
  }

  async writeIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    if (this.objects.has(checked(key))) return false;
    this.objects.set(key, Buffer.from(data));
    return true;
  }

  async exists(key: string): Promise<boolean> {
    return this.objects.has(checked(key));
  }

  async *list(prefix: string): AsyncIterable<string> {
    for (const key of [...this.objects.keys()]) if (key.startsWith(prefix)) yield key;
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(checked(key));
  }
}

function checked(key: string): string {
  if (!isValidStoreKey(key)) throw errors.invalidRequest('key', `'${key}' is not a valid repository key.`);
  return key;
}
