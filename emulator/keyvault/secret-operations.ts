/**
 * Key Vault's secret operations on one vault, answering with Key Vault's JSON shapes: SecretBundle
 * (`id` = https://<vault>/secrets/<name>/<version>, `value`, `attributes` with created/updated/
 * recoveryLevel), SecretItem (list entries, never a value), DeletedSecretBundle/Item (`recoveryId`,
 * `deletedDate`, `scheduledPurgeDate`). A value is returned only by set and get.
 */
import { attributesOf, objectUrl } from './bundle-fields';
import { keyVaultErrors } from './errors';
import { openBackup, sealBackup } from './backup-seal';
import { newVersionId, type DeletedObject, type StoredObject, type VersionMeta } from './object-collection';
import { readAttributes, readBase64url, readJsonObject, readOptionalString, readRequiredString, readTags, type JsonObject } from './request-body';
import type { EmulatedVault, SecretVersion } from './vault';

/** Key Vault's limit for a secret value. */
export const MAX_SECRET_VALUE_BYTES = 25 * 1024;

const current = <V extends VersionMeta>(object: StoredObject<V>): V => object.versions[object.versions.length - 1];

function secretBundle(vault: EmulatedVault, object: StoredObject<SecretVersion>, version: SecretVersion, withValue: boolean): JsonObject {
  return {
    ...(withValue ? { value: version.value } : {}),
    ...(version.contentType === undefined ? {} : { contentType: version.contentType }),
    id: objectUrl(vault, 'secrets', object.name, version.version),
    attributes: attributesOf(vault, version),
    ...(version.tags === undefined ? {} : { tags: version.tags }),
  };
}

function secretItem(vault: EmulatedVault, name: string, version: SecretVersion, versioned: boolean): JsonObject {
  return {
    id: objectUrl(vault, 'secrets', name, versioned ? version.version : undefined),
    attributes: attributesOf(vault, version),
    ...(version.contentType === undefined ? {} : { contentType: version.contentType }),
    ...(version.tags === undefined ? {} : { tags: version.tags }),
  };
}

function deletedFields(vault: EmulatedVault, deleted: DeletedObject<SecretVersion>): JsonObject {
  return { recoveryId: `${vault.baseUrl}/deletedsecrets/${deleted.name}`, deletedDate: deleted.deletedDate, scheduledPurgeDate: deleted.scheduledPurgeDate };
}

function deletedSecretBundle(vault: EmulatedVault, deleted: DeletedObject<SecretVersion>): JsonObject {
  return { ...deletedFields(vault, deleted), ...secretBundle(vault, deleted, current(deleted), false) };
}

export function setSecret(vault: EmulatedVault, name: string, rawBody: Buffer): JsonObject {
  const body = readJsonObject(rawBody);
  const value = readRequiredString(body, 'value');
  if (Buffer.byteLength(value, 'utf8') > MAX_SECRET_VALUE_BYTES) throw keyVaultErrors.badParameter(`The secret value is larger than ${MAX_SECRET_VALUE_BYTES} bytes.`);
  const attributes = readAttributes(body);
  const now = vault.nowSeconds();
  const version: SecretVersion = {
    version: newVersionId(),
    value,
    contentType: readOptionalString(body, 'contentType'),
    enabled: attributes.enabled ?? true,
    nbf: attributes.nbf,
    exp: attributes.exp,
    created: now,
    updated: now,
    tags: readTags(body),
  };
  const object = vault.secrets.addVersion(name, version);
  return secretBundle(vault, object, version, true);
}

export function getSecret(vault: EmulatedVault, name: string, version: string | undefined): JsonObject {
  const found = vault.secrets.get(name, version);
  if (!found.version.enabled) throw keyVaultErrors.disabled('secret', 'get');
  return secretBundle(vault, found.object, found.version, true);
}

export function updateSecret(vault: EmulatedVault, name: string, version: string | undefined, rawBody: Buffer): JsonObject {
  const body = readJsonObject(rawBody);
  const found = vault.secrets.get(name, version);
  const attributes = readAttributes(body);
  const contentType = readOptionalString(body, 'contentType');
  const tags = readTags(body);
  const target = found.version;
  if (attributes.enabled !== undefined) target.enabled = attributes.enabled;
  if (attributes.nbf !== undefined) target.nbf = attributes.nbf;
  if (attributes.exp !== undefined) target.exp = attributes.exp;
  if (contentType !== undefined) target.contentType = contentType;
  if (tags !== undefined) target.tags = tags;
  target.updated = vault.nowSeconds();
  return secretBundle(vault, found.object, target, false);
}

export function listSecrets(vault: EmulatedVault): JsonObject[] {
  return vault.secrets.list().map((object) => secretItem(vault, object.name, current(object), false));
}

export function listSecretVersions(vault: EmulatedVault, name: string): JsonObject[] {
  const { object, versions } = vault.secrets.versionsOf(name);
  return versions.map((version) => secretItem(vault, object.name, version, true));
}

export function deleteSecret(vault: EmulatedVault, name: string): JsonObject {
  return deletedSecretBundle(vault, vault.secrets.delete(name));
}

export function getDeletedSecret(vault: EmulatedVault, name: string): JsonObject {
  return deletedSecretBundle(vault, vault.secrets.getDeleted(name));
}

export function listDeletedSecrets(vault: EmulatedVault): JsonObject[] {
  return vault.secrets.listDeleted().map((deleted) => ({ ...deletedFields(vault, deleted), ...secretItem(vault, deleted.name, current(deleted), false) }));
}

export function recoverDeletedSecret(vault: EmulatedVault, name: string): JsonObject {
  const object = vault.secrets.recover(name);
  return secretBundle(vault, object, current(object), false);
}

export function purgeDeletedSecret(vault: EmulatedVault, name: string): void {
  vault.secrets.purge(name);
}

interface SecretBackupPayload {
  kind: 'secret';
  object: StoredObject<SecretVersion>;
}

export function backupSecret(vault: EmulatedVault, name: string): JsonObject {
  const { object } = vault.secrets.versionsOf(name);
  const payload: SecretBackupPayload = { kind: 'secret', object };
  return { value: sealBackup(vault.backupIdentity, payload).toString('base64url') };
}

export function restoreSecret(vault: EmulatedVault, rawBody: Buffer): JsonObject {
  const body = readJsonObject(rawBody);
  const payload = openBackup(vault.backupIdentity, readBase64url(body, 'value')) as Partial<SecretBackupPayload>;
  if (payload.kind !== 'secret' || payload.object === undefined || !Array.isArray(payload.object.versions) || payload.object.versions.length === 0) {
    throw keyVaultErrors.invalidBackup();
  }
  const object = vault.secrets.restore(structuredClone(payload.object));
  return secretBundle(vault, object, current(object), false);
}
