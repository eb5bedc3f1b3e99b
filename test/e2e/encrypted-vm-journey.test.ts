/**
 * Encrypted VMs over HTTP, through the embedded host (a separate process) on Azurite, with the Key Vault
 * emulator reached by the app's own Key Vault settings (local credential, the emulator's CA file, its
 * admin API for vault ids): the fabric encrypts VMs (`POST …/encrypt`); enabling protection refuses a
 * BEK-only VM and a VM whose Key Vault the backup identity cannot read; a VM encrypted after it was
 * protected fails its backup jobs with UserErrorKeyvaultPermissionsNotConfigured; once the access policy
 * is granted, protection and backups succeed and the recovery points show isSourceVMEncrypted and
 * keyAndSecret; an encrypted point restores as disks only, and not while its secret is deleted and purged.
 * With the key deleted and purged too, restoreKeyAndSecret brings both back from the point (after the
 * backup identity is granted keys/secrets restore); the restore then succeeds, the disks are as they were,
 * the encryption-info blob sits next to them and is named in the job, and the restored KEK unwraps the
 * restored BEK secret to the original BEK. No secret value or backup data appears in a response or in the
 * host's output.
 *
 * Runs the app built into dist/ (KLUIS_E2E_APP names another built copy of the app).
 */
import type { TokenTrust } from '../../emulator/keyvault';
import { DEFAULT_MANAGED_IDENTITY } from '../../emulator/identity';
import { createManagedIdentity, identityTrust } from '../support/sign-in';
import { testTokenIssuer, type TestTokenIssuer } from '../support/token-issuer';
import { createHash, randomUUID } from 'node:crypto';
import { ADE_OPERATOR_OBJECT_ID, ADE_OPERATOR_PERMISSIONS } from '../../emulator/fabric/ade-keys';
import { main as fabricCli } from '../../emulator/fabric/cli';
import type { VaultDescription } from '../../emulator/keyvault';
import { parseKeyVaultObjectUrl } from '../../lib/domain/disk-encryption';
import { createResourceGroups, subscriptionEnv } from '../support/arm-tenancy';
import { blobService, useAzurite } from '../support/azurite';
import { REPO_ROOT, sleep, startHostProcess, type HostProcess, type HttpResult } from '../support/host-process';
import { armHttp } from '../support/vault-api';
import { ALL_PERMISSIONS, cryptographyClient, keyClient, newObjectId, secretClient, uniqueVaultName, useKeyVaultEmulator } from '../support/keyvault';
import { hostComputeClient } from '../support/host-compute';

const APP = process.env.KLUIS_E2E_APP ?? REPO_ROOT;
const SUB = '5b2e7c1d-3f4a-4b5c-9d6e-7f8a9b0c1d2e';
const MIB = 1024 * 1024;
const v = '?api-version=2023-06-01';

interface ErrorEnvelope {
  error: { code: string; message: string; target?: string; recommendation?: string };
}

interface Resource<P> {
  id: string;
  name: string;
  properties: P;
}

interface VmView {
  encryption?: { enabled: boolean; bek?: { secretUrl: string; vaultId: string }; kek?: { keyUrl: string; vaultId: string } };
}

interface JobProperties {
  status: string;
  extendedInfo?: { propertyBag?: Record<string, string> };
  errorDetails?: Array<{ errorCode: number; errorTitle: string; errorString: string; recommendations: string[] }>;
}

interface PointProperties {
  isSourceVMEncrypted: boolean;
  keyAndSecret?: { encryptionMechanism: string; bekDetails: { secretUrl: string; secretVaultId: string }; kekDetails?: { keyUrl: string; keyVaultId: string } };
}

const azurite = useAzurite();
// The suite's own emulator trusts the test issuer and, once the host runs, its identity endpoint (whose tokens the app presents).
let hostTrust: TokenTrust | undefined;
const kv = useKeyVaultEmulator({
  tokenTrust: () => {
    const own = testIssuer?.trust();
    const trusts = [own, hostTrust].filter((trust): trust is TokenTrust => trust !== undefined);
    return trusts.length === 0 ? undefined : { issuers: trusts.flatMap((trust) => trust.issuers), keys: { keys: trusts.flatMap((trust) => trust.keys.keys) } };
  },
});
let testIssuer: TestTokenIssuer | undefined;

