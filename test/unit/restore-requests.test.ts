/**
 * The restore-request service on in-memory stores: an accepted request creates a Restore job (tasks,
 * Azure's property bag), starts the orchestration under the job id and records a succeeded operation
 * naming the job; every refusal leaves the catalog exactly as it was and starts nothing; the job's steps
 * and the insert-only registration of the new VM.
 */
import { BLOCK_SIZE, HASH_ALGORITHM } from '../../lib/engine/domain/block-sums';
import { nameRow, vaultKey, vaultPartition, vaultRow, type ProtectedItemRecord } from '../../lib/domain/catalog';
import { errors, type KluisErrorCode } from '../../lib/domain/errors';
import { RECOVERY_POINT_MANIFEST_SCHEMA_VERSION, serializeRecoveryPointManifest, type RecoveryPointManifest } from '../../lib/engine/domain/recovery-point-manifest';
import type { RestoreRequestBody, RestoreRequestProperties } from '../../lib/domain/restore-request';
import { getJob, type VaultScope } from '../../lib/services/jobs';
import {
  acceptRestoreRequest,
  recordRestoreJobEvent,
  registerRestoredVm,
  type RecoveryPointRef,
  type RestoreRequestDeps,
  type VaultRestoreRequest,
} from '../../lib/services/restore-requests';
import type { BlobRef } from '../../lib/stores/disk-store';
import { collect } from '../../lib/stores/document-store';
import { DnsKeyVaultLocator } from '../../lib/stores/azure/keyvault-locator';
import { MemoryKeyStore } from '../../lib/stores/memory/key-store';
import { MemoryVmInventory } from '../../lib/stores/memory/vm-inventory';
import { memoryVaultCatalog, type VaultCatalog } from '../../lib/stores/vault-catalog';
import { vaultRecord } from '../support/vault-fixtures';

const SUB = '00000000-0000-0000-0000-0000000000aa';
const VAULT_ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v1`;
const SOURCE_VM_ID = `/subscriptions/${SUB}/resourceGroups/prod/providers/Microsoft.Compute/virtualMachines/web1`;
const CONTAINER = 'IaasVMContainer;iaasvmcontainerv2;prod;web1';
const ITEM = 'VM;iaasvmcontainerv2;prod;web1';
const ENGINE_ITEM = 'item-7f3a';
const POINT = '1767225600000';
const NOW = new Date('2026-01-05T10:00:00.000Z');
const RESTORE_ACCOUNT = `/subscriptions/${SUB}/resourceGroups/storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`;
const scope: VaultScope = { id: VAULT_ID, subscriptionId: SUB, resourceGroup: 'rg', name: 'v1' };
const ref: RecoveryPointRef = { subscriptionId: SUB, resourceGroup: 'rg', vaultName: 'v1', fabricName: 'Azure', containerName: CONTAINER, itemName: ITEM, recoveryPointId: POINT };
const newVmId = (name: string) => `/subscriptions/${SUB}/resourceGroups/restored/providers/Microsoft.Compute/virtualMachines/${name}`;

function manifest(overrides: Partial<RecoveryPointManifest> = {}): RecoveryPointManifest {
  const disk = (lun: number, storageType: 'Standard' | 'Premium') => ({
    lun,
    name: `disk${lun}`,
    sizeBytes: 4 * 1024 * 1024 + 512,
    storageType,
    source: { blobUrl: `http://127.0.0.1:10000/devstoreaccount1/vhds/web1-${lun}.vhd`, snapshot: '2026-01-01T00:00:00.0000000Z' },
    replica: { blobName: `items/${ENGINE_ITEM}/disks/lun${lun}.vhd`, snapshot: '2026-01-01T00:00:01.0000000Z' },
    checksumsBlobName: `items/${ENGINE_ITEM}/points/${POINT}/lun${lun}.sums`,
    changeDetection: 'full' as const,
    bytesRead: 1,
    bytesWritten: 1,
    bytesCleared: 0,
  });
  return {
    schemaVersion: RECOVERY_POINT_MANIFEST_SCHEMA_VERSION,
    itemId: ENGINE_ITEM,
    recoveryPointId: POINT,
    createdAt: '2026-01-01T00:00:00.000Z',
    consistency: 'FileSystemConsistent',
    vmConfig: { osType: 'Linux', vmSize: 'Standard_B2s' },
    blockSize: BLOCK_SIZE,
    hashAlgorithm: HASH_ALGORITHM,
    disks: [disk(0, 'Standard'), disk(1, 'Premium')],
    keyAndSecret: null,
    ...overrides,
  };
}

