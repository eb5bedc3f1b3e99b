import { DEFAULT_REQUEST_DEADLINES, DEVELOPMENT_STORAGE_CONNECTION_STRING, loadConfig, LOCAL_BACKUP_PRINCIPAL_ID } from '../../lib/config';
import { DEFAULT_STORAGE_RETRY } from '../../lib/stores/azure/storage-retry';

const ACCOUNT = 'DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=c2VjcmV0LWtleQ==;EndpointSuffix=core.windows.net';
const OTHER = 'BlobEndpoint=https://vault.blob.core.windows.net;SharedAccessSignature=sv=2024&sig=abc%3D';

function failure(env: Record<string, string | undefined>): { code: string; target: string; message: string } {
  try {
    loadConfig(env);
  } catch (err) {
    return err as { code: string; target: string; message: string };
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('maps UseDevelopmentStorage=true to Azurite on its default ports', () => {
    const config = loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' });
    expect(config.webJobsStorage).toBe(DEVELOPMENT_STORAGE_CONNECTION_STRING);
    expect(config.webJobsStorage).toContain('AccountName=devstoreaccount1');
    expect(config.webJobsStorage).toContain('BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1');
    expect(config.webJobsStorage).toContain('QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1');
    expect(config.webJobsStorage).toContain('TableEndpoint=http://127.0.0.1:10002/devstoreaccount1');
  });

  it('defaults source, vault and restore storage to AzureWebJobsStorage, and the rest to documented defaults', () => {
    expect(loadConfig({ AzureWebJobsStorage: ACCOUNT })).toEqual({
      mode: 'local',
      webJobsStorage: ACCOUNT,
      sourceStorage: ACCOUNT,
      vaultStorage: ACCOUNT,
      vaultContainer: 'kluis-vault',
      restoreStorage: ACCOUNT,
      catalogTable: 'KluisRecoveryPoints',
      catalogTablePrefix: 'Kluis',
      instantRestoreDays: 2,
      probeContainer: 'kluis-probe',
      inventory: 'table',
      inventoryTable: 'KluisVirtualMachines',
      keyVault: { credential: 'default', dnsSuffix: 'vault.azure.net' },
      compute: { endpoint: 'https://management.azure.com', credential: 'default', sasDurationInSeconds: 14400 },
      tenancy: {
        tenantId: '00000000-0000-0000-0000-00000000c0de',
        subscriptionId: '00000000-0000-0000-0000-000000000000',
        subscriptionName: 'Kluis local',
        location: 'westeurope',
        storageResourceGroup: 'kluis-storage',
      },
      auth: { issuers: [], audiences: ['https://management.core.windows.net/', 'https://management.azure.com/'], authority: 'https://login.windows.net/' },
      storageRetry: { maxTries: 4, retryDelayInMs: 2000, maxRetryDelayInMs: 30000, blobTryTimeoutInMs: 60000, tableTryTimeoutInMs: 10000, maxRetryAfterInMs: 30000 },
      requestDeadlines: { readInMs: 30000, writeInMs: 60000, longOperationInMs: 30000 },
      dashboard: { signIn: { kind: 'none' } },
      role: 'vm',
      backupServer: { dataDir: '.kluis-server' },
      access: { source: 'catalog', owners: [] },
    });
  });

  it('takes the storage retry settings, and refuses values out of range by name', () => {
    const config = loadConfig({
      AzureWebJobsStorage: ACCOUNT,
      KLUIS_STORAGE_MAX_TRIES: '2',
      KLUIS_STORAGE_RETRY_DELAY_MS: '10',
      KLUIS_STORAGE_MAX_RETRY_DELAY_MS: '100',
      KLUIS_STORAGE_TRY_TIMEOUT_MS: '500',
      KLUIS_CATALOG_TRY_TIMEOUT_MS: '300',
      KLUIS_STORAGE_MAX_RETRY_AFTER_MS: '0',
    });
    expect(config.storageRetry).toEqual({ maxTries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 100, blobTryTimeoutInMs: 500, tableTryTimeoutInMs: 300, maxRetryAfterInMs: 0 });
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_STORAGE_MAX_TRIES: '0' }).target).toBe('KLUIS_STORAGE_MAX_TRIES');
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_CATALOG_TRY_TIMEOUT_MS: '1.5' }).target).toBe('KLUIS_CATALOG_TRY_TIMEOUT_MS');
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_STORAGE_TRY_TIMEOUT_MS: '50' }).target).toBe('KLUIS_STORAGE_TRY_TIMEOUT_MS');
  });

  it('takes the request deadlines by kind of route, and refuses values out of range by name', () => {
    const config = loadConfig({ AzureWebJobsStorage: ACCOUNT, KLUIS_REQUEST_DEADLINE_MS: '5000', KLUIS_WRITE_REQUEST_DEADLINE_MS: '9000', KLUIS_LONG_OPERATION_REQUEST_DEADLINE_MS: '7000' });
    expect(config.requestDeadlines).toEqual({ readInMs: 5000, writeInMs: 9000, longOperationInMs: 7000 });
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_REQUEST_DEADLINE_MS: '10' }).target).toBe('KLUIS_REQUEST_DEADLINE_MS');
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_WRITE_REQUEST_DEADLINE_MS: 'soon' }).target).toBe('KLUIS_WRITE_REQUEST_DEADLINE_MS');
  });

  it('treats empty optional settings as unset', () => {
    const config = loadConfig({ AzureWebJobsStorage: ACCOUNT, KLUIS_VAULT_STORAGE: '', KLUIS_VAULT_CONTAINER: ' ' });
    expect(config.vaultStorage).toBe(ACCOUNT);
    expect(config.vaultContainer).toBe('kluis-vault');
  });

  it('takes each setting when given', () => {
    const config = loadConfig({
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      KLUIS_SOURCE_STORAGE: ACCOUNT,
      KLUIS_VAULT_STORAGE: OTHER,
      KLUIS_VAULT_CONTAINER: 'my-vault',
      KLUIS_RESTORE_STORAGE: OTHER,
      KLUIS_CATALOG_TABLE: 'Points',
      KLUIS_CATALOG_TABLE_PREFIX: 'Catalog7',
      KLUIS_INSTANT_RESTORE_DAYS: '5',
      KLUIS_PROBE_CONTAINER: 'scratch',
      KLUIS_INVENTORY: 'arm',
      KLUIS_INVENTORY_TABLE: 'Vms',
      KLUIS_KEYVAULT_CREDENTIAL: 'local',
      KLUIS_KEYVAULT_PRINCIPAL_ID: '11111111-2222-4333-8444-555555555555',
      KLUIS_KEYVAULT_CA_FILE: '/tmp/kv/ca.pem',
      KLUIS_KEYVAULT_EMULATOR_URL: 'http://127.0.0.1:41234/',
      KLUIS_KEYVAULT_DNS_SUFFIX: 'vault.azure.cn',
      KLUIS_COMPUTE_ENDPOINT: 'https://127.0.0.1:41235/',
      KLUIS_COMPUTE_CREDENTIAL: 'local',
      KLUIS_COMPUTE_PRINCIPAL_ID: 'CCCCCCCC-2222-4333-8444-555555555555',
      KLUIS_COMPUTE_SAS_SECONDS: '3600',
      KLUIS_TENANT_ID: 'AAAAAAAA-2222-4333-8444-555555555555',
      KLUIS_SUBSCRIPTION_ID: 'BBBBBBBB-2222-4333-8444-555555555555',
      KLUIS_SUBSCRIPTION_NAME: 'Team',
      KLUIS_LOCATION: 'North Europe',
      KLUIS_STORAGE_RESOURCE_GROUP: 'rg-storage',
      KLUIS_AUTHORIZATION: 'azure',
      KLUIS_OWNER_PRINCIPAL_IDS: 'AAAAAAAA-0000-4000-8000-000000000001, aaaaaaaa-0000-4000-8000-000000000001,bbbbbbbb-0000-4000-8000-000000000002',
      IDENTITY_ENDPOINT: 'http://127.0.0.1:7072/msi/token',
      IDENTITY_HEADER: 'secret-of-the-endpoint',
      KLUIS_ROLE: 'server',
      KLUIS_SERVER_DATA: '/srv/kluis-server',
      KLUIS_SERVER_PASSPHRASE: 'the passphrase of the server',
    });
    expect(config).toEqual({
      mode: 'local',
      webJobsStorage: DEVELOPMENT_STORAGE_CONNECTION_STRING,
      sourceStorage: ACCOUNT,
      vaultStorage: OTHER,
      vaultContainer: 'my-vault',
      restoreStorage: OTHER,
      catalogTable: 'Points',
      catalogTablePrefix: 'Catalog7',
      instantRestoreDays: 5,
      probeContainer: 'scratch',
      inventory: 'arm',
      inventoryTable: 'Vms',
      storageRetry: DEFAULT_STORAGE_RETRY,
      requestDeadlines: DEFAULT_REQUEST_DEADLINES,
      keyVault: {
        credential: 'local',
        principalId: '11111111-2222-4333-8444-555555555555',
        caCertificateFile: '/tmp/kv/ca.pem',
        emulatorUrl: 'http://127.0.0.1:41234',
        dnsSuffix: 'vault.azure.cn',
        localIdentity: { msiEndpoint: 'http://127.0.0.1:7072/msi/token', secret: 'secret-of-the-endpoint' },
      },
      compute: { endpoint: 'https://127.0.0.1:41235', credential: 'local', principalId: 'cccccccc-2222-4333-8444-555555555555', sasDurationInSeconds: 3600 },
      tenancy: {
        tenantId: 'aaaaaaaa-2222-4333-8444-555555555555',
        subscriptionId: 'bbbbbbbb-2222-4333-8444-555555555555',
        subscriptionName: 'Team',
        location: 'northeurope',
        storageResourceGroup: 'rg-storage',
      },
      auth: { issuers: [], audiences: ['https://management.core.windows.net/', 'https://management.azure.com/'], authority: 'https://login.windows.net/' },
      dashboard: { signIn: { kind: 'none' } },
      role: 'server',
      backupServer: { dataDir: '/srv/kluis-server', passphrase: 'the passphrase of the server' },
      access: { source: 'azure', owners: ['aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002'] },
    });
  });

  it('refuses an unknown authorization source and owners that are not object ids, naming the setting', () => {
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_AUTHORIZATION: 'none' }).target).toBe('KLUIS_AUTHORIZATION');
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_OWNER_PRINCIPAL_IDS: 'admin@contoso.com' }).target).toBe('KLUIS_OWNER_PRINCIPAL_IDS');
    expect(failure({ AzureWebJobsStorage: ACCOUNT, IDENTITY_ENDPOINT: 'not a url' }).target).toBe('IDENTITY_ENDPOINT');
  });

  it('refuses tenancy settings that are not ids, regions or group names, naming the setting', () => {
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_TENANT_ID: 'contoso' }).target).toBe('KLUIS_TENANT_ID');
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_SUBSCRIPTION_ID: '1234' }).target).toBe('KLUIS_SUBSCRIPTION_ID');
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_LOCATION: 'west/europe' }).target).toBe('KLUIS_LOCATION');
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_STORAGE_RESOURCE_GROUP: 'rg.' }).target).toBe('KLUIS_STORAGE_RESOURCE_GROUP');
  });

  it('gives the local Key Vault credential the local backup identity, and refuses bad Key Vault settings by name', () => {
    expect(loadConfig({ AzureWebJobsStorage: ACCOUNT, KLUIS_KEYVAULT_CREDENTIAL: 'local' }).keyVault).toEqual({
      credential: 'local',
      principalId: LOCAL_BACKUP_PRINCIPAL_ID,
      dnsSuffix: 'vault.azure.net',
    });
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_KEYVAULT_CREDENTIAL: 'managed' }).target).toBe('KLUIS_KEYVAULT_CREDENTIAL');
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_COMPUTE_ENDPOINT: 'http://management.azure.com' }).target).toBe('KLUIS_COMPUTE_ENDPOINT');
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_COMPUTE_CREDENTIAL: 'managed' }).target).toBe('KLUIS_COMPUTE_CREDENTIAL');
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_COMPUTE_SAS_SECONDS: '60' }).target).toBe('KLUIS_COMPUTE_SAS_SECONDS');
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_KEYVAULT_PRINCIPAL_ID: 'backup' }).target).toBe('KLUIS_KEYVAULT_PRINCIPAL_ID');
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_KEYVAULT_EMULATOR_URL: 'ftp://x' }).target).toBe('KLUIS_KEYVAULT_EMULATOR_URL');
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_KEYVAULT_DNS_SUFFIX: 'not a suffix' }).target).toBe('KLUIS_KEYVAULT_DNS_SUFFIX');
  });

  it('refuses a catalog table prefix that would make invalid table names, naming the setting', () => {
    expect(() => loadConfig({ AzureWebJobsStorage: ACCOUNT, KLUIS_CATALOG_TABLE_PREFIX: '9lives' })).toThrow(/KLUIS_CATALOG_TABLE_PREFIX/);
    expect(() => loadConfig({ AzureWebJobsStorage: ACCOUNT, KLUIS_CATALOG_TABLE_PREFIX: 'a'.repeat(50) })).toThrow(/KLUIS_CATALOG_TABLE_PREFIX/);
    expect(loadConfig({ AzureWebJobsStorage: ACCOUNT, KLUIS_CATALOG_TABLE_PREFIX: 'a'.repeat(49) }).catalogTablePrefix).toHaveLength(49);
  });

  it('refuses instant-restore retention outside 1–5 days, naming the setting', () => {
    expect(() => loadConfig({ AzureWebJobsStorage: ACCOUNT, KLUIS_INSTANT_RESTORE_DAYS: '9' })).toThrow(/KLUIS_INSTANT_RESTORE_DAYS/);
  });

  it.each([
    ['a missing AzureWebJobsStorage', {}, 'AzureWebJobsStorage'],
    ['an empty AzureWebJobsStorage', { AzureWebJobsStorage: '' }, 'AzureWebJobsStorage'],
    ['a malformed source storage', { AzureWebJobsStorage: ACCOUNT, KLUIS_SOURCE_STORAGE: 'not a connection string' }, 'KLUIS_SOURCE_STORAGE'],
    ['a vault storage without credentials', { AzureWebJobsStorage: ACCOUNT, KLUIS_VAULT_STORAGE: 'AccountName=x' }, 'KLUIS_VAULT_STORAGE'],
    ['UseDevelopmentStorage=false', { AzureWebJobsStorage: 'UseDevelopmentStorage=false' }, 'AzureWebJobsStorage'],
    ['an invalid container name', { AzureWebJobsStorage: ACCOUNT, KLUIS_VAULT_CONTAINER: 'Kluis_Vault' }, 'KLUIS_VAULT_CONTAINER'],
    ['an unknown inventory kind', { AzureWebJobsStorage: ACCOUNT, KLUIS_INVENTORY: 'cmdb' }, 'KLUIS_INVENTORY'],
    ['an invalid inventory table name', { AzureWebJobsStorage: ACCOUNT, KLUIS_INVENTORY_TABLE: 'vm-table' }, 'KLUIS_INVENTORY_TABLE'],
  ])('names the setting for %s', (_name, env, setting) => {
    const err = failure(env);
    expect(err.code).toBe('KluisInvalidConfiguration');
    expect(err.target).toBe(setting);
    expect(err.message).toContain(setting);
  });

  it('never echoes a setting value, which may hold a key', () => {
    const err = failure({ AzureWebJobsStorage: 'AccountName=x;AccountKeyTypo=supersecretvalue' });
    expect(err.message).not.toContain('supersecretvalue');
  });
});

