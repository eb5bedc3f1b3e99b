/**
 * Encrypted VMs (ADE) on in-memory stores: the Key Vault checks of protection and of each backup run
 * (BEK only, no access, missing key or secret, vault gone, permissions granted later), the key and
 * secret backups written as vault blobs of the point and named by the manifest, the recovery point's
 * ARM view (isSourceVMEncrypted, keyAndSecret without backup data), and the pure helpers.
 */
import { containerName, itemName } from '../../lib/domain/arm-names';
import { recoveryPointResource } from '../../lib/domain/arm/recovery-point-resource';
import type { VaultRecord } from '../../lib/domain/catalog';
import {
  encryptionToBackUp,
  keyAndSecretRecord,
  keyVaultDisplayName,
  parseKeyVaultObjectUrl,
  parseKeyVaultResourceId,
  vaultAccessNeeds,
} from '../../lib/domain/disk-encryption';
import { describeFailure, ERROR_CODES, type KluisError } from '../../lib/domain/errors';
import { parseRecoveryPointManifest } from '../../lib/engine/domain/recovery-point-manifest';
import { keyBackupBlobName, recoveryPointIdOfBlobName, secretBackupBlobName } from '../../lib/engine/domain/vault-layout';
import { vmResourceId, type VirtualMachine, type VmEncryption } from '../../lib/domain/virtual-machine';
import { backupKeyAndSecret, type BackupKeyAndSecretDeps } from '../../lib/services/backup-key-and-secret';
import { finishBackupRun, prepareBackupRun, triggerBackup, type BackupRequestDeps } from '../../lib/services/backup-requests';
import { getJob } from '../../lib/services/jobs';
import { assertKeyVaultAccess, keyVaultAccessCheck } from '../../lib/services/key-vault-access';
import { createOrUpdateVault, getVault } from '../../lib/services/vaults';
import { putProtectedItem, type ItemNames } from '../../lib/services/protection';
import { DnsKeyVaultLocator, EmulatorKeyVaultLocator } from '../../lib/stores/azure/keyvault-locator';
import type { KeyVaultPermission } from '../../lib/stores/key-store';
import { MemoryKeyStore } from '../../lib/stores/memory/key-store';
import { MemoryVmInventory } from '../../lib/stores/memory/vm-inventory';
import { memoryVaultCatalog } from '../../lib/stores/vault-catalog';
import { catalogSnapshot, rejection, SUBSCRIPTION, vaultRef } from '../support/vault-fixtures';

const START = new Date('2026-11-01T08:00:00.000Z');
const KV_URL = 'https://kv-app.vault.azure.net';
const KV_ID = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kv-app`;
const KEK_KV_URL = 'https://kv-kek.vault.azure.net';
const KEK_KV_ID = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kv-kek`;
const PRINCIPAL = '11111111-2222-4333-8444-555555555555';
const names: ItemNames = { containerName: containerName('rg-vms', 'enc1'), itemName: itemName('rg-vms', 'enc1') };
const BEK_VALUE = 'wrapped-bek-value-that-must-never-show';

const read = (collection: 'keys' | 'secrets', permission: 'get' | 'backup'): KeyVaultPermission => ({ collection, permission });

function vm(encryption?: VmEncryption): VirtualMachine {
  return {
    id: vmResourceId(SUBSCRIPTION, 'rg-vms', 'enc1'),
    subscriptionId: SUBSCRIPTION,
    resourceGroup: 'rg-vms',
    name: 'enc1',
    location: 'westeurope',
    vmSize: 'Standard_D2s_v3',
    osType: 'Linux',
    powerState: 'running',
    provisioningState: 'Succeeded',
    agent: { status: 'Ready' },
    disks: [{ kind: 'os', name: 'enc1-os', vhdUri: 'http://127.0.0.1:10000/devstoreaccount1/vhds-enc1/os.vhd', storageType: 'Standard', sizeBytes: 1024 ** 3 }],
    createdAt: START.toISOString(),
    ...(encryption === undefined ? {} : { encryption }),
  };
}

