/**
 * A backup server and a direct-mode (MARS) machine on a temp data folder, registered with a vault of a running host
 * over HTTP as `kluis-server` does, with the cheap KDF and chunker the server tests use (a few hundred ms, not
 * seconds). For e2e suites that need a vault with servers in it (the dashboard journey).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DirectAgent } from '../../lib/backup-server/direct/direct-agent';
import { BackupServer, type RunReport } from '../../lib/backup-server/server/backup-server';
import { BlobRepositoryStore } from '../../lib/stores/azure/blob-repository-store';
import { NodeLocalFileSystem } from '../../lib/stores/file/local-file-system';
import { FileRepositoryStore } from '../../lib/stores/file/repository-store';
import { HttpVaultRegistrar } from '../../lib/stores/http/vault-registrar';

const CHEAP = { kdf: { logN: 14 }, chunker: { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 } };
const PASSPHRASE = 'a test passphrase of enough characters';

function machineDeps() {
  const clock = () => new Date();
  return {
    files: new NodeLocalFileSystem(),
    registrar: new HttpVaultRegistrar(clock),
    vaultStore: (grant: { containerUrl: string; sasToken: string }) => BlobRepositoryStore.fromSas(grant.containerUrl, grant.sasToken),
    clock,
    repositoryOptions: CHEAP,
  };
}

/**
 * Registers a backup server, protects one small folder (group `Files`, source `sourceName`) and runs one pass: a
 * local point, its vault copy, and the report of both jobs to the vault.
 */
export async function registeredServerWithOnePass(credentialsFile: string, serverName: string, dataDir: string, sourceName = '/srv/notes'): Promise<RunReport> {
  const deps = machineDeps();
  const server = new BackupServer({ ...deps, state: new FileRepositoryStore(path.join(dataDir, 'server')), repository: new FileRepositoryStore(path.join(dataDir, 'repository')) });
  await server.register({ credentialsFile, serverName, passphrase: PASSPHRASE });
  const source = path.join(dataDir, 'src');
  await mkdir(source, { recursive: true });
  await writeFile(path.join(source, 'notes.txt'), 'a file on a server outside Azure\n'.repeat(200));
  await server.protect({ name: 'Files', sources: [{ name: sourceName, path: source }], shortTerm: { retentionDays: 3, dailyAt: '00:00' }, online: { dailyAt: '00:00', retentionDays: 30 } });
  await server.unlock(PASSPHRASE);
  return server.runDue();
}

/** Registers a machine in direct mode (a MabContainer in the vault), without protecting anything. */
export async function registeredDirectMachine(credentialsFile: string, machineName: string, dataDir: string): Promise<void> {
  const deps = machineDeps();
  const agent = new DirectAgent({ ...deps, state: new FileRepositoryStore(path.join(dataDir, 'agent')), cache: new FileRepositoryStore(path.join(dataDir, 'cache')) });
  await agent.register({ credentialsFile, machineName, passphrase: PASSPHRASE });
}
