/**
 * Direct mode (issue 16 Deliver 7, the MARS agent) on real folders with a fake clock: the vault side in process
 * (in-memory catalog), the repository in the machine's vault container in Azurite behind the vault's SAS. Register
 * as a MAB container → back up a tree → change one file: the second backup reads only that file (reads counted
 * through LocalFileSystem) and sends only its new chunks → the cache deleted, then corrupted: the next backups are
 * still correct and rebuild it → restore byte-identical (one file, a folder, everything), and on a second machine
 * with the passphrase. Session 8: the machine reports to the vault as MAB (MabFileFolderProtectedItem, MabJob,
 * GenericRecoveryPoint, checked against the official SDK's spec), takes the vault repository's locks, unlocks with
 * its remembered key after a restart, and verifies its backups in the vault.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createCredentialCertificate, credentialCertificateName, signRegistration, vaultCredentialsFrom } from '../../lib/backup-server/registration-client';
import { DirectAgent } from '../../lib/backup-server/direct/direct-agent';
import { BACKUP_CACHE_KEY } from '../../lib/backup-server/direct/backup-cache';
import { serializeVaultCredentials } from '../../lib/domain/backup-server/vault-credentials';
import { listBackupEngines, listBackupServerContainers, registerBackupServer, uploadVaultCertificate } from '../../lib/services/backup-server-registration';
import { checkInBackupServer, grantVaultCopyAccess } from '../../lib/services/backup-server-connection';
import { acceptServerReport, listServerItems, listServerJobs } from '../../lib/services/backup-server-reports';
import { serverItemId, serverJobResource, serverProtectedItemResource, serverRecoveryPointResource } from '../../lib/domain/backup-server/server-report';
import { vaultId } from '../../lib/domain/arm-names';
import { acquireRepositoryLock } from '../../lib/backup-server/repository/repository-lock';
import { checkArmConformance } from '../support/arm-spec';
import { BlobRepositoryStore } from '../../lib/stores/azure/blob-repository-store';
import { BlobVaultCopyAccessIssuer } from '../../lib/stores/azure/blob-vault-copy-access';
import { NodeLocalFileSystem } from '../../lib/stores/file/local-file-system';
import { FileRepositoryStore } from '../../lib/stores/file/repository-store';
import type { LocalFileSystem } from '../../lib/stores/local-file-system';
import type { RepositoryStore } from '../../lib/stores/repository-store';
import type { VaultRegistrar } from '../../lib/stores/vault-registrar';
import type { SubscriptionState } from '../../lib/domain/tenancy';
import { useAzurite } from '../support/azurite';
import { inMemoryVault } from '../support/backup-server-vault';

const azurite = useAzurite();
const vault = { subscriptionId: '00000000-0000-0000-0000-00000000d1ec', resourceGroup: 'rg-direct', vaultName: 'vault-direct' };
const PASSPHRASE = 'the direct mode passphrase, long enough';
const HOUR = 3_600_000;

/** The real file system, counting the files read (to prove unchanged files are not read again). */
class CountingFileSystem implements LocalFileSystem {
  readonly reads: string[] = [];
  private readonly inner = new NodeLocalFileSystem();
  readonly pathStyle = this.inner.pathStyle;
  walk: LocalFileSystem['walk'] = (root, options) => this.inner.walk(root, options);
  stat = this.inner.stat.bind(this.inner);
  readAt = this.inner.readAt.bind(this.inner);
  read(root: string, relative: string) {
    this.reads.push(relative);
    return this.inner.read(root, relative);
  }
  writeFile = this.inner.writeFile.bind(this.inner);
  makeDirectory = this.inner.makeDirectory.bind(this.inner);
  makeSymlink = this.inner.makeSymlink.bind(this.inner);
  setAttributes = this.inner.setAttributes.bind(this.inner);
}

