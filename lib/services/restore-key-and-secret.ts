/**
 * "Restore key and secret" (a Kluis extension; Azure users run Restore-AzKeyVaultKey/-Secret on the
 * backup data of a restore): `POST {item}/recoveryPoints/{rp}/restoreKeyAndSecret` with
 * `{properties:{keyVaultId}}` brings the KEK key and BEK secret an encrypted VM's point was taken with
 * back into a Key Vault, from the Key Vault backups stored with the point (backup-key-and-secret.ts).
 * After that the point's disks can be restored (and unlocked) again.
 *
 * Synchronous: two Key Vault calls, so the answer is a 200 with the restored key and secret URLs, and no
 * job (Azure has none for it either). The key is restored first, then the secret (the secret's tags name
 * the key). Nothing is written before the checks pass; a key or secret of the same name in the target
 * vault is a 409 and is never replaced. The backups are opaque and never logged or returned.
 *
 * API:
 *   restoreKeyAndSecretRequestSchema                          the request body (zod)
 *   restoreKeyAndSecret(deps, ref, body): Promise<RestoredKeyAndSecret>
 *     KluisRecoveryPointNotEncrypted · KluisKeyVaultOutsideItemScope (another subscription or geography)
 *     · KluisCallerKeyVaultPermissionMissing (the caller's own keys/secrets restore) · UserErrorKeyVaultNotFound · UserErrorKeyvaultPermissionsNotConfigured
 *     · UserErrorKeyVaultObjectAlreadyExists · the lookups of restore-requests.ts (vault, item, point)
 * The backups' blobs are found and read by the engine (engine/restore/key-and-secret-backups.ts).
 */
import { z } from 'zod';
import { parseKeyVaultObjectUrl, parseKeyVaultResourceId } from '../domain/disk-encryption';
import { errors } from '../domain/errors';
import type { KeyAndSecretBackup } from '../engine/domain/recovery-point-manifest';
import type { DiskStore } from '../stores/disk-store';
import { keyAndSecretBackupBlobs, readKeyAndSecretBackups } from '../engine/restore/key-and-secret-backups';
import { isKeyStoreError, permissionLabel, type KeyStore, type KeyVaultCollection } from '../stores/key-store';
import type { KeyVaultAccessPolicy, KeyVaultLocator } from '../stores/key-vault-locator';
import { sameGeography } from '../domain/geography';
import type { VaultCatalog } from '../stores/vault-catalog';
import { findRestorableItem, findRestorablePoint, readPointManifest, type RecoveryPointRef } from './restore-requests';
import { getVault } from './vaults';

export const restoreKeyAndSecretRequestSchema = z.object({
  properties: z.object({
    /** ARM id of the Key Vault to restore into: /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}. */
    keyVaultId: z.string().min(1).max(1024),
  }),
});
export type RestoreKeyAndSecretRequest = z.infer<typeof restoreKeyAndSecretRequestSchema>;

export interface RestoreKeyAndSecretDeps {
  catalog: VaultCatalog;
  /** The vault storage account: manifests and the key and secret backups are read from it. */
  vault: Pick<DiskStore, 'readBlob'>;
  keyStore: Pick<KeyStore, 'restoreKey' | 'restoreSecret' | 'keyExists' | 'secretExists' | 'vaultExists'>;
  locator: KeyVaultLocator;
  /** Object id of Kluis's backup identity, named in permission errors. */
  principalId?: string;
  /**
   * Who asks: restoring keys needs the caller's own Key Vault permission (keys restore and secrets
   * restore in the target vault's access policies), as Restore-AzKeyVaultKey run by the caller would.
   */
  caller: { objectId: string; name?: string };
}

export interface RestoredKeyAndSecret {
  keyVaultId: string;
  /** The restored KEK's current version URL in the target vault. */
  keyUrl: string;
  /** The restored BEK secret's current version URL in the target vault. */
  secretUrl: string;
  /** For messages and logs. */
  vmName: string;
}

