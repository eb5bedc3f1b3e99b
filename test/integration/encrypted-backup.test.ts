/**
 * Encrypted VMs end to end below the HTTP layer, with the real @azure/keyvault-* clients against the Key
 * Vault emulator and the real stores on Azurite: the fabric encrypts a VM as ADE does (KEK key, BEK
 * secret wrapped with RSA-OAEP, ADE's tags); protection refuses a BEK-only VM and a VM whose Key Vault the
 * backup identity cannot read, and accepts it once the permissions are granted; a VM encrypted after it was
 * protected fails its backups with UserErrorKeyvaultPermissionsNotConfigured until then; a backup stores
 * the Key Vault backups of the secret and key with the point, the point shows isSourceVMEncrypted and
 * keyAndSecret, and the stored secret backup restores to a BEK that unwraps to the original. No secret
 * value, key or backup blob appears in a log line or a list response.
 */
import { randomUUID } from 'node:crypto';
import { CryptographyClient } from '@azure/keyvault-keys';
import { ADE_OPERATOR_OBJECT_ID, ADE_OPERATOR_PERMISSIONS, SdkAdeKeyWriter } from '../../emulator/fabric/ade-keys';
import { FabricService } from '../../emulator/fabric/service';
import type { VaultDescription } from '../../emulator/keyvault';
import { containerName, itemName, protectedItemId, type VaultRef } from '../../lib/domain/arm-names';
import { recoveryPointResource } from '../../lib/domain/arm/recovery-point-resource';
import type { VaultRecord } from '../../lib/domain/catalog';
import { ADE_SECRET_TAGS, parseKeyVaultObjectUrl } from '../../lib/domain/disk-encryption';
import { describeFailure, isKluisErrorLike } from '../../lib/domain/errors';
import type { KeyAndSecretBackup } from '../../lib/engine/domain/recovery-point-manifest';
import type { VirtualMachine } from '../../lib/domain/virtual-machine';
import { backupKeyAndSecret } from '../../lib/services/backup-key-and-secret';
import { deleteRecoveryPointVaultData } from '../../lib/engine/recovery-points/delete-recovery-point';
import { finishBackupRun, prepareBackupRun, triggerBackup, type BackupRequestDeps } from '../../lib/services/backup-requests';
import type { BackupEngineDeps, EngineLogger } from '../../lib/engine/engine-deps';
import { getJob } from '../../lib/services/jobs';
import { assertKeyAndSecretPresent, keyVaultAccessCheck, type KeyVaultAccessDeps } from '../../lib/services/key-vault-access';
import { getItemRecoveryPoint, listItemRecoveryPoints, protectedItemView, putProtectedItem, type ItemNames, type ProtectionDeps } from '../../lib/services/protection';
import { createOrUpdateVault, getVault } from '../../lib/services/vaults';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { keyVaultClientOptions } from '../../lib/stores/azure/keyvault-client-options';
import { AzureKeyStore } from '../../lib/stores/azure/keyvault-key-store';
import { TableRecoveryPointCatalog } from '../../lib/stores/azure/table-recovery-point-catalog';
import { TableVmInventory } from '../../lib/stores/azure/table-vm-inventory';
import { tableVaultCatalog, type VaultCatalog } from '../../lib/stores/vault-catalog';
import { EndpointDiskLocator } from '../../lib/engine/sources/page-blob/endpoint-disk-locator';
import { uniqueName, uniqueTableName, useAzurite } from '../support/azurite';
import { backupVm, pageBlobSources, type VmDisk } from '../support/backup-engine';
import { ALL_PERMISSIONS, capturingLogger, emulatorLocator, newObjectId, principalCredential, secretClient, uniqueVaultName, useKeyVaultEmulator } from '../support/keyvault';

const MIB = 1024 * 1024;
const SUB = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const VAULT: VaultRef = { subscriptionId: SUB, resourceGroup: 'rg-backup', vaultName: 'vault1' };
/** Azure Backup's access policy template. */
const BACKUP_SERVICE_PERMISSIONS = { keys: ['get', 'list', 'backup'], secrets: ['get', 'list', 'backup'] };
const NO_RETRIES = { retryOptions: { maxRetries: 0 } };

