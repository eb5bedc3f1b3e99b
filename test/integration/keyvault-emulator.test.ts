/**
 * The Key Vault emulator through the real @azure/keyvault-secrets and @azure/keyvault-keys clients:
 * every secret and key operation Kluis relies on, the bearer-token challenge, access policies, backups
 * that restore only within one emulator, several vaults at once, and logs free of secret material.
 */
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { KeyClient, parseKeyVaultKeyIdentifier, type KeyVaultKey } from '@azure/keyvault-keys';
import { parseKeyVaultSecretIdentifier, SecretClient } from '@azure/keyvault-secrets';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { VaultDescription } from '../../emulator/keyvault';
import {
  ALL_PERMISSIONS,
  capturingLogger,
  cryptographyClient,
  keyClient,
  newObjectId,
  principalCredential,
  restErrorOf,
  secretClient,
  startTestKeyVaultEmulator,
  uniqueVaultName,
  useKeyVaultEmulator,
} from '../support/keyvault';
import { testTokenIssuer } from '../support/token-issuer';

const POLL = { intervalInMs: 10 };
const DAY_IN_MS = 24 * 60 * 60 * 1000;

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request trusting the emulator's CA, outside the SDK (to see exactly what goes over the wire). */
function rawRequest(url: string, ca: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: options.method ?? 'GET', headers: options.headers, ca: [...rootCertificates, ca] }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function bearer(objectId: string, tenantId?: string): Promise<string> {
  const token = await (await testTokenIssuer()).credential(objectId, tenantId === undefined ? {} : { tenantId }).getToken('https://vault.azure.net/.default');
  return `Bearer ${token?.token ?? ''}`;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe('Key Vault emulator through the real SDK clients', () => {
  const { logger, lines } = capturingLogger();
  const kv = useKeyVaultEmulator({ logger });
  /** Everything that must never reach a log line: secret values, wrapped keys, backup blobs. */
  const sensitive: string[] = [];
  const operator = newObjectId();
  let vault: VaultDescription;

  beforeAll(async () => {
    vault = await kv().createVault({ name: uniqueVaultName('kv-main'), accessPolicies: [{ objectId: operator, permissions: ALL_PERMISSIONS }] });
  });

  // One client each, as an app would keep them: every new client pays the challenge and a TLS handshake.
  let operatorSecrets: SecretClient | undefined;
  let operatorKeys: KeyClient | undefined;
  const secrets = () => (operatorSecrets ??= secretClient(kv(), vault, operator));
  const keys = () => (operatorKeys ??= keyClient(kv(), vault, operator));
  const newValue = (label: string): string => {
    const value = `${label}-${randomBytes(12).toString('hex')}`;
    sensitive.push(value);
    return value;
  };

  // Two keys most tests share: RSA generation is the slow part of this suite.
  let shared: Promise<{ kek: KeyVaultKey; other: KeyVaultKey }> | undefined;
  const sharedKeys = () => {
    shared ??= Promise.all([keys().createRsaKey('kek-shared'), keys().createRsaKey('kek-shared-other')]).then(([kek, other]) => ({ kek, other }));
    return shared;
  };

  describe('secrets', () => {
    it('sets versions and gets the latest and each by version, with Key Vault ids and attributes', async () => {
      const [first, second] = [newValue('first'), newValue('second')];
      const v1 = await secrets().setSecret('Bek-Secret', first, { contentType: 'Wrapped BEK', tags: { DiskEncryptionKeyFileName: 'bek.BEK' } });
      const v2 = await secrets().setSecret('bek-secret', second);

      expect(v1.value).toBe(first);
      expect(v1.properties.id).toBe(`${vault.url}/secrets/Bek-Secret/${v1.properties.version}`);
      expect(v1.properties.version).toMatch(/^[0-9a-f]{32}$/);
      expect(parseKeyVaultSecretIdentifier(v2.properties.id!)).toEqual({ sourceId: v2.properties.id, vaultUrl: vault.url, name: 'Bek-Secret', version: v2.properties.version });
      expect(v1.properties).toMatchObject({ enabled: true, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90, contentType: 'Wrapped BEK', tags: { DiskEncryptionKeyFileName: 'bek.BEK' } });
      expect(Math.abs(v1.properties.createdOn!.getTime() - Date.now())).toBeLessThan(60_000);
      expect(v1.properties.updatedOn).toEqual(v1.properties.createdOn);

      const latest = await secrets().getSecret('BEK-SECRET');
      expect(latest.value).toBe(second);
      expect(latest.properties.version).toBe(v2.properties.version);
      expect((await secrets().getSecret('bek-secret', { version: v1.properties.version })).value).toBe(first);

      const listed = await collect(secrets().listPropertiesOfSecrets());
      const entry = listed.find((p) => p.name === 'Bek-Secret');
      expect(entry).toMatchObject({ id: `${vault.url}/secrets/Bek-Secret`, vaultUrl: vault.url, enabled: true });
      expect(entry).not.toHaveProperty('value');
      const versions = await collect(secrets().listPropertiesOfSecretVersions('bek-secret'));
      expect(versions.map((p) => p.version).sort()).toEqual([v1.properties.version, v2.properties.version].sort());
      expect(versions.every((p) => p.id === `${vault.url}/secrets/Bek-Secret/${p.version}`)).toBe(true);
    });

    it('refuses a missing secret, a bad name and a disabled version with Key Vault codes', async () => {
      expect(await restErrorOf(secrets().getSecret('never-set'))).toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
      const set = await secrets().setSecret('disabled-one', newValue('disabled'));
      expect(await restErrorOf(secrets().getSecret('disabled-one', { version: '0'.repeat(32) }))).toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
      expect(await restErrorOf(secrets().setSecret('bad_name', 'x'))).toMatchObject({ statusCode: 400, code: 'BadParameter' });

      const updated = await secrets().updateSecretProperties('disabled-one', set.properties.version!, { enabled: false });
      expect(updated.enabled).toBe(false);
      expect(await restErrorOf(secrets().getSecret('disabled-one'))).toMatchObject({ statusCode: 403, code: 'Forbidden', innerCode: 'SecretDisabled' });
    });

    it('soft-deletes, shows the deleted secret, refuses its name, recovers it, and purges it', async () => {
      const value = newValue('recoverable');
      await secrets().setSecret('soft-deleted', value);
      const deleted = await (await secrets().beginDeleteSecret('soft-deleted', POLL)).pollUntilDone();
      expect(deleted.recoveryId).toBe(`${vault.url}/deletedsecrets/soft-deleted`);
      expect(deleted.scheduledPurgeDate!.getTime() - deleted.deletedOn!.getTime()).toBe(90 * DAY_IN_MS);
      expect(deleted.value).toBeUndefined();

      expect(await restErrorOf(secrets().getSecret('soft-deleted'))).toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
      expect(await restErrorOf(secrets().setSecret('soft-deleted', 'new'))).toMatchObject({ statusCode: 409, code: 'Conflict', innerCode: 'ObjectIsDeletedButRecoverable' });
      expect((await secrets().getDeletedSecret('soft-deleted')).name).toBe('soft-deleted');
      expect((await collect(secrets().listDeletedSecrets())).map((s) => s.name)).toContain('soft-deleted');

      const recovered = await (await secrets().beginRecoverDeletedSecret('soft-deleted', POLL)).pollUntilDone();
      expect(recovered.name).toBe('soft-deleted');
      expect((await secrets().getSecret('soft-deleted')).value).toBe(value);

      await (await secrets().beginDeleteSecret('soft-deleted', POLL)).pollUntilDone();
      await secrets().purgeDeletedSecret('soft-deleted');
      expect(await restErrorOf(secrets().getDeletedSecret('soft-deleted'))).toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
      expect(await restErrorOf(secrets().purgeDeletedSecret('soft-deleted'))).toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
      await secrets().setSecret('soft-deleted', newValue('reused'));
    });

    it('backs up, and after delete and purge restores every version under its old id', async () => {
      const [first, second] = [newValue('backup-1'), newValue('backup-2')];
      const v1 = await secrets().setSecret('backed-up', first);
      await secrets().setSecret('backed-up', second);
      const backup = (await secrets().backupSecret('backed-up'))!;
      sensitive.push(Buffer.from(backup).toString('base64url'));
      expect(Buffer.from(backup).toString('latin1')).not.toContain(first);

      expect(await restErrorOf(secrets().restoreSecretBackup(backup))).toMatchObject({ statusCode: 409, code: 'Conflict' });
      await (await secrets().beginDeleteSecret('backed-up', POLL)).pollUntilDone();
      expect(await restErrorOf(secrets().restoreSecretBackup(backup))).toMatchObject({ statusCode: 409, innerCode: 'ObjectIsDeletedButRecoverable' });
      await secrets().purgeDeletedSecret('backed-up');

      const restored = await secrets().restoreSecretBackup(backup);
      expect(restored.name).toBe('backed-up');
      expect((await secrets().getSecret('backed-up')).value).toBe(second);
      expect((await secrets().getSecret('backed-up', { version: v1.properties.version })).value).toBe(first);
      expect(await collect(secrets().listPropertiesOfSecretVersions('backed-up'))).toHaveLength(2);
    });

    it('pages lists with maxresults and nextLink', async () => {
      const paged = await kv().createVault({ name: uniqueVaultName('kv-paged'), accessPolicies: [{ objectId: operator, permissions: ALL_PERMISSIONS }] });
      const client = secretClient(kv(), paged, operator);
      for (const name of ['a', 'b', 'c', 'd', 'e']) await client.setSecret(`page-${name}`, newValue(name));
      const pages: string[][] = [];
      for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 2 })) pages.push(page.map((p) => p.name));
      expect(pages).toEqual([['page-a', 'page-b'], ['page-c', 'page-d'], ['page-e']]);
      expect((await collect(client.listPropertiesOfSecrets())).map((p) => p.name)).toEqual(['page-a', 'page-b', 'page-c', 'page-d', 'page-e']);
    });
  });

  describe('keys', () => {
    it('creates RSA keys of 2048, 3072 and 4096 bits and gets, lists and lists versions', async () => {
      const [k2048, k3072, k4096] = await Promise.all([keys().createRsaKey('kek-2048'), keys().createRsaKey('kek-3072', { keySize: 3072 }), keys().createRsaKey('kek-4096', { keySize: 4096 })]);
      expect([k2048, k3072, k4096].map((k) => k.key!.n!.length * 8)).toEqual([2048, 3072, 4096]);
      expect(k2048.keyType).toBe('RSA');
      expect(k2048.keyOperations).toEqual(['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey']);
      expect(k2048.key!.d).toBeUndefined();
      expect(Buffer.from(k2048.key!.e!).toString('hex')).toBe('010001');
      expect(parseKeyVaultKeyIdentifier(k2048.id!)).toEqual({ sourceId: k2048.id, vaultUrl: vault.url, name: 'kek-2048', version: k2048.properties.version });
      expect(k2048.properties).toMatchObject({ enabled: true, exportable: false, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 });

      const second = await keys().createRsaKey('KEK-2048');
      expect((await keys().getKey('kek-2048')).id).toBe(second.id);
      expect(second.name).toBe('kek-2048');
      expect((await keys().getKey('kek-2048', { version: k2048.properties.version })).key!.n).toEqual(k2048.key!.n);
      const listed = await collect(keys().listPropertiesOfKeys());
      expect(listed.find((p) => p.name === 'kek-2048')).toMatchObject({ id: `${vault.url}/keys/kek-2048`, enabled: true });
      const versions = await collect(keys().listPropertiesOfKeyVersions('kek-2048'));
      expect(versions.map((p) => p.version).sort()).toEqual([k2048.properties.version, second.properties.version].sort());

      expect(await restErrorOf(keys().getKey('no-such-key'))).toMatchObject({ statusCode: 404, code: 'KeyNotFound' });
      expect(await restErrorOf(keys().createRsaKey('small', { keySize: 1024 }))).toMatchObject({ statusCode: 400, code: 'BadParameter' });
      expect(await restErrorOf(keys().createEcKey('elliptic'))).toMatchObject({ statusCode: 400, code: 'BadParameter' });
    });

    it('wraps and unwraps with RSA-OAEP and RSA-OAEP-256: the unwrapped key equals the original', async () => {
      const { kek, other } = await sharedKeys();
      const bek = randomBytes(32);
      sensitive.push(bek.toString('base64url'), bek.toString('hex'));
      const crypto = cryptographyClient(kv(), kek.id!, operator);

      for (const algorithm of ['RSA-OAEP', 'RSA-OAEP-256'] as const) {
        const wrapped = await crypto.wrapKey(algorithm, bek);
        sensitive.push(Buffer.from(wrapped.result).toString('base64url'));
        expect(wrapped.keyID).toBe(kek.id);
        expect(Buffer.from(wrapped.result)).toHaveLength(256);
        const unwrapped = await crypto.unwrapKey(algorithm, wrapped.result);
        expect(Buffer.from(unwrapped.result).equals(bek)).toBe(true);
        const wrongKey = cryptographyClient(kv(), other.id!, operator);
        expect(await restErrorOf(wrongKey.unwrapKey(algorithm, wrapped.result))).toMatchObject({ statusCode: 400, code: 'BadParameter' });
      }

      // Without keys/get the SDK cannot wrap locally: the emulator's wrapKey does it.
      const wrapper = newObjectId();
      kv().setAccessPolicy(vault.name, { objectId: wrapper, permissions: { keys: ['wrapKey', 'unwrapKey'] } });
      const remote = cryptographyClient(kv(), kek.id!, wrapper);
      const wrapped = await remote.wrapKey('RSA-OAEP', bek);
      expect(Buffer.from((await crypto.unwrapKey('RSA-OAEP', wrapped.result)).result).equals(bek)).toBe(true);
      expect(Buffer.from((await remote.unwrapKey('RSA-OAEP', wrapped.result)).result).equals(bek)).toBe(true);

      const unversioned = cryptographyClient(kv(), `${vault.url}/keys/${kek.name}`, wrapper);
      expect(Buffer.from((await unversioned.unwrapKey('RSA-OAEP', wrapped.result)).result).equals(bek)).toBe(true);
    });

    it('soft-deletes, shows the deleted key, recovers it, and purges it', async () => {
      const created = await keys().createRsaKey('kek-deleted');
      const deleted = await (await keys().beginDeleteKey('kek-deleted', POLL)).pollUntilDone();
      expect(deleted.properties.recoveryId).toBe(`${vault.url}/deletedkeys/kek-deleted`);
      expect(deleted.id).toBe(created.id);
      expect(await restErrorOf(keys().getKey('kek-deleted'))).toMatchObject({ statusCode: 404, code: 'KeyNotFound' });
      expect(await restErrorOf(keys().createRsaKey('kek-deleted'))).toMatchObject({ statusCode: 409, innerCode: 'ObjectIsDeletedButRecoverable' });
      expect((await keys().getDeletedKey('kek-deleted')).key!.n).toEqual(created.key!.n);
      expect((await collect(keys().listDeletedKeys())).map((k) => k.name)).toContain('kek-deleted');

      await (await keys().beginRecoverDeletedKey('kek-deleted', POLL)).pollUntilDone();
      expect((await keys().getKey('kek-deleted')).id).toBe(created.id);

      await (await keys().beginDeleteKey('kek-deleted', POLL)).pollUntilDone();
      await keys().purgeDeletedKey('kek-deleted');
      expect(await restErrorOf(keys().getDeletedKey('kek-deleted'))).toMatchObject({ statusCode: 404, code: 'KeyNotFound' });
    });

    it('backs up, and after delete and purge restores the key: values wrapped before unwrap after', async () => {
      const { kek } = await sharedKeys();
      const bek = randomBytes(32);
      const wrapped = await cryptographyClient(kv(), kek.id!, operator).wrapKey('RSA-OAEP', bek);
      const backup = (await keys().backupKey(kek.name))!;
      sensitive.push(Buffer.from(backup).toString('base64url'));

      await (await keys().beginDeleteKey(kek.name, POLL)).pollUntilDone();
      await keys().purgeDeletedKey(kek.name);
      expect(await restErrorOf(keys().getKey(kek.name))).toMatchObject({ statusCode: 404 });

      const restored = await keys().restoreKeyBackup(backup);
      expect(restored.id).toBe(kek.id);
      const unwrapped = await cryptographyClient(kv(), kek.id!, operator).unwrapKey('RSA-OAEP', wrapped.result);
      expect(Buffer.from(unwrapped.result).equals(bek)).toBe(true);
    });
  });

  it('restores backups into another vault of the same emulator, never into another emulator, and refuses damaged blobs', async () => {
    const { kek } = await sharedKeys();
    const value = newValue('travelling');
    await secrets().setSecret('bek-travelling', value);
    const keyBackup = (await keys().backupKey(kek.name))!;
    const secretBackup = (await secrets().backupSecret('bek-travelling'))!;

    const sibling = await kv().createVault({ name: uniqueVaultName('kv-sibling'), accessPolicies: [{ objectId: operator, permissions: ALL_PERMISSIONS }] });
    const restoredKey = await keyClient(kv(), sibling, operator).restoreKeyBackup(keyBackup);
    expect(restoredKey.id).toBe(`${sibling.url}/keys/${kek.name}/${kek.properties.version}`);
    await secretClient(kv(), sibling, operator).restoreSecretBackup(secretBackup);
    expect((await secretClient(kv(), sibling, operator).getSecret('bek-travelling')).value).toBe(value);

    const other = await startTestKeyVaultEmulator();
    try {
      const foreign = await other.emulator.createVault({ name: uniqueVaultName('kv-foreign'), accessPolicies: [{ objectId: operator, permissions: ALL_PERMISSIONS }] });
      const keyError = await restErrorOf(keyClient(other.emulator, foreign, operator).restoreKeyBackup(keyBackup));
      expect(keyError).toMatchObject({ statusCode: 400, code: 'BadParameter' });
      expect(keyError.message).toMatch(/same emulator/);
      expect(await restErrorOf(secretClient(other.emulator, foreign, operator).restoreSecretBackup(secretBackup))).toMatchObject({ statusCode: 400, code: 'BadParameter' });
    } finally {
      await other.dispose();
    }

    const tampered = Buffer.from(secretBackup);
    tampered[tampered.length - 1] ^= 0xff;
    expect(await restErrorOf(secrets().restoreSecretBackup(tampered))).toMatchObject({ statusCode: 400, message: 'Backup blob contains invalid data.' });
    expect(await restErrorOf(keys().restoreKeyBackup(secretBackup))).toMatchObject({ statusCode: 400, message: 'Backup blob contains invalid data.' });
  });

  it('answers an unauthenticated request with 401 and the challenge, then accepts the token', async () => {
    const raw = await rawRequest(`${vault.url}/secrets?api-version=2025-07-01`, kv().caCertificatePem);
    expect(raw.status).toBe(401);
    expect(raw.headers['www-authenticate']).toBe(`Bearer authorization="https://login.microsoftonline.com/${vault.tenantId}", resource="https://vault.azure.net"`);
    expect(JSON.parse(raw.body)).toEqual({ error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } });

    const seen: { status: number; authorized: boolean }[] = [];
    const recorder: PipelinePolicy = {
      name: 'recordWire',
      sendRequest: async (request, next) => {
        const authorized = request.headers.has('authorization');
        const response = await next(request);
        seen.push({ status: response.status, authorized });
        return response;
      },
    };
    const client = secretClient(kv(), vault, operator, { additionalPolicies: [{ policy: recorder, position: 'perRetry' }] });
    const value = newValue('challenge');
    await client.setSecret('after-challenge', value);
    expect((await client.getSecret('after-challenge')).value).toBe(value);
    expect(seen).toEqual([
      { status: 401, authorized: false },
      { status: 200, authorized: true },
      { status: 200, authorized: true },
    ]);

    const otherTenant = await rawRequest(`${vault.url}/secrets?api-version=2025-07-01`, kv().caCertificatePem, { headers: { authorization: await bearer(operator, '11111111-1111-1111-1111-111111111111') } });
    expect(otherTenant.status).toBe(401);
    expect(JSON.parse(otherTenant.body).error.message).toMatch(/^AKV10032: Invalid issuer/);
    const noVersion = await rawRequest(`${vault.url}/secrets`, kv().caCertificatePem, { headers: { authorization: await bearer(operator) } });
    expect(noVersion.status).toBe(400);
    expect(JSON.parse(noVersion.body).error.code).toBe('BadParameter');
    const oldVersion = await rawRequest(`${vault.url}/secrets?api-version=1999-01-01`, kv().caCertificatePem, { headers: { authorization: await bearer(operator) } });
    expect(JSON.parse(oldVersion.body).error.message).toBe('The specified version (1999-01-01) is not recognized. Consider using the latest supported version (2025-07-01).');
    const unknown = await rawRequest(`${vault.url}/certificates?api-version=7.6`, kv().caCertificatePem, { headers: { authorization: await bearer(operator) } });
    expect(unknown.status).toBe(404);
  });

  it('enforces access policies: 403 naming the missing permission until it is granted', async () => {
    const reader = newObjectId();
    kv().setAccessPolicy(vault.name, { objectId: reader, permissions: { secrets: ['Get'], keys: ['get'] } });
    const { kek } = await sharedKeys();
    const wrapped = await cryptographyClient(kv(), kek.id!, operator).wrapKey('RSA-OAEP-256', randomBytes(32));

    const denied = await restErrorOf(secretClient(kv(), vault, reader).setSecret('policy-secret', newValue('policy')));
    expect(denied).toMatchObject({ statusCode: 403, code: 'Forbidden', innerCode: 'AccessDenied' });
    expect(denied.message).toContain(`oid=${reader}`);
    expect(denied.message).toContain(`does not have secrets set permission on key vault '${vault.name};location=westeurope'`);
    const unwrapDenied = await restErrorOf(cryptographyClient(kv(), kek.id!, reader).unwrapKey('RSA-OAEP-256', wrapped.result));
    expect(unwrapDenied).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(unwrapDenied.message).toContain('does not have keys unwrapKey permission');
    const stranger = await restErrorOf(secretClient(kv(), vault, newObjectId()).getSecret('policy-secret'));
    expect(stranger.message).toContain('does not have secrets get permission');

    const granted = await fetch(`${kv().adminUrl}/vaults/${vault.name}/accessPolicies`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ objectId: reader, permissions: { secrets: ['get', 'set'], keys: ['get', 'unwrapKey'] } }),
    });
    expect(granted.status).toBe(200);
    const value = newValue('granted');
    await secretClient(kv(), vault, reader).setSecret('policy-secret', value);
    expect((await secretClient(kv(), vault, reader).getSecret('policy-secret')).value).toBe(value);
    expect((await cryptographyClient(kv(), kek.id!, reader).unwrapKey('RSA-OAEP-256', wrapped.result)).result).toHaveLength(32);
    expect(await restErrorOf(secretClient(kv(), vault, reader).beginDeleteSecret('policy-secret', POLL))).toMatchObject({ statusCode: 403 });
  });

  it('serves two vaults at once, each with its own URL and contents', async () => {
    const [east, west] = await Promise.all([
      kv().createVault({ name: uniqueVaultName('kv-east'), location: 'East US', accessPolicies: [{ objectId: operator, permissions: ALL_PERMISSIONS }] }),
      kv().createVault({ name: uniqueVaultName('kv-west'), accessPolicies: [{ objectId: operator, permissions: ALL_PERMISSIONS }] }),
    ]);
    expect(east.url).not.toBe(west.url);
    expect(east.location).toBe('eastus');
    const [eastValue, westValue] = [newValue('east'), newValue('west')];
    await Promise.all([secretClient(kv(), east, operator).setSecret('same-name', eastValue), secretClient(kv(), west, operator).setSecret('same-name', westValue)]);
    const [fromEast, fromWest] = await Promise.all([secretClient(kv(), east, operator).getSecret('same-name'), secretClient(kv(), west, operator).getSecret('same-name')]);
    expect([fromEast.value, fromWest.value]).toEqual([eastValue, westValue]);
    expect(fromEast.properties.vaultUrl).toBe(east.url);
    expect(kv().getVault(east.id)?.url).toBe(east.url);
    expect(kv().getVault(`${west.url}/secrets/same-name`)?.name).toBe(west.name);
  });

  it('keeps TLS verification on: a client that does not trust the CA is refused', async () => {
    const untrusting = new SecretClient(vault.url, principalCredential(kv(), operator), { disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } });
    const error = await restErrorOf(untrusting.getSecret('anything'));
    expect(error.code).toMatch(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
  });

  it('never logs a secret value, key material or backup blob (this runs last)', () => {
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.some((line) => line.includes('"status":401'))).toBe(true);
    for (const value of sensitive) expect(lines.filter((line) => line.includes(value))).toEqual([]);
  });
});