export async function restoreKeyAndSecret(deps: RestoreKeyAndSecretDeps, ref: RecoveryPointRef, body: RestoreKeyAndSecretRequest): Promise<RestoredKeyAndSecret> {
  const vault = (await getVault(deps, ref)).value;
  const item = await findRestorableItem(deps, vault, ref);
  const point = await findRestorablePoint(deps, item, ref);
  const manifest = await readPointManifest(deps, item, point);
  const blobs = keyAndSecretBackupBlobs(manifest.keyAndSecret);
  if (blobs === undefined) {
    throw errors.recoveryPointNotEncrypted(item.vm.name, point.recoveryPointId, manifest.keyAndSecret === null ? 'the VM was not encrypted' : 'it has no KEK key backup');
  }

  const keyVaultId = body.properties.keyVaultId.trim();
  const parsedId = parseKeyVaultResourceId(keyVaultId);
  if (parsedId === undefined) {
    throw errors.invalidRequest('properties.keyVaultId', `'${keyVaultId.slice(0, 200)}' is not a Key Vault resource id (/subscriptions/{id}/resourceGroups/{name}/providers/Microsoft.KeyVault/vaults/{name}).`);
  }
  const vaultName = parsedId.name;
  // As Key Vault restores backups: only in the subscription (and geography) they came from.
  if (parsedId.subscriptionId.toLowerCase() !== vault.subscriptionId.toLowerCase()) {
    throw errors.keyVaultOutsideItemScope(`Key Vault '${vaultName}' is in subscription ${parsedId.subscriptionId}, the protected item in ${vault.subscriptionId}`);
  }
  const located = await deps.locator.locate(keyVaultId);
  if (located === undefined || !(await deps.keyStore.vaultExists(located.url))) throw errors.keyVaultNotFound(item.vm.name, vaultName, 'properties.keyVaultId');
  if (located.location !== undefined && !sameGeography(located.location, vault.location)) {
    throw errors.keyVaultOutsideItemScope(`Key Vault '${vaultName}' is in ${located.location}, outside the geography of the vault's region ${vault.location}`);
  }
  assertCallerMayRestore(deps.caller, vaultName, located.accessPolicies);
  const data = await readKeyAndSecretBackups(deps.vault, point.vaultContainer, blobs, item.vm.name, point.recoveryPointId);

  // The common conflict (both still there) is found before anything is written; a soft-deleted name
  // only shows when the restore is refused.
  const taken = await takenNames(deps, located.url, manifest.keyAndSecret as KeyAndSecretBackup);
  if (taken.length > 0) throw errors.keyVaultObjectAlreadyExists(vaultName, taken);

  const keyUrl = await restored(deps, vaultName, 'keys', objectName(manifest.keyAndSecret?.kek?.keyUrl), () => deps.keyStore.restoreKey(located.url, data.keyBackupData));
  const secretUrl = await restored(deps, vaultName, 'secrets', objectName(manifest.keyAndSecret?.bek.secretUrl), () =>
    deps.keyStore.restoreSecret(located.url, data.secretData),
  );
  return { keyVaultId: located.id, keyUrl, secretUrl, vmName: item.vm.name };
}

const NEEDED = { keys: 'restore', secrets: 'restore' } as const;

/**
 * The caller's own access policy in the target vault must grant keys restore and secrets restore; a
 * vault whose policies Kluis cannot read (Azure's DNS locator) is refused rather than trusted.
 */
function assertCallerMayRestore(caller: RestoreKeyAndSecretDeps['caller'], vaultName: string, policies: readonly KeyVaultAccessPolicy[] | undefined): void {
  const who = caller.name === undefined ? caller.objectId : `${caller.name} (${caller.objectId})`;
  if (policies === undefined) throw errors.callerKeyVaultPermissionMissing(who, vaultName, ['keys restore and secrets restore (its access policies cannot be read)']);
  const policy = policies.find((entry) => entry.objectId.toLowerCase() === caller.objectId.toLowerCase());
  const holds = (collection: 'keys' | 'secrets') => (policy?.permissions[collection] ?? []).some((permission) => [NEEDED[collection], 'all'].includes(permission.toLowerCase()));
  const missing = (['keys', 'secrets'] as const).filter((collection) => !holds(collection)).map((collection) => `${collection} restore`);
  if (missing.length > 0) throw errors.callerKeyVaultPermissionMissing(who, vaultName, missing);
}
/** Names of the point's key and secret that exist in the target vault now (unknown when `get` is not granted: then the restore tells). */
async function takenNames(deps: RestoreKeyAndSecretDeps, vaultUrl: string, keyAndSecret: KeyAndSecretBackup): Promise<string[]> {
  const candidates = [
    { collection: 'keys' as const, name: objectName(keyAndSecret.kek?.keyUrl) },
    { collection: 'secrets' as const, name: objectName(keyAndSecret.bek.secretUrl) },
  ];
  const taken: string[] = [];
  for (const { collection, name } of candidates) {
    const url = `${vaultUrl}/${collection}/${name}`;
    try {
      const exists = collection === 'keys' ? await deps.keyStore.keyExists(url) : await deps.keyStore.secretExists(url);
      if (exists) taken.push(`${collection === 'keys' ? 'a key' : 'a secret'} named '${name}'`);
    } catch (err) {
      if (!isKeyStoreError(err, 'forbidden')) throw err;
    }
  }
  return taken;
}

async function restored(deps: RestoreKeyAndSecretDeps, vaultName: string, collection: KeyVaultCollection, name: string, restore: () => Promise<{ url: string }>): Promise<string> {
  try {
    return (await restore()).url;
  } catch (err) {
    if (isKeyStoreError(err, 'forbidden')) {
      const missing = err.permission === undefined ? `${collection} restore` : permissionLabel(err.permission);
      throw errors.keyvaultRestorePermissionsNotConfigured(vaultName, [missing], deps.principalId);
    }
    if (isKeyStoreError(err, 'conflict')) {
      throw errors.keyVaultObjectAlreadyExists(vaultName, [`${collection === 'keys' ? 'a key' : 'a secret'} named '${name}' (perhaps soft-deleted)`]);
    }
    if (isKeyStoreError(err, 'vaultNotFound')) throw errors.keyVaultNotFound(vaultName, vaultName, 'properties.keyVaultId');
    throw err;
  }
}

function objectName(url: string | undefined): string {
  return (url === undefined ? undefined : parseKeyVaultObjectUrl(url)?.name) ?? 'unknown';
}
