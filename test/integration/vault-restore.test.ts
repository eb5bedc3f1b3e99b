/**
 * Restore over the vault service on a real Azurite: a point taken by the real backup engine is restored
 * through acceptRestoreRequest and the steps the vaultRestore orchestration runs (job events, the engine's
 * restoreDisks, the VM registration) on the Table catalog and the Table VM inventory. The restored disks
 * are byte-identical to the source at backup; the job and the new VM say where they are; a VM that
 * appears while the disks are restored is never replaced.
 */
import { createHash } from 'node:crypto';
import { createSampleVhd } from '../../emulator/sample-disk';
import { nameRow, vaultKey, vaultPartition, vaultRow, type ProtectedItemRecord, type VaultRecord } from '../../lib/domain/catalog';
import type { RestoreRequestBody, RestoreRequestProperties } from '../../lib/domain/restore-request';
import type { VirtualMachine } from '../../lib/domain/virtual-machine';
import { getJob, type VaultScope } from '../../lib/services/jobs';
import { restoreDisks, type RestoreDeps } from '../../lib/engine/restore/restore-disks';
import {
  acceptRestoreRequest,
  recordRestoreJobEvent,
  registerRestoredVm,
  type RecoveryPointRef,
  type RestoreRequestDeps,
  type VaultRestoreRequest,
} from '../../lib/services/restore-requests';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { BlobRestoreTargetStore } from '../../lib/stores/azure/blob-restore-target-store';
import { TableRecoveryPointCatalog } from '../../lib/stores/azure/table-recovery-point-catalog';
import { TableVmInventory } from '../../lib/stores/azure/table-vm-inventory';
import type { BackupEngineDeps } from '../../lib/engine/engine-deps';
import { collect } from '../../lib/stores/document-store';
import { tableVaultCatalog, type VaultCatalog } from '../../lib/stores/vault-catalog';
import { blobService, uniqueName, uniqueTableName, useAzurite } from '../support/azurite';
import { backupVm, pageBlobSources, silentLogger } from '../support/backup-engine';

const MiB = 1024 * 1024;
const SUB = '00000000-0000-0000-0000-0000000000cc';
const VAULT_ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v1`;
const SOURCE_VM_ID = `/subscriptions/${SUB}/resourceGroups/prod/providers/Microsoft.Compute/virtualMachines/app1`;
const ITEM = 'VM;iaasvmcontainerv2;prod;app1';
const CONTAINER = 'IaasVMContainer;iaasvmcontainerv2;prod;app1';
const NO_RETRIES = { retryOptions: { maxTries: 1 } };
const scope: VaultScope = { id: VAULT_ID, subscriptionId: SUB, resourceGroup: 'rg', name: 'v1' };
const newVmId = (name: string) => `/subscriptions/${SUB}/resourceGroups/restored/providers/Microsoft.Compute/virtualMachines/${name}`;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

const azurite = useAzurite();

interface World {
  catalog: VaultCatalog;
  inventory: TableVmInventory;
  requests: RestoreRequestDeps;
  engine: RestoreDeps;
  ref: RecoveryPointRef;
  sourceBytes: Map<number, Buffer>;
}

let world: World;

beforeAll(async () => {
  const conn = azurite().connectionString;
  const blobs = blobService(conn);
  const pointsTable = uniqueTableName('points');
  const store = BlobPageStore.fromConnectionString(conn, NO_RETRIES);
  const backupDeps: BackupEngineDeps = {
    sources: pageBlobSources(store),
    vault: store,
    vaultContainer: uniqueName('vault'),
    catalog: TableRecoveryPointCatalog.fromConnectionString(conn, pointsTable, { retryOptions: { maxRetries: 0 } }),
    clock: () => new Date('2026-02-01T01:00:00Z'),
    log: silentLogger,
  };
  const sourceContainer = uniqueName('vhds');
  const disks = [
    { lun: 0, container: sourceContainer, blob: 'app1/os.vhd', storageType: 'Standard' as const },
    { lun: 1, container: sourceContainer, blob: 'app1/data.vhd', storageType: 'Premium' as const },
  ];
  await createSampleVhd(blobs, { container: sourceContainer, blob: disks[0].blob, dataSize: 8 * MiB, seed: 'os' });
  await createSampleVhd(blobs, { container: sourceContainer, blob: disks[1].blob, dataSize: 4 * MiB, seed: 'data' });
  const sourceBytes = new Map<number, Buffer>();
  for (const disk of disks) sourceBytes.set(disk.lun, await blobs.getContainerClient(disk.container).getPageBlobClient(disk.blob).downloadToBuffer());

  const engineItemId = uniqueName('item');
  const backup = await backupVm(backupDeps, {
    itemId: engineItemId,
    jobId: 'backup-1',
    recoveryPointId: '1769907600000',
    disks,
    capabilities: { trueDiff: false, serverSideCopySafe: false },
  });

  const catalog = tableVaultCatalog(conn, { prefix: uniqueTableName('K').slice(0, 20), recoveryPoints: pointsTable });
  const vault: VaultRecord = {
    id: VAULT_ID,
    subscriptionId: SUB,
    resourceGroup: 'rg',
    name: 'v1',
    location: 'westeurope',
    storageModelType: 'LocallyRedundant',
    softDelete: { state: 'Enabled', retentionDays: 14 },
    createdAt: '2026-01-01T00:00:00.000Z',
  };
  const item: ProtectedItemRecord = {
    vaultId: VAULT_ID,
    containerName: CONTAINER,
    itemName: ITEM,
    engineItemId,
    vm: { id: SOURCE_VM_ID, name: 'app1', resourceGroup: 'prod', location: 'westeurope', osType: 'Linux', vmSize: 'Standard_B2s' },
    policyName: 'DefaultPolicy',
    protectionState: 'Protected',
    healthStatus: 'Passed',
    onDemandBackups: [],
    createdAt: '2026-01-01T00:00:00.000Z',
  };
  await catalog.vaults.insert(vaultPartition(SUB), vaultRow('rg', 'v1'), vault);
  await catalog.items.insert(vaultKey(SUB, 'rg', 'v1'), nameRow(ITEM), item);

  const target = BlobRestoreTargetStore.fromConnectionString(conn, NO_RETRIES);
  const inventory = TableVmInventory.fromConnectionString(conn, uniqueTableName('vms'), { retryOptions: { maxRetries: 0 } });
  let ids = 0;
  world = {
    catalog,
    inventory,
    requests: {
      catalog,
      inventory,
      vault: store,
      restoreTarget: target,
      clock: () => new Date('2026-02-02T09:00:00Z'),
      newId: () => `6f1e2d3c-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
    },
    engine: { vault: store, sources: pageBlobSources(store), target, catalog: catalog.recoveryPoints, clock: () => new Date('2026-02-02T09:00:00Z'), log: silentLogger },
    ref: { subscriptionId: SUB, resourceGroup: 'rg', vaultName: 'v1', fabricName: 'Azure', containerName: CONTAINER, itemName: ITEM, recoveryPointId: backup.commit.recoveryPointId },
    sourceBytes,
  };
}, 120_000);

