/**
 * The official Azure SDKs as Kluis's clients, unchanged: `@azure/arm-recoveryservices` creates the vault
 * (its long-running PUT poller), `@azure/arm-recoveryservicesbackup` drives the journey — policy →
 * container refresh (polled at its operationResults) → protectable items → protect → backup now → the
 * operation's job, followed to completion → recovery points → restore (the SDK's own poller) → stop
 * protection and retain data → stop with delete (soft delete) → undelete — and the error paths surface as
 * RestError with Azure's code, status and message. Every response the SDKs get is also checked against the
 * specification the SDK packages carry (test/support/arm-sdk.ts, arm-spec.ts).
 *
 * Runs the app built into dist/.
 */
import path from 'node:path';
import { RecoveryServicesClient } from '@azure/arm-recoveryservices';
import { RecoveryServicesBackupClient, type JobResource, type ProtectedItemResource } from '@azure/arm-recoveryservicesbackup';
import { kluisClientOptions, kluisTestCredential, useKluisPipeline } from '../support/arm-sdk';
import { useAzurite } from '../support/azurite';
import { REPO_ROOT, sleep, startHostProcess, type HostProcess } from '../support/host-process';
import { subscriptionEnv } from '../support/arm-tenancy';
import { dailyPolicy, isolatedAppSettings, vaultApi } from '../support/vault-api';

const APP = process.env.KLUIS_E2E_APP ? path.resolve(process.env.KLUIS_E2E_APP) : REPO_ROOT;
const SUB = '7d3e2f10-4b5c-4d6e-8f90-1a2b3c4d5e6f';
const RG = 'rg-backup';
const VAULT = 'sdk-vault';
const VM = 'sdk1';
const FABRIC = 'Azure';
const CONTAINER = `IaasVMContainer;iaasvmcontainerv2;rg-vms;${VM}`;
const ITEM = `VM;iaasvmcontainerv2;rg-vms;${VM}`;
const VM_ID = `/subscriptions/${SUB}/resourceGroups/rg-vms/providers/Microsoft.Compute/virtualMachines/${VM}`;
const RESTORE_ACCOUNT = `/subscriptions/${SUB}/resourceGroups/storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`;

const azurite = useAzurite();

/** The last path segment of an operation URL (what az and SDK users take as the operation id). */
const operationIdOf = (url: string | undefined) => new URL(url ?? 'http://missing/').pathname.split('/').pop() ?? '';

