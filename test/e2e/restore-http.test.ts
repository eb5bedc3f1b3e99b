/**
 * Restore over the ARM-shaped API, end to end through the embedded host on Azurite: a vault, a VM in the
 * local fabric, protection and an on-demand backup, then `POST …/recoveryPoints/{rp}/restore` — restore
 * disks and create a new VM — with 202 + Azure-AsyncOperation, the operation naming the Restore job, the
 * job's tasks and property bag, the restored disks byte-identical to the VM's disks at backup, the new VM
 * in the fabric; and every refusal answered 4xx with a code and target, starting no job.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { createResourceGroups, subscriptionEnv } from '../support/arm-tenancy';
import { blobService, uniqueName, uniqueTableName, useAzurite } from '../support/azurite';
import { REPO_ROOT, sleep, startHostProcess, type HostProcess, type HttpResult } from '../support/host-process';
import { armHttp } from '../support/vault-api';

const MIB = 1024 * 1024;
const SUB = '00000000-0000-0000-0000-00000000e2e6';
const RG = 'backup-rg';
const VM_RG = 'prod';
const VM = 'web1';
const API = 'api-version=2023-06-01';
const CONTAINER = `IaasVMContainer;iaasvmcontainerv2;${VM_RG};${VM}`;
const ITEM = `VM;iaasvmcontainerv2;${VM_RG};${VM}`;
const VM_ID = `/subscriptions/${SUB}/resourceGroups/${VM_RG}/providers/Microsoft.Compute/virtualMachines/${VM}`;
const RESTORE_ACCOUNT = `/subscriptions/${SUB}/resourceGroups/storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`;
/** KLUIS_E2E_APP runs the suite against another build of the app (default: this repository's dist/). */
const APP = process.env.KLUIS_E2E_APP ? path.resolve(process.env.KLUIS_E2E_APP) : REPO_ROOT;

interface ErrorEnvelope {
  error: { code: string; message: string; target?: string; recommendation?: string };
}

interface JobResource {
  name: string;
  properties: {
    operation: string;
    status: string;
    entityFriendlyName: string;
    errorDetails?: Array<{ errorCode: number; errorTitle: string; errorString: string; recommendations: string[] }>;
    extendedInfo: { tasksList: Array<{ taskId: string; status: string; progressPercentage: number }>; propertyBag: Record<string, string> };
  };
}

interface FabricVm {
  id: string;
  name: string;
  location: string;
  osType: string;
  powerState: string;
  disks: Array<{ kind: string; lun?: number; vhdUri: string; storageType: string }>;
}

