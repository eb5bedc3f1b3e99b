/**
 * Identity-based storage connections (Azure Functions' `<setting>__accountName` style) and the startup
 * checks of KLUIS_MODE=cloud: each missing or contradictory setting is refused by name.
 */
import { loadConfig } from '../../lib/config';
import { knownStorageAccounts } from '../../lib/domain/storage-account';

const CLIENT_ID = '6f1c0a52-8d7e-4d2f-9a1b-3c4d5e6f7a8b';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const KEY = 'DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=c2VjcmV0LWtleQ==;EndpointSuffix=core.windows.net';

/** What the Bicep template sets: every connection by identity, the user-assigned identity, Entra ID token validation. */
const CLOUD: Record<string, string> = {
  KLUIS_MODE: 'cloud',
  AZURE_CLIENT_ID: CLIENT_ID,
  AzureWebJobsStorage__accountName: 'kluisfunc',
  AzureWebJobsStorage__credential: 'managedidentity',
  AzureWebJobsStorage__clientId: CLIENT_ID,
  KLUIS_VAULT_STORAGE__accountName: 'kluisvault',
  KLUIS_VAULT_STORAGE__credential: 'managedidentity',
  KLUIS_AUTH_TENANT_ID: TENANT,
  KLUIS_AUTH_AUDIENCES: 'api://kluis',
};

function failure(env: Record<string, string | undefined>): { code: string; target: string; message: string } {
  try {
    loadConfig(env);
  } catch (err) {
    return err as { code: string; target: string; message: string };
  }
  throw new Error('expected loadConfig to throw');
}

function without(env: Record<string, string>, ...names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !names.includes(name)));
}

describe('identity-based storage connections', () => {
  it('derives the service endpoints from __accountName and presents the named managed identity', () => {
    const config = loadConfig(CLOUD);
    expect(config.mode).toBe('cloud');
    expect(config.webJobsStorage).toEqual({
      kind: 'identity',
      accountName: 'kluisfunc',
      blobServiceUri: 'https://kluisfunc.blob.core.windows.net',
      queueServiceUri: 'https://kluisfunc.queue.core.windows.net',
      tableServiceUri: 'https://kluisfunc.table.core.windows.net',
      credential: 'managedidentity',
      clientId: CLIENT_ID,
    });
    // The vault connection names no __clientId: AZURE_CLIENT_ID, the app's identity.
    expect(config.vaultStorage).toMatchObject({ accountName: 'kluisvault', clientId: CLIENT_ID, credential: 'managedidentity' });
    // Unset source and restore storage follow AzureWebJobsStorage, as with connection strings.
    expect(config.sourceStorage).toBe(config.webJobsStorage);
    expect(config.restoreStorage).toBe(config.sourceStorage);
  });

  it('takes explicit service URIs (an emulator path-style account) and matches suffixes ignoring case', () => {
    const config = loadConfig({
      azurewebjobsstorage__BLOBSERVICEURI: 'https://127.0.0.1:10000/devstoreaccount1/',
      AzureWebJobsStorage__queueServiceUri: 'https://127.0.0.1:10001/devstoreaccount1',
      AzureWebJobsStorage__tableServiceUri: 'https://127.0.0.1:10002/devstoreaccount1',
    });
    expect(config.mode).toBe('local');
    expect(config.webJobsStorage).toEqual({
      kind: 'identity',
      accountName: 'devstoreaccount1',
      blobServiceUri: 'https://127.0.0.1:10000/devstoreaccount1',
      queueServiceUri: 'https://127.0.0.1:10001/devstoreaccount1',
      tableServiceUri: 'https://127.0.0.1:10002/devstoreaccount1',
    });
  });

  it('derives queue and table from an Azure blob endpoint, and shows the account without secrets', () => {
    const config = loadConfig({ AzureWebJobsStorage__blobServiceUri: 'https://acct1.blob.core.windows.net' });
    expect(config.webJobsStorage).toMatchObject({ accountName: 'acct1', tableServiceUri: 'https://acct1.table.core.windows.net' });
    expect(knownStorageAccounts({ functions: config.webJobsStorage, vault: KEY })).toEqual([
      { name: 'acct1', roles: ['functions'], primaryEndpoints: { blob: 'https://acct1.blob.core.windows.net/', queue: 'https://acct1.queue.core.windows.net/', table: 'https://acct1.table.core.windows.net/' } },
      expect.objectContaining({ name: 'prod', roles: ['vault'] }),
    ]);
  });

  it.each([
    [{ AzureWebJobsStorage: KEY, AzureWebJobsStorage__accountName: 'kluisfunc' }, 'AzureWebJobsStorage'],
    [{ AzureWebJobsStorage__accountKey: 'c2VjcmV0' }, 'AzureWebJobsStorage__accountKey'],
    [{ AzureWebJobsStorage__acountName: 'kluisfunc' }, 'AzureWebJobsStorage__acountName'],
    [{ AzureWebJobsStorage__accountName: 'Not_An_Account' }, 'AzureWebJobsStorage__accountName'],
    [{ AzureWebJobsStorage__credential: 'managedidentity' }, 'AzureWebJobsStorage__accountName'],
    [{ AzureWebJobsStorage__accountName: 'kluisfunc', AzureWebJobsStorage__credential: 'connectionstring' }, 'AzureWebJobsStorage__credential'],
    [{ AzureWebJobsStorage__accountName: 'kluisfunc', AzureWebJobsStorage__clientId: 'my-identity' }, 'AzureWebJobsStorage__clientId'],
    [{ AzureWebJobsStorage__blobServiceUri: 'https://127.0.0.1:10000/devstoreaccount1' }, 'AzureWebJobsStorage__queueServiceUri'],
    [{ AzureWebJobsStorage__blobServiceUri: 'https://acct1.blob.core.windows.net?sv=2024&sig=x' }, 'AzureWebJobsStorage__blobServiceUri'],
    [{ AzureWebJobsStorage__blobServiceUri: 'http://acct1.blob.core.windows.net' }, 'AzureWebJobsStorage__blobServiceUri'],
    [{ AzureWebJobsStorage__accountName: 'acct1', AzureWebJobsStorage__tableServiceUri: 'http://127.0.0.1:10002/acct1' }, 'AzureWebJobsStorage__tableServiceUri'],
    [{ AzureWebJobsStorage: KEY, KLUIS_VAULT_STORAGE: KEY, KLUIS_VAULT_STORAGE__accountName: 'kluisvault' }, 'KLUIS_VAULT_STORAGE'],
    [{}, 'AzureWebJobsStorage'],
  ])('refuses %j naming %s', (env, target) => {
    const error = failure(env);
    expect(error.code).toBe('KluisInvalidConfiguration');
    expect(error.target).toBe(target);
  });
});

