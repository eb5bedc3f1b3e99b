/** Timer schedule status (last/next occurrence) in an Azure Table, so past-due detection survives restarts. */
import type { TableClient } from '@azure/data-tables';
import type { StorageConnection } from '../lib/domain/storage-account';
import { tableClientOf } from '../lib/stores/azure/storage-clients';
import type { ScheduleStatusStore } from './timer-scheduler';

type Status = { last: string; next: string; lastUpdated: string };

export class TableScheduleStatusStore implements ScheduleStatusStore {
  private readonly table: TableClient;

  constructor(connection: StorageConnection, tableName: string) {
    this.table = tableClientOf(connection, tableName);
  }

  async init(): Promise<void> {
    await this.table.createTable();
  }

  async get(functionName: string): Promise<Status | undefined> {
    try {
      const row = await this.table.getEntity<Status>('timers', functionName.toLowerCase());
      return { last: row.last, next: row.next, lastUpdated: row.lastUpdated };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  async set(functionName: string, status: Status): Promise<void> {
    await this.table.upsertEntity({ partitionKey: 'timers', rowKey: functionName.toLowerCase(), ...status }, 'Replace');
  }
}
