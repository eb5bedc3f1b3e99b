/**
 * The KeyStore over Key Vault with the real @azure/keyvault-secrets and @azure/keyvault-keys clients:
 * Key Vault in Azure (DefaultAzureCredential: the Function App's managed identity), the local
 * emulator otherwise (a LocalPrincipalCredential naming the backup identity, and client options that
 * trust the emulator's CA for loopback vaults only). Only the credential and the options differ.
 *
 * Clients are made once per vault URL. Failures: 401/403 → KeyStoreError forbidden, 404 → notFound,
 * 409 → conflict, no answer at the vault's address (DNS or connection refused) → vaultNotFound; others
 * are rethrown. Secret values are read only to prove `get` works and are dropped at once; backups are
 * returned as base64 and never logged.
 *
 *   new AzureKeyStore({ credential, clientOptions: (vaultUrl) => keyVaultClientOptions(vaultUrl, trust) })
 *   keyStoreFromConfig(config.keyVault)
 */
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { KeyClient } from '@azure/keyvault-keys';
import { SecretClient } from '@azure/keyvault-secrets';
import { LOCAL_BACKUP_PRINCIPAL_ID, type KeyVaultSettings } from '../../config';
import { normalizeVaultUrl, parseKeyVaultObjectUrl, type KeyVaultCollection, type KeyVaultObjectUrl } from '../../domain/disk-encryption';
import { errors } from '../../domain/errors';
import {
  KeyStoreError,
  type AccessCheck,
  type AccessNeeds,
  type KeyStore,
  type KeyVaultPermission,
  type ObjectBackup,
  type RestoredObject,
} from '../key-store';
import { keyVaultClientOptions, type KeyVaultClientOptions } from './keyvault-client-options';
import { LocalPrincipalCredential, type LocalIdentityEndpoint } from './keyvault-credential';

export interface AzureKeyStoreOptions {
  credential: TokenCredential;
  /** Options for the clients of one vault (see keyvault-client-options.ts); default the SDK's. */
  clientOptions?: (vaultUrl: string) => KeyVaultClientOptions;
}

/** Errors meaning nothing listens at the vault's address. */
const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED']);

interface VaultClients {
  secrets: SecretClient;
  keys: KeyClient;
}

export class AzureKeyStore implements KeyStore {
  private readonly clients = new Map<string, VaultClients>();
  private readonly probes = new Map<string, SecretClient>();

  constructor(private readonly options: AzureKeyStoreOptions) {}

  async checkAccess(vaultUrl: string, needs: AccessNeeds): Promise<AccessCheck> {
    const vault = normalizeVaultUrl(vaultUrl);
    const result: AccessCheck = { missing: [], notFound: [] };
    const attempt = async (url: string, permission: KeyVaultPermission, operation: () => Promise<unknown>): Promise<void> => {
      try {
        await operation();
      } catch (err) {
        const failure = classify(err, url, permission);
        if (failure.reason === 'forbidden') result.missing.push(permission);
        else if (failure.reason === 'notFound') {
          if (!result.notFound.includes(url)) result.notFound.push(url);
        } else throw failure;
      }
    };
    if (needs.secretUrl !== undefined) {
      const secret = this.objectOf(needs.secretUrl, 'secrets', vault);
      const client = this.clientsOf(vault).secrets;
      // The value is fetched only because `get` is the permission to prove; it is dropped here.
      await attempt(needs.secretUrl, { collection: 'secrets', permission: 'get' }, async () => void (await client.getSecret(secret.name, versionOption(secret))));
      await attempt(needs.secretUrl, { collection: 'secrets', permission: 'backup' }, () => client.backupSecret(secret.name));
    }
    if (needs.keyUrl !== undefined) {
      const key = this.objectOf(needs.keyUrl, 'keys', vault);
      const client = this.clientsOf(vault).keys;
      await attempt(needs.keyUrl, { collection: 'keys', permission: 'get' }, () => client.getKey(key.name, versionOption(key)));
      await attempt(needs.keyUrl, { collection: 'keys', permission: 'backup' }, () => client.backupKey(key.name));
    }
    return result;
  }