describe('the official Azure SDKs against Kluis (embedded host)', () => {
  let host: HostProcess;
  let vaults: RecoveryServicesClient;
  let backup: RecoveryServicesBackupClient;
  const problems: string[] = [];
  const checked = { responses: 0 };
  const api = vaultApi(() => host, { subscriptionId: SUB, storage: () => azurite().connectionString });
  const journey = { recoveryPoint: '' };

  beforeAll(async () => {
    const stamp = Date.now().toString(36);
    host = await startHostProcess({ app: APP, storage: azurite().connectionString, hubName: `Sdk${stamp}`, env: { ...isolatedAppSettings(`k${stamp}`), ...subscriptionEnv(SUB) } });
    await api.createResourceGroup();
    const credential = kluisTestCredential(host);
    vaults = useKluisPipeline(new RecoveryServicesClient(credential, SUB, kluisClientOptions(host.origin)), credential, problems, checked);
    backup = useKluisPipeline(new RecoveryServicesBackupClient(credential, SUB, kluisClientOptions(host.origin)), credential, problems, checked);
    await api.createVm(VM, { osType: 'Linux' });
  }, 60_000);

  afterAll(async () => {
    await host?.stop();
    // The spec check saw the SDKs' traffic (the pollers' included).
    expect(checked.responses).toBeGreaterThan(30);
  });

  afterEach(() => {
    // Every response the SDKs received in the step conforms to the specification.
    expect(problems.splice(0)).toEqual([]);
  });

  /** Polls the item's operation status (the SDK has no poller for these) until it ends; returns the job. */
  async function jobOfItemOperation(operationId: string): Promise<JobResource> {
    for (const deadline = Date.now() + 60_000; ; ) {
      const status = await backup.protectedItemOperationStatuses.get(VAULT, RG, FABRIC, CONTAINER, ITEM, operationId);
      if (status.status !== 'InProgress') {
        expect(status.status).toBe('Succeeded');
        const jobId = (status.properties as { jobId?: string } | undefined)?.jobId;
        expect(jobId).toBeDefined();
        return waitForJob(jobId!);
      }
      if (Date.now() > deadline) throw new Error(`operation ${operationId} still running`);
      await sleep(200);
    }
  }

  async function waitForJob(jobId: string): Promise<JobResource> {
    for (const deadline = Date.now() + 90_000; ; ) {
      const job = await backup.jobDetails.get(VAULT, RG, jobId);
      if (!['InProgress', 'Cancelling'].includes(job.properties?.status ?? '')) return job;
      if (Date.now() > deadline) throw new Error(`job ${jobId} still running\n${host.outputTail()}`);
      await sleep(250);
    }
  }

  /** PUT of the item through the SDK; the 202's Azure-AsyncOperation names the operation. */
  async function putItem(properties: Record<string, unknown>): Promise<JobResource> {
    let statusUrl: string | undefined;
    await backup.protectedItems.createOrUpdate(VAULT, RG, FABRIC, CONTAINER, ITEM, { properties: properties as unknown as ProtectedItemResource['properties'] }, {
      onResponse: (raw) => {
        expect(raw.status).toBe(202);
        statusUrl = raw.headers.get('azure-asyncoperation') ?? undefined;
      },
    });
    return jobOfItemOperation(operationIdOf(statusUrl));
  }

  it('creates the vault with the vaults SDK’s poller, with a system-assigned identity', async () => {
    const vault = await vaults.vaults.beginCreateOrUpdateAndWait(RG, VAULT, {
      location: 'westeurope',
      sku: { name: 'Standard' },
      identity: { type: 'SystemAssigned' },
      properties: { publicNetworkAccess: 'Enabled', monitoringSettings: { azureMonitorAlertSettings: { alertsForAllJobFailures: 'Enabled' } } },
    });
    expect(vault).toMatchObject({ name: VAULT, location: 'westeurope', identity: { type: 'SystemAssigned', principalId: expect.any(String) } });
    expect((await vaults.vaults.get(RG, VAULT)).properties?.monitoringSettings).toEqual({ azureMonitorAlertSettings: { alertsForAllJobFailures: 'Enabled' } });
  });

  it('creates a policy (200), refreshes containers and lists the protectable VM', async () => {
    const policy = await backup.protectionPolicies.createOrUpdate(VAULT, RG, 'Daily', { properties: dailyPolicy('19:00', 'UTC', 30) as never });
    expect(policy.properties).toMatchObject({ backupManagementType: 'AzureIaasVM', protectedItemsCount: 0 });

    let resultUrl: string | undefined;
    await backup.protectionContainers.refresh(VAULT, RG, FABRIC, { onResponse: (raw) => (resultUrl = raw.headers.get('location') ?? undefined) });
    expect(resultUrl).toMatch(/\/backupFabrics\/Azure\/operationResults\/[^/]+$/);
    let resultStatus = 0;
    await backup.protectionContainerRefreshOperationResults.get(VAULT, RG, FABRIC, operationIdOf(resultUrl), { onResponse: (raw) => (resultStatus = raw.status) });
    expect(resultStatus).toBe(204);

    const protectable = [];
    for await (const item of backup.backupProtectableItems.list(VAULT, RG, { filter: "backupManagementType eq 'AzureIaasVM'" })) protectable.push(item);
    expect(protectable.map((item) => item.properties?.friendlyName)).toEqual([VM]);
  });

  it('protects the VM, backs it up now and lists the recovery point', async () => {
    const configured = await putItem({ protectedItemType: 'Microsoft.Compute/virtualMachines', sourceResourceId: VM_ID, policyId: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.RecoveryServices/vaults/${VAULT}/backupPolicies/Daily` });
    expect(configured.properties).toMatchObject({ operation: 'ConfigureBackup', status: 'Completed' });

    const item = await backup.protectedItems.get(VAULT, RG, FABRIC, CONTAINER, ITEM);
    expect(item.properties).toMatchObject({ protectedItemType: 'Microsoft.Compute/virtualMachines', protectionState: 'IRPending', healthDetails: [{ code: expect.any(Number) }] });
    const containers = [];
    for await (const container of backup.backupProtectionContainers.list(VAULT, RG, { filter: "backupManagementType eq 'AzureIaasVM' and status eq 'Registered'" })) containers.push(container);
    expect(containers.map((c) => [c.name, c.properties?.friendlyName])).toEqual([[CONTAINER, VM]]);

    let statusUrl: string | undefined;
    await backup.backups.trigger(VAULT, RG, FABRIC, CONTAINER, ITEM, { properties: { objectType: 'IaasVMBackupRequest' } }, {
      onResponse: (raw) => (statusUrl = raw.headers.get('azure-asyncoperation') ?? undefined),
    });
    const job = await jobOfItemOperation(operationIdOf(statusUrl));
    expect(job.properties).toMatchObject({ jobType: 'AzureIaaSVMJob', operation: 'Backup', status: 'Completed', entityFriendlyName: VM });

    const points = [];
    for await (const point of backup.recoveryPoints.list(VAULT, RG, FABRIC, CONTAINER, ITEM)) points.push(point);
    expect(points).toHaveLength(1);
    expect(points[0].properties).toMatchObject({ objectType: 'IaasVMRecoveryPoint', recoveryPointType: 'FileSystemConsistent' });
    journey.recoveryPoint = points[0].name!;
  });

  it('restores the disks with the SDK’s own poller', async () => {
    await backup.restores.beginTriggerAndWait(
      VAULT,
      RG,
      FABRIC,
      CONTAINER,
      ITEM,
      journey.recoveryPoint,
      {
        properties: {
          objectType: 'IaasVMRestoreRequest',
          recoveryPointId: journey.recoveryPoint,
          recoveryType: 'RestoreDisks',
          sourceResourceId: VM_ID,
          storageAccountId: RESTORE_ACCOUNT,
          region: 'westeurope',
          identityInfo: { isSystemAssignedIdentity: true },
          targetDiskNetworkAccessSettings: { targetDiskNetworkAccessOption: 'SameAsOnSourceDisks' },
        },
      },
      { updateIntervalInMs: 200 },
    );
    const restores = [];
    for await (const job of backup.backupJobs.list(VAULT, RG, { filter: "operation eq 'Restore'" })) restores.push(job);
    expect(restores).toHaveLength(1);
    const restore = await waitForJob(restores[0].name!);
    expect(restore.properties).toMatchObject({ operation: 'Restore', status: 'Completed' });
    expect((restore.properties as { extendedInfo?: { propertyBag?: Record<string, string> } }).extendedInfo?.propertyBag).toMatchObject({
      'Restore Identity': 'SystemAssigned',
      'Target Disk Network Access': 'SameAsOnSourceDisks',
    });
  });

  it('stops protection retaining data, stops with delete (soft delete) and undeletes', async () => {
    const stopped = await putItem({ protectedItemType: 'Microsoft.Compute/virtualMachines', sourceResourceId: VM_ID, protectionState: 'ProtectionStopped' });
    expect(stopped.properties).toMatchObject({ operation: 'DisableBackup', status: 'Completed' });

    let statusUrl: string | undefined;
    await backup.protectedItems.delete(VAULT, RG, FABRIC, CONTAINER, ITEM, { onResponse: (raw) => (statusUrl = raw.headers.get('azure-asyncoperation') ?? undefined) });
    for (const deadline = Date.now() + 30_000; ; ) {
      const status = await backup.backupOperationStatuses.get(VAULT, RG, operationIdOf(statusUrl));
      if (status.status !== 'InProgress') break;
      if (Date.now() > deadline) throw new Error('delete still running');
      await sleep(200);
    }
    expect((await backup.protectedItems.get(VAULT, RG, FABRIC, CONTAINER, ITEM)).properties).toMatchObject({ protectionState: 'ProtectionStopped', isScheduledForDeferredDelete: true });

    const undeleted = await putItem({ protectedItemType: 'Microsoft.Compute/virtualMachines', protectionState: 'ProtectionStopped', isRehydrate: true });
    expect(undeleted.properties).toMatchObject({ operation: 'Undelete', status: 'Completed' });
    expect((await backup.protectedItems.get(VAULT, RG, FABRIC, CONTAINER, ITEM)).properties?.isScheduledForDeferredDelete).not.toBe(true);
  });

  it('reads what az reads before changing protection: guard proxies, encryption, vault configs', async () => {
    const proxies = [];
    for await (const proxy of backup.resourceGuardProxies.list(VAULT, RG)) proxies.push(proxy);
    expect(proxies).toEqual([]);
    expect((await backup.backupResourceEncryptionConfigs.get(VAULT, RG)).properties).toMatchObject({ encryptionAtRestType: 'MicrosoftManaged' });
    expect((await backup.backupResourceVaultConfigs.get(VAULT, RG)).properties).toMatchObject({ softDeleteFeatureState: 'Enabled' });
    expect((await backup.backupResourceStorageConfigsNonCRR.get(VAULT, RG)).properties).toMatchObject({ storageModelType: 'GeoRedundant', storageTypeState: 'Locked' });
  });

  it.each([
    ['a policy that does not exist', () => backup.protectionPolicies.get(VAULT, RG, 'NoSuchPolicy'), 404, 'ResourceNotFound', /NoSuchPolicy/],
    ['a vault that does not exist', () => vaults.vaults.get(RG, 'no-such-vault'), 404, 'ResourceNotFound', /no-such-vault/],
    ['a policy Azure Backup refuses', () => backup.protectionPolicies.createOrUpdate(VAULT, RG, 'Short', { properties: dailyPolicy('19:00', 'UTC', 3) as never }), 400, 'KluisInvalidRequest', /retention/i],
    ['protection of a VM that does not exist', () => backup.protectedItems.createOrUpdate(VAULT, RG, FABRIC, 'IaasVMContainer;iaasvmcontainerv2;rg-vms;ghost', 'VM;iaasvmcontainerv2;rg-vms;ghost', { properties: { protectedItemType: 'Microsoft.Compute/virtualMachines', sourceResourceId: VM_ID.replace(VM, 'ghost'), policyId: 'Daily' } as never }), 404, 'UserErrorVmNotFoundV2', /ghost/],
  ])('surfaces %s as a RestError with code, status and message', async (_case, call, statusCode, code, message) => {
    const error = await call().then(
      () => undefined,
      (err: unknown) => err as { name: string; code?: string; statusCode?: number; message: string },
    );
    expect(error).toMatchObject({ name: 'RestError', statusCode, code, message: expect.stringMatching(message) });
  });
});