describe('loadConfig: token validation and the public base URL', () => {
  const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

  it("derives Entra ID's v1 and v2 issuers and its signing keys from a tenant id", () => {
    const { auth } = loadConfig({ AzureWebJobsStorage: ACCOUNT, KLUIS_AUTH_TENANT_ID: TENANT.toUpperCase() });
    expect(auth).toEqual({
      issuers: [`https://sts.windows.net/${TENANT}/`, `https://login.microsoftonline.com/${TENANT}/v2.0`],
      jwksUrl: `https://login.microsoftonline.com/${TENANT}/discovery/v2.0/keys`,
      audiences: ['https://management.core.windows.net/', 'https://management.azure.com/'],
      authority: 'https://login.windows.net/',
    });
  });

  it('takes explicit issuers, keys, extra audiences, the authority and the CA file over the tenant', () => {
    const { auth } = loadConfig({
      AzureWebJobsStorage: ACCOUNT,
      KLUIS_AUTH_TENANT_ID: TENANT,
      KLUIS_AUTH_ISSUERS: ' https://127.0.0.1:7444/t/ , https://issuer.example/ ',
      KLUIS_AUTH_JWKS_URL: 'https://127.0.0.1:7444/discovery/keys',
      KLUIS_AUTH_AUDIENCES: 'api://kluis,https://management.azure.com/',
      KLUIS_AUTH_AUTHORITY: 'https://127.0.0.1:7444/adfs',
      KLUIS_CA_FILE: '/data/tls/ca.pem',
    });
    expect(auth).toEqual({
      issuers: ['https://127.0.0.1:7444/t/', 'https://issuer.example/'],
      jwksUrl: 'https://127.0.0.1:7444/discovery/keys',
      audiences: ['https://management.core.windows.net/', 'https://management.azure.com/', 'api://kluis'],
      authority: 'https://127.0.0.1:7444/adfs',
      caCertificateFile: '/data/tls/ca.pem',
    });
  });

  it('needs issuers and signing keys together', () => {
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_AUTH_ISSUERS: 'https://issuer.example/' })).toMatchObject({ code: 'KluisInvalidConfiguration', target: 'KLUIS_AUTH_JWKS_URL' });
    expect(failure({ AzureWebJobsStorage: ACCOUNT, KLUIS_AUTH_JWKS_URL: 'https://issuer.example/keys' })).toMatchObject({ code: 'KluisInvalidConfiguration', target: 'KLUIS_AUTH_ISSUERS' });
  });

  it.each([
    ['KLUIS_AUTH_TENANT_ID', 'contoso.onmicrosoft.com'],
    ['KLUIS_AUTH_ISSUERS', 'https://ok.example/,not a url'],
    ['KLUIS_AUTH_JWKS_URL', 'ftp://keys.example/'],
    ['KLUIS_AUTH_AUTHORITY', 'https://login.example/?x=1'],
    ['KLUIS_PUBLIC_BASE_URL', 'backup.example.com'],
    ['KLUIS_PUBLIC_BASE_URL', 'https://user:pw@backup.example.com'],
    ['KLUIS_PUBLIC_BASE_URL', 'https://backup.example.com/#x'],
  ])('names %s when it is %j', (setting, value) => {
    expect(failure({ AzureWebJobsStorage: ACCOUNT, [setting]: value })).toMatchObject({ code: 'KluisInvalidConfiguration', target: setting });
  });

  it('keeps the public base URL without a trailing slash', () => {
    expect(loadConfig({ AzureWebJobsStorage: ACCOUNT, KLUIS_PUBLIC_BASE_URL: 'https://backup.example.com/kluis/' }).publicBaseUrl).toBe('https://backup.example.com/kluis');
    expect(loadConfig({ AzureWebJobsStorage: ACCOUNT }).publicBaseUrl).toBeUndefined();
  });
});

