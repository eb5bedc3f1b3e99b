/**
 * Azure Disk Encryption (ADE) as backup sees it: the BEK secret and KEK key a VM's encryption
 * settings name, which Key Vaults must be checked for what, and how a recovery point records the
 * backups of both (the manifest's `keyAndSecret`). Also Key Vault object URLs and resource ids, and the
 * tags ADE puts on a BEK secret. Pure: no I/O.
 */
import type { KeyAndSecretBackup } from '../engine/domain/recovery-point-manifest';
import type { KeyVaultKeyRef, KeyVaultSecretRef, VmEncryption } from './virtual-machine';

export type KeyVaultCollection = 'keys' | 'secrets';

/**
 * Azure's `encryptionMechanism` of a recovery point: ADE without an Entra ID application ("single
 * pass") is what current ADE does and what the local fabric's encrypt command does.
 */
export const ENCRYPTION_MECHANISM = 'SinglePass';

/** The tags ADE puts on the BEK secret (Azure's names). */
export const ADE_SECRET_TAGS = {
  fileName: 'DiskEncryptionKeyFileName',
  algorithm: 'DiskEncryptionKeyEncryptionAlgorithm',
  keyEncryptionKeyUrl: 'DiskEncryptionKeyEncryptionKeyURL',
  machineName: 'MachineName',
} as const;

/** The only wrapping algorithm ADE uses for the BEK. */
export const ADE_WRAP_ALGORITHM = 'RSA-OAEP';

const KEY_VAULT_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.KeyVault\/vaults\/([^/]+)$/i;
const OBJECT_NAME = /^[0-9a-zA-Z-]{1,127}$/;
const OBJECT_VERSION = /^[0-9a-zA-Z]{1,64}$/;

export function keyVaultResourceId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.KeyVault/vaults/${name}`;
}

/** The parts of a Key Vault resource id, or undefined when it is not one. */
export function parseKeyVaultResourceId(id: string): { subscriptionId: string; resourceGroup: string; name: string } | undefined {
  const match = KEY_VAULT_ID.exec(id.trim().replace(/\/+$/, ''));
  if (!match) return undefined;
  const [, subscriptionId, resourceGroup, name] = match;
  return { subscriptionId, resourceGroup, name };
}

/** The vault's name for messages: the last segment of its resource id, else the id as given. */
export function keyVaultDisplayName(vaultId: string): string {
  return parseKeyVaultResourceId(vaultId)?.name ?? vaultId;
}

export interface KeyVaultObjectUrl {
  /** `https://host[:port]`: what the SDK clients take. */
  vaultUrl: string;
  collection: KeyVaultCollection;
  name: string;
  version?: string;
}

/**
 * The parts of a Key Vault object URL (`https://{vault}/secrets/{name}[/{version}]`, `…/keys/…`);
 * undefined when it is not one (other scheme, query string, credentials, extra path).
 */
export function parseKeyVaultObjectUrl(url: string): KeyVaultObjectUrl | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' || parsed.search !== '' || parsed.username !== '' || parsed.password !== '') return undefined;
  const [collection, name, version, ...rest] = parsed.pathname.split('/').filter((segment) => segment !== '');
  if ((collection !== 'secrets' && collection !== 'keys') || name === undefined || rest.length > 0) return undefined;
  if (!OBJECT_NAME.test(name) || (version !== undefined && !OBJECT_VERSION.test(version))) return undefined;
  return { vaultUrl: `${parsed.protocol}//${parsed.host}`, collection, name, ...(version === undefined ? {} : { version }) };
}

/** `https://host[:port]` of a vault URL given with or without a trailing slash. */
export function normalizeVaultUrl(vaultUrl: string): string {
  const parsed = new URL(vaultUrl);
  return `${parsed.protocol}//${parsed.host}`;
}

/** What a backup of an encrypted VM saves besides its disks: the BEK secret and the KEK key. */
export interface EncryptionToBackUp {
  bek: KeyVaultSecretRef;
  kek: KeyVaultKeyRef;
}

/**
 * The key and secret to back up with the VM's disks: undefined for a VM without encryption. A VM
 * encrypted with a BEK only cannot be backed up (protection refuses it with
 * UserErrorEncryptedVmBekOnlyNotSupported); here it also yields undefined, and the caller decides.
 */
export function encryptionToBackUp(encryption: VmEncryption | undefined): EncryptionToBackUp | undefined {
  if (encryption?.enabled !== true || encryption.bek === undefined || encryption.kek === undefined) return undefined;
  return { bek: { ...encryption.bek }, kek: { ...encryption.kek } };
}

/** One vault to check, and what must be readable in it. */
export interface VaultAccessNeed {
  vaultUrl: string;
  /** The vault's resource id as the VM's settings give it (for messages). */
  vaultId: string;
  secretUrl?: string;
  keyUrl?: string;
}

/**
 * The vaults the backup service must be able to read, one entry per vault URL (BEK and KEK often share
 * one). Throws nothing: a URL that is not a Key Vault object URL is returned under its own origin, and
 * the store reports what it finds there.
 */
export function vaultAccessNeeds(encryption: EncryptionToBackUp): VaultAccessNeed[] {
  const needs = new Map<string, VaultAccessNeed>();
  const entry = (url: string, vaultId: string): VaultAccessNeed => {
    const vaultUrl = parseKeyVaultObjectUrl(url)?.vaultUrl ?? safeOrigin(url);
    let need = needs.get(vaultUrl);
    if (need === undefined) {
      need = { vaultUrl, vaultId };
      needs.set(vaultUrl, need);
    }
    return need;
  };
  entry(encryption.bek.secretUrl, encryption.bek.vaultId).secretUrl = encryption.bek.secretUrl;
  entry(encryption.kek.keyUrl, encryption.kek.vaultId).keyUrl = encryption.kek.keyUrl;
  return [...needs.values()];
}

/** The manifest's record of the key and secret backed up with a point (blob names, never the data). */
export function keyAndSecretRecord(encryption: EncryptionToBackUp, blobs: { secretBackupBlobName: string; keyBackupBlobName: string }): KeyAndSecretBackup {
  return {
    encryptionMechanism: ENCRYPTION_MECHANISM,
    bek: { secretUrl: encryption.bek.secretUrl, secretVaultId: encryption.bek.vaultId, backupBlobName: blobs.secretBackupBlobName },
    kek: { keyUrl: encryption.kek.keyUrl, keyVaultId: encryption.kek.vaultId, backupBlobName: blobs.keyBackupBlobName },
  };
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