describe('KLUIS_MODE=cloud startup checks', () => {
  it('accepts the deployed settings', () => {
    expect(() => loadConfig(CLOUD)).not.toThrow();
  });

  it.each<[string, Record<string, string>, string, RegExp]>([
    ['an account key in a connection string', { ...without(CLOUD, 'AzureWebJobsStorage__accountName', 'AzureWebJobsStorage__credential', 'AzureWebJobsStorage__clientId'), AzureWebJobsStorage: KEY }, 'AzureWebJobsStorage', /takes no connection strings/],
    ['development storage', { ...without(CLOUD, 'KLUIS_VAULT_STORAGE__accountName', 'KLUIS_VAULT_STORAGE__credential'), KLUIS_VAULT_STORAGE: 'UseDevelopmentStorage=true' }, 'KLUIS_VAULT_STORAGE', /takes no connection strings/],
    ['a SAS for the restore account', { ...CLOUD, KLUIS_RESTORE_STORAGE: 'BlobEndpoint=https://r.blob.core.windows.net;SharedAccessSignature=sv=1&sig=x' }, 'KLUIS_RESTORE_STORAGE', /takes no connection strings/],
    ['no storage at all', without(CLOUD, 'AzureWebJobsStorage__accountName', 'AzureWebJobsStorage__credential', 'AzureWebJobsStorage__clientId'), 'AzureWebJobsStorage', /__credential=managedidentity/],
    ['a connection without the managed identity credential', without(CLOUD, 'KLUIS_VAULT_STORAGE__credential'), 'KLUIS_VAULT_STORAGE__credential', /managedidentity/],
    ['a plain-http service endpoint', { ...CLOUD, KLUIS_SOURCE_STORAGE__blobServiceUri: 'http://src.blob.core.windows.net', KLUIS_SOURCE_STORAGE__credential: 'managedidentity' }, 'KLUIS_SOURCE_STORAGE__blobServiceUri', /https/],
    ['no identity', without(CLOUD, 'AZURE_CLIENT_ID'), 'AZURE_CLIENT_ID', /managed identity/],
    ['no tenant for token validation', without(CLOUD, 'KLUIS_AUTH_TENANT_ID'), 'KLUIS_AUTH_TENANT_ID', /tenant/],
    ['no audience for token validation', without(CLOUD, 'KLUIS_AUTH_AUDIENCES'), 'KLUIS_AUTH_AUDIENCES', /audience/],
    ["the Key Vault emulator's credential", { ...CLOUD, KLUIS_KEYVAULT_CREDENTIAL: 'local' }, 'KLUIS_KEYVAULT_CREDENTIAL', /emulator/],
    ['the Key Vault emulator', { ...CLOUD, KLUIS_KEYVAULT_EMULATOR_URL: 'http://127.0.0.1:41234' }, 'KLUIS_KEYVAULT_EMULATOR_URL', /emulator/],
    ["the local fabric's Compute credential", { ...CLOUD, KLUIS_COMPUTE_CREDENTIAL: 'local' }, 'KLUIS_COMPUTE_CREDENTIAL', /local fabric/],
  ])('refuses %s', (_why, env, target, reason) => {
    const error = failure(env);
    expect(error.code).toBe('KluisInvalidConfiguration');
    expect(error.target).toBe(target);
    expect(error.message).toMatch(reason);
    // Never the key or SAS itself.
    expect(error.message).not.toMatch(/c2VjcmV0|sig=x/);
  });

  it('accepts issuers and signing keys instead of a tenant', () => {
    const env = { ...without(CLOUD, 'KLUIS_AUTH_TENANT_ID'), KLUIS_AUTH_ISSUERS: 'https://idp.example/t/', KLUIS_AUTH_JWKS_URL: 'https://idp.example/keys' };
    expect(loadConfig(env).auth.issuers).toEqual(['https://idp.example/t/']);
  });

  it('refuses an unknown mode', () => {
    expect(failure({ ...CLOUD, KLUIS_MODE: 'azure' }).target).toBe('KLUIS_MODE');
  });
});
