import { errors } from '../../domain/errors';
import type { DocumentStore, ListOptions, Stored } from '../document-store';

/** In-memory DocumentStore with the Table store's ETag semantics (unit tests of services). */
export class MemoryDocumentStore<T> implements DocumentStore<T> {
  private readonly rows = new Map<string, Stored<T>>();
  private version = 0;

  constructor(private readonly kind = 'Document') {}

  async get(partition: string, row: string): Promise<Stored<T> | undefined> {
    const found = this.rows.get(keyOf(partition, row));
    return found === undefined ? undefined : copy(found);
  }

  async *list(partition: string, options: ListOptions = {}): AsyncIterable<Stored<T>> {
    const prefix = options.rowPrefix ?? '';
    const found = [...this.rows.values()]
      .filter((doc) => doc.partition === partition && doc.row.startsWith(prefix))
      .sort((a, b) => (a.row < b.row ? -1 : a.row > b.row ? 1 : 0));
    for (const doc of found) yield copy(doc);
  }

  async *listAll(): AsyncIterable<Stored<T>> {
    const found = [...this.rows.values()].sort((a, b) => (keyOf(a.partition, a.row) < keyOf(b.partition, b.row) ? -1 : 1));
    for (const doc of found) yield copy(doc);
  }

  async insert(partition: string, row: string, value: T): Promise<Stored<T>> {
    if (this.rows.has(keyOf(partition, row))) throw errors.catalogConflict(`${this.kind} '${row}'`);
    return this.write(partition, row, value);
  }

  async replace(partition: string, row: string, value: T, ifMatch: string): Promise<Stored<T>> {
    if (this.rows.get(keyOf(partition, row))?.etag !== ifMatch) throw errors.catalogConflict(`${this.kind} '${row}'`);
    return this.write(partition, row, value);
  }

  async delete(partition: string, row: string, options: { ifMatch?: string } = {}): Promise<void> {
    const existing = this.rows.get(keyOf(partition, row));
    if (existing === undefined) return;
    if (options.ifMatch !== undefined && existing.etag !== options.ifMatch) throw errors.catalogConflict(`${this.kind} '${row}'`);
    this.rows.delete(keyOf(partition, row));
  }

  private write(partition: string, row: string, value: T): Stored<T> {
    this.version += 1;
    const stored: Stored<T> = { partition, row, etag: `W/"${this.version}"`, value: structuredClone(value) };
    this.rows.set(keyOf(partition, row), stored);
    return copy(stored);
  }
}

function keyOf(partition: string, row: string): string {
  return `${partition}\n${row}`;
}

function copy<T>(doc: Stored<T>): Stored<T> {
  return { ...doc, value: structuredClone(doc.value) };
}
