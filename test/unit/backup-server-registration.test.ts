/**
 * Registering a backup server with vault credentials (issue 16, step 2), on the services with an in-memory
 * catalog and a fake clock: the credentials file round trip, registration, expiry after 48 hours, foreign and
 * tampered credentials, unregister.
 */
import { createCredentialCertificate, credentialCertificateName, signRegistration, vaultCredentialsFrom } from '../../lib/backup-server/registration-client';
import { parseVaultCredentials, serializeVaultCredentials, vaultCredentialsFileName } from '../../lib/domain/backup-server/vault-credentials';
import {
  getBackupEngine,
  getBackupServer,
  listBackupEngines,
  listBackupServerContainers,
  registerBackupServer,
  unregisterBackupServer,
  uploadVaultCertificate,
} from '../../lib/services/backup-server-registration';
import { createOrUpdateVault } from '../../lib/services/vaults';
import { collect, documentKey } from '../../lib/stores/document-store';
import { memoryBackupServerCatalog } from '../../lib/stores/backup-server-catalog';
import { memoryVaultCatalog } from '../../lib/stores/vault-catalog';

const SUB = '00000000-0000-0000-0000-00000000b5e1';
const vaultA = { subscriptionId: SUB, resourceGroup: 'rg-onprem', vaultName: 'vault-a' };
const vaultB = { subscriptionId: SUB, resourceGroup: 'rg-onprem', vaultName: 'vault-b' };

function setup() {
  let now = new Date('2026-12-07T10:00:00Z');
  const deps = {
    catalog: memoryVaultCatalog(),
    backupServers: memoryBackupServerCatalog(),
    clock: () => now,
    identity: { aadAuthority: 'https://127.0.0.1:7071/identity', aadTenantId: '11111111-1111-1111-1111-111111111111', endpoint: 'https://127.0.0.1:7071/' },
  };
  return { deps, advance: (ms: number) => (now = new Date(now.getTime() + ms)), now: () => now };
}

async function downloadCredentials(deps: ReturnType<typeof setup>['deps'], vault: typeof vaultA, now: Date): Promise<string> {
  const certificate = await createCredentialCertificate(now);
  const answer = await uploadVaultCertificate(deps, vault, credentialCertificateName(vault.vaultName, vault.subscriptionId, now), {
    properties: { authType: 'AAD', certificate: certificate.certificateBase64 },
  });
  return serializeVaultCredentials(vaultCredentialsFrom({ ...vault, location: 'westeurope' }, answer, certificate, 'https://127.0.0.1:7071'));
}

