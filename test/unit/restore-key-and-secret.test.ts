/**
 * "Restore key and secret" on in-memory stores: the KEK key and BEK secret backups stored with an
 * encrypted VM's point go back into the Key Vault a request names (after they were deleted and purged),
 * and the answer names the restored URLs only; the refusals (not encrypted, no such Key Vault, not a Key
 * Vault id, missing keys/secrets restore permission, a name already in use) write nothing. Also: a restore
 * request for such a point names the encryption-info blob in its job's property bag.
 */
import { BLOCK_SIZE, HASH_ALGORITHM } from '../../lib/engine/domain/block-sums';
import { nameRow, vaultKey, vaultPartition, vaultRow, type ProtectedItemRecord } from '../../lib/domain/catalog';
import { keyVaultResourceId } from '../../lib/domain/disk-encryption';
import { errors, type KluisError } from '../../lib/domain/errors';
import { RECOVERY_POINT_MANIFEST_SCHEMA_VERSION, serializeRecoveryPointManifest, type RecoveryPointManifest } from '../../lib/engine/domain/recovery-point-manifest';
import { keyBackupBlobName, secretBackupBlobName } from '../../lib/engine/domain/vault-layout';
import { restoreKeyAndSecret, type RestoreKeyAndSecretDeps } from '../../lib/services/restore-key-and-secret';
import { acceptRestoreRequest, type RecoveryPointRef } from '../../lib/services/restore-requests';
import { DnsKeyVaultLocator } from '../../lib/stores/azure/keyvault-locator';
import type { KeyVaultAccessPolicy } from '../../lib/stores/key-vault-locator';
import type { BlobRef } from '../../lib/stores/disk-store';
import { MemoryKeyStore } from '../../lib/stores/memory/key-store';
import { MemoryVmInventory } from '../../lib/stores/memory/vm-inventory';
import { memoryVaultCatalog } from '../../lib/stores/vault-catalog';
import { vaultRecord } from '../support/vault-fixtures';