function body(overrides: Partial<RestoreRequestProperties> = {}): RestoreRequestBody {
  return {
    properties: {
      objectType: 'IaasVMRestoreRequest',
      recoveryType: 'RestoreDisks',
      region: 'West Europe',
      storageAccountId: `/subscriptions/${SUB}/resourceGroups/storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`,
      ...overrides,
    },
  };
}

/** What the vaultRestore orchestration does, step by step, with the real services. */
async function runRestore(input: VaultRestoreRequest, beforeRegistering?: () => Promise<void>): Promise<void> {
  const jobs = { catalog: world.catalog, clock: world.requests.clock, newId: world.requests.newId };
  await recordRestoreJobEvent(jobs, input.vault, input.jobId, { kind: 'started' });
  try {
    const restored = await restoreDisks(world.engine, { ...input.restore, jobId: input.jobId });
    await recordRestoreJobEvent(jobs, input.vault, input.jobId, { kind: 'disksRestored', disks: restored.disks.length, bytesCopied: 0, blocksVerified: 0 });
    let vmId: string | undefined;
    if (input.targetVm !== undefined) {
      await beforeRegistering?.();
      vmId = (await registerRestoredVm({ inventory: world.inventory, clock: world.requests.clock }, { jobId: input.jobId, targetVm: input.targetVm, disks: restored.disks })).vmId;
    }
    await recordRestoreJobEvent(jobs, input.vault, input.jobId, vmId === undefined ? { kind: 'completed' } : { kind: 'completed', vmId });
  } catch (err) {
    const failure = err as { code: string; message: string };
    await recordRestoreJobEvent(jobs, input.vault, input.jobId, { kind: 'failed', code: failure.code, message: failure.message });
  }
}

async function accept(request: RestoreRequestBody): Promise<VaultRestoreRequest> {
  let started: VaultRestoreRequest | undefined;
  await acceptRestoreRequest(world.requests, world.ref, request, async (_id, input) => {
    started = input;
  });
  return started!;
}

