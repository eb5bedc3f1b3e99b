/**
 * Identity-based storage connections against real services: Azurite with `--oauth basic` over HTTPS (the
 * local CA's certificate) and the token-issuers extension, the local identity endpoint as the App Service
 * managed identity endpoint (IDENTITY_ENDPOINT / IDENTITY_HEADER), and the app's compiled config and
 * store factories in a child process configured as in Azure (KLUIS_MODE=cloud): no account key anywhere.
 * Needs `npm run build`.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startAzurite, type RunningAzurite } from '../../emulator/azurite';
import { tokenIssuersExtension } from '../../emulator/cli';
import { BACKUP_IDENTITY, startIdentityEndpoint, type RunningIdentityEndpoint } from '../../emulator/identity';
import { ensureTlsMaterial, type TlsMaterial } from '../../emulator/local-ca';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

/** Runs in the child: the app's own config loader and Blob/Table factories, a write and a read of each. */
const PROBE = `
const { loadConfig } = require(${JSON.stringify(path.join(ROOT, 'dist/lib/config'))});
const { blobServiceClientOf, tableClientOf } = require(${JSON.stringify(path.join(ROOT, 'dist/lib/stores/azure/storage-clients'))});
(async () => {
  const config = loadConfig(process.env);
  const container = blobServiceClientOf(config.vaultStorage, { retryOptions: { maxTries: 1 } }).getContainerClient('identity-probe');
  await container.createIfNotExists();
  const blob = container.getBlockBlobClient('hello.txt');
  await blob.upload('hello', 5);
  const read = (await blob.downloadToBuffer()).toString();
  const table = tableClientOf(config.vaultStorage, 'IdentityProbe', { retryOptions: { maxRetries: 0 } });
  await table.createTable();
  await table.upsertEntity({ partitionKey: 'p', rowKey: 'r', value: 'hello' });
  const entity = await table.getEntity('p', 'r');
  process.stdout.write(JSON.stringify({ mode: config.mode, account: config.vaultStorage.accountName, blob: read, entity: entity.value }));
})().catch((err) => { process.stdout.write(JSON.stringify({ error: String(err && err.message || err).slice(0, 400), status: err && err.statusCode })); });
`;

describe('identity-based storage connections (Azurite with OAuth over HTTPS, the local managed identity endpoint)', () => {
  let dir: string;
  let tls: TlsMaterial;
  let identity: RunningIdentityEndpoint;
  let azurite: RunningAzurite;
  let plainAzurite: RunningAzurite;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kluis-identity-storage-'));
    tls = await ensureTlsMaterial(path.join(dir, 'tls'));
    fs.writeFileSync(path.join(dir, 'server.pem'), tls.serverCertPem);
    fs.writeFileSync(path.join(dir, 'server-key.pem'), tls.serverKeyPem, { mode: 0o600 });
    identity = await startIdentityEndpoint({ dataDir: path.join(dir, 'identity'), tls });
    const https = { certPath: path.join(dir, 'server.pem'), keyPath: path.join(dir, 'server-key.pem') };
    [azurite, plainAzurite] = await Promise.all([
      startAzurite({ inMemory: true, https, oauth: 'basic', extensions: [tokenIssuersExtension], env: { KLUIS_AZURITE_TOKEN_ISSUERS: identity.issuer } }),
      // Without the extension: Azurite's own issuer check, which knows only Entra ID.
      startAzurite({ inMemory: true, https, oauth: 'basic' }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([azurite?.stop(), plainAzurite?.stop(), identity?.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The settings the Bicep template gives the Function App, pointed at the local services. */
  function cloudSettings(storage: RunningAzurite, clientId = BACKUP_IDENTITY.appId as string): Record<string, string> {
    return {
      KLUIS_MODE: 'cloud',
      AZURE_CLIENT_ID: clientId,
      AzureWebJobsStorage__blobServiceUri: storage.blobEndpoint,
      AzureWebJobsStorage__queueServiceUri: storage.queueEndpoint,
      AzureWebJobsStorage__tableServiceUri: storage.tableEndpoint,
      AzureWebJobsStorage__credential: 'managedidentity',
      KLUIS_AUTH_TENANT_ID: identity.tenantId,
      KLUIS_AUTH_AUDIENCES: 'api://kluis',
      IDENTITY_ENDPOINT: identity.msiEndpoint,
      IDENTITY_HEADER: identity.msiSecret,
    };
  }

  async function probe(settings: Record<string, string>): Promise<Record<string, unknown>> {
    // Only these variables: nothing inherited can carry a key. The local CA is trusted as Azure's CAs are.
    const env = { PATH: process.env.PATH ?? '', NODE_EXTRA_CA_CERTS: tls.caCertPath, ...settings };
    const { stdout } = await run(process.execPath, ['-e', PROBE], { env, timeout: 60_000 });
    return JSON.parse(stdout) as Record<string, unknown>;
  }

  it('writes and reads blobs and table entities with the managed identity, no account key anywhere', async () => {
    const settings = cloudSettings(azurite);
    expect(Object.entries(settings).filter(([, value]) => /AccountKey|SharedAccessSignature|sig=|UseDevelopmentStorage/i.test(value))).toEqual([]);
    expect(await probe(settings)).toEqual({ mode: 'cloud', account: 'devstoreaccount1', blob: 'hello', entity: 'hello' });
  });

  it('presents the identity the client id names: an unknown one gets no token', async () => {
    const result = await probe(cloudSettings(azurite, '0badc0de-0000-4000-8000-000000000000'));
    expect(result.error).toEqual(expect.any(String));
    expect(result.blob).toBeUndefined();
  });

  it("is refused by Azurite's own issuer check without the extension (the tokens are the local endpoint's, not Entra ID's)", async () => {
    const result = await probe(cloudSettings(plainAzurite));
    expect(result).toMatchObject({ status: 403, error: expect.stringMatching(/AuthenticationFailed|not authorized|authenticate/i) });
  });
});
