/**
 * A small client of the vault service's ARM-shaped API and the local VM fabric, for end-to-end tests that
 * drive the embedded host over HTTP: resource paths and ids, vaults, policies, fabric VMs, discovery,
 * protection, backups, jobs, recovery points, restores, async operations (202 → Azure-AsyncOperation →
 * job) and the host's fake clock. Every call goes over HTTP; nothing here reads the catalog directly.
 */
import { createHash } from 'node:crypto';
import { checkArmConformance } from './arm-spec';
import { blobService } from './azurite';
import { createResourceGroups } from './arm-tenancy';
import { http, sleep, type HostProcess, type HttpOptions, type HttpResult } from './host-process';

/** How often a wait asks again (jobs, operations, orchestrations). */
const POLL_MS = 40;

const MIB = 1024 * 1024;
export const API_VERSION = '2023-06-01';

export interface ErrorEnvelope {
  error: { code: string; message: string; target?: string; recommendation?: string };
}

export interface ArmList<T> {
  value: T[];
}

export interface Resource<P> {
  id: string;
  name: string;
  properties: P;
}

export interface ItemProperties {
  protectionState: string;
  healthStatus: string;
  policyName?: string;
  policyId?: string;
  lastBackupStatus?: string;
  lastBackupTime?: string;
  lastRecoveryPoint?: string;
  healthDetails: Array<{ title: string }>;
  extendedInfo: { recoveryPointCount: number; oldestRecoveryPoint?: string };
  isScheduledForDeferredDelete?: boolean;
  deferredDeleteTimeInUTC?: string;
  deferredDeleteTimeRemaining?: string;
}

export interface JobTaskView {
  taskId: string;
  status: string;
  progressPercentage: number;
}

export interface JobProperties {
  operation: string;
  status: string;
  entityFriendlyName: string;
  startTime: string;
  endTime?: string;
  duration: string;
  actionsInfo: string[];
  isUserTriggered: boolean;
  errorDetails?: Array<{ errorCode: number; errorTitle: string; errorString: string; recommendations: string[] }>;
  extendedInfo: { progressPercentage: number; tasksList: JobTaskView[]; propertyBag: Record<string, string> };
}

export interface RecoveryPointProperties {
  recoveryPointType: string;
  recoveryPointTime: string;
  osType: string;
  recoveryPointTierDetails: Array<{ type: string; status: string }>;
  recoveryPointDiskConfiguration: { numberOfDisksIncludedInBackup: number; includedDiskList?: Array<{ lun: number; name: string }> };
  recoveryPointProperties?: { expiryTime?: string; ruleName?: string };
}

export interface OperationStatus {
  status: string;
  properties?: { jobId: string };
  error?: { code: string; message: string };
}

export interface FabricVm {
  id: string;
  name: string;
  location: string;
  osType: string;
  powerState: string;
  disks: Array<{ kind: 'os' | 'data'; lun?: number; name: string; vhdUri: string; storageType: string; sizeBytes: number }>;
}

export interface VaultApiOptions {
  subscriptionId: string;
  /** The vaults' resource group (default rg-backup). */
  resourceGroup?: string;
  /** The VMs' resource group (default rg-vms). */
  vmResourceGroup?: string;
  /** The Azurite the host runs on (the fabric's disks, restored blobs). */
  storage: () => string;
}

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Route parameters naming a vault and the protected item of VM `vm` in it (VMs in `rg-vms`, the DefaultPolicy). */
export function vaultRouteParameters(subscriptionId: string, resourceGroupName: string, vaultName: string, vm: string): Record<string, string> {
  return {
    subscriptionId,
    resourceGroupName,
    vaultName,
    fabricName: 'Azure',
    containerName: `IaasVMContainer;iaasvmcontainerv2;rg-vms;${vm}`,
    protectedItemName: `VM;iaasvmcontainerv2;rg-vms;${vm}`,
    policyName: 'DefaultPolicy',
  };
}

