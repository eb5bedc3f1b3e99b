/**
 * Durable state in one Azure Table, one partition per instance, so that an episode commits atomically:
 *   RowKey "I"                    the instance (status, bookkeeping) — the commit point
 *   RowKey "H_<execution>_<ep>_<part>"  the history events one episode appended
 *   RowKey "M_<key>"              inbox messages (completions, timers, external events, control)
 * Pending activities, timers and sub-orchestrations are derived from history, so nothing else is stored.
 */
import { odata, TableClient, TableEntity, TableTransaction } from '@azure/data-tables';
import type { StorageConnection } from '../../lib/domain/storage-account';
import { tableClientOf } from '../../lib/stores/azure/storage-clients';
import { HistoryEvent, RuntimeStatus } from './history';
import { OrchestrationState } from './episode';

// Azure Tables: a string property holds 64 KiB (UTF-16, so 32K characters); an entity holds 1 MiB.
const chunkChars = 30000;
const maxChunks = 15;
const maxBatch = 100;

type Entity = TableEntity<Record<string, unknown>>;

export class PayloadTooLargeError extends Error {
  override name = 'PayloadTooLargeError';
}

function pack(value: unknown, prefix = 'D'): Record<string, string> {
  const text = JSON.stringify(value);
  const chunks = Math.max(1, Math.ceil(text.length / chunkChars));
  if (chunks > maxChunks) {
    throw new PayloadTooLargeError(
      `A durable payload of ${text.length} characters exceeds the embedded host's limit of ${chunkChars * maxChunks} ` +
        `characters per instance record. Keep orchestration inputs, outputs and custom status small (pass blob names, not data).`,
    );
  }
  const props: Record<string, string> = {};
  for (let i = 0; i < chunks; i++) props[`${prefix}${i}`] = text.slice(i * chunkChars, (i + 1) * chunkChars);
  return props;
}

function unpack<T>(entity: Record<string, unknown>, prefix = 'D'): T {
  let text = '';
  for (let i = 0; typeof entity[`${prefix}${i}`] === 'string'; i++) text += entity[`${prefix}${i}`] as string;
  return JSON.parse(text) as T;
}

