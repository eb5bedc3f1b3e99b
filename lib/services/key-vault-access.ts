/**
 * Can the backup service back up an encrypted VM's key and secret? Checked when protection is enabled
 * (ProtectionDeps.keyVaultAccess) and again when each backup starts (prepareBackupRun), so a VM that is
 * encrypted after it was protected backs up again once — and only once — the permissions are granted.
 *
 * Per Key Vault the VM uses (BEK and KEK often share one), the store tries get and backup of the secret
 * and of the key as the backup identity. Outcomes, in this order:
 *   a vault does not answer                  → UserErrorKeyVaultNotFound
 *   an operation is refused                  → UserErrorKeyvaultPermissionsNotConfigured (what is missing, where, for whom)
 *   the secret or key does not exist         → UserErrorKeyAndSecretNotFound
 * A BEK without a KEK is not checked here: protection refuses it first (UserErrorEncryptedVmBekOnlyNotSupported).
 *
 * At restore the other way round: the key and secret the point was taken with must still exist
 * (assertKeyAndSecretPresent), else the restored disks could not be unlocked.
 *
 * API:
 *   assertKeyVaultAccess(deps, vm, target?): Promise<EncryptionToBackUp | undefined>
 *   keyVaultAccessCheck(deps): KeyVaultAccessCheck       (for ProtectionDeps.keyVaultAccess)
 *   assertKeyAndSecretPresent(deps, vmName, keyAndSecret, target?): Promise<void>
 */
import {
  encryptionToBackUp,
  keyVaultDisplayName,
  parseKeyVaultObjectUrl,
  parseKeyVaultResourceId,
  vaultAccessNeeds,
  type EncryptionToBackUp,
} from '../domain/disk-encryption';
import { errors } from '../domain/errors';
import type { KeyAndSecretBackup } from '../engine/domain/recovery-point-manifest';
import type { VirtualMachine } from '../domain/virtual-machine';
import { isKeyStoreError, permissionLabel, type KeyStore } from '../stores/key-store';
import type { KeyVaultLocator } from '../stores/key-vault-locator';
import type { KeyVaultAccessCheck } from './protection';

export interface KeyVaultAccessDeps {
  keyStore: Pick<KeyStore, 'checkAccess'>;
  /** Object id of Kluis's backup identity, named in permission errors (KLUIS_KEYVAULT_PRINCIPAL_ID). */
  principalId?: string;
}

/**
 * Checks the VM's Key Vault access; returns what a backup saves besides the disks (undefined for a VM
 * without encryption, or with a BEK only). `target` is the field errors name.
 */
export async function assertKeyVaultAccess(
  deps: KeyVaultAccessDeps,
  vm: Pick<VirtualMachine, 'name' | 'encryption'>,
  target = 'properties.sourceResourceId',
): Promise<EncryptionToBackUp | undefined> {
  const encryption = encryptionToBackUp(vm.encryption);
  if (encryption === undefined) return undefined;
  const refused: Array<{ vault: string; missing: string[] }> = [];
  const notFound: string[] = [];
  for (const need of vaultAccessNeeds(encryption)) {
    let check;
    try {
      check = await deps.keyStore.checkAccess(need.vaultUrl, { secretUrl: need.secretUrl, keyUrl: need.keyUrl });
    } catch (err) {
      if (isKeyStoreError(err, 'vaultNotFound')) throw errors.keyVaultNotFound(vm.name, keyVaultDisplayName(need.vaultId), target);
      throw err;
    }
    if (check.missing.length > 0) refused.push({ vault: keyVaultDisplayName(need.vaultId), missing: check.missing.map(permissionLabel) });
    notFound.push(...check.notFound);
  }
  if (refused.length > 0) throw errors.keyvaultPermissionsNotConfigured(vm.name, refused, deps.principalId, target);
  if (notFound.length > 0) throw errors.keyAndSecretNotFound(vm.name, notFound, target);
  return encryption;
}

/** The protection service's hook: refuses to protect an encrypted VM whose key and secret the backup could not save. */
export function keyVaultAccessCheck(deps: KeyVaultAccessDeps): KeyVaultAccessCheck {
  return async (vm) => {
    await assertKeyVaultAccess(deps, vm);
  };
}

// ---- restore ---------------------------------------------------------------------------------------

export interface KeyAndSecretPresenceDeps {
  keyStore: Pick<KeyStore, 'vaultExists' | 'secretExists' | 'keyExists'>;
  locator: KeyVaultLocator;
  principalId?: string;
}

/**
 * Before restoring a point of an encrypted VM: its Key Vault(s) must exist and still hold the BEK secret
 * and KEK key the point was taken with, or the restored disks cannot be unlocked. The vault is found by
 * its resource id (its URL may have changed, e.g. a re-created emulator vault); the objects by name and
 * version there. UserErrorKeyVaultNotFound · UserErrorKeyAndSecretNotFound ("restore the key and secret
 * first") · UserErrorKeyvaultPermissionsNotConfigured (the backup identity may not even read them).
 */
export async function assertKeyAndSecretPresent(
  deps: KeyAndSecretPresenceDeps,
  vmName: string,
  keyAndSecret: KeyAndSecretBackup,
  target = 'recoveryPointId',
): Promise<void> {
  const objects = [
    { collection: 'secrets' as const, url: keyAndSecret.bek.secretUrl, vaultId: keyAndSecret.bek.secretVaultId },
    ...(keyAndSecret.kek === undefined ? [] : [{ collection: 'keys' as const, url: keyAndSecret.kek.keyUrl, vaultId: keyAndSecret.kek.keyVaultId }]),
  ];
  const missing: string[] = [];
  const refused: Array<{ vault: string; missing: string[] }> = [];
  for (const object of objects) {
    const url = await currentObjectUrl(deps, vmName, object.url, object.vaultId, target);
    try {
      const exists = object.collection === 'secrets' ? await deps.keyStore.secretExists(url) : await deps.keyStore.keyExists(url);
      if (!exists) missing.push(url);
    } catch (err) {
      if (isKeyStoreError(err, 'forbidden')) refused.push({ vault: keyVaultDisplayName(object.vaultId), missing: [`${object.collection} get`] });
      else if (isKeyStoreError(err, 'vaultNotFound')) throw errors.keyVaultNotFound(vmName, keyVaultDisplayName(object.vaultId), target);
      else throw err;
    }
  }
  if (refused.length > 0) throw errors.keyvaultPermissionsNotConfigured(vmName, refused, deps.principalId, target);
  if (missing.length > 0) throw errors.keyAndSecretNotFound(vmName, missing, target);
}

/** The object's URL in its vault as the vault is found now (by resource id); UserErrorKeyVaultNotFound when it is gone. */
async function currentObjectUrl(deps: KeyAndSecretPresenceDeps, vmName: string, objectUrl: string, vaultId: string, target: string): Promise<string> {
  const parsed = parseKeyVaultObjectUrl(objectUrl);
  const located = parseKeyVaultResourceId(vaultId) === undefined ? undefined : await deps.locator.locate(vaultId);
  const vaultUrl = located?.url ?? (parseKeyVaultResourceId(vaultId) === undefined ? parsed?.vaultUrl : undefined);
  if (vaultUrl === undefined || parsed === undefined || !(await deps.keyStore.vaultExists(vaultUrl))) {
    throw errors.keyVaultNotFound(vmName, keyVaultDisplayName(vaultId), target);
  }
  return `${vaultUrl}/${parsed.collection}/${parsed.name}${parsed.version === undefined ? '' : `/${parsed.version}`}`;
}
