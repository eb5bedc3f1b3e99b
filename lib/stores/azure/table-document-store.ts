import { randomUUID } from 'node:crypto';
import { TableClient, type TableServiceClientOptions } from '@azure/data-tables';
import { errors } from '../../domain/errors';
import type { AbortOptions } from '../disk-store';
import type { DocumentStore, ListOptions, Stored } from '../document-store';
import { isStatus } from './rest-status';
import { createTableOnce } from './table-support';
import { tableClientOf } from './storage-clients';
import type { StorageConnection } from '../../domain/storage-account';

interface DocumentEntity {
  partitionKey: string;
  rowKey: string;
  body: string;
  /** A fresh id per write call: tells this call's own write (applied by a try whose answer was lost) from another writer's. */
  writeId?: string;
}

/** Azure Table strings hold 32K UTF-16 characters; catalog documents are far smaller, and a bigger one is a bug. */
const MAX_BODY_CHARS = 32_000;

/** DocumentStore in one Azure Table: the JSON document in a `body` property, Table ETags for concurrency. */
export class TableDocumentStore<T> implements DocumentStore<T> {
  private readonly ensureTable: () => Promise<void>;

  constructor(
    private readonly table: TableClient,
    private readonly kind = 'Document',
  ) {
    this.ensureTable = createTableOnce(table);
  }

  static fromConnectionString<T>(connectionString: StorageConnection, tableName: string, kind?: string, options?: TableServiceClientOptions): TableDocumentStore<T> {
    return new TableDocumentStore<T>(tableClientOf(connectionString, tableName, options), kind);
  }

  async get(partition: string, row: string, options: AbortOptions = {}): Promise<Stored<T> | undefined> {
    await this.ensureTable();
    try {
      const entity = await this.table.getEntity<DocumentEntity>(partition, row, { abortSignal: options.abortSignal });
      return fromEntity<T>(entity, entity.etag);
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  async *list(partition: string, options: ListOptions = {}): AsyncIterable<Stored<T>> {
    await this.ensureTable();
    let filter = `PartitionKey eq ${quote(partition)}`;
    if (options.rowPrefix) filter += ` and RowKey ge ${quote(options.rowPrefix)} and RowKey lt ${quote(`${options.rowPrefix}\uffff`)}`;
    const entities = this.table.listEntities<DocumentEntity>({ queryOptions: { filter }, abortSignal: options.abortSignal });
    for await (const entity of entities) yield fromEntity<T>(entity, entity.etag);
  }

  async *listAll(options: AbortOptions = {}): AsyncIterable<Stored<T>> {
    await this.ensureTable();
    for await (const entity of this.table.listEntities<DocumentEntity>({ abortSignal: options.abortSignal })) {
      yield fromEntity<T>(entity, entity.etag);
    }
  }

  async insert(partition: string, row: string, value: T, options: AbortOptions = {}): Promise<Stored<T>> {
    await this.ensureTable();
    const entity = toEntity(partition, row, value);
    try {
      const response = await this.table.createEntity(entity, { abortSignal: options.abortSignal });
      return { partition, row, etag: response.etag ?? '', value };
    } catch (err) {
      if (isStatus(err, 409)) return this.appliedOrConflict(entity, value, options);
      throw err;
    }
  }

  async replace(partition: string, row: string, value: T, ifMatch: string, options: AbortOptions = {}): Promise<Stored<T>> {
    await this.ensureTable();
    const entity = toEntity(partition, row, value);
    try {
      const response = await this.table.updateEntity(entity, 'Replace', {
        etag: ifMatch,
        abortSignal: options.abortSignal,
      });
      return { partition, row, etag: response.etag ?? '', value };
    } catch (err) {
      if (isStatus(err, 412)) return this.appliedOrConflict(entity, value, options);
      if (isStatus(err, 404) || isStatus(err, 409)) throw errors.catalogConflict(`${this.kind} '${row}'`);
      throw err;
    }
  }

  /**
   * A write refused for its condition (409 on insert, 412 on replace) may be this very write, applied by an
   * earlier try whose answer was lost (the SDK retried it): when the row holds exactly this document, the
   * write succeeded. Told by the write's own id, not by equal content: two writers may write the same document,
   * and the one that lost must hear so (an update computed from what it read). Otherwise: KluisCatalogConflict.
   */
  private async appliedOrConflict(entity: DocumentEntity, value: T, options: AbortOptions): Promise<Stored<T>> {
    try {
      const current = await this.table.getEntity<DocumentEntity>(entity.partitionKey, entity.rowKey, { abortSignal: options.abortSignal });
      if (current.writeId === entity.writeId) return { partition: entity.partitionKey, row: entity.rowKey, etag: current.etag ?? '', value };
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
    throw errors.catalogConflict(`${this.kind} '${entity.rowKey}'`);
  }

  async delete(partition: string, row: string, options: AbortOptions & { ifMatch?: string } = {}): Promise<void> {
    await this.ensureTable();
    try {
      await this.table.deleteEntity(partition, row, { etag: options.ifMatch ?? '*', abortSignal: options.abortSignal });
    } catch (err) {
      if (isStatus(err, 404)) return;
      if (isStatus(err, 412)) throw errors.catalogConflict(`${this.kind} '${row}'`);
      throw err;
    }
  }

}

function toEntity<T>(partition: string, row: string, value: T): DocumentEntity {
  const body = JSON.stringify(value);
  if (body.length > MAX_BODY_CHARS) throw new Error(`Catalog document ${partition}/${row} is ${body.length} characters (limit ${MAX_BODY_CHARS}).`);
  return { partitionKey: partition, rowKey: row, body, writeId: randomUUID() };
}

function fromEntity<T>(entity: DocumentEntity, etag: string | undefined): Stored<T> {
  return { partition: entity.partitionKey, row: entity.rowKey, etag: etag ?? '', value: JSON.parse(entity.body) as T };
}

function quote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

