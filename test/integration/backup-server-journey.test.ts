/**
 * The backup server on real folders with a fake clock (issue 16): registration with a vault credentials file (the
 * vault side in process, in-memory catalog, the vault copy in Azurite blob containers behind the vault's SAS),
 * a protection group over a folder, a local point a day, 5-day local retention (the 6th day's point and the chunks
 * only it used are gone), restore from a local point, and the refusals: short passphrase, expired credentials,
 * 6 days retention, wrong passphrase.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createCredentialCertificate, credentialCertificateName, signRegistration, vaultCredentialsFrom } from '../../lib/backup-server/registration-client';
import { restoreSnapshot } from '../../lib/backup-server/repository/restore-snapshot';
import { BackupServer, sourceKey, type BackupServerDeps } from '../../lib/backup-server/server/backup-server';
import { acquireRepositoryLock } from '../../lib/backup-server/repository/repository-lock';
import { serializeVaultCredentials, type VaultCredentials } from '../../lib/domain/backup-server/vault-credentials';
import { listBackupEngines, registerBackupServer, uploadVaultCertificate } from '../../lib/services/backup-server-registration';
import { NodeLocalFileSystem } from '../../lib/stores/file/local-file-system';
import { FileRepositoryStore } from '../../lib/stores/file/repository-store';
import type { VaultRegistrar } from '../../lib/stores/vault-registrar';
import { checkInBackupServer, grantVaultCopyAccess } from '../../lib/services/backup-server-connection';
import { BlobRepositoryStore } from '../../lib/stores/azure/blob-repository-store';
import { BlobVaultCopyAccessIssuer } from '../../lib/stores/azure/blob-vault-copy-access';
import type { SubscriptionState } from '../../lib/domain/tenancy';
import { useAzurite } from '../support/azurite';
import { inMemoryVault } from '../support/backup-server-vault';

const azurite = useAzurite();

const vault = { subscriptionId: '00000000-0000-0000-0000-00000000b5e2', resourceGroup: 'rg-onprem', vaultName: 'vault-onprem' };
const PASSPHRASE = 'a passphrase of more than sixteen characters';
const DAY = 86_400_000;

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kluis-bs-server-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function setup() {
  let now = new Date('2026-12-01T22:30:00Z');
  const clock = () => now;
  const vaultDeps = await inMemoryVault(vault, clock);
  let registrations = 0;
  let subscription: SubscriptionState = 'Enabled';
  let online = true;
  const connectionDeps = {
    ...vaultDeps,
    subscriptionState: async () => subscription,
    copyAccess: new BlobVaultCopyAccessIssuer(azurite().connectionString),
  };
  const unreachable = () => {
    if (!online) throw new Error('connect ECONNREFUSED (the vault is unreachable)');
  };
  const registrar: VaultRegistrar = {
    async register(credentials: VaultCredentials, serverName: string, serverPublicKey: string) {
      registrations++;
      return (await registerBackupServer(vaultDeps, vault, signRegistration(credentials, serverName, clock(), { serverPublicKey }))).engine;
    },
    async checkIn(_endpoint, signed) {
      unreachable();
      return checkInBackupServer(connectionDeps, vault, signed);
    },
    async vaultCopyAccess(_endpoint, signed) {
      unreachable();
      return grantVaultCopyAccess(connectionDeps, vault, signed);
    },
  };
  const credentialsFile = async () => {
    const certificate = await createCredentialCertificate(clock());
    const answer = await uploadVaultCertificate(vaultDeps, vault, credentialCertificateName(vault.vaultName, vault.subscriptionId, clock()), {
      properties: { authType: 'AAD', certificate: certificate.certificateBase64 },
    });
    return serializeVaultCredentials(vaultCredentialsFrom({ ...vault, location: 'westeurope' }, answer, certificate, 'https://127.0.0.1'));
  };
  const newServer = (data: string, extra: Partial<BackupServerDeps> = {}) => new BackupServer({
    state: new FileRepositoryStore(path.join(work, data, 'server')),
    repository: new FileRepositoryStore(path.join(work, data, 'repository')),
    files: new NodeLocalFileSystem(),
    registrar,
    vaultStore: (grant) => BlobRepositoryStore.fromSas(grant.containerUrl, grant.sasToken),
    clock,
    repositoryOptions: { kdf: { logN: 14 }, chunker: { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 } },
    ...extra,
  });
  const server = newServer('data');
  return {
    server,
    newServer,
    clock,
    advance: (ms: number) => (now = new Date(now.getTime() + ms)),
    credentialsFile,
    vaultDeps,
    connectionDeps,
    registrations: () => registrations,
    setSubscription: (state: SubscriptionState) => (subscription = state),
    setOnline: (value: boolean) => (online = value),
  };
}

describe('backup server journey', () => {
  it('registers, keeps a local point a day for 5 days, and restores from disk', async () => {
    const { server, advance, credentialsFile, vaultDeps } = await setup();
    const registered = await server.register({ credentialsFile: await credentialsFile(), serverName: 'mabs01.contoso.local' });
    expect(registered.generatedPassphrase).toMatch(/^[A-Z2-9]{8}(-[A-Z2-9]{8}){3}$/);
    expect((await listBackupEngines(vaultDeps, vault)).map((e) => e.name)).toEqual(['mabs01.contoso.local']);
    expect(JSON.stringify(await server.readState())).not.toContain(registered.generatedPassphrase);

    await expect(server.protect({ name: 'Files', sources: [{ name: 'D:\\Data', path: path.join(work, 'src') }], shortTerm: { retentionDays: 6, dailyAt: '22:00' } }))
      .rejects.toMatchObject({ code: 'KluisLocalRetentionOutOfRange', status: 400 });
    const group = { name: 'Files', sources: [{ name: 'D:\\Data', path: path.join(work, 'src') }], shortTerm: { retentionDays: 5, dailyAt: '22:00' } };
    await server.protect(group);

    await server.unlock(registered.generatedPassphrase!);
    await mkdir(path.join(work, 'src'), { recursive: true });
    await writeFile(path.join(work, 'src/only-day-0.bin'), Buffer.alloc(300_000, 7));
    await writeFile(path.join(work, 'src/stable.txt'), 'never changes\n'.repeat(100));
    const days: string[] = [];
    for (let day = 0; day < 7; day++) {
      if (day === 1) await rm(path.join(work, 'src/only-day-0.bin'));
      await writeFile(path.join(work, 'src/ledger.txt'), `ledger as of day ${day}\n`.repeat(1000 + day));
      // The file cache (session 8) is never trusted blindly: an edited cache starts empty and every file is read.
      if (day === 3) await writeFile(path.join(work, 'data/server/file-cache.json'), (await readFile(path.join(work, 'data/server/file-cache.json'), 'utf8')).replace('"size":', '"size":1'));
      const report = await server.runDue();
      expect(report.backups).toHaveLength(1);
      // Unchanged files are not read again (size, mtime, inode, ctime), also right after day 5's and 6's prunes.
      const cacheUsed = day !== 0 && day !== 3;
      expect(report.fileCache).toBe(day === 0 ? 'started empty: there is no local cache' : day === 3 ? 'started empty: the local cache does not match its checksum' : 'valid');
      expect(report.backups[0]).toMatchObject({ filesUnchanged: cacheUsed ? 1 : 0, filesRead: cacheUsed ? 1 : day === 0 ? 3 : 2 });
      days.push(report.backups[0].snapshotId);
      expect(await server.runDue()).toMatchObject({ backups: [] }); // once a day
      // never more than 5 points on disk: the 6th day's run drops day 0 (and the chunks only it used), the 7th day 1
      const dropped = report.retention.filter((d) => !d.keep).map((d) => d.snapshotId);
      expect(dropped).toEqual(day === 5 ? [days[0]] : day === 6 ? [days[1]] : []);
      if (day === 5) expect(report.chunksDeleted).toBeGreaterThanOrEqual(Math.floor(300_000 / (256 * 1024)));
      expect((await server.localPoints()).length).toBe(Math.min(day + 1, 5));
      advance(DAY);
    }
    const points = await server.localPoints();
    expect(points.map((p) => p.snapshotId)).toEqual(days.slice(2));
    expect(points.every((p) => p.source === sourceKey(group, 'D:\\Data'))).toBe(true);

    const repository = await server.unlock(registered.generatedPassphrase!);
    await restoreSnapshot({ repository, files: new NodeLocalFileSystem() }, { snapshotId: days[2], targetRoot: path.join(work, 'restored'), paths: ['ledger.txt', 'stable.txt'] });
    expect(await readFile(path.join(work, 'restored/ledger.txt'), 'utf8')).toBe('ledger as of day 2\n'.repeat(1002));
    expect(await readFile(path.join(work, 'restored/stable.txt'), 'utf8')).toBe('never changes\n'.repeat(100));
  });

  it('refuses a short passphrase and expired credentials before writing anything, and a wrong passphrase on re-registration', async () => {
    const { server, advance, credentialsFile, registrations } = await setup();
    const file = await credentialsFile();
    await expect(server.register({ credentialsFile: file, serverName: 'mabs01', passphrase: 'short' })).rejects.toMatchObject({ code: 'KluisPassphraseTooShort' });
    advance(48 * 3_600_000);
    await expect(server.register({ credentialsFile: file, serverName: 'mabs01', passphrase: PASSPHRASE })).rejects.toMatchObject({ code: 'KluisVaultCredentialsExpired' });
    await expect(stat(path.join(work, 'data'))).rejects.toMatchObject({ code: 'ENOENT' });

    await server.register({ credentialsFile: await credentialsFile(), serverName: 'mabs01', passphrase: PASSPHRASE });
    const before = registrations();
    await expect(server.register({ credentialsFile: await credentialsFile(), serverName: 'mabs01', passphrase: 'not the passphrase at all' }))
      .rejects.toMatchObject({ code: 'KluisPassphraseIncorrect' });
    expect(registrations()).toBe(before);
    await expect(server.register({ credentialsFile: await credentialsFile(), serverName: 'mabs01', passphrase: PASSPHRASE })).resolves.toMatchObject({ engine: { name: 'mabs01' } });
  });

  it('signs check-ins with the server identity, not the 48-hour credentials key; a foreign key is refused', async () => {
    const { server, advance, credentialsFile, vaultDeps, connectionDeps } = await setup();
    await server.register({ credentialsFile: await credentialsFile(), serverName: 'mabs01', passphrase: PASSPHRASE });
    expect((await readFile(path.join(work, 'data/server/identity-key.pem'), 'utf8'))).toContain('BEGIN PRIVATE KEY');
    expect((await stat(path.join(work, 'data/server/identity-key.pem'))).mode & 0o777).toBe(0o600);
    expect(JSON.stringify(await server.readState())).not.toContain('PRIVATE KEY');
    advance(3 * DAY); // the credentials expired long ago
    await expect(server.checkIn()).resolves.toEqual({ ok: true });
    const record = (await vaultDeps.backupServers.servers.get(`${vault.subscriptionId}~${vault.resourceGroup}~${vault.vaultName}`, 'mabs01'))?.value;
    expect(record?.lastCheckInAt).toBe(new Date(Date.parse('2026-12-01T22:30:00Z') + 3 * DAY).toISOString());
    expect(record?.serverPublicKey).toMatch(/^MF/); // SPKI DER of a P-256 key

    // The same request signed by another key (a copied state file without the key, an impostor) is refused.
    const { createServerIdentity, signServerRequest } = await import('../../lib/backup-server/registration-client');
    const impostor = signServerRequest({ privateKeyPem: createServerIdentity().privateKeyPem, vaultId: record!.vaultId, serverName: 'mabs01' }, 'checkIn', new Date(Date.parse(record!.lastCheckInAt)));
    await expect(checkInBackupServer(connectionDeps, vault, impostor)).rejects.toMatchObject({ code: 'KluisBackupServerSignatureInvalid', status: 401 });
    // …and a check-in signed correctly but replayed 11 minutes later.
    const { signed } = { signed: signServerRequest({ privateKeyPem: await readFile(path.join(work, 'data/server/identity-key.pem'), 'utf8'), vaultId: record!.vaultId, serverName: 'mabs01' }, 'checkIn', new Date(Date.parse(record!.lastCheckInAt))) };
    await expect(checkInBackupServer(connectionDeps, vault, signed)).resolves.toMatchObject({ subscriptionState: 'Active' });
    advance(11 * 60_000);
    await expect(checkInBackupServer(connectionDeps, vault, signed)).rejects.toMatchObject({ code: 'KluisBackupServerSignatureInvalid' });
    // A vault copy grant is scoped: write only to the server's own container.
    const foreignWrite = signServerRequest({ privateKeyPem: await readFile(path.join(work, 'data/server/identity-key.pem'), 'utf8'), vaultId: record!.vaultId, serverName: 'mabs01' }, 'vaultCopyAccess', new Date(Date.parse(record!.lastCheckInAt) + 11 * 60_000), { access: 'write', sourceServer: 'mabs02' });
    await expect(grantVaultCopyAccess(connectionDeps, vault, foreignWrite)).rejects.toMatchObject({ code: 'KluisBackupServerSignatureInvalid' });
  });

  it('journey: daily local points, online copies to the vault; the 6th day\'s local copy is gone but its vault copy restores a whole folder on a second server', async () => {
    const { server, newServer, advance, credentialsFile } = await setup();
    await server.register({ credentialsFile: await credentialsFile(), serverName: 'mabs01', passphrase: PASSPHRASE });
    const src = path.join(work, 'src');
    const group = { name: 'Files', sources: [{ name: 'D:\\Data', path: src }], shortTerm: { retentionDays: 5, dailyAt: '22:00' }, online: { dailyAt: '22:15', retentionDays: 30 } };
    await expect(server.protect({ ...group, online: { dailyAt: '22:15', retentionDays: 10_000 } })).rejects.toMatchObject({ code: 'KluisInvalidRequest' });
    await server.protect(group);
    await server.unlock(PASSPHRASE);
    await mkdir(path.join(src, 'reports/q4'), { recursive: true });
    const { chmod, utimes } = await import('node:fs/promises');
    const days: string[] = [];
    for (let day = 0; day < 7; day++) {
      await writeFile(path.join(src, 'reports/q4/summary.txt'), `summary on day ${day}\n`.repeat(2000));
      await writeFile(path.join(src, 'reports/q4/big.bin'), Buffer.alloc(400_000, day + 1));
      if (day === 0) {
        await chmod(path.join(src, 'reports/q4/summary.txt'), 0o640);
        await utimes(path.join(src, 'reports/q4/summary.txt'), new Date('2026-11-30T10:00:00Z'), new Date('2026-11-30T10:00:00Z'));
      }
      const report = await server.runDue();
      expect(report.allowed.backupToAzure).toBe('Allowed');
      expect(report.backups).toHaveLength(1);
      expect(report.vaultCopies.map((c) => c.snapshotId)).toEqual([report.backups[0].snapshotId]);
      days.push(report.backups[0].snapshotId);
      advance(DAY);
    }
    // On disk: days 2–6; in the vault: all seven.
    expect((await server.localPoints()).map((p) => p.snapshotId)).toEqual(days.slice(2));
    expect((await server.vaultPoints()).map((p) => p.snapshotId)).toEqual(days);

    // Day 0 is gone from disk: the restore comes from the vault (own copy, the unlocked key).
    const ownRestore = await server.restore({ snapshotId: days[0], targetRoot: path.join(work, 'restored-own'), paths: ['reports/q4/big.bin'] });
    expect(ownRestore.from).toBe('vault');
    expect(await readFile(path.join(work, 'restored-own/reports/q4/big.bin'))).toEqual(Buffer.alloc(400_000, 1));
    // Day 3 is still on disk: one file from disk.
    expect((await server.restore({ snapshotId: days[3], targetRoot: path.join(work, 'restored-disk'), paths: ['reports/q4/summary.txt'] })).from).toBe('disk');

    // A second server, registered with the same vault and its own passphrase, restores the whole folder of day 0
    // from the first server's vault copy with the first server's passphrase.
    const second = newServer('data2');
    await second.register({ credentialsFile: await credentialsFile(), serverName: 'mabs02', passphrase: 'the second server has another passphrase' });
    await expect(second.restore({ snapshotId: days[0], targetRoot: path.join(work, 'x'), fromServer: 'mabs01', passphrase: 'not the passphrase of mabs01' }))
      .rejects.toMatchObject({ code: 'KluisPassphraseIncorrect' });
    await expect(stat(path.join(work, 'x'))).rejects.toMatchObject({ code: 'ENOENT' });
    const restored = await second.restore({ snapshotId: days[0], targetRoot: path.join(work, 'restored-2nd'), fromServer: 'mabs01', passphrase: PASSPHRASE });
    expect(restored.from).toBe('vault');
    const summary = path.join(work, 'restored-2nd/reports/q4/summary.txt');
    expect(await readFile(summary, 'utf8')).toBe('summary on day 0\n'.repeat(2000));
    expect(await readFile(path.join(work, 'restored-2nd/reports/q4/big.bin'))).toEqual(Buffer.alloc(400_000, 1));
    expect((await stat(summary)).mode & 0o777).toBe(0o640);
    expect((await stat(summary)).mtime.toISOString()).toBe('2026-11-30T10:00:00.000Z');
  });

  it('unattended unlock: a restarted server unlocks with its machine key; a data folder copied without it (or with another machine\'s) needs the passphrase; forgetKey ends it', async () => {
    const { server, newServer, credentialsFile } = await setup();
    await server.register({ credentialsFile: await credentialsFile(), serverName: 'mabs01', passphrase: PASSPHRASE, rememberKey: true });
    await mkdir(path.join(work, 'src'));
    await writeFile(path.join(work, 'src/a.txt'), 'UNATTENDEDMARKER');
    await server.protect({ name: 'Files', sources: [{ name: 'D:\\Data', path: path.join(work, 'src') }], shortTerm: { retentionDays: 5, dailyAt: '22:00' } });
    const serverFolder = path.join(work, 'data/server');
    expect((await stat(path.join(serverFolder, 'machine-key'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(serverFolder, 'unattended-unlock.json'))).mode & 0o777).toBe(0o600);
    for (const file of await readdir(serverFolder, { recursive: true })) {
      const bytes = await readFile(path.join(serverFolder, file)).catch(() => Buffer.alloc(0));
      expect(bytes.toString('latin1')).not.toContain(PASSPHRASE);
    }

    const restarted = newServer('data'); // a new process: nothing in memory, no passphrase
    await expect(restarted.runDue()).rejects.toMatchObject({ code: 'KluisPassphraseIncorrect' });
    await restarted.unlockUnattended();
    expect((await restarted.runDue()).backups).toHaveLength(1);

    await cp(path.join(work, 'data'), path.join(work, 'copied'), { recursive: true });
    await rm(path.join(work, 'copied/server/machine-key'));
    const copied = newServer('copied');
    await expect(copied.unlockUnattended()).rejects.toMatchObject({ code: 'KluisUnattendedUnlockUnavailable', message: expect.stringContaining('machine') });
    await copied.unlock(PASSPHRASE);
    expect(await copied.localPoints()).toHaveLength(1);
    await copied.rememberKey(); // this machine's own key now (another key than the first server's)
    await cp(path.join(work, 'copied/server/machine-key'), path.join(serverFolder, 'machine-key'));
    await expect(newServer('data').unlockUnattended()).rejects.toMatchObject({ code: 'KluisUnattendedUnlockUnavailable', message: expect.stringContaining('another machine') });

    expect(await copied.forgetKey()).toBe(true);
    await expect(newServer('copied').unlockUnattended()).rejects.toMatchObject({ code: 'KluisUnattendedUnlockUnavailable' });
    expect(await readdir(path.join(work, 'copied/server'))).not.toContain('machine-key');
  });

  it('repository locks between two server instances on one data folder: a backup waits for a prune, a prune is deferred while a backup runs', async () => {
    const { server, newServer, credentialsFile, clock, advance } = await setup();
    await server.register({ credentialsFile: await credentialsFile(), serverName: 'mabs01', passphrase: PASSPHRASE });
    await mkdir(path.join(work, 'src'));
    await writeFile(path.join(work, 'src/a.txt'), 'locked');
    await server.protect({ name: 'Files', sources: [{ name: 'D:\\Data', path: path.join(work, 'src') }], shortTerm: { retentionDays: 1, dailyAt: '22:00' } });
    const other = { clock, holder: { name: 'mabs01', hostname: 'other-process', pid: 4242 } };
    const store = new FileRepositoryStore(path.join(work, 'data/repository'));

    const prune = await acquireRepositoryLock(store, 'prune', other);
    const impatient = newServer('data', { lockWaitMs: 0 });
    await impatient.unlock(PASSPHRASE);
    await expect(impatient.runDue()).rejects.toMatchObject({ code: 'KluisRepositoryLocked', message: expect.stringContaining('pid 4242 on other-process') });
    const patient = newServer('data', { lockWaitMs: 60_000, sleep: () => prune.release() });
    await patient.unlock(PASSPHRASE);
    expect((await patient.runDue()).backups).toHaveLength(1);

    await writeFile(path.join(work, 'src/a.txt'), 'changed');
    advance(2 * DAY);
    const backup = await acquireRepositoryLock(store, 'backup', other); // (taken before the clock moved, it would be stale)
    const deferred = await patient.runDue();
    expect(deferred.backups).toHaveLength(1); // shared locks coexist
    expect(deferred.retention.filter((d) => !d.keep)).toHaveLength(1);
    expect(deferred.pruneDeferred).toMatch(/shared lock \(backup\) is held by mabs01 \(pid 4242 on other-process\)/);
    expect(await patient.localPoints()).toHaveLength(2);
    await backup.release();
    expect((await patient.runDue()).pruneDeferred).toBeUndefined();
    expect(await patient.localPoints()).toHaveLength(1);
    expect(await readdir(path.join(work, 'data/repository/locks'))).toEqual([]);
  });

  it('online retention drops vault points older than the group\'s online days', async () => {
    const { server, advance, credentialsFile } = await setup();
    await server.register({ credentialsFile: await credentialsFile(), serverName: 'mabs01', passphrase: PASSPHRASE });
    await mkdir(path.join(work, 'src'), { recursive: true });
    await server.protect({ name: 'Files', sources: [{ name: 'D:\\Data', path: path.join(work, 'src') }], shortTerm: { retentionDays: 2, dailyAt: '22:00' }, online: { dailyAt: '22:00', retentionDays: 3 } });
    await server.unlock(PASSPHRASE);
    const ids: string[] = [];
    for (let day = 0; day < 5; day++) {
      await writeFile(path.join(work, 'src/day.txt'), `day ${day}\n`.repeat(500));
      const report = await server.runDue();
      ids.push(report.backups[0].snapshotId);
      if (day === 3) expect(report.vaultRetention.map((r) => r.snapshotId)).toEqual([ids[0]]);
      advance(DAY);
    }
    expect((await server.vaultPoints()).map((p) => p.snapshotId)).toEqual(ids.slice(2));
    await expect(server.restore({ snapshotId: ids[0], targetRoot: path.join(work, 'gone') })).rejects.toMatchObject({ code: 'KluisRepositoryObjectNotFound' });
  });

  it('protects a folder with exclusions and a disk image as one volume (session 7), reports skipped entries, restores both', async () => {
    const { server, credentialsFile } = await setup();
    await server.register({ credentialsFile: await credentialsFile(), serverName: 'mabs01', passphrase: PASSPHRASE });
    await mkdir(path.join(work, 'src/cache'), { recursive: true });
    await writeFile(path.join(work, 'src/keep.txt'), 'kept');
    await writeFile(path.join(work, 'src/scratch.tmp'), 'left out');
    await writeFile(path.join(work, 'src/cache/blob'), 'left out');
    execFileSync('mkfifo', [path.join(work, 'src/pipe')]);
    const disk = Buffer.concat([Buffer.alloc(100_000, 3), Buffer.alloc(200_000)]);
    await writeFile(path.join(work, 'disk.img'), disk);
    await expect(server.protect({ name: 'Bad', sources: [{ name: 'x', path: 'relative/src' }], shortTerm: { retentionDays: 2, dailyAt: '22:00' } }))
      .rejects.toMatchObject({ code: 'KluisInvalidRequest', target: 'path' });
    await expect(server.protect({ name: 'Bad', sources: [{ name: 'x', path: path.join(work, 'src'), exclude: ['[oops'] }], shortTerm: { retentionDays: 2, dailyAt: '22:00' } }))
      .rejects.toMatchObject({ code: 'KluisInvalidRequest', target: 'sources.exclude' });
    const group = await server.protect({
      name: 'Mixed',
      sources: [{ name: 'Data', path: path.join(work, 'src'), exclude: ['*.tmp', 'cache/'] }, { name: 'Disk', path: path.join(work, 'disk.img'), kind: 'DiskImage' }],
      shortTerm: { retentionDays: 2, dailyAt: '22:00' },
    });
    expect(group.sources[0].pathStyle).toBe('posix');
    await server.unlock(PASSPHRASE);
    const report = await server.runDue();
    expect(report.backups).toEqual([
      expect.objectContaining({ source: 'Data', excluded: 2, skippedCount: 1, skipped: [{ path: 'pipe', reason: expect.stringContaining('FIFO') }] }),
      expect.objectContaining({ source: 'Disk' }),
    ]);
    await server.restore({ snapshotId: report.backups[0].snapshotId, targetRoot: path.join(work, 'out') });
    await server.restore({ snapshotId: report.backups[1].snapshotId, targetRoot: path.join(work, 'out') });
    expect((await readdir(path.join(work, 'out'))).sort()).toEqual(['disk.img', 'keep.txt']);
    expect((await readFile(path.join(work, 'out/disk.img'))).equals(disk)).toBe(true);
  });

  describe("the seed's connectivity × subscription table, enforced by the server and the vault", () => {
    type Row = { connectivity: 'Connected' | 'Disconnected'; subscription: SubscriptionState; seed: string; backups: boolean; fromAzure: boolean; fromDisk: boolean; deleted: boolean };
    const rows: Row[] = [
      { connectivity: 'Connected', subscription: 'Enabled', seed: 'Active', backups: true, fromAzure: true, fromDisk: true, deleted: false },
      { connectivity: 'Connected', subscription: 'Disabled', seed: 'Expired', backups: false, fromAzure: true, fromDisk: true, deleted: false },
      { connectivity: 'Connected', subscription: 'Deleted', seed: 'Deprovisioned', backups: false, fromAzure: false, fromDisk: false, deleted: true },
      { connectivity: 'Disconnected', subscription: 'Enabled', seed: 'Active', backups: false, fromAzure: true, fromDisk: true, deleted: false },
      { connectivity: 'Disconnected', subscription: 'Disabled', seed: 'Expired', backups: false, fromAzure: true, fromDisk: true, deleted: false },
      { connectivity: 'Disconnected', subscription: 'Deleted', seed: 'Deprovisioned', backups: false, fromAzure: false, fromDisk: false, deleted: true },
    ];
    it.each(rows)('$connectivity × $seed: backups $backups, restore from Azure $fromAzure, from disk $fromDisk', async (row) => {
      const { server, advance, credentialsFile, setSubscription, setOnline, vaultDeps } = await setup();
      await server.register({ credentialsFile: await credentialsFile(), serverName: 'mabs01', passphrase: PASSPHRASE });
      await mkdir(path.join(work, 'src'), { recursive: true });
      await writeFile(path.join(work, 'src/a.txt'), 'first day\n'.repeat(100));
      await server.protect({ name: 'Files', sources: [{ name: 'D:\\Data', path: path.join(work, 'src') }], shortTerm: { retentionDays: 5, dailyAt: '22:00' }, online: { dailyAt: '22:00', retentionDays: 30 } });
      await server.unlock(PASSPHRASE);
      const first = await server.runDue(); // Connected × Active: a local point and its vault copy
      const pointId = first.backups[0].snapshotId;
      expect(first.vaultCopies).toHaveLength(1);

      setSubscription(row.subscription);
      if (row.connectivity === 'Disconnected') {
        if (row.subscription === 'Deleted') await server.checkIn(); // the server learnt the state before losing the link
        setOnline(false);
        advance(15 * DAY); // exactly 15 days: still Connected
        expect((await server.operations()).connectivity).toBe('Connected');
        advance(60_000); // more than 15 days
      } else {
        advance(DAY);
      }
      await writeFile(path.join(work, 'src/a.txt'), 'second day\n'.repeat(100));
      const report = await server.runDue();
      expect(report.connectivity).toBe(row.connectivity);
      expect(report.backups.length > 0).toBe(row.backups);
      expect(report.allowed).toEqual({
        backupToAzure: row.backups ? 'Allowed' : 'Stopped',
        backupToDisk: row.backups ? 'Allowed' : 'Stopped',
        restoreFromAzure: row.fromAzure ? 'Allowed' : 'Stopped',
        restoreFromDisk: row.fromDisk ? 'Allowed' : 'Stopped',
        azureRecoveryPointsDeleted: row.deleted,
      });
      if (!row.backups) expect(report.stopped).toContain(row.connectivity);

      // Restores: from disk (the point is there), and from Azure (the vault copy) once the link is back.
      const fromDisk = server.restore({ snapshotId: pointId, targetRoot: path.join(work, 'disk') });
      if (row.fromDisk) await expect(fromDisk).resolves.toMatchObject({ from: 'disk' });
      else await expect(fromDisk).rejects.toMatchObject({ code: 'KluisBackupServerOperationStopped', status: 409 });
      setOnline(true);
      const fromAzure = server.restore({ snapshotId: pointId, targetRoot: path.join(work, 'azure'), fromServer: 'mabs01', passphrase: PASSPHRASE });
      if (row.fromAzure) await expect(fromAzure).resolves.toMatchObject({ from: 'vault' });
      else await expect(fromAzure).rejects.toMatchObject({ code: 'KluisBackupServerOperationStopped' });

      // The vault's side: a Deprovisioned subscription deletes the server's vault copy irretrievably.
      const record = (await vaultDeps.backupServers.servers.get(`${vault.subscriptionId}~${vault.resourceGroup}~${vault.vaultName}`, 'mabs01'))!.value;
      const { vaultCopyContainerOf } = await import('../../lib/services/backup-server-connection');
      const exists = await BlobRepositoryStore.fromConnection(azurite().connectionString, vaultCopyContainerOf(record)).exists('config');
      expect(exists).toBe(!row.deleted);
    });
  });
});
