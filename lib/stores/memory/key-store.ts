/**
 * An in-memory KeyStore for unit tests: vaults by URL, each with secrets and keys (versions), and the
 * permissions the backup identity holds there. It answers as Key Vault does: a missing permission is
 * refused before the object is looked up; a backup holds every version and restores only into a vault
 * of this store, under its original name, when that name is free.
 *
 * Test helpers: addVault, deleteVault, grant, revoke, setSecret, createKey, deleteSecret, deleteKey,
 * secretValue.
 */
import { normalizeVaultUrl, parseKeyVaultObjectUrl, type KeyVaultCollection } from '../../domain/disk-encryption';
import {
  KeyStoreError,
  permissionLabel,
  type AccessCheck,
  type AccessNeeds,
  type KeyStore,
  type KeyVaultPermission,
  type ObjectBackup,
  type RestoredObject,
} from '../key-store';

interface StoredObject {
  /** Version id → value (a secret's value; a key's stand-in material). */
  versions: Map<string, string>;
  current: string;
}

interface MemoryVault {
  permissions: Set<string>;
  secrets: Map<string, StoredObject>;
  keys: Map<string, StoredObject>;
}

interface BackupEnvelope {
  store: string;
  collection: KeyVaultCollection;
  name: string;
  versions: Array<[string, string]>;
  current: string;
}

const ALL_PERMISSIONS: KeyVaultPermission[] = (['keys', 'secrets'] as const).flatMap((collection) =>
  (['get', 'list', 'backup', 'restore'] as const).map((permission) => ({ collection, permission })),
);

let stores = 0;

export class MemoryKeyStore implements KeyStore {
  private readonly vaults = new Map<string, MemoryVault>();
  private readonly storeId = `memory-key-store-${++stores}`;
  private versions = 0;

  /** A vault at `url` where the backup identity holds `permissions` (default: all it could use). */
  addVault(url: string, permissions: readonly KeyVaultPermission[] = ALL_PERMISSIONS): void {
    this.vaults.set(normalizeVaultUrl(url), { permissions: new Set(permissions.map(permissionLabel)), secrets: new Map(), keys: new Map() });
  }

  deleteVault(url: string): void {
    this.vaults.delete(normalizeVaultUrl(url));
  }

  grant(url: string, permissions: readonly KeyVaultPermission[]): void {
    permissions.forEach((permission) => this.vault(url).permissions.add(permissionLabel(permission)));
  }

  revoke(url: string, permissions: readonly KeyVaultPermission[] = ALL_PERMISSIONS): void {
    permissions.forEach((permission) => this.vault(url).permissions.delete(permissionLabel(permission)));
  }

  /** Adds a version; returns its URL. */
  setSecret(vaultUrl: string, name: string, value: string): string {
    return this.addVersion(vaultUrl, 'secrets', name, value);
  }

  createKey(vaultUrl: string, name: string): string {
    return this.addVersion(vaultUrl, 'keys', name, `key-material-${this.versions + 1}`);
  }

  /** Deletes (and purges) a secret: its name is free again. */
  deleteSecret(vaultUrl: string, name: string): void {
    this.vault(vaultUrl).secrets.delete(name.toLowerCase());
  }

  deleteKey(vaultUrl: string, name: string): void {
    this.vault(vaultUrl).keys.delete(name.toLowerCase());
  }

  /** The value of the version the URL names (or the current one); undefined when absent. */
  secretValue(secretUrl: string): string | undefined {
    const parsed = parseKeyVaultObjectUrl(secretUrl);
    if (parsed === undefined) return undefined;
    const object = this.vaults.get(parsed.vaultUrl)?.secrets.get(parsed.name.toLowerCase());
    return object?.versions.get(parsed.version ?? object.current);
  }

  async checkAccess(vaultUrl: string, needs: AccessNeeds): Promise<AccessCheck> {
    const vault = this.reachable(vaultUrl);
    const result: AccessCheck = { missing: [], notFound: [] };
    const tryAll = (collection: KeyVaultCollection, url: string | undefined) => {
      if (url === undefined) return;
      let found = true;
      for (const permission of ['get', 'backup'] as const) {
        if (!vault.permissions.has(permissionLabel({ collection, permission }))) result.missing.push({ collection, permission });
        else if (this.find(url, collection) === undefined) found = false;
      }
      if (!found) result.notFound.push(url);
    };
    tryAll('secrets', needs.secretUrl);
    tryAll('keys', needs.keyUrl);
    return result;
  }

  async backupSecret(secretUrl: string): Promise<ObjectBackup> {
    return this.backup('secrets', secretUrl);
  }

  async backupKey(keyUrl: string): Promise<ObjectBackup> {
    return this.backup('keys', keyUrl);
  }

  async restoreSecret(vaultUrl: string, backup: string): Promise<RestoredObject> {
    return this.restore('secrets', vaultUrl, backup);
  }