const azurite = useAzurite();
const { logger: emulatorLogger, lines: emulatorLines } = capturingLogger();
const kv = useKeyVaultEmulator({ logger: emulatorLogger });

/** Everything that must never reach a log line or a response: secret values, unwrapped BEKs, backup blobs. */
const sensitive: string[] = [];
const appLines: string[] = [];
const log: EngineLogger = {
  info: (message: string) => void appLines.push(message),
  warn: (message: string) => void appLines.push(message),
  error: (message: string) => void appLines.push(message),
};

interface World {
  fabric: FabricService;
  catalog: VaultCatalog;
  requests: BackupRequestDeps;
  protection: ProtectionDeps;
  engine: BackupEngineDeps;
  keyStore: AzureKeyStore;
  /** A principal with every permission, to look at what the fabric and the backup wrote. */
  inspector: string;
  backupPrincipal: string;
  vault: () => Promise<VaultRecord>;
}

let world: World;
/** What the backup test took, for the restore checks after it. */
let taken: { vault: VaultDescription; keyAndSecret: KeyAndSecretBackup; secretBackup: string; vmName: string; itemId: string; recoveryPointId: string } | undefined;

beforeAll(async () => {
  const conn = azurite().connectionString;
  const disks = BlobPageStore.fromConnectionString(conn, { retryOptions: { maxTries: 1 } });
  const inventory = TableVmInventory.fromConnectionString(conn, uniqueTableName('vms'), NO_RETRIES);
  const pointsTable = uniqueTableName('points');
  const catalog = tableVaultCatalog(conn, { prefix: uniqueTableName('K').slice(0, 20), recoveryPoints: pointsTable });
  const clientOptions = (vaultUrl: string) => keyVaultClientOptions(vaultUrl, { caCertificatePem: kv().caCertificatePem }, NO_RETRIES);
  const fabric = new FabricService({
    inventory,
    disks,
    keyVaults: {
      locator: emulatorLocator(kv()),
      writer: new SdkAdeKeyWriter({ credential: principalCredential(kv(), ADE_OPERATOR_OBJECT_ID), clientOptions, principalId: ADE_OPERATOR_OBJECT_ID }),
    },
  });
  const backupPrincipal = newObjectId();
  const keyStore = new AzureKeyStore({ credential: principalCredential(kv(), backupPrincipal), clientOptions });
  const keyVault: KeyVaultAccessDeps = { keyStore, principalId: backupPrincipal };
  let ids = 0;
  const diskLocator = EndpointDiskLocator.of(disks);
  const requests: BackupRequestDeps = {
    catalog,
    inventory,
    clock: () => new Date(),
    newId: () => `job-${++ids}-${randomUUID().slice(0, 8)}`,
    locateDisk: (vhdUri) => diskLocator.locate(vhdUri)?.ref,
    keyVault,
  };
  const engine: BackupEngineDeps = {
    sources: pageBlobSources(disks),
    vault: disks,
    vaultContainer: uniqueName('vault'),
    catalog: TableRecoveryPointCatalog.fromConnectionString(conn, pointsTable, NO_RETRIES),
    clock: () => new Date(),
    log,
  };
  await createOrUpdateVault(requests, VAULT, { location: 'westeurope' });
  world = {
    fabric,
    catalog,
    requests,
    protection: { ...requests, inventory, keyVaultAccess: keyVaultAccessCheck(keyVault) },
    engine,
    keyStore,
    inspector: newObjectId(),
    backupPrincipal,
    vault: async () => (await getVault(requests, VAULT)).value,
  };
});

/** A Key Vault in the VMs' subscription where the ADE operator and the inspector may work; the backup identity gets `backup` permissions if given. */
async function keyVault(backup?: typeof BACKUP_SERVICE_PERMISSIONS): Promise<VaultDescription> {
  return kv().createVault({
    name: uniqueVaultName('kv-ade'),
    subscriptionId: SUB,
    resourceGroup: 'rg-keys',
    accessPolicies: [
      { objectId: ADE_OPERATOR_OBJECT_ID, permissions: { keys: [...ADE_OPERATOR_PERMISSIONS.keys], secrets: [...ADE_OPERATOR_PERMISSIONS.secrets] } },
      { objectId: world.inspector, permissions: ALL_PERMISSIONS },
      ...(backup === undefined ? [] : [{ objectId: world.backupPrincipal, permissions: backup }]),
    ],
  });
}

