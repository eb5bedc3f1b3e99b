/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
export const DEV_ACCOUNT_NAME = 'devstoreaccount1';
export const DEV_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** The ports `UseDevelopmentStorage=true` refers to. */
export const DEFAULT_AZURITE_ENDPOINTS: AzuriteEndpoints = {
  host: '127.0.0.1',
  blobPort: 10000,
  queuePort: 10001,
  tablePort: 10002,
};

export interface AzuriteEndpoints {
  host: string;
  blobPort: number;
  queuePort: number;
  tablePort: number;
}

/** Path-style endpoint URL of one service, e.g. `http://127.0.0.1:10000/devstoreaccount1`. */
export function azuriteEndpoint(host: string, port: number): string {
  return `http://${host}:${port}/${DEV_ACCOUNT_NAME}`;
}

export function azuriteConnectionString(e: AzuriteEndpoints): string {
  return (
    'DefaultEndpointsProtocol=http;' +
    `AccountName=${DEV_ACCOUNT_NAME};` +
    `AccountKey=${DEV_ACCOUNT_KEY};` +
    `BlobEndpoint=${azuriteEndpoint(e.host, e.blobPort)};` +
    `QueueEndpoint=${azuriteEndpoint(e.host, e.queuePort)};` +
    `TableEndpoint=${azuriteEndpoint(e.host, e.tablePort)};`
  );
}

/**
 * Splits `Key=Value;Key=Value;` into a record. Keys keep their spelling; a value may itself
 * contain '=' (account keys, SAS tokens), so only the first '=' of a segment separates.
 */
export function parseConnectionString(conn: string): Record<string, string> {
  const result: Record<string, string> = {};
  conn.split(';').forEach((rawSegment, index) => {
    const segment = rawSegment.trim();
    if (segment === '') return;
    const eq = segment.indexOf('=');
    // The segment's text is not echoed: it may be part of a key.
    if (eq <= 0) throw new Error(`malformed connection string: segment ${index + 1} is not Key=Value`);
    result[segment.slice(0, eq).trim()] = segment.slice(eq + 1).trim();
  });
  return result;
}

/**
 * Expands the `UseDevelopmentStorage=true` shorthand into an explicit Azurite connection string on
 * the default ports; any other connection string is returned unchanged.
 */
export function resolveDevelopmentStorage(conn: string): string {
  if (!/usedevelopmentstorage\s*=/i.test(conn)) return conn;
  const parts = parseConnectionString(conn);
  const key = Object.keys(parts).find((k) => k.toLowerCase() === 'usedevelopmentstorage');
  if (key === undefined || parts[key].toLowerCase() !== 'true') return conn;
  return azuriteConnectionString(DEFAULT_AZURITE_ENDPOINTS);
}
