/**
 * The few calls the vault benchmark makes to a running host, over HTTP as a user would: the local VM
 * fabric (create VMs with data on their disks), the ARM-shaped vault API (vault, policy, discovery,
 * protection, backup now, jobs) and the fake clock (/admin/clock, with the master key).
 */

export const API_VERSION = '2023-06-01';
const OPERATION_POLL_IN_MS = 100;
const OPERATION_TIMEOUT_IN_MS = 120_000;

export interface VmSpec {
  resourceGroup: string;
  name: string;
  osType: 'Windows' | 'Linux';
  location: string;
  /** One OS disk and `dataDisks` data disks (LUN 0…), each of `diskBytes`. */
  dataDisks: number;
  diskBytes: number;
  /** Share of each disk the fabric writes at creation, in random 64 KiB blocks (0: only the OS disk's boot area). */
  dataPercent: number;
}

export interface DailyPolicySpec {
  name: string;
  /** Time of day, "HH:MM" (on a half hour, as Azure requires). */
  runTime: string;
  timeZone: string;
  retentionDays: number;
  instantRestoreDays: number;
}

export interface ArmJob {
  name: string;
  properties: {
    operation: string;
    status: string;
    entityFriendlyName: string;
    startTime: string;
    endTime?: string;
    duration: string;
    isUserTriggered: boolean;
    errorDetails?: Array<{ errorCode: number; errorTitle: string; errorString: string }>;
    extendedInfo: {
      tasksList: Array<{ taskId: string; status: string; progressPercentage: number }>;
      progressPercentage: number;
      propertyBag: Record<string, string>;
    };
  };
}

export interface ArmProtectedItem {
  name: string;
  properties: {
    friendlyName: string;
    protectionState: string;
    lastBackupStatus?: string;
    extendedInfo: { recoveryPointCount: number };
  };
}

/** One event of an orchestration's history as the Durable HTTP API shows it (`showHistory=true`). */
export interface HistoryEvent {
  EventType: string;
  Timestamp: string;
  FunctionName?: string;
  ScheduledTime?: string;
}

export const FINISHED_JOB_STATUSES = ['Completed', 'CompletedWithWarnings', 'Failed', 'Cancelled'];

/** The job's 'Backup Size' property ("<n> bytes"), or undefined while it has none. */
export function backupSizeOf(job: ArmJob): number | undefined {
  const text = job.properties.extendedInfo.propertyBag['Backup Size'];
  const match = text === undefined ? null : /^(\d+) bytes$/.exec(text);
  return match ? Number(match[1]) : undefined;
}

export class VaultApi {
  constructor(
    private readonly origin: string,
    private readonly masterKey: string,
    private readonly subscriptionId: string,
    /** Tokens for Kluis's API (the host's identity endpoint, see startBenchHost's signIn). */
    private readonly accessToken: () => Promise<string>,
  ) {}

  vaultPath(resourceGroup: string, vault: string): string {
    return `/subscriptions/${this.subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.RecoveryServices/vaults/${vault}`;
  }

  /** Creates the VM in the fabric; returns its disks' blob URLs, OS disk first. */
  async createVm(spec: VmSpec): Promise<string[]> {
    const vm = (await this.call('PUT', `/fabric/subscriptions/${this.subscriptionId}/resourceGroups/${spec.resourceGroup}/virtualMachines/${spec.name}`, {
      osType: spec.osType,
      location: spec.location,
      osDisk: { sizeBytes: spec.diskBytes },
      dataDisks: Array.from({ length: spec.dataDisks }, (_, lun) => ({ lun, sizeBytes: spec.diskBytes })),
      initialData: { percent: spec.dataPercent, seed: spec.name },
    })) as { disks: Array<{ vhdUri: string }> };
    return vm.disks.map((disk) => disk.vhdUri);
  }

  /** A resource group of the subscription (as `az group create`); the vault's and the VMs' groups must exist. */
  async createResourceGroup(name: string, location: string): Promise<void> {
    await this.call('PUT', `/subscriptions/${this.subscriptionId}/resourcegroups/${encodeURIComponent(name)}?api-version=2022-09-01`, { location });
  }

  async createVault(resourceGroup: string, vault: string, location: string): Promise<void> {
    await this.call('PUT', this.arm(this.vaultPath(resourceGroup, vault)), { location });
  }