describe('encrypted VMs over the ARM API (embedded host, fabric, Key Vault emulator)', () => {
  let host: HostProcess;
  const backupPrincipal = newObjectId();
  const inspector = newObjectId();
  const sensitive: string[] = [];
  /** The key and secret backups (base64) the encryption-info blob holds. */
  const backupData: string[] = [];
  let keyVault: VaultDescription;

  const vaultPath = `subscriptions/${SUB}/resourceGroups/rg-backup/providers/Microsoft.RecoveryServices/vaults/vault1`;
  const vaultUrl = () => `${host.origin}/api/${vaultPath}`;
  const itemUrl = (vm: string) =>
    `${vaultUrl()}/backupFabrics/Azure/protectionContainers/${encodeURIComponent(`IaasVMContainer;iaasvmcontainerv2;rg-vms;${vm}`)}/protectedItems/${encodeURIComponent(`VM;iaasvmcontainerv2;rg-vms;${vm}`)}`;
  const vmUrl = (vm: string) => `${host.origin}/fabric/subscriptions/${SUB}/resourceGroups/rg-vms/virtualMachines/${vm}`;
  const vmId = (vm: string) => `/subscriptions/${SUB}/resourceGroups/rg-vms/providers/Microsoft.Compute/virtualMachines/${vm}`;

  async function createVm(name: string): Promise<void> {
    const created = await armHttp(vmUrl(name), { method: 'PUT', body: { osType: 'Linux', osDisk: { sizeBytes: 2 * MIB }, initialData: { percent: 5, seed: name } } });
    expect(created.status).toBe(201);
  }

  async function encrypt(name: string, body: Record<string, unknown> = {}): Promise<VmView> {
    const encrypted = await armHttp<VmView>(`${vmUrl(name)}/encrypt`, { method: 'POST', body: { keyVaultId: keyVault.id, ...body } });
    expect({ status: encrypted.status, error: encrypted.status === 200 ? undefined : encrypted.text }).toEqual({ status: 200, error: undefined });
    // The BEK secret's value (the wrapped key) must never show anywhere else.
    const { name: secretName, version } = parseKeyVaultObjectUrl(encrypted.body.encryption!.bek!.secretUrl)!;
    sensitive.push((await secretClient(kv(), keyVault, inspector).getSecret(secretName, { version })).value!);
    return encrypted.body;
  }

  function enable(vm: string): Promise<HttpResult<ErrorEnvelope>> {
    return armHttp<ErrorEnvelope>(`${itemUrl(vm)}${v}`, {
      method: 'PUT',
      body: { properties: { protectedItemType: 'Microsoft.Compute/virtualMachines', sourceResourceId: vmId(vm), policyId: `/${vaultPath}/backupPolicies/DefaultPolicy` } },
    });
  }

  async function settle(response: HttpResult<unknown>): Promise<{ status: string; properties?: { jobId: string } }> {
    expect(response.status).toBe(202);
    for (const deadline = Date.now() + 30_000; ; ) {
      const status = await armHttp<{ status: string; properties?: { jobId: string } }>(response.headers.get('azure-asyncoperation')!);
      if (status.body.status !== 'InProgress') return status.body;
      if (Date.now() > deadline) throw new Error(`operation still running: ${status.text}`);
      await sleep(100);
    }
  }

  async function backupNow(vm: string): Promise<Resource<JobProperties>> {
    const accepted = await settle(await armHttp(`${itemUrl(vm)}/backup${v}`, { method: 'POST', body: { properties: { objectType: 'IaasVMBackupRequest' } } }));
    expect(accepted.status).toBe('Succeeded');
    for (const deadline = Date.now() + 90_000; ; ) {
      const job = await armHttp<Resource<JobProperties>>(`${vaultUrl()}/backupJobs/${accepted.properties!.jobId}${v}`);
      if (!['InProgress', 'Cancelling'].includes(job.body.properties.status)) return job.body;
      if (Date.now() > deadline) throw new Error(`job still running: ${job.text}\n${host.outputTail()}`);
      await sleep(200);
    }
  }

  beforeAll(async () => {
    testIssuer = await testTokenIssuer();
    keyVault = await kv().createVault({
      name: uniqueVaultName('kv-e2e'),
      subscriptionId: SUB,
      resourceGroup: 'rg-keys',
      accessPolicies: [
        { objectId: ADE_OPERATOR_OBJECT_ID, permissions: { keys: [...ADE_OPERATOR_PERMISSIONS.keys], secrets: [...ADE_OPERATOR_PERMISSIONS.secrets] } },
        { objectId: inspector, permissions: ALL_PERMISSIONS },
      ],
    });
    const stamp = Date.now().toString(36);
    host = await startHostProcess({
      app: APP,
      storage: azurite().connectionString,
      hubName: `Ade${stamp}`,
      // This suite's own emulator (the test needs its admin side); the settings below point the app at it.
      extraArgs: ['--no-keyvault'],
      env: {
        KLUIS_SOURCE_STORAGE: '',
        KLUIS_VAULT_STORAGE: '',
        KLUIS_VAULT_CONTAINER: `vault-${stamp}`,
        KLUIS_CATALOG_TABLE: `Points${stamp}`,
        KLUIS_CATALOG_TABLE_PREFIX: `K${stamp}`,
        KLUIS_INVENTORY_TABLE: `Vms${stamp}`,
        KLUIS_KEYVAULT_CREDENTIAL: 'local',
        KLUIS_KEYVAULT_PRINCIPAL_ID: backupPrincipal,
        KLUIS_KEYVAULT_CA_FILE: kv().caCertPath,
        KLUIS_KEYVAULT_EMULATOR_URL: kv().adminUrl,
        ...subscriptionEnv(SUB),
      },
    });
    // The app's backup identity is a managed identity of the local directory, with the id KLUIS_KEYVAULT_PRINCIPAL_ID names.
    await createManagedIdentity(host.identity!, 'kluis-backup-e2e', backupPrincipal, await host.accessToken());
    hostTrust = await identityTrust(host.identity!);
    await createResourceGroups(host, SUB, ['rg-backup']);
    expect((await armHttp(`${vaultUrl()}${v}`, { method: 'PUT', body: { location: 'westeurope' } })).status).toBe(201);
    for (const vm of ['bek1', 'enc1', 'later1']) await createVm(vm);
  }, 120_000);

  afterAll(async () => {
    await host?.stop();
  });

  it('encrypts fabric VMs with the Key Vault named by id or name, and refuses a vault that does not exist', async () => {
    const enc1 = await encrypt('enc1');
    expect(enc1.encryption).toEqual({
      enabled: true,
      bek: { secretUrl: expect.stringContaining(`${keyVault.url}/secrets/`), vaultId: keyVault.id },
      kek: { keyUrl: expect.stringContaining(`${keyVault.url}/keys/kluis-ade-kek/`), vaultId: keyVault.id },
    });
    const bek1 = await encrypt('bek1', { keyVaultId: keyVault.name, bekOnly: true });
    expect(bek1.encryption?.kek).toBeUndefined();
    const missing = await armHttp<ErrorEnvelope>(`${vmUrl('enc1')}/encrypt`, { method: 'POST', body: { keyVaultId: `/subscriptions/${SUB}/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kv-gone-${randomUUID().slice(0, 6)}` } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.target).toBe('keyVaultId');
  });

  it('refuses to protect a BEK-only VM, and an encrypted VM whose Key Vault the backup identity cannot read', async () => {
    const bekOnly = await enable('bek1');
    expect(bekOnly.status).toBe(400);
    expect(bekOnly.body.error.code).toBe('UserErrorEncryptedVmBekOnlyNotSupported');
    const noAccess = await enable('enc1');
    expect(noAccess.status).toBe(400);
    expect(noAccess.body.error).toMatchObject({ code: 'UserErrorKeyvaultPermissionsNotConfigured', target: 'properties.sourceResourceId' });
    expect(noAccess.body.error.message).toContain(backupPrincipal);
    expect(noAccess.body.error.message).toContain(`on Key Vault '${keyVault.name}'`);
    expect(noAccess.body.error.recommendation).toMatch(/Get, List and Backup/);
    expect((await armHttp(`${itemUrl('enc1')}${v}`)).status).toBe(404);
  });

  it('fails the backups of a VM encrypted after protection until the permissions are granted; then protects, backs up and shows the key and secret', async () => {
    expect((await settle(await enable('later1'))).status).toBe('Succeeded');
    // This one with the command line: kluis-fabric vm encrypt, signed in as an Owner (KLUIS_ACCESS_TOKEN: never on its command line).
    const lines: string[] = [];
    process.env.KLUIS_ACCESS_TOKEN = await host.accessToken();
    try {
      await fabricCli(['node', 'kluis-fabric', 'vm', 'encrypt', '--name', 'later1', '--key-vault', keyVault.id, '--kek-name', 'kek-later1', '--host', host.origin, '--subscription', SUB, '-g', 'rg-vms'], {
        out: (line) => lines.push(line),
        fetch,
      });
    } finally {
      delete process.env.KLUIS_ACCESS_TOKEN;
    }
    const later = JSON.parse(lines.join('\n')) as VmView;
    expect(later.encryption?.kek?.keyUrl).toContain(`${keyVault.url}/keys/kek-later1/`);
    const bek = parseKeyVaultObjectUrl(later.encryption!.bek!.secretUrl)!;
    sensitive.push((await secretClient(kv(), keyVault, inspector).getSecret(bek.name, { version: bek.version })).value!);
    const refused = await backupNow('later1');
    expect(refused.properties.status).toBe('Failed');
    expect(refused.properties.errorDetails?.[0]).toMatchObject({ errorTitle: 'UserErrorKeyvaultPermissionsNotConfigured', errorCode: expect.any(Number), errorString: expect.stringContaining(keyVault.name) });

    kv().setAccessPolicy(keyVault.name, { objectId: backupPrincipal, permissions: { keys: ['get', 'list', 'backup'], secrets: ['get', 'list', 'backup'] } });
    expect((await settle(await enable('enc1'))).status).toBe('Succeeded');
    for (const vm of ['later1', 'enc1']) {
      const done = await backupNow(vm);
      expect({ vm, status: done.properties.status, errors: done.properties.errorDetails }).toEqual({ vm, status: 'Completed', errors: undefined });
    }

    const vm = (await armHttp<VmView>(vmUrl('enc1'))).body;
    const list = await armHttp<{ value: Array<Resource<PointProperties>> }>(`${itemUrl('enc1')}/recoveryPoints${v}`);
    expect(list.body.value).toHaveLength(1);
    expect(list.body.value[0].properties.isSourceVMEncrypted).toBe(true);
    const point = await armHttp<Resource<PointProperties>>(`${itemUrl('enc1')}/recoveryPoints/${list.body.value[0].name}${v}`);
    expect(point.body.properties).toMatchObject({
      isSourceVMEncrypted: true,
      keyAndSecret: {
        encryptionMechanism: 'SinglePass',
        bekDetails: { secretUrl: vm.encryption!.bek!.secretUrl, secretVaultId: keyVault.id },
        kekDetails: { keyUrl: vm.encryption!.kek!.keyUrl, keyVaultId: keyVault.id },
      },
    });
    for (const text of [list.text, point.text]) {
      expect(text).not.toMatch(/kvbackup|secretData|keyBackupData/);
      for (const value of sensitive) expect(text).not.toContain(value);
    }
  });

  it('restores an encrypted VM as disks only, and not while its secret is deleted and purged ("restore the key and secret first")', async () => {
    const list = await armHttp<{ value: Array<Resource<PointProperties>> }>(`${itemUrl('enc1')}/recoveryPoints${v}`);
    const pointName = list.body.value[0].name;
    const restore = (properties: Record<string, unknown> = {}) =>
      armHttp<ErrorEnvelope>(`${itemUrl('enc1')}/recoveryPoints/${pointName}/restore${v}`, {
        method: 'POST',
        body: {
          properties: {
            objectType: 'IaasVMRestoreRequest',
            recoveryPointId: pointName,
            recoveryType: 'RestoreDisks',
            sourceResourceId: vmId('enc1'),
            region: 'westeurope',
            storageAccountId: `/subscriptions/${SUB}/resourceGroups/rg-storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`,
            ...properties,
          },
        },
      });
    const asVm = await restore({ recoveryType: 'AlternateLocation', targetVirtualMachineId: vmId('enc1-restored'), targetResourceGroupId: `/subscriptions/${SUB}/resourceGroups/rg-vms` });
    expect({ status: asVm.status, code: asVm.body.error?.code }).toEqual({ status: 400, code: 'KluisEncryptedVmRestoreNotSupported' });

    const secretUrl = (await armHttp<Resource<PointProperties>>(`${itemUrl('enc1')}/recoveryPoints/${pointName}${v}`)).body.properties.keyAndSecret!.bekDetails.secretUrl;
    const secrets = secretClient(kv(), keyVault, inspector);
    const secretName = parseKeyVaultObjectUrl(secretUrl)!.name;
    await (await secrets.beginDeleteSecret(secretName, { intervalInMs: 10 })).pollUntilDone();
    await secrets.purgeDeletedSecret(secretName);
    const refused = await restore();
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'UserErrorKeyAndSecretNotFound', message: expect.stringContaining(secretUrl) });
    expect(refused.body.error.recommendation).toMatch(/Restore the key and secret from a recovery point/);
  });

  it('restores the deleted and purged key and secret from the point (restoreKeyAndSecret); then the restore succeeds and the restored KEK unwraps the original BEK', async () => {
    const points = await armHttp<{ value: Array<Resource<PointProperties>> }>(`${itemUrl('enc1')}/recoveryPoints${v}`);
    const pointName = points.body.value[0].name;
    const pointUrl = `${itemUrl('enc1')}/recoveryPoints/${pointName}`;
    const { bekDetails, kekDetails } = (await armHttp<Resource<PointProperties>>(`${pointUrl}${v}`)).body.properties.keyAndSecret!;
    // The original BEK, unwrapped from the secret's value (captured when enc1 was encrypted) with the original KEK.
    const originalBek = Buffer.from((await cryptographyClient(kv(), kekDetails!.keyUrl, inspector).unwrapKey('RSA-OAEP', Buffer.from(sensitive[0], 'base64'))).result);
    sensitive.push(originalBek.toString('base64'));
    const keyName = parseKeyVaultObjectUrl(kekDetails!.keyUrl)!.name;
    const keys = keyClient(kv(), keyVault, inspector);
    await (await keys.beginDeleteKey(keyName, { intervalInMs: 10 })).pollUntilDone();
    await keys.purgeDeletedKey(keyName);

    const restoreBody = {
      properties: {
        objectType: 'IaasVMRestoreRequest',
        recoveryPointId: pointName,
        recoveryType: 'RestoreDisks',
        sourceResourceId: vmId('enc1'),
        region: 'westeurope',
        storageAccountId: `/subscriptions/${SUB}/resourceGroups/rg-storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`,
      },
    };
    const refused = await armHttp<ErrorEnvelope>(`${pointUrl}/restore${v}`, { method: 'POST', body: restoreBody });
    expect({ status: refused.status, code: refused.body.error?.code }).toEqual({ status: 400, code: 'UserErrorKeyAndSecretNotFound' });
    expect(refused.body.error.message).toContain(kekDetails!.keyUrl);
    expect(refused.body.error.recommendation).toContain('restoreKeyAndSecret');

    const restoreKeys = () => armHttp<{ properties: { keyVaultId: string; keyUrl: string; secretUrl: string } } & Partial<ErrorEnvelope>>(`${pointUrl}/restoreKeyAndSecret${v}`, { method: 'POST', body: { properties: { keyVaultId: keyVault.id } } });
    // The caller's own Key Vault permission comes first: the signed-in administrator has no access policy there yet.
    const callerRefused = await restoreKeys();
    expect({ status: callerRefused.status, code: callerRefused.body.error?.code }).toEqual({ status: 403, code: 'KluisCallerKeyVaultPermissionMissing' });
    expect(callerRefused.body.error?.message).toContain(DEFAULT_MANAGED_IDENTITY.objectId);
    // Never into a Key Vault of another subscription (the attack: the BEK readable elsewhere).
    const elsewhere = await armHttp<ErrorEnvelope>(`${pointUrl}/restoreKeyAndSecret${v}`, { method: 'POST', body: { properties: { keyVaultId: keyVault.id.replace(SUB, '0f0f0f0f-0000-4000-8000-000000000000') } } });
    expect({ status: elsewhere.status, code: elsewhere.body.error.code }).toEqual({ status: 400, code: 'KluisKeyVaultOutsideItemScope' });
    kv().setAccessPolicy(keyVault.name, { objectId: DEFAULT_MANAGED_IDENTITY.objectId, permissions: { keys: ['restore'], secrets: ['restore'] } });
    const noPermission = await restoreKeys();
    expect({ status: noPermission.status, code: noPermission.body.error?.code }).toEqual({ status: 400, code: 'UserErrorKeyvaultPermissionsNotConfigured' });
    expect(noPermission.body.error?.message).toContain('keys restore');
    const badId = await armHttp<ErrorEnvelope>(`${pointUrl}/restoreKeyAndSecret${v}`, { method: 'POST', body: { properties: { keyVaultId: 'not-a-vault-id' } } });
    expect({ status: badId.status, target: badId.body.error.target }).toEqual({ status: 400, target: 'properties.keyVaultId' });

    kv().setAccessPolicy(keyVault.name, { objectId: backupPrincipal, permissions: { keys: ['get', 'list', 'backup', 'restore'], secrets: ['get', 'list', 'backup', 'restore'] } });
    const restoredKeys = await restoreKeys();
    expect({ status: restoredKeys.status, error: restoredKeys.body.error }).toEqual({ status: 200, error: undefined });
    expect(restoredKeys.body.properties).toEqual({ keyVaultId: keyVault.id, keyUrl: kekDetails!.keyUrl, secretUrl: bekDetails.secretUrl });
    const again = await restoreKeys();
    expect({ status: again.status, code: again.body.error?.code }).toEqual({ status: 409, code: 'UserErrorKeyVaultObjectAlreadyExists' });

    // The restored KEK unwraps the restored BEK secret's value to the original BEK.
    const secret = parseKeyVaultObjectUrl(bekDetails.secretUrl)!;
    const restoredValue = (await secretClient(kv(), keyVault, inspector).getSecret(secret.name, { version: secret.version })).value!;
    const unwrapped = await cryptographyClient(kv(), restoredKeys.body.properties.keyUrl, inspector).unwrapKey('RSA-OAEP', Buffer.from(restoredValue, 'base64'));
    expect(Buffer.from(unwrapped.result).equals(originalBek)).toBe(true);

    const accepted = await settle(await armHttp(`${pointUrl}/restore${v}`, { method: 'POST', body: restoreBody }));
    expect(accepted.status).toBe('Succeeded');
    let job: Resource<JobProperties>;
    for (const deadline = Date.now() + 60_000; ; ) {
      job = (await armHttp<Resource<JobProperties>>(`${vaultUrl()}/backupJobs/${accepted.properties!.jobId}${v}`)).body;
      if (job.properties.status !== 'InProgress') break;
      if (Date.now() > deadline) throw new Error(`restore still running\n${host.outputTail()}`);
      await sleep(200);
    }
    expect({ status: job.properties.status, errors: job.properties.errorDetails }).toEqual({ status: 'Completed', errors: undefined });
    const bag = job.properties.extendedInfo!.propertyBag!;
    expect(bag['Encryption Info Blob Name']).toMatch(/\/encryptioninfo\.json$/);
    expect(bag['Encryption Info Blob Uri']).toContain(bag['Encryption Info Blob Name']);
    const container = blobService(azurite().connectionString).getContainerClient(bag['Config Blob Container Name']);
    const info = JSON.parse((await container.getBlobClient(bag['Encryption Info Blob Name']).downloadToBuffer()).toString()) as {
      encryptionSettings: { bek: { secretUrl: string; secretVaultId: string; secretData: string }; kek: { keyUrl: string; keyVaultId: string; keyBackupData: string } };
    };
    expect(info.encryptionSettings).toEqual({
      bek: { secretUrl: bekDetails.secretUrl, secretVaultId: keyVault.id, secretData: expect.stringMatching(/^[A-Za-z0-9+/=]{16,}$/) },
      kek: { keyUrl: kekDetails!.keyUrl, keyVaultId: keyVault.id, keyBackupData: expect.stringMatching(/^[A-Za-z0-9+/=]{16,}$/) },
    });
    backupData.push(info.encryptionSettings.bek.secretData, info.encryptionSettings.kek.keyBackupData);

    // The restored disk holds the bytes of the source disk (unchanged since the backup; the restore also verified every block).
    const config = JSON.parse((await container.getBlobClient(bag['Config Blob Name']).downloadToBuffer()).toString()) as { isSourceVmEncrypted: boolean; disks: Array<{ lun: number; blobName: string }> };
    expect(config.isSourceVmEncrypted).toBe(true);
    const source = (await armHttp<{ disks: Array<{ kind: string; vhdUri: string }> }>(vmUrl('enc1'))).body.disks.find((d) => d.kind === 'os')!;
    const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
    const sourceBytes = await blobService(azurite().connectionString).getContainerClient(new URL(source.vhdUri).pathname.split('/')[2]).getBlobClient(decodeURIComponent(new URL(source.vhdUri).pathname.split('/').slice(3).join('/'))).downloadToBuffer();
    const restoredBytes = await container.getBlobClient(config.disks[0].blobName).downloadToBuffer();
    expect(sha256(restoredBytes)).toBe(sha256(sourceBytes));

    // Neither the point, its list, the job nor the key-and-secret answer carries backup data or secret values.
    const texts = [(await armHttp(`${pointUrl}${v}`)).text, (await armHttp(`${itemUrl('enc1')}/recoveryPoints${v}`)).text, (await armHttp(`${vaultUrl()}/backupJobs${v}`)).text, restoredKeys.text];
    for (const text of texts) {
      expect(text).not.toMatch(/secretData|keyBackupData/);
      for (const value of [...sensitive, ...backupData]) expect(text).not.toContain(value);
    }
  }, 120_000);

  it('backs up an encrypted VM with managed disks and restores it as managed disks and as a new VM that keep its encryption settings', async () => {
    // A VM with managed disks, encrypted by the fabric: ADE's settings sit on each managed disk (encryptionSettingsCollection).
    const created = await armHttp(vmUrl('encmd1'), { method: 'PUT', body: { osType: 'Linux', managedDisks: true, osDisk: { sizeBytes: 2 * MIB }, dataDisks: [{ lun: 0, sizeBytes: 2 * MIB }], initialData: { percent: 5, seed: 'encmd1' } } });
    expect(created.status).toBe(201);
    const { encryption } = await encrypt('encmd1');
    const { client: compute } = await hostComputeClient(host, SUB);
    const expectedSettings = {
      enabled: true,
      encryptionSettings: [
        { diskEncryptionKey: { secretUrl: encryption!.bek!.secretUrl, sourceVault: { id: encryption!.bek!.vaultId } }, keyEncryptionKey: { keyUrl: encryption!.kek!.keyUrl, sourceVault: { id: encryption!.kek!.vaultId } } },
      ],
      encryptionSettingsVersion: '1.1',
    };
    for (const name of ['encmd1-osdisk', 'encmd1-datadisk-0']) expect((await compute.disks.get('rg-vms', name)).encryptionSettingsCollection).toEqual(expectedSettings);

    // Protected and backed up as any encrypted VM (the backup identity's Key Vault access was granted above): the point carries the key and secret.
    expect((await settle(await enable('encmd1'))).status).toBe('Succeeded');
    expect((await backupNow('encmd1')).properties.status).toBe('Completed');
    const points = await armHttp<{ value: Array<Resource<PointProperties>> }>(`${itemUrl('encmd1')}/recoveryPoints${v}`);
    const point = (await armHttp<Resource<PointProperties>>(`${itemUrl('encmd1')}/recoveryPoints/${points.body.value[0].name}${v}`)).body;
    expect(point.properties).toMatchObject({
      isSourceVMEncrypted: true,
      keyAndSecret: { bekDetails: { secretUrl: encryption!.bek!.secretUrl }, kekDetails: { keyUrl: encryption!.kek!.keyUrl } },
    });

    const restore = async (properties: Record<string, unknown>): Promise<Resource<JobProperties>> => {
      const accepted = await settle(
        await armHttp(`${itemUrl('encmd1')}/recoveryPoints/${point.name}/restore${v}`, {
          method: 'POST',
          body: {
            properties: {
              objectType: 'IaasVMRestoreRequest',
              recoveryPointId: point.name,
              sourceResourceId: vmId('encmd1'),
              region: 'westeurope',
              storageAccountId: `/subscriptions/${SUB}/resourceGroups/rg-storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`,
              ...properties,
            },
          },
        }),
      );
      expect(accepted.status).toBe('Succeeded');
      for (const deadline = Date.now() + 90_000; ; ) {
        const job = await armHttp<Resource<JobProperties>>(`${vaultUrl()}/backupJobs/${accepted.properties!.jobId}${v}`);
        if (job.body.properties.status !== 'InProgress') return job.body;
        if (Date.now() > deadline) throw new Error(`job still running: ${job.text}\n${host.outputTail()}`);
        await sleep(200);
      }
    };

    // Restore disks as managed disks: each new disk names the point's BEK and KEK.
    const asDisks = await restore({ recoveryType: 'RestoreDisks', targetResourceGroupId: `/subscriptions/${SUB}/resourceGroups/rg-restored`, restoreWithManagedDisks: true });
    expect({ status: asDisks.properties.status, errors: asDisks.properties.errorDetails }).toEqual({ status: 'Completed', errors: undefined });
    const bag = asDisks.properties.extendedInfo!.propertyBag!;
    for (const key of ['Target OS Disk Id', 'Target Data Disk Id (LUN 0)']) {
      expect((await compute.disks.get('rg-restored', bag[key].split('/').pop()!)).encryptionSettingsCollection).toEqual(expectedSettings);
    }

    // Restore as a new VM: it attaches such disks, so it is encrypted as the source was.
    const asVm = await restore({ recoveryType: 'AlternateLocation', targetVirtualMachineId: `/subscriptions/${SUB}/resourceGroups/rg-restored/providers/Microsoft.Compute/virtualMachines/encmd1-restored`, targetResourceGroupId: `/subscriptions/${SUB}/resourceGroups/rg-restored` });
    expect({ status: asVm.properties.status, errors: asVm.properties.errorDetails }).toEqual({ status: 'Completed', errors: undefined });
    const vm = await compute.virtualMachines.get('rg-restored', 'encmd1-restored');
    expect(vm.storageProfile!.osDisk!.encryptionSettings).toEqual({
      enabled: true,
      diskEncryptionKey: expectedSettings.encryptionSettings[0].diskEncryptionKey,
      keyEncryptionKey: expectedSettings.encryptionSettings[0].keyEncryptionKey,
    });
    const osDiskName = vm.storageProfile!.osDisk!.managedDisk!.id!.split('/').pop()!;
    expect((await compute.disks.get('rg-restored', osDiskName)).encryptionSettingsCollection).toEqual(expectedSettings);
  }, 180_000);

  it('never wrote a secret value or backup data into the host output (this runs last)', () => {
    expect(sensitive).toHaveLength(5);
    expect(backupData).toHaveLength(2);
    const output = [...host.stdoutLines(), ...host.stderrLines()].join('\n');
    expect(output).toContain('backupKeyAndSecret');
    expect(output).toContain('encryption info');
    for (const value of [...sensitive, ...backupData]) expect(output).not.toContain(value);
  });
});
