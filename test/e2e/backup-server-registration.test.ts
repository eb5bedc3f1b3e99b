/**
 * Registering a backup server over HTTP through the embedded host (issue 16, step 2): the vault issues a
 * credential (VaultCertificates_Create, checked against the official specification), the server registers with
 * the vault credentials file it wrote, shows as a backup engine, a foreign file is refused, and unregistering works.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createCredentialCertificate, credentialCertificateName, signRegistration, vaultCredentialsFrom } from '../../lib/backup-server/registration-client';
import { parseVaultCredentials, serializeVaultCredentials } from '../../lib/domain/backup-server/vault-credentials';
import { createResourceGroups, subscriptionEnv } from '../support/arm-tenancy';
import { uniqueTableName, useAzurite } from '../support/azurite';
import { http, REPO_ROOT, startHostProcess, type HostProcess } from '../support/host-process';
import { armHttp, type ErrorEnvelope } from '../support/vault-api';
import { ContainerClient } from '@azure/storage-blob';
import { BackupServer } from '../../lib/backup-server/server/backup-server';
import { groupRunInstanceId } from '../../lib/backup-server/domain/group-runs';
import { signServerRequest } from '../../lib/backup-server/registration-client';
import { BlobRepositoryStore } from '../../lib/stores/azure/blob-repository-store';
import { NodeLocalFileSystem } from '../../lib/stores/file/local-file-system';
import { FileRepositoryStore } from '../../lib/stores/file/repository-store';
import { HttpVaultRegistrar } from '../../lib/stores/http/vault-registrar';
import type { VaultCopyGrant } from '../../lib/stores/vault-copy-access';
import { RecoveryServicesBackupClient, type DPMProtectedItem, type DpmJob, type GenericRecoveryPoint } from '@azure/arm-recoveryservicesbackup';
import { kluisClientOptions, kluisTestCredential, useKluisPipeline } from '../support/arm-sdk';

const SUB = '4b5c6d7e-8f90-4a1b-8c2d-3e4f5a6b7c8d';
const RG = 'rg-onprem';
const azurite = useAzurite();
const run = promisify(execFile);

/**
 * Runs bin/kluis-server.js; resolves with its output and exit code (never rejects on a non-zero exit). With the
 * malloc threshold already set it does not start Node a second time (bin/malloc-tuning.js; its own unit test).
 */
