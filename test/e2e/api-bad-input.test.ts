/**
 * Bad input on the vault's inner endpoints over HTTP through the embedded host, on Azurite with the
 * local VM fabric: discovery, protected items, on-demand backup, recovery points, restore, jobs and
 * async operations (vaults-http.test.ts covers vaults, their configuration and policies). Every
 * refusal is a 4xx in the ARM envelope `{error:{code,message,target}}` with the code and the field
 * at fault, and leaves everything a client can read — items, jobs, recovery points, policies,
 * protectable VMs — as it was.
 *
 * Also: request bodies copied from Azure's GET responses carry `null` for absent optional fields;
 * they are accepted as if the fields were left out.
 *
 * KLUIS_E2E_APP runs the suite against another build of the app (a folder with package.json,
 * host.json and dist/), e.g. one compiled with `tsc --outDir` next to KLUIS_HOST_BIN.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createResourceGroups, subscriptionEnv } from '../support/arm-tenancy';
import { uniqueName, uniqueTableName, useAzurite } from '../support/azurite';
import { REPO_ROOT, sleep, startHostProcess, type HostProcess, type HttpResult } from '../support/host-process';
import { armHttp } from '../support/vault-api';

const APP = process.env.KLUIS_E2E_APP ? path.resolve(process.env.KLUIS_E2E_APP) : REPO_ROOT;
const SUB = '6c0ffee5-bad1-4a11-9e2d-00000000b4d1';
const OTHER_SUB = '6c0ffee5-bad1-4a11-9e2d-00000000b4d2';
const RG = 'rg-bad-input';
const VM_RG = 'rg-vms';
const VAULT = 'vault-bad-input';
const MIB = 1024 * 1024;
const RESTORE_ACCOUNT = `/subscriptions/${SUB}/resourceGroups/storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`;
/** Schedule time of the suite's policy: half a day away, so the scheduler never fires during the run. */
const RUN_TIME = `2026-01-01T${String((new Date().getUTCHours() + 12) % 24).padStart(2, '0')}:00:00Z`;

interface ErrorEnvelope {
  error: { code: string; message: string; target?: string; recommendation?: string };
}

interface Resource<P = Record<string, unknown>> {
  id: string;
  name: string;
  properties: P;
}

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';
type Case = [name: string, request: () => [method: Method, url: string, body?: unknown], status: number, code: string, target?: string];

/** A body sent as is, with its own Content-Type (string bodies are otherwise sent as JSON text, as JSON clients do). */
class TypedBody {
  constructor(
    readonly text: string,
    readonly contentType: string,
  ) {}
}
const DEEP = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

const azurite = useAzurite();

