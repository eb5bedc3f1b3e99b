/**
 * Discovery, protection, on-demand backup, jobs and soft delete over the ARM-shaped API, through the
 * embedded host on Azurite with the local VM fabric: create a vault → create VMs in the fabric → list
 * protectable items → enable protection (and each validation error, the catalog unchanged) → the item
 * is IRPending → backup now → 202 → the operation names the job → the job runs to Completed with its
 * tasks → the recovery point is listed with type and tiers → stop with delete → soft-deleted and
 * visible → undelete → resume.
 *
 * Runs the app built into dist/ (KLUIS_E2E_APP names another built copy of the app, e.g. one
 * compiled with `tsc --outDir`).
 */
import { createResourceGroups, subscriptionEnv } from '../support/arm-tenancy';
import { useAzurite } from '../support/azurite';
import { REPO_ROOT, sleep, startHostProcess, type HostProcess, type HttpResult } from '../support/host-process';
import { armHttp, type ArmList, type ErrorEnvelope, type ItemProperties, type JobProperties, type Resource } from '../support/vault-api';

const APP = process.env.KLUIS_E2E_APP ?? REPO_ROOT;
const SUB = '3a1f0c5e-9b7d-4e2a-8c6f-0d1e2f3a4b5c';
const MIB = 1024 * 1024;

const azurite = useAzurite();

