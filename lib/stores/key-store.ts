/**
 * Key Vault as Kluis needs it for VMs encrypted with Azure Disk Encryption: may the backup identity
 * read and back up the VM's BEK secret and KEK key; opaque backups of them; restoring such a backup
 * into a vault; and whether a vault, secret or key exists.
 *
 * Key Vault has no "what may I do" call, so access is checked by trying the operations the backup
 * needs (get and backup of the secret and of the key). Backups are opaque base64 text: only Key
 * Vault (of the same geography, or the same emulator) can restore them, and they never reach a log.
 *
 * Failures a caller acts on are KeyStoreErrors with a `reason` (forbidden, notFound, vaultNotFound,
 * conflict); anything else (throttling that outlived the SDK's retries, …) is thrown as it came.
 *
 * Implementations: azure/keyvault-key-store.ts (the real SDK clients: Key Vault in Azure, the emulator
 * locally), memory/key-store.ts (unit tests).
 */
import type { KeyVaultCollection } from '../domain/disk-encryption';

export type { KeyVaultCollection };
/** The permissions Kluis uses; Azure Backup's access policy template also grants `list`. */
export type KeyVaultPermissionName = 'get' | 'list' | 'backup' | 'restore';

export interface KeyVaultPermission {
  collection: KeyVaultCollection;
  permission: KeyVaultPermissionName;
}

/** `secrets get`, `keys backup`: how access policies and Key Vault's messages name a permission. */
export function permissionLabel(permission: KeyVaultPermission): string {
  return `${permission.collection} ${permission.permission}`;
}

/** What Azure Backup's "Azure Backup" access policy template grants, and what our error asks for. */
export const BACKUP_SERVICE_PERMISSIONS: readonly KeyVaultPermission[] = [
  { collection: 'keys', permission: 'get' },
  { collection: 'keys', permission: 'list' },
  { collection: 'keys', permission: 'backup' },
  { collection: 'secrets', permission: 'get' },
  { collection: 'secrets', permission: 'list' },
  { collection: 'secrets', permission: 'backup' },
];

/** The objects whose `get` and `backup` must succeed; both live in the vault checked. */
export interface AccessNeeds {
  /** The BEK secret (its versioned URL, as the VM's encryption settings record it). */
  secretUrl?: string;
  /** The KEK key. */
  keyUrl?: string;
}

export interface AccessCheck {
  /** The operations the vault refused (403), in the order tried; empty when access is complete. */
  missing: KeyVaultPermission[];
  /** URLs of needed objects that do not exist (the vault allowed the operation but found nothing). */
  notFound: string[];
}

export interface ObjectBackup {
  /** Opaque Key Vault backup (every version of the object), base64. Never log it. */
  backup: string;
  /** The version the VM uses (the URL given if it named a version, else the current version's URL). */
  versionUrl: string;
}

export interface RestoredObject {
  /** The restored object's current version URL in the target vault. */
  url: string;
}

export interface KeyStore {
  /** Tries every operation the needs imply as the backup identity; the vault must answer (else vaultNotFound). */
  checkAccess(vaultUrl: string, needs: AccessNeeds): Promise<AccessCheck>;
  backupSecret(secretUrl: string): Promise<ObjectBackup>;
  backupKey(keyUrl: string): Promise<ObjectBackup>;
  /** Restores a backup under its original name (conflict when that name is in use, also by a soft-deleted object). */
  restoreSecret(vaultUrl: string, backup: string): Promise<RestoredObject>;
  restoreKey(vaultUrl: string, backup: string): Promise<RestoredObject>;
  /** The version named by the URL (or the current one) exists and is not deleted. */
  secretExists(secretUrl: string): Promise<boolean>;
  keyExists(keyUrl: string): Promise<boolean>;
  /** Something answers at the vault URL (an authorization failure still counts as existing). */
  vaultExists(vaultUrl: string): Promise<boolean>;
}

export type KeyStoreFailure = 'forbidden' | 'notFound' | 'vaultNotFound' | 'conflict';

export class KeyStoreError extends Error {
  override readonly name = 'KeyStoreError';
  constructor(
    readonly reason: KeyStoreFailure,
    message: string,
    /** For `forbidden`: the permission that was missing, when known. */
    readonly permission?: KeyVaultPermission,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Structural check (name and reason), so errors from another copy of this module still count. */
export function isKeyStoreError(err: unknown, reason?: KeyStoreFailure): err is KeyStoreError {
  if (typeof err !== 'object' || err === null) return false;
  const candidate = err as { name?: unknown; reason?: unknown };
  return candidate.name === 'KeyStoreError' && typeof candidate.reason === 'string' && (reason === undefined || candidate.reason === reason);
}