describe('bad input on discovery, protection, backup, recovery points, restore, jobs and operations', () => {
  let host: HostProcess;
  let recoveryPoint: string;
  let backupJobId: string;
  let configureJobId: string;
  let refreshOperation: string;

  const api = () => `${host.origin}/api`;
  const vaultPath = (vault = VAULT, rg = RG, sub = SUB) => `subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.RecoveryServices/vaults/${vault}`;
  const vaultUrl = (vault = VAULT, rg = RG, sub = SUB) => `${api()}/${vaultPath(vault, rg, sub)}`;
  const container = (vm: string) => `IaasVMContainer;iaasvmcontainerv2;${VM_RG};${vm}`;
  const item = (vm: string) => `VM;iaasvmcontainerv2;${VM_RG};${vm}`;
  const vmId = (vm: string, sub = SUB, rg = VM_RG) => `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${vm}`;
  const policyId = (policy = 'Nightly', vault = VAULT) => `/${vaultPath(vault)}/backupPolicies/${policy}`;
  const itemUrl = (vm = 'web1', o: { vault?: string; fabric?: string; container?: string; item?: string; sub?: string } = {}) =>
    `${vaultUrl(o.vault, RG, o.sub)}/backupFabrics/${o.fabric ?? 'Azure'}/protectionContainers/${encodeURIComponent(o.container ?? container(vm))}/protectedItems/${encodeURIComponent(o.item ?? item(vm))}`;
  const pointsUrl = (vm = 'web1', o: Parameters<typeof itemUrl>[1] = {}) => `${itemUrl(vm, o)}/recoveryPoints`;
  const restoreUrl = (point = recoveryPoint, vm = 'web1', o: Parameters<typeof itemUrl>[1] = {}) => `${pointsUrl(vm, o)}/${encodeURIComponent(point)}/restore`;
  const filter = (url: string, text: string) => `${url}?$filter=${encodeURIComponent(text)}`;
  const withVersion = (url: string) => `${url}${url.includes('?') ? '&' : '?'}api-version=2023-06-01`;
  const call = <T = unknown>(method: Method, url: string, body?: unknown): Promise<HttpResult<T>> =>
    body instanceof TypedBody
      ? armHttp<T>(withVersion(url), { method, body: body.text, headers: { 'content-type': body.contentType } })
      : armHttp<T>(withVersion(url), { method, body, ...(typeof body === 'string' ? { headers: { 'content-type': 'application/json' } } : {}) });

  function policyBody(runTime: string): unknown {
    return {
      properties: {
        backupManagementType: 'AzureIaasVM',
        timeZone: 'UTC',
        schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: [runTime] },
        retentionPolicy: {
          retentionPolicyType: 'LongTermRetentionPolicy',
          dailySchedule: { retentionTimes: [runTime], retentionDuration: { count: 30, durationType: 'Days' } },
        },
      },
    };
  }

  function enableBody(vm: string, extra: Record<string, unknown> = {}): unknown {
    return { properties: { protectedItemType: 'Microsoft.Compute/virtualMachines', sourceResourceId: vmId(vm), policyId: policyId(), ...extra } };
  }

  function diskExclusion(diskExclusionProperties: Record<string, unknown>): unknown {
    return enableBody('web2', { extendedProperties: { diskExclusionProperties: { isInclusionList: false, ...diskExclusionProperties } } });
  }

  function backupBody(properties: Record<string, unknown> = {}): unknown {
    return { properties: { objectType: 'IaasVMBackupRequest', ...properties } };
  }

  function restoreBody(properties: Record<string, unknown> = {}): unknown {
    return {
      properties: {
        objectType: 'IaasVMRestoreRequest',
        recoveryPointId: recoveryPoint,
        recoveryType: 'RestoreDisks',
        sourceResourceId: vmId('web1'),
        region: 'westeurope',
        storageAccountId: RESTORE_ACCOUNT,
        ...properties,
      },
    };
  }

  async function createVm(name: string, body: Record<string, unknown> = {}): Promise<void> {
    const created = await armHttp(`${host.origin}/fabric/subscriptions/${SUB}/resourceGroups/${VM_RG}/virtualMachines/${name}`, {
      method: 'PUT',
      body: { location: 'westeurope', osType: 'Linux', osDisk: { sizeBytes: 4 * MIB }, initialData: { percent: 10, seed: name }, ...body },
    });
    expect(created.status).toBe(201);
  }

  /** Follows a 202's Azure-AsyncOperation to its job id, then waits for that job to finish. */
  async function finishedJob(started: HttpResult<unknown>): Promise<Resource<{ status: string; operation: string }>> {
    expect(started.status).toBe(202);
    const operationUrl = started.headers.get('azure-asyncoperation')!;
    for (const deadline = Date.now() + 90_000; ; ) {
      const operation = await armHttp<{ status: string; properties?: { jobId?: string } }>(withVersion(operationUrl));
      const jobId = operation.body.properties?.jobId;
      if (operation.body.status !== 'InProgress' && jobId !== undefined) {
        const job = await call<Resource<{ status: string; operation: string }>>('GET', `${vaultUrl()}/backupJobs/${jobId}`);
        if (!['InProgress', 'Cancelling'].includes(job.body.properties.status)) return job.body;
      }
      if (Date.now() > deadline) throw new Error(`operation ${operationUrl}: ${operation.text}\n${host.outputTail()}`);
      await sleep(150);
    }
  }

  /**
   * Everything a client can read of the vault's contents — except a recovery point's governing rule
   * and expiry (`recoveryPointProperties`), which the hourly retention timer records on its own
   * schedule and may do between a case's two reads.
   */
  async function visibleState(): Promise<unknown> {
    const urls = [
      vaultUrl(),
      `${vaultUrl()}/backupPolicies`,
      `${vaultUrl()}/backupProtectedItems`,
      `${vaultUrl()}/backupProtectableItems`,
      `${vaultUrl()}/backupJobs`,
      pointsUrl('web1'),
      `${pointsUrl('web1')}/${recoveryPoint}`,
    ];
    return Promise.all(
      urls.map(async (url) => {
        const response = await call('GET', url);
        return { url, status: response.status, body: JSON.parse(response.text, (key, value: unknown) => (key === 'recoveryPointProperties' ? undefined : value)) as unknown };
      }),
    );
  }

  function expectError(response: HttpResult<unknown>, status: number, code: string, target?: string): void {
    const body = response.body as ErrorEnvelope;
    expect({ status: response.status, code: body.error?.code, target: body.error?.target }).toEqual({ status, code, target });
    expect(body.error.message.length).toBeGreaterThan(0);
    expect(body.error.recommendation?.length).toBeGreaterThan(0);
  }

  beforeAll(async () => {
    const stamp = Date.now().toString(36);
    host = await startHostProcess({
      app: APP,
      storage: azurite().connectionString,
      hubName: `BadInput${stamp}`,
      env: {
        KLUIS_SOURCE_STORAGE: '',
        KLUIS_VAULT_STORAGE: '',
        KLUIS_RESTORE_STORAGE: '',
        KLUIS_VAULT_CONTAINER: uniqueName('vault'),
        KLUIS_CATALOG_TABLE: uniqueTableName('points'),
        KLUIS_CATALOG_TABLE_PREFIX: uniqueTableName('bad').slice(0, 20),
        KLUIS_INVENTORY_TABLE: uniqueTableName('vms'),
        ...subscriptionEnv(SUB),
      },
      startupTimeoutInMs: 60_000,
    });
    await createResourceGroups(host, SUB, [RG]);
    expect((await call('PUT', vaultUrl(), { location: 'westeurope' })).status).toBe(201);
    expect((await call('PUT', `${vaultUrl()}/backupPolicies/Nightly`, policyBody(RUN_TIME))).status).toBe(200);
    await createVm('web1', { dataDisks: [{ lun: 0, sizeBytes: 2 * MIB }] });
    await createVm('web2', { dataDisks: [{ lun: 0, sizeBytes: MIB }, { lun: 1, sizeBytes: MIB }] });
    await createVm('stop1');
    await createVm('idle1');
    await createVm('far1', { location: 'northeurope' });

    const refreshed = await call('POST', `${vaultUrl()}/backupFabrics/Azure/refreshContainers`);
    expect(refreshed.status).toBe(202);
    refreshOperation = refreshed.headers.get('location')!.split('/').pop()!;

    const configured = await finishedJob(await call('PUT', itemUrl('web1'), enableBody('web1')));
    expect(configured.properties).toMatchObject({ operation: 'ConfigureBackup', status: 'Completed' });
    configureJobId = configured.name;
    const backup = await finishedJob(await call('POST', `${itemUrl('web1')}/backup`, backupBody()));
    expect(backup.properties).toMatchObject({ operation: 'Backup', status: 'Completed' });
    backupJobId = backup.name;
    const points = await call<{ value: Array<{ name: string }> }>('GET', pointsUrl('web1'));
    expect(points.body.value).toHaveLength(1);
    recoveryPoint = points.body.value[0].name;

    await finishedJob(await call('PUT', itemUrl('stop1'), enableBody('stop1')));
    await finishedJob(await call('PUT', itemUrl('stop1'), { properties: { protectionState: 'ProtectionStopped', policyId: '' } }));
  }, 180_000);

  afterAll(async () => {
    await host?.stop();
  });

  const cases: Case[] = [
    // ---- discovery ---------------------------------------------------------------------------------
    ['refresh: another fabric', () => ['POST', `${vaultUrl()}/backupFabrics/Elsewhere/refreshContainers`], 400, 'KluisInvalidRequest', 'fabricName'],
    ['refresh: unknown vault', () => ['POST', `${vaultUrl('ghost-vault')}/backupFabrics/Azure/refreshContainers`], 404, 'ResourceNotFound', 'vaultName'],
    ['refresh: vault name breaking the rules', () => ['POST', `${vaultUrl('9lives')}/backupFabrics/Azure/refreshContainers`], 400, 'KluisInvalidResourceName', 'vaultName'],
    ['refresh: subscription that is no GUID', () => ['POST', `${vaultUrl(VAULT, RG, 'sub-1')}/backupFabrics/Azure/refreshContainers`], 400, 'InvalidSubscriptionId', 'subscriptionId'],
    ['protectable: another operator', () => ['GET', filter(`${vaultUrl()}/backupProtectableItems`, "backupManagementType ne 'AzureIaasVM'")], 400, 'KluisInvalidRequest', '$filter'],
    ['protectable: unknown filter field', () => ['GET', filter(`${vaultUrl()}/backupProtectableItems`, "osType eq 'Linux'")], 400, 'KluisInvalidRequest', '$filter'],
    [
      'protectable: a field named twice',
      () => ['GET', filter(`${vaultUrl()}/backupProtectableItems`, "friendlyName eq 'web1' and friendlyName eq 'web2'")],
      400,
      'KluisInvalidRequest',
      '$filter',
    ],
    ['protectable: unquoted value', () => ['GET', filter(`${vaultUrl()}/backupProtectableItems`, 'backupManagementType eq AzureIaasVM')], 400, 'KluisInvalidRequest', '$filter'],
    ['protectable: unknown vault', () => ['GET', `${vaultUrl('ghost-vault')}/backupProtectableItems`], 404, 'ResourceNotFound', 'vaultName'],
    ['protectable: resource group breaking the rules', () => ['GET', `${vaultUrl(VAULT, 'rg.')}/backupProtectableItems`], 400, 'KluisInvalidResourceName', 'resourceGroupName'],

    // ---- protected items: names and route ----------------------------------------------------------
    ['item PUT: not a container name', () => ['PUT', itemUrl('web2', { container: 'web2' }), enableBody('web2')], 400, 'KluisInvalidRequest', 'containerName'],
    ['item PUT: not an item name', () => ['PUT', itemUrl('web2', { item: 'VM;web2' }), enableBody('web2')], 400, 'KluisInvalidRequest', 'protectedItemName'],
    [
      'item PUT: VM name breaking the rules',
      () => ['PUT', itemUrl('-web2', { container: container('-web2'), item: item('-web2') }), enableBody('web2')],
      400,
      'KluisInvalidResourceName',
      'containerName',
    ],
    [
      'item PUT: container and item of different VMs',
      () => ['PUT', itemUrl('web2', { container: container('idle1') }), enableBody('web2')],
      400,
      'KluisInvalidRequest',
      'protectedItemName',
    ],
    ['item PUT: another fabric', () => ['PUT', itemUrl('web2', { fabric: 'Elsewhere' }), enableBody('web2')], 400, 'KluisInvalidRequest', 'fabricName'],
    ['item PUT: unknown vault', () => ['PUT', itemUrl('web2', { vault: 'ghost-vault' }), enableBody('web2')], 404, 'ResourceNotFound', 'vaultName'],
    // ---- protected items: body ----------------------------------------------------------------------
    ['item PUT: malformed JSON', () => ['PUT', itemUrl('web2'), '{"properties":'], 400, 'KluisInvalidRequest', 'body'],
    ['item PUT: empty body', () => ['PUT', itemUrl('web2'), ''], 400, 'KluisInvalidRequest', 'body'],
    ['item PUT: body not an object', () => ['PUT', itemUrl('web2'), '"protect"'], 400, 'KluisInvalidRequest', 'body'],
    ['item PUT: properties missing', () => ['PUT', itemUrl('web2'), { id: 'x' }], 400, 'KluisInvalidRequest', 'properties'],
    ['item PUT: policyId of the wrong type', () => ['PUT', itemUrl('web2'), enableBody('web2', { policyId: 42 })], 400, 'KluisInvalidRequest', 'properties.policyId'],
    ['item PUT: isRehydrate of the wrong type', () => ['PUT', itemUrl('web2'), enableBody('web2', { isRehydrate: 'yes' })], 400, 'KluisInvalidRequest', 'properties.isRehydrate'],
    ['item PUT: unknown protection state', () => ['PUT', itemUrl('web2'), enableBody('web2', { protectionState: 'Paused' })], 400, 'KluisInvalidRequest', 'properties.protectionState'],
    ['item PUT: unknown property', () => ['PUT', itemUrl('web2'), enableBody('web2', { retainForever: true })], 400, 'KluisInvalidRequest', 'properties.retainForever'],
    [
      'item PUT: a "__proto__" property',
      () => ['PUT', itemUrl('web2'), `{"properties":${JSON.stringify((enableBody('web2') as { properties: unknown }).properties)},"__proto__":{"policyId":"x"}}`],
      400,
      'KluisInvalidRequest',
      '__proto__',
    ],
    ['item PUT: tags of the wrong type', () => ['PUT', itemUrl('web2'), { ...(enableBody('web2') as object), tags: ['a'] }], 400, 'KluisInvalidRequest', 'tags'],
    [
      'item PUT: another protected item type',
      () => ['PUT', itemUrl('web2'), enableBody('web2', { protectedItemType: 'Microsoft.Sql/servers/databases' })],
      400,
      'KluisInvalidRequest',
      'properties.protectedItemType',
    ],
    ['item PUT: no sourceResourceId', () => ['PUT', itemUrl('web2'), enableBody('web2', { sourceResourceId: undefined })], 400, 'KluisInvalidRequest', 'properties.sourceResourceId'],
    [
      'item PUT: sourceResourceId that is no VM id',
      () => ['PUT', itemUrl('web2'), enableBody('web2', { sourceResourceId: `/subscriptions/${SUB}/resourceGroups/${VM_RG}/providers/Microsoft.Storage/storageAccounts/web2` })],
      400,
      'KluisInvalidRequest',
      'properties.sourceResourceId',
    ],
    ['item PUT: sourceResourceId of another VM', () => ['PUT', itemUrl('web2'), enableBody('web2', { sourceResourceId: vmId('idle1') })], 400, 'KluisInvalidRequest', 'properties.sourceResourceId'],
    [
      'item PUT: sourceResourceId in another subscription',
      () => ['PUT', itemUrl('web2'), enableBody('web2', { sourceResourceId: vmId('web2', OTHER_SUB) })],
      400,
      'KluisInvalidRequest',
      'properties.sourceResourceId',
    ],
    ['item PUT: sourceResourceId too long', () => ['PUT', itemUrl('web2'), enableBody('web2', { sourceResourceId: `/${'x'.repeat(1200)}` })], 400, 'KluisInvalidRequest', 'properties.sourceResourceId'],
    ['item PUT: unknown VM', () => ['PUT', itemUrl('ghost1'), enableBody('ghost1')], 404, 'UserErrorVmNotFoundV2', 'properties.sourceResourceId'],
    ['item PUT: VM in another region', () => ['PUT', itemUrl('far1'), enableBody('far1')], 400, 'UserErrorVmLocationMismatch', 'properties.sourceResourceId'],
    ['item PUT: no policyId', () => ['PUT', itemUrl('web2'), enableBody('web2', { policyId: undefined })], 400, 'KluisInvalidRequest', 'properties.policyId'],
    ['item PUT: empty policyId', () => ['PUT', itemUrl('web2'), enableBody('web2', { policyId: '' })], 400, 'KluisInvalidRequest', 'properties.policyId'],
    [
      'item PUT: VM name too long',
      () => ['PUT', itemUrl('v', { container: container('v'.repeat(65)), item: item('v'.repeat(65)) }), enableBody('web2')],
      400,
      'KluisInvalidResourceName',
      'containerName',
    ],
    ['item PUT: unknown policy', () => ['PUT', itemUrl('web2'), enableBody('web2', { policyId: policyId('NoSuchPolicy') })], 404, 'ResourceNotFound', 'properties.policyId'],
    ['item PUT: policy of another vault', () => ['PUT', itemUrl('web2'), enableBody('web2', { policyId: policyId('Nightly', 'other-vault') })], 400, 'KluisInvalidRequest', 'properties.policyId'],
    ['item PUT: policy name breaking the rules', () => ['PUT', itemUrl('web2'), enableBody('web2', { policyId: 'no;policy' })], 400, 'KluisInvalidResourceName', 'properties.policyId'],
    [
      'item PUT: negative disk LUN',
      () => ['PUT', itemUrl('web2'), diskExclusion({ diskLunList: [-1] })],
      400,
      'KluisInvalidRequest',
      'properties.extendedProperties.diskExclusionProperties.diskLunList.0',
    ],
    [
      'item PUT: disk LUN that is no whole number',
      () => ['PUT', itemUrl('web2'), diskExclusion({ diskLunList: [0, 1.5] })],
      400,
      'KluisInvalidRequest',
      'properties.extendedProperties.diskExclusionProperties.diskLunList.1',
    ],
    [
      'item PUT: a disk LUN listed twice',
      () => ['PUT', itemUrl('web2'), diskExclusion({ diskLunList: [1, 1] })],
      400,
      'KluisInvalidRequest',
      'properties.extendedProperties.diskExclusionProperties.diskLunList',
    ],
    [
      'item PUT: a disk LUN the VM lacks',
      () => ['PUT', itemUrl('web2'), diskExclusion({ diskLunList: [5] })],
      400,
      'KluisInvalidRequest',
      'properties.extendedProperties.diskExclusionProperties.diskLunList',
    ],
    [
      'item PUT: disk list of the wrong type',
      () => ['PUT', itemUrl('web2'), diskExclusion({ diskLunList: '0,1' })],
      400,
      'KluisInvalidRequest',
      'properties.extendedProperties.diskExclusionProperties.diskLunList',
    ],
    [
      'item PUT: isInclusionList missing',
      () => ['PUT', itemUrl('web2'), diskExclusion({ diskLunList: [0], isInclusionList: undefined })],
      400,
      'KluisInvalidRequest',
      'properties.extendedProperties.diskExclusionProperties.isInclusionList',
    ],
    [
      'item PUT: isInclusionList of the wrong type',
      () => ['PUT', itemUrl('web2'), diskExclusion({ diskLunList: [0], isInclusionList: 'no' })],
      400,
      'KluisInvalidRequest',
      'properties.extendedProperties.diskExclusionProperties.isInclusionList',
    ],
    ['item PUT: change the source of a protected item', () => ['PUT', itemUrl('web1'), enableBody('web1', { sourceResourceId: vmId('web1', SUB, 'rg-other') })], 400, 'KluisInvalidRequest', 'properties.sourceResourceId'],
    ['item PUT: undelete an item that is not deleted', () => ['PUT', itemUrl('web1'), { properties: { isRehydrate: true } }], 400, 'KluisInvalidRequest', 'properties.isRehydrate'],
    ['item PUT: stop an unknown item', () => ['PUT', itemUrl('idle1'), { properties: { protectionState: 'ProtectionStopped' } }], 404, 'UserErrorBcmDatasourceNotPresent', 'protectedItemName'],
    ['item PUT: undelete an unknown item', () => ['PUT', itemUrl('idle1'), { properties: { isRehydrate: true } }], 404, 'UserErrorBcmDatasourceNotPresent', 'protectedItemName'],
    // ---- protected items: GET, DELETE, list -------------------------------------------------------
    ['item GET: unknown item', () => ['GET', itemUrl('idle1')], 404, 'UserErrorBcmDatasourceNotPresent', 'protectedItemName'],
    ['item GET: not a container name', () => ['GET', itemUrl('web1', { container: 'IaasVMContainer;web1' })], 400, 'KluisInvalidRequest', 'containerName'],
    ['item GET: another fabric', () => ['GET', itemUrl('web1', { fabric: 'AzureSql' })], 400, 'KluisInvalidRequest', 'fabricName'],
    ['item GET: unknown vault', () => ['GET', itemUrl('web1', { vault: 'ghost-vault' })], 404, 'ResourceNotFound', 'vaultName'],
    ['item DELETE: not an item name', () => ['DELETE', itemUrl('web1', { item: 'web1' })], 400, 'KluisInvalidRequest', 'protectedItemName'],
    ['item DELETE: another fabric', () => ['DELETE', itemUrl('web1', { fabric: 'Elsewhere' })], 400, 'KluisInvalidRequest', 'fabricName'],
    ['item DELETE: unknown vault', () => ['DELETE', itemUrl('web1', { vault: 'ghost-vault' })], 404, 'ResourceNotFound', 'vaultName'],
    ['item DELETE: vault name breaking the rules', () => ['DELETE', itemUrl('web1', { vault: 'v' })], 400, 'KluisInvalidResourceName', 'vaultName'],
    ['items: another operator', () => ['GET', filter(`${vaultUrl()}/backupProtectedItems`, "policyName ne 'Nightly'")], 400, 'KluisInvalidRequest', '$filter'],
    ['items: unknown filter field', () => ['GET', filter(`${vaultUrl()}/backupProtectedItems`, "vmName eq 'web1'")], 400, 'KluisInvalidRequest', '$filter'],
    ['items: unknown vault', () => ['GET', `${vaultUrl('ghost-vault')}/backupProtectedItems`], 404, 'ResourceNotFound', 'vaultName'],

    // ---- on-demand backup --------------------------------------------------------------------------
    ['backup: malformed JSON', () => ['POST', `${itemUrl('web1')}/backup`, '{"properties":{"objectType":'], 400, 'KluisInvalidRequest', 'body'],
    ['backup: empty body', () => ['POST', `${itemUrl('web1')}/backup`, ''], 400, 'KluisInvalidRequest', 'body'],
    ['backup: a JSON body sent as text/plain', () => ['POST', `${itemUrl('web1')}/backup`, new TypedBody(JSON.stringify({ properties: { objectType: 'IaasVMBackupRequest' } }), 'text/plain;charset=UTF-8')], 415, 'UnsupportedMediaType', undefined],
    ['backup: a form body', () => ['POST', `${itemUrl('web1')}/backup`, new TypedBody('properties=1', 'application/x-www-form-urlencoded')], 415, 'UnsupportedMediaType', undefined],
    ['backup: a body nested 4,000 deep', () => ['POST', `${itemUrl('web1')}/backup`, `{"properties":{"objectType":"IaasVMBackupRequest","x":${DEEP(4_000)}}}`], 400, 'KluisInvalidRequest', 'body'],
    ['backup: a body over 4 MiB', () => ['POST', `${itemUrl('web1')}/backup`, `{"properties":{"objectType":"IaasVMBackupRequest","x":"${'x'.repeat(4 * 1024 * 1024)}"}}`], 413, 'KluisRequestBodyTooLarge', 'body'],
    ['vault PUT: a body nested 4,000 deep', () => ['PUT', vaultUrl(), `{"location":"westeurope","properties":${DEEP(4_000)}}`], 400, 'KluisInvalidRequest', 'body'],
    ['policy PUT: a body nested 65 deep', () => ['PUT', `${vaultUrl()}/backupPolicies/Deep`, `{"properties":${DEEP(64)}}`], 400, 'KluisInvalidRequest', 'body'],
    ['backup: properties missing', () => ['POST', `${itemUrl('web1')}/backup`, {}], 400, 'KluisInvalidRequest', 'properties'],
    ['backup: objectType missing', () => ['POST', `${itemUrl('web1')}/backup`, { properties: {} }], 400, 'KluisInvalidRequest', 'properties.objectType'],
    ['backup: another objectType', () => ['POST', `${itemUrl('web1')}/backup`, backupBody({ objectType: 'AzureFileShareBackupRequest' })], 400, 'KluisInvalidRequest', 'properties.objectType'],
    ['backup: unknown property', () => ['POST', `${itemUrl('web1')}/backup`, backupBody({ retainForever: true })], 400, 'KluisInvalidRequest', 'properties.retainForever'],
    ['backup: empty retain-until', () => ['POST', `${itemUrl('web1')}/backup`, backupBody({ recoveryPointExpiryTimeInUTC: '' })], 400, 'KluisInvalidRequest', 'properties.recoveryPointExpiryTimeInUTC'],
    [
      'backup: retain-until of the wrong type',
      () => ['POST', `${itemUrl('web1')}/backup`, backupBody({ recoveryPointExpiryTimeInUTC: 1893456000 })],
      400,
      'KluisInvalidRequest',
      'properties.recoveryPointExpiryTimeInUTC',
    ],
    [
      'backup: retain-until that is no date',
      () => ['POST', `${itemUrl('web1')}/backup`, backupBody({ recoveryPointExpiryTimeInUTC: 'next tuesday' })],
      400,
      'KluisInvalidRequest',
      'properties.recoveryPointExpiryTimeInUTC',
    ],
    [
      'backup: retain-until on a day that does not exist',
      () => ['POST', `${itemUrl('web1')}/backup`, backupBody({ recoveryPointExpiryTimeInUTC: '2031-02-30T00:00:00Z' })],
      400,
      'KluisInvalidRequest',
      'properties.recoveryPointExpiryTimeInUTC',
    ],
    [
      'backup: retain-until in the past',
      () => ['POST', `${itemUrl('web1')}/backup`, backupBody({ recoveryPointExpiryTimeInUTC: '2020-01-01T00:00:00Z' })],
      400,
      'KluisInvalidRequest',
      'properties.recoveryPointExpiryTimeInUTC',
    ],
    [
      'backup: retain-until more than 99 years ahead',
      () => ['POST', `${itemUrl('web1')}/backup`, backupBody({ recoveryPointExpiryTimeInUTC: `${new Date().getUTCFullYear() + 100}-01-01T00:00:00Z` })],
      400,
      'KluisInvalidRequest',
      'properties.recoveryPointExpiryTimeInUTC',
    ],
    ['backup: item not protected', () => ['POST', `${itemUrl('idle1')}/backup`, backupBody()], 404, 'UserErrorBcmDatasourceNotPresent', 'protectedItemName'],
    ['backup: protection stopped', () => ['POST', `${itemUrl('stop1')}/backup`, backupBody()], 409, 'UserErrorItemProtectionStopped', 'protectedItemName'],
    ['backup: not an item name', () => ['POST', `${itemUrl('web1', { item: 'VM;iaasvmcontainerv2;web1' })}/backup`, backupBody()], 400, 'KluisInvalidRequest', 'protectedItemName'],
    ['backup: another fabric', () => ['POST', `${itemUrl('web1', { fabric: 'Elsewhere' })}/backup`, backupBody()], 400, 'KluisInvalidRequest', 'fabricName'],
    ['backup: unknown vault', () => ['POST', `${itemUrl('web1', { vault: 'ghost-vault' })}/backup`, backupBody()], 404, 'ResourceNotFound', 'vaultName'],

    // ---- recovery points ---------------------------------------------------------------------------
    ['points: unknown item', () => ['GET', pointsUrl('idle1')], 404, 'UserErrorBcmDatasourceNotPresent', 'protectedItemName'],
    ['points: not a container name', () => ['GET', pointsUrl('web1', { container: 'iaasvmcontainerv2;web1' })], 400, 'KluisInvalidRequest', 'containerName'],
    ['points: unknown vault', () => ['GET', pointsUrl('web1', { vault: 'ghost-vault' })], 404, 'ResourceNotFound', 'vaultName'],
    ['points: a start date that is no date', () => ['GET', filter(pointsUrl(), "startDate eq 'soon'")], 400, 'KluisInvalidRequest', '$filter'],
    ['points: a day that does not exist', () => ['GET', filter(pointsUrl(), "startDate eq '2026-02-30 12:00:00 AM'")], 400, 'KluisInvalidRequest', '$filter'],
    ['points: an hour past 12 with AM', () => ['GET', filter(pointsUrl(), "endDate eq '2026-02-01 13:00:00 AM'")], 400, 'KluisInvalidRequest', '$filter'],
    [
      'points: start after end',
      () => ['GET', filter(pointsUrl(), "startDate eq '2026-03-01 12:00:00 AM' and endDate eq '2026-02-01 12:00:00 AM'")],
      400,
      'KluisInvalidRequest',
      '$filter',
    ],
    ['points: unknown filter field', () => ['GET', filter(pointsUrl(), "tier eq 'InstantRP'")], 400, 'KluisInvalidRequest', '$filter'],
    ['point GET: id that is no number', () => ['GET', `${pointsUrl()}/latest`], 400, 'KluisInvalidRequest', 'recoveryPointId'],
    ['point GET: id with too many digits', () => ['GET', `${pointsUrl()}/${'9'.repeat(40)}`], 400, 'KluisInvalidRequest', 'recoveryPointId'],
    ['point GET: unknown id', () => ['GET', `${pointsUrl()}/999999999`], 404, 'KluisRecoveryPointNotFound', 'recoveryPointId'],
    ['point GET: unknown item', () => ['GET', `${pointsUrl('idle1')}/${recoveryPoint}`], 404, 'UserErrorBcmDatasourceNotPresent', 'protectedItemName'],

    // ---- restore -----------------------------------------------------------------------------------
    ['restore: malformed JSON', () => ['POST', restoreUrl(), '{"properties": {'], 400, 'KluisInvalidRequest', 'body'],
    ['restore: properties missing', () => ['POST', restoreUrl(), { location: 'westeurope' }], 400, 'KluisInvalidRequest', 'properties'],
    ['restore: another objectType', () => ['POST', restoreUrl(), restoreBody({ objectType: 'AzureFileShareRestoreRequest' })], 400, 'KluisInvalidRequest', 'properties.objectType'],
    ['restore: unknown recovery type', () => ['POST', restoreUrl(), restoreBody({ recoveryType: 'Overwrite' })], 400, 'KluisInvalidRequest', 'properties.recoveryType'],
    ['restore: OriginalLocation', () => ['POST', restoreUrl(), restoreBody({ recoveryType: 'OriginalLocation' })], 400, 'KluisOriginalLocationRestoreNotSupported', 'properties.recoveryType'],
    ['restore: another region', () => ['POST', restoreUrl(), restoreBody({ region: 'northeurope' })], 400, 'KluisCrossRegionRestoreNotSupported', 'properties.region'],
    ['restore: region missing', () => ['POST', restoreUrl(), restoreBody({ region: undefined })], 400, 'KluisInvalidRequest', 'properties.region'],
    ['restore: an unknown data disk', () => ['POST', restoreUrl(), restoreBody({ restoreDiskLunList: [7] })], 400, 'KluisInvalidRequest', 'properties.restoreDiskLunList'],
    ['restore: a negative LUN', () => ['POST', restoreUrl(), restoreBody({ restoreDiskLunList: [-1] })], 400, 'KluisInvalidRequest', 'properties.restoreDiskLunList.0'],
    ['restore: LUN list of the wrong type', () => ['POST', restoreUrl(), restoreBody({ restoreDiskLunList: 'all' })], 400, 'KluisInvalidRequest', 'properties.restoreDiskLunList'],
    ['restore: storage account id that is no id', () => ['POST', restoreUrl(), restoreBody({ storageAccountId: 'devstoreaccount1' })], 400, 'KluisInvalidRequest', 'properties.storageAccountId'],
    [
      'restore: storage account name breaking the rules',
      () => ['POST', restoreUrl(), restoreBody({ storageAccountId: RESTORE_ACCOUNT.replace('devstoreaccount1', 'Dev_Store') })],
      400,
      'KluisInvalidRequest',
      'properties.storageAccountId',
    ],
    [
      'restore: another storage account',
      () => ['POST', restoreUrl(), restoreBody({ storageAccountId: RESTORE_ACCOUNT.replace('devstoreaccount1', 'elsewhere') })],
      400,
      'KluisRestoreStorageAccountNotAvailable',
      'properties.storageAccountId',
    ],
    ['restore: storage account missing', () => ['POST', restoreUrl(), restoreBody({ storageAccountId: undefined })], 400, 'KluisInvalidRequest', 'properties.storageAccountId'],
    [
      'restore: into the source disks’ accounts',
      () => ['POST', restoreUrl(), restoreBody({ originalStorageAccountOption: true })],
      400,
      'KluisInvalidRequest',
      'properties.originalStorageAccountOption',
    ],
    ['restore: another recovery point in the body', () => ['POST', restoreUrl(), restoreBody({ recoveryPointId: '1' })], 400, 'KluisInvalidRequest', 'properties.recoveryPointId'],
    ['restore: another source VM', () => ['POST', restoreUrl(), restoreBody({ sourceResourceId: vmId('idle1') })], 400, 'KluisInvalidRequest', 'properties.sourceResourceId'],
    [
      'restore: a new VM without a name',
      () => ['POST', restoreUrl(), restoreBody({ recoveryType: 'AlternateLocation' })],
      400,
      'KluisInvalidRequest',
      'properties.targetVirtualMachineId',
    ],
    [
      'restore: a new VM in another subscription',
      () => ['POST', restoreUrl(), restoreBody({ recoveryType: 'AlternateLocation', targetVirtualMachineId: vmId('copy1', OTHER_SUB) })],
      400,
      'KluisInvalidRequest',
      'properties.targetVirtualMachineId',
    ],
    [
      'restore: a new VM name breaking the rules',
      () => ['POST', restoreUrl(), restoreBody({ recoveryType: 'AlternateLocation', targetVirtualMachineId: vmId('copy-') })],
      400,
      'KluisInvalidRequest',
      'properties.targetVirtualMachineId',
    ],
    [
      'restore: a new VM outside the target resource group',
      () => ['POST', restoreUrl(), restoreBody({ recoveryType: 'AlternateLocation', targetVirtualMachineId: vmId('copy1'), targetResourceGroupId: `/subscriptions/${SUB}/resourceGroups/elsewhere` })],
      400,
      'KluisInvalidRequest',
      'properties.targetResourceGroupId',
    ],
    [
      'restore: a target VM that exists',
      () => ['POST', restoreUrl(), restoreBody({ recoveryType: 'AlternateLocation', targetVirtualMachineId: vmId('IDLE1') })],
      409,
      'KluisRestoreTargetVmExists',
      'properties.targetVirtualMachineId',
    ],
    [
      'restore: the source VM as the new VM',
      () => ['POST', restoreUrl(), restoreBody({ recoveryType: 'AlternateLocation', targetVirtualMachineId: vmId('web1') })],
      409,
      'KluisRestoreTargetVmExists',
      'properties.targetVirtualMachineId',
    ],
    ['restore: empty body', () => ['POST', restoreUrl(), ''], 400, 'KluisInvalidRequest', 'body'],
    ['restore: encryption details for a VM without encryption', () => ['POST', restoreUrl(), restoreBody({ encryptionDetails: { encryptionEnabled: true } })], 400, 'KluisInvalidRequest', 'properties.encryptionDetails'],
    ['restore: availability zones', () => ['POST', restoreUrl(), restoreBody({ zones: ['1'] })], 400, 'KluisInvalidRequest', 'properties.zones'],
    ['restore: managed disks', () => ['POST', restoreUrl(), restoreBody({ restoreWithManagedDisks: true })], 400, 'KluisInvalidRequest', 'properties.restoreWithManagedDisks'],
    ['restore: target resource group id that is no id', () => ['POST', restoreUrl(), restoreBody({ targetResourceGroupId: 'restored' })], 400, 'KluisInvalidRequest', 'properties.targetResourceGroupId'],
    ['restore: recovery point id that is no number', () => ['POST', restoreUrl('latest'), restoreBody({ recoveryPointId: undefined })], 400, 'KluisInvalidRequest', 'recoveryPointId'],
    ['restore: unknown recovery point', () => ['POST', restoreUrl('999999999'), restoreBody({ recoveryPointId: undefined })], 404, 'KluisRecoveryPointNotFound', 'recoveryPointId'],
    ['restore: unknown item', () => ['POST', restoreUrl(recoveryPoint, 'idle1'), restoreBody({ sourceResourceId: undefined })], 404, 'UserErrorBcmDatasourceNotPresent', 'protectedItemName'],
    ['restore: another fabric', () => ['POST', restoreUrl(recoveryPoint, 'web1', { fabric: 'Elsewhere' }), restoreBody()], 400, 'KluisInvalidRequest', 'fabricName'],
    ['restore: unknown vault', () => ['POST', restoreUrl(recoveryPoint, 'web1', { vault: 'ghost-vault' }), restoreBody()], 404, 'ResourceNotFound', 'vaultName'],

    // ---- jobs --------------------------------------------------------------------------------------
    ['jobs: unknown status', () => ['GET', filter(`${vaultUrl()}/backupJobs`, "status eq 'Running'")], 400, 'KluisInvalidRequest', '$filter'],
    ['jobs: unknown operation', () => ['GET', filter(`${vaultUrl()}/backupJobs`, "operation eq 'Snapshot'")], 400, 'KluisInvalidRequest', '$filter'],
    ['jobs: a start time that is no time', () => ['GET', filter(`${vaultUrl()}/backupJobs`, "startTime eq 'yesterday'")], 400, 'KluisInvalidRequest', '$filter'],
    [
      'jobs: start after end',
      () => ['GET', filter(`${vaultUrl()}/backupJobs`, "startTime eq '2026-03-01T00:00:00Z' and endTime eq '2026-02-01T00:00:00Z'")],
      400,
      'KluisInvalidRequest',
      '$filter',
    ],
    ['jobs: another operator', () => ['GET', filter(`${vaultUrl()}/backupJobs`, "status ne 'Completed'")], 400, 'KluisInvalidRequest', '$filter'],
    ['jobs: or instead of and', () => ['GET', filter(`${vaultUrl()}/backupJobs`, "status eq 'Completed' or status eq 'Failed'")], 400, 'KluisInvalidRequest', '$filter'],
    ['jobs: empty status', () => ['GET', filter(`${vaultUrl()}/backupJobs`, "status eq ''")], 400, 'KluisInvalidRequest', '$filter'],
    ['jobs: unknown vault', () => ['GET', `${vaultUrl('ghost-vault')}/backupJobs`], 404, 'ResourceNotFound', 'vaultName'],
    ['job GET: unknown id', () => ['GET', `${vaultUrl()}/backupJobs/${randomUUID()}`], 404, 'KluisJobNotFound', 'jobName'],
    ['job GET: id with characters a key cannot hold', () => ['GET', `${vaultUrl()}/backupJobs/${encodeURIComponent('a#b?c')}`], 404, 'KluisJobNotFound', 'jobName'],
    ['job GET: id longer than a key can be', () => ['GET', `${vaultUrl()}/backupJobs/${'j'.repeat(2000)}`], 404, 'KluisJobNotFound', 'jobName'],
    ['job cancel: id with a backslash', () => ['POST', `${vaultUrl()}/backupJobs/${encodeURIComponent('a\\b')}/cancel`], 404, 'KluisJobNotFound', 'jobName'],
    ['job cancel: unknown id', () => ['POST', `${vaultUrl()}/backupJobs/${randomUUID()}/cancel`], 404, 'KluisJobNotFound', 'jobName'],
    ['job cancel: a finished backup', () => ['POST', `${vaultUrl()}/backupJobs/${backupJobId}/cancel`], 400, 'UserErrorJobNotCancellable', 'jobName'],
    ['job cancel: a ConfigureBackup job', () => ['POST', `${vaultUrl()}/backupJobs/${configureJobId}/cancel`], 400, 'UserErrorJobNotCancellable', 'jobName'],
    ['job cancel: unknown vault', () => ['POST', `${vaultUrl('ghost-vault')}/backupJobs/${backupJobId}/cancel`], 404, 'ResourceNotFound', 'vaultName'],

    // ---- async operations ----------------------------------------------------------------------------
    ['operation status: unknown id', () => ['GET', `${vaultUrl()}/backupOperations/${randomUUID()}`], 404, 'KluisOperationNotFound', 'operationId'],
    ['operation result: unknown id', () => ['GET', `${vaultUrl()}/backupOperationResults/${randomUUID()}`], 404, 'KluisOperationNotFound', 'operationId'],
    [
      'operation status: id with characters a key cannot hold',
      () => ['GET', `${vaultUrl()}/backupOperations/${encodeURIComponent('x\\y#z')}`],
      404,
      'KluisOperationNotFound',
      'operationId',
    ],
    ['operation result: id longer than a key can be', () => ['GET', `${vaultUrl()}/backupOperationResults/${'o'.repeat(2000)}`], 404, 'KluisOperationNotFound', 'operationId'],
    ['operation status: another vault', () => ['GET', `${vaultUrl('ghost-vault')}/backupOperations/${refreshOperation}`], 404, 'ResourceNotFound', 'vaultName'],
    ['operation result: vault name breaking the rules', () => ['GET', `${vaultUrl('a_b')}/backupOperationResults/${refreshOperation}`], 400, 'KluisInvalidResourceName', 'vaultName'],
  ];

  // The cases run one after another: what one case reads afterwards is what the next one starts from.
  let stateBeforeCase: unknown;
  it.each(cases)('%s', async (_name, request, status, code, target) => {
    const before = stateBeforeCase ?? (await visibleState());
    const [method, url, body] = request();
    const response = await call(method, url, body);
    stateBeforeCase = await visibleState();
    expectError(response, status, code, target);
    expect(stateBeforeCase).toEqual(before);
  });

  it('answers 204 to DELETE of an item that does not exist, changing nothing', async () => {
    const before = await visibleState();
    expect((await call('DELETE', itemUrl('idle1'))).status).toBe(204);
    expect(await visibleState()).toEqual(before);
  });

  it('accepts a policy body copied from an Azure GET, nulls included, as if the null fields were left out', async () => {
    const runTime = RUN_TIME;
    const fromAzure = {
      id: policyId('Pasted'),
      name: 'Pasted',
      type: 'Microsoft.RecoveryServices/vaults/backupPolicies',
      eTag: null,
      location: null,
      tags: null,
      properties: {
        backupManagementType: 'AzureIaasVM',
        instantRPDetails: { azureBackupRGNamePrefix: null, azureBackupRGNameSuffix: null },
        schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: [runTime], scheduleRunDays: null, scheduleWeeklyFrequency: 0 },
        retentionPolicy: {
          retentionPolicyType: 'LongTermRetentionPolicy',
          dailySchedule: { retentionTimes: [runTime], retentionDuration: { count: 30, durationType: 'Days' } },
          weeklySchedule: null,
          monthlySchedule: {
            retentionScheduleFormatType: 'Daily',
            retentionScheduleDaily: { daysOfTheMonth: [{ date: 0, isLast: true }] },
            retentionScheduleWeekly: null,
            retentionTimes: [runTime],
            retentionDuration: { count: 12, durationType: 'Months' },
          },
          yearlySchedule: null,
        },
        tieringPolicy: null,
        instantRpRetentionRangeInDays: 2,
        timeZone: 'UTC',
        protectedItemsCount: 0,
        policyType: 'V1',
      },
    };
    const created = await call<Resource>('PUT', `${vaultUrl()}/backupPolicies/Pasted`, fromAzure);
    expect(created.status).toBe(200);
    const read = await call<Resource>('GET', `${vaultUrl()}/backupPolicies/Pasted`);
    expect(read.body.properties).toMatchObject({ policyType: 'V1', timeZone: 'UTC', instantRpRetentionRangeInDays: 2 });
    expect(JSON.stringify(read.body)).not.toContain('null');
    expect(read.body.properties.retentionPolicy).not.toHaveProperty('weeklySchedule');
    expect(read.body.properties.schedulePolicy).not.toHaveProperty('scheduleRunDays');
    // Sent again, with the nulls: an update that changes nothing.
    const again = await call<Resource>('PUT', `${vaultUrl()}/backupPolicies/Pasted`, fromAzure);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(read.body);

    // A null where a value is required is still refused, naming the field.
    const before = await visibleState();
    const missing = { ...fromAzure, properties: { ...fromAzure.properties, schedulePolicy: null } };
    expectError(await call('PUT', `${vaultUrl()}/backupPolicies/Pasted`, missing), 400, 'KluisInvalidRequest', 'properties.schedulePolicy');
    const nullInList = { ...fromAzure, properties: { ...fromAzure.properties, schedulePolicy: { ...fromAzure.properties.schedulePolicy, scheduleRunTimes: [null] } } };
    expectError(await call('PUT', `${vaultUrl()}/backupPolicies/Pasted`, nullInList), 400, 'KluisInvalidRequest', 'properties.schedulePolicy.scheduleRunTimes.0');
    expect(await visibleState()).toEqual(before);
  });

  it('accepts nulls for absent optional fields of a protected item PUT', async () => {
    const resumed = await finishedJob(
      await call('PUT', itemUrl('stop1'), {
        id: null,
        tags: null,
        properties: {
          protectedItemType: 'Microsoft.Compute/virtualMachines',
          sourceResourceId: vmId('stop1'),
          policyId: policyId('Pasted'),
          protectionState: null,
          isRehydrate: null,
          extendedProperties: null,
          lastBackupTime: null,
          kpisHealths: null,
        },
      }),
    );
    expect(resumed.properties).toMatchObject({ operation: 'ConfigureBackup', status: 'Completed' });
    const stop1 = await call<Resource<{ protectionState: string; policyName: string }>>('GET', itemUrl('stop1'));
    expect(stop1.body.properties).toMatchObject({ protectionState: 'IRPending', policyName: 'Pasted' });
  });
});