interface World {
  keys: MemoryKeyStore;
  inventory: MemoryVmInventory;
  deps: BackupRequestDeps;
  vault: () => Promise<VaultRecord>;
  /** BEK secret and KEK key in kv-app (the backup identity holds no permission there yet). */
  encryption: VmEncryption;
}

async function world(): Promise<World> {
  const keys = new MemoryKeyStore();
  keys.addVault(KV_URL, []);
  const encryption: VmEncryption = {
    enabled: true,
    bek: { secretUrl: keys.setSecret(KV_URL, 'bek-enc1', BEK_VALUE), vaultId: KV_ID },
    kek: { keyUrl: keys.createKey(KV_URL, 'kek'), vaultId: KV_ID },
  };
  const inventory = new MemoryVmInventory();
  let ids = 0;
  const deps: BackupRequestDeps = {
    catalog: memoryVaultCatalog(),
    inventory,
    clock: () => START,
    newId: () => `id-${++ids}`,
    locateDisk: (uri) => {
      const match = /^http:\/\/127\.0\.0\.1:10000\/devstoreaccount1\/([^/]+)\/(.+)$/.exec(uri);
      return match === null ? undefined : { container: match[1], blob: match[2] };
    },
    keyVault: { keyStore: keys, principalId: PRINCIPAL },
  };
  await createOrUpdateVault(deps, vaultRef(), { location: 'westeurope' });
  const vault = async () => (await getVault(deps, vaultRef())).value;
  return { keys, inventory, deps, vault, encryption };
}

const protectionDeps = (w: World) => ({ ...w.deps, inventory: w.inventory, keyVaultAccess: keyVaultAccessCheck({ keyStore: w.keys, principalId: PRINCIPAL }) });
const enable = async (w: World) => putProtectedItem(protectionDeps(w), await w.vault(), names, { sourceResourceId: vm().id, policyId: 'DefaultPolicy' });
const grantBackupService = (w: World, url = KV_URL) => w.keys.grant(url, [read('secrets', 'get'), read('secrets', 'backup'), read('keys', 'get'), read('keys', 'backup')]);

describe('enabling protection of an encrypted VM', () => {
  it('refuses a VM encrypted with a BEK only (the seed’s validation error) before asking Key Vault', async () => {
    const w = await world();
    await w.inventory.create(vm({ enabled: true, bek: w.encryption.bek }));
    const before = await catalogSnapshot(w.deps.catalog);
    const error = await rejection(enable(w));
    expect(error.code).toBe('UserErrorEncryptedVmBekOnlyNotSupported');
    expect(ERROR_CODES.UserErrorEncryptedVmBekOnlyNotSupported.recommendation).toMatch(/both BEK and a key encryption key/);
    expect(await catalogSnapshot(w.deps.catalog)).toEqual(before);
  });

  it('refuses with UserErrorKeyvaultPermissionsNotConfigured naming what is missing, where, and for whom', async () => {
    const w = await world();
    w.keys.grant(KV_URL, [read('secrets', 'get'), read('keys', 'get')]);
    await w.inventory.create(vm(w.encryption));
    const before = await catalogSnapshot(w.deps.catalog);
    const error = await rejection(enable(w));
    expect(error).toMatchObject({ code: 'UserErrorKeyvaultPermissionsNotConfigured', status: 400, target: 'properties.sourceResourceId' });
    expect(error.message).toContain("secrets backup, keys backup on Key Vault 'kv-app'");
    expect(error.message).toContain(PRINCIPAL);
    expect(error.message).toMatch(/keys get, list, backup and secrets get, list, backup/);
    expect(ERROR_CODES.UserErrorKeyvaultPermissionsNotConfigured.recommendation).toMatch(/key permissions Get, List and Backup and secret permissions Get, List and Backup/);
    expect(await catalogSnapshot(w.deps.catalog)).toEqual(before);
  });

  it('protects the VM once the backup identity may read and back up the key and secret', async () => {
    const w = await world();
    await w.inventory.create(vm(w.encryption));
    expect((await rejection(enable(w))).code).toBe('UserErrorKeyvaultPermissionsNotConfigured');
    grantBackupService(w);
    expect((await enable(w)).action).toBe('enabled');
  });

  it('names every vault when BEK and KEK live in different vaults', async () => {
    const w = await world();
    w.keys.addVault(KEK_KV_URL, []);
    const encryption: VmEncryption = { ...w.encryption, kek: { keyUrl: w.keys.createKey(KEK_KV_URL, 'kek'), vaultId: KEK_KV_ID } };
    grantBackupService(w);
    await w.inventory.create(vm(encryption));
    const error = await rejection(enable(w));
    expect(error.message).toContain("keys get, keys backup on Key Vault 'kv-kek'");
    expect(error.message).not.toContain("on Key Vault 'kv-app'");
  });

  it('refuses when the key or secret does not exist, and when the Key Vault is gone', async () => {
    const w = await world();
    grantBackupService(w);
    await w.inventory.create(vm(w.encryption));
    w.keys.deleteSecret(KV_URL, 'bek-enc1');
    const missing = await rejection(enable(w));
    expect(missing).toMatchObject({ code: 'UserErrorKeyAndSecretNotFound' });
    expect(missing.message).toContain(w.encryption.bek!.secretUrl);
    w.keys.deleteVault(KV_URL);
    expect(await rejection(enable(w))).toMatchObject({ code: 'UserErrorKeyVaultNotFound', message: expect.stringContaining("'kv-app'") });
  });

  it('does not ask Key Vault about a VM without encryption', async () => {
    const calls: string[] = [];
    await expect(assertKeyVaultAccess({ keyStore: { checkAccess: async (url) => (calls.push(url), { missing: [], notFound: [] }) } }, vm())).resolves.toBeUndefined();
    expect(calls).toEqual([]);
  });
});

