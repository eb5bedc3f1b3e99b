/** A JSON document kept under one key of a store (a server's or an agent's `state.json`: no secret in it). */
import type { RepositoryStore } from '../../stores/repository-store';

export async function readJsonState<T>(store: RepositoryStore, key: string): Promise<T | undefined> {
  const bytes = await store.read(key);
  return bytes === undefined ? undefined : (JSON.parse(bytes.toString('utf8')) as T);
}

export async function writeJsonState<T>(store: RepositoryStore, key: string, state: T): Promise<void> {
  await store.write(key, Buffer.from(`${JSON.stringify(state, null, 2)}\n`, 'utf8'));
}
