/**
 * Encrypted VMs over HTTP, through the embedded host (a separate process) on Azurite, with the Key Vault
 * emulator reached by the app's own Key Vault settings (local credential, the emulator's CA file, its
 * admin API for vault ids): the fabric encrypts VMs (`POST …/encrypt`); enabling protection refuses a
 * BEK-only VM and a VM whose Key Vault the backup identity cannot read; a VM encrypted after it was
 * protected fails its backup jobs with UserErrorKeyvaultPermissionsNotConfigured; once the access policy
 * is granted, protection and backups succeed and the recovery points show isSourceVMEncrypted and
 * keyAndSecret; an encrypted point restores as disks only, and not while its secret is deleted and purged.
 * No secret value or backup blob appears in a response or in the host's output.
 *
 * Runs the app built into dist/ (KLUIS_E2E_APP names another built copy of the app).
 */
import { randomUUID } from 'node:crypto';
import { ADE_OPERATOR_OBJECT_ID, ADE_OPERATOR_PERMISSIONS } from '../../emulator/fabric/ade-keys';
import { main as fabricCli } from '../../emulator/fabric/cli';
import type { VaultDescription } from '../../emulator/keyvault';
import { parseKeyVaultObjectUrl } from '../../lib/domain/disk-encryption';
import { useAzurite } from '../support/azurite';
import { http, REPO_ROOT, sleep, startHostProcess, type HostProcess, type HttpResult } from '../support/host-process';
import { ALL_PERMISSIONS, newObjectId, secretClient, uniqueVaultName, useKeyVaultEmulator } from '../support/keyvault';

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
  errorDetails?: Array<{ errorCode: string; errorString: string; recommendations: string[] }>;
}

interface PointProperties {
  isSourceVMEncrypted: boolean;
  keyAndSecret?: { encryptionMechanism: string; bekDetails: { secretUrl: string; secretVaultId: string }; kekDetails?: { keyUrl: string; keyVaultId: string } };
}

const azurite = useAzurite();
const kv = useKeyVaultEmulator();