/**
 * The SHA-256 of each disk a RestoreDisks job wrote (`lun0-….vhd` → `os`, `lunN-…` → `data<N-1>`), read from the
 * job's config container in `connectionString`'s account.
 */
export async function restoredDiskHashes(connectionString: string, job: Resource<JobProperties>): Promise<Map<string, string>> {
  const restored = blobService(connectionString).getContainerClient(job.properties.extendedInfo.propertyBag['Config Blob Container Name']);
  const disks = new Map<string, string>();
  for await (const blob of restored.listBlobsFlat()) {
    const lun = /\/lun(\d+)-[^/]+\.vhd$/.exec(blob.name)?.[1];
    if (lun !== undefined) disks.set(lun === '0' ? 'os' : `data${Number(lun) - 1}`, sha256(await restored.getPageBlobClient(blob.name).downloadToBuffer()));
  }
  return disks;
}

/**
 * `http()` for Kluis's API: every Microsoft.RecoveryServices response is checked against the specification
 * the official SDK packages carry (test/support/arm-spec.ts) — its status must be one the operation declares
 * and its body must match the declared model — and a response that does not conform fails the calling test
 * right there.
 * Other requests (the fabric, the host's admin API) pass through unchecked.
 */
export async function armHttp<T = unknown>(url: string, options: HttpOptions = {}): Promise<HttpResult<T>> {
  const response = await http<T>(url, options);
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  const { problems } = checkArmConformance(method, url, response.status, response.body, response.text);
  if (problems.length > 0) {
    throw new Error(`${method} ${url} → ${response.status} does not conform to the Microsoft.RecoveryServices specification:\n  ${problems.join('\n  ')}\nBody: ${response.text.slice(0, 2000)}`);
  }
  return response;
}

const FINISHED = (status: string) => !['InProgress', 'Cancelling'].includes(status);