describe('backup server registration', () => {
  it('issues a credentials file in Azure’s shape and registers a server as an AzureBackupServer engine and container', async () => {
    const { deps, now } = setup();
    await createOrUpdateVault(deps, vaultA, { location: 'westeurope' });
    const file = await downloadCredentials(deps, vaultA, now());
    expect(file).toMatch(/^<\?xml version="1.0" encoding="utf-8"\?><RSBackupVaultAADCreds /);
    expect(file).toContain('<ResourceName>vault-a</ResourceName>');
    expect(file).toContain('<Version>2.0</Version>');
    expect(vaultCredentialsFileName('vault-a', now())).toBe('vault-a_Mon Dec 07 2026.VaultCredentials');

    const credentials = parseVaultCredentials(file);
    const result = await registerBackupServer(deps, vaultA, signRegistration(credentials, 'mabs01.contoso.local', now()));
    expect(result.created).toBe(true);
    expect(result.engine).toMatchObject({
      name: 'mabs01.contoso.local',
      type: 'Microsoft.RecoveryServices/vaults/backupEngines',
      properties: { backupEngineType: 'AzureBackupServerEngine', backupManagementType: 'AzureBackupServer', registrationStatus: 'Registered' },
    });
    expect(await listBackupServerContainers(deps, vaultA)).toEqual([
      expect.objectContaining({ name: 'mabs01.contoso.local', properties: expect.objectContaining({ containerType: 'AzureBackupServerContainer', backupManagementType: 'AzureBackupServer' }) }),
    ]);
    expect(await listBackupEngines(deps, vaultB).catch((e) => e.code)).toBe('ResourceNotFound');
  });

  it('refuses credentials after 48 hours with Azure’s message, and registers nothing', async () => {
    const { deps, now, advance } = setup();
    await createOrUpdateVault(deps, vaultA, { location: 'westeurope' });
    const credentials = parseVaultCredentials(await downloadCredentials(deps, vaultA, now()));
    advance(48 * 3_600_000);
    await expect(registerBackupServer(deps, vaultA, signRegistration(credentials, 'mabs01', now())))
      .rejects.toMatchObject({ code: 'KluisVaultCredentialsExpired', status: 400, message: expect.stringContaining('Vault credentials file provided has expired') });
    expect(await listBackupEngines(deps, vaultA)).toEqual([]);
  });

  it('refuses a foreign file (another vault’s credentials, or a certificate the vault never issued) and a forged signature', async () => {
    const { deps, now } = setup();
    await createOrUpdateVault(deps, vaultA, { location: 'westeurope' });
    await createOrUpdateVault(deps, vaultB, { location: 'westeurope' });
    const credentialsB = parseVaultCredentials(await downloadCredentials(deps, vaultB, now()));
    await expect(registerBackupServer(deps, vaultA, signRegistration(credentialsB, 'mabs01', now())))
      .rejects.toMatchObject({ code: 'KluisVaultCredentialsInvalid', message: expect.stringContaining('Invalid vault credentials provided') });

    const self = await createCredentialCertificate(now());
    const credentialsA = parseVaultCredentials(await downloadCredentials(deps, vaultA, now()));
    const homemade = { ...credentialsA, certificatePem: self.certificatePem, privateKeyPem: self.privateKeyPem };
    await expect(registerBackupServer(deps, vaultA, signRegistration(homemade, 'mabs01', now()))).rejects.toMatchObject({ code: 'KluisVaultCredentialsInvalid' });

    const forged = signRegistration({ ...credentialsA, privateKeyPem: self.privateKeyPem }, 'mabs01', now());
    await expect(registerBackupServer(deps, vaultA, forged)).rejects.toMatchObject({ code: 'KluisVaultCredentialsInvalid' });
    const replayed = signRegistration(credentialsA, 'mabs01', new Date(now().getTime() - 3_600_000));
    await expect(registerBackupServer(deps, vaultA, replayed)).rejects.toMatchObject({ code: 'KluisVaultCredentialsInvalid' });
    expect(await listBackupEngines(deps, vaultA)).toEqual([]);

    expect(() => parseVaultCredentials('<xml>not a credentials file</xml>')).toThrow(expect.objectContaining({ code: 'KluisVaultCredentialsInvalid' }));
  });

  it('re-registers with new credentials (same engine id), and unregisters', async () => {
    const { deps, now, advance } = setup();
    await createOrUpdateVault(deps, vaultA, { location: 'westeurope' });
    const first = await registerBackupServer(deps, vaultA, signRegistration(parseVaultCredentials(await downloadCredentials(deps, vaultA, now())), 'mabs01', now()));
    advance(72 * 3_600_000);
    const second = await registerBackupServer(deps, vaultA, signRegistration(parseVaultCredentials(await downloadCredentials(deps, vaultA, now())), 'MABS01', now()));
    expect(second.created).toBe(false);
    expect(second.engine.properties.backupEngineId).toBe(first.engine.properties.backupEngineId);
    expect(await listBackupEngines(deps, vaultA)).toHaveLength(1);

    await unregisterBackupServer(deps, vaultA, 'mabs01');
    await expect(getBackupServer(deps, vaultA, 'mabs01')).rejects.toMatchObject({ code: 'KluisBackupServerNotRegistered' });
    await expect(unregisterBackupServer(deps, vaultA, 'mabs01')).rejects.toMatchObject({ code: 'KluisBackupServerNotRegistered' });
  });

  it('BackupEngines_Get finds a backup server, but not a machine in direct mode (MAB: no backup engine) nor an unknown name', async () => {
    const { deps, now } = setup();
    await createOrUpdateVault(deps, vaultA, { location: 'westeurope' });
    const credentials = async () => parseVaultCredentials(await downloadCredentials(deps, vaultA, now()));
    await registerBackupServer(deps, vaultA, signRegistration(await credentials(), 'mabs01', now()));
    await registerBackupServer(deps, vaultA, signRegistration(await credentials(), 'ws01', now(), { backupManagementType: 'MAB' }));
    expect(await getBackupEngine(deps, vaultA, 'MABS01')).toMatchObject({ serverName: 'mabs01' });
    await expect(getBackupEngine(deps, vaultA, 'ws01')).rejects.toMatchObject({ code: 'KluisBackupEngineNotFound', status: 404, message: expect.stringContaining('direct mode') });
    await expect(getBackupEngine(deps, vaultA, 'nobody')).rejects.toMatchObject({ code: 'KluisBackupEngineNotFound', status: 404 });
    await expect(getBackupEngine(deps, vaultB, 'mabs01')).rejects.toMatchObject({ status: 404 }); // no such vault
  });

  it('caps a certificate valid longer than 48 hours at 48 hours after upload, and refuses bad uploads', async () => {
    const { deps, now } = setup();
    await createOrUpdateVault(deps, vaultA, { location: 'westeurope' });
    const { generate } = await import('selfsigned');
    const long = await generate([{ name: 'commonName', value: 'long' }], { keyType: 'ec', notBeforeDate: now(), notAfterDate: new Date(now().getTime() + 30 * 86_400_000) });
    const answer = await uploadVaultCertificate(deps, vaultA, 'long-lived', { properties: { authType: 'AAD', certificate: long.cert } });
    expect(answer.properties.validTo).toBe(new Date(now().getTime() + 48 * 3_600_000).toISOString());
    const stored = await collect(deps.backupServers.certificates.list(documentKey(SUB, 'rg-onprem', 'vault-a')));
    expect(stored).toHaveLength(1);
    await expect(uploadVaultCertificate(deps, vaultA, 'x', { properties: { certificate: 'bm90IGEgY2VydA==' } })).rejects.toMatchObject({ code: 'KluisInvalidRequest', target: 'properties.certificate' });
    await expect(uploadVaultCertificate(deps, vaultA, 'x', { properties: { authType: 'ACS', certificate: long.cert } })).rejects.toMatchObject({ code: 'KluisInvalidRequest' });
  });
});