describe('a protected VM encrypted later', () => {
  it('fails each backup with UserErrorKeyvaultPermissionsNotConfigured until the permissions are granted, then backs up its key and secret', async () => {
    const w = await world();
    await w.inventory.create(vm());
    await enable(w);
    const stored = (await w.inventory.getById(vm().id))!;
    await w.inventory.update({ ...vm(w.encryption) }, { ifMatch: stored.etag });

    const first = await triggerBackup(w.deps, await w.vault(), names, {}, async () => undefined);
    const error = (await prepareBackupRun(w.deps, first.ref).catch((err: unknown) => err)) as KluisError;
    expect(error).toMatchObject({ code: 'UserErrorKeyvaultPermissionsNotConfigured', target: 'vm.encryption' });
    await finishBackupRun(w.deps, first.ref, { outcome: 'Failed', warnings: [], error: describeFailure(error) });
    const failed = await getJob(w.deps, await w.vault(), first.job.jobId);
    expect(failed).toMatchObject({ status: 'Failed', errorDetails: [expect.objectContaining({ errorCode: 'UserErrorKeyvaultPermissionsNotConfigured' })] });

    grantBackupService(w);
    const second = await triggerBackup(w.deps, await w.vault(), names, {}, async () => undefined);
    const prepared = await prepareBackupRun(w.deps, second.ref);
    expect(prepared.encryption).toEqual({ bek: w.encryption.bek, kek: w.encryption.kek });
    expect(prepared.vmConfig).toMatchObject({ encrypted: true });
  });

  it('fails the backup of a VM encrypted later with a BEK only', async () => {
    const w = await world();
    await w.inventory.create(vm());
    await enable(w);
    const stored = (await w.inventory.getById(vm().id))!;
    await w.inventory.update(vm({ enabled: true, bek: w.encryption.bek }), { ifMatch: stored.etag });
    const run = await triggerBackup(w.deps, await w.vault(), names, {}, async () => undefined);
    expect((await rejection(prepareBackupRun(w.deps, run.ref))).code).toBe('UserErrorEncryptedVmBekOnlyNotSupported');
  });

  it('prepares an unencrypted VM without Key Vault access configured', async () => {
    const w = await world();
    await w.inventory.create(vm());
    await enable(w);
    const { keyVault: _none, ...withoutKeyVault } = w.deps;
    const run = await triggerBackup(withoutKeyVault, await w.vault(), names, {}, async () => undefined);
    expect((await prepareBackupRun(withoutKeyVault, run.ref)).encryption).toBeUndefined();
  });
});

