import { errors } from '../../domain/errors';
import {
  recoveryPointRowKey,
  type DeleteRecoveryPointOptions,
  type PutRecoveryPointOptions,
  type RecoveryPointCatalog,
  type RecoveryPointRecord,
  type StoredRecoveryPoint,
} from '../recovery-point-catalog';

/** In-memory RecoveryPointCatalog with the same ETag semantics as the table one (for unit tests, benchmarks). */
export class MemoryRecoveryPointCatalog implements RecoveryPointCatalog {
  private readonly rows = new Map<string, StoredRecoveryPoint>();
  private version = 0;

  async put(record: RecoveryPointRecord, options: PutRecoveryPointOptions = {}): Promise<StoredRecoveryPoint> {
    const key = keyOf(record.itemId, record.recoveryPointId);
    const existing = this.rows.get(key);
    const what = `Recovery point ${record.recoveryPointId} of item ${record.itemId}`;
    if (options.ifMatch === undefined ? existing !== undefined : existing?.etag !== options.ifMatch) {
      throw errors.catalogConflict(what);
    }
    this.version += 1;
    const stored = { ...record, etag: `W/"${this.version}"` };
    this.rows.set(key, stored);
    return { ...stored };
  }

  async get(itemId: string, recoveryPointId: string): Promise<StoredRecoveryPoint | undefined> {
    const row = this.rows.get(keyOf(itemId, recoveryPointId));
    return row === undefined ? undefined : { ...row };
  }

  async *list(itemId: string): AsyncIterable<StoredRecoveryPoint> {
    const rows = [...this.rows.entries()]
      .filter(([key]) => key.startsWith(`${itemId}\n`))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, row]) => ({ ...row }));
    yield* rows;
  }

  async delete(itemId: string, recoveryPointId: string, options: DeleteRecoveryPointOptions = {}): Promise<void> {
    const key = keyOf(itemId, recoveryPointId);
    const existing = this.rows.get(key);
    if (existing === undefined) return;
    if (options.ifMatch !== undefined && existing.etag !== options.ifMatch) {
      throw errors.catalogConflict(`Recovery point ${recoveryPointId} of item ${itemId}`);
    }
    this.rows.delete(key);
  }
}

function keyOf(itemId: string, recoveryPointId: string): string {
  return `${itemId}\n${recoveryPointRowKey(recoveryPointId)}`;
}