/** Records writes to the vault store and the prefixes listed in it (probes). */
function countingStore(inner: RepositoryStore, writes: string[], lists: string[]): RepositoryStore {
  return {
    location: inner.location,
    read: (key) => inner.read(key),
    write: (key, data) => (writes.push(key), inner.write(key, data)),
    writeIfAbsent: (key, data) => (writes.push(key), inner.writeIfAbsent(key, data)),
    exists: (key) => inner.exists(key),
    list: (prefix) => (lists.push(prefix), inner.list(prefix)),
    delete: (key) => inner.delete(key),
  };
}

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kluis-direct-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function setup() {
  let now = new Date('2026-12-01T08:30:00Z');
  const clock = () => now;
  const vaultDeps = await inMemoryVault(vault, clock);
  let subscription: SubscriptionState = 'Enabled';
  const connectionDeps = { ...vaultDeps, subscriptionState: async () => subscription, copyAccess: new BlobVaultCopyAccessIssuer(azurite().connectionString) };
  const registrar: VaultRegistrar = {
    register: async (credentials, name, serverPublicKey, options) =>
      (await registerBackupServer(vaultDeps, vault, signRegistration(credentials, name, clock(), { serverPublicKey, ...options }))).engine,
    checkIn: (_endpoint, signed) => checkInBackupServer(connectionDeps, vault, signed),
    vaultCopyAccess: (_endpoint, signed) => grantVaultCopyAccess(connectionDeps, vault, signed),
    report: (_endpoint, signed, reportJson) => acceptServerReport(vaultDeps, vault, signed, reportJson),
  };
  const credentialsFile = async () => {
    const certificate = await createCredentialCertificate(clock());
    const answer = await uploadVaultCertificate(vaultDeps, vault, credentialCertificateName(vault.vaultName, vault.subscriptionId, clock()), {
      properties: { authType: 'AAD', certificate: certificate.certificateBase64 },
    });
    return serializeVaultCredentials(vaultCredentialsFrom({ ...vault, location: 'westeurope' }, answer, certificate, 'https://127.0.0.1'));
  };
  const uploads: string[] = [];
  const lists: string[] = [];
  /** Every vault store the machines opened, newest last (a backup's is a write SAS). */
  const stores: RepositoryStore[] = [];
  const machine = (data: string) => {
    const files = new CountingFileSystem();
    const agent = new DirectAgent({
      state: new FileRepositoryStore(path.join(work, data, 'agent')),
      cache: new FileRepositoryStore(path.join(work, data, 'cache')),
      files,
      registrar,
      vaultStore: (grant) => {
        const store = countingStore(BlobRepositoryStore.fromSas(grant.containerUrl, grant.sasToken), uploads, lists);
        stores.push(store);
        return store;
      },
      clock,
      lockHolder: { hostname: 'host-a', pid: 100 },
      lockWaitMs: 3_000,
      sleep: async () => undefined,
      repositoryOptions: { kdf: { logN: 14 }, chunker: { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 } },
    });
    return { agent, files, cacheFile: path.join(work, data, 'cache', BACKUP_CACHE_KEY) };
  };
  return {
    machine,
    clock,
    stores,
    credentialsFile,
    vaultDeps,
    uploads,
    lists,
    advance: (ms: number) => (now = new Date(now.getTime() + ms)),
    setSubscription: (state: SubscriptionState) => (subscription = state),
  };
}

async function hashTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    out[path.relative(root, full).split(path.sep).join('/')] = createHash('sha256').update(await readFile(full)).digest('hex');
  }
  return out;
}

/** Chunks travel in pack files (repository version 2): a backup's new chunks are one pack here (all < 8 MiB). */
const packUploads = (uploads: string[]) => uploads.filter((k) => k.startsWith('packs/')).length;

