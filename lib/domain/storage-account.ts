/**
 * The storage accounts Kluis is configured with (the Functions account, the VMs' source account, the
 * vault account, the restore account), as Microsoft.Storage shows them: names and endpoints read from
 * the connection strings — never their keys or SAS tokens.
 */
import { storageAccountNameOfBlobUrl } from './restore-request';

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

/** One entry per account (by name, ignoring case), with every role it plays. */
export function knownStorageAccounts(connections: Partial<Record<StorageAccountRole, string>>): KnownStorageAccount[] {
  const byName = new Map<string, KnownStorageAccount>();
  for (const role of ROLE_ORDER) {
    const connection = connections[role];
    if (connection === undefined) continue;
    const account = storageAccountOfConnectionString(connection);
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