describe('backing up the key and secret with a recovery point', () => {
  function blobDeps(w: World): { deps: BackupKeyAndSecretDeps; blobs: Map<string, Buffer>; logs: string[] } {
    const blobs = new Map<string, Buffer>();
    const logs: string[] = [];
    const log = (message: string) => void logs.push(message);
    return {
      blobs,
      logs,
      deps: {
        keyStore: w.keys,
        vault: {
          createContainerIfNotExists: async () => undefined,
          writeBlockBlob: async (ref, content) => void blobs.set(`${ref.container}/${ref.blob}`, Buffer.from(content)),
        },
        vaultContainer: 'kluis-vault',
        log: { info: log, warn: log, error: log },
        principalId: PRINCIPAL,
      },
    };
  }

  it('writes both Key Vault backups as blobs of the point and returns what the manifest records', async () => {
    const w = await world();
    grantBackupService(w);
    const { deps, blobs, logs } = blobDeps(w);
    const record = await backupKeyAndSecret(deps, { itemId: 'item-1', recoveryPointId: '1790000000000', vmName: 'enc1', encryption: encryptionToBackUp(w.encryption)! });
    const secretBlob = secretBackupBlobName('item-1', '1790000000000');
    const keyBlob = keyBackupBlobName('item-1', '1790000000000');
    expect(record).toEqual({
      encryptionMechanism: 'SinglePass',
      bek: { secretUrl: w.encryption.bek!.secretUrl, secretVaultId: KV_ID, backupBlobName: secretBlob },
      kek: { keyUrl: w.encryption.kek!.keyUrl, keyVaultId: KV_ID, backupBlobName: keyBlob },
    });
    expect([...blobs.keys()].sort()).toEqual([`kluis-vault/${keyBlob}`, `kluis-vault/${secretBlob}`]);
    // The backup restores the secret into an empty vault of the same store: the blob holds it.
    w.keys.addVault('https://kv-restore.vault.azure.net');
    const restored = await w.keys.restoreSecret('https://kv-restore.vault.azure.net', blobs.get(`kluis-vault/${secretBlob}`)!.toString('base64'));
    expect(w.keys.secretValue(restored.url)).toBe(BEK_VALUE);
    // The blobs belong to the point (the uncommitted-point sweeper finds them), and nothing secret was logged.
    expect(recoveryPointIdOfBlobName('item-1', secretBlob)).toBe('1790000000000');
    const backupText = blobs.get(`kluis-vault/${secretBlob}`)!.toString('base64');
    expect(logs.join('\n')).not.toContain(BEK_VALUE);
    expect(logs.join('\n')).not.toContain(backupText);
  });

  it.each([
    ['a permission revoked since the run started', (w: World) => w.keys.revoke(KV_URL, [read('keys', 'backup')]), 'UserErrorKeyvaultPermissionsNotConfigured', /keys backup on Key Vault 'kv-app'/],
    ['the KEK deleted', (w: World) => w.keys.deleteKey(KV_URL, 'kek'), 'UserErrorKeyAndSecretNotFound', /keys\/kek/],
    ['the vault deleted', (w: World) => w.keys.deleteVault(KV_URL), 'UserErrorKeyVaultNotFound', /kv-app/],
  ])('fails with the code a user can act on: %s', async (_case, change, code, message) => {
    const w = await world();
    grantBackupService(w);
    change(w);
    const { deps, blobs } = blobDeps(w);
    const error = await rejection(backupKeyAndSecret(deps, { itemId: 'item-1', recoveryPointId: '1790000000000', vmName: 'enc1', encryption: encryptionToBackUp(w.encryption)! }));
    expect(error).toMatchObject({ code, target: 'vm.encryption' });
    expect(error.message).toMatch(message);
    expect(blobs.size).toBe(0);
  });
});

