/**
 * The backup server's stores on a local data folder (issue 16): `<data>/server` its state and identity,
 * `<data>/repository` the encrypted local copies; in direct mode `<data>/agent` and `<data>/cache`. The vault is
 * reached over HTTP (the credentials' endpoint) and its copy container by SAS. Used by `kluis-server` and by the
 * app's server role (KLUIS_ROLE=server, functions/backup-server/).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DirectAgent } from '../backup-server/direct/direct-agent';
import { BackupServer } from '../backup-server/server/backup-server';
import { BlobRepositoryStore } from './azure/blob-repository-store';
import { NodeLocalFileSystem } from './file/local-file-system';
import { FileRepositoryStore } from './file/repository-store';
import { HttpVaultRegistrar } from './http/vault-registrar';

export interface DataFolderOptions {
  /** The server's time (default the system clock; the app's server role passes the host's). */
  clock?: () => Date;
}

export function backupServerAt(dataDir: string, options: DataFolderOptions = {}): BackupServer {
  const clock = options.clock ?? (() => new Date());
  return new BackupServer({
    state: new FileRepositoryStore(path.join(dataDir, 'server')),
    repository: new FileRepositoryStore(path.join(dataDir, 'repository')),
    files: new NodeLocalFileSystem(),
    registrar: new HttpVaultRegistrar(clock),
    vaultStore: (grant) => BlobRepositoryStore.fromSas(grant.containerUrl, grant.sasToken),
    clock,
    lockHolder: { hostname: os.hostname(), pid: process.pid },
  });
}

/** A machine in direct mode (MARS agent) on a local data folder: `<data>/agent` state and identity, `<data>/cache` the local cache. */
export function directAgentAt(dataDir: string, options: DataFolderOptions = {}): DirectAgent {
  const clock = options.clock ?? (() => new Date());
  return new DirectAgent({
    state: new FileRepositoryStore(path.join(dataDir, 'agent')),
    cache: new FileRepositoryStore(path.join(dataDir, 'cache')),
    files: new NodeLocalFileSystem(),
    registrar: new HttpVaultRegistrar(clock),
    vaultStore: (grant) => BlobRepositoryStore.fromSas(grant.containerUrl, grant.sasToken),
    clock,
    lockHolder: { hostname: os.hostname(), pid: process.pid },
  });
}

/** Whether the data folder holds a machine registered in direct mode. */
export function isDirectMode(dataDir: string): boolean {
  return existsSync(path.join(dataDir, 'agent', 'state.json'));
}
