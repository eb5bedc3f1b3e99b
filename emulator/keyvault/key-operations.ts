/**
 * Key Vault's key operations on one vault (RSA keys only), answering with Key Vault's JSON shapes:
 * KeyBundle (`key` = public JWK with `kid` https://<vault>/keys/<name>/<version>, `kty`, `key_ops`,
 * `n`, `e`; `attributes`), KeyItem, DeletedKeyBundle/Item, and KeyOperationResult (`kid`, `value`) for
 * wrapKey/unwrapKey/encrypt/decrypt. Private key material never leaves the emulator except sealed in a
 * backup.
 */
import { attributesOf, objectUrl } from './bundle-fields';
import { keyVaultErrors } from './errors';
import { openBackup, sealBackup } from './backup-seal';
import { newVersionId, type DeletedObject, type StoredObject } from './object-collection';
import { readAttributes, readBase64url, readJsonObject, readTags, type JsonObject } from './request-body';
import { DEFAULT_RSA_KEY_SIZE, generateRsaKey, isRsaAlgorithm, isRsaPrivateJwk, RSA_ALGORITHMS, RSA_KEY_SIZES, rsaDecrypt, rsaEncrypt, type RsaKeySize } from './rsa-keys';
import { KEY_OPERATIONS, type EmulatedVault, type KeyOperation, type KeyVersion } from './vault';

/** What Key Vault gives an RSA key when the request names no key_ops. */
const DEFAULT_KEY_OPS: KeyOperation[] = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'];
const RSA_PUBLIC_EXPONENT = 65537;

export type CryptoOperation = 'wrapKey' | 'unwrapKey' | 'encrypt' | 'decrypt';

const current = (object: StoredObject<KeyVersion>): KeyVersion => object.versions[object.versions.length - 1];

function jsonWebKey(vault: EmulatedVault, name: string, version: KeyVersion): JsonObject {
  return { kid: objectUrl(vault, 'keys', name, version.version), kty: 'RSA', key_ops: version.keyOps, n: version.jwk.n, e: version.jwk.e };
}

function keyAttributes(vault: EmulatedVault, version: KeyVersion): Record<string, unknown> {
  return { ...attributesOf(vault, version), exportable: false };
}

function keyBundle(vault: EmulatedVault, name: string, version: KeyVersion): JsonObject {
  return {
    key: jsonWebKey(vault, name, version),
    attributes: keyAttributes(vault, version),
    ...(version.tags === undefined ? {} : { tags: version.tags }),
  };
}

function keyItem(vault: EmulatedVault, name: string, version: KeyVersion, versioned: boolean): JsonObject {
  return {
    kid: objectUrl(vault, 'keys', name, versioned ? version.version : undefined),
    attributes: keyAttributes(vault, version),
    ...(version.tags === undefined ? {} : { tags: version.tags }),
  };
}

function deletedFields(vault: EmulatedVault, deleted: DeletedObject<KeyVersion>): JsonObject {
  return { recoveryId: `${vault.baseUrl}/deletedkeys/${deleted.name}`, deletedDate: deleted.deletedDate, scheduledPurgeDate: deleted.scheduledPurgeDate };
}

function readKeyOps(body: JsonObject): KeyOperation[] | undefined {
  const ops = body.key_ops;
  if (ops === undefined || ops === null) return undefined;
  if (!Array.isArray(ops)) throw keyVaultErrors.badParameter("Property 'key_ops' must be a list of key operations.");
  return ops.map((op) => {
    const known = KEY_OPERATIONS.find((candidate) => typeof op === 'string' && candidate.toLowerCase() === op.toLowerCase());
    if (known === undefined) throw keyVaultErrors.badParameter(`'${String(op)}' is not a key operation (${KEY_OPERATIONS.join(', ')}).`);
    return known;
  });
}

function readKeySize(body: JsonObject): RsaKeySize {
  const size = body.key_size;
  if (size === undefined || size === null) return DEFAULT_RSA_KEY_SIZE;
  if (!(RSA_KEY_SIZES as readonly unknown[]).includes(size)) {
    throw keyVaultErrors.badParameter(`The specified key size (${String(size)}) is not supported. RSA keys are ${RSA_KEY_SIZES.join(', ')} bits.`);
  }
  return size as RsaKeySize;
}

export async function createKey(vault: EmulatedVault, name: string, rawBody: Buffer): Promise<JsonObject> {
  const body = readJsonObject(rawBody);
  const kty = body.kty;
  if (kty !== 'RSA') {
    if (kty === 'RSA-HSM') throw keyVaultErrors.badParameter('Key type RSA-HSM needs a Premium vault; the emulator serves Standard vaults (use RSA).');
    throw keyVaultErrors.badParameter(`The key type '${String(kty)}' is not supported by the emulator: it creates RSA keys.`);
  }
  const size = readKeySize(body);
  if (body.public_exponent !== undefined && body.public_exponent !== null && body.public_exponent !== RSA_PUBLIC_EXPONENT) {
    throw keyVaultErrors.badParameter(`The public exponent must be ${RSA_PUBLIC_EXPONENT}.`);
  }
  const keyOps = readKeyOps(body) ?? DEFAULT_KEY_OPS;
  const attributes = readAttributes(body);
  if (attributes.exportable) throw keyVaultErrors.badParameter('Exportable keys need a release policy, which the emulator does not support.');
  const tags = readTags(body);
  vault.keys.assertCanAdd(name);
  const jwk = await generateRsaKey(size);
  const now = vault.nowSeconds();
  const version: KeyVersion = { version: newVersionId(), jwk, keyOps, enabled: attributes.enabled ?? true, nbf: attributes.nbf, exp: attributes.exp, created: now, updated: now, tags };
  const object = vault.keys.addVersion(name, version);
  return keyBundle(vault, object.name, version);
}