describe('direct mode (MARS agent)', () => {
  it('backs up straight to the vault, incrementally by its local cache, rebuilds a lost or corrupted cache, and restores byte for byte', async () => {
    const { machine, credentialsFile, vaultDeps, uploads, lists, advance, setSubscription } = await setup();
    const m1 = machine('m1');
    await m1.agent.register({ credentialsFile: await credentialsFile(), machineName: 'ws01.contoso.local', passphrase: PASSPHRASE });
    // Re-registering with another passphrase is refused before the vault is called.
    await expect(m1.agent.register({ credentialsFile: await credentialsFile(), machineName: 'ws01.contoso.local', passphrase: 'another passphrase, long enough' }))
      .rejects.toMatchObject({ code: 'KluisPassphraseIncorrect' });

    // The vault shows a MAB container ("Windows") and no backup engine.
    expect(await listBackupEngines(vaultDeps, vault)).toEqual([]);
    expect(await listBackupServerContainers(vaultDeps, vault)).toEqual([
      expect.objectContaining({
        name: 'ws01.contoso.local',
        properties: expect.objectContaining({ containerType: 'Windows', backupManagementType: 'MAB', friendlyName: 'ws01.contoso.local', containerId: expect.any(Number) }),
      }),
    ]);

    const src = path.join(work, 'src');
    await mkdir(path.join(src, 'docs/deep'), { recursive: true });
    const big = Buffer.alloc(400_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    await writeFile(path.join(src, 'big.bin'), big);
    await writeFile(path.join(src, 'docs/report.txt'), 'quarterly report\n'.repeat(5000));
    await writeFile(path.join(src, 'docs/deep/notes.md'), '# notes\n');
    await m1.agent.protect({ name: 'D:\\Data', path: src }, { runTimes: ['09:00', '13:00', '21:00'], retentionDays: 30 });
    await expect(m1.agent.protect({ name: 'x', path: src }, { runTimes: ['01:00', '02:00', '03:00', '04:00'], retentionDays: 30 }))
      .rejects.toMatchObject({ code: 'KluisInvalidRequest' });
    await m1.agent.unlock(PASSPHRASE);

    // The first backup is due at once (08:30: yesterday's 21:00 slot has no backup): every file read and sent.
    const first = await m1.agent.runDue();
    expect(first.backups).toEqual([expect.objectContaining({ source: 'D:\\Data', filesRead: 3, filesUnchanged: 0 })]);
    expect(first.cache).toBe('rebuilt from the vault: there is no local cache');
    expect((await m1.agent.runDue()).backups).toEqual([]); // once per slot
    expect(first.backups[0].newChunks).toBeGreaterThanOrEqual(5);
    expect(packUploads(uploads)).toBe(1);

    // One file changed: the 13:00 backup reads only it and sends only its new chunks (known chunks not even probed).
    await writeFile(path.join(src, 'docs/deep/notes.md'), '# notes\nchanged\n');
    m1.files.reads.length = 0;
    uploads.length = 0;
    lists.length = 0;
    advance(4.5 * HOUR);
    const second = await m1.agent.runDue();
    expect(second.cache).toBe('valid');
    expect(m1.files.reads).toEqual(['docs/deep/notes.md']);
    expect(second.backups[0]).toMatchObject({ filesRead: 1, filesUnchanged: 2, newChunks: 2 }); // the file and the tree
    expect(packUploads(uploads)).toBe(1);
    // The vault's chunks are not listed: the cache's index is trusted once checked (locks/: the backup's shared lock).
    expect(lists).toEqual(['locks/', 'snapshots/']);

    // The cache deleted: the 21:00 backup is complete and correct, reads everything once, sends nothing it has, rebuilds the cache.
    await rm(m1.cacheFile);
    m1.files.reads.length = 0;
    uploads.length = 0;
    lists.length = 0;
    advance(8 * HOUR);
    const third = await m1.agent.runDue();
    expect(third.cache).toBe('rebuilt from the vault: there is no local cache');
    expect(lists).toEqual(['locks/', 'snapshots/', 'index/']);
    expect(m1.files.reads.sort()).toEqual(['big.bin', 'docs/deep/notes.md', 'docs/report.txt']);
    expect(packUploads(uploads)).toBe(0);
    expect(JSON.parse(await readFile(m1.cacheFile, 'utf8')).content.snapshotIds).toHaveLength(3);
    const atThird = await hashTree(src);
    await m1.agent.restore({ snapshotId: third.backups[0].snapshotId, targetRoot: path.join(work, 'third') });
    expect(await hashTree(path.join(work, 'third'))).toEqual(atThird);

    // A corrupted cache (an edited chunk id) is detected and rebuilt, never used.
    const cached = JSON.parse(await readFile(m1.cacheFile, 'utf8'));
    cached.content.chunkIds[0] = '0'.repeat(64);
    await writeFile(m1.cacheFile, JSON.stringify(cached));
    await writeFile(path.join(src, 'docs/report.txt'), 'quarterly report, revised\n'.repeat(5000));
    advance(12 * HOUR); // next day 09:00
    const fourth = await m1.agent.runDue();
    expect(fourth.cache).toBe('rebuilt from the vault: the local cache does not match its checksum');
    expect(fourth.backups).toHaveLength(1);

    // Points come from the vault; restores are verified byte for byte: one file, a folder, everything.
    const points = await m1.agent.points();
    expect(points.map((p) => p.snapshotId)).toEqual([first, second, third, fourth].map((r) => r.backups[0].snapshotId));
    const expected = await hashTree(src);
    await m1.agent.restore({ snapshotId: fourth.backups[0].snapshotId, targetRoot: path.join(work, 'all') });
    expect(await hashTree(path.join(work, 'all'))).toEqual(expected);
    await m1.agent.restore({ snapshotId: first.backups[0].snapshotId, targetRoot: path.join(work, 'one'), paths: ['docs/deep/notes.md'] });
    expect(await readFile(path.join(work, 'one/docs/deep/notes.md'), 'utf8')).toBe('# notes\n');
    await m1.agent.restore({ snapshotId: second.backups[0].snapshotId, targetRoot: path.join(work, 'folder'), paths: ['docs'] });
    expect(Object.keys(await hashTree(path.join(work, 'folder'))).sort()).toEqual(['docs/deep/notes.md', 'docs/report.txt']);

    // A second machine restores the first one's backup with its passphrase; a wrong passphrase is refused before anything is written.
    const m2 = machine('m2');
    await m2.agent.register({ credentialsFile: await credentialsFile(), machineName: 'ws02.contoso.local', passphrase: 'the second machine passphrase' });
    await m2.agent.unlock('the second machine passphrase');
    await expect(m2.agent.restore({ snapshotId: fourth.backups[0].snapshotId, targetRoot: path.join(work, 'm2-restore'), fromMachine: 'ws01.contoso.local', passphrase: 'not the first machine passphrase' }))
      .rejects.toMatchObject({ code: 'KluisPassphraseIncorrect' });
    await m2.agent.restore({ snapshotId: fourth.backups[0].snapshotId, targetRoot: path.join(work, 'm2-restore'), fromMachine: 'ws01.contoso.local', passphrase: PASSPHRASE });
    expect(await hashTree(path.join(work, 'm2-restore'))).toEqual(expected);

    // An expired subscription stops backups (no local copy to fall back on), restores stay allowed.
    setSubscription('Disabled');
    advance(4 * HOUR);
    expect(await m1.agent.runDue()).toMatchObject({ backups: [], stopped: expect.stringContaining('Expired') });
    expect(await m1.agent.points()).toHaveLength(4);
  }, 60_000);

  it('reports to the vault as MAB (spec-checked), takes the vault repository locks, unlocks with the remembered key after a restart, and verifies', async () => {
    const { machine, credentialsFile, vaultDeps, advance, clock, stores } = await setup();
    const VAULT_ID = vaultId(vault);
    const conform = (armPath: string, body: unknown) => checkArmConformance('GET', `http://127.0.0.1:7071${armPath}?api-version=2023-06-01`, 200, body, JSON.stringify(body)).problems;
    const m1 = machine('m1');
    await m1.agent.register({ credentialsFile: await credentialsFile(), machineName: 'ws03.contoso.local', passphrase: PASSPHRASE, rememberKey: true });
    const src = path.join(work, 'src');
    await mkdir(src, { recursive: true });
    await writeFile(path.join(src, 'a.txt'), 'alpha\n'.repeat(1000));
    await writeFile(path.join(src, 'b.txt'), 'beta\n');
    await m1.agent.protect({ name: 'D:\\Work', path: src }, { runTimes: ['09:00'], retentionDays: 1 });

    // A restart: a new agent on the same data folder unlocks with the machine's key, no passphrase.
    const restarted = machine('m1');
    await restarted.agent.unlockUnattended();
    const first = await restarted.agent.runDue();
    expect(first).toMatchObject({ backups: [expect.objectContaining({ filesRead: 2 })] });
    expect(first.vaultReportError).toBeUndefined();

    // The vault shows the folder as a MabFileFolderProtectedItem, the backup as a MabJob, the point as Online.
    const [view] = await listServerItems(vaultDeps, vault, 'MAB');
    const item = serverProtectedItemResource(VAULT_ID, view.item, view.points, view.jobs);
    expect(item.properties).toMatchObject({
      protectedItemType: 'MabFileFolderProtectedItem', backupManagementType: 'MAB', workloadType: 'FileFolder', friendlyName: 'D:\\Work',
      computerName: 'ws03.contoso.local', containerName: 'ws03.contoso.local', protectionState: 'Protected', lastBackupStatus: 'Completed',
      extendedInfo: { recoveryPointCount: 1 },
    });
    const itemId = serverItemId(VAULT_ID, view.item);
    const point = serverRecoveryPointResource(itemId, view.points[0]);
    expect(point).toMatchObject({ name: first.backups[0].snapshotId, properties: { objectType: 'GenericRecoveryPoint', recoveryPointType: 'Online' } });
    const jobs = (await listServerJobs(vaultDeps, vault, { backupManagementType: 'MAB' })).map((j) => serverJobResource(VAULT_ID, j, clock()));
    expect(jobs.map((j) => [j.properties.jobType, j.properties.operation, j.properties.status, j.properties.entityFriendlyName])).toEqual([['MabJob', 'Backup', 'Completed', 'D:\\Work']]);
    expect(await listServerJobs(vaultDeps, vault, { backupManagementType: 'AzureBackupServer' })).toEqual([]);
    expect([
      ...conform(`${VAULT_ID}/backupProtectedItems`, { value: [item] }),
      ...conform(itemId, item),
      ...conform(`${itemId}/recoveryPoints`, { value: [point] }),
      ...conform(`${VAULT_ID}/backupJobs`, { value: jobs }),
    ]).toEqual([]);

    // Another process prunes the vault repository (an exclusive lock): the next backup waits, then fails with
    // KluisRepositoryLocked naming the holder, reported as a failed MabJob; nothing is written.
    const store = stores.at(-1)!;
    advance(25 * HOUR); // next day 09:30: due (a lock not refreshed for 30 minutes would be stale: taken now)
    const prune = await acquireRepositoryLock(store, 'prune', { clock, holder: { name: 'ws03.contoso.local', hostname: 'host-b', pid: 42 } });
    const blocked = await restarted.agent.runDue();
    expect(blocked).toMatchObject({ backups: [], vaultError: expect.stringContaining('pid 42 on host-b') });
    const failed = await listServerJobs(vaultDeps, vault, { status: 'Failed' });
    expect(failed).toEqual([expect.objectContaining({ kind: 'DirectBackup', errorCode: 'KluisRepositoryLocked', source: 'D:\\Work' })]);
    await prune.release();

    // Released: the backup runs (unchanged files not read). Then a reader (a shared lock) holds the repository:
    // the prune of the expired first point is deferred to the next pass, which removes it.
    const second = await restarted.agent.runDue();
    expect(second).toMatchObject({ backups: [expect.objectContaining({ filesRead: 0, filesUnchanged: 2 })], retention: [] });
    advance(1 * HOUR);
    const reader = await acquireRepositoryLock(store, 'restore', { clock, holder: { name: 'ws03.contoso.local', hostname: 'host-b', pid: 43 } });
    const deferred = await restarted.agent.runDue();
    expect(deferred).toMatchObject({ backups: [], retention: [], pruneDeferred: expect.stringContaining('pid 43 on host-b') });
    expect(await restarted.agent.points()).toHaveLength(2);
    await reader.release();
    const pruned = await restarted.agent.runDue();
    expect(pruned).toMatchObject({ backups: [], retention: [expect.objectContaining({ snapshotId: first.backups[0].snapshotId, keep: false })] });
    expect((await restarted.agent.points()).map((p) => p.snapshotId)).toEqual([second.backups[0].snapshotId]);
    expect((await listServerJobs(vaultDeps, vault, { operation: 'DeleteBackupData' })).map((j) => j.backupManagementType)).toEqual(['MAB']);

    // verify reads every point and chunk in the vault; a restore is a Restore MabJob; the vault's point list follows.
    expect(await restarted.agent.verify()).toMatchObject({ snapshots: 1, problems: [] });
    await restarted.agent.restore({ snapshotId: second.backups[0].snapshotId, targetRoot: path.join(work, 'out') });
    expect(await readFile(path.join(work, 'out/a.txt'), 'utf8')).toBe('alpha\n'.repeat(1000));
    expect((await listServerJobs(vaultDeps, vault, { operation: 'Restore' })).map((j) => j.status)).toEqual(['Completed']);
    expect((await listServerItems(vaultDeps, vault, 'MAB'))[0].points.map((p) => p.snapshotId)).toEqual([second.backups[0].snapshotId]);

    // forget-key: from now on only the passphrase unlocks.
    expect(await restarted.agent.forgetKey()).toBe(true);
    await expect(machine('m1').agent.unlockUnattended()).rejects.toMatchObject({ code: 'KluisUnattendedUnlockUnavailable', message: expect.stringContaining('no key is remembered on this machine') });
  }, 60_000);
});