/** The API of one host; `host` is a getter because suites start the host in beforeAll. */
export function vaultApi(host: () => HostProcess, options: VaultApiOptions) {
  const sub = options.subscriptionId;
  const rg = options.resourceGroup ?? 'rg-backup';
  const vmRg = options.vmResourceGroup ?? 'rg-vms';

  const withApiVersion = (url: string) => `${url}${url.includes('?') ? '&' : '?'}api-version=${API_VERSION}`;
  const vaultPath = (vault: string) => `subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.RecoveryServices/vaults/${vault}`;
  const vaultUrl = (vault: string) => `${host().origin}/api/${vaultPath(vault)}`;
  const container = (vm: string) => `IaasVMContainer;iaasvmcontainerv2;${vmRg};${vm}`;
  const item = (vm: string) => `VM;iaasvmcontainerv2;${vmRg};${vm}`;
  const itemUrl = (vault: string, vm: string) =>
    `${vaultUrl(vault)}/backupFabrics/Azure/protectionContainers/${encodeURIComponent(container(vm))}/protectedItems/${encodeURIComponent(item(vm))}`;
  const vmId = (vm: string) => `/subscriptions/${sub}/resourceGroups/${vmRg}/providers/Microsoft.Compute/virtualMachines/${vm}`;
  const policyId = (vault: string, policy = 'DefaultPolicy') => `/${vaultPath(vault)}/backupPolicies/${policy}`;
  const fabricUrl = (vm: string) => `${host().origin}/fabric/subscriptions/${sub}/resourceGroups/${vmRg}/virtualMachines/${vm}`;
  /** The fabric plays the VMs' world, not the journey's principal: it takes the host key. */
  const fabricKey = () => ({ 'x-functions-key': host().secrets.masterKey });

  /** An ARM call: `api-version` appended, JSON in and out. */
  const arm = <T>(url: string, request: { method?: string; body?: unknown } = {}): Promise<HttpResult<T>> => armHttp<T>(withApiVersion(url), request);

  async function until<T>(what: string, read: () => Promise<HttpResult<T>>, done: (body: T) => boolean, timeoutInMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutInMs;
    for (;;) {
      const response = await read();
      if (response.status === 200 && done(response.body)) return response.body;
      if (Date.now() > deadline) throw new Error(`${what}: still ${response.status} ${response.text}\n${host().outputTail()}`);
      await sleep(POLL_MS);
    }
  }

  /**
   * Follows a 202 until the operation ends and returns its status: through Azure-AsyncOperation when the 202
   * has one, else (container refresh, job cancel — as Azure answers them) through Location until it stops
   * answering 202.
   */
  async function settle(response: HttpResult<unknown>): Promise<OperationStatus> {
    if (response.status !== 202) throw new Error(`expected 202, got ${response.status}: ${response.text}`);
    const statusUrl = response.headers.get('azure-asyncoperation');
    const resultUrl = response.headers.get('location');
    if (resultUrl === null || response.headers.get('retry-after') === null) {
      throw new Error(`a 202 without Location and Retry-After: ${[...response.headers.entries()].join('; ')}`);
    }
    if (statusUrl !== null) {
      return until('operation', () => armHttp<OperationStatus>(withApiVersion(statusUrl)), (status) => status.status !== 'InProgress', 30_000);
    }
    for (const deadline = Date.now() + 30_000; ; ) {
      const result = await armHttp<ErrorEnvelope>(withApiVersion(resultUrl));
      if (result.status === 200 || result.status === 204) return { status: 'Succeeded' };
      if (result.status !== 202) return { status: 'Failed', error: result.body.error };
      if (Date.now() > deadline) throw new Error(`operation ${resultUrl}: still 202\n${host().outputTail()}`);
      await sleep(POLL_MS);
    }
  }

  async function job(vault: string, jobId: string): Promise<Resource<JobProperties>> {
    const response = await arm<Resource<JobProperties>>(`${vaultUrl(vault)}/backupJobs/${jobId}`);
    if (response.status !== 200) throw new Error(`job ${jobId}: ${response.status} ${response.text}`);
    return response.body;
  }

  function waitForJob(vault: string, jobId: string, timeoutInMs = 60_000): Promise<Resource<JobProperties>> {
    return until(`job ${jobId}`, () => arm<Resource<JobProperties>>(`${vaultUrl(vault)}/backupJobs/${jobId}`), (j) => FINISHED(j.properties.status), timeoutInMs);
  }

  /** 202 → the operation's job → that job, finished. */
  async function jobOf(vault: string, response: HttpResult<unknown>, timeoutInMs?: number): Promise<Resource<JobProperties>> {
    const operation = await settle(response);
    if (operation.status !== 'Succeeded' || operation.properties?.jobId === undefined) throw new Error(`operation ${JSON.stringify(operation)}`);
    return waitForJob(vault, operation.properties.jobId, timeoutInMs);
  }

  async function jobs(vault: string, filter?: string): Promise<Array<Resource<JobProperties>>> {
    const query = filter === undefined ? '' : `?$filter=${encodeURIComponent(filter)}`;
    const response = await arm<ArmList<Resource<JobProperties>>>(`${vaultUrl(vault)}/backupJobs${query}`);
    if (response.status !== 200) throw new Error(`jobs: ${response.status} ${response.text}`);
    return response.body.value;
  }

  /** The scheduled Backup job of one slot, once it exists and has finished. */
  function scheduledJob(vault: string, vm: string, slot: Date, timeoutInMs = 60_000): Promise<Resource<JobProperties>> {
    const isSlot = (j: Resource<JobProperties>) =>
      j.properties.entityFriendlyName === vm && !j.properties.isUserTriggered && j.properties.extendedInfo.propertyBag['Scheduled time'] === slot.toISOString();
    return until(
      `the scheduled backup of ${vm} at ${slot.toISOString()}`,
      () => arm<ArmList<Resource<JobProperties>>>(`${vaultUrl(vault)}/backupJobs?$filter=${encodeURIComponent("operation eq 'Backup'")}`),
      (list) => list.value.some((j) => isSlot(j) && FINISHED(j.properties.status)),
      timeoutInMs,
    ).then((list) => list.value.find(isSlot)!);
  }

  async function getItem(vault: string, vm: string): Promise<Resource<ItemProperties>> {
    const response = await arm<Resource<ItemProperties>>(itemUrl(vault, vm));
    if (response.status !== 200) throw new Error(`item ${vm}: ${response.status} ${response.text}`);
    return response.body;
  }

  /** The item's recovery points, oldest first. */
  async function recoveryPoints(vault: string, vm: string): Promise<Array<Resource<RecoveryPointProperties>>> {
    const response = await arm<ArmList<Resource<RecoveryPointProperties>>>(`${itemUrl(vault, vm)}/recoveryPoints`);
    if (response.status !== 200) throw new Error(`recovery points of ${vm}: ${response.status} ${response.text}`);
    return [...response.body.value].sort((a, b) => Date.parse(a.properties.recoveryPointTime) - Date.parse(b.properties.recoveryPointTime));
  }

  async function downloadBlob(blobUrl: string): Promise<Buffer> {
    const [container, ...blob] = new URL(blobUrl).pathname.split('/').slice(2);
    return blobService(options.storage()).getContainerClient(container).getPageBlobClient(decodeURIComponent(blob.join('/'))).downloadToBuffer();
  }

  return {
    vaultPath,
    vaultUrl,
    container,
    item,
    itemUrl,
    vmId,
    policyId,
    arm,
    settle,
    job,
    jobOf,
    jobs,
    waitForJob,
    scheduledJob,
    getItem,
    recoveryPoints,
    until,
    downloadBlob,

    /** The vaults' resource group (or another), as ARM needs it before a vault is made in it. */
    createResourceGroup: (name = rg, location = 'westeurope') => createResourceGroups(host(), sub, [name], location),

    createVault: (vault: string, location = 'westeurope') => arm(vaultUrl(vault), { method: 'PUT', body: { location, properties: {} } }),

    putPolicy: <T = unknown>(vault: string, name: string, properties: Record<string, unknown>) =>
      arm<T>(`${vaultUrl(vault)}/backupPolicies/${name}`, { method: 'PUT', body: { properties } }),

    /** A fabric VM with real VHD page blobs (defaults: 8 MiB OS disk, 10 % written). */
    async createVm(vm: string, body: Record<string, unknown>): Promise<FabricVm> {
      const created = await http<FabricVm>(fabricUrl(vm), {
        method: 'PUT',
        headers: fabricKey(),
        body: { osDisk: { sizeBytes: 8 * MIB }, initialData: { percent: 10, seed: vm }, ...body },
      });
      if (created.status !== 201) throw new Error(`fabric VM ${vm}: ${created.status} ${created.text}`);
      return created.body;
    },

    /** POST …/virtualMachines/{vm}/{action} (writeData, clearData, start, stop, faults, …). */
    async fabric<T = unknown>(vm: string, action: string, body: unknown = {}): Promise<T> {
      const response = await http<T>(`${fabricUrl(vm)}/${action}`, { method: 'POST', body, headers: fabricKey() });
      if (response.status !== 200) throw new Error(`fabric ${action} of ${vm}: ${response.status} ${response.text}`);
      return response.body;
    },

    /** The bytes of every disk of a fabric VM now, by 'os' / 'data<lun>'. */
    async diskBytes(vm: string): Promise<Map<string, Buffer>> {
      const found = await http<FabricVm>(fabricUrl(vm), { headers: fabricKey() });
      if (found.status !== 200) throw new Error(`fabric VM ${vm}: ${found.status} ${found.text}`);
      const bytes = new Map<string, Buffer>();
      for (const disk of found.body.disks) bytes.set(disk.kind === 'os' ? 'os' : `data${disk.lun}`, await downloadBlob(disk.vhdUri));
      return bytes;
    },

    enable: (vault: string, vm: string, policy = 'DefaultPolicy', extra: Record<string, unknown> = {}) =>
      arm<ErrorEnvelope>(itemUrl(vault, vm), {
        method: 'PUT',
        body: { properties: { protectedItemType: 'Microsoft.Compute/virtualMachines', sourceResourceId: vmId(vm), policyId: policyId(vault, policy), ...extra } },
      }),

    backupNow: (vault: string, vm: string, properties: Record<string, unknown> = {}) =>
      arm<ErrorEnvelope>(`${itemUrl(vault, vm)}/backup`, { method: 'POST', body: { properties: { objectType: 'IaasVMBackupRequest', ...properties } } }),

    /** The host's fake clock: `{ms}` or `{to}`; returns the new time. */
    async advanceClock(by: { ms: number } | { to: string }): Promise<Date> {
      const response = await http<{ now: string }>(`${host().origin}/admin/clock/advance`, {
        method: 'POST',
        body: by,
        headers: { 'x-functions-key': host().secrets.masterKey },
      });
      if (response.status !== 200) throw new Error(`clock advance: ${response.status} ${response.text}`);
      return new Date(response.body.now);
    },

    /** Waits until a Durable instance (e.g. `retention-2026031403`) exists and has finished; returns its runtime status. */
    async orchestrationDone(instanceId: string, timeoutInMs = 60_000): Promise<string> {
      const url = `${host().origin}/runtime/webhooks/durabletask/instances/${encodeURIComponent(instanceId)}?code=${encodeURIComponent(host().secrets.masterKey)}`;
      const status = await until(
        `orchestration ${instanceId}`,
        () => http<{ runtimeStatus: string }>(url),
        (body) => ['Completed', 'Failed', 'Terminated'].includes(body.runtimeStatus),
        timeoutInMs,
      );
      return status.runtimeStatus;
    },

    /** Waits until no Durable instance whose id starts with `prefix` is Pending or Running. */
    async orchestrationsIdle(prefix: string, timeoutInMs = 60_000): Promise<void> {
      const url = `${host().origin}/runtime/webhooks/durabletask/instances?instanceIdPrefix=${encodeURIComponent(prefix)}&runtimeStatus=Pending,Running&code=${encodeURIComponent(host().secrets.masterKey)}`;
      await until(`the ${prefix}* orchestrations`, () => http<unknown[]>(url), (running) => Array.isArray(running) && running.length === 0, timeoutInMs);
    },

    async clockNow(): Promise<Date> {
      const response = await http<{ now: string }>(`${host().origin}/admin/clock`, { headers: { 'x-functions-key': host().secrets.masterKey } });
      if (response.status !== 200) throw new Error(`clock: ${response.status} ${response.text}`);
      return new Date(response.body.now);
    },
  };
}