function download(url: string): Promise<Buffer> {
  const [, container, ...blob] = new URL(url).pathname.split('/').slice(1);
  return blobService(azurite().connectionString).getContainerClient(container).getPageBlobClient(decodeURIComponent(blob.join('/'))).downloadToBuffer();
}

describe('vault restore on Azurite', () => {
  it('creates a new VM from a backed-up point: disks byte-identical, configuration blob where the job says, VM registered stopped', async () => {
    const input = await accept(body({ recoveryType: 'AlternateLocation', targetVirtualMachineId: newVmId('app1-copy') }));
    await runRestore(input);

    const job = await getJob(world.requests, scope, input.jobId);
    expect(job.status).toBe('Completed');
    expect(job.tasks.map((t) => [t.taskId, t.status, t.progressPercentage])).toEqual([
      ['Transfer data from vault', 'Completed', 100],
      ['Create virtual machine', 'Completed', 100],
    ]);
    const bag = job.propertyBag;
    expect(bag).toMatchObject({ 'Job Type': 'Restore VM', 'Target Storage Account Name': 'devstoreaccount1', 'Target VM Id': newVmId('app1-copy') });
    const config = await blobService(azurite().connectionString).getContainerClient(bag['Config Blob Container Name']).getBlobClient(bag['Config Blob Name']).downloadToBuffer();
    expect(JSON.parse(config.toString())).toMatchObject({ kind: 'KluisRestoredVmConfiguration', jobId: input.jobId, recoveryPointId: world.ref.recoveryPointId });

    const vm = (await world.inventory.getById(newVmId('app1-copy'))) as VirtualMachine;
    expect(vm).toMatchObject({ name: 'app1-copy', location: 'westeurope', osType: 'Linux', vmSize: 'Standard_B2s', powerState: 'stopped' });
    expect(vm.disks.map((d) => [d.kind, d.lun, d.storageType])).toEqual([
      ['os', undefined, 'Standard'],
      ['data', 0, 'Premium'],
    ]);
    for (const [slot, disk] of vm.disks.entries()) {
      expect(new URL(disk.vhdUri!).pathname).toContain(`/${bag['Config Blob Container Name']}/`);
      expect(sha256(await download(disk.vhdUri!))).toBe(sha256(world.sourceBytes.get(slot)!));
    }
  });

  it('restores only the OS disk for an empty LUN list, and refuses the same new VM name twice', async () => {
    const input = await accept(body({ restoreDiskLunList: [] }));
    expect(input.restore.luns).toEqual([0]);
    await runRestore(input);
    const job = await getJob(world.requests, scope, input.jobId);
    expect(job.status).toBe('Completed');
    const container = blobService(azurite().connectionString).getContainerClient(job.propertyBag['Config Blob Container Name']);
    const names = (await collect(container.listBlobsFlat())).map((b) => b.name);
    expect(names.filter((n) => n.endsWith('.vhd'))).toHaveLength(1);

    const jobsBefore = await collect(world.catalog.jobs.listAll());
    await expect(accept(body({ recoveryType: 'AlternateLocation', targetVirtualMachineId: newVmId('APP1-COPY') }))).rejects.toMatchObject({
      code: 'KluisRestoreTargetVmExists',
    });
    expect(await collect(world.catalog.jobs.listAll())).toEqual(jobsBefore);
  });

  it('fails the job, keeping the restored disks, when the target VM appears while the disks are restored', async () => {
    const input = await accept(body({ recoveryType: 'AlternateLocation', targetVirtualMachineId: newVmId('late') }));
    const intruder: VirtualMachine = {
      id: newVmId('late'),
      subscriptionId: SUB,
      resourceGroup: 'restored',
      name: 'late',
      location: 'westeurope',
      vmSize: 'Standard_B1s',
      osType: 'Windows',
      powerState: 'running',
      provisioningState: 'Succeeded',
      agent: { status: 'Ready' },
      disks: [],
      createdAt: '2026-02-02T09:00:00.000Z',
    };
    await runRestore(input, async () => {
      await world.inventory.create(intruder);
    });
    const job = await getJob(world.requests, scope, input.jobId);
    expect(job.status).toBe('Failed');
    expect(job.errorDetails?.[0]).toMatchObject({ errorCode: 'KluisRestoreTargetVmExists' });
    expect(job.tasks.map((t) => t.status)).toEqual(['Completed', 'Failed']);
    expect(await world.inventory.getById(newVmId('late'))).toMatchObject({ osType: 'Windows', powerState: 'running', disks: [] });
    const container = blobService(azurite().connectionString).getContainerClient(job.propertyBag['Config Blob Container Name']);
    expect((await collect(container.listBlobsFlat())).length).toBe(3);
  });
});
