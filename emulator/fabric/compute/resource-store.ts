/**
 * The state of the fabric's Compute resources in one Azure Table (default `KluisFabricCompute`, in the
 * source storage account next to the VM inventory): partition = subscription id, row = `<kind>|<resource
 * group>|<name>[|<child>]`, lower-cased (ARM names are case-insensitive); the record is JSON in `doc`.
 * Disk restore points live inside their restore point's record. `grantExpiresAt` (the earliest expiry of
 * the record's SAS grants, or absent) lets a restarted fabric find every grant it must expire.
 * Writes use ETags; `mutate` retries a read-change-write that lost a race.
 */
import { TableClient, type TableEntityResult } from '@azure/data-tables';
import { isStatus } from '../../../lib/stores/azure/rest-status';
import { createTableOnce } from '../../../lib/stores/azure/table-support';
import { computeErrors } from './errors';

export const DEFAULT_COMPUTE_TABLE = 'KluisFabricCompute';

export type RecordKind = 'disk' | 'snapshot' | 'rpc' | 'rp' | 'op' | 'lock';

export interface RecordKey {
  subscriptionId: string;
  kind: RecordKind;
  resourceGroup: string;
  /** Name path below the resource group: `[name]`, or `[collection, restorePoint]`. */
  names: readonly string[];
}

export interface Stored<T> {
  value: T;
  etag: string;
}

interface Entity {
  partitionKey: string;
  rowKey: string;
  kind: string;
  resourceGroup: string;
  doc: string;
  grantExpiresAt?: string;
}

const UPDATE_ATTEMPTS = 8;

export const partitionOf = (subscriptionId: string) => subscriptionId.toLowerCase();
export const rowOf = (key: Omit<RecordKey, 'subscriptionId'>) => [key.kind, key.resourceGroup, ...key.names].join('|').toLowerCase();

/** What `mutate` writes: the new value (and its earliest grant expiry), or `delete`. */
export type Mutation<T> = { value: T; grantExpiresAt?: string } | 'delete';

export class ComputeResourceStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = createTableOnce(table);
  }

  static fromConnectionString(connectionString: string, tableName = DEFAULT_COMPUTE_TABLE): ComputeResourceStore {
    return new ComputeResourceStore(TableClient.fromConnectionString(connectionString, tableName, { allowInsecureConnection: true }));
  }

  async get<T>(key: RecordKey): Promise<Stored<T> | undefined> {
    await this.ensureTable();
    try {
      const entity = await this.table.getEntity<Entity>(partitionOf(key.subscriptionId), rowOf(key));
      return fromEntity<T>(entity);
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  /** Records of one kind in a subscription, optionally one resource group's, optionally below a parent name. */
  async *list<T>(subscriptionId: string, kind: RecordKind, resourceGroup?: string, parentNames: readonly string[] = []): AsyncIterable<Stored<T>> {
    await this.ensureTable();
    const prefix = resourceGroup === undefined ? `${kind}|` : `${rowOf({ kind, resourceGroup, names: parentNames })}|`;
    // '}' is the character after '|': every row key starting with the prefix sorts below prefix-with-'}'.
    const upper = `${prefix.slice(0, -1)}}`;
    const filter = `PartitionKey eq ${odata(partitionOf(subscriptionId))} and RowKey ge ${odata(prefix)} and RowKey lt ${odata(upper)}`;
    for await (const entity of this.table.listEntities<Entity>({ queryOptions: { filter } })) yield fromEntity<T>(entity);
  }

  /** Every record (any subscription) holding a SAS grant. */
  async *listWithGrants<T>(): AsyncIterable<Stored<T> & { key: { subscriptionId: string; kind: RecordKind } }> {
    await this.ensureTable();
    for await (const entity of this.table.listEntities<Entity>({ queryOptions: { filter: "grantExpiresAt gt ''" } })) {
      yield { ...fromEntity<T>(entity), key: { subscriptionId: entity.partitionKey, kind: entity.kind as RecordKind } };
    }
  }

  /** Inserts; undefined when a record with this key exists. */
  async insert<T>(key: RecordKey, value: T, grantExpiresAt?: string): Promise<Stored<T> | undefined> {
    await this.ensureTable();
    try {
      const response = await this.table.createEntity(toEntity(key, value, grantExpiresAt));
      return { value, etag: response.etag ?? '' };
    } catch (err) {
      if (isStatus(err, 409)) return undefined;
      throw err;
    }
  }

  async delete(key: RecordKey): Promise<void> {
    await this.ensureTable();
    try {
      await this.table.deleteEntity(partitionOf(key.subscriptionId), rowOf(key), { etag: '*' });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
  }

  /**
   * Read, change, write under the ETag, retried when another change came in between. `change` gets the
   * current record (undefined when there is none) and may throw; `undefined` from it writes nothing.
   * Returns what was written (undefined after a delete or no change).
   */
  async mutate<T>(key: RecordKey, change: (current: Stored<T> | undefined) => Mutation<T> | undefined | Promise<Mutation<T> | undefined>): Promise<Stored<T> | undefined> {
    await this.ensureTable();
    for (let attempt = 1; ; attempt++) {
      const current = await this.get<T>(key);
      const next = await change(current);
      if (next === undefined) return current;
      try {
        if (next === 'delete') {
          if (current !== undefined) await this.table.deleteEntity(partitionOf(key.subscriptionId), rowOf(key), { etag: current.etag });
          return undefined;
        }
        const entity = toEntity(key, next.value, next.grantExpiresAt);
        const response =
          current === undefined ? await this.table.createEntity(entity) : await this.table.updateEntity(entity, 'Replace', { etag: current.etag });
        return { value: next.value, etag: response.etag ?? '' };
      } catch (err) {
        const lostRace = isStatus(err, 412) || (current === undefined && isStatus(err, 409)) || (next === 'delete' && isStatus(err, 404));
        if (lostRace && attempt < UPDATE_ATTEMPTS) continue;
        if (lostRace) throw computeErrors.conflict('The resource was changed by another operation at the same time; retry the operation.');
        throw err;
      }
    }
  }
}

function toEntity<T>(key: RecordKey, value: T, grantExpiresAt?: string): Entity {
  return {
    partitionKey: partitionOf(key.subscriptionId),
    rowKey: rowOf(key),
    kind: key.kind,
    resourceGroup: key.resourceGroup.toLowerCase(),
    doc: JSON.stringify(value),
    // An empty string clears a previous value under 'Replace'.
    grantExpiresAt: grantExpiresAt ?? '',
  };
}

function fromEntity<T>(entity: TableEntityResult<Entity>): Stored<T> {
  return { value: JSON.parse(entity.doc) as T, etag: entity.etag };
}

function odata(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