export type VaultApi = ReturnType<typeof vaultApi>;

/** A Standard (V1) daily policy at `time` (HH:MM, local to `timeZone`) keeping daily points `days` days. */
export function dailyPolicy(time: string, timeZone: string, days: number, instantRpDays = 2): Record<string, unknown> {
  const runTime = `2026-01-01T${time}:00Z`;
  return {
    backupManagementType: 'AzureIaasVM',
    policyType: 'V1',
    instantRpRetentionRangeInDays: instantRpDays,
    timeZone,
    schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: [runTime] },
    retentionPolicy: { retentionPolicyType: 'LongTermRetentionPolicy', dailySchedule: { retentionTimes: [runTime], retentionDuration: { count: days, durationType: 'Days' } } },
  };
}

/** Settings that give a host its own tables and containers in a shared Azurite. */
export function isolatedAppSettings(stamp: string): Record<string, string> {
  return {
    KLUIS_SOURCE_STORAGE: '',
    KLUIS_VAULT_STORAGE: '',
    KLUIS_RESTORE_STORAGE: '',
    KLUIS_VAULT_CONTAINER: `vault-${stamp}`,
    KLUIS_CATALOG_TABLE: `Points${stamp}`,
    KLUIS_CATALOG_TABLE_PREFIX: `K${stamp}`,
    KLUIS_INVENTORY_TABLE: `Vms${stamp}`,
  };
}