/** Splits events into parts that each fit in one entity. */
function partition(events: HistoryEvent[]): HistoryEvent[][] {
  const parts: HistoryEvent[][] = [];
  let current: HistoryEvent[] = [];
  let size = 0;
  const limit = chunkChars * (maxChunks - 2);
  for (const e of events) {
    const length = JSON.stringify(e).length + 1;
    if (current.length > 0 && size + length > limit) {
      parts.push(current);
      current = [];
      size = 0;
    }
    current.push(e);
    size += length;
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const historyPrefix = (executionId: string) => `H_${executionId}_`;
const historyKey = (executionId: string, episode: number, part: number) => `${historyPrefix(executionId)}${pad(episode, 7)}_${pad(part, 3)}`;

export interface StoredInstance {
  state: OrchestrationState;
  etag: string;
  inbox: HistoryEvent[];
  /** Keys of rows that no committed state refers to (history of uncommitted episodes, consumed messages). */
  garbage: string[];
}

export interface InstanceSummary {
  instanceId: string;
  name: string;
  runtimeStatus: RuntimeStatus;
  createdTime: string;
  lastUpdatedTime: string;
  input?: string;
  output?: string;
  customStatus?: string;
}

export interface ListQuery {
  runtimeStatus?: RuntimeStatus[];
  createdTimeFrom?: string;
  createdTimeTo?: string;
  instanceIdPrefix?: string;
  top?: number;
  continuationToken?: string;
}

export class ConcurrencyError extends Error {
  override name = 'ConcurrencyError';
}

/** A row a transaction deletes or updates does not exist (e.g. a message deleted by an earlier attempt). */
class MissingRowError extends Error {
  override name = 'MissingRowError';
}

let messageCounter = 0;

export class TableDurableStore {
  private readonly table: TableClient;

  constructor(connection: StorageConnection, readonly tableName: string) {
    this.table = tableClientOf(connection, tableName, { retryOptions: { maxRetries: 3 } });
  }

  async init(): Promise<void> {
    await this.table.createTable();
  }

  private instanceEntity(state: OrchestrationState): Entity {
    const { history: _history, ...rest } = state;
    return {
      partitionKey: state.instanceId,
      rowKey: 'I',
      Name: state.name,
      RuntimeStatus: state.status,
      CreatedTime: state.createdTime,
      LastUpdatedTime: state.lastUpdatedTime,
      ...pack(rest),
    };
  }

  /** Creates a new instance together with its ExecutionStarted message (which carries its MessageKey). */
  async createInstance(state: OrchestrationState, start: HistoryEvent): Promise<string> {
    const tx = new TableTransaction();
    tx.createEntity(this.instanceEntity(state));
    tx.createEntity({ partitionKey: state.instanceId, rowKey: `M_${start.MessageKey}`, ...pack(start) });
    return this.submit(tx.actions);
  }

  newMessageKey(): string {
    messageCounter = (messageCounter + 1) % 1_000_000;
    return `${pad(Date.now(), 15)}_${pad(messageCounter, 6)}_${Math.random().toString(36).slice(2, 8)}`;
  }

  async appendMessage(instanceId: string, message: HistoryEvent): Promise<HistoryEvent> {
    const stored = { ...message, MessageKey: message.MessageKey ?? this.newMessageKey() };
    await this.table.createEntity({ partitionKey: instanceId, rowKey: `M_${stored.MessageKey}`, ...pack(stored) });
    return stored;
  }

  async load(instanceId: string): Promise<StoredInstance | undefined> {
    const rows: Entity[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`PartitionKey eq ${instanceId}` },
    })) {
      rows.push(row as Entity);
    }
    const instanceRow = rows.find((r) => r.rowKey === 'I');
    if (!instanceRow) return undefined;
    const state = { ...unpack<Omit<OrchestrationState, 'history'>>(instanceRow), history: [] as HistoryEvent[] };
    const garbage: string[] = [];
    const prefix = historyPrefix(state.executionId);
    const consumed = new Set<string>();
    for (const row of rows.filter((r) => r.rowKey.startsWith('H_')).sort((a, b) => a.rowKey.localeCompare(b.rowKey))) {
      const episode = Number(row.rowKey.slice(prefix.length, prefix.length + 7));
      if (!row.rowKey.startsWith(prefix) || episode >= state.episodes) {
        garbage.push(row.rowKey);
        continue;
      }
      for (const e of unpack<HistoryEvent[]>(row)) {
        state.history.push(e);
        if (e.MessageKey) consumed.add(e.MessageKey);
      }
    }
    const inbox: HistoryEvent[] = [];
    for (const row of rows.filter((r) => r.rowKey.startsWith('M_')).sort((a, b) => a.rowKey.localeCompare(b.rowKey))) {
      const message = unpack<HistoryEvent>(row);
      if (consumed.has(message.MessageKey!)) garbage.push(row.rowKey);
      else inbox.push(message);
    }
    return { state, etag: instanceRow.etag as string, inbox, garbage };
  }

  /**
   * Appends an episode's history and saves the instance row in one transaction when it fits; the row is the
   * commit point. Consumed inbox messages are deleted in the same transaction when there is room; otherwise
   * (or when one of them is already gone) they are deleted afterwards — they are consumed either way, since
   * the history names them.
   */
  async commitEpisode(state: OrchestrationState, etag: string, appended: HistoryEvent[], consumedMessageKeys: string[] = []): Promise<string> {
    const parts = partition(appended);
    const episode = state.episodes - 1;
    const historyRows = parts.map((events, part) => ({
      partitionKey: state.instanceId,
      rowKey: historyKey(state.executionId, episode, part),
      ...pack(events),
    }));
    // Rows beyond one transaction are written first; they stay invisible until the instance row moves on.
    const head = historyRows.slice(0, maxBatch - 1);
    for (let i = maxBatch - 1; i < historyRows.length; i += maxBatch) {
      const tx = new TableTransaction();
      historyRows.slice(i, i + maxBatch).forEach((row) => tx.upsertEntity(row, 'Replace'));
      await this.submit(tx.actions);
    }
    const build = (deletes: string[]) => {
      const tx = new TableTransaction();
      head.forEach((row) => tx.upsertEntity(row, 'Replace'));
      tx.updateEntity(this.instanceEntity(state), 'Replace', { etag });
      deletes.forEach((key) => tx.deleteEntity(state.instanceId, `M_${key}`));
      return tx.actions;
    };
    const inline = head.length + 1 + consumedMessageKeys.length <= maxBatch ? consumedMessageKeys : [];
    try {
      const newEtag = await this.submit(build(inline));
      if (inline.length < consumedMessageKeys.length) await this.deleteRows(state.instanceId, consumedMessageKeys.map((k) => `M_${k}`));
      return newEtag;
    } catch (err) {
      if (inline.length === 0 || !(err instanceof MissingRowError)) throw err;
      const newEtag = await this.submit(build([]));
      await this.deleteRows(state.instanceId, consumedMessageKeys.map((k) => `M_${k}`));
      return newEtag;
    }
  }

  /** Saves the instance row alone (status changes without an orchestrator episode). */
  async saveInstance(state: OrchestrationState, etag: string, appended: HistoryEvent[] = []): Promise<string> {
    if (appended.length > 0) return this.commitEpisode(state, etag, appended);
    const result = await this.guard(() => this.table.updateEntity(this.instanceEntity(state), 'Replace', { etag }));
    return result.etag as string;
  }

  async deleteRows(instanceId: string, rowKeys: string[]): Promise<void> {
    for (let i = 0; i < rowKeys.length; i += maxBatch) {
      const tx = new TableTransaction();
      rowKeys.slice(i, i + maxBatch).forEach((rowKey) => tx.deleteEntity(instanceId, rowKey));
      try {
        await this.table.submitTransaction(tx.actions);
      } catch {
        // A row may already be gone (deleted by an earlier attempt): delete one by one, ignoring 404.
        for (const rowKey of rowKeys.slice(i, i + maxBatch)) {
          await this.table.deleteEntity(instanceId, rowKey).catch((err: { statusCode?: number }) => {
            if (err.statusCode !== 404) throw err;
          });
        }
      }
    }
  }

  /** Removes every row of an instance. Returns false when there was nothing to delete. */
  async purge(instanceId: string): Promise<boolean> {
    const keys: string[] = [];
    for await (const row of this.table.listEntities({
      queryOptions: { filter: odata`PartitionKey eq ${instanceId}`, select: ['RowKey'] },
    })) {
      keys.push(row.rowKey as string);
    }
    if (!keys.includes('I')) return false;
    await this.deleteRows(instanceId, keys.filter((k) => k !== 'I'));
    await this.table.deleteEntity(instanceId, 'I');
    return true;
  }

  async list(query: ListQuery): Promise<{ items: InstanceSummary[]; continuationToken?: string }> {
    const filters = [`RowKey eq 'I'`];
    if (query.runtimeStatus?.length) {
      filters.push(`(${query.runtimeStatus.map((s) => odata`RuntimeStatus eq ${s}`).join(' or ')})`);
    }
    if (query.createdTimeFrom) filters.push(odata`CreatedTime ge ${query.createdTimeFrom}`);
    if (query.createdTimeTo) filters.push(odata`CreatedTime le ${query.createdTimeTo}`);
    if (query.instanceIdPrefix) {
      filters.push(odata`PartitionKey ge ${query.instanceIdPrefix}`);
      filters.push(odata`PartitionKey lt ${query.instanceIdPrefix + '\uffff'}`);
    }
    const pages = this.table
      .listEntities<Record<string, unknown>>({ queryOptions: { filter: filters.join(' and ') } })
      .byPage({ maxPageSize: query.top ?? 100, continuationToken: query.continuationToken });
    const next = await pages.next();
    if (next.done) return { items: [] };
    const page = next.value as Entity[] & { continuationToken?: string };
    const items = page.map((row) => {
      const state = unpack<OrchestrationState>(row);
      return {
        instanceId: state.instanceId,
        name: state.name,
        runtimeStatus: state.status,
        createdTime: state.createdTime,
        lastUpdatedTime: state.lastUpdatedTime,
        input: state.input,
        output: state.output,
        customStatus: state.customStatus,
      };
    });
    return { items, continuationToken: page.continuationToken };
  }

  /** Ids of instances that still have work to do (for recovery after a restart). */
  async activeInstanceIds(): Promise<string[]> {
    const ids: string[] = [];
    const statuses: RuntimeStatus[] = ['Pending', 'Running', 'Suspended', 'ContinuedAsNew'];
    const filter = `RowKey eq 'I' and (${statuses.map((s) => `RuntimeStatus eq '${s}'`).join(' or ')})`;
    for await (const row of this.table.listEntities({ queryOptions: { filter, select: ['PartitionKey'] } })) {
      ids.push(row.partitionKey as string);
    }
    return ids;
  }

  private async submit(actions: TableTransaction['actions']): Promise<string> {
    const response = await this.guard(() => this.table.submitTransaction(actions));
    // Sub-responses of updates carry no row key: find the instance row's result by position.
    const index = actions.findIndex((action) => (action[1] as { rowKey?: string }).rowKey === 'I');
    const etag = response.subResponses[index]?.etag;
    if (!etag) throw new Error('The table transaction returned no ETag for the instance row.');
    return etag;
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 404) throw new MissingRowError((err as Error).message);
      if (status === 412 || status === 409) throw new ConcurrencyError(`Instance record changed concurrently: ${(err as Error).message}`);
      throw err;
    }
  }
}
