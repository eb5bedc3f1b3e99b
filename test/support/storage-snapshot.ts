/**
 * Everything a suite's host keeps in Azurite — every entity of every table and every blob (name, ETag)
 * of every container — to show that a refused request changed nothing. Tables whose name matches
 * `ignoreTables` are left out (the activity log records refused attempts by design).
 */
import { blobService, tableService, tableClient } from './azurite';

export async function storageSnapshot(connectionString: string, ignoreTables: RegExp = /ActivityLog$/i): Promise<Record<string, unknown>> {
  const snapshot: Record<string, unknown> = {};
  for await (const table of tableService(connectionString).listTables()) {
    const name = table.name ?? '';
    if (ignoreTables.test(name)) continue;
    const rows: unknown[] = [];
    for await (const entity of tableClient(connectionString, name).listEntities()) rows.push({ ...entity, timestamp: undefined });
    snapshot[`table:${name}`] = rows;
  }
  const blobs = blobService(connectionString);
  for await (const container of blobs.listContainers()) {
    const names: string[] = [];
    for await (const blob of blobs.getContainerClient(container.name).listBlobsFlat({ includeSnapshots: true })) names.push(`${blob.name}@${blob.snapshot ?? ''}:${blob.properties.etag ?? ''}`);
    snapshot[`container:${container.name}`] = names;
  }
  return snapshot;
}