const azurite = useAzurite();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('restore over the ARM API (embedded host)', () => {
  let host: HostProcess;
  const vaultName = uniqueName('vault').slice(0, 40);
  const vaultPath = `subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.RecoveryServices/vaults/${vaultName}`;
  const vaultId = `/${vaultPath}`;
  const itemPath = `${vaultPath}/backupFabrics/Azure/protectionContainers/${encodeURIComponent(CONTAINER)}/protectedItems/${encodeURIComponent(ITEM)}`;
  let recoveryPoint: string;
  const diskBytesAtBackup = new Map<string, Buffer>();

  const withApiVersion = (url: string) => `${url}${url.includes('?') ? '&' : '?'}${API}`;
  const api = <T>(route: string, options: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<HttpResult<T>> =>
    armHttp<T>(withApiVersion(`${host.origin}/api/${route}`), options);
  const fabric = <T>(route: string, options: { method?: string; body?: unknown } = {}): Promise<HttpResult<T>> =>
    armHttp<T>(`${host.origin}/fabric/subscriptions/${SUB}/${route}`, options);

  function download(vhdUri: string): Promise<Buffer> {
    const [, container, ...blob] = new URL(vhdUri).pathname.split('/').slice(1);
    return blobService(azurite().connectionString).getContainerClient(container).getPageBlobClient(decodeURIComponent(blob.join('/'))).downloadToBuffer();
  }

  async function until<T>(what: string, read: () => Promise<HttpResult<T>>, done: (body: T) => boolean, timeoutInMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutInMs;
    for (;;) {
      const response = await read();
      if (response.status === 200 && done(response.body)) return response.body;
      if (Date.now() > deadline) throw new Error(`${what}: still ${response.status} ${response.text}\n${host.outputTail()}`);
      await sleep(200);
    }
  }

  /** Follows a 202's Azure-AsyncOperation to the job it names, then waits for the job to finish. */
  async function jobOf(started: HttpResult<unknown>): Promise<JobResource> {
    expect(started.status).toBe(202);
    const operationUrl = started.headers.get('azure-asyncoperation')!;
    // As Azure: a restore is tracked at the item (`{item}/operationsStatus`, `{item}/operationResults`).
    expect(operationUrl).toMatch(/\/protectedItems\/[^/]+\/operationsStatus\/[^/]+$/);
    expect(started.headers.get('location')).toMatch(/\/protectedItems\/[^/]+\/operationResults\/[^/]+$/);
    expect(Number(started.headers.get('retry-after'))).toBeGreaterThan(0);
    const operation = await until(
      'operation',
      () => armHttp<{ status: string; properties?: { jobId: string } }>(withApiVersion(operationUrl)),
      (body) => body.status !== 'InProgress',
    );
    expect(operation.status).toBe('Succeeded');
    const jobId = operation.properties!.jobId;
    return until(`job ${jobId}`, () => api<JobResource>(`${vaultPath}/backupJobs/${jobId}`), (job) => !['InProgress', 'Cancelling'].includes(job.properties.status));
  }

  async function jobCount(): Promise<number> {
    const jobs = await api<{ value: unknown[] }>(`${vaultPath}/backupJobs`);
    expect(jobs.status).toBe(200);
    return jobs.body.value.length;
  }

  function restoreBody(properties: Record<string, unknown>): { properties: Record<string, unknown> } {
    return {
      properties: {
        objectType: 'IaasVMRestoreRequest',
        recoveryPointId: recoveryPoint,
        recoveryType: 'RestoreDisks',
        sourceResourceId: VM_ID,
        region: 'westeurope',
        storageAccountId: RESTORE_ACCOUNT,
        ...properties,
      },
    };
  }

  // Text bodies (malformed JSON) are sent as JSON, as a JSON client does; a text/plain body is refused 415 before parsing.
  const restore = (body: unknown, point = recoveryPoint) =>
    api<ErrorEnvelope>(`${itemPath}/recoveryPoints/${point}/restore`, { method: 'POST', body, ...(typeof body === 'string' ? { headers: { 'content-type': 'application/json' } } : {}) });

  beforeAll(async () => {
    const suffix = Date.now().toString(36);
    host = await startHostProcess({
      app: APP,
      storage: azurite().connectionString,
      hubName: `Restore${suffix}`,
      env: {
        KLUIS_VAULT_CONTAINER: uniqueName('vault'),
        KLUIS_SOURCE_STORAGE: '',
        KLUIS_VAULT_STORAGE: '',
        KLUIS_RESTORE_STORAGE: '',
        KLUIS_CATALOG_TABLE: uniqueTableName('points'),
        KLUIS_CATALOG_TABLE_PREFIX: uniqueTableName('K').slice(0, 20),
        KLUIS_INVENTORY_TABLE: uniqueTableName('vms'),
        ...subscriptionEnv(SUB),
      },
    });
    await createResourceGroups(host, SUB, [RG]);

    const vault = await api(vaultPath, { method: 'PUT', body: { location: 'westeurope', properties: {} } });
    expect(vault.status).toBe(201);
    const vm = await fabric<FabricVm>(`resourceGroups/${VM_RG}/virtualMachines/${VM}`, {
      method: 'PUT',
      body: {
        location: 'westeurope',
        osType: 'Linux',
        vmSize: 'Standard_B2s',
        osDisk: { sizeBytes: 8 * MIB },
        dataDisks: [{ lun: 0, sizeBytes: 4 * MIB, storageType: 'Premium' }],
        initialData: { percent: 25, seed: 'restore-e2e' },
      },
    });
    expect(vm.status === 201 ? 201 : `${vm.status} ${vm.text}\n${host.outputTail()}`).toBe(201);

    const refresh = await api(`${vaultPath}/backupFabrics/Azure/refreshContainers`, { method: 'POST' });
    expect([200, 202, 204]).toContain(refresh.status);
    const protect = await api(itemPath, {
      method: 'PUT',
      body: { properties: { protectedItemType: 'Microsoft.Compute/virtualMachines', sourceResourceId: VM_ID, policyId: `${vaultId}/backupPolicies/DefaultPolicy` } },
    });
    expect((await jobOf(protect)).properties.status).toBe('Completed');

    for (const disk of vm.body.disks) diskBytesAtBackup.set(disk.kind === 'os' ? 'os' : `data${disk.lun}`, await download(disk.vhdUri));
    const backup = await jobOf(await api(`${itemPath}/backup`, { method: 'POST', body: { properties: { objectType: 'IaasVMBackupRequest' } } }));
    expect(backup.properties.status).toBe('Completed');
    // Change the disks after the backup: the restore must bring back the bytes as they were.
    const write = await fabric(`resourceGroups/${VM_RG}/virtualMachines/${VM}/writeData`, { method: 'POST', body: { percent: 10, seed: 'after' } });
    expect(write.status).toBe(200);

    const points = await api<{ value: Array<{ name: string }> }>(`${itemPath}/recoveryPoints`);
    expect(points.status).toBe(200);
    expect(points.body.value).toHaveLength(1);
    recoveryPoint = points.body.value[0].name;
  }, 180_000);

  afterAll(async () => {
    await host?.stop();
  });

  it('creates a new VM from the point: 202, a Restore job with its tasks and property bag, disks as they were at backup', async () => {
    const targetVm = `/subscriptions/${SUB}/resourceGroups/restored/providers/Microsoft.Compute/virtualMachines/web1-copy`;
    const job = await jobOf(await restore(restoreBody({ recoveryType: 'AlternateLocation', targetVirtualMachineId: targetVm, targetResourceGroupId: `/subscriptions/${SUB}/resourceGroups/restored` })));
    expect(job.properties).toMatchObject({ operation: 'Restore', status: 'Completed', entityFriendlyName: VM });
    expect(job.properties.extendedInfo.tasksList.map((t) => [t.taskId, t.status, t.progressPercentage])).toEqual([
      ['Transfer data from vault', 'Completed', 100],
      ['Create virtual machine', 'Completed', 100],
    ]);
    const bag = job.properties.extendedInfo.propertyBag;
    expect(bag).toMatchObject({ 'Job Type': 'Restore VM', 'Target Storage Account Name': 'devstoreaccount1', 'Target VM Name': 'web1-copy', 'Target resource group': 'restored', 'Target VM Id': targetVm });
    const config = await blobService(azurite().connectionString).getContainerClient(bag['Config Blob Container Name']).getBlobClient(bag['Config Blob Name']).downloadToBuffer();
    expect(JSON.parse(config.toString())).toMatchObject({ kind: 'KluisRestoredVmConfiguration', recoveryPointId: recoveryPoint });

    const copy = await fabric<FabricVm>('resourceGroups/restored/virtualMachines/web1-copy');
    expect(copy.status).toBe(200);
    // The new VM and its resource group (made for it) are there for ARM clients too.
    const armVm = await api<{ id: string; properties: { storageProfile: { dataDisks: unknown[] } } }>(`subscriptions/${SUB}/resourceGroups/restored/providers/Microsoft.Compute/virtualMachines/web1-copy`);
    expect([armVm.status, armVm.body.id, armVm.body.properties.storageProfile.dataDisks.length]).toEqual([200, targetVm, 1]);
    expect(copy.body).toMatchObject({ name: 'web1-copy', location: 'westeurope', osType: 'Linux', powerState: 'stopped' });
    expect(copy.body.disks.map((d) => [d.kind, d.lun, d.storageType])).toEqual([
      ['os', undefined, 'Standard'],
      ['data', 0, 'Premium'],
    ]);
    for (const disk of copy.body.disks) {
      expect(sha256(await download(disk.vhdUri))).toBe(sha256(diskBytesAtBackup.get(disk.kind === 'os' ? 'os' : `data${disk.lun}`)!));
    }
  });

  it('restores only the OS disk for an empty LUN list', async () => {
    const job = await jobOf(await restore(restoreBody({ restoreDiskLunList: [] })));
    expect(job.properties.status).toBe('Completed');
    const bag = job.properties.extendedInfo.propertyBag;
    expect(bag).toMatchObject({ 'Job Type': 'Recover disks', 'Restored disk LUNs': 'OS' });
    const names: string[] = [];
    for await (const blob of blobService(azurite().connectionString).getContainerClient(bag['Config Blob Container Name']).listBlobsFlat()) names.push(blob.name);
    expect(names.filter((n) => n.endsWith('.vhd'))).toHaveLength(1);
  });

  it.each<[string, () => unknown, number, string, string]>([
    ['OriginalLocation', () => restoreBody({ recoveryType: 'OriginalLocation' }), 400, 'KluisOriginalLocationRestoreNotSupported', 'properties.recoveryType'],
    ['another region', () => restoreBody({ region: 'northeurope' }), 400, 'KluisCrossRegionRestoreNotSupported', 'properties.region'],
    ['an unknown data disk', () => restoreBody({ restoreDiskLunList: [7] }), 400, 'KluisInvalidRequest', 'properties.restoreDiskLunList'],
    ['another storage account', () => restoreBody({ storageAccountId: RESTORE_ACCOUNT.replace('devstoreaccount1', 'elsewhere') }), 400, 'KluisRestoreStorageAccountNotAvailable', 'properties.storageAccountId'],
    ['the source VM as the new VM', () => restoreBody({ recoveryType: 'AlternateLocation', targetVirtualMachineId: VM_ID }), 409, 'KluisRestoreTargetVmExists', 'properties.targetVirtualMachineId'],
    ['a wrong type', () => restoreBody({ restoreDiskLunList: 'all' }), 400, 'KluisInvalidRequest', 'properties.restoreDiskLunList'],
    ['an unknown field', () => restoreBody({ overwriteExisting: true }), 400, 'KluisInvalidRequest', 'properties.overwriteExisting'],
    ['malformed JSON', () => '{"properties":', 400, 'KluisInvalidRequest', 'body'],
  ])('refuses %s with its status, code and field, starting no job', async (_, makeBody, status, code, target) => {
    const before = await jobCount();
    const response = await restore(makeBody());
    expect(response.status).toBe(status);
    expect(response.body.error).toMatchObject({ code, target });
    expect(response.body.error.recommendation?.length).toBeGreaterThan(20);
    expect(await jobCount()).toBe(before);
  });

  it('refuses a new VM whose name exists, and unknown points and items', async () => {
    const before = await jobCount();
    const taken = await restore(restoreBody({ recoveryType: 'AlternateLocation', targetVirtualMachineId: `/subscriptions/${SUB}/resourceGroups/restored/providers/Microsoft.Compute/virtualMachines/WEB1-COPY` }));
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('KluisRestoreTargetVmExists');
    const unknownPoint = await restore(restoreBody({ recoveryPointId: undefined }), '12345');
    expect(unknownPoint.status).toBe(404);
    expect(unknownPoint.body.error.code).toBe('KluisRecoveryPointNotFound');
    const otherItem = await api<ErrorEnvelope>(`${itemPath.replace(encodeURIComponent(ITEM), encodeURIComponent('VM;iaasvmcontainerv2;prod;web9')).replace(encodeURIComponent(CONTAINER), encodeURIComponent('IaasVMContainer;iaasvmcontainerv2;prod;web9'))}/recoveryPoints/${recoveryPoint}/restore`, {
      method: 'POST',
      body: restoreBody({ sourceResourceId: undefined }),
    });
    expect(otherItem.status).toBe(404);
    expect(otherItem.body.error.code).toBe('UserErrorBcmDatasourceNotPresent');
    expect(await jobCount()).toBe(before);
  });
});