describe('loadConfig: the dashboard sign-in', () => {
  const ACCOUNT_ONLY = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };

  it('signs in at the local identity endpoint kluis-host names, for ARM tokens', () => {
    expect(loadConfig({ ...ACCOUNT_ONLY, KLUIS_IDENTITY_EMULATOR_URL: 'http://127.0.0.1:7072/' }).dashboard.signIn).toEqual({
      kind: 'local',
      clientId: '00000000-0000-0000-0000-0000000000d5',
      authority: 'http://127.0.0.1:7072/organizations',
      scopes: ['https://management.core.windows.net//.default'],
    });
  });

  it('uses MSAL with an app registration, at the tenant of KLUIS_AUTH_TENANT_ID unless an authority is named, also when kluis-host runs an identity endpoint', () => {
    const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    expect(loadConfig({ ...ACCOUNT_ONLY, KLUIS_DASHBOARD_CLIENT_ID: '11111111-2222-4333-8444-555555555555', KLUIS_AUTH_TENANT_ID: tenant, KLUIS_IDENTITY_EMULATOR_URL: 'http://127.0.0.1:7072' }).dashboard.signIn).toEqual({
      kind: 'entra',
      clientId: '11111111-2222-4333-8444-555555555555',
      authority: `https://login.microsoftonline.com/${tenant}`,
      scopes: ['https://management.core.windows.net//user_impersonation'],
    });
    const custom = loadConfig({ ...ACCOUNT_ONLY, KLUIS_DASHBOARD_CLIENT_ID: '11111111-2222-4333-8444-555555555555', KLUIS_DASHBOARD_AUTHORITY: 'https://login.microsoftonline.us/contoso.onmicrosoft.com/', KLUIS_DASHBOARD_SCOPES: 'api://kluis/user_impersonation' });
    expect(custom.dashboard.signIn).toMatchObject({ authority: 'https://login.microsoftonline.us/contoso.onmicrosoft.com', scopes: ['api://kluis/user_impersonation'] });
  });

  it('names a bad dashboard setting', () => {
    expect(() => loadConfig({ ...ACCOUNT_ONLY, KLUIS_DASHBOARD_CLIENT_ID: 'my-app' })).toThrow(expect.objectContaining({ code: 'KluisInvalidConfiguration', target: 'KLUIS_DASHBOARD_CLIENT_ID' }));
    expect(() => loadConfig({ ...ACCOUNT_ONLY, KLUIS_DASHBOARD_AUTHORITY: 'login.microsoftonline.com' })).toThrow(expect.objectContaining({ target: 'KLUIS_DASHBOARD_AUTHORITY' }));
  });
});
