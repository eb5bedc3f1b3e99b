/**
 * The Key Vault emulator's admin API (vaults and access policies over plain HTTP, ARM shapes), its
 * persistence across restarts (same URLs, same backup identity), and purge of soft-deleted objects
 * when their retention ends.
 */
import { statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { vaultResource } from '../../emulator/keyvault';
import { ALL_PERMISSIONS, keyClient, newObjectId, remoteKeyVault, restErrorOf, secretClient, startTestKeyVaultEmulator, uniqueVaultName, useKeyVaultEmulator } from '../support/keyvault';
import { http } from '../support/host-process';

interface VaultResourceBody {
  id: string;
  name: string;
  type: string;
  location: string;
  properties: { tenantId: string; vaultUri: string; softDeleteRetentionInDays: number; accessPolicies: { objectId: string; permissions: { keys: string[]; secrets: string[] } }[] };
}

describe('Key Vault emulator admin API', () => {
  const kv = useKeyVaultEmulator();

  it('creates, shows, looks up by ARM id, lists and deletes vaults in ARM shapes', async () => {
    const name = uniqueVaultName('kv-admin');
    const objectId = newObjectId();
    const created = await http<VaultResourceBody>(`${kv().adminUrl}/vaults`, {
      body: { name, location: 'North Europe', resourceGroup: 'rg-keys', softDeleteRetentionInDays: 7, accessPolicies: [{ objectId, permissions: { keys: ['Get', 'List', 'Backup'], secrets: ['get', 'list', 'backup'] } }] },
    });
    expect(created.status).toBe(201);
    const vault = created.body;
    expect(vault).toMatchObject({
      id: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/${name}`,
      name,
      type: 'Microsoft.KeyVault/vaults',
      location: 'northeurope',
      properties: { softDeleteRetentionInDays: 7, accessPolicies: [{ objectId, permissions: { keys: ['get', 'list', 'backup'], secrets: ['get', 'list', 'backup'] } }] },
    });
    expect(vault.properties.vaultUri).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);

    expect((await http(`${kv().adminUrl}/vaults`, { body: { name: name.toUpperCase() } })).body).toMatchObject({ error: { code: 'VaultAlreadyExists' } });
    expect((await http(`${kv().adminUrl}/vaults/${name}`)).body).toEqual(vault);
    expect((await http(`${kv().adminUrl}${vault.id.toLowerCase()}`)).body).toEqual(vault);
    expect((await http<{ value: VaultResourceBody[] }>(`${kv().adminUrl}/vaults`)).body.value.map((v) => v.name)).toContain(name);
    expect(vaultResource(kv().getVault(vault.properties.vaultUri)!)).toEqual(vault);

    const description = kv().getVault(name)!;
    const client = secretClient(kv(), description, objectId);
    expect(await restErrorOf(client.getSecret('missing'))).toMatchObject({ statusCode: 404 });
    expect((await http(`${kv().adminUrl}/vaults/${name}`, { method: 'DELETE' })).status).toBe(200);
    expect((await http(`${kv().adminUrl}/vaults/${name}`, { method: 'DELETE' })).status).toBe(204);
    expect((await http(`${kv().adminUrl}/vaults/${name}`)).body).toMatchObject({ error: { code: 'ResourceNotFound' } });
    expect((await restErrorOf(secretClient(kv(), description, objectId).getSecret('missing'))).code).toBe('ECONNREFUSED');
  });

  it('refuses bad vault parameters and unknown permissions with 400 naming the field', async () => {
    const post = (body: unknown) => http<{ error: { code: string; message: string } }>(`${kv().adminUrl}/vaults`, { body });
    for (const [body, field] of [
      [{ name: 'x' }, 'name'],
      [{ name: '1starts-with-digit' }, 'name'],
      [{ name: 'double--hyphen' }, 'name'],
      [{ name: uniqueVaultName(), softDeleteRetentionInDays: 3 }, 'softDeleteRetentionInDays'],
      [{ name: uniqueVaultName(), subscriptionId: 'not-a-guid' }, 'subscriptionId'],
      [{ name: uniqueVaultName(), accessPolicies: [{ objectId: 'a', permissions: { secrets: ['read'] } }] }, 'permissions.secrets'],
    ] as const) {
      const answer = await post(body);
      expect(answer.status).toBe(400);
      expect(answer.body.error.message).toContain(`'${field}'`);
    }
    const name = uniqueVaultName();
    await kv().createVault({ name });
    const policy = await http(`${kv().adminUrl}/vaults/${name}/accessPolicies`, { method: 'PUT', body: { objectId: newObjectId(), permissions: { keys: ['wrap'] } } });
    expect(policy.status).toBe(400);
    expect((await http(`${kv().adminUrl}/vaults/nope-${name}/accessPolicies`, { method: 'PUT', body: { objectId: 'x' } })).status).toBe(404);
  });

  it('is driven from another process through the admin API alone', async () => {
    const remote = await remoteKeyVault(kv().adminUrl);
    expect(remote.caCertificatePem).toBe(kv().caCertificatePem);
    const objectId = newObjectId();
    const vault = await remote.createVault({ name: uniqueVaultName('kv-remote') });
    expect(vault).toEqual(kv().getVault(vault.name));
    await remote.setAccessPolicy(vault.name, { objectId, permissions: { secrets: ['set', 'get'] } });
    await secretClient(remote, vault, objectId).setSecret('remote', 'value');
    expect((await secretClient(remote, vault, objectId).getSecret('remote')).value).toBe('value');
    await remote.deleteVault(vault.name);
    expect(kv().getVault(vault.name)).toBeUndefined();
  });

  it('removes a principal from the access policies', async () => {
    const objectId = newObjectId();
    const vault = await kv().createVault({ name: uniqueVaultName(), accessPolicies: [{ objectId, permissions: ALL_PERMISSIONS }] });
    const client = secretClient(kv(), vault, objectId);
    await client.setSecret('before', 'kept');
    const removed = await http<VaultResourceBody>(`${kv().adminUrl}/vaults/${vault.name}/accessPolicies/${objectId}`, { method: 'DELETE' });
    expect(removed.body.properties.accessPolicies).toEqual([]);
    expect(await restErrorOf(client.getSecret('before'))).toMatchObject({ statusCode: 403, code: 'Forbidden' });
  });
});

describe('Key Vault emulator state', () => {
  it('purges soft-deleted objects when their retention ends', async () => {
    let now = new Date('2026-03-01T10:00:00Z');
    const { emulator, dispose } = await startTestKeyVaultEmulator({ now: () => now });
    try {
      const objectId = newObjectId();
      const vault = await emulator.createVault({ name: uniqueVaultName(), softDeleteRetentionInDays: 7, accessPolicies: [{ objectId, permissions: ALL_PERMISSIONS }] });
      const client = secretClient(emulator, vault, objectId);
      const set = await client.setSecret('expiring', 'value');
      expect(set.properties.createdOn).toEqual(now);
      expect(set.properties.recoveryLevel).toBe('CustomizedRecoverable+Purgeable');
      const deleted = await (await client.beginDeleteSecret('expiring', { intervalInMs: 10 })).pollUntilDone();
      expect(deleted.scheduledPurgeDate).toEqual(new Date('2026-03-08T10:00:00Z'));
      now = new Date('2026-03-08T09:59:59Z');
      expect((await client.getDeletedSecret('expiring')).name).toBe('expiring');
      now = new Date('2026-03-08T10:00:00Z');
      expect(await restErrorOf(client.getDeletedSecret('expiring'))).toMatchObject({ statusCode: 404 });
      await client.setSecret('expiring', 'again');
    } finally {
      await dispose();
    }
  });

  it('keeps vaults, their URLs, keys, secrets and backup identity across a restart when persisting', async () => {
    const first = await startTestKeyVaultEmulator({ persistState: true });
    const objectId = newObjectId();
    let backup: Uint8Array;
    let vaultUrl: string;
    try {
      const vault = await first.emulator.createVault({ name: uniqueVaultName('kv-kept'), accessPolicies: [{ objectId, permissions: ALL_PERMISSIONS }] });
      vaultUrl = vault.url;
      await secretClient(first.emulator, vault, objectId).setSecret('bek', 'kept value');
      await keyClient(first.emulator, vault, objectId).createRsaKey('kek');
      backup = (await secretClient(first.emulator, vault, objectId).backupSecret('bek'))!;
      expect(statSync(path.join(first.dataDir, 'state.json')).mode & 0o777).toBe(0o600);
    } finally {
      await first.emulator.stop();
    }

    const second = await startTestKeyVaultEmulator({ persistState: true, dataDir: first.dataDir });
    try {
      expect(second.emulator.caCertificatePem).toBe(first.emulator.caCertificatePem);
      const vault = second.emulator.getVault(vaultUrl)!;
      expect(vault.url).toBe(vaultUrl);
      const secrets = secretClient(second.emulator, vault, objectId);
      expect((await secrets.getSecret('bek')).value).toBe('kept value');
      expect((await keyClient(second.emulator, vault, objectId).getKey('kek')).keyType).toBe('RSA');
      await (await secrets.beginDeleteSecret('bek', { intervalInMs: 10 })).pollUntilDone();
      await secrets.purgeDeletedSecret('bek');
      await secrets.restoreSecretBackup(backup);
      expect((await secrets.getSecret('bek')).value).toBe('kept value');
    } finally {
      await second.emulator.stop();
    }
    await first.dispose();
  });

  it('refuses to start when a saved vault port is taken, leaving the saved state as it was', async () => {
    const first = await startTestKeyVaultEmulator({ persistState: true });
    const vault = await first.emulator.createVault({ name: uniqueVaultName('kv-port') });
    await first.emulator.stop();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(vault.port, '127.0.0.1', resolve));
    try {
      await expect(startTestKeyVaultEmulator({ persistState: true, dataDir: first.dataDir })).rejects.toMatchObject({ code: 'VaultPortInUse' });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    const again = await startTestKeyVaultEmulator({ persistState: true, dataDir: first.dataDir });
    expect(again.emulator.getVault(vault.name)?.url).toBe(vault.url);
    await again.emulator.stop();
    await first.dispose();
  });
});