async function newVm(name: string): Promise<{ vm: VirtualMachine; names: ItemNames }> {
  const resourceGroup = uniqueName('rg');
  const vm = await world.fabric.createVm({ subscriptionId: SUB, resourceGroup, name }, { osType: 'Linux', osDisk: { sizeBytes: 2 * MIB }, dataDisks: [{ lun: 0, sizeBytes: MIB }], initialData: { percent: 5 } });
  return { vm, names: { containerName: containerName(resourceGroup, name), itemName: itemName(resourceGroup, name) } };
}

const enable = async (vm: VirtualMachine, names: ItemNames) => putProtectedItem(world.protection, await world.vault(), names, { sourceResourceId: vm.id, policyId: 'DefaultPolicy' });

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string; target?: string }> {
  try {
    await promise;
  } catch (err) {
    if (isKluisErrorLike(err)) return { code: err.code, message: err.message, target: err.target };
    throw err;
  }
  throw new Error('expected a KluisError');
}

/** The secret's value and the BEK it wraps, as the inspector reads them (both become sensitive). */
async function bekOf(vault: VaultDescription, secretUrl: string): Promise<{ value: string; bek: Buffer; tags: Record<string, string>; contentType?: string }> {
  const { name, version } = parseKeyVaultObjectUrl(secretUrl)!;
  const secret = await secretClient(kv(), vault, world.inspector).getSecret(name, { version });
  const keyUrl = secret.properties.tags?.[ADE_SECRET_TAGS.keyEncryptionKeyUrl];
  const value = secret.value!;
  const bek = keyUrl === undefined
    ? Buffer.from(value, 'base64')
    : Buffer.from((await new CryptographyClient(keyUrl, principalCredential(kv(), world.inspector), keyVaultClientOptions(keyUrl, { caCertificatePem: kv().caCertificatePem })).unwrapKey('RSA-OAEP', Buffer.from(value, 'base64'))).result);
  sensitive.push(value, bek.toString('base64'), bek.toString('hex'));
  return { value, bek, tags: secret.properties.tags ?? {}, contentType: secret.properties.contentType };
}