interface World {
  deps: RestoreRequestDeps;
  catalog: VaultCatalog;
  inventory: MemoryVmInventory;
  blobs: Map<string, Buffer>;
  started: Array<{ instanceId: string; input: VaultRestoreRequest }>;
  start: (instanceId: string, input: VaultRestoreRequest) => Promise<void>;
}

async function world(options: { item?: Partial<ProtectedItemRecord>; manifest?: RecoveryPointManifest; pointState?: string } = {}): Promise<World> {
  const catalog = memoryVaultCatalog();
  const inventory = new MemoryVmInventory();
  const blobs = new Map<string, Buffer>();
  let ids = 0;
  const vault = vaultRecord(SUB, 'rg', 'v1', { createdAt: NOW.toISOString() });
  await catalog.vaults.insert(vaultPartition(SUB), vaultRow('rg', 'v1'), vault);
  const item: ProtectedItemRecord = {
    vaultId: VAULT_ID,
    containerName: CONTAINER,
    itemName: ITEM,
    engineItemId: ENGINE_ITEM,
    vm: { id: SOURCE_VM_ID, name: 'web1', resourceGroup: 'prod', location: 'westeurope', osType: 'Linux', vmSize: 'Standard_B1s' },
    policyName: 'DefaultPolicy',
    protectionState: 'Protected',
    healthStatus: 'Passed',
    onDemandBackups: [],
    createdAt: NOW.toISOString(),
    ...options.item,
  };
  await catalog.items.insert(vaultKey(SUB, 'rg', 'v1'), nameRow(ITEM), item);
  await catalog.recoveryPoints.put({
    itemId: ENGINE_ITEM,
    recoveryPointId: POINT,
    createdAt: '2026-01-01T00:00:00.000Z',
    consistency: 'FileSystemConsistent',
    vaultContainer: 'kluis-vault',
    manifestBlobName: `items/${ENGINE_ITEM}/points/${POINT}/manifest.json`,
    diskCount: 2,
    state: options.pointState ?? 'Committed',
  });
  blobs.set(`kluis-vault/items/${ENGINE_ITEM}/points/${POINT}/manifest.json`, Buffer.from(serializeRecoveryPointManifest(options.manifest ?? manifest())));
  const started: World['started'] = [];
  const deps: RestoreRequestDeps = {
    catalog,
    inventory,
    vault: {
      readBlob: async (blob: BlobRef) => {
        const found = blobs.get(`${blob.container}/${blob.blob}`);
        if (found === undefined) throw errors.blobNotFound(blob.container, blob.blob);
        return found;
      },
    },
    restoreTarget: { blobUrl: (blob: BlobRef) => `http://127.0.0.1:10000/devstoreaccount1/${blob.container}/${blob.blob}` },
    clock: () => NOW,
    newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
  };
  return {
    deps,
    catalog,
    inventory,
    blobs,
    started,
    start: async (instanceId, input) => {
      started.push({ instanceId, input });
    },
  };
}

function body(overrides: Partial<RestoreRequestProperties> = {}): RestoreRequestBody {
  return { properties: { objectType: 'IaasVMRestoreRequest', recoveryType: 'RestoreDisks', region: 'westeurope', storageAccountId: RESTORE_ACCOUNT, ...overrides } };
}

