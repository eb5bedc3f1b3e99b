/** What the Azure Table stores share: creating their table once, on first use. */
import type { TableClient } from '@azure/data-tables';

/** A function that creates the table on its first call (concurrent callers share it; a failure is retried next time). */
export function createTableOnce(table: TableClient): () => Promise<void> {
  let created: Promise<void> | undefined;
  return () => {
    created ??= table.createTable().then(
      () => undefined,
      (err: unknown) => {
        created = undefined;
        throw err;
      },
    );
    return created;
  };
}