describe('encrypted VMs with the real Key Vault clients and the emulator', () => {
  it('encrypts a fabric VM as ADE does: a KEK key, a BEK secret wrapped by it with RSA-OAEP and tagged, recorded in the VM', async () => {
    const vault = await keyVault();
    const { vm } = await newVm('ade01');
    const encrypted = await world.fabric.encryptVm(vm, { keyVaultId: vault.id, kekName: 'kek-ade01' });
    expect(encrypted.encryption).toEqual({
      enabled: true,
      bek: { secretUrl: expect.stringMatching(new RegExp(`^${vault.url}/secrets/[0-9a-f-]{36}/[0-9a-f]{32}$`)), vaultId: vault.id },
      kek: { keyUrl: expect.stringMatching(new RegExp(`^${vault.url}/keys/kek-ade01/[0-9a-f]{32}$`)), vaultId: vault.id },
    });
    const secret = await bekOf(vault, encrypted.encryption!.bek!.secretUrl);
    expect(secret.bek).toHaveLength(32);
    expect(secret.contentType).toBe('Wrapped BEK');
    expect(secret.tags).toEqual({
      DiskEncryptionKeyFileName: 'LinuxPassPhraseFileName',
      DiskEncryptionKeyEncryptionAlgorithm: 'RSA-OAEP',
      DiskEncryptionKeyEncryptionKeyURL: encrypted.encryption!.kek!.keyUrl,
      MachineName: 'ade01',
    });
    // The VM record in the inventory says the same (what discovery and protection read).
    expect((await world.fabric.getVm(vm)).encryption).toEqual(encrypted.encryption);
  });

  it('refuses to encrypt with a Key Vault that does not exist, or one the ADE operator may not write to', async () => {
    const { vm } = await newVm('ade02');
    expect(await failure(world.fabric.encryptVm(vm, { keyVaultId: `/subscriptions/${SUB}/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kv-nowhere` }))).toMatchObject({
      code: 'KluisInvalidRequest',
      target: 'keyVaultId',
    });
    const locked = await kv().createVault({ name: uniqueVaultName('kv-locked'), subscriptionId: SUB, resourceGroup: 'rg-keys' });
    const refused = await failure(world.fabric.encryptVm(vm, { keyVaultId: locked.id }));
    expect(refused.message).toMatch(new RegExp(`${ADE_OPERATOR_OBJECT_ID}.*keys get, create, wrapKey and secrets set`));
    expect((await world.fabric.getVm(vm)).encryption).toBeUndefined();
  });

  it('refuses to protect a VM encrypted with a BEK only (the seed’s validation error)', async () => {
    const vault = await keyVault(BACKUP_SERVICE_PERMISSIONS);
    const { vm, names } = await newVm('bekonly01');
    const encrypted = await world.fabric.encryptVm(vm, { keyVaultId: vault.name, bekOnly: true });
    expect(encrypted.encryption).toEqual({ enabled: true, bek: { secretUrl: expect.stringContaining(`${vault.url}/secrets/`), vaultId: vault.id } });
    const secret = await bekOf(vault, encrypted.encryption!.bek!.secretUrl);
    expect(secret.contentType).toBe('BEK');
    expect(await failure(enable(encrypted, names))).toMatchObject({ code: 'UserErrorEncryptedVmBekOnlyNotSupported' });
  });

  it('refuses protection without Key Vault access (UserErrorKeyvaultPermissionsNotConfigured), and protects once the permissions are granted', async () => {
    const vault = await keyVault();
    const { vm, names } = await newVm('noaccess01');
    const encrypted = await world.fabric.encryptVm(vm, { keyVaultId: vault.id });
    const refused = await failure(enable(encrypted, names));
    expect(refused.code).toBe('UserErrorKeyvaultPermissionsNotConfigured');
    expect(refused.message).toContain(`secrets get, secrets backup, keys get, keys backup on Key Vault '${vault.name}'`);
    expect(refused.message).toContain(world.backupPrincipal);

    // Only get: backup is still missing, and the error says exactly that.
    kv().setAccessPolicy(vault.name, { objectId: world.backupPrincipal, permissions: { keys: ['get'], secrets: ['get'] } });
    expect((await failure(enable(encrypted, names))).message).toContain(`secrets backup, keys backup on Key Vault '${vault.name}'`);

    kv().setAccessPolicy(vault.name, { objectId: world.backupPrincipal, permissions: BACKUP_SERVICE_PERMISSIONS });
    expect((await enable(encrypted, names)).action).toBe('enabled');
  });

  it('a protected VM encrypted later fails its backups until the permissions are granted, then backs up its key and secret with the point', async () => {
    const vault = await keyVault();
    const { vm, names } = await newVm('later01');
    await enable(vm, names);
    const encrypted = await world.fabric.encryptVm(vm, { keyVaultId: vault.id });
    const original = await bekOf(vault, encrypted.encryption!.bek!.secretUrl);

    // Backup without access: the job fails with the code and the permissions to grant.
    const first = await triggerBackup(world.requests, await world.vault(), names, {}, async () => undefined);
    const error = await prepareBackupRun(world.requests, first.ref).catch((err: unknown) => err);
    await finishBackupRun(world.requests, first.ref, { outcome: 'Failed', warnings: [], error: describeFailure(error) });
    const failed = await getJob(world.requests, await world.vault(), first.job.jobId);
    expect(failed.status).toBe('Failed');
    expect(failed.errorDetails?.[0]).toMatchObject({ errorCode: 'UserErrorKeyvaultPermissionsNotConfigured', errorString: expect.stringContaining(vault.name) });
    expect(failed.errorDetails?.[0].recommendations[0]).toMatch(/Get, List and Backup/);

    // Granted: the backup runs and stores the key and secret backups with the point.
    kv().setAccessPolicy(vault.name, { objectId: world.backupPrincipal, permissions: BACKUP_SERVICE_PERMISSIONS });
    const second = await triggerBackup(world.requests, await world.vault(), names, {}, async () => undefined);
    const prepared = await prepareBackupRun(world.requests, second.ref);
    expect(prepared.encryption).toEqual({ bek: encrypted.encryption!.bek, kek: encrypted.encryption!.kek });
    const engineItemId = (await listItemRecoveryPoints(world.requests, await world.vault(), names)).item.engineItemId;
    const recoveryPointId = String(Date.now());
    const keyAndSecret = await backupKeyAndSecret(
      { keyStore: world.keyStore, vault: world.engine.vault, vaultContainer: world.engine.vaultContainer, log, principalId: world.backupPrincipal },
      { itemId: engineItemId, recoveryPointId, vmName: vm.name, encryption: prepared.encryption! },
    );
    const backup = await backupVm(world.engine, {
      itemId: engineItemId,
      jobId: second.job.jobId,
      recoveryPointId,
      disks: prepared.disks as VmDisk[],
      capabilities: { trueDiff: false, serverSideCopySafe: false },
      keyAndSecret,
    });
    await finishBackupRun(world.requests, second.ref, { outcome: 'Completed', warnings: [], recoveryPointId, consistency: 'CrashConsistent' });
    expect((await getJob(world.requests, await world.vault(), second.job.jobId)).status).toBe('Completed');
    expect(backup.manifest.keyAndSecret).toEqual(keyAndSecret);

    // The stored blobs are Key Vault backups: the secret's restores (into a fresh vault of this emulator)
    // to a BEK that unwraps, with the KEK restored next to it, to the original.
    const secretBlob = await world.engine.vault.readBlob({ container: world.engine.vaultContainer, blob: keyAndSecret.bek.backupBlobName! });
    const keyBlob = await world.engine.vault.readBlob({ container: world.engine.vaultContainer, blob: keyAndSecret.kek!.backupBlobName! });
    sensitive.push(secretBlob.toString('base64'), keyBlob.toString('base64'));
    const restoreVault = await kv().createVault({ name: uniqueVaultName('kv-restore'), subscriptionId: SUB, resourceGroup: 'rg-keys', accessPolicies: [{ objectId: world.inspector, permissions: ALL_PERMISSIONS }] });
    const restorer = new AzureKeyStore({
      credential: principalCredential(kv(), world.inspector),
      clientOptions: (url) => keyVaultClientOptions(url, { caCertificatePem: kv().caCertificatePem }, NO_RETRIES),
    });
    expect(await restorer.vaultExists(restoreVault.url)).toBe(true);
    const restoredKey = await restorer.restoreKey(restoreVault.url, keyBlob.toString('base64'));
    const restoredSecret = await restorer.restoreSecret(restoreVault.url, secretBlob.toString('base64'));
    expect(parseKeyVaultObjectUrl(restoredKey.url)?.name).toBe(parseKeyVaultObjectUrl(encrypted.encryption!.kek!.keyUrl)?.name);
    const restored = await secretClient(kv(), restoreVault, world.inspector).getSecret(parseKeyVaultObjectUrl(restoredSecret.url)!.name);
    expect(restored.value).toBe(original.value);
    const unwrapped = await new CryptographyClient(restoredKey.url, principalCredential(kv(), world.inspector), keyVaultClientOptions(restoredKey.url, { caCertificatePem: kv().caCertificatePem })).unwrapKey('RSA-OAEP', Buffer.from(restored.value!, 'base64'));
    expect(Buffer.from(unwrapped.result).equals(original.bek)).toBe(true);

    // The point as ARM shows it: encrypted in the list; key and secret URLs and vault ids on GET; never the data.
    const vaultRecord = await world.vault();
    const listed = await listItemRecoveryPoints(world.requests, vaultRecord, names);
    const itemId = protectedItemId(VAULT, listed.item.containerName, listed.item.itemName);
    const list = listed.points.map((point) => recoveryPointResource(itemId, listed.item, point));
    expect(list).toHaveLength(1);
    expect(list[0].properties.isSourceVMEncrypted).toBe(true);
    const one = await getItemRecoveryPoint({ catalog: world.catalog, vaultStore: world.engine.vault }, vaultRecord, names, recoveryPointId);
    const shown = recoveryPointResource(itemId, one.item, one.point, one.manifest);
    expect(shown.properties).toMatchObject({
      isSourceVMEncrypted: true,
      keyAndSecret: {
        encryptionMechanism: 'SinglePass',
        bekDetails: { secretUrl: encrypted.encryption!.bek!.secretUrl, secretVaultId: vault.id },
        kekDetails: { keyUrl: encrypted.encryption!.kek!.keyUrl, keyVaultId: vault.id },
      },
    });
    const responses = JSON.stringify([list, shown, await protectedItemView({ catalog: world.catalog, clock: () => new Date() }, vaultRecord, listed.item)]);
    for (const value of sensitive) expect(responses).not.toContain(value);
    expect(responses).not.toMatch(/kvbackup|secretData|keyBackupData/);
    taken = { vault, keyAndSecret, secretBackup: secretBlob.toString('base64'), vmName: vm.name, itemId: engineItemId, recoveryPointId };
  });

  it('refuses a restore while the key or secret is deleted and purged, or the Key Vault is gone; the stored backup brings the secret back', async () => {
    expect(taken).toBeDefined();
    const { vault, keyAndSecret, secretBackup, vmName } = taken!;
    const presence = { keyStore: world.keyStore, locator: emulatorLocator(kv()), principalId: world.backupPrincipal };
    await expect(assertKeyAndSecretPresent(presence, vmName, keyAndSecret)).resolves.toBeUndefined();

    const secrets = secretClient(kv(), vault, world.inspector);
    const secretName = parseKeyVaultObjectUrl(keyAndSecret.bek.secretUrl)!.name;
    await (await secrets.beginDeleteSecret(secretName, { intervalInMs: 10 })).pollUntilDone();
    await secrets.purgeDeletedSecret(secretName);
    const missing = await failure(assertKeyAndSecretPresent(presence, vmName, keyAndSecret));
    expect(missing).toMatchObject({ code: 'UserErrorKeyAndSecretNotFound', target: 'recoveryPointId' });
    expect(missing.message).toContain(keyAndSecret.bek.secretUrl);

    // "Restore the key and secret first": the point's backup restores the secret, with its version, and the restore may go ahead.
    const restorer = new AzureKeyStore({ credential: principalCredential(kv(), world.inspector), clientOptions: (url) => keyVaultClientOptions(url, { caCertificatePem: kv().caCertificatePem }, NO_RETRIES) });
    expect((await restorer.restoreSecret(vault.url, secretBackup)).url).toBe(keyAndSecret.bek.secretUrl);
    await expect(assertKeyAndSecretPresent(presence, vmName, keyAndSecret)).resolves.toBeUndefined();

    await kv().deleteVault(vault.name);
    expect(await world.keyStore.vaultExists(vault.url)).toBe(false);
    expect(await failure(assertKeyAndSecretPresent(presence, vmName, keyAndSecret))).toMatchObject({ code: 'UserErrorKeyVaultNotFound', message: expect.stringContaining(vault.name) });
  });

  it('deletes the key and secret backups with the point’s vault data', async () => {
    const { keyAndSecret, itemId, recoveryPointId } = taken!;
    const blobs = [keyAndSecret.bek.backupBlobName!, keyAndSecret.kek!.backupBlobName!].map((blob) => ({ container: world.engine.vaultContainer, blob }));
    for (const blob of blobs) expect(await world.engine.vault.getBlobProperties(blob)).toBeDefined();
    const deleted = await deleteRecoveryPointVaultData(
      { vault: world.engine.vault, sources: world.engine.sources, catalog: world.engine.catalog, log },
      { itemId, recoveryPointId, force: true },
    );
    expect(deleted.deleted).toEqual(expect.arrayContaining(blobs.map((blob) => ({ account: 'vault', ...blob }))));
    for (const blob of blobs) expect(await world.engine.vault.getBlobProperties(blob)).toBeUndefined();
  });

  it('never put a secret value, BEK or backup blob into a log line (this runs last)', () => {
    expect(sensitive.length).toBeGreaterThanOrEqual(8);
    expect(emulatorLines.length + appLines.length).toBeGreaterThan(0);
    const logs = [...emulatorLines, ...appLines].join('\n');
    for (const value of sensitive) expect(logs).not.toContain(value);
  });
});