describe('protection journey over the ARM API (embedded host, fabric, engine)', () => {
  let host: HostProcess;
  const api = () => `${host.origin}/api`;
  const vaultPath = (vault: string) => `subscriptions/${SUB}/resourceGroups/rg-backup/providers/Microsoft.RecoveryServices/vaults/${vault}`;
  const vaultUrl = (vault = 'vault1') => `${api()}/${vaultPath(vault)}`;
  const container = (vm: string) => `IaasVMContainer;iaasvmcontainerv2;rg-vms;${vm}`;
  const item = (vm: string) => `VM;iaasvmcontainerv2;rg-vms;${vm}`;
  const itemUrl = (vm: string, vault = 'vault1') =>
    `${vaultUrl(vault)}/backupFabrics/Azure/protectionContainers/${encodeURIComponent(container(vm))}/protectedItems/${encodeURIComponent(item(vm))}`;
  const vmId = (vm: string) => `/subscriptions/${SUB}/resourceGroups/rg-vms/providers/Microsoft.Compute/virtualMachines/${vm}`;
  const policyId = (vault = 'vault1', policy = 'DefaultPolicy') => `/${vaultPath(vault)}/backupPolicies/${policy}`;
  const v = '?api-version=2023-06-01';

  async function createVm(name: string, body: Record<string, unknown>): Promise<void> {
    const created = await armHttp(`${host.origin}/fabric/subscriptions/${SUB}/resourceGroups/rg-vms/virtualMachines/${name}`, {
      method: 'PUT',
      body: { osDisk: { sizeBytes: 8 * MIB }, initialData: { percent: 10, seed: name }, ...body },
    });
    expect(created.status).toBe(201);
  }

  function enable(vm: string, vault = 'vault1', extra: Record<string, unknown> = {}): Promise<HttpResult<ErrorEnvelope>> {
    return armHttp<ErrorEnvelope>(`${itemUrl(vm, vault)}${v}`, {
      method: 'PUT',
      body: { properties: { protectedItemType: 'Microsoft.Compute/virtualMachines', sourceResourceId: vmId(vm), policyId: policyId(vault), ...extra } },
    });
  }

  /**
   * Follows a 202 until the operation ends; returns its status body. The headers point where Azure's do:
   * an item's operations at `{item}/operationsStatus` and `{item}/operationResults`, a delete at the vault's
   * `backupOperations` and `backupOperationResults`, a container refresh only at `backupFabrics/Azure/operationResults`.
   */
  async function settle(response: HttpResult<unknown>): Promise<{ status: string; properties?: { jobId: string }; error?: { code: string } }> {
    expect(response.status).toBe(202);
    expect(response.headers.get('retry-after')).toBe('2');
    const location = response.headers.get('location')!;
    const statusUrl = response.headers.get('azure-asyncoperation');
    if (statusUrl === null) {
      expect(location).toMatch(/\/backupFabrics\/Azure\/operationResults\/[^/]+$/);
      for (const deadline = Date.now() + 30_000; ; ) {
        const result = await armHttp(location);
        if (result.status !== 202) return { status: result.status === 204 ? 'Succeeded' : 'Failed' };
        if (Date.now() > deadline) throw new Error(`operation still running: ${location}`);
        await sleep(100);
      }
    }
    const itemScoped = /\/protectedItems\/[^/]+\/operationsStatus\/[^/]+$/.test(statusUrl);
    expect(itemScoped || /\/backupOperations\/[^/]+$/.test(statusUrl)).toBe(true);
    expect(location).toMatch(itemScoped ? /\/protectedItems\/[^/]+\/operationResults\/[^/]+$/ : /\/backupOperationResults\/[^/]+$/);
    for (const deadline = Date.now() + 30_000; ; ) {
      const status = await armHttp<{ status: string; properties?: { jobId: string }; error?: { code: string } }>(statusUrl);
      expect(status.status).toBe(200);
      if (status.body.status !== 'InProgress') {
        const result = await armHttp(location);
        expect(result.status).toBe(status.body.status === 'Succeeded' ? 204 : result.status);
        return status.body;
      }
      if (Date.now() > deadline) throw new Error(`operation still running: ${status.text}`);
      await sleep(100);
    }
  }

  async function job(jobId: string): Promise<Resource<JobProperties>> {
    const response = await armHttp<Resource<JobProperties>>(`${vaultUrl()}/backupJobs/${jobId}${v}`);
    expect(response.status).toBe(200);
    return response.body;
  }

  async function waitForJob(jobId: string, timeoutInMs = 90_000): Promise<Resource<JobProperties>> {
    for (const deadline = Date.now() + timeoutInMs; ; ) {
      const current = await job(jobId);
      if (!['InProgress', 'Cancelling'].includes(current.properties.status)) return current;
      if (Date.now() > deadline) throw new Error(`job ${jobId} still ${JSON.stringify(current.properties)}\n${host.outputTail()}`);
      await sleep(200);
    }
  }

  async function getItem(vm: string): Promise<Resource<ItemProperties>> {
    const response = await armHttp<Resource<ItemProperties>>(`${itemUrl(vm)}${v}`);
    expect(response.status).toBe(200);
    return response.body;
  }

  const catalogState = async () => [
    (await armHttp<ArmList<unknown>>(`${vaultUrl()}/backupProtectedItems${v}`)).body,
    (await armHttp<ArmList<unknown>>(`${vaultUrl('vault2')}/backupProtectedItems${v}`)).body,
    (await armHttp<ArmList<Resource<{ status: string }>>>(`${vaultUrl()}/backupJobs${v}`)).body.value.map((j) => j.name),
  ];

  beforeAll(async () => {
    const stamp = Date.now().toString(36);
    host = await startHostProcess({
      app: APP,
      storage: azurite().connectionString,
      hubName: `Protect${stamp}`,
      env: {
        KLUIS_SOURCE_STORAGE: '',
        KLUIS_VAULT_STORAGE: '',
        KLUIS_VAULT_CONTAINER: `vault-${stamp}`,
        KLUIS_CATALOG_TABLE: `Points${stamp}`,
        KLUIS_CATALOG_TABLE_PREFIX: `K${stamp}`,
        KLUIS_INVENTORY_TABLE: `Vms${stamp}`,
        ...subscriptionEnv(SUB),
      },
    });
    await createResourceGroups(host, SUB, ['rg-backup']);
    for (const vault of ['vault1', 'vault2']) {
      const created = await armHttp(`${vaultUrl(vault)}${v}`, { method: 'PUT', body: { location: 'westeurope' } });
      expect(created.status).toBe(201);
    }
    await createVm('web1', { osType: 'Windows', dataDisks: [{ lun: 0, sizeBytes: 4 * MIB }] });
    await createVm('db1', { osType: 'Linux', powerState: 'stopped', agent: { status: 'Unavailable' } });
    await createVm('far1', { osType: 'Linux', location: 'North Europe' });
    await createVm('big1', { osType: 'Linux', dataDisks: Array.from({ length: 17 }, (_, lun) => ({ lun, sizeBytes: MIB })), initialData: { percent: 0 } });
    await createVm('other1', { osType: 'Linux' });
  }, 120_000);

  afterAll(async () => {
    await host?.stop();
  });

  it('lists the protectable VMs of the vault’s region', async () => {
    const refreshed = await armHttp(`${vaultUrl()}/backupFabrics/Azure/refreshContainers${v}`, { method: 'POST' });
    expect((await settle(refreshed)).status).toBe('Succeeded');
    const found = await armHttp<ArmList<Resource<{ friendlyName: string; osType: string; powerState: string; agent: { status: string }; disks: unknown[]; protectionState: string }>>>(
      `${vaultUrl()}/backupProtectableItems${v}&$filter=${encodeURIComponent("backupManagementType eq 'AzureIaasVM'")}`,
    );
    expect(found.status).toBe(200);
    expect(found.body.value.map((p) => p.properties.friendlyName)).toEqual(['big1', 'db1', 'other1', 'web1']);
    expect(found.body.value.find((p) => p.properties.friendlyName === 'db1')?.properties).toMatchObject({ osType: 'Linux', powerState: 'stopped', agent: { status: 'Unavailable' }, protectionState: 'NotProtected' });
    expect(found.body.value.find((p) => p.properties.friendlyName === 'web1')?.properties.disks).toHaveLength(2);
  });

  it('refuses each invalid enable request with its code and changes nothing', async () => {
    expect((await enable('other1', 'vault2')).status).toBe(202);
    const before = await catalogState();
    const cases: Array<[string, () => Promise<HttpResult<ErrorEnvelope>>, number, string]> = [
      ['unknown VM', () => enable('ghost1'), 404, 'UserErrorVmNotFoundV2'],
      ['other region', () => enable('far1'), 400, 'UserErrorVmLocationMismatch'],
      ['unknown policy', () => enable('web1', 'vault1', { policyId: policyId('vault1', 'NoSuchPolicy') }), 404, 'ResourceNotFound'],
      ['already protected by another vault', () => enable('other1'), 409, 'UserErrorVmAlreadyProtectedInAnotherVault'],
      ['too many data disks', () => enable('big1'), 400, 'UserErrorUnsupportedDiskCount'],
      ['wrong body type', () => armHttp<ErrorEnvelope>(`${itemUrl('web1')}${v}`, { method: 'PUT', body: { properties: { policyId: 42 } } }), 400, 'KluisInvalidRequest'],
      ['malformed JSON', () => armHttp<ErrorEnvelope>(`${itemUrl('web1')}${v}`, { method: 'PUT', body: '{"properties":', headers: { 'content-type': 'application/json' } }), 400, 'KluisInvalidRequest'],
    ];
    for (const [name, request, status, code] of cases) {
      const response = await request();
      expect({ name, status: response.status, code: response.body.error?.code }).toEqual({ name, status, code });
      expect(response.body.error.recommendation).toBeDefined();
    }
    expect(await catalogState()).toEqual(before);
  });

  it('protects, backs up on demand to a listed recovery point, soft-deletes, undeletes and resumes', async () => {
    // Enable: 202, a ConfigureBackup job, and the item waits for its first backup.
    const enabled = await settle(await enable('web1'));
    expect(enabled.status).toBe('Succeeded');
    expect((await job(enabled.properties!.jobId)).properties).toMatchObject({ operation: 'ConfigureBackup', status: 'Completed' });
    expect((await getItem('web1')).properties).toMatchObject({ protectionState: 'IRPending', healthStatus: 'Passed', policyName: 'DefaultPolicy', healthDetails: [{ title: 'Warning (initial backup pending)' }] });

    // Backup now: 202, the operation names the Backup job, which runs to Completed.
    const backup = await armHttp(`${itemUrl('web1')}/backup${v}`, { method: 'POST', body: { properties: { objectType: 'IaasVMBackupRequest' } } });
    expect(backup.headers.get('azure-asyncoperation')).toContain(`/protectedItems/VM;iaasvmcontainerv2;rg-vms;web1/operationsStatus/`);
    const accepted = await settle(backup);
    expect(accepted.status).toBe('Succeeded');
    const jobId = accepted.properties!.jobId;
    const second = await armHttp<ErrorEnvelope>(`${itemUrl('web1')}/backup${v}`, { method: 'POST', body: { properties: { objectType: 'IaasVMBackupRequest' } } });
    if (second.status !== 202) expect(second.body.error.code).toBe('UserErrorBackupOperationInProgress');

    const done = await waitForJob(jobId);
    expect(done.properties).toMatchObject({
      operation: 'Backup',
      status: 'Completed',
      isUserTriggered: true,
      actionsInfo: [],
      extendedInfo: {
        progressPercentage: 100,
        tasksList: [
          { taskId: 'Take Snapshot', status: 'Completed', progressPercentage: 100 },
          { taskId: 'Transfer data to vault', status: 'Completed', progressPercentage: 100 },
        ],
      },
    });
    expect(done.properties.duration).toMatch(/^PT[\d.]+S$/);
    expect((await armHttp<ErrorEnvelope>(`${vaultUrl()}/backupJobs/${jobId}/cancel${v}`, { method: 'POST' })).body.error.code).toBe('UserErrorJobNotCancellable');
    const completedBackups = await armHttp<ArmList<Resource<JobProperties>>>(`${vaultUrl()}/backupJobs${v}&$filter=${encodeURIComponent("operation eq 'Backup' and status eq 'Completed'")}`);
    expect(completedBackups.body.value.map((j) => j.name)).toContain(jobId);

    const protectedItem = await getItem('web1');
    expect(protectedItem.properties).toMatchObject({ protectionState: 'Protected', lastBackupStatus: 'Healthy', healthDetails: [], extendedInfo: { recoveryPointCount: 1 } });

    // The recovery point: type, tiers, disks.
    const points = await armHttp<ArmList<Resource<{ recoveryPointType: string; recoveryPointTime: string; recoveryPointTierDetails: unknown[]; recoveryPointProperties?: { expiryTime?: string } }>>>(`${itemUrl('web1')}/recoveryPoints${v}`);
    expect(points.status).toBe(200);
    expect(points.body.value).toHaveLength(1);
    const point = points.body.value[0];
    expect(point.properties).toMatchObject({
      recoveryPointType: 'AppConsistent',
      recoveryPointTime: protectedItem.properties.lastRecoveryPoint,
      recoveryPointTierDetails: [
        { type: 'InstantRP', status: 'Valid' },
        { type: 'HardenedRP', status: 'Valid' },
      ],
    });
    const detail = await armHttp<Resource<{ recoveryPointDiskConfiguration: { includedDiskList: Array<{ lun: number }> }; osType: string }>>(`${itemUrl('web1')}/recoveryPoints/${point.name}${v}`);
    expect(detail.body.properties).toMatchObject({ osType: 'Windows', recoveryPointDiskConfiguration: { numberOfDisksIncludedInBackup: 2, includedDiskList: [{ lun: -1 }, { lun: 0 }] } });
    const outOfRange = await armHttp<ArmList<unknown>>(`${itemUrl('web1')}/recoveryPoints${v}&$filter=${encodeURIComponent("startDate eq '2001-01-01 12:00:00 AM' and endDate eq '2001-01-02 12:00:00 AM'")}`);
    expect(outOfRange.body.value).toEqual([]);
    expect((await armHttp<ErrorEnvelope>(`${itemUrl('web1')}/recoveryPoints${v}&$filter=${encodeURIComponent("startDate eq 'soon'")}`)).body.error.target).toBe('$filter');

    // Stop and delete: soft-deleted for 14 days, visible, not deletable again.
    const deleteAccepted = await armHttp(`${itemUrl('web1')}${v}`, { method: 'DELETE' });
    expect(deleteAccepted.headers.get('azure-asyncoperation')).toContain('/backupOperations/');
    const deleted = await settle(deleteAccepted);
    expect((await job(deleted.properties!.jobId)).properties).toMatchObject({ operation: 'DeleteBackupData', status: 'Completed' });
    const softDeleted = await getItem('web1');
    expect(softDeleted.properties).toMatchObject({ protectionState: 'ProtectionStopped', isScheduledForDeferredDelete: true, extendedInfo: { recoveryPointCount: 1 } });
    expect(softDeleted.properties.deferredDeleteTimeRemaining).toMatch(/^P13DT23H59M|^P14D$/);
    const listed = await armHttp<ArmList<Resource<ItemProperties>>>(`${vaultUrl()}/backupProtectedItems${v}`);
    expect(listed.body.value.map((i) => [i.properties.protectionState, i.properties.isScheduledForDeferredDelete])).toEqual([['ProtectionStopped', true]]);
    const again = await armHttp<ErrorEnvelope>(`${itemUrl('web1')}${v}`, { method: 'DELETE' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('UserErrorItemSoftDeleted');
    const vaultDelete = await armHttp<ErrorEnvelope>(`${vaultUrl()}${v}`, { method: 'DELETE' });
    expect(vaultDelete.body.error.message).toContain('soft-deleted');

    // Undelete → stopped with data retained; resume → protected again.
    const undeleted = await settle(await armHttp(`${itemUrl('web1')}${v}`, { method: 'PUT', body: { properties: { protectedItemType: 'Microsoft.Compute/virtualMachines', protectionState: 'ProtectionStopped', policyId: '', isRehydrate: true } } }));
    expect((await job(undeleted.properties!.jobId)).properties.operation).toBe('Undelete');
    expect((await getItem('web1')).properties).toMatchObject({ protectionState: 'ProtectionStopped' });
    expect((await getItem('web1')).properties.isScheduledForDeferredDelete).toBeUndefined();
    await settle(await armHttp(`${itemUrl('web1')}${v}`, { method: 'PUT', body: { properties: { protectedItemType: 'Microsoft.Compute/virtualMachines', sourceResourceId: vmId('web1'), policyId: policyId() } } }));
    expect((await getItem('web1')).properties).toMatchObject({ protectionState: 'Protected', policyName: 'DefaultPolicy' });
  }, 180_000);

  it('answers unknown items, jobs and operations with 404 and a code, and bad filters with the field', async () => {
    expect((await armHttp<ErrorEnvelope>(`${itemUrl('nobody')}${v}`)).body.error.code).toBe('UserErrorBcmDatasourceNotPresent');
    expect((await armHttp<ErrorEnvelope>(`${vaultUrl()}/backupJobs/00000000-0000-0000-0000-000000000000${v}`)).body.error.code).toBe('KluisJobNotFound');
    expect((await armHttp<ErrorEnvelope>(`${vaultUrl()}/backupOperations/nope${v}`)).status).toBe(404);
    const badFilter = await armHttp<ErrorEnvelope>(`${vaultUrl()}/backupJobs${v}&$filter=${encodeURIComponent("status eq 'Running'")}`);
    expect(badFilter.status).toBe(400);
    expect(badFilter.body.error.target).toBe('$filter');
    const badFabric = await armHttp<ErrorEnvelope>(`${vaultUrl()}/backupFabrics/Elsewhere/protectionContainers/${encodeURIComponent(container('web1'))}/protectedItems/${encodeURIComponent(item('web1'))}${v}`);
    expect(badFabric.body.error.target).toBe('fabricName');
  });

  it('documents its operations in /openapi.json', async () => {
    const document = await armHttp<{ paths: Record<string, Record<string, { operationId: string }>> }>(`${api()}/openapi.json`);
    expect(document.status).toBe(200);
    const operationIds = Object.values(document.body.paths).flatMap((methods) => Object.values(methods).map((op) => op.operationId));
    expect(operationIds).toEqual(
      expect.arrayContaining([
        'ProtectionContainers_Refresh',
        'BackupProtectableItems_List',
        'ProtectedItems_CreateOrUpdate',
        'ProtectedItems_Get',
        'ProtectedItems_Delete',
        'BackupProtectedItems_List',
        'Backups_Trigger',
        'RecoveryPoints_List',
        'RecoveryPoints_Get',
        'BackupJobs_List',
        'JobDetails_Get',
        'JobCancellations_Trigger',
        'BackupOperationStatuses_Get',
        'BackupOperationResults_Get',
      ]),
    );
  });
});
