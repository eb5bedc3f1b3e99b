/**
 * The backup server on real folders with a fake clock (issue 16, steps 2–3): registration with a vault credentials
 * file (the vault side in process, in-memory catalog), a protection group over a folder, a local point a day,
 * 5-day local retention (the 6th day's point and the chunks only it used are gone), restore from a local point,
 * and the refusals: short passphrase, expired credentials, 6 days retention, wrong passphrase.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createCredentialCertificate, credentialCertificateName, signRegistration, vaultCredentialsFrom } from '../../lib/backup-server/registration-client';
import { restoreSnapshot } from '../../lib/backup-server/repository/restore-snapshot';
import { BackupServer, sourceKey } from '../../lib/backup-server/server/backup-server';
import { serializeVaultCredentials, type VaultCredentials } from '../../lib/domain/backup-server/vault-credentials';
import { listBackupEngines, registerBackupServer, uploadVaultCertificate } from '../../lib/services/backup-server-registration';
import { createOrUpdateVault } from '../../lib/services/vaults';
import { memoryBackupServerCatalog } from '../../lib/stores/backup-server-catalog';
import { NodeLocalFileSystem } from '../../lib/stores/file/local-file-system';
import { FileRepositoryStore } from '../../lib/stores/file/repository-store';
import type { VaultRegistrar } from '../../lib/stores/vault-registrar';
import { memoryVaultCatalog } from '../../lib/stores/vault-catalog';

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
  const vaultDeps = {
    catalog: memoryVaultCatalog(),
    backupServers: memoryBackupServerCatalog(),
    clock,
    identity: { aadAuthority: 'https://127.0.0.1/identity', aadTenantId: '11111111-1111-1111-1111-111111111111', endpoint: 'https://127.0.0.1/' },
  };
  await createOrUpdateVault(vaultDeps, vault, { location: 'westeurope' });
  let registrations = 0;
  const registrar: VaultRegistrar = {
    async register(credentials: VaultCredentials, serverName: string) {
      registrations++;
      return (await registerBackupServer(vaultDeps, vault, signRegistration(credentials, serverName, clock()))).engine;
    },
  };
  const credentialsFile = async () => {
    const certificate = await createCredentialCertificate(clock());
    const answer = await uploadVaultCertificate(vaultDeps, vault, credentialCertificateName(vault.vaultName, vault.subscriptionId, clock()), {
      properties: { authType: 'AAD', certificate: certificate.certificateBase64 },
    });
    return serializeVaultCredentials(vaultCredentialsFrom({ ...vault, location: 'westeurope' }, answer, certificate, 'https://127.0.0.1'));
  };
  const server = new BackupServer({
    state: new FileRepositoryStore(path.join(work, 'data/server')),
    repository: new FileRepositoryStore(path.join(work, 'data/repository')),
    files: new NodeLocalFileSystem(),
    registrar,
    clock,
    repositoryOptions: { kdf: { logN: 14 }, chunker: { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 } },
  });
  return { server, clock, advance: (ms: number) => (now = new Date(now.getTime() + ms)), credentialsFile, vaultDeps, registrations: () => registrations };
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
    const days: string[] = [];
    for (let day = 0; day < 7; day++) {
      if (day === 1) await rm(path.join(work, 'src/only-day-0.bin'));
      await writeFile(path.join(work, 'src/ledger.txt'), `ledger as of day ${day}\n`.repeat(1000 + day));
      const report = await server.runDue();
      expect(report.backups).toHaveLength(1);
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
    await restoreSnapshot({ repository, files: new NodeLocalFileSystem() }, { snapshotId: days[2], targetRoot: path.join(work, 'restored'), paths: ['ledger.txt'] });
    expect(await readFile(path.join(work, 'restored/ledger.txt'), 'utf8')).toBe('ledger as of day 2\n'.repeat(1002));
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
});