  async createDailyPolicy(resourceGroup: string, vault: string, policy: DailyPolicySpec): Promise<void> {
    const runTime = `2026-01-01T${policy.runTime}:00Z`;
    await this.call('PUT', this.arm(`${this.vaultPath(resourceGroup, vault)}/backupPolicies/${policy.name}`), {
      properties: {
        backupManagementType: 'AzureIaasVM',
        timeZone: policy.timeZone,
        instantRpRetentionRangeInDays: policy.instantRestoreDays,
        schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: [runTime] },
        retentionPolicy: {
          retentionPolicyType: 'LongTermRetentionPolicy',
          dailySchedule: { retentionTimes: [runTime], retentionDuration: { count: policy.retentionDays, durationType: 'Days' } },
        },
      },
    });
  }

  /** PUT a backup policy with the given properties (any shape the API takes). */
  async putPolicy(resourceGroup: string, vault: string, name: string, properties: Record<string, unknown>): Promise<void> {
    await this.call('PUT', this.arm(`${this.vaultPath(resourceGroup, vault)}/backupPolicies/${name}`), { properties });
  }

  /** Discovery (refreshContainers), followed to its end. */
  async refreshContainers(resourceGroup: string, vault: string): Promise<void> {
    await this.settle(await this.request('POST', this.arm(`${this.vaultPath(resourceGroup, vault)}/backupFabrics/Azure/refreshContainers`)));
  }

  /** Enables protection of a VM with a policy and waits for the ConfigureBackup operation to succeed. */
  async protect(resourceGroup: string, vault: string, vm: Pick<VmSpec, 'resourceGroup' | 'name'>, policy: string): Promise<void> {
    const response = await this.request('PUT', this.arm(this.itemPath(resourceGroup, vault, vm)), {
      properties: {
        protectedItemType: 'Microsoft.Compute/virtualMachines',
        sourceResourceId: `/subscriptions/${this.subscriptionId}/resourceGroups/${vm.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${vm.name}`,
        policyId: `${this.vaultPath(resourceGroup, vault)}/backupPolicies/${policy}`,
      },
    });
    await this.settle(response);
  }

  /** Backup now; returns the Backup job's id. */
  async backupNow(resourceGroup: string, vault: string, vm: Pick<VmSpec, 'resourceGroup' | 'name'>): Promise<string> {
    const response = await this.request('POST', this.arm(`${this.itemPath(resourceGroup, vault, vm)}/backup`), { properties: { objectType: 'IaasVMBackupRequest' } });
    const status = await this.settle(response);
    const jobId = status.properties?.jobId;
    if (jobId === undefined) throw new Error(`Backup of ${vm.name} was accepted without a job id: ${JSON.stringify(status)}`);
    return jobId;
  }

  /** A fabric action on a VM (writeData, clearData, …), as `POST /fabric/…/virtualMachines/{vm}/{action}`. */
  async fabric(vm: Pick<VmSpec, 'resourceGroup' | 'name'>, action: string, body: unknown = {}): Promise<unknown> {
    return this.call('POST', `/fabric/subscriptions/${this.subscriptionId}/resourceGroups/${vm.resourceGroup}/virtualMachines/${vm.name}/${action}?code=${encodeURIComponent(this.masterKey)}`, body);
  }

  /** Restores a point's disks into a storage account (RestoreDisks); returns the Restore job's id. */
  async restoreDisks(resourceGroup: string, vault: string, vm: Pick<VmSpec, 'resourceGroup' | 'name'>, recoveryPointId: string, storageAccountId: string): Promise<string> {
    const response = await this.request('POST', this.arm(`${this.itemPath(resourceGroup, vault, vm)}/recoveryPoints/${recoveryPointId}/restore`), {
      properties: {
        objectType: 'IaasVMRestoreRequest',
        recoveryPointId,
        recoveryType: 'RestoreDisks',
        sourceResourceId: `/subscriptions/${this.subscriptionId}/resourceGroups/${vm.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${vm.name}`,
        region: 'westeurope',
        storageAccountId,
      },
    });
    const status = await this.settle(response);
    const jobId = status.properties?.jobId;
    if (jobId === undefined) throw new Error(`Restore of ${vm.name} was accepted without a job id: ${JSON.stringify(status)}`);
    return jobId;
  }

  /** `POST {vault}/check` (Kluis's vault check): the report. */
  async checkVault(resourceGroup: string, vault: string, properties: { readData?: boolean } = {}): Promise<{ healthy: boolean; recoveryPoints: number; bytesVerified: number; problems: unknown[] }> {
    return (await this.call('POST', this.arm(`${this.vaultPath(resourceGroup, vault)}/check`), { properties })) as { healthy: boolean; recoveryPoints: number; bytesVerified: number; problems: unknown[] };
  }

  async job(resourceGroup: string, vault: string, jobId: string): Promise<ArmJob> {
    return (await this.call('GET', this.arm(`${this.vaultPath(resourceGroup, vault)}/backupJobs/${jobId}`))) as ArmJob;
  }

  async jobs(resourceGroup: string, vault: string, filter?: string): Promise<ArmJob[]> {
    const query = filter === undefined ? '' : `&$filter=${encodeURIComponent(filter)}`;
    return ((await this.call('GET', `${this.arm(`${this.vaultPath(resourceGroup, vault)}/backupJobs`)}${query}`)) as { value: ArmJob[] }).value;
  }

  async protectedItems(resourceGroup: string, vault: string): Promise<ArmProtectedItem[]> {
    return ((await this.call('GET', this.arm(`${this.vaultPath(resourceGroup, vault)}/backupProtectedItems`))) as { value: ArmProtectedItem[] }).value;
  }

  /** Moves the host's fake clock forward to `to` (firing every timer due on the way); returns the new time. */
  async advanceClockTo(to: Date): Promise<Date> {
    const body = (await this.call('POST', `/admin/clock/advance?code=${encodeURIComponent(this.masterKey)}`, { to: to.toISOString() })) as { now: string };
    return new Date(body.now);
  }

  /** An orchestration instance's history (a Backup job's id is its orchestration's instance id). */
  async orchestrationHistory(instanceId: string): Promise<HistoryEvent[]> {
    const url = `/runtime/webhooks/durabletask/instances/${encodeURIComponent(instanceId)}?showHistory=true&code=${encodeURIComponent(this.masterKey)}`;
    const response = await this.request('GET', url);
    const body = (await response.json()) as { historyEvents?: HistoryEvent[] };
    if (!body.historyEvents) throw new Error(`No history for instance ${instanceId} (${response.status})`);
    return body.historyEvents;
  }

  async clockNow(): Promise<Date> {
    const body = (await this.call('GET', `/admin/clock?code=${encodeURIComponent(this.masterKey)}`)) as { now: string };
    return new Date(body.now);
  }

  private itemPath(resourceGroup: string, vault: string, vm: Pick<VmSpec, 'resourceGroup' | 'name'>): string {
    const container = encodeURIComponent(`IaasVMContainer;iaasvmcontainerv2;${vm.resourceGroup};${vm.name}`);
    const item = encodeURIComponent(`VM;iaasvmcontainerv2;${vm.resourceGroup};${vm.name}`);
    return `${this.vaultPath(resourceGroup, vault)}/backupFabrics/Azure/protectionContainers/${container}/protectedItems/${item}`;
  }

  private arm(resourcePath: string): string {
    return `${resourcePath}?api-version=${API_VERSION}`;
  }

  /** Follows a 202's Azure-AsyncOperation (or, without one, its Location) until it ends; throws unless it succeeded. */
  private async settle(response: Response): Promise<{ status: string; properties?: { jobId?: string } }> {
    if (response.status !== 202) throw new Error(`Expected 202, got ${response.status}: ${await response.text()}`);
    const statusUrl = response.headers.get('azure-asyncoperation');
    if (!statusUrl) return this.settleLocation(response.headers.get('location'));
    for (const deadline = Date.now() + OPERATION_TIMEOUT_IN_MS; ; ) {
      const status = (await (await fetch(statusUrl, { headers: { authorization: `Bearer ${await this.accessToken()}` } })).json()) as { status: string; properties?: { jobId?: string }; error?: unknown };
      if (status.status === 'Succeeded') return status;
      if (status.status !== 'InProgress') throw new Error(`Operation ${statusUrl} ended ${status.status}: ${JSON.stringify(status.error)}`);
      if (Date.now() > deadline) throw new Error(`Operation ${statusUrl} still in progress after ${OPERATION_TIMEOUT_IN_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, OPERATION_POLL_IN_MS));
    }
  }

  private async settleLocation(resultUrl: string | null): Promise<{ status: string }> {
    if (!resultUrl) throw new Error('A 202 without Azure-AsyncOperation or Location');
    for (const deadline = Date.now() + OPERATION_TIMEOUT_IN_MS; ; ) {
      const result = await fetch(resultUrl, { headers: { authorization: `Bearer ${await this.accessToken()}` } });
      if (result.status === 200 || result.status === 204) return { status: 'Succeeded' };
      if (result.status !== 202) throw new Error(`Operation ${resultUrl} ended ${result.status}: ${await result.text()}`);
      if (Date.now() > deadline) throw new Error(`Operation ${resultUrl} still in progress after ${OPERATION_TIMEOUT_IN_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, OPERATION_POLL_IN_MS));
    }
  }

  private async request(method: string, pathAndQuery: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.accessToken()}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(`${this.origin}${pathAndQuery}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  /** A request that must succeed (2xx); returns its JSON body (undefined when empty). */
  private async call(method: string, pathAndQuery: string, body?: unknown): Promise<unknown> {
    const response = await this.request(method, pathAndQuery, body);
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${pathAndQuery.replace(/code=[^&]+/, 'code=…')} → ${response.status}: ${text.slice(0, 2000)}`);
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  }
}