const SUB = '00000000-0000-0000-0000-0000000000ab';
const VAULT_ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v1`;
const CONTAINER = 'IaasVMContainer;iaasvmcontainerv2;prod;enc1';
const ITEM = 'VM;iaasvmcontainerv2;prod;enc1';
const ENGINE_ITEM = 'item-enc1';
const POINT = '1767225600000';
const KV_ID = keyVaultResourceId(SUB, 'rg-keys', 'kv-source');
const KV_URL = 'https://kv-source.vault.azure.net';
const OTHER_KV_ID = keyVaultResourceId(SUB, 'rg-keys', 'kv-other');
const OTHER_KV_URL = 'https://kv-other.vault.azure.net';
const BEK_VALUE = 'd3JhcHBlZC1iZWstdmFsdWUtdGhhdC1tdXN0LW5vdC1sZWFr';
const ref: RecoveryPointRef = { subscriptionId: SUB, resourceGroup: 'rg', vaultName: 'v1', fabricName: 'Azure', containerName: CONTAINER, itemName: ITEM, recoveryPointId: POINT };

interface World {
  deps: RestoreKeyAndSecretDeps;
  keys: MemoryKeyStore;
  blobs: Map<string, Buffer>;
  secretUrl: string;
  keyUrl: string;
  /** Region and access policies per Key Vault id (lower case); others are in westeurope with the caller allowed to restore. */
  placed: Map<string, { location: string; policies: KeyVaultAccessPolicy[] }>;
}

async function world(options: { encrypted?: boolean } = {}): Promise<World> {
  const catalog = memoryVaultCatalog();
  const keys = new MemoryKeyStore();
  keys.addVault(KV_URL);
  keys.addVault(OTHER_KV_URL);
  const keyUrl = keys.createKey(KV_URL, 'kek-enc1');
  const secretUrl = keys.setSecret(KV_URL, 'bek-enc1', BEK_VALUE);
  const blobs = new Map<string, Buffer>();
  const encrypted = options.encrypted ?? true;
  if (encrypted) {
    blobs.set(`kluis-vault/${secretBackupBlobName(ENGINE_ITEM, POINT)}`, Buffer.from((await keys.backupSecret(secretUrl)).backup, 'base64'));
    blobs.set(`kluis-vault/${keyBackupBlobName(ENGINE_ITEM, POINT)}`, Buffer.from((await keys.backupKey(keyUrl)).backup, 'base64'));
  }
  const vault = vaultRecord(SUB, 'rg', 'v1');
  await catalog.vaults.insert(vaultPartition(SUB), vaultRow('rg', 'v1'), vault);
  const item: ProtectedItemRecord = {
    vaultId: VAULT_ID,
    containerName: CONTAINER,
    itemName: ITEM,
    engineItemId: ENGINE_ITEM,
    vm: { id: `/subscriptions/${SUB}/resourceGroups/prod/providers/Microsoft.Compute/virtualMachines/enc1`, name: 'enc1', resourceGroup: 'prod', location: 'westeurope', osType: 'Linux', vmSize: 'Standard_B1s' },
    policyName: 'DefaultPolicy',
    protectionState: 'Protected',
    healthStatus: 'Passed',
    onDemandBackups: [],
    createdAt: '2026-01-01T00:00:00.000Z',
  };
  await catalog.items.insert(vaultKey(SUB, 'rg', 'v1'), nameRow(ITEM), item);
  await catalog.recoveryPoints.put({
    itemId: ENGINE_ITEM,
    recoveryPointId: POINT,
    createdAt: '2026-01-01T00:00:00.000Z',
    consistency: 'FileSystemConsistent',
    vaultContainer: 'kluis-vault',
    manifestBlobName: `items/${ENGINE_ITEM}/points/${POINT}/manifest.json`,
    diskCount: 1,
    state: 'Committed',
  });
  const manifest: RecoveryPointManifest = {
    schemaVersion: RECOVERY_POINT_MANIFEST_SCHEMA_VERSION,
    itemId: ENGINE_ITEM,
    recoveryPointId: POINT,
    createdAt: '2026-01-01T00:00:00.000Z',
    consistency: 'FileSystemConsistent',
    vmConfig: { osType: 'Linux', vmSize: 'Standard_B1s', encryption: { enabled: encrypted } },
    blockSize: BLOCK_SIZE,
    hashAlgorithm: HASH_ALGORITHM,
    disks: [
      {
        lun: 0,
        name: 'osdisk',
        sizeBytes: 4 * 1024 * 1024 + 512,
        storageType: 'Standard',
        source: { blobUrl: 'http://127.0.0.1:10000/devstoreaccount1/vhds/enc1-0.vhd', snapshot: '2026-01-01T00:00:00.0000000Z' },
        replica: { blobName: `items/${ENGINE_ITEM}/disks/lun0.vhd`, snapshot: '2026-01-01T00:00:01.0000000Z' },
        checksumsBlobName: `items/${ENGINE_ITEM}/points/${POINT}/lun0.sums`,
        changeDetection: 'full',
        bytesRead: 1,
        bytesWritten: 1,
        bytesCleared: 0,
      },
    ],
    keyAndSecret: encrypted
      ? {
          encryptionMechanism: 'SinglePass',
          bek: { secretUrl, secretVaultId: KV_ID, backupBlobName: secretBackupBlobName(ENGINE_ITEM, POINT) },
          kek: { keyUrl, keyVaultId: KV_ID, backupBlobName: keyBackupBlobName(ENGINE_ITEM, POINT) },
        }
      : null,
  };
  blobs.set(`kluis-vault/items/${ENGINE_ITEM}/points/${POINT}/manifest.json`, Buffer.from(serializeRecoveryPointManifest(manifest)));
  const readBlob = async (blob: BlobRef): Promise<Buffer> => {
    const found = blobs.get(`${blob.container}/${blob.blob}`);
    if (found === undefined) throw errors.blobNotFound(blob.container, blob.blob);
    return found;
  };
  // Where the vaults are, their region and their access policies (the caller may restore keys and secrets).
  const placed = new Map<string, { location: string; policies: KeyVaultAccessPolicy[] }>();
  const dns = new DnsKeyVaultLocator();
  const locator = {
    locate: async (id: string) => {
      const found = await dns.locate(id);
      const extra = placed.get(id.toLowerCase()) ?? { location: 'westeurope', policies: [{ objectId: CALLER.objectId, permissions: { keys: ['Get', 'Restore'], secrets: ['restore'] } }] };
      return found === undefined ? undefined : { ...found, location: extra.location, accessPolicies: extra.policies };
    },
  };
  return {
    deps: { catalog, vault: { readBlob }, keyStore: keys, locator, principalId: '00000000-0000-0000-0000-00000000bac0', caller: CALLER },
    keys,
    blobs,
    secretUrl,
    keyUrl,
    placed,
  };
}

async function refusal(promise: Promise<unknown>): Promise<KluisError> {
  try {
    await promise;
  } catch (err) {
    return err as KluisError;
  }
  throw new Error('expected a refusal');
}

const body = (keyVaultId: string) => ({ properties: { keyVaultId } });
const CALLER = { objectId: '0000000a-0000-4000-8000-0000000000ca', name: 'operator@kluis.local' };

describe('restoreKeyAndSecret', () => {
  it('restores the deleted and purged key and secret into the Key Vault named, and answers their URLs only', async () => {
    const w = await world();
    w.keys.deleteKey(KV_URL, 'kek-enc1');
    w.keys.deleteSecret(KV_URL, 'bek-enc1');
    expect(await w.keys.secretExists(w.secretUrl)).toBe(false);

    const restored = await restoreKeyAndSecret(w.deps, ref, body(KV_ID));

    expect(restored).toEqual({ keyVaultId: KV_ID, keyUrl: w.keyUrl, secretUrl: w.secretUrl, vmName: 'enc1' });
    expect(await w.keys.keyExists(w.keyUrl)).toBe(true);
    expect(w.keys.secretValue(w.secretUrl)).toBe(BEK_VALUE);
    expect(JSON.stringify(restored)).not.toContain(BEK_VALUE);
  });

  it('restores into another Key Vault (same key and secret names and versions there)', async () => {
    const w = await world();
    const restored = await restoreKeyAndSecret(w.deps, ref, body(OTHER_KV_ID));
    expect(restored.keyUrl.startsWith(`${OTHER_KV_URL}/keys/kek-enc1/`)).toBe(true);
    expect(w.keys.secretValue(restored.secretUrl)).toBe(BEK_VALUE);
  });

  it('refuses a point of a VM that was not encrypted (400)', async () => {
    const w = await world({ encrypted: false });
    const err = await refusal(restoreKeyAndSecret(w.deps, ref, body(KV_ID)));
    expect({ code: err.code, status: err.status }).toEqual({ code: 'KluisRecoveryPointNotEncrypted', status: 400 });
  });

  it('refuses with 409 while the key or the secret still exists, restoring neither', async () => {
    const w = await world();
    w.keys.deleteSecret(KV_URL, 'bek-enc1');
    const err = await refusal(restoreKeyAndSecret(w.deps, ref, body(KV_ID)));
    expect({ code: err.code, status: err.status, target: err.target }).toEqual({ code: 'UserErrorKeyVaultObjectAlreadyExists', status: 409, target: 'properties.keyVaultId' });
    expect(err.message).toContain("a key named 'kek-enc1'");
    expect(await w.keys.secretExists(w.secretUrl)).toBe(false);
  });

  it.each([
    ['keys' as const, 'keys restore'],
    ['secrets' as const, 'secrets restore'],
  ])('names the missing %s restore permission (UserErrorKeyvaultPermissionsNotConfigured)', async (collection, label) => {
    const w = await world();
    w.keys.deleteKey(KV_URL, 'kek-enc1');
    w.keys.deleteSecret(KV_URL, 'bek-enc1');
    w.keys.revoke(KV_URL, [{ collection, permission: 'restore' }]);
    const err = await refusal(restoreKeyAndSecret(w.deps, ref, body(KV_ID)));
    expect({ code: err.code, status: err.status, target: err.target }).toEqual({ code: 'UserErrorKeyvaultPermissionsNotConfigured', status: 400, target: 'properties.keyVaultId' });
    expect(err.message).toContain(label);
    expect(err.message).toContain('00000000-0000-0000-0000-00000000bac0');
  });

  it('refuses a Key Vault that does not exist, and a keyVaultId that is not a Key Vault id', async () => {
    const w = await world();
    const gone = await refusal(restoreKeyAndSecret(w.deps, ref, body(keyVaultResourceId(SUB, 'rg-keys', 'kv-gone'))));
    expect({ code: gone.code, target: gone.target }).toEqual({ code: 'UserErrorKeyVaultNotFound', target: 'properties.keyVaultId' });
    const bad = await refusal(restoreKeyAndSecret(w.deps, ref, body('kv-source')));
    expect({ status: bad.status, target: bad.target }).toEqual({ status: 400, target: 'properties.keyVaultId' });
  });

  it("refuses a Key Vault in another subscription or outside the vault's geography, writing nothing", async () => {
    const w = await world();
    w.keys.deleteKey(KV_URL, 'kek-enc1');
    w.keys.deleteSecret(KV_URL, 'bek-enc1');
    const elsewhere = await refusal(restoreKeyAndSecret(w.deps, ref, body(keyVaultResourceId('ffffffff-0000-4000-8000-000000000001', 'rg-keys', 'kv-source'))));
    expect({ code: elsewhere.code, status: elsewhere.status, target: elsewhere.target }).toEqual({ code: 'KluisKeyVaultOutsideItemScope', status: 400, target: 'properties.keyVaultId' });
    expect(elsewhere.message).toContain('subscription ffffffff-0000-4000-8000-000000000001');
    w.placed.set(OTHER_KV_ID.toLowerCase(), { location: 'eastus', policies: [{ objectId: CALLER.objectId, permissions: { keys: ['restore'], secrets: ['restore'] } }] });
    const abroad = await refusal(restoreKeyAndSecret(w.deps, ref, body(OTHER_KV_ID)));
    expect(abroad.code).toBe('KluisKeyVaultOutsideItemScope');
    expect(abroad.message).toContain('eastus');
    // northeurope is in westeurope's geography (Europe): allowed.
    w.placed.set(OTHER_KV_ID.toLowerCase(), { location: 'northeurope', policies: [{ objectId: CALLER.objectId, permissions: { keys: ['all'], secrets: ['all'] } }] });
    await expect(restoreKeyAndSecret(w.deps, ref, body(OTHER_KV_ID))).resolves.toMatchObject({ vmName: 'enc1' });
    expect(await w.keys.keyExists(w.keyUrl)).toBe(false);
  });

  it("needs the caller's own keys restore and secrets restore in the target vault (403), also when Kluis cannot read its policies", async () => {
    const w = await world();
    w.keys.deleteKey(KV_URL, 'kek-enc1');
    w.keys.deleteSecret(KV_URL, 'bek-enc1');
    w.placed.set(KV_ID.toLowerCase(), { location: 'westeurope', policies: [{ objectId: CALLER.objectId, permissions: { keys: ['restore'], secrets: ['get'] } }] });
    const partial = await refusal(restoreKeyAndSecret(w.deps, ref, body(KV_ID)));
    expect({ code: partial.code, status: partial.status }).toEqual({ code: 'KluisCallerKeyVaultPermissionMissing', status: 403 });
    expect(partial.message).toBe("The caller 'operator@kluis.local (0000000a-0000-4000-8000-0000000000ca)' may not restore into Key Vault 'kv-source': its access policies do not grant it secrets restore.");
    // Only the backup identity holds the permissions: the caller does not.
    w.placed.set(KV_ID.toLowerCase(), { location: 'westeurope', policies: [{ objectId: '00000000-0000-0000-0000-00000000bac0', permissions: { keys: ['all'], secrets: ['all'] } }] });
    expect((await refusal(restoreKeyAndSecret(w.deps, ref, body(KV_ID)))).message).toContain('keys restore, secrets restore');
    const unreadable = await refusal(restoreKeyAndSecret({ ...w.deps, locator: new DnsKeyVaultLocator() }, ref, body(KV_ID)));
    expect(unreadable.code).toBe('KluisCallerKeyVaultPermissionMissing');
    expect(await w.keys.keyExists(w.keyUrl)).toBe(false);
    expect(await w.keys.secretExists(w.secretUrl)).toBe(false);
  });

  it('reports a missing backup blob as missing recovery point data', async () => {
    const w = await world();
    w.blobs.delete(`kluis-vault/${keyBackupBlobName(ENGINE_ITEM, POINT)}`);
    w.keys.deleteKey(KV_URL, 'kek-enc1');
    const err = await refusal(restoreKeyAndSecret(w.deps, ref, body(KV_ID)));
    expect(err.code).toBe('KluisRecoveryPointDataNotFound');
  });
});

describe('a restore request of an encrypted point', () => {
  it("names the encryption-info blob next to the VM configuration in the job's property bag", async () => {
    const w = await world();
    let ids = 0;
    const accepted = await acceptRestoreRequest(
      {
        catalog: w.deps.catalog,
        inventory: new MemoryVmInventory(),
        vault: w.deps.vault,
        restoreTarget: { blobUrl: (blob: BlobRef) => `http://127.0.0.1:10000/devstoreaccount1/${blob.container}/${blob.blob}` },
        clock: () => new Date('2026-01-05T10:00:00.000Z'),
        newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
      },
      ref,
      {
        properties: {
          objectType: 'IaasVMRestoreRequest',
          recoveryPointId: POINT,
          recoveryType: 'RestoreDisks',
          sourceResourceId: `/subscriptions/${SUB}/resourceGroups/prod/providers/Microsoft.Compute/virtualMachines/enc1`,
          region: 'westeurope',
          storageAccountId: `/subscriptions/${SUB}/resourceGroups/storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`,
        },
      },
      async () => undefined,
    );
    const bag = accepted.job.propertyBag ?? {};
    const configName = bag['Config Blob Name'];
    expect(bag['Encryption Info Blob Name']).toBe(configName.replace(/vmconfig\.json$/, 'encryptioninfo.json'));
    expect(bag['Encryption Info Blob Uri']).toBe(`http://127.0.0.1:10000/devstoreaccount1/${bag['Config Blob Container Name']}/${bag['Encryption Info Blob Name']}`);
  });
});
