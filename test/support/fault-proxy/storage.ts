/**
 * A storage account behind fault proxies: one proxy per service endpoint (Blob, Table), and the account's
 * connection string rewritten to reach them. Hand that string to the app (KLUIS_SOURCE_STORAGE,
 * KLUIS_VAULT_STORAGE, KLUIS_RESTORE_STORAGE) and keep the direct one for the host's own state and for checks.
 */
import { startFaultProxy, type FaultProxy } from './fault-proxy';
import { noFaults, type FaultSchedule } from './faults';

export interface FaultyStorage {
  /** The account's connection string with BlobEndpoint and TableEndpoint pointing at the proxies. */
  connectionString: string;
  blob: FaultProxy;
  table: FaultProxy;
  /** The same schedule on both proxies (each keeps its own request count). */
  setSchedule(schedule: FaultSchedule): void;
  close(): Promise<void>;
}

/** Puts proxies in front of the Blob and Table endpoints of `connectionString` (an account with explicit endpoints, e.g. Azurite's). */
export async function startFaultyStorage(connectionString: string, schedules: { blob?: FaultSchedule; table?: FaultSchedule } = {}): Promise<FaultyStorage> {
  const endpoints = endpointsOf(connectionString);
  const blob = await startFaultProxy({ target: endpoints.blob.origin, schedule: schedules.blob ?? noFaults });
  const table = await startFaultProxy({ target: endpoints.table.origin, schedule: schedules.table ?? noFaults });
  const rewritten = connectionString
    .split(';')
    .map((segment) => {
      const [key] = segment.split('=', 1);
      if (/^BlobEndpoint$/i.test(key)) return `BlobEndpoint=${blob.origin}${endpoints.blob.pathname}`;
      if (/^TableEndpoint$/i.test(key)) return `TableEndpoint=${table.origin}${endpoints.table.pathname}`;
      return segment;
    })
    .join(';');
  return {
    connectionString: rewritten,
    blob,
    table,
    setSchedule: (schedule) => {
      blob.setSchedule(schedule);
      table.setSchedule(schedule);
    },
    close: async () => {
      await Promise.all([blob.close(), table.close()]);
    },
  };
}

function endpointsOf(connectionString: string): { blob: URL; table: URL } {
  const values = new Map(
    connectionString
      .split(';')
      .filter((segment) => segment.includes('='))
      .map((segment) => [segment.slice(0, segment.indexOf('=')).trim().toLowerCase(), segment.slice(segment.indexOf('=') + 1).trim()] as const),
  );
  const blob = values.get('blobendpoint');
  const table = values.get('tableendpoint');
  if (blob === undefined || table === undefined) throw new Error('the connection string must name BlobEndpoint and TableEndpoint (an Azurite account does)');
  return { blob: new URL(blob), table: new URL(table) };
}
