/** A backup server on a local data folder (`<data>/server` state, `<data>/repository` the encrypted local copies). */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DirectAgent } from '../../lib/backup-server/direct/direct-agent';
import { BackupServer } from '../../lib/backup-server/server/backup-server';
import { BlobRepositoryStore } from '../../lib/stores/azure/blob-repository-store';
import { NodeLocalFileSystem } from '../../lib/stores/file/local-file-system';
import { FileRepositoryStore } from '../../lib/stores/file/repository-store';
import { HttpVaultRegistrar } from '../../lib/stores/http/vault-registrar';

export function backupServerAt(dataDir: string): BackupServer {
  const clock = () => new Date();
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
export function directAgentAt(dataDir: string): DirectAgent {
  const clock = () => new Date();
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