export function getKey(vault: EmulatedVault, name: string, version: string | undefined): JsonObject {
  const found = vault.keys.get(name, version);
  return keyBundle(vault, found.object.name, found.version);
}

export function updateKey(vault: EmulatedVault, name: string, version: string | undefined, rawBody: Buffer): JsonObject {
  const body = readJsonObject(rawBody);
  const found = vault.keys.get(name, version);
  const keyOps = readKeyOps(body);
  const attributes = readAttributes(body);
  const tags = readTags(body);
  const target = found.version;
  if (keyOps !== undefined) target.keyOps = keyOps;
  if (attributes.enabled !== undefined) target.enabled = attributes.enabled;
  if (attributes.nbf !== undefined) target.nbf = attributes.nbf;
  if (attributes.exp !== undefined) target.exp = attributes.exp;
  if (tags !== undefined) target.tags = tags;
  target.updated = vault.nowSeconds();
  return keyBundle(vault, found.object.name, target);
}

export function listKeys(vault: EmulatedVault): JsonObject[] {
  return vault.keys.list().map((object) => keyItem(vault, object.name, current(object), false));
}

export function listKeyVersions(vault: EmulatedVault, name: string): JsonObject[] {
  const { object, versions } = vault.keys.versionsOf(name);
  return versions.map((version) => keyItem(vault, object.name, version, true));
}

export function deleteKey(vault: EmulatedVault, name: string): JsonObject {
  const deleted = vault.keys.delete(name);
  return { ...deletedFields(vault, deleted), ...keyBundle(vault, deleted.name, current(deleted)) };
}

export function getDeletedKey(vault: EmulatedVault, name: string): JsonObject {
  const deleted = vault.keys.getDeleted(name);
  return { ...deletedFields(vault, deleted), ...keyBundle(vault, deleted.name, current(deleted)) };
}

export function listDeletedKeys(vault: EmulatedVault): JsonObject[] {
  return vault.keys.listDeleted().map((deleted) => ({ ...deletedFields(vault, deleted), ...keyItem(vault, deleted.name, current(deleted), false) }));
}

export function recoverDeletedKey(vault: EmulatedVault, name: string): JsonObject {
  const object = vault.keys.recover(name);
  return keyBundle(vault, object.name, current(object));
}

export function purgeDeletedKey(vault: EmulatedVault, name: string): void {
  vault.keys.purge(name);
}

/** wrapKey/unwrapKey/encrypt/decrypt with RSA-OAEP or RSA-OAEP-256. */
export function keyOperation(vault: EmulatedVault, name: string, version: string | undefined, operation: CryptoOperation, rawBody: Buffer): JsonObject {
  const body = readJsonObject(rawBody);
  const algorithm = body.alg;
  if (!isRsaAlgorithm(algorithm)) {
    throw keyVaultErrors.badParameter(`The algorithm '${String(algorithm)}' is not supported for ${operation} by the emulator (${RSA_ALGORITHMS.join(', ')}).`);
  }
  const input = readBase64url(body, 'value');
  const found = vault.keys.get(name, version);
  if (!found.version.enabled) throw keyVaultErrors.disabled('key', operation);
  if (!found.version.keyOps.includes(operation)) throw keyVaultErrors.operationNotPermitted(operation);
  const encrypting = operation === 'wrapKey' || operation === 'encrypt';
  const output = encrypting ? rsaEncrypt(found.version.jwk, algorithm, input) : rsaDecrypt(found.version.jwk, algorithm, input);
  return { kid: objectUrl(vault, 'keys', found.object.name, found.version.version), value: output.toString('base64url') };
}

interface KeyBackupPayload {
  kind: 'key';
  object: StoredObject<KeyVersion>;
}

export function backupKey(vault: EmulatedVault, name: string): JsonObject {
  const { object } = vault.keys.versionsOf(name);
  const payload: KeyBackupPayload = { kind: 'key', object };
  return { value: sealBackup(vault.backupIdentity, payload).toString('base64url') };
}

export function restoreKey(vault: EmulatedVault, rawBody: Buffer): JsonObject {
  const body = readJsonObject(rawBody);
  const payload = openBackup(vault.backupIdentity, readBase64url(body, 'value')) as Partial<KeyBackupPayload>;
  const versions = payload.object?.versions;
  if (payload.kind !== 'key' || payload.object === undefined || !Array.isArray(versions) || versions.length === 0 || !versions.every((v) => isRsaPrivateJwk(v.jwk))) {
    throw keyVaultErrors.invalidBackup();
  }
  const object = vault.keys.restore(structuredClone(payload.object));
  return keyBundle(vault, object.name, current(object));
}