describe('encrypted VMs over the ARM API (embedded host, fabric, Key Vault emulator)', () => {
  let host: HostProcess;
  const backupPrincipal = newObjectId();
  const inspector = newObjectId();
  const sensitive: string[] = [];
  let keyVault: VaultDescription;

  const vaultPath = `subscriptions/${SUB}/resourceGroups/rg-backup/providers/Microsoft.RecoveryServices/vaults/vault1`;
  const vaultUrl = () => `${host.origin}/api/${vaultPath}`;
  const itemUrl = (vm: string) =>
    `${vaultUrl()}/backupFabrics/Azure/protectionContainers/${encodeURIComponent(`IaasVMContainer;iaasvmcontainerv2;rg-vms;${vm}`)}/protectedItems/${encodeURIComponent(`VM;iaasvmcontainerv2;rg-vms;${vm}`)}`;
  const vmUrl = (vm: string) => `${host.origin}/fabric/subscriptions/${SUB}/resourceGroups/rg-vms/virtualMachines/${vm}`;
  const vmId = (vm: string) => `/subscriptions/${SUB}/resourceGroups/rg-vms/providers/Microsoft.Compute/virtualMachines/${vm}`;

  async function createVm(name: string): Promise<void> {
    const created = await http(vmUrl(name), { method: 'PUT', body: { osType: 'Linux', osDisk: { sizeBytes: 2 * MIB }, initialData: { percent: 5, seed: name } } });
    expect(created.status).toBe(201);
  }

  async function encrypt(name: string, body: Record<string, unknown> = {}): Promise<VmView> {
    const encrypted = await http<VmView>(`${vmUrl(name)}/encrypt`, { method: 'POST', body: { keyVaultId: keyVault.id, ...body } });
    expect({ status: encrypted.status, error: encrypted.status === 200 ? undefined : encrypted.text }).toEqual({ status: 200, error: undefined });
    // The BEK secret's value (the wrapped key) must never show anywhere else.
    const { name: secretName, version } = parseKeyVaultObjectUrl(encrypted.body.encryption!.bek!.secretUrl)!;
    sensitive.push((await secretClient(kv(), keyVault, inspector).getSecret(secretName, { version })).value!);
    return encrypted.body;
  }

  function enable(vm: string): Promise<HttpResult<ErrorEnvelope>> {
    return http<ErrorEnvelope>(`${itemUrl(vm)}${v}`, {
      method: 'PUT',
      body: { properties: { protectedItemType: 'Microsoft.Compute/virtualMachines', sourceResourceId: vmId(vm), policyId: `/${vaultPath}/backupPolicies/DefaultPolicy` } },
    });
  }

  async function settle(response: HttpResult<unknown>): Promise<{ status: string; properties?: { jobId: string } }> {
    expect(response.status).toBe(202);
    for (const deadline = Date.now() + 30_000; ; ) {
      const status = await http<{ status: string; properties?: { jobId: string } }>(response.headers.get('azure-asyncoperation')!);
      if (status.body.status !== 'InProgress') return status.body;
      if (Date.now() > deadline) throw new Error(`operation still running: ${status.text}`);
      await sleep(100);
    }
  }

  async function backupNow(vm: string): Promise<Resource<JobProperties>> {
    const accepted = await settle(await http(`${itemUrl(vm)}/backup${v}`, { method: 'POST', body: { properties: { objectType: 'IaasVMBackupRequest' } } }));
    expect(accepted.status).toBe('Succeeded');
    for (const deadline = Date.now() + 90_000; ; ) {
      const job = await http<Resource<JobProperties>>(`${vaultUrl()}/backupJobs/${accepted.properties!.jobId}${v}`);
      if (!['InProgress', 'Cancelling'].includes(job.body.properties.status)) return job.body;
      if (Date.now() > deadline) throw new Error(`job still running: ${job.text}\n${host.outputTail()}`);
      await sleep(200);
    }
  }

  beforeAll(async () => {
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
      },
    });
    expect((await http(`${vaultUrl()}${v}`, { method: 'PUT', body: { location: 'westeurope' } })).status).toBe(201);
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
    const missing = await http<ErrorEnvelope>(`${vmUrl('enc1')}/encrypt`, { method: 'POST', body: { keyVaultId: `/subscriptions/${SUB}/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kv-gone-${randomUUID().slice(0, 6)}` } });
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
    expect((await http(`${itemUrl('enc1')}${v}`)).status).toBe(404);
  });

  it('fails the backups of a VM encrypted after protection until the permissions are granted; then protects, backs up and shows the key and secret', async () => {
    expect((await settle(await enable('later1'))).status).toBe('Succeeded');
    // This one with the command line: kluis-fabric vm encrypt.
    const lines: string[] = [];
    await fabricCli(['node', 'kluis-fabric', 'vm', 'encrypt', '--name', 'later1', '--key-vault', keyVault.id, '--kek-name', 'kek-later1', '--host', host.origin, '--subscription', SUB, '-g', 'rg-vms'], {
      out: (line) => lines.push(line),
      fetch,
    });
    const later = JSON.parse(lines.join('\n')) as VmView;
    expect(later.encryption?.kek?.keyUrl).toContain(`${keyVault.url}/keys/kek-later1/`);
    const bek = parseKeyVaultObjectUrl(later.encryption!.bek!.secretUrl)!;
    sensitive.push((await secretClient(kv(), keyVault, inspector).getSecret(bek.name, { version: bek.version })).value!);
    const refused = await backupNow('later1');
    expect(refused.properties.status).toBe('Failed');
    expect(refused.properties.errorDetails?.[0]).toMatchObject({ errorCode: 'UserErrorKeyvaultPermissionsNotConfigured', errorString: expect.stringContaining(keyVault.name) });

    kv().setAccessPolicy(keyVault.name, { objectId: backupPrincipal, permissions: { keys: ['get', 'list', 'backup'], secrets: ['get', 'list', 'backup'] } });
    expect((await settle(await enable('enc1'))).status).toBe('Succeeded');
    for (const vm of ['later1', 'enc1']) {
      const done = await backupNow(vm);
      expect({ vm, status: done.properties.status, errors: done.properties.errorDetails }).toEqual({ vm, status: 'Completed', errors: undefined });
    }

    const vm = (await http<VmView>(vmUrl('enc1'))).body;
    const list = await http<{ value: Array<Resource<PointProperties>> }>(`${itemUrl('enc1')}/recoveryPoints${v}`);
    expect(list.body.value).toHaveLength(1);
    expect(list.body.value[0].properties.isSourceVMEncrypted).toBe(true);
    const point = await http<Resource<PointProperties>>(`${itemUrl('enc1')}/recoveryPoints/${list.body.value[0].name}${v}`);
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
    const list = await http<{ value: Array<Resource<PointProperties>> }>(`${itemUrl('enc1')}/recoveryPoints${v}`);
    const pointName = list.body.value[0].name;
    const restore = (properties: Record<string, unknown> = {}) =>
      http<ErrorEnvelope>(`${itemUrl('enc1')}/recoveryPoints/${pointName}/restore${v}`, {
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

    const secretUrl = (await http<Resource<PointProperties>>(`${itemUrl('enc1')}/recoveryPoints/${pointName}${v}`)).body.properties.keyAndSecret!.bekDetails.secretUrl;
    const secrets = secretClient(kv(), keyVault, inspector);
    const secretName = parseKeyVaultObjectUrl(secretUrl)!.name;
    await (await secrets.beginDeleteSecret(secretName, { intervalInMs: 10 })).pollUntilDone();
    await secrets.purgeDeletedSecret(secretName);
    const refused = await restore();
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'UserErrorKeyAndSecretNotFound', message: expect.stringContaining(secretUrl) });
    expect(refused.body.error.recommendation).toMatch(/Restore the key and secret from a recovery point/);
  });

  it('never wrote a secret value into the host output (this runs last)', () => {
    expect(sensitive).toHaveLength(3);
    const output = [...host.stdoutLines(), ...host.stderrLines()].join('\n');
    expect(output).toContain('backupKeyAndSecret');
    for (const value of sensitive) expect(output).not.toContain(value);
  });
});
