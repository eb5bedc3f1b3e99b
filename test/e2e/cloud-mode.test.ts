/**
 * The cloud-mode run (issue 15, Deliver 3): the packaged app (`npm run package`: dist and production
 * dependencies only, no emulator, no Azurite) started by the embedded host with the settings a deployment
 * has — KLUIS_MODE=cloud, identity-based AzureWebJobsStorage__* with the managed identity (the local
 * identity endpoint as App Service's IDENTITY_ENDPOINT), Azurite with `--oauth basic` over HTTPS with the
 * local CA — and no account key anywhere. The backup → restore journey passes in that mode.
 * What it does not prove: README "Deploy to Azure" (Azurite checks no token signatures; no real Entra ID,
 * Azure RBAC on data planes, Functions host, scale controller or network rules).
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startAzurite, type RunningAzurite } from '../../emulator/azurite';
import { azuriteExtensions, tokenIssuersExtension } from '../../emulator/cli';
import { BACKUP_IDENTITY } from '../../emulator/identity';
import { ensureTlsMaterial, type TlsMaterial } from '../../emulator/local-ca';
import { LOCAL_TENANT_ID } from '../../lib/stores/azure/keyvault-credential';
import { createResourceGroups, subscriptionEnv } from '../support/arm-tenancy';
import { uniqueName, uniqueTableName } from '../support/azurite';
import { REPO_ROOT, sleep, startHostProcess, type HostProcess, type HttpResult } from '../support/host-process';
import { armHttp } from '../support/vault-api';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { packageApp } = require(path.join(REPO_ROOT, 'infra/package.js')) as { packageApp(outDir: string): string };

const run = promisify(execFile);
const MIB = 1024 * 1024;
const SUB = '00000000-0000-0000-0000-00000000c10d';
const RG = 'backup-rg';
const VM_RG = 'prod';
const VM = 'web1';
const API = 'api-version=2023-06-01';
const CONTAINER = `IaasVMContainer;iaasvmcontainerv2;${VM_RG};${VM}`;
const ITEM = `VM;iaasvmcontainerv2;${VM_RG};${VM}`;
const VM_ID = `/subscriptions/${SUB}/resourceGroups/${VM_RG}/providers/Microsoft.Compute/virtualMachines/${VM}`;
const SECRET_VALUE = /AccountKey=|SharedAccessSignature=|[?&;]sig=|UseDevelopmentStorage|Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/i;

interface JobResource {
  name: string;
  properties: { operation: string; status: string; errorDetails?: unknown[]; extendedInfo: { propertyBag: Record<string, string> } };
}

interface FabricVm {
  disks: Array<{ kind: string; lun?: number; vhdUri: string }>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('cloud mode: the packaged app on identity-based storage (embedded host, Azurite with OAuth over HTTPS)', () => {
  let dir: string;
  let appDir: string;
  let tls: TlsMaterial;
  let azurite: RunningAzurite;
  let host: HostProcess;
  let hostEnv: Record<string, string>;
  const vaultName = uniqueName('vault').slice(0, 40);
  const vaultPath = `subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.RecoveryServices/vaults/${vaultName}`;
  const itemPath = `${vaultPath}/backupFabrics/Azure/protectionContainers/${encodeURIComponent(CONTAINER)}/protectedItems/${encodeURIComponent(ITEM)}`;

  const withApiVersion = (url: string) => `${url}${url.includes('?') ? '&' : '?'}${API}`;
  const api = <T>(route: string, options: { method?: string; body?: unknown } = {}): Promise<HttpResult<T>> => armHttp<T>(withApiVersion(`${host.origin}/${route}`), options);
  const fabric = <T>(route: string, options: { method?: string; body?: unknown } = {}): Promise<HttpResult<T>> => armHttp<T>(`${host.origin}/fabric/subscriptions/${SUB}/${route}`, options);

  /** SHA-256 of each blob, read in a child process that trusts the local CA (the test's own check; the key stays out of the host). */
  async function sha256Of(urls: string[]): Promise<string[]> {
    const script = `
      const { BlobServiceClient } = require('@azure/storage-blob');
      const { createHash } = require('node:crypto');
      const service = BlobServiceClient.fromConnectionString(process.env.CHECK_CONNECTION);
      (async () => {
        const out = [];
        for (const url of JSON.parse(process.env.CHECK_URLS)) {
          const [container, ...blob] = new URL(url).pathname.split('/').slice(2);
          const data = await service.getContainerClient(container).getPageBlobClient(decodeURIComponent(blob.join('/'))).downloadToBuffer();
          out.push(createHash('sha256').update(data).digest('hex'));
        }
        process.stdout.write(JSON.stringify(out));
      })().catch((err) => { console.error(err); process.exit(1); });`;
    const env = { PATH: process.env.PATH ?? '', NODE_EXTRA_CA_CERTS: tls.caCertPath, CHECK_CONNECTION: azurite.connectionString, CHECK_URLS: JSON.stringify(urls) };
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: REPO_ROOT, env, timeout: 60_000 });
    return JSON.parse(stdout) as string[];
  }

  async function until<T>(what: string, read: () => Promise<HttpResult<T>>, done: (body: T) => boolean, timeoutInMs = 90_000): Promise<T> {
    const deadline = Date.now() + timeoutInMs;
    for (;;) {
      const response = await read();
      if (response.status === 200 && done(response.body)) return response.body;
      if (Date.now() > deadline) throw new Error(`${what}: still ${response.status} ${response.text}\n${host.outputTail()}`);
      await sleep(250);
    }
  }

  async function jobOf(started: HttpResult<unknown>): Promise<JobResource> {
    expect(started.status === 202 ? 202 : `${started.status} ${started.text}\n${host.outputTail()}`).toBe(202);
    const operationUrl = started.headers.get('azure-asyncoperation')!;
    const operation = await until('operation', () => armHttp<{ status: string; properties?: { jobId: string } }>(withApiVersion(operationUrl)), (body) => body.status !== 'InProgress');
    expect(operation.status).toBe('Succeeded');
    const jobId = operation.properties!.jobId;
    return until(`job ${jobId}`, () => api<JobResource>(`${vaultPath}/backupJobs/${jobId}`), (job) => !['InProgress', 'Cancelling'].includes(job.properties.status));
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kluis-cloud-mode-'));
    appDir = packageApp(path.join(dir, 'app'));
    tls = await ensureTlsMaterial(path.join(dir, 'tls'));
    fs.writeFileSync(path.join(dir, 'server.pem'), tls.serverCertPem);
    fs.writeFileSync(path.join(dir, 'server-key.pem'), tls.serverKeyPem, { mode: 0o600 });
    const identityHttpsPort = await freePort();
    azurite = await startAzurite({
      inMemory: true,
      https: { certPath: path.join(dir, 'server.pem'), keyPath: path.join(dir, 'server-key.pem') },
      oauth: 'basic',
      extensions: [...azuriteExtensions, tokenIssuersExtension],
      // The issuer of the host's identity endpoint: https://127.0.0.1:<its https port>/<tenant>/
      env: { KLUIS_AZURITE_TOKEN_ISSUERS: `https://127.0.0.1:${identityHttpsPort}/${LOCAL_TENANT_ID}/` },
    });
    hostEnv = {
      KLUIS_MODE: 'cloud',
      AZURE_CLIENT_ID: BACKUP_IDENTITY.appId as string,
      AzureWebJobsStorage__blobServiceUri: azurite.blobEndpoint,
      AzureWebJobsStorage__queueServiceUri: azurite.queueEndpoint,
      AzureWebJobsStorage__tableServiceUri: azurite.tableEndpoint,
      AzureWebJobsStorage__credential: 'managedidentity',
      KLUIS_AUTH_AUDIENCES: 'api://kluis',
      // Compute as in Azure (the managed identity); kluis-host would otherwise pick the fabric's local credential.
      KLUIS_COMPUTE_CREDENTIAL: 'default',
      // The local CA, trusted as Azure's CAs are by every Node process there.
      NODE_EXTRA_CA_CERTS: tls.caCertPath,
      KLUIS_VAULT_CONTAINER: uniqueName('vault'),
      KLUIS_CATALOG_TABLE: uniqueTableName('points'),
      KLUIS_CATALOG_TABLE_PREFIX: uniqueTableName('K').slice(0, 20),
      KLUIS_INVENTORY_TABLE: uniqueTableName('vms'),
      ...subscriptionEnv(SUB),
    };
    host = await startHostProcess({
      app: appDir,
      hubName: `Cloud${Date.now().toString(36)}`,
      env: hostEnv,
      extraArgs: ['--tls-dir', path.join(dir, 'tls'), '--identity-https-port', String(identityHttpsPort), '--no-keyvault'],
      startupTimeoutInMs: 60_000,
    });
  }, 240_000);

  afterAll(async () => {
    await host?.stop();
    await azurite?.stop();
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the package, not the repository: no emulator, no Azurite, no local settings in the app folder', () => {
    expect(fs.existsSync(path.join(appDir, 'dist', 'emulator'))).toBe(false);
    expect(fs.existsSync(path.join(appDir, 'node_modules', 'azurite'))).toBe(false);
    expect(fs.existsSync(path.join(appDir, 'local.settings.json'))).toBe(false);
  });

  it('has no account key, SAS or development storage in the environment or the settings', () => {
    const effective = { ...process.env, ...hostEnv };
    const withSecrets = Object.entries(effective).filter(([name, value]) => !name.startsWith('CHECK_') && value !== undefined && SECRET_VALUE.test(value)).map(([name]) => name);
    expect(withSecrets).toEqual([]);
    expect(Object.keys(effective).filter((name) => /^AzureWebJobsStorage$/i.test(name))).toEqual([]);
  });

  it('backs up a VM and restores it as a new VM, byte for byte, with the managed identity only', async () => {
    await createResourceGroups(host, SUB, [RG]);
    const vault = await api(vaultPath, { method: 'PUT', body: { location: 'westeurope', properties: {} } });
    expect(vault.status === 201 ? 201 : `${vault.status} ${vault.text}\n${host.outputTail()}`).toBe(201);
    const vm = await fabric<FabricVm>(`resourceGroups/${VM_RG}/virtualMachines/${VM}`, {
      method: 'PUT',
      body: { location: 'westeurope', osType: 'Linux', vmSize: 'Standard_B2s', osDisk: { sizeBytes: 4 * MIB }, dataDisks: [{ lun: 0, sizeBytes: 2 * MIB }], initialData: { percent: 25, seed: 'cloud-mode' } },
    });
    expect(vm.status === 201 ? 201 : `${vm.status} ${vm.text}\n${host.outputTail()}`).toBe(201);
    expect(vm.body.disks.every((disk) => disk.vhdUri.startsWith(azurite.blobEndpoint))).toBe(true);
    const atBackup = await sha256Of(vm.body.disks.map((disk) => disk.vhdUri));

    const refresh = await api(`${vaultPath}/backupFabrics/Azure/refreshContainers`, { method: 'POST' });
    expect([200, 202, 204]).toContain(refresh.status);
    const protect = await api(itemPath, {
      method: 'PUT',
      body: { properties: { protectedItemType: 'Microsoft.Compute/virtualMachines', sourceResourceId: VM_ID, policyId: `/${vaultPath}/backupPolicies/DefaultPolicy` } },
    });
    expect((await jobOf(protect)).properties.status).toBe('Completed');
    const backup = await jobOf(await api(`${itemPath}/backup`, { method: 'POST', body: { properties: { objectType: 'IaasVMBackupRequest' } } }));
    expect(backup.properties.status === 'Completed' ? 'Completed' : JSON.stringify(backup.properties)).toBe('Completed');
    expect((await fabric(`resourceGroups/${VM_RG}/virtualMachines/${VM}/writeData`, { method: 'POST', body: { percent: 10, seed: 'after' } })).status).toBe(200);

    const points = await api<{ value: Array<{ name: string }> }>(`${itemPath}/recoveryPoints`);
    expect(points.body.value).toHaveLength(1);
    const targetVm = `/subscriptions/${SUB}/resourceGroups/restored/providers/Microsoft.Compute/virtualMachines/web1-copy`;
    const restore = await jobOf(
      await api(`${itemPath}/recoveryPoints/${points.body.value[0].name}/restore`, {
        method: 'POST',
        body: {
          properties: {
            objectType: 'IaasVMRestoreRequest',
            recoveryPointId: points.body.value[0].name,
            recoveryType: 'AlternateLocation',
            sourceResourceId: VM_ID,
            region: 'westeurope',
            storageAccountId: `/subscriptions/${SUB}/resourceGroups/storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`,
            targetVirtualMachineId: targetVm,
            targetResourceGroupId: `/subscriptions/${SUB}/resourceGroups/restored`,
          },
        },
      }),
    );
    expect(restore.properties.status === 'Completed' ? 'Completed' : JSON.stringify(restore.properties)).toBe('Completed');
    const copy = await fabric<FabricVm>('resourceGroups/restored/virtualMachines/web1-copy');
    expect(copy.status).toBe(200);
    expect(await sha256Of(copy.body.disks.map((disk) => disk.vhdUri))).toEqual(atBackup);
  }, 300_000);
});