async function kluisServer(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(REPO_ROOT, 'bin/kluis-server.js'), ...args], { env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072', ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('backup server registration over HTTP (embedded host)', () => {
  let host: HostProcess;
  const vaultUrl = (name: string) => `${host.origin}/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.RecoveryServices/vaults/${name}`;

  beforeAll(async () => {
    host = await startHostProcess({
      app: REPO_ROOT,
      storage: azurite().connectionString,
      hubName: `BackupServer${Date.now().toString(36)}`,
      env: {
        KLUIS_SOURCE_STORAGE: '',
        KLUIS_VAULT_STORAGE: '',
        KLUIS_CATALOG_TABLE: uniqueTableName('points'),
        KLUIS_CATALOG_TABLE_PREFIX: uniqueTableName('bs').slice(0, 40),
        ...subscriptionEnv(SUB),
      },
      startupTimeoutInMs: 60_000,
    });
    await createResourceGroups(host, SUB, [RG]);
    for (const name of ['vault-a', 'vault-b']) {
      const created = await armHttp(`${vaultUrl(name)}?api-version=2023-06-01`, { method: 'PUT', body: { location: 'westeurope', properties: {} } });
      expect(created.status).toBe(201);
    }
  }, 90_000);

  afterAll(async () => {
    await host?.stop();
  });

  async function credentialsFor(vaultName: string): Promise<string> {
    const now = new Date();
    const certificate = await createCredentialCertificate(now);
    const url = `${vaultUrl(vaultName)}/certificates/${credentialCertificateName(vaultName, SUB, now)}?api-version=2023-04-01`;
    const answer = await armHttp<{ properties: { resourceId: number; aadAuthority: string; aadTenantId: string; servicePrincipalClientId: string; azureManagementEndpointAudience: string; authType: string } }>(url, {
      method: 'PUT',
      body: { properties: { authType: 'AAD', certificate: certificate.certificateBase64 } },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.properties.authType).toBe('AzureActiveDirectory');
    return serializeVaultCredentials(vaultCredentialsFrom({ subscriptionId: SUB, resourceGroup: RG, vaultName, location: 'westeurope' }, answer.body, certificate, host.origin));
  }

  it('registers a server with a vault credentials file, lists it as a backup engine, and unregisters it', async () => {
    const credentials = parseVaultCredentials(await credentialsFor('vault-a'));
    const registered = await http<{ engine: { name: string; properties: { backupEngineType: string } } }>(`${host.origin}/backupServer/registrations`, {
      method: 'POST',
      body: signRegistration(credentials, 'mabs01.contoso.local', new Date()),
    });
    expect(registered.status).toBe(201);
    expect(registered.body.engine).toMatchObject({ name: 'mabs01.contoso.local', properties: { backupEngineType: 'AzureBackupServerEngine' } });

    const engines = await armHttp<{ value: Array<{ name: string; properties: { backupManagementType: string } }> }>(`${vaultUrl('vault-a')}/backupEngines?api-version=2023-06-01`);
    expect(engines.status).toBe(200);
    expect(engines.body.value.map((e) => [e.name, e.properties.backupManagementType])).toEqual([['mabs01.contoso.local', 'AzureBackupServer']]);

    const filter = (type: string) => encodeURIComponent(`backupManagementType eq '${type}' and status eq 'Registered'`);
    const containers = await armHttp<{ value: Array<{ name: string; properties: { containerType: string; backupManagementType: string } }> }>(
      `${vaultUrl('vault-a')}/backupProtectionContainers?api-version=2023-06-01&$filter=${filter('AzureBackupServer')}`,
    );
    expect(containers.body.value.map((c) => [c.name, c.properties.containerType, c.properties.backupManagementType]))
      .toEqual([['mabs01.contoso.local', 'AzureBackupServerContainer', 'AzureBackupServer']]);
    const vms = await armHttp<{ value: unknown[] }>(`${vaultUrl('vault-a')}/backupProtectionContainers?api-version=2023-06-01&$filter=${filter('AzureIaasVM')}`);
    expect(vms.body.value).toEqual([]);

    const removed = await armHttp(`${vaultUrl('vault-a')}/registeredIdentities/mabs01.contoso.local?api-version=2023-04-01`, { method: 'DELETE' });
    expect(removed.status).toBe(204);
    expect((await armHttp<{ value: unknown[] }>(`${vaultUrl('vault-a')}/backupEngines?api-version=2023-06-01`)).body.value).toEqual([]);
  });

  it('a registered server checks in and copies online through a SAS for its own container, signed with its identity key; the admin-set subscription state stops it', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'kluis-server-online-'));
    const grants: VaultCopyGrant[] = [];
    try {
      const clock = () => new Date();
      const server = new BackupServer({
        state: new FileRepositoryStore(path.join(work, 'data/server')),
        repository: new FileRepositoryStore(path.join(work, 'data/repository')),
        files: new NodeLocalFileSystem(),
        registrar: new HttpVaultRegistrar(clock),
        vaultStore: (grant) => (grants.push(grant), BlobRepositoryStore.fromSas(grant.containerUrl, grant.sasToken)),
        clock,
        repositoryOptions: { kdf: { logN: 14 } },
      });
      const passphrase = 'an e2e passphrase of enough characters';
      await server.register({ credentialsFile: await credentialsFor('vault-a'), serverName: 'mabs05', passphrase });
      await mkdir(path.join(work, 'src'), { recursive: true });
      await writeFile(path.join(work, 'src/notes.txt'), 'online copy\n'.repeat(300));
      await server.protect({ name: 'Files', sources: [{ name: '/srv/notes', path: path.join(work, 'src') }], shortTerm: { retentionDays: 3, dailyAt: '00:00' }, online: { dailyAt: '00:00', retentionDays: 30 } });
      await server.unlock(passphrase);
      const report = await server.runDue();
      expect(report.vaultCopyError).toBeUndefined();
      expect(report.vaultCopies).toHaveLength(1);
      expect(report.vaultReportError).toBeUndefined();

      // The vault shows what the server reported, through the official SDK (every answer checked against the spec).
      const problems: string[] = [];
      const credential = kluisTestCredential(host);
      const backup = useKluisPipeline(new RecoveryServicesBackupClient(credential, SUB, kluisClientOptions(host.origin)), credential, problems);
      const all = async <T>(pages: AsyncIterable<T>) => { const out: T[] = []; for await (const x of pages) out.push(x); return out; };
      const items = await all(backup.backupProtectedItems.list('vault-a', RG, { filter: "backupManagementType eq 'AzureBackupServer'" }));
      expect(items.map((i) => [i.properties?.protectedItemType, i.properties?.containerName, (i.properties as DPMProtectedItem).friendlyName])).toEqual([['DPMProtectedItem', 'mabs05', '/srv/notes']]);
      const itemName = items[0].name!;
      const serverItem = (await backup.protectedItems.get('vault-a', RG, 'Azure', 'mabs05', itemName)).properties as DPMProtectedItem;
      expect(serverItem).toMatchObject({ backupManagementType: 'AzureBackupServer', workloadType: 'FileFolder', backupEngineName: 'mabs05', protectionState: 'Protected',
        extendedInfo: { onPremiseRecoveryPointCount: 1, recoveryPointCount: 1, isPresentOnCloud: true, protectionGroupName: 'Files', lastBackupStatus: 'Completed' } });
      expect(await all(backup.backupProtectedItems.list('vault-a', RG, { filter: "backupManagementType eq 'AzureIaasVM'" }))).toEqual([]);
      const points = await all(backup.recoveryPoints.list('vault-a', RG, 'Azure', 'mabs05', itemName));
      expect(points.map((p) => [p.name, (p.properties as GenericRecoveryPoint).recoveryPointType])).toEqual([[report.backups[0].snapshotId, 'DiskAndOnline']]);
      const jobs = await all(backup.backupJobs.list('vault-a', RG, { filter: "backupManagementType eq 'AzureBackupServer' and operation eq 'Backup' and status eq 'Completed'" }));
      expect(jobs.map((j) => [(j.properties as DpmJob).jobType, (j.properties as DpmJob).dpmServerName, (j.properties as DpmJob).extendedInfo?.propertyBag?.Kind]).sort())
        .toEqual([['DpmJob', 'mabs05', 'LocalBackup'], ['DpmJob', 'mabs05', 'VaultCopy']]);
      expect(await all(backup.backupJobs.list('vault-a', RG, { filter: "backupManagementType eq 'AzureIaasVM'" }))).toEqual([]);
      expect((await backup.jobDetails.get('vault-a', RG, jobs[0].name!)).properties).toMatchObject({ jobType: 'DpmJob', status: 'Completed' });
      expect(problems).toEqual([]);
      // Read-only from ARM: a backup now on the server's item is refused.
      const itemUrl = `${vaultUrl('vault-a')}/backupFabrics/Azure/protectionContainers/mabs05/protectedItems/${encodeURIComponent(itemName)}`;
      const backupNowOnServer = await armHttp<ErrorEnvelope>(`${itemUrl}/backup?api-version=2023-06-01`, { method: 'POST', body: { properties: { objectType: 'IaasVMBackupRequest' } } });
      expect({ status: backupNowOnServer.status, code: backupNowOnServer.body.error.code }).toEqual({ status: 400, code: 'KluisBackupServerItemReadOnly' });

      // The grant: a SAS for the server's own container only, short-lived, with no account key.
      const grant = grants[0];
      expect(grant.containerUrl).toMatch(/\/kluis-bs-[0-9a-f-]{36}$/);
      expect(Date.parse(grant.expiresOn) - Date.now()).toBeLessThanOrEqual(60 * 60_000);
      expect(grant.sasToken).not.toMatch(/AccountKey/i);
      const blobs: string[] = [];
      for await (const blob of new ContainerClient(`${grant.containerUrl}?${grant.sasToken}`).listBlobsFlat()) blobs.push(blob.name);
      expect(blobs).toContain('config');
      const otherContainer = grant.containerUrl.replace(/kluis-bs-[0-9a-f-]+$/, 'kluis-bs-00000000-0000-0000-0000-000000000000');
      await expect(new ContainerClient(`${otherContainer}?${grant.sasToken}`).getBlockBlobClient('x').upload('x', 1)).rejects.toMatchObject({ statusCode: 403 });

      // A check-in signed with another key is refused (401); the registered identity's is recorded.
      const vaultId = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.RecoveryServices/vaults/vault-a`;
      const { createServerIdentity } = await import('../../lib/backup-server/registration-client');
      const impostor = await http<ErrorEnvelope>(`${host.origin}/backupServer/checkIns`, {
        method: 'POST',
        body: signServerRequest({ privateKeyPem: createServerIdentity().privateKeyPem, vaultId, serverName: 'mabs05' }, 'checkIn', new Date()),
      });
      expect(impostor.status).toBe(401);
      expect(impostor.body.error.code).toBe('KluisBackupServerSignatureInvalid');

      // The admin disables the subscription (host key only): the next check-in learns Expired and backups stop.
      const stateUrl = `${host.origin}/api/subscriptions/${SUB}/state`;
      expect((await http(stateUrl, { method: 'PUT', body: { state: 'Disabled' }, signIn: false })).status).toBe(401);
      const disabled = await http<{ state: string }>(stateUrl, { method: 'PUT', body: { state: 'Disabled' }, headers: { 'x-functions-key': host.secrets.masterKey } });
      expect(disabled).toMatchObject({ status: 200, body: { state: 'Disabled' } });
      // The Azure VM path honours it too: no backup starts in a Disabled subscription (ARM's answer, before any lookup).
      const item = `${vaultUrl('vault-a')}/backupFabrics/Azure/protectionContainers/${encodeURIComponent('IaasVMContainer;iaasvmcontainerv2;rg;vm1')}/protectedItems/${encodeURIComponent('VM;iaasvmcontainerv2;rg;vm1')}`;
      const backupNow = await armHttp<ErrorEnvelope>(`${item}/backup?api-version=2023-06-01`, { method: 'POST', body: { properties: { objectType: 'IaasVMBackupRequest' } } });
      expect({ status: backupNow.status, code: backupNow.body.error.code }).toEqual({ status: 409, code: 'ReadOnlyDisabledSubscription' });
      const stopped = await server.checkIn().then(() => server.operations());
      expect(stopped).toMatchObject({ connectivity: 'Connected', subscription: 'Expired', allowed: { backupToAzure: 'Stopped', backupToDisk: 'Stopped', restoreFromAzure: 'Allowed' } });
      const restored = await server.restore({ snapshotId: report.backups[0].snapshotId, targetRoot: path.join(work, 'out'), fromServer: 'mabs05', passphrase });
      expect(restored.from).toBe('vault');
      expect(await readFile(path.join(work, 'out/notes.txt'), 'utf8')).toBe('online copy\n'.repeat(300));
      // The restore is a job in the vault too (reported right after it).
      const restores = await all(backup.backupJobs.list('vault-a', RG, { filter: "operation eq 'Restore'" }));
      expect(restores.map((j) => [(j.properties as DpmJob).jobType, j.properties?.status])).toEqual([['DpmJob', 'Completed']]);

      // Unregistering deletes the server's copy in the vault (as Azure deletes a backup management server's cloud data).
      expect((await armHttp(`${vaultUrl('vault-a')}/registeredIdentities/mabs05?api-version=2023-04-01`, { method: 'DELETE' })).status).toBe(204);
      const listing = async () => { for await (const blob of new ContainerClient(`${grant.containerUrl}?${grant.sasToken}`).listBlobsFlat()) void blob; };
      await expect(listing()).rejects.toMatchObject({ statusCode: 404 });
      expect(await all(backup.backupProtectedItems.list('vault-a', RG))).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await http(`${host.origin}/api/subscriptions/${SUB}/state`, { method: 'PUT', body: { state: 'Enabled' }, headers: { 'x-functions-key': host.secrets.masterKey } });
      await http(`${vaultUrl('vault-a')}/registeredIdentities/mabs05?api-version=2023-04-01`, { method: 'DELETE' }); // 404 when the test got that far
      await rm(work, { recursive: true, force: true });
    }
  });

  it('refuses another vault’s credentials file and a bad body, registering nothing', async () => {
    const foreign = parseVaultCredentials(await credentialsFor('vault-b'));
    const proof = signRegistration(foreign, 'mabs02', new Date());
    const refused = await http<ErrorEnvelope>(`${host.origin}/backupServer/registrations`, {
      method: 'POST',
      body: { ...proof, proof: { ...proof.proof, vaultId: proof.proof.vaultId.replace('vault-b', 'vault-a') } },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('KluisVaultCredentialsInvalid');
    const bad = await http<ErrorEnvelope>(`${host.origin}/backupServer/registrations`, { method: 'POST', body: { proof: {} } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('KluisInvalidRequest');
    expect((await armHttp<{ value: unknown[] }>(`${vaultUrl('vault-a')}/backupEngines?api-version=2023-06-01`)).body.value).toEqual([]);
  });

  it('kluis-server downloads a credentials file, registers with it, protects a folder (1–5 days), takes a local point, restores it and unregisters', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'kluis-server-cli-'));
    try {
      const data = path.join(work, 'data');
      const vaultId = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.RecoveryServices/vaults/vault-a`;
      const signedIn = { KLUIS_ACCESS_TOKEN: await host.accessToken() };
      expect(await kluisServer(['credentials', '--vault', vaultId, '--host', host.origin, '--out', work], { KLUIS_ACCESS_TOKEN: '', MSI_ENDPOINT: '' }))
        .toMatchObject({ code: 1, stderr: expect.stringContaining('sign in first') });
      const downloaded = await kluisServer(['credentials', '--vault', vaultId, '--host', host.origin, '--out', work], signedIn);
      expect(downloaded).toMatchObject({ code: 0, stdout: expect.stringMatching(/Vault credentials for vault-a written to .*vault-a_\w{3} \w{3} \d{2} \d{4}\.VaultCredentials \(owner-only/) });
      const credentialsFile = (await readdir(work)).map((f) => path.join(work, f)).find((f) => f.endsWith('.VaultCredentials'))!;
      expect((await stat(credentialsFile)).mode & 0o777).toBe(0o600);
      expect(parseVaultCredentials(await readFile(credentialsFile, 'utf8'))).toMatchObject({ resourceName: 'vault-a', location: 'westeurope', kluisEndpoint: host.origin });
      const registered = await kluisServer(['register', '--data', data, '--vault-credentials', credentialsFile, '--server-name', 'mabs03.contoso.local']);
      expect(registered).toMatchObject({ code: 0, stdout: expect.stringContaining('Registered mabs03.contoso.local (AzureBackupServerEngine)') });
      const passphrase = /shown once[^\n]*\n\s+(\S+)/.exec(registered.stdout)?.[1];
      expect(passphrase).toMatch(/^[A-Z2-9]{8}(-[A-Z2-9]{8}){3}$/);

      const folder = path.join(work, 'protected');
      await mkdir(path.join(folder, 'docs'), { recursive: true });
      await writeFile(path.join(folder, 'docs/report.txt'), 'quarterly numbers\n'.repeat(500));
      await writeFile(path.join(folder, 'docs/~report.tmp'), 'an editor lock file');
      const tooLong = await kluisServer(['protect', '--data', data, '--group', 'Files', '--folder', folder, '--retention-days', '6']);
      expect(tooLong.code).not.toBe(0);
      expect(tooLong.stderr).toContain('KluisLocalRetentionOutOfRange');
      const sql = await kluisServer(['protect', '--data', data, '--group', 'Databases', '--folder', folder, '--workload', 'SQLDataBase']);
      expect(sql.code).not.toBe(0);
      expect(sql.stderr).toContain('KluisServerWorkloadNotSupported');
      expect(sql.stderr).toContain('SQL Server databases');
      const gfs = ['--online-retention-days', '30', '--online-weekly-weeks', '4', '--online-monthly-months', '12'];
      expect(await kluisServer(['protect', '--data', data, '--group', 'Files', '--folder', folder, '--exclude', '*.tmp', '--retention-days', '5', ...gfs]))
        .toMatchObject({ code: 0, stdout: expect.stringContaining('kept 30 days, Sundays 4 weeks, 1st of the month 12 months.') });

      const env = { KLUIS_SERVER_PASSPHRASE: passphrase! };
      const ran = await kluisServer(['run', '--data', data, '--once'], env);
      expect(ran).toMatchObject({ code: 0, stdout: expect.stringMatching(/Local point [0-9a-f]{32} of Files\/.*, 1 entries excluded\./) });
      const snapshot = /Local point ([0-9a-f]{32})/.exec(ran.stdout)![1];
      expect(ran.stdout).toContain(`Vault copy of ${snapshot}`);
      const wrong = await kluisServer(['points', '--data', data], { KLUIS_SERVER_PASSPHRASE: 'sixteen characters or more, but wrong' });
      expect(wrong.stderr).toContain('KluisPassphraseIncorrect');
      // register kept the key wrapped with this machine's key: no passphrase needed here, until forget-key.
      expect(registered.stdout).toContain('This machine unlocks the repository after a restart');
      expect(await kluisServer(['points', '--data', data], { KLUIS_SERVER_PASSPHRASE: '' })).toMatchObject({ code: 0, stdout: expect.stringContaining(snapshot) });
      expect(await kluisServer(['forget-key', '--data', data])).toMatchObject({ code: 0, stdout: expect.stringContaining('the passphrase is needed from now on') });
      expect(await kluisServer(['points', '--data', data], { KLUIS_SERVER_PASSPHRASE: '' })).toMatchObject({ code: 1, stderr: expect.stringContaining('no key is remembered on this server') });
      const restored = await kluisServer(['restore', '--data', data, '--snapshot', snapshot, '--target', path.join(work, 'restored'), '--path', 'docs/report.txt'], env);
      expect(restored.code).toBe(0);
      expect(await readFile(path.join(work, 'restored/docs/report.txt'), 'utf8')).toBe('quarterly numbers\n'.repeat(500));
      // The index lost (repository version 2): verify --rebuild-index writes it anew from the pack headers, then verifies.
      await rm(path.join(data, 'repository/index'), { recursive: true });
      const verified = await kluisServer(['verify', '--rebuild-index', '--data', data], env);
      expect(verified).toMatchObject({ code: 0, stdout: expect.stringMatching(/Index rebuilt: [1-9]\d* packs, [1-9]\d* chunks, 0 packs unreadable\.[\s\S]*1 points, [1-9]\d* chunks read, 0 problems/) });
      const engines = await armHttp<{ value: Array<{ name: string }> }>(`${vaultUrl('vault-a')}/backupEngines?api-version=2023-06-01`);
      expect(engines.body.value.map((e) => e.name)).toContain('mabs03.contoso.local');

      // Unregister: confirmed only with --delete-vault-data (the vault's copy goes, permanently); local copies stay.
      const unconfirmed = await kluisServer(['unregister', '--data', data], signedIn);
      expect(unconfirmed).toMatchObject({ code: 1, stderr: expect.stringContaining('add --delete-vault-data to confirm') });
      const unregistered = await kluisServer(['unregister', '--data', data, '--delete-vault-data'], signedIn);
      expect(unregistered).toMatchObject({ code: 0, stdout: expect.stringContaining('Unregistered mabs03.contoso.local from vault vault-a: its backup data in the vault is deleted, permanently.') });
      const after = await armHttp<{ value: Array<{ name: string }> }>(`${vaultUrl('vault-a')}/backupEngines?api-version=2023-06-01`);
      expect(after.body.value.map((e) => e.name)).not.toContain('mabs03.contoso.local');
      expect(await kluisServer(['points', '--data', data], env)).toMatchObject({ code: 0, stdout: expect.stringContaining(snapshot) });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }, 240_000);

  it('the server role on the embedded host (KLUIS_ROLE=server): past the group\'s time one orchestration takes the local point and the vault copy, once, also across a restart at the same due time', async () => {
    const SERVER_FUNCTIONS = ['backupServerScheduler', 'backupServerGroupRun', 'backupServerPrepareRun', 'backupServerBackUpSource', 'backupServerExpireLocalPoints', 'backupServerCopyToVault', 'backupServerFinishRun', 'backupServerHealth'];
    const functionsOf = async (h: HostProcess) => (await http<Array<{ name: string }>>(`${h.origin}/admin/functions`, { headers: { 'x-functions-key': h.secrets.masterKey } })).body.map((f) => f.name).sort();
    expect((await functionsOf(host)).filter((name) => SERVER_FUNCTIONS.includes(name))).toEqual([]); // the vm role registers none of them
    const work = await mkdtemp(path.join(os.tmpdir(), 'kluis-server-role-'));
    let serverHost: HostProcess | undefined;
    try {
      const data = path.join(work, 'data');
      const clock = () => new Date();
      const server = new BackupServer({
        state: new FileRepositoryStore(path.join(data, 'server')), repository: new FileRepositoryStore(path.join(data, 'repository')), files: new NodeLocalFileSystem(),
        registrar: new HttpVaultRegistrar(clock), vaultStore: (grant) => BlobRepositoryStore.fromSas(grant.containerUrl, grant.sasToken), clock, repositoryOptions: { kdf: { logN: 14 } },
      });
      await server.register({ credentialsFile: await credentialsFor('vault-a'), serverName: 'mabs07.contoso.local', passphrase: 'the server role passphrase, long enough', rememberKey: true });
      await mkdir(path.join(work, 'src'), { recursive: true });
      await writeFile(path.join(work, 'src/ledger.txt'), 'debit credit\n'.repeat(400));
      // The group's time: the first whole minute at least two minutes ahead (UTC); local point and vault copy then.
      const dueAt = new Date(Math.ceil((Date.now() + 120_000) / 60_000) * 60_000);
      const at = dueAt.toISOString().slice(11, 16);
      await server.protect({ name: 'Nightly', sources: [{ name: 'ledger', path: path.join(work, 'src') }], shortTerm: { retentionDays: 2, dailyAt: at }, online: { dailyAt: at, retentionDays: 7 } });
      expect((await server.runDue()).backups).toHaveLength(1); // today's first point, before the group's time
      const pointsBefore = await readdir(path.join(data, 'repository/snapshots'));

      const startServerHost = (fakeNow: Date) => startHostProcess({
        app: REPO_ROOT, storage: azurite().connectionString, hubName: 'ServerRole', signIn: false,
        env: { KLUIS_ROLE: 'server', KLUIS_SERVER_DATA: data, KLUIS_SERVER_PASSPHRASE: '' }, // unlocked with the remembered machine key
        extraArgs: ['--fake-clock', fakeNow.toISOString(), '--no-identity', '--no-keyvault', '--no-fabric'],
      });
      const advanceTo = (h: HostProcess, to: Date) => http(`${h.origin}/admin/clock/advance`, { method: 'POST', body: { to: to.toISOString() }, headers: { 'x-functions-key': h.secrets.masterKey } });
      const instanceId = groupRunInstanceId('mabs07.contoso.local', 'Nightly', dueAt);
      const runStatus = (h: HostProcess) => http<{ runtimeStatus: string; output: { backups: unknown[]; vaultCopies: unknown[]; failures: unknown[] } }>(`${h.origin}/runtime/webhooks/durabletask/instances/${instanceId}?code=${h.secrets.masterKey}`);
      const groupRuns = async (h: HostProcess) => (await http<Array<{ name: string }>>(`${h.origin}/runtime/webhooks/durabletask/instances?code=${h.secrets.masterKey}`)).body.filter((i) => i.name === 'backupServerGroupRun');

      serverHost = await startServerHost(new Date(dueAt.getTime() - 30_000));
      expect(await functionsOf(serverHost)).toEqual([...SERVER_FUNCTIONS].sort()); // the server role registers only its own
      expect(await http(`${serverHost.origin}/health`)).toMatchObject({ status: 200, body: { role: 'server', registered: true, serverName: 'mabs07.contoso.local', connectivity: 'Connected' } });
      await advanceTo(serverHost, new Date(dueAt.getTime() + 1_000));
      await serverHost.waitForLog((r) => r.message.includes(`group Nightly run started (${instanceId}`), 20_000);
      let status = await runStatus(serverHost);
      for (const until = Date.now() + 30_000; !['Completed', 'Failed'].includes(status.body.runtimeStatus) && Date.now() < until; status = await runStatus(serverHost)) await new Promise((r) => setTimeout(r, 100));
      expect(status.body).toMatchObject({ runtimeStatus: 'Completed', output: { backups: [expect.anything()], vaultCopies: [expect.anything()], failures: [] } });
      const made = (await readdir(path.join(data, 'repository/snapshots'))).filter((id) => !pointsBefore.includes(id));
      expect(made).toHaveLength(1);
      expect((await server.vaultPoints()).map((p) => p.snapshotId)).toEqual([...pointsBefore, ...made]); // today's earlier copy, then the run's

      // A restart at the same due time, with the group due again (its new point gone, as after a crash): the run's
      // instance id exists, so the timer starts nothing — no second run, no new point.
      await serverHost.kill('SIGKILL');
      await rm(path.join(data, 'repository/snapshots', made[0]));
      serverHost = await startServerHost(new Date(dueAt.getTime() + 30_000));
      await advanceTo(serverHost, new Date(dueAt.getTime() + 61_000));
      for (let tries = 0; tries < 100; tries++) {
        const { body } = await http<{ timers: Array<{ functionName: string; next: string; running: boolean }> }>(`${serverHost.origin}/admin/clock?code=${serverHost.secrets.masterKey}`);
        const timer = body.timers.find((t) => t.functionName === 'backupServerScheduler');
        if (timer !== undefined && !timer.running && Date.parse(timer.next) > dueAt.getTime() + 61_000) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await groupRuns(serverHost)).toHaveLength(1);
      expect(await readdir(path.join(data, 'repository/snapshots'))).toEqual(pointsBefore);
    } finally {
      await serverHost?.stop();
      await rm(work, { recursive: true, force: true });
    }
  }, 120_000);

  it('kluis-server in direct mode (MARS agent): registers as a MAB container, backs a folder up straight to the vault, lists the points there and restores one file', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'kluis-direct-cli-'));
    try {
      const data = path.join(work, 'data');
      const credentialsFile = path.join(work, 'vault-a.VaultCredentials');
      await writeFile(credentialsFile, await credentialsFor('vault-a'));
      const passphraseFile = path.join(work, 'passphrase');
      await writeFile(passphraseFile, 'a direct mode passphrase of some length\n');
      const registered = await kluisServer(['register', '--mode', 'direct', '--data', data, '--vault-credentials', credentialsFile, '--server-name', 'ws01.contoso.local', '--passphrase-file', passphraseFile]);
      expect(registered).toMatchObject({ code: 0, stdout: expect.stringContaining('Registered ws01.contoso.local in direct mode') });

      // The vault shows a MARS agent's container (checked against the SDK's MabContainer by armHttp), and no backup engine.
      const filter = encodeURIComponent("backupManagementType eq 'MAB' and status eq 'Registered'");
      const containers = await armHttp<{ value: Array<{ name: string; properties: { containerType: string; backupManagementType: string; friendlyName: string } }> }>(
        `${vaultUrl('vault-a')}/backupProtectionContainers?api-version=2023-06-01&$filter=${filter}`,
      );
      expect(containers.body.value.map((c) => [c.name, c.properties.containerType, c.properties.backupManagementType, c.properties.friendlyName]))
        .toEqual([['ws01.contoso.local', 'Windows', 'MAB', 'ws01.contoso.local']]);
      const engines = await armHttp<{ value: Array<{ name: string }> }>(`${vaultUrl('vault-a')}/backupEngines?api-version=2023-06-01`);
      expect(engines.body.value.map((e) => e.name)).not.toContain('ws01.contoso.local');

      const folder = path.join(work, 'protected');
      await mkdir(path.join(folder, 'docs'), { recursive: true });
      await writeFile(path.join(folder, 'docs/report.txt'), 'direct numbers\n'.repeat(500));
      await writeFile(path.join(folder, 'notes.md'), '# notes\n');
      expect(await kluisServer(['protect', '--data', data, '--folder', folder, '--at', '09:00', '--at', '21:00', '--online-retention-days', '30']))
        .toMatchObject({ code: 0, stdout: expect.stringContaining('Schedule: daily at 09:00, 21:00 UTC; daily points kept 30 days.') });
      // Direct mode on the host (session 9): the server role finds the agent's folder; its timer runs the pass, unlocked
      // with the key register remembered.
      const start = new Date();
      const agentHost = await startHostProcess({
        app: REPO_ROOT, storage: azurite().connectionString, hubName: 'DirectRole', signIn: false,
        env: { KLUIS_ROLE: 'server', KLUIS_SERVER_DATA: data, KLUIS_SERVER_PASSPHRASE: '' },
        extraArgs: ['--fake-clock', start.toISOString(), '--no-identity', '--no-keyvault', '--no-fabric'],
      });
      let snapshot: string;
      try {
        expect(await http(`${agentHost.origin}/health`)).toMatchObject({ status: 200, body: { role: 'server', mode: 'direct', registered: true, machineName: 'ws01.contoso.local', connectivity: 'Connected' } });
        const nextMinute = new Date(Math.ceil((start.getTime() + 1) / 60_000) * 60_000 + 1_000);
        await http(`${agentHost.origin}/admin/clock/advance`, { method: 'POST', body: { to: nextMinute.toISOString() }, headers: { 'x-functions-key': agentHost.secrets.masterKey } });
        const ran = await agentHost.waitForLog((r) => r.message.startsWith('Direct mode: backup'), 30_000);
        expect(ran.message).toMatch(/Direct mode: backup [0-9a-f]{32} of .*protected: 2 files read, 0 unchanged/);
        snapshot = /backup ([0-9a-f]{32})/.exec(ran.message)![1];
      } finally {
        await agentHost.stop();
      }
      // register remembered the key (session 8): points and verify unlock without the passphrase.
      expect(registered.stdout).toContain('This machine unlocks the repository after a restart');
      expect(await kluisServer(['points', '--data', data], { KLUIS_SERVER_PASSPHRASE: '' })).toMatchObject({ code: 0, stdout: expect.stringContaining(snapshot) });
      expect(await kluisServer(['verify', '--data', data], { KLUIS_SERVER_PASSPHRASE: '' })).toMatchObject({ code: 0, stdout: expect.stringContaining('1 points in the vault') });

      // The run reported to the vault (session 8): the folder is a MabFileFolderProtectedItem under the MAB container,
      // its backup a MabJob, its point a GenericRecoveryPoint (every answer spec-checked by armHttp); no backup engine.
      const mabFilter = encodeURIComponent("backupManagementType eq 'MAB'");
      const items = await armHttp<{ value: Array<{ id: string; name: string; properties: Record<string, unknown> }> }>(`${vaultUrl('vault-a')}/backupProtectedItems?api-version=2023-06-01&$filter=${mabFilter}`);
      expect(items.body.value.map((i) => [i.properties.protectedItemType, i.properties.computerName, i.properties.protectionState])).toEqual([['MabFileFolderProtectedItem', 'ws01.contoso.local', 'Protected']]);
      const itemUrl = `${vaultUrl('vault-a')}/backupFabrics/Azure/protectionContainers/ws01.contoso.local/protectedItems/${encodeURIComponent(items.body.value[0].name)}`;
      expect((await armHttp<{ properties: { friendlyName: string } }>(`${itemUrl}?api-version=2023-06-01`)).body.properties.friendlyName).toBe(folder);
      const points = await armHttp<{ value: Array<{ name: string; properties: { recoveryPointType: string } }> }>(`${itemUrl}/recoveryPoints?api-version=2023-06-01`);
      expect(points.body.value.map((p) => [p.name, p.properties.recoveryPointType])).toEqual([[snapshot, 'Online']]);
      const mabJobs = await armHttp<{ value: Array<{ properties: { jobType: string; operation: string; status: string } }> }>(`${vaultUrl('vault-a')}/backupJobs?api-version=2023-06-01&$filter=${mabFilter}`);
      expect(mabJobs.body.value.map((j) => [j.properties.jobType, j.properties.operation, j.properties.status])).toEqual([['MabJob', 'Backup', 'Completed']]);
      const engine = await armHttp<ErrorEnvelope>(`${vaultUrl('vault-a')}/backupEngines/ws01.contoso.local?api-version=2023-06-01`);
      expect({ status: engine.status, code: engine.body.error.code }).toEqual({ status: 404, code: 'KluisBackupEngineNotFound' });
      const restored = await kluisServer(['restore', '--data', data, '--snapshot', snapshot, '--target', path.join(work, 'restored'), '--path', 'docs/report.txt', '--passphrase-file', passphraseFile]);
      expect(restored).toMatchObject({ code: 0, stdout: expect.stringContaining('Restored 1 files') });
      expect(await readFile(path.join(work, 'restored/docs/report.txt'), 'utf8')).toBe('direct numbers\n'.repeat(500));

      const unregistered = await kluisServer(['unregister', '--data', data, '--delete-vault-data'], { KLUIS_ACCESS_TOKEN: await host.accessToken() });
      expect(unregistered).toMatchObject({ code: 0, stdout: expect.stringContaining('Unregistered ws01.contoso.local from vault vault-a') });
      expect((await armHttp<{ value: unknown[] }>(`${vaultUrl('vault-a')}/backupProtectionContainers?api-version=2023-06-01&$filter=${filter}`)).body.value).toEqual([]);
      expect((await armHttp<{ value: unknown[] }>(`${vaultUrl('vault-a')}/backupProtectedItems?api-version=2023-06-01&$filter=${mabFilter}`)).body.value).toEqual([]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }, 240_000);
});
