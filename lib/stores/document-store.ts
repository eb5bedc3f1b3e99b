/**
 * A small JSON document store with optimistic concurrency, the base of the vault catalog (vaults,
 * policies, protected items, jobs, async operations). A document lives under (partition, row); every
 * write returns a new ETag, and replace/delete take the ETag they read, so two writers never
 * overwrite each other silently (KluisCatalogConflict instead).
 *
 * Implementations: `azure/table-document-store.ts` (one Azure Table), `memory/document-store.ts`.
 */
import type { AbortOptions } from './disk-store';

export interface Stored<T> {
  partition: string;
  row: string;
  etag: string;
  value: T;
}

export interface ListOptions extends AbortOptions {
  /** Only rows whose key starts with this prefix. */
  rowPrefix?: string;
}

export interface DocumentStore<T> {
  get(partition: string, row: string, options?: AbortOptions): Promise<Stored<T> | undefined>;
  /** Rows of one partition in row-key order. */
  list(partition: string, options?: ListOptions): AsyncIterable<Stored<T>>;
  /** Every row of every partition (admin views, sweepers). */
  listAll(options?: AbortOptions): AsyncIterable<Stored<T>>;
  /** Insert only: KluisCatalogConflict when the row exists. */
  insert(partition: string, row: string, value: T, options?: AbortOptions): Promise<Stored<T>>;
  /** Replace only when the row still has `ifMatch`: KluisCatalogConflict otherwise (also when it is gone). */
  replace(partition: string, row: string, value: T, ifMatch: string, options?: AbortOptions): Promise<Stored<T>>;
  /** Delete (only when the row still has `ifMatch`, if given); succeeds when the row is already gone. */
  delete(partition: string, row: string, options?: AbortOptions & { ifMatch?: string }): Promise<void>;
}

/** Documents are keyed case-insensitively, as ARM names are: keys are stored lowercased. */
export function documentKey(...parts: string[]): string {
  return parts.map((part) => part.toLowerCase()).join('~');
}

/** Read → change → replace, retried on conflicts; `change` returns undefined to leave the document as is. */
export async function updateDocument<T>(
  store: DocumentStore<T>,
  partition: string,
  row: string,
  change: (current: T) => T | undefined | Promise<T | undefined>,
  options: { attempts?: number } & AbortOptions = {},
): Promise<Stored<T> | undefined> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const current = await store.get(partition, row, options);
    if (current === undefined) return undefined;
    const next = await change(current.value);
    if (next === undefined) return current;
    try {
      return await store.replace(partition, row, next, current.etag, options);
    } catch (err) {
      if (attempt >= attempts || (err as { code?: string }).code !== 'KluisCatalogConflict') throw err;
    }
  }
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
