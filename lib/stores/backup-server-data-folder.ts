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
import type { VaultCopyGrant } from './vault-copy-access';

export interface DataFolderOptions {
  /** The server's time (default the system clock; the app's server role passes the host's). */
  clock?: () => Date;
}

/**
 * What a backup server and a direct-mode machine on a data folder share: the file store of the state folder,
 * this machine's file system, the vault over HTTP, its copy container by SAS, the clock
 * and this process as the holder of repository locks.
 */
export function dataFolderDeps(dataDir: string, stateFolder: string, options: DataFolderOptions = {}) {
  const clock = options.clock ?? (() => new Date());
  return {
    state: new FileRepositoryStore(path.join(dataDir, stateFolder)),
    files: new NodeLocalFileSystem(),
    registrar: new HttpVaultRegistrar(clock),
    vaultStore: (grant: VaultCopyGrant) => BlobRepositoryStore.fromSas(grant.containerUrl, grant.sasToken),
    clock,
    lockHolder: { hostname: os.hostname(), pid: process.pid },
  };
}

export function backupServerAt(dataDir: string, options: DataFolderOptions = {}): BackupServer {
  return new BackupServer({ ...dataFolderDeps(dataDir, 'server', options), repository: new FileRepositoryStore(path.join(dataDir, 'repository')) });
}

/** A machine in direct mode (MARS agent) on a local data folder: `<data>/agent` state and identity, `<data>/cache` the local cache. */
export function directAgentAt(dataDir: string, options: DataFolderOptions = {}): DirectAgent {
  return new DirectAgent({ ...dataFolderDeps(dataDir, 'agent', options), cache: new FileRepositoryStore(path.join(dataDir, 'cache')) });
}

/** Whether the data folder holds a machine registered in direct mode. */
export function isDirectMode(dataDir: string): boolean {
  return existsSync(path.join(dataDir, 'agent', 'state.json'));
}