  async restoreKey(vaultUrl: string, backup: string): Promise<RestoredObject> {
    return this.restore('keys', vaultUrl, backup);
  }

  async secretExists(secretUrl: string): Promise<boolean> {
    this.require(secretUrl, 'secrets', 'get');
    return this.find(secretUrl, 'secrets') !== undefined;
  }

  async keyExists(keyUrl: string): Promise<boolean> {
    this.require(keyUrl, 'keys', 'get');
    return this.find(keyUrl, 'keys') !== undefined;
  }

  async vaultExists(vaultUrl: string): Promise<boolean> {
    return this.vaults.has(normalizeVaultUrl(vaultUrl));
  }

  // ---- internals -------------------------------------------------------------------------------

  private vault(url: string): MemoryVault {
    const vault = this.vaults.get(normalizeVaultUrl(url));
    if (vault === undefined) throw new Error(`MemoryKeyStore: no vault at ${url}`);
    return vault;
  }

  private reachable(vaultUrl: string): MemoryVault {
    const vault = this.vaults.get(normalizeVaultUrl(vaultUrl));
    if (vault === undefined) throw new KeyStoreError('vaultNotFound', `No Key Vault answers at ${normalizeVaultUrl(vaultUrl)}.`);
    return vault;
  }

  private addVersion(vaultUrl: string, collection: KeyVaultCollection, name: string, value: string): string {
    const objects = this.vault(vaultUrl)[collection];
    const version = String(++this.versions).padStart(32, '0');
    const object = objects.get(name.toLowerCase()) ?? { versions: new Map<string, string>(), current: version };
    object.versions.set(version, value);
    object.current = version;
    objects.set(name.toLowerCase(), object);
    return `${normalizeVaultUrl(vaultUrl)}/${collection}/${name}/${version}`;
  }

  private parse(url: string, collection: KeyVaultCollection) {
    const parsed = parseKeyVaultObjectUrl(url);
    if (parsed === undefined || parsed.collection !== collection) throw new KeyStoreError('notFound', `'${url}' is not a Key Vault ${collection} URL.`);
    return parsed;
  }

  /** The version the URL names, or the current one; undefined when absent. */
  private find(url: string, collection: KeyVaultCollection): { name: string; version: string; object: StoredObject } | undefined {
    const parsed = this.parse(url, collection);
    const object = this.vaults.get(parsed.vaultUrl)?.[collection].get(parsed.name.toLowerCase());
    const version = parsed.version ?? object?.current;
    if (object === undefined || version === undefined || !object.versions.has(version)) return undefined;
    return { name: parsed.name, version, object };
  }

  private require(url: string, collection: KeyVaultCollection, permission: KeyVaultPermission['permission']): MemoryVault {
    const vault = this.reachable(this.parse(url, collection).vaultUrl);
    if (!vault.permissions.has(permissionLabel({ collection, permission }))) {
      throw new KeyStoreError('forbidden', `The backup identity does not have ${collection} ${permission} permission.`, { collection, permission });
    }
    return vault;
  }

  private backup(collection: KeyVaultCollection, url: string): ObjectBackup {
    this.require(url, collection, 'get');
    this.require(url, collection, 'backup');
    const found = this.find(url, collection);
    if (found === undefined) throw new KeyStoreError('notFound', `${url} was not found.`);
    const envelope: BackupEnvelope = { store: this.storeId, collection, name: found.name, versions: [...found.object.versions], current: found.object.current };
    const { vaultUrl } = this.parse(url, collection);
    return { backup: Buffer.from(JSON.stringify(envelope)).toString('base64'), versionUrl: `${vaultUrl}/${collection}/${found.name}/${found.version}` };
  }

  private restore(collection: KeyVaultCollection, vaultUrl: string, backup: string): RestoredObject {
    const vault = this.reachable(vaultUrl);
    if (!vault.permissions.has(permissionLabel({ collection, permission: 'restore' }))) {
      throw new KeyStoreError('forbidden', `The identity does not have ${collection} restore permission.`, { collection, permission: 'restore' });
    }
    let envelope: BackupEnvelope;
    try {
      envelope = JSON.parse(Buffer.from(backup, 'base64').toString('utf8')) as BackupEnvelope;
    } catch {
      throw new Error('Backup blob contains invalid data.');
    }
    if (envelope.store !== this.storeId || envelope.collection !== collection) throw new Error('Backup blob contains invalid data.');
    if (vault[collection].has(envelope.name.toLowerCase())) throw new KeyStoreError('conflict', `${envelope.name} already exists in ${normalizeVaultUrl(vaultUrl)}.`);
    vault[collection].set(envelope.name.toLowerCase(), { versions: new Map(envelope.versions), current: envelope.current });
    return { url: `${normalizeVaultUrl(vaultUrl)}/${collection}/${envelope.name}/${envelope.current}` };
  }
}
