/**
 * Recovery Services as the official SDKs declare it, through the embedded host: every call goes through
 * armHttp (or the SDK pipeline of test/support/arm-sdk.ts), so each response is checked against the spec the
 * SDK packages carry (test/support/arm-spec.ts).
 * - the routes `az backup` and the SDKs call around the journey: protection containers (list with
 *   $filter, GET), the operation addresses of every 202, Resource Guard proxies, the encryption config;
 * - the vault's identity, monitoring and restore settings;
 * - ARM's JSON error for routes Kluis does not serve;
 * - every official example (the SDK packages' samples, one per x-ms-example) of the operations Kluis serves
 *   that take a request body, sent through the real SDK client — so the SDK's serializer puts it on the wire
 *   as Azure's clients do — with only ids (subscription, groups, vault, VMs, accounts, policies, points)
 *   replaced: accepted, or refused on purpose as REFUSED says.
 *
 * Runs the app built into dist/.
 */
import path from 'node:path';
import { RecoveryServicesClient } from '@azure/arm-recoveryservices';
import { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';
import { kluisClientOptions, kluisTestCredential, useKluisPipeline } from '../support/arm-sdk';
import { armSpec } from '../support/arm-spec';
import { useAzurite } from '../support/azurite';
import { REPO_ROOT, startHostProcess, type HostProcess } from '../support/host-process';
import { sdkSamples, type SdkSample } from '../support/sdk-samples';
import { subscriptionEnv } from '../support/arm-tenancy';
import { isolatedAppSettings, vaultApi, type ArmList, type ErrorEnvelope, type Resource } from '../support/vault-api';

const APP = process.env.KLUIS_E2E_APP ? path.resolve(process.env.KLUIS_E2E_APP) : REPO_ROOT;
const SUB = '6c2d1e0f-3a4b-4c5d-9e8f-7a6b5c4d3e2f';
const RG = 'rg-backup';
const VAULT = 'spec-vault';
const RESTORE_ACCOUNT = `/subscriptions/${SUB}/resourceGroups/storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`;
const MSI = `/subscriptions/${SUB}/resourcegroups/rg-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/kluis-msi`;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const azurite = useAzurite();

/** The operations Kluis serves whose official examples carry a request body. */
const EXAMPLE_OPERATIONS = [
  'Vaults_CreateOrUpdate',
  'BackupResourceStorageConfigsNonCRR_Update',
  'BackupResourceStorageConfigsNonCRR_Patch',
  'BackupResourceVaultConfigs_Put',
  'BackupResourceVaultConfigs_Update',
  'ProtectionPolicies_CreateOrUpdate',
  'ProtectedItems_CreateOrUpdate',
  'Backups_Trigger',
  'Restores_Trigger',
];

const ONLY_AZURE_VMS = 'Kluis backs up Azure VMs (backupManagementType AzureIaasVM) only; Azure Files and workloads in VMs are other products';

/**
 * Official examples Kluis refuses on purpose (keyed by the example's path under `examples/`), with the
 * refusal it answers: Azure Backup's own limits, or a feature Kluis does not have (and says so, rather
 * than storing a setting it would not honour).
 */
const REFUSED: Record<string, { status: number; code: string; target?: string; why: string }> = {
  'PUTVault_WithCMK.json': {
    status: 400,
    code: 'KluisCustomerManagedKeysNotSupported',
    target: 'properties.encryption',
    why: 'Kluis vaults use platform-managed keys only',
  },
  'PUTVault_ResourceGuardEnabled.json': {
    status: 400,
    code: 'KluisCustomerManagedKeysNotSupported',
    target: 'properties.encryption',
    why: 'the example sets customer-managed keys (under a Resource Guard); Kluis vaults use platform-managed keys only',
  },
  'PUTVault_WithRedundancySettings.json': {
    status: 400,
    code: 'KluisInvalidRequest',
    target: 'properties.redundancySettings.crossRegionRestore',
    why: 'the example enables Cross Region Restore; Kluis has no paired region to restore in',
  },
  'AzureIaasVm/ProtectionPolicies_CreateOrUpdate_Simple.json': {
    status: 400,
    code: 'KluisInvalidRequest',
    target: 'properties.retentionPolicy.dailySchedule.retentionDuration.count',
    why:
      'the example keeps daily points 1 day; Azure\'s VM backup FAQ: "Azure Virtual Machine backup policy supports a minimum ' +
      'retention range from seven days up to 9999 days"',
  },
  'AzureIaasVm/V2Policy/IaaS_v2_hourly.json': {
    status: 400,
    code: 'KluisInvalidRequest',
    target: 'properties.instantRpRetentionRangeInDays',
    why:
      'the 2021 example keeps instant-restore snapshots 30 days while backing up every 4 hours for 16 hours (4 snapshots a day); ' +
      'Azure\'s Enhanced policy article (2025): "The maximum limit of the instant recovery point retention range depends on the number ' +
      'of snapshots that you take per day" — "For 6 hours [4 a day], the maximum retention is 22 days"',
  },
  'AzureStorage/ProtectionPolicies_CreateOrUpdate_Hardened.json': { status: 400, code: 'KluisInvalidRequest', target: 'properties.backupManagementType', why: ONLY_AZURE_VMS },
  'AzureStorage/ProtectionPolicies_CreateOrUpdate_Daily.json': { status: 400, code: 'KluisInvalidRequest', target: 'properties.backupManagementType', why: ONLY_AZURE_VMS },
  'AzureStorage/ProtectionPolicies_CreateOrUpdate_Hourly.json': { status: 400, code: 'KluisInvalidRequest', target: 'properties.backupManagementType', why: ONLY_AZURE_VMS },
  'AzureWorkload/ProtectionPolicies_CreateOrUpdate_Complex.json': { status: 400, code: 'KluisInvalidRequest', target: 'properties.backupManagementType', why: ONLY_AZURE_VMS },
};

/** Every official example of the operations in EXAMPLE_OPERATIONS, in the SDK packages' order. */
const exampleCases = (['@azure/arm-recoveryservices', '@azure/arm-recoveryservicesbackup'] as const).flatMap((packageName) =>
  sdkSamples(packageName).flatMap((sample): Array<{ sample: SdkSample; operationId: string }> => {
    const operation = armSpec().operationOfClientMethod(packageName, sample.group === '' ? sample.method : `${sample.group}.${sample.method}`);
    return operation !== undefined && EXAMPLE_OPERATIONS.includes(operation.operationId) ? [{ sample, operationId: operation.operationId }] : [];
  }),
);

describe('Recovery Services routes and shapes as the specification declares them (embedded host)', () => {
  let host: HostProcess;
  const api = vaultApi(() => host, { subscriptionId: SUB, storage: () => azurite().connectionString });
  const state = { recoveryPoint: '', enableStatusUrl: '', enableResultUrl: '', refreshResultUrl: '' };

  beforeAll(async () => {
    const stamp = Date.now().toString(36);
    host = await startHostProcess({ app: APP, storage: azurite().connectionString, hubName: `Spec${stamp}`, env: { ...isolatedAppSettings(`s${stamp}`), ...subscriptionEnv(SUB) } });
    await api.createResourceGroup();
    expect((await api.createVault(VAULT)).status).toBe(201);
    for (const vm of ['web1', 'web2', 'web3']) await api.createVm(vm, { osType: 'Linux' });
    const refreshed = await api.arm(`${api.vaultUrl(VAULT)}/backupFabrics/Azure/refreshContainers`, { method: 'POST' });
    state.refreshResultUrl = refreshed.headers.get('location') ?? '';
    expect((await api.settle(refreshed)).status).toBe('Succeeded');
    const enabled = await api.enable(VAULT, 'web1');
    state.enableStatusUrl = enabled.headers.get('azure-asyncoperation') ?? '';
    state.enableResultUrl = enabled.headers.get('location') ?? '';
    expect((await api.jobOf(VAULT, enabled)).properties.status).toBe('Completed');
    expect((await api.jobOf(VAULT, await api.backupNow(VAULT, 'web1'))).properties.status).toBe('Completed');
    state.recoveryPoint = (await api.recoveryPoints(VAULT, 'web1'))[0].name;
  }, 120_000);

  afterAll(async () => {
    await host?.stop();
  });

  describe('protection containers', () => {
    const containers = (filter: string) => api.arm<ArmList<Resource<Record<string, unknown>>>>(`${api.vaultUrl(VAULT)}/backupProtectionContainers?$filter=${encodeURIComponent(filter)}`);

    it("lists the VM's container as az backup container list asks for it", async () => {
      const listed = await containers("backupManagementType eq 'AzureIaasVM' and status eq 'Registered'");
      expect(listed.status).toBe(200);
      expect(listed.body.value).toEqual([
        {
          id: `/${api.vaultPath(VAULT)}/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-vms;web1`,
          name: 'IaasVMContainer;iaasvmcontainerv2;rg-vms;web1',
          type: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers',
          properties: {
            containerType: 'Microsoft.Compute/virtualMachines',
            friendlyName: 'web1',
            backupManagementType: 'AzureIaasVM',
            registrationStatus: 'Registered',
            healthStatus: 'Healthy',
            virtualMachineId: api.vmId('web1'),
            virtualMachineVersion: 'Compute',
            resourceGroup: 'rg-vms',
          },
        },
      ]);
      expect((await containers("backupManagementType eq 'AzureIaasVM' and status eq 'Registered' and friendlyName eq 'WEB1'")).body.value).toHaveLength(1);
      expect((await containers("backupManagementType eq 'AzureIaasVM' and status eq 'Registered' and friendlyName eq 'web2'")).body.value).toEqual([]);
      expect((await containers("backupManagementType eq 'AzureStorage'")).body.value).toEqual([]);
      const bad = await containers("status ne 'Registered'");
      expect([bad.status, (bad.body as unknown as ErrorEnvelope).error.code]).toEqual([400, 'KluisInvalidRequest']);
    });

    it('gets a container, and answers 404 for a VM the vault does not hold', async () => {
      const url = (vm: string) => `${api.vaultUrl(VAULT)}/backupFabrics/Azure/protectionContainers/${encodeURIComponent(api.container(vm))}`;
      const found = await api.arm<Resource<{ friendlyName: string }>>(url('web1'));
      expect([found.status, found.body.properties.friendlyName]).toEqual([200, 'web1']);
      const missing = await api.arm<ErrorEnvelope>(url('web2'));
      expect([missing.status, missing.body.error.code]).toEqual([404, 'ResourceNotFound']);
    });
  });

  describe('operation addresses', () => {
    it('point an item operation at {item}/operationsStatus and {item}/operationResults, which the vault addresses also answer', async () => {
      const itemPath = `/protectionContainers/${api.container('web1')}/protectedItems/${api.item('web1')}`;
      expect(decodeURIComponent(state.enableStatusUrl)).toContain(`${itemPath}/operationsStatus/`);
      expect(decodeURIComponent(state.enableResultUrl)).toContain(`${itemPath}/operationResults/`);
      const status = await api.arm<{ status: string; properties: { jobId: string } }>(state.enableStatusUrl);
      expect(status.body).toMatchObject({ status: 'Succeeded', properties: { objectType: 'OperationStatusJobExtendedInfo', jobId: expect.stringMatching(GUID) } });
      expect((await api.arm(state.enableResultUrl)).status).toBe(204);
      const id = state.enableStatusUrl.split('/').pop()!;
      expect((await api.arm(`${api.vaultUrl(VAULT)}/backupOperations/${id}`)).body).toEqual(status.body);
      expect((await api.arm(`${api.vaultUrl(VAULT)}/backupOperationResults/${id}`)).status).toBe(204);
      const containerResult = await api.arm(`${api.vaultUrl(VAULT)}/backupFabrics/Azure/protectionContainers/${encodeURIComponent(api.container('web1'))}/operationResults/${id}`);
      expect(containerResult.status).toBe(204);
    });

    it('point a container refresh at backupFabrics/Azure/operationResults (Location only, as Azure)', async () => {
      expect(state.refreshResultUrl).toMatch(/\/backupFabrics\/Azure\/operationResults\/[^/]+$/);
      expect((await api.arm(state.refreshResultUrl)).status).toBe(204);
      const unknown = await api.arm<ErrorEnvelope>(`${api.vaultUrl(VAULT)}/backupFabrics/Azure/operationResults/${'0'.repeat(8)}`);
      expect([unknown.status, unknown.body.error.code]).toEqual([404, 'KluisOperationNotFound']);
    });
  });

  it('has no Resource Guard proxies, and platform-managed encryption', async () => {
    expect((await api.arm(`${api.vaultUrl(VAULT)}/backupResourceGuardProxies`)).body).toEqual({ value: [] });
    const proxy = await api.arm<ErrorEnvelope>(`${api.vaultUrl(VAULT)}/backupResourceGuardProxies/VaultProxy`);
    expect([proxy.status, proxy.body.error.code]).toEqual([404, 'ResourceNotFound']);
    const encryption = await api.arm<Resource<Record<string, unknown>>>(`${api.vaultUrl(VAULT)}/backupEncryptionConfigs/backupResourceEncryptionConfig`);
    expect(encryption.body).toMatchObject({ name: 'backupResourceEncryptionConfig', properties: { encryptionAtRestType: 'MicrosoftManaged', lastUpdateStatus: 'NotEnabled' } });
  });

  it('gives a vault a system-assigned identity that stays until None removes it, and keeps monitoring and restore settings', async () => {
    const put = (body: Record<string, unknown>) => api.arm<{ identity?: { type: string; principalId?: string; tenantId?: string }; properties: Record<string, unknown> }>(api.vaultUrl('identity-vault'), { method: 'PUT', body: { location: 'westeurope', ...body } });
    const monitoringSettings = { azureMonitorAlertSettings: { alertsForAllJobFailures: 'Enabled' }, classicAlertSettings: { alertsForCriticalOperations: 'Disabled' } };
    const restoreSettings = { crossSubscriptionRestoreSettings: { crossSubscriptionRestoreState: 'Disabled' } };
    const created = await put({ identity: { type: 'SystemAssigned' }, properties: { monitoringSettings, restoreSettings } });
    expect(created.status).toBe(201);
    expect(created.body.identity).toEqual({ type: 'SystemAssigned', principalId: expect.stringMatching(GUID), tenantId: expect.stringMatching(GUID) });
    expect(created.body.properties).toMatchObject({ monitoringSettings, restoreSettings });
    const again = await put({ identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [MSI]: {} } } });
    expect(again.body.identity).toMatchObject({ type: 'SystemAssigned, UserAssigned', principalId: created.body.identity!.principalId, userAssignedIdentities: { [MSI]: { principalId: expect.stringMatching(GUID), clientId: expect.stringMatching(GUID) } } });
    expect((await api.arm<typeof created.body>(api.vaultUrl('identity-vault'))).body.properties).toMatchObject({ monitoringSettings });
    const removed = await put({ identity: { type: 'None' } });
    expect([removed.status, removed.body.identity]).toEqual([200, undefined]);
    const refused = await api.arm<ErrorEnvelope>(api.vaultUrl('identity-vault'), { method: 'PUT', body: { location: 'westeurope', identity: { type: 'UserAssigned' } } });
    expect([refused.status, refused.body.error.code, refused.body.error.target]).toEqual([400, 'KluisInvalidRequest', 'identity.userAssignedIdentities']);
  });

  it.each([
    ['an unknown resource type under a vault', 'GET', () => `${api.vaultUrl(VAULT)}/backupNothing`, 404, 'InvalidResourceType'],
    ['a method a route does not have', 'PATCH', () => `${api.vaultUrl(VAULT)}/backupPolicies/DefaultPolicy`, 405, 'MethodNotAllowed'],
    ['a path outside ARM', 'GET', () => `${host.origin}/api/no/such/thing`, 404, 'NotFound'],
  ])("answers %s with ARM's JSON error", async (_case, method, url, status, code) => {
    const response = await api.arm<ErrorEnvelope>(url(), { method });
    expect([response.status, response.body.error?.code, typeof response.body.error?.message]).toEqual([status, code, 'string']);
  });

  describe('the official example requests, sent through the official SDKs', () => {
    const problems: string[] = [];
    const clients = {} as { '@azure/arm-recoveryservices': RecoveryServicesClient; '@azure/arm-recoveryservicesbackup': RecoveryServicesBackupClient };

    beforeAll(() => {
      const credential = kluisTestCredential(host);
      clients['@azure/arm-recoveryservices'] = useKluisPipeline(new RecoveryServicesClient(credential, SUB, kluisClientOptions(host.origin)), credential, problems);
      clients['@azure/arm-recoveryservicesbackup'] = useKluisPipeline(new RecoveryServicesBackupClient(credential, SUB, kluisClientOptions(host.origin)), credential, problems);
    });

    afterEach(() => {
      // Every response the SDK received conforms to the specification.
      expect(problems.splice(0)).toEqual([]);
    });

    it('has an example of every operation in the table, each readable, and a refusal only for examples it sends', () => {
      expect(new Set(exampleCases.map(({ operationId }) => operationId))).toEqual(new Set(EXAMPLE_OPERATIONS));
      expect(exampleCases.filter(({ sample }) => sample.unreadable !== undefined)).toEqual([]);
      expect(Object.keys(REFUSED).filter((example) => !exampleCases.some(({ sample }) => sample.example === example))).toEqual([]);
    });

    /** An id of the example's world → this suite's; everything else as published. */
    function localizedString(text: string, vault: string, vm: string, caseIndex: number): string {
      const rules: Array<[RegExp, string | ((match: string) => string)]> = [
        [/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Compute\/virtualMachines\/RSMDALRVM[^/]*$/i, `/subscriptions/${SUB}/resourceGroups/rg-restored/providers/Microsoft.Compute/virtualMachines/restored${caseIndex}`],
        [/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Compute\/virtualMachines\/[^/]+$/i, api.vmId(vm)],
        [/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Storage\/storageAccounts\/[^/]+$/i, RESTORE_ACCOUNT],
        // (the vault examples of 2024-04-01 spell these ids without the dashes and the dot)
        [/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.?ManagedIdentity\/userAssignedIdentities\/[^/]+$/i, MSI],
        [/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.RecoveryServices\/vaults\/[^/]+\/backupPolicies\//i, `/${api.vaultPath(vault)}/backupPolicies/`],
        [/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+$/i, `/subscriptions/${SUB}/resourceGroups/rg-restored`],
        [/^\/subscriptions\/[0-9a-f-]{36}\//i, `/subscriptions/${SUB}/`],
      ];
      for (const [pattern, by] of rules) {
        if (pattern.test(text)) return text.replace(pattern, by as string);
      }
      return text;
    }

    function localized(value: unknown, vault: string, vm: string, caseIndex: number): unknown {
      if (typeof value === 'string') return localizedString(value, vault, vm, caseIndex);
      if (Array.isArray(value)) return value.map((v) => localized(v, vault, vm, caseIndex));
      if (typeof value !== 'object' || value === null || value instanceof Date) return value;
      return Object.fromEntries(Object.entries(value).map(([key, field]) => [localizedString(key, vault, vm, caseIndex), localized(field, vault, vm, caseIndex)]));
    }

    it.each(exampleCases.map(({ sample, operationId }, index) => [sample.originalFile, sample, operationId, index] as const))(
      '%s',
      async (_name, sample, operationId, index) => {
        // Vault-level settings go to a vault of their own (redundancy is locked once a vault holds items).
        const vault = operationId.startsWith('Vaults_') ? `example-vault-${index}` : operationId.startsWith('BackupResource') ? `config-vault-${index}` : VAULT;
        if (vault !== VAULT && !operationId.startsWith('Vaults_')) expect((await api.createVault(vault)).status).toBe(201);
        const vm = operationId === 'ProtectedItems_CreateOrUpdate' ? 'web2' : 'web1';
        const ids: Record<string, string> = {
          resourceGroupName: RG,
          vaultName: vault,
          fabricName: 'Azure',
          containerName: api.container(vm),
          protectedItemName: api.item(vm),
          recoveryPointId: state.recoveryPoint,
        };
        const args = sample.args.map(({ name, value }) => (name in ids ? ids[name] : localized(value, vault, vm, index)));
        if (operationId === 'Restores_Trigger') {
          // The restore's point is this suite's, and its region the vault's (Kluis restores within the vault's region).
          const restore = args[args.length - 1] as { properties: Record<string, unknown> };
          Object.assign(restore.properties, { recoveryPointId: state.recoveryPoint, region: 'westeurope' });
        }

        const statuses: number[] = [];
        let accepted: { headers: Headers } | undefined;
        const options = {
          updateIntervalInMs: 200,
          onResponse: (raw: { status: number; headers: { toJSON(): Record<string, string> } }) => {
            statuses.push(raw.status);
            accepted ??= raw.status === 202 ? { headers: new Headers(raw.headers.toJSON()) } : undefined;
          },
        };
        const client = clients[sample.packageName] as unknown as Record<string, Record<string, (...a: unknown[]) => Promise<unknown>>>;
        const owner = sample.group === '' ? (client as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>) : client[sample.group];
        const failure = await owner[sample.method](...args, options).then(
          () => undefined,
          (err: { statusCode?: number; code?: string; response?: { bodyAsText?: string | null } }) => {
            const body = JSON.parse(err.response?.bodyAsText || '{}') as Partial<ErrorEnvelope>;
            return { status: err.statusCode, code: err.code, target: body.error?.target, message: body.error?.message ?? String(err) };
          },
        );

        const refused = REFUSED[sample.example];
        if (refused !== undefined) {
          expect(failure && { status: failure.status, code: failure.code, target: failure.target }).toEqual({ status: refused.status, code: refused.code, target: refused.target });
          return;
        }
        expect({ example: sample.example, failure }).toEqual({ example: sample.example, failure: undefined });
        expect(statuses[0]).toBeLessThan(300);
        if (accepted !== undefined && !sample.method.startsWith('begin')) {
          expect((await api.settle({ status: 202, headers: accepted.headers, body: undefined, text: '' })).status).toBe('Succeeded');
        }
      },
    );
  });
});