  async backupSecret(secretUrl: string): Promise<ObjectBackup> {
    const secret = this.objectOf(secretUrl, 'secrets');
    const client = this.clientsOf(secret.vaultUrl).secrets;
    const versionUrl = await call(secretUrl, { collection: 'secrets', permission: 'get' }, async () => (await client.getSecret(secret.name, versionOption(secret))).properties.id ?? secretUrl);
    const backup = await call(secretUrl, { collection: 'secrets', permission: 'backup' }, () => client.backupSecret(secret.name));
    return { backup: base64Of(backup, secretUrl), versionUrl };
  }

  async backupKey(keyUrl: string): Promise<ObjectBackup> {
    const key = this.objectOf(keyUrl, 'keys');
    const client = this.clientsOf(key.vaultUrl).keys;
    const versionUrl = await call(keyUrl, { collection: 'keys', permission: 'get' }, async () => (await client.getKey(key.name, versionOption(key))).id ?? keyUrl);
    const backup = await call(keyUrl, { collection: 'keys', permission: 'backup' }, () => client.backupKey(key.name));
    return { backup: base64Of(backup, keyUrl), versionUrl };
  }

  async restoreSecret(vaultUrl: string, backup: string): Promise<RestoredObject> {
    const vault = normalizeVaultUrl(vaultUrl);
    const restored = await call(vault, { collection: 'secrets', permission: 'restore' }, () => this.clientsOf(vault).secrets.restoreSecretBackup(Buffer.from(backup, 'base64')));
    return { url: restored.id ?? `${vault}/secrets/${restored.name}` };
  }

  async restoreKey(vaultUrl: string, backup: string): Promise<RestoredObject> {
    const vault = normalizeVaultUrl(vaultUrl);
    const restored = await call(vault, { collection: 'keys', permission: 'restore' }, () => this.clientsOf(vault).keys.restoreKeyBackup(Buffer.from(backup, 'base64')));
    return { url: restored.id ?? `${vault}/keys/${restored.name}` };
  }

  async secretExists(secretUrl: string): Promise<boolean> {
    const secret = this.objectOf(secretUrl, 'secrets');
    const client = this.clientsOf(secret.vaultUrl).secrets;
    return exists(secretUrl, { collection: 'secrets', permission: 'get' }, async () => void (await client.getSecret(secret.name, versionOption(secret))));
  }

  async keyExists(keyUrl: string): Promise<boolean> {
    const key = this.objectOf(keyUrl, 'keys');
    const client = this.clientsOf(key.vaultUrl).keys;
    return exists(keyUrl, { collection: 'keys', permission: 'get' }, () => client.getKey(key.name, versionOption(key)));
  }

  async vaultExists(vaultUrl: string): Promise<boolean> {
    const vault = normalizeVaultUrl(vaultUrl);
    let probe = this.probes.get(vault);
    if (probe === undefined) {
      // One attempt: a vault that does not exist should not cost the SDK's retries on a refused connection.
      probe = new SecretClient(vault, this.options.credential, { ...this.options.clientOptions?.(vault), retryOptions: { maxRetries: 0 } });
      this.probes.set(vault, probe);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await probe.listPropertiesOfSecrets().byPage({ maxPageSize: 1 }).next();
        return true;
      } catch (err) {
        // A pooled connection the vault's server dropped fails once; the next attempt connects afresh.
        if (attempt === 1 && (err as { code?: unknown }).code === 'ECONNRESET') continue;
        const reason = classify(err, vault).reason;
        if (reason === 'vaultNotFound') return false;
        if (reason === 'forbidden' || reason === 'notFound') return true;
        throw err;
      }
    }
  }

  private clientsOf(vaultUrl: string): VaultClients {
    let clients = this.clients.get(vaultUrl);
    if (clients === undefined) {
      const options = this.options.clientOptions?.(vaultUrl) ?? {};
      clients = { secrets: new SecretClient(vaultUrl, this.options.credential, options), keys: new KeyClient(vaultUrl, this.options.credential, options) };
      this.clients.set(vaultUrl, clients);
    }
    return clients;
  }

  private objectOf(url: string, collection: KeyVaultCollection, vaultUrl?: string): KeyVaultObjectUrl {
    const parsed = parseKeyVaultObjectUrl(url);
    if (parsed === undefined || parsed.collection !== collection) {
      throw errors.invalidRequest(collection === 'secrets' ? 'secretUrl' : 'keyUrl', `'${url.slice(0, 200)}' is not a Key Vault ${collection === 'secrets' ? 'secret' : 'key'} URL (https://{vault}/${collection}/{name}[/{version}]).`);
    }
    if (vaultUrl !== undefined && parsed.vaultUrl !== vaultUrl) {
      throw errors.invalidRequest(collection === 'secrets' ? 'secretUrl' : 'keyUrl', `'${url.slice(0, 200)}' is not in the Key Vault ${vaultUrl}.`);
    }
    return parsed;
  }
}