async function snapshot(catalog: VaultCatalog): Promise<string> {
  const all = await Promise.all([
    collect(catalog.vaults.listAll()),
    collect(catalog.items.listAll()),
    collect(catalog.jobs.listAll()),
    collect(catalog.operations.listAll()),
    collect(catalog.policies.listAll()),
  ]);
  return JSON.stringify(all);
}

describe('acceptRestoreRequest', () => {
  it('creates a Restore job with its property bag, starts the orchestration under the job id and records the operation', async () => {
    const w = await world();
    const accepted = await acceptRestoreRequest(w.deps, ref, body({ restoreDiskLunList: [] }), w.start);
    const jobId = '00000000-0000-4000-8000-000000000001';
    const container = 'web1-00000000000040008000000000000001';
    expect(accepted.job).toMatchObject({
      jobId,
      operation: 'Restore',
      status: 'InProgress',
      entityFriendlyName: 'web1',
      containerName: CONTAINER,
      itemName: ITEM,
      isUserTriggered: true,
      instanceId: jobId,
      tasks: [{ taskId: 'Transfer data from vault', status: 'NotStarted', progressPercentage: 0 }],
      propertyBag: {
        'Job Type': 'Recover disks',
        'Target Storage Account Name': 'devstoreaccount1',
        'Config Blob Container Name': container,
        'Config Blob Name': `restores/${ENGINE_ITEM}/${POINT}/${jobId}/vmconfig.json`,
        'Config Blob Uri': `http://127.0.0.1:10000/devstoreaccount1/${container}/restores/${ENGINE_ITEM}/${POINT}/${jobId}/vmconfig.json`,
        'Recovery point time ': '2026-01-01T00:00:00.000Z',
        'Restored disk LUNs': 'OS',
      },
    });
    expect(w.started).toEqual([{ instanceId: jobId, input: { vault: scope, jobId, restore: { itemId: ENGINE_ITEM, recoveryPointId: POINT, targetContainer: container, luns: [0] } } }]);
    expect(accepted.operation).toMatchObject({ name: 'Restore', status: 'Succeeded', jobId });
    expect((await getJob(w.deps, scope, jobId)).status).toBe('InProgress');
  });

  it('plans a new VM for AlternateLocation, with a task to create it', async () => {
    const w = await world();
    const accepted = await acceptRestoreRequest(
      w.deps,
      { ...ref, containerName: 'iaasvmcontainerv2;prod;web1', itemName: ITEM.toLowerCase() },
      body({ recoveryType: 'AlternateLocation', targetVirtualMachineId: newVmId('web1-copy') }),
      w.start,
    );
    expect(accepted.job.tasks.map((t) => t.taskId)).toEqual(['Transfer data from vault', 'Create virtual machine']);
    expect(accepted.job.propertyBag).toMatchObject({ 'Job Type': 'Restore VM', 'Target VM Name': 'web1-copy', 'Target resource group': 'restored' });
    expect(w.started[0].input.targetVm).toMatchObject({ name: 'web1-copy', osType: 'Linux', vmSize: 'Standard_B2s', location: 'westeurope', sourceVmId: SOURCE_VM_ID });
    expect(w.started[0].input.restore.luns).toBeUndefined();
    expect(w.started[0].input.restore.targetContainer).toMatch(/^web1-copy-/);
  });

  const refusals: Array<[string, (w: World) => Promise<{ ref?: RecoveryPointRef; body?: RestoreRequestBody }>, KluisErrorCode, string]> = [
    ['an unknown vault', async () => ({ ref: { ...ref, vaultName: 'v2' } }), 'ResourceNotFound', 'vaultName'],
    ['another fabric', async () => ({ ref: { ...ref, fabricName: 'Other' } }), 'KluisInvalidRequest', 'fabricName'],
    ['a malformed item name', async () => ({ ref: { ...ref, itemName: 'web1' } }), 'KluisInvalidRequest', 'protectedItemName'],
    ['an unprotected VM', async () => ({ ref: { ...ref, itemName: 'VM;iaasvmcontainerv2;prod;web2', containerName: 'IaasVMContainer;iaasvmcontainerv2;prod;web2' } }), 'UserErrorBcmDatasourceNotPresent', 'protectedItemName'],
    ['a container of another VM', async () => ({ ref: { ...ref, containerName: 'IaasVMContainer;iaasvmcontainerv2;prod;web2' } }), 'KluisInvalidRequest', 'protectedItemName'],
    ['a malformed recovery point name', async () => ({ ref: { ...ref, recoveryPointId: 'latest' } }), 'KluisInvalidRequest', 'recoveryPointId'],
    ['an unknown recovery point', async () => ({ ref: { ...ref, recoveryPointId: '42' } }), 'KluisRecoveryPointNotFound', 'recoveryPointId'],
    ['a recovery point whose manifest is gone', async (w) => (w.blobs.clear(), {}), 'KluisRecoveryPointDataNotFound', 'recoveryPointId'],
    ['OriginalLocation', async () => ({ body: body({ recoveryType: 'OriginalLocation' }) }), 'KluisOriginalLocationRestoreNotSupported', 'properties.recoveryType'],
    ['another region', async () => ({ body: body({ region: 'eastus' }) }), 'KluisCrossRegionRestoreNotSupported', 'properties.region'],
    ['an unknown LUN', async () => ({ body: body({ restoreDiskLunList: [4] }) }), 'KluisInvalidRequest', 'properties.restoreDiskLunList'],
    ['another storage account', async () => ({ body: body({ storageAccountId: RESTORE_ACCOUNT.replace('devstoreaccount1', 'other') }) }), 'KluisRestoreStorageAccountNotAvailable', 'properties.storageAccountId'],
    [
      'a target VM that exists',
      async (w) => {
        await w.inventory.create({
          id: newVmId('taken'),
          subscriptionId: SUB,
          resourceGroup: 'restored',
          name: 'taken',
          location: 'westeurope',
          vmSize: 'B1s',
          osType: 'Linux',
          powerState: 'running',
          provisioningState: 'Succeeded',
          agent: { status: 'Ready' },
          disks: [],
          createdAt: NOW.toISOString(),
        });
        return { body: body({ recoveryType: 'AlternateLocation', targetVirtualMachineId: newVmId('TAKEN') }) };
      },
      'KluisRestoreTargetVmExists',
      'properties.targetVirtualMachineId',
    ],
  ];

  it.each(refusals)('refuses %s with its code and target, changing nothing', async (_, arrange, code, target) => {
    const w = await world();
    const given = await arrange(w);
    const before = await snapshot(w.catalog);
    await expect(acceptRestoreRequest(w.deps, given.ref ?? ref, given.body ?? body(), w.start)).rejects.toMatchObject({ code, target });
    expect(await snapshot(w.catalog)).toBe(before);
    expect(w.started).toEqual([]);
  });

  it('refuses points being deleted and soft-deleted items', async () => {
    const deleting = await world({ pointState: 'Deleting' });
    await expect(acceptRestoreRequest(deleting.deps, ref, body(), deleting.start)).rejects.toMatchObject({ code: 'KluisRecoveryPointNotFound' });
    const softDeleted = await world({ item: { protectionState: 'ProtectionStopped', softDelete: { deletedAt: NOW.toISOString(), purgeAt: '2026-01-19T10:00:00.000Z' } } });
    await expect(acceptRestoreRequest(softDeleted.deps, ref, body(), softDeleted.start)).rejects.toMatchObject({ code: 'UserErrorItemSoftDeleted' });
    expect(deleting.started.length + softDeleted.started.length).toBe(0);
  });

  it('restores from items whose protection is stopped (data retained)', async () => {
    const w = await world({ item: { protectionState: 'ProtectionStopped', policyName: undefined } });
    await acceptRestoreRequest(w.deps, ref, body(), w.start);
    expect(w.started).toHaveLength(1);
  });

  it('refuses a new VM from an encrypted point but restores its disks', async () => {
    const encrypted = manifest({
      keyAndSecret: { encryptionMechanism: 'SinglePass', bek: { secretUrl: 'https://kv.vault.azure.net/secrets/bek/1', secretVaultId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/kv' } },
    });
    const w = await world({ manifest: encrypted });
    await expect(acceptRestoreRequest(w.deps, ref, body({ recoveryType: 'AlternateLocation', targetVirtualMachineId: newVmId('x') }), w.start)).rejects.toMatchObject({
      code: 'KluisEncryptedVmRestoreNotSupported',
    });
    const accepted = await acceptRestoreRequest(w.deps, ref, body(), w.start);
    expect(accepted.job.propertyBag['Source VM Encrypted']).toBe('true');
  });

  it('refuses to restore an encrypted point whose Key Vault, key or secret is gone, changing nothing; restores once they are back', async () => {
    const keys = new MemoryKeyStore();
    const kvUrl = 'https://kv-app.vault.azure.net';
    const kvId = `/subscriptions/${SUB}/resourceGroups/g/providers/Microsoft.KeyVault/vaults/kv-app`;
    keys.addVault(kvUrl);
    const secretUrl = keys.setSecret(kvUrl, 'bek', 'wrapped');
    const keyUrl = keys.createKey(kvUrl, 'kek');
    const w = await world({
      manifest: manifest({ keyAndSecret: { encryptionMechanism: 'SinglePass', bek: { secretUrl, secretVaultId: kvId }, kek: { keyUrl, keyVaultId: kvId } } }),
    });
    w.deps.keyVault = { keyStore: keys, locator: new DnsKeyVaultLocator() };
    const secretBackup = (await keys.backupSecret(secretUrl)).backup;
    const keyBackup = (await keys.backupKey(keyUrl)).backup;
    keys.deleteSecret(kvUrl, 'bek');
    const before = await snapshot(w.catalog);
    await expect(acceptRestoreRequest(w.deps, ref, body(), w.start)).rejects.toMatchObject({ code: 'UserErrorKeyAndSecretNotFound', message: expect.stringContaining(secretUrl) });
    keys.deleteVault(kvUrl);
    await expect(acceptRestoreRequest(w.deps, ref, body(), w.start)).rejects.toMatchObject({ code: 'UserErrorKeyVaultNotFound', message: expect.stringContaining("'kv-app'") });
    expect(await snapshot(w.catalog)).toBe(before);
    expect(w.started).toEqual([]);

    // A new vault of the same name with a new key of the same name is not enough: the point needs its own key version.
    keys.addVault(kvUrl);
    await keys.restoreSecret(kvUrl, secretBackup);
    keys.createKey(kvUrl, 'kek');
    await expect(acceptRestoreRequest(w.deps, ref, body(), w.start)).rejects.toMatchObject({ code: 'UserErrorKeyAndSecretNotFound', message: expect.stringContaining(keyUrl) });
    keys.deleteKey(kvUrl, 'kek');
    await keys.restoreKey(kvUrl, keyBackup);
    await acceptRestoreRequest(w.deps, ref, body(), w.start);
    expect(w.started).toHaveLength(1);
  });

  it('treats a point whose VM configuration says encrypted as encrypted, even without a key backup', async () => {
    const w = await world({ manifest: manifest({ vmConfig: { osType: 'Linux', vmSize: 'B2s', encrypted: true } }) });
    await expect(acceptRestoreRequest(w.deps, ref, body({ recoveryType: 'AlternateLocation', targetVirtualMachineId: newVmId('x') }), w.start)).rejects.toMatchObject({
      code: 'KluisEncryptedVmRestoreNotSupported',
    });
  });

  it('fails the job and records no operation when the orchestration cannot start', async () => {
    const w = await world();
    const failure = new Error('task hub unavailable');
    await expect(acceptRestoreRequest(w.deps, ref, body(), async () => Promise.reject(failure))).rejects.toBe(failure);
    const [job] = (await collect(w.catalog.jobs.listAll())).map((d) => d.value);
    expect(job).toMatchObject({ status: 'Failed', errorDetails: [{ errorCode: 'BackUpOperationFailed', errorString: 'The restore job could not be started.' }] });
    expect(await collect(w.catalog.operations.listAll())).toEqual([]);
  });
});

describe('recordRestoreJobEvent', () => {
  async function acceptedJob(alternate: boolean) {
    const w = await world();
    const request = alternate ? body({ recoveryType: 'AlternateLocation', targetVirtualMachineId: newVmId('copy') }) : body();
    const { job } = await acceptRestoreRequest(w.deps, ref, request, w.start);
    return { w, jobId: job.jobId };
  }

  it('walks a restore-disks job through its task to Completed', async () => {
    const { w, jobId } = await acceptedJob(false);
    let job = await recordRestoreJobEvent(w.deps, scope, jobId, { kind: 'started' });
    expect(job.tasks[0]).toMatchObject({ status: 'InProgress', startTime: NOW.toISOString() });
    job = await recordRestoreJobEvent(w.deps, scope, jobId, { kind: 'disksRestored', disks: 2, bytesCopied: 10, blocksVerified: 4 });
    expect(job.tasks[0]).toMatchObject({ status: 'Completed', progressPercentage: 100 });
    expect(job.status).toBe('InProgress');
    job = await recordRestoreJobEvent(w.deps, scope, jobId, { kind: 'completed' });
    expect(job).toMatchObject({ status: 'Completed', endTime: NOW.toISOString() });
    // Repeated (a retried activity): nothing changes.
    expect(await recordRestoreJobEvent(w.deps, scope, jobId, { kind: 'failed', code: 'KluisRestoreVerificationFailed', message: 'late' })).toEqual(job);
  });

  it('starts the VM task once the disks are restored, and records the VM id', async () => {
    const { w, jobId } = await acceptedJob(true);
    await recordRestoreJobEvent(w.deps, scope, jobId, { kind: 'started' });
    const job = await recordRestoreJobEvent(w.deps, scope, jobId, { kind: 'disksRestored', disks: 2, bytesCopied: 10, blocksVerified: 4 });
    expect(job.tasks.map((t) => [t.taskId, t.status])).toEqual([
      ['Transfer data from vault', 'Completed'],
      ['Create virtual machine', 'InProgress'],
    ]);
    const done = await recordRestoreJobEvent(w.deps, scope, jobId, { kind: 'completed', vmId: newVmId('copy') });
    expect(done.propertyBag['Target VM Id']).toBe(newVmId('copy'));
    expect(done.tasks.every((t) => t.status === 'Completed')).toBe(true);
  });

  it('names the managed disks a restore created (kept when creating the VM fails afterwards)', async () => {
    const { w, jobId } = await acceptedJob(true);
    await recordRestoreJobEvent(w.deps, scope, jobId, { kind: 'started' });
    await recordRestoreJobEvent(w.deps, scope, jobId, { kind: 'disksRestored', disks: 2, bytesCopied: 10, blocksVerified: 4 });
    const diskId = (name: string) => `/subscriptions/${SUB}/resourceGroups/rg-restored/providers/Microsoft.Compute/disks/${name}`;
    const named = await recordRestoreJobEvent(w.deps, scope, jobId, {
      kind: 'managedDisksRestored',
      disks: [
        { lun: 1, id: diskId('web1-datadisk-0-job'), tier: 'InstantRP' },
        { lun: 0, id: diskId('web1-osdisk-job'), tier: 'InstantRP' },
      ],
    });
    expect(named.status).toBe('InProgress');
    expect(named.propertyBag).toMatchObject({ 'Target OS Disk Id': diskId('web1-osdisk-job'), 'Target Data Disk Id (LUN 0)': diskId('web1-datadisk-0-job'), 'Restored From Tier': 'InstantRP' });
    const failed = await recordRestoreJobEvent(w.deps, scope, jobId, { kind: 'failed', code: 'KluisRestoreTargetVmExists', message: 'copy exists' });
    expect(failed.propertyBag['Target OS Disk Id']).toBe(diskId('web1-osdisk-job'));
  });

  it('fails the job with code, message and recommendation, failing the running task', async () => {
    const { w, jobId } = await acceptedJob(true);
    await recordRestoreJobEvent(w.deps, scope, jobId, { kind: 'started' });
    await recordRestoreJobEvent(w.deps, scope, jobId, { kind: 'disksRestored', disks: 2, bytesCopied: 10, blocksVerified: 4 });
    const job = await recordRestoreJobEvent(w.deps, scope, jobId, { kind: 'failed', code: 'KluisRestoreTargetVmExists', message: 'copy exists' });
    expect(job.status).toBe('Failed');
    expect(job.tasks[1].status).toBe('Failed');
    expect(job.errorDetails).toEqual([
      { errorCode: 'KluisRestoreTargetVmExists', errorTitle: expect.any(String), errorString: 'copy exists', recommendations: [expect.stringContaining('never replaces an existing virtual machine')] },
    ]);
  });

  it('reports an unknown failure code as an internal failure', async () => {
    const { w, jobId } = await acceptedJob(false);
    const job = await recordRestoreJobEvent(w.deps, scope, jobId, { kind: 'failed', code: 'SomethingElse', message: 'boom' });
    expect(job.errorDetails?.[0]).toMatchObject({ errorCode: 'BackUpOperationFailed', errorString: 'boom' });
  });
});

describe('registerRestoredVm', () => {
  const targetVm = {
    id: newVmId('copy'),
    subscriptionId: SUB,
    resourceGroup: 'restored',
    name: 'copy',
    location: 'westeurope',
    osType: 'Linux' as const,
    vmSize: 'Standard_B2s',
    sourceVmId: SOURCE_VM_ID,
    recoveryPointId: POINT,
    disks: [{ slot: 0, storageType: 'Standard' as const }],
  };
  const disks = [{ lun: 0, blobUrl: 'http://127.0.0.1:10000/devstoreaccount1/c/lun0.vhd', sizeBytes: 1024 * 1024 + 512 }];

  it('inserts the VM, and a retry of the same job finds its own VM', async () => {
    const inventory = new MemoryVmInventory();
    const deps = { inventory, clock: () => NOW };
    expect(await registerRestoredVm(deps, { jobId: 'job-1', targetVm, disks })).toEqual({ vmId: targetVm.id, created: true });
    expect(await registerRestoredVm(deps, { jobId: 'job-1', targetVm, disks })).toEqual({ vmId: targetVm.id, created: false });
    expect(await inventory.get(targetVm)).toMatchObject({ powerState: 'stopped', disks: [{ kind: 'os', vhdUri: disks[0].blobUrl, sizeBytes: 1024 * 1024 }] });
  });

  it('never replaces a VM that appeared meanwhile', async () => {
    const inventory = new MemoryVmInventory();
    const deps = { inventory, clock: () => NOW };
    await registerRestoredVm(deps, { jobId: 'job-other', targetVm, disks });
    const before = await inventory.get(targetVm);
    await expect(registerRestoredVm(deps, { jobId: 'job-1', targetVm, disks })).rejects.toMatchObject({ code: 'KluisRestoreTargetVmExists' });
    expect(await inventory.get(targetVm)).toEqual(before);
  });
});