describe('the recovery point of an encrypted VM, as ARM shows it', () => {
  const encryption = {
    enabled: true,
    bek: { secretUrl: `${KV_URL}/secrets/bek/0123456789abcdef0123456789abcdef`, vaultId: KV_ID },
    kek: { keyUrl: `${KV_URL}/keys/kek/fedcba9876543210fedcba9876543210`, vaultId: KV_ID },
  };
  const keyAndSecret = keyAndSecretRecord(encryptionToBackUp(encryption)!, { secretBackupBlobName: secretBackupBlobName('item-1', '1'), keyBackupBlobName: keyBackupBlobName('item-1', '1') });
  const manifest = parseRecoveryPointManifest({
    schemaVersion: 1,
    itemId: 'item-1',
    recoveryPointId: '1',
    createdAt: START.toISOString(),
    consistency: 'CrashConsistent',
    vmConfig: { name: 'enc1', encrypted: true },
    blockSize: 65536,
    hashAlgorithm: 'xxh64',
    disks: [
      {
        lun: 0,
        name: 'enc1-os',
        sizeBytes: 1024,
        storageType: 'Standard',
        source: { blobUrl: 'http://127.0.0.1:10000/devstoreaccount1/vhds/os.vhd', snapshot: 's' },
        replica: { blobName: 'items/item-1/disks/0/replica.vhd', snapshot: 'r' },
        checksumsBlobName: 'items/item-1/recoveryPoints/1/disks/0/checksums.bin',
        changeDetection: 'full',
        bytesRead: 0,
        bytesWritten: 0,
        bytesCleared: 0,
      },
    ],
    keyAndSecret,
  });
  const row = { recoveryPointId: '1', createdAt: START.toISOString(), consistency: 'CrashConsistent' as const, diskCount: 1, state: 'Committed', isSourceVmEncrypted: true };
  const item = { vm: { id: vm().id, name: 'enc1', resourceGroup: 'rg-vms', location: 'westeurope', osType: 'Linux' as const, vmSize: 'Standard_D2s_v3' } };

  it('shows isSourceVMEncrypted in a list (from the catalog row) without key and secret details or blob names', () => {
    const listed = recoveryPointResource('/item', item, row);
    expect(listed.properties.isSourceVMEncrypted).toBe(true);
    expect(listed.properties.keyAndSecret).toBeUndefined();
    expect(JSON.stringify(listed)).not.toContain('kvbackup');
  });

  it('shows keyAndSecret with URLs and vault ids on a single point, never the backup data or its blobs', () => {
    const one = recoveryPointResource('/item', item, row, manifest);
    expect(one.properties.keyAndSecret).toEqual({
      encryptionMechanism: 'SinglePass',
      bekDetails: { secretUrl: encryption.bek.secretUrl, secretVaultId: KV_ID },
      kekDetails: { keyUrl: encryption.kek.keyUrl, keyVaultId: KV_ID },
    });
    expect(JSON.stringify(one)).not.toMatch(/kvbackup|secretData|keyBackupData/);
  });
});

