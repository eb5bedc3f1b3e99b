import { randomUUID } from 'node:crypto';
import { TableClient, type TableServiceClientOptions as TableClientOptions } from '@azure/data-tables';
import { errors } from '../../domain/errors';
import type { AbortOptions } from '../disk-store';
import {
  recoveryPointRowKey,
  type DeleteRecoveryPointOptions,
  type PutRecoveryPointOptions,
  type RecoveryPointCatalog,
  type RecoveryPointRecord,
  type StoredRecoveryPoint,
} from '../recovery-point-catalog';
import { isStatus } from './rest-status';
import { createTableOnce } from './table-support';
import { tableClientOf } from './storage-clients';
import type { StorageConnection } from '../../domain/storage-account';

interface RecoveryPointEntity {
  partitionKey: string;
  rowKey: string;
  itemId: string;
  recoveryPointId: string;
  createdAt: string;
  consistency: string;
  vaultContainer: string;
  manifestBlobName: string;
  diskCount: number;
  state: string;
  /** RecoveryPointRetention as JSON. */
  retention?: string;
  isSourceVmEncrypted?: boolean;
  /** A fresh id per write call: tells this call's own write (applied by a try whose answer was lost) from another writer's. */
  writeId?: string;
}

/** RecoveryPointCatalog in an Azure Table: partition = item id, row = zero-padded point id; ETag concurrency. */
export class TableRecoveryPointCatalog implements RecoveryPointCatalog {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = createTableOnce(table);
  }

  static fromConnectionString(connectionString: StorageConnection, tableName: string, options?: TableClientOptions): TableRecoveryPointCatalog {
    return new TableRecoveryPointCatalog(tableClientOf(connectionString, tableName, options));
  }

  async put(record: RecoveryPointRecord, options: PutRecoveryPointOptions = {}): Promise<StoredRecoveryPoint> {
    await this.ensureTable();
    const entity = { ...toEntity(record), writeId: randomUUID() };
    try {
      const response =
        options.ifMatch === undefined
          ? await this.table.createEntity(entity, { abortSignal: options.abortSignal })
          : await this.table.updateEntity(entity, 'Replace', { etag: options.ifMatch, abortSignal: options.abortSignal });
      return { ...record, etag: response.etag ?? '' };
    } catch (err) {
      if (isStatus(err, 409) || isStatus(err, 412)) {
        // This very write, applied by an earlier try whose answer was lost (the SDK retried it)?
        // Told by the write's own id, never by equal content (another writer may write the same row).
        const current = await this.table.getEntity<RecoveryPointEntity>(entity.partitionKey, entity.rowKey, { abortSignal: options.abortSignal }).catch((e: unknown) => {
          if (isStatus(e, 404)) return undefined;
          throw e;
        });
        if (current !== undefined && current.writeId === entity.writeId) return { ...record, etag: current.etag ?? '' };
        throw errors.catalogConflict(describe(record));
      }
      if (isStatus(err, 404) && options.ifMatch !== undefined) throw errors.catalogConflict(describe(record));
      throw err;
    }
  }

  async get(itemId: string, recoveryPointId: string, options: AbortOptions = {}): Promise<StoredRecoveryPoint | undefined> {
    await this.ensureTable();
    try {
      const entity = await this.table.getEntity<RecoveryPointEntity>(itemId, recoveryPointRowKey(recoveryPointId), {
        abortSignal: options.abortSignal,
      });
      return fromEntity(entity, entity.etag);
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  async *list(itemId: string, options: AbortOptions = {}): AsyncIterable<StoredRecoveryPoint> {
    await this.ensureTable();
    const entities = this.table.listEntities<RecoveryPointEntity>({
      queryOptions: { filter: `PartitionKey eq '${itemId.replace(/'/g, "''")}'` },
      abortSignal: options.abortSignal,
    });
    for await (const entity of entities) yield fromEntity(entity, entity.etag);
  }

  async delete(itemId: string, recoveryPointId: string, options: DeleteRecoveryPointOptions = {}): Promise<void> {
    await this.ensureTable();
    try {
      await this.table.deleteEntity(itemId, recoveryPointRowKey(recoveryPointId), {
        etag: options.ifMatch ?? '*',
        abortSignal: options.abortSignal,
      });
    } catch (err) {
      if (isStatus(err, 404)) return;
      if (isStatus(err, 412)) throw errors.catalogConflict(`Recovery point ${recoveryPointId} of item ${itemId}`);
      throw err;
    }
  }

}

function toEntity(record: RecoveryPointRecord): RecoveryPointEntity {
  return {
    partitionKey: record.itemId,
    rowKey: recoveryPointRowKey(record.recoveryPointId),
    itemId: record.itemId,
    recoveryPointId: record.recoveryPointId,
    createdAt: record.createdAt,
    consistency: record.consistency,
    vaultContainer: record.vaultContainer,
    manifestBlobName: record.manifestBlobName,
    diskCount: record.diskCount,
    state: record.state,
    ...(record.retention === undefined ? {} : { retention: JSON.stringify(record.retention) }),
    ...(record.isSourceVmEncrypted === true ? { isSourceVmEncrypted: true } : {}),
  };
}

function fromEntity(entity: RecoveryPointEntity, etag: string | undefined): StoredRecoveryPoint {
  return {
    itemId: entity.itemId,
    recoveryPointId: entity.recoveryPointId,
    createdAt: entity.createdAt,
    consistency: entity.consistency as StoredRecoveryPoint['consistency'],
    vaultContainer: entity.vaultContainer,
    manifestBlobName: entity.manifestBlobName,
    diskCount: entity.diskCount,
    state: entity.state,
    ...(entity.retention === undefined ? {} : { retention: JSON.parse(entity.retention) as StoredRecoveryPoint['retention'] }),
    ...(entity.isSourceVmEncrypted === true ? { isSourceVmEncrypted: true } : {}),
    etag: etag ?? '',
  };
}

function describe(record: RecoveryPointRecord): string {
  return `Recovery point ${record.recoveryPointId} of item ${record.itemId}`;
}

