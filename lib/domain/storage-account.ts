/**
 * The storage accounts Kluis is configured with (the Functions account, the VMs' source account, the
 * vault account, the restore account), as Microsoft.Storage shows them: names and endpoints read from
 * the connection strings — never their keys or SAS tokens.
 */
import { storageAccountNameOfBlobUrl } from './restore-request';

/**
 * How Kluis reaches one storage account: a connection string (account key, SAS, or development storage;
 * local mode only), or an identity-based connection as Azure Functions declares them
 * (`<setting>__accountName` or `__blobServiceUri`/`__queueServiceUri`/`__tableServiceUri`, with
 * `__credential=managedidentity` and `__clientId`): endpoints and whose token to present, no secret.
 */
export type StorageConnection = string | IdentityStorageConnection;

export interface IdentityStorageConnection {
  kind: 'identity';
  accountName: string;
  /** Service endpoints without a trailing slash, e.g. https://acct.blob.core.windows.net */
  blobServiceUri: string;
  queueServiceUri: string;
  tableServiceUri: string;
  /** `managedidentity`: the app's managed identity only; unset: DefaultAzureCredential (developer sign-ins too). */
  credential?: 'managedidentity';
  /** Client id of the user-assigned managed identity to present; unset: the system-assigned one. */
  clientId?: string;
}

export function isIdentityConnection(connection: StorageConnection): connection is IdentityStorageConnection {
  return typeof connection !== 'string';
}

export type StorageAccountRole = 'functions' | 'source' | 'vault' | 'restore';

export interface StorageAccountEndpoints {
  blob: string;
  queue?: string;
  table?: string;
  file?: string;
}

export interface KnownStorageAccount {
  name: string;
  /** What Kluis uses the account for, in a stable order. */
  roles: StorageAccountRole[];
  primaryEndpoints: StorageAccountEndpoints;
}

const ROLE_ORDER: readonly StorageAccountRole[] = ['functions', 'source', 'vault', 'restore'];

/** Name and endpoints of the account a connection string points at (undefined if it names none). */
export function storageAccountOfConnectionString(connectionString: string): Omit<KnownStorageAccount, 'roles'> | undefined {
  const parts = new Map<string, string>();
  for (const segment of connectionString.split(';')) {
    const eq = segment.indexOf('=');
    if (eq > 0) parts.set(segment.slice(0, eq).trim().toLowerCase(), segment.slice(eq + 1).trim());
  }
  const explicitBlob = parts.get('blobendpoint');
  const name = parts.get('accountname') ?? (explicitBlob === undefined ? undefined : storageAccountNameOfBlobUrl(explicitBlob));
  if (name === undefined || name === '') return undefined;
  const protocol = parts.get('defaultendpointsprotocol') ?? 'https';
  const suffix = parts.get('endpointsuffix') ?? 'core.windows.net';
  const endpoint = (service: string): string => withSlash(parts.get(`${service}endpoint`) ?? `${protocol}://${name}.${service}.${suffix}`);
  const hasExplicit = explicitBlob !== undefined;
  return {
    name,
    primaryEndpoints: {
      blob: endpoint('blob'),
      // With explicit endpoints, only the services the connection string names.
      ...(!hasExplicit || parts.has('queueendpoint') ? { queue: endpoint('queue') } : {}),
      ...(!hasExplicit || parts.has('tableendpoint') ? { table: endpoint('table') } : {}),
      ...(!hasExplicit || parts.has('fileendpoint') ? { file: endpoint('file') } : {}),
    },
  };
}

/** Name and endpoints of the account an identity-based connection points at. */
function storageAccountOfIdentityConnection(connection: IdentityStorageConnection): Omit<KnownStorageAccount, 'roles'> {
  return {
    name: connection.accountName,
    primaryEndpoints: { blob: withSlash(connection.blobServiceUri), queue: withSlash(connection.queueServiceUri), table: withSlash(connection.tableServiceUri) },
  };
}

/** One entry per account (by name, ignoring case), with every role it plays. */
export function knownStorageAccounts(connections: Partial<Record<StorageAccountRole, StorageConnection>>): KnownStorageAccount[] {
  const byName = new Map<string, KnownStorageAccount>();
  for (const role of ROLE_ORDER) {
    const connection = connections[role];
    if (connection === undefined) continue;
    const account = isIdentityConnection(connection) ? storageAccountOfIdentityConnection(connection) : storageAccountOfConnectionString(connection);
    if (account === undefined) continue;
    const key = account.name.toLowerCase();
    const known = byName.get(key);
    if (known === undefined) byName.set(key, { ...account, roles: [role] });
    else if (!known.roles.includes(role)) known.roles.push(role);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