describe('disk encryption helpers', () => {
  it('parses Key Vault object URLs and resource ids', () => {
    expect(parseKeyVaultObjectUrl('https://kv1.vault.azure.net/secrets/bek/abc123')).toEqual({ vaultUrl: 'https://kv1.vault.azure.net', collection: 'secrets', name: 'bek', version: 'abc123' });
    expect(parseKeyVaultObjectUrl('https://127.0.0.1:4443/keys/kek')).toEqual({ vaultUrl: 'https://127.0.0.1:4443', collection: 'keys', name: 'kek' });
    for (const bad of ['http://kv1.vault.azure.net/secrets/bek', 'https://kv1.vault.azure.net/certificates/c', 'https://kv1.vault.azure.net/secrets/bek/v?x=1', 'https://kv1.vault.azure.net/secrets/a/b/c', 'not a url']) {
      expect(parseKeyVaultObjectUrl(bad)).toBeUndefined();
    }
    expect(parseKeyVaultResourceId(KV_ID)).toEqual({ subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-keys', name: 'kv-app' });
    expect(keyVaultDisplayName(KV_ID)).toBe('kv-app');
    expect(keyVaultDisplayName('elsewhere')).toBe('elsewhere');
  });

  it('checks one vault for both when BEK and KEK share it, two otherwise', () => {
    const shared = encryptionToBackUp({ enabled: true, bek: { secretUrl: `${KV_URL}/secrets/b/1`, vaultId: KV_ID }, kek: { keyUrl: `${KV_URL}/keys/k/2`, vaultId: KV_ID } })!;
    expect(vaultAccessNeeds(shared)).toEqual([{ vaultUrl: KV_URL, vaultId: KV_ID, secretUrl: `${KV_URL}/secrets/b/1`, keyUrl: `${KV_URL}/keys/k/2` }]);
    const split = { ...shared, kek: { keyUrl: `${KEK_KV_URL}/keys/k/2`, vaultId: KEK_KV_ID } };
    expect(vaultAccessNeeds(split).map((need) => need.vaultUrl)).toEqual([KV_URL, KEK_KV_URL]);
  });

  it('backs up nothing for a VM without encryption, or with a BEK only', () => {
    expect(encryptionToBackUp(undefined)).toBeUndefined();
    expect(encryptionToBackUp({ enabled: false })).toBeUndefined();
    expect(encryptionToBackUp({ enabled: true, bek: { secretUrl: `${KV_URL}/secrets/b`, vaultId: KV_ID } })).toBeUndefined();
  });
});

describe('Key Vault locators', () => {
  it('derives the URL from the resource id in Azure (sovereign clouds by DNS suffix), and refuses what is not an id', async () => {
    await expect(new DnsKeyVaultLocator().locate(KV_ID)).resolves.toEqual({ id: KV_ID, url: 'https://kv-app.vault.azure.net' });
    await expect(new DnsKeyVaultLocator('vault.azure.cn').locate(`${KV_ID}/`)).resolves.toEqual({ id: KV_ID, url: 'https://kv-app.vault.azure.cn' });
    await expect(new DnsKeyVaultLocator().locate('kv-app')).rejects.toMatchObject({ code: 'KluisInvalidRequest', target: 'keyVaultId' });
  });

  it('asks the emulator’s admin API by id, name or URL; undefined when it has no such vault', async () => {
    const vault = { id: KV_ID, name: 'kv-app', properties: { vaultUri: 'https://127.0.0.1:4443/' } };
    const asked: string[] = [];
    const authorizations = new Set<string | null>();
    const fakeFetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      asked.push(url.pathname);
      authorizations.add(new Headers(init?.headers).get('authorization'));
      const body = url.pathname === '/vaults' ? { value: [vault] } : url.pathname.toLowerCase().endsWith('/kv-app') ? vault : undefined;
      return new Response(body === undefined ? '{}' : JSON.stringify(body), { status: body === undefined ? 404 : 200 });
    }) as typeof fetch;
    const locator = new EmulatorKeyVaultLocator('http://127.0.0.1:9999', async () => 'token-of-the-backup-identity', fakeFetch);
    const expected = { id: KV_ID, url: 'https://127.0.0.1:4443' };
    await expect(locator.locate(KV_ID)).resolves.toEqual(expected);
    await expect(locator.locate('kv-app')).resolves.toEqual(expected);
    await expect(locator.locate('https://127.0.0.1:4443/secrets/bek')).resolves.toEqual(expected);
    await expect(locator.locate('kv-gone')).resolves.toBeUndefined();
    expect(asked).toEqual([KV_ID, '/vaults/kv-app', '/vaults', '/vaults/kv-gone']);
    // Every read carries the backup identity's token (the admin API refuses anonymous callers).
    expect([...authorizations]).toEqual(['Bearer token-of-the-backup-identity']);
  });
});