/** The store from the app's settings: DefaultAzureCredential in Azure, the backup identity's local credential with the emulator. */
export function keyStoreFromConfig(settings: KeyVaultSettings): AzureKeyStore {
  const credential: TokenCredential =
    settings.credential === 'local' ? new LocalPrincipalCredential({ objectId: settings.principalId ?? LOCAL_BACKUP_PRINCIPAL_ID }, localIdentityOf(settings)) : new DefaultAzureCredential();
  return new AzureKeyStore({ credential, clientOptions: (vaultUrl) => keyVaultClientOptions(vaultUrl, { caCertificateFile: settings.caCertificateFile }) });
}

/** The identity endpoint the `local` credential needs; a clear configuration error without one. */
export function localIdentityOf(settings: Pick<KeyVaultSettings, 'localIdentity'>): LocalIdentityEndpoint {
  if (settings.localIdentity === undefined) {
    throw errors.invalidConfiguration('IDENTITY_ENDPOINT', "KLUIS_KEYVAULT_CREDENTIAL=local gets its tokens from the local identity endpoint: set IDENTITY_ENDPOINT and IDENTITY_HEADER (kluis-host does so), or use 'default' in Azure");
  }
  return settings.localIdentity;
}

function versionOption(object: KeyVaultObjectUrl): { version?: string } {
  return object.version === undefined ? {} : { version: object.version };
}

function base64Of(backup: Uint8Array | undefined, url: string): string {
  if (backup === undefined || backup.length === 0) throw new KeyStoreError('notFound', `Key Vault returned no backup for ${url}.`);
  return Buffer.from(backup).toString('base64');
}

async function call<T>(url: string, permission: KeyVaultPermission, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    throw classify(err, url, permission);
  }
}

async function exists(url: string, permission: KeyVaultPermission, operation: () => Promise<unknown>): Promise<boolean> {
  try {
    await operation();
    return true;
  } catch (err) {
    const failure = classify(err, url, permission);
    if (failure.reason === 'notFound') return false;
    throw failure;
  }
}

/**
 * A KeyStoreError for the failures callers act on; any other error as it came. The message names the
 * object and status only: Key Vault's own text may quote request details.
 */
function classify(err: unknown, url: string, permission?: KeyVaultPermission): KeyStoreError | (Error & { reason?: undefined }) {
  const e = err as { statusCode?: unknown; code?: unknown; name?: unknown };
  const status = typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  if (status === 401 || status === 403) {
    const what = permission === undefined ? 'access' : `${permission.collection} ${permission.permission} permission`;
    return new KeyStoreError('forbidden', `Key Vault refused ${what} for ${url} (HTTP ${status}).`, permission, { cause: err });
  }
  if (status === 404) return new KeyStoreError('notFound', `${url} was not found (HTTP 404).`, undefined, { cause: err });
  if (status === 409) return new KeyStoreError('conflict', `${url}: the name is in use (HTTP 409).`, undefined, { cause: err });
  if (status === undefined && typeof e?.code === 'string' && UNREACHABLE.has(e.code)) {
    return new KeyStoreError('vaultNotFound', `No Key Vault answers at ${safeVault(url)} (${e.code}).`, undefined, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

function safeVault(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
