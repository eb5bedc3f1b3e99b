/**
 * On-demand and scheduled backup requests and the run's reports on in-memory stores: the Backup job
 * (tasks, progress, isUserTriggered), the operation naming it, the run's input; every refusal
 * (not protected, stopped, soft-deleted, running, 3-a-day, retain-until) leaves the catalog as it
 * was; prepare/snapshot/progress/finish update job and item and release the claim; cancel only while
 * snapshotting; jobs listed with $filter.
 */
import type { SubscriptionState } from '../../lib/domain/tenancy';
import { containerName, itemName } from '../../lib/domain/arm-names';
import { TaskIds } from '../../lib/domain/arm/job-resource';
import type { VaultRecord } from '../../lib/domain/catalog';
import { vmResourceId, type VirtualMachine } from '../../lib/domain/virtual-machine';
import {
  finishBackupRun,
  MAX_RECOVERY_POINTS_PER_ITEM,
  prepareBackupRun,
  recordSnapshotTaken,
  recordTransferProgress,
  triggerBackup,
  type BackupRequestDeps,
  type VaultBackupRun,
} from '../../lib/services/backup-requests';
import { getJob, listJobs, parseJobFilter, requestJobCancel } from '../../lib/services/jobs';
import { getOperation } from '../../lib/services/operations';
import { createOrUpdatePolicy } from '../../lib/services/policies';
import { getProtectedItem, putProtectedItem, type ItemNames } from '../../lib/services/protection';
import { createOrUpdateVault, getVault } from '../../lib/services/vaults';
import { MemoryVmInventory } from '../../lib/stores/memory/vm-inventory';
import { memoryVaultCatalog } from '../../lib/stores/vault-catalog';
import { catalogSnapshot, rejection, SUBSCRIPTION, vaultRef } from '../support/vault-fixtures';

const START = new Date('2026-11-01T08:00:00.000Z');
const DAY = 86_400_000;
const names: ItemNames = { containerName: containerName('rg-vms', 'web1'), itemName: itemName('rg-vms', 'web1') };

function vm(overrides: Partial<VirtualMachine> = {}): VirtualMachine {
  const uri = (blob: string) => `http://127.0.0.1:10000/devstoreaccount1/vhds-web1/${blob}`;
  return {
    id: vmResourceId(SUBSCRIPTION, 'rg-vms', 'web1'),
    subscriptionId: SUBSCRIPTION,
    resourceGroup: 'rg-vms',
    name: 'web1',
    location: 'westeurope',
    vmSize: 'Standard_D2s_v3',
    osType: 'Windows',
    powerState: 'running',
    provisioningState: 'Succeeded',
    agent: { status: 'Ready' },
    disks: [
      { kind: 'data', lun: 1, name: 'web1-data1', vhdUri: uri('data1.vhd'), storageType: 'Premium', sizeBytes: 1024 ** 3 },
      { kind: 'os', name: 'web1-os', vhdUri: uri('os.vhd'), storageType: 'Standard', sizeBytes: 1024 ** 3 },
      { kind: 'data', lun: 0, name: 'web1-data0', vhdUri: uri('data0.vhd'), storageType: 'Standard', sizeBytes: 1024 ** 3 },
    ],
    createdAt: START.toISOString(),
    ...overrides,
  };
}

interface World {
  deps: BackupRequestDeps;
  inventory: MemoryVmInventory;
  now: { value: Date };
  vault: () => Promise<VaultRecord>;
  runs: Array<{ instanceId: string; run: VaultBackupRun }>;
  start: (instanceId: string, run: VaultBackupRun) => Promise<void>;
}

async function world(options: { exclusion?: { diskLunList: number[]; isInclusionList: boolean }; policy?: 'DefaultPolicy' | 'Hourly' } = {}): Promise<World> {
  const catalog = memoryVaultCatalog();
  const inventory = new MemoryVmInventory();
  const now = { value: START };
  let ids = 0;
  const deps: BackupRequestDeps = {
    catalog,
    inventory,
    clock: () => now.value,
    newId: () => `id-${++ids}`,
    locateDisk: (uri) => {
      const match = /^http:\/\/127\.0\.0\.1:10000\/devstoreaccount1\/([^/]+)\/(.+)$/.exec(uri);
      return match === null ? undefined : { container: match[1], blob: match[2] };
    },
  };
  await createOrUpdateVault(deps, vaultRef(), { location: 'westeurope' });
  await createOrUpdatePolicy(deps, vaultRef(), 'Hourly', {
    backupManagementType: 'AzureIaasVM',
    policyType: 'V2',
    timeZone: 'UTC',
    schedulePolicy: {
      schedulePolicyType: 'SimpleSchedulePolicyV2',
      scheduleRunFrequency: 'Hourly',
      hourlySchedule: { interval: 4, scheduleWindowStartTime: '2026-01-01T08:00:00Z', scheduleWindowDuration: 16 },
    },
    retentionPolicy: { retentionPolicyType: 'LongTermRetentionPolicy', dailySchedule: { retentionTimes: ['2026-01-01T08:00:00Z'], retentionDuration: { count: 30, durationType: 'Days' } } },
  });
  await inventory.create(vm());
  const vault = async () => (await getVault(deps, vaultRef())).value;
  await putProtectedItem({ ...deps, inventory }, await vault(), names, {
    sourceResourceId: vm().id,
    policyId: options.policy ?? 'DefaultPolicy',
    ...(options.exclusion === undefined ? {} : { extendedProperties: { diskExclusionProperties: options.exclusion } }),
  });
  const runs: World['runs'] = [];
  return {
    deps,
    inventory,
    now,
    vault,
    runs,
    start: async (instanceId, run) => {
      runs.push({ instanceId, run });
    },
  };
}

describe('backup now', () => {
  it('claims the item, creates a user-triggered Backup job and a succeeded operation, and starts the run under the job id', async () => {
    const w = await world();
    const vault = await w.vault();
    const started = await triggerBackup(w.deps, vault, names, {}, w.start);
    const retainUntil = new Date(START.getTime() + 30 * DAY).toISOString();
    expect(started.retainUntil).toBe(retainUntil);
    expect(started.job).toMatchObject({
      operation: 'Backup',
      status: 'InProgress',
      isUserTriggered: true,
      entityFriendlyName: 'web1',
      tasks: [
        { taskId: 'Take Snapshot', status: 'NotStarted' },
        { taskId: 'Transfer data to vault', status: 'NotStarted' },
      ],
      propertyBag: { 'Recovery point expiry time in UTC': retainUntil },
    });
    expect(await getOperation(w.deps, vault, started.operation.operationId)).toMatchObject({ status: 'Succeeded', jobId: started.job.jobId });
    const item = await getProtectedItem(w.deps, vault, names);
    expect(w.runs).toEqual([
      {
        instanceId: started.job.jobId,
        run: {
          itemId: item.engineItemId,
          instantRestoreDays: 2,
          maxInstantPoints: 18,
          vault: { vault: { id: vault.id, subscriptionId: vault.subscriptionId, resourceGroup: vault.resourceGroup, name: vault.name }, itemName: item.itemName, isOnDemand: true, retainUntil },
        },
      },
    ]);
    expect(item.activeBackup?.jobId).toBe(started.job.jobId);
    expect(item.onDemandBackups).toEqual([START.toISOString()]);
  });

  it('takes the retain-until of the request', async () => {
    const w = await world();
    const started = await triggerBackup(w.deps, await w.vault(), names, { recoveryPointExpiryTimeInUTC: '2027-01-31T00:00:00Z' }, w.start);
    expect(started.retainUntil).toBe('2027-01-31T00:00:00.000Z');
    expect(w.runs[0].run.vault.retainUntil).toBe('2027-01-31T00:00:00.000Z');
  });

  it('refuses a second backup while one runs, naming it, and changes nothing', async () => {
    const w = await world();
    const first = await triggerBackup(w.deps, await w.vault(), names, {}, w.start);
    const before = await catalogSnapshot(w.deps.catalog);
    const error = await rejection(triggerBackup(w.deps, await w.vault(), names, {}, w.start));
    expect(error).toMatchObject({ code: 'UserErrorBackupOperationInProgress', status: 409, message: expect.stringContaining(first.job.jobId) });
    expect(await catalogSnapshot(w.deps.catalog)).toEqual(before);
    expect(w.runs).toHaveLength(1);
  });

  it("refuses a backup in a Disabled or Deleted subscription with ARM's ReadOnlyDisabledSubscription, changing nothing; Warned and PastDue back up", async () => {
    const w = await world();
    const state = { value: 'Disabled' as SubscriptionState };
    const deps: BackupRequestDeps = { ...w.deps, subscriptionState: async () => state.value };
    const before = await catalogSnapshot(w.deps.catalog);
    for (const refused of ['Disabled', 'Deleted'] as const) {
      state.value = refused;
      const error = await rejection(triggerBackup(deps, await w.vault(), names, {}, w.start));
      expect(error).toMatchObject({ code: 'ReadOnlyDisabledSubscription', status: 409, message: expect.stringContaining('is disabled and therefore marked as read only') });
    }
    expect(await catalogSnapshot(w.deps.catalog)).toEqual(before);
    expect(w.runs).toHaveLength(0);
    state.value = 'PastDue';
    await triggerBackup(deps, await w.vault(), names, {}, w.start);
    expect(w.runs).toHaveLength(1);
  });

  it('allows 3 on-demand backups a day on a Standard policy, the 4th the next day', async () => {
    const w = await world();
    const vault = await w.vault();
    for (let i = 0; i < 3; i++) {
      w.now.value = new Date(START.getTime() + i * 3_600_000);
      const started = await triggerBackup(w.deps, vault, names, {}, w.start);
      await finishBackupRun(w.deps, started.ref, { outcome: 'Completed', recoveryPointId: String(w.now.value.getTime()), warnings: [] });
    }
    const before = await catalogSnapshot(w.deps.catalog);
    expect((await rejection(triggerBackup(w.deps, vault, names, {}, w.start))).code).toBe('UserErrorOnDemandBackupLimitReached');
    expect(await catalogSnapshot(w.deps.catalog)).toEqual(before);
    w.now.value = new Date(START.getTime() + DAY);
    await triggerBackup(w.deps, vault, names, {}, w.start);
    expect((await getProtectedItem(w.deps, vault, names)).onDemandBackups).toHaveLength(4);
  });

  it('has no daily limit on an Enhanced policy', async () => {
    const w = await world({ policy: 'Hourly' });
    for (let i = 0; i < 4; i++) {
      const started = await triggerBackup(w.deps, await w.vault(), names, {}, w.start);
      await finishBackupRun(w.deps, started.ref, { outcome: 'Failed', error: { code: 'UserErrorVmNotFoundV2', message: 'gone' }, warnings: [] });
    }
    expect(w.runs).toHaveLength(4);
  });

  it.each([
    ['an unknown item', async (_w: World) => ({ containerName: containerName('rg-vms', 'nope'), itemName: itemName('rg-vms', 'nope') }), 'UserErrorBcmDatasourceNotPresent'],
    [
      'a stopped item',
      async (w: World) => {
        await putProtectedItem({ ...w.deps, inventory: w.inventory }, await w.vault(), names, { protectionState: 'ProtectionStopped' });
        return names;
      },
      'UserErrorItemProtectionStopped',
    ],
    [
      'a soft-deleted item',
      async (w: World) => {
        const { deleteProtectedItem } = await import('../../lib/services/soft-delete');
        await deleteProtectedItem({ ...w.deps, inventory: w.inventory }, await w.vault(), names);
        return names;
      },
      'UserErrorItemSoftDeleted',
    ],
  ])('refuses %s', async (_name, setup, code) => {
    const w = await world();
    const target = await setup(w);
    const before = await catalogSnapshot(w.deps.catalog);
    expect((await rejection(triggerBackup(w.deps, await w.vault(), target, {}, w.start))).code).toBe(code);
    expect(await catalogSnapshot(w.deps.catalog)).toEqual(before);
  });

  it('refuses a retain-until in the past, naming the field', async () => {
    const w = await world();
    const before = await catalogSnapshot(w.deps.catalog);
    const error = await rejection(triggerBackup(w.deps, await w.vault(), names, { recoveryPointExpiryTimeInUTC: '2020-01-01T00:00:00Z' }, w.start));
    expect(error).toMatchObject({ code: 'KluisInvalidRequest', target: 'properties.recoveryPointExpiryTimeInUTC' });
    expect(await catalogSnapshot(w.deps.catalog)).toEqual(before);
  });

  it('fails the job and releases the item when the run cannot be started', async () => {
    const w = await world();
    const vault = await w.vault();
    await expect(
      triggerBackup(w.deps, vault, names, {}, async () => {
        throw new Error('durable task hub unavailable');
      }),
    ).rejects.toThrow('durable task hub unavailable');
    const [job] = await listJobs(w.deps, vault, { operation: 'Backup' });
    expect(job).toMatchObject({ status: 'Failed', errorDetails: [{ errorCode: 'BackUpOperationFailed' }] });
    expect((await getProtectedItem(w.deps, vault, names)).activeBackup).toBeUndefined();
  });
});

describe('the run', () => {
  it('prepare: the disks in slot order with exclusion applied, located in the source account; Take Snapshot starts', async () => {
    const w = await world({ exclusion: { diskLunList: [1], isInclusionList: false } });
    const started = await triggerBackup(w.deps, await w.vault(), names, {}, w.start);
    const prepared = await prepareBackupRun(w.deps, started.ref);
    expect(prepared.disks).toEqual([
      { lun: 0, container: 'vhds-web1', blob: 'os.vhd', storageType: 'Standard', name: 'web1-os' },
      { lun: 1, container: 'vhds-web1', blob: 'data0.vhd', storageType: 'Standard', name: 'web1-data0' },
    ]);
    expect(prepared.consistency).toBe('ApplicationConsistent');
    expect(prepared.vmConfig).toMatchObject({ vmSize: 'Standard_D2s_v3', osType: 'Windows', disks: expect.arrayContaining([{ slot: 2, kind: 'data', lun: 1, name: 'web1-data1', storageType: 'Premium', sizeBytes: 1024 ** 3 }]) });
    const job = await getJob(w.deps, await w.vault(), started.job.jobId);
    expect(job.tasks[0]).toMatchObject({ taskId: TaskIds.TakeSnapshot, status: 'InProgress', startTime: START.toISOString() });
  });

  it('prepare fails with the VM’s error: gone, or running without a ready agent', async () => {
    const w = await world();
    const started = await triggerBackup(w.deps, await w.vault(), names, {}, w.start);
    const current = await w.inventory.get({ subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-vms', name: 'web1' });
    await w.inventory.update({ ...vm(), agent: { status: 'NotReady' } }, { ifMatch: current!.etag });
    expect((await rejection(prepareBackupRun(w.deps, started.ref))).code).toBe('UserErrorGuestAgentStatusUnavailable');
    await w.inventory.delete({ subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-vms', name: 'web1' });
    expect((await rejection(prepareBackupRun(w.deps, started.ref))).code).toBe('UserErrorVmNotFoundV2');
  });

  it('prepare refuses a backup once the item keeps 9,999 recovery points', async () => {
    const w = await world();
    const started = await triggerBackup(w.deps, await w.vault(), names, {}, w.start);
    const item = await getProtectedItem(w.deps, await w.vault(), names);
    const point = (id: number) => ({
      itemId: item.engineItemId,
      recoveryPointId: String(id),
      createdAt: new Date(id).toISOString(),
      consistency: 'CrashConsistent' as const,
      vaultContainer: 'v',
      manifestBlobName: 'm',
      diskCount: 1,
      state: 'Committed',
    });
    for (let id = 1; id < MAX_RECOVERY_POINTS_PER_ITEM; id++) await w.deps.catalog.recoveryPoints.put(point(id));
    await expect(prepareBackupRun(w.deps, started.ref)).resolves.toBeDefined();
    await w.deps.catalog.recoveryPoints.put(point(MAX_RECOVERY_POINTS_PER_ITEM));
    const refused = await rejection(prepareBackupRun(w.deps, started.ref));
    expect(refused.code).toBe('UserErrorRpCollectionLimitReached');
  });

  it('snapshot → transfer progress → completed: job 100%, item Protected with its last backup, claim released', async () => {
    const w = await world();
    const vault = await w.vault();
    const started = await triggerBackup(w.deps, vault, names, {}, w.start);
    await prepareBackupRun(w.deps, started.ref);
    w.now.value = new Date(START.getTime() + 5_000);
    expect(await recordSnapshotTaken(w.deps, started.ref)).toEqual({ cancelled: false });
    expect((await rejection(requestJobCancel(w.deps, vault, started.job.jobId))).code).toBe('UserErrorJobNotCancellable');
    const halfway = await recordTransferProgress(w.deps, started.ref, { disksDone: 1, disksTotal: 2 });
    expect(halfway.tasks.map((task) => [task.status, task.progressPercentage])).toEqual([
      ['Completed', 100],
      ['InProgress', 50],
    ]);
    w.now.value = new Date(START.getTime() + 9_870);
    const job = await finishBackupRun(w.deps, started.ref, { outcome: 'Completed', recoveryPointId: String(START.getTime()), consistency: 'ApplicationConsistent', bytesTransferred: 1234, warnings: [] });
    expect(job).toMatchObject({ status: 'Completed', endTime: new Date(START.getTime() + 9_870).toISOString(), propertyBag: { 'Recovery point': String(START.getTime()), 'Backup Size': '1234 bytes' } });
    expect(job.tasks.every((task) => task.status === 'Completed' && task.progressPercentage === 100)).toBe(true);
    const item = await getProtectedItem(w.deps, vault, names);
    expect(item).toMatchObject({ protectionState: 'Protected', healthStatus: 'Passed', lastBackupStatus: 'Healthy', lastBackupTime: START.toISOString(), lastRecoveryPoint: START.toISOString() });
    expect(item.activeBackup).toBeUndefined();
  });

  it('completes with warnings when the run reports any (e.g. VSS fell back)', async () => {
    const w = await world();
    const started = await triggerBackup(w.deps, await w.vault(), names, {}, w.start);
    const job = await finishBackupRun(w.deps, started.ref, {
      outcome: 'CompletedWithWarnings',
      recoveryPointId: String(START.getTime()),
      warnings: [{ code: 'ExtensionFailedVssWriterInBadState', message: 'writer bad' }],
    });
    expect(job).toMatchObject({ status: 'CompletedWithWarnings', errorDetails: [{ errorCode: 'ExtensionFailedVssWriterInBadState', errorString: 'writer bad', recommendations: [expect.stringContaining('vssadmin')] }] });
    expect((await getProtectedItem(w.deps, await w.vault(), names)).lastBackupStatus).toBe('CompletedWithWarnings');
  });

  it('a failure fails the job with code, message and recommendation; the item needs action and is released', async () => {
    const w = await world();
    const started = await triggerBackup(w.deps, await w.vault(), names, {}, w.start);
    await prepareBackupRun(w.deps, started.ref);
    const job = await finishBackupRun(w.deps, started.ref, { outcome: 'Failed', error: { code: 'UserErrorFsFreezeFailed', message: 'freeze failed' }, warnings: [] });
    expect(job).toMatchObject({ status: 'Failed', errorDetails: [{ errorCode: 'UserErrorFsFreezeFailed', errorString: 'freeze failed', recommendations: [expect.stringContaining('fstab')] }] });
    expect(job.tasks[0].status).toBe('Failed');
    const item = await getProtectedItem(w.deps, await w.vault(), names);
    expect(item).toMatchObject({ protectionState: 'IRPending', lastBackupStatus: 'Failed', healthStatus: 'ActionRequired' });
    expect(item.activeBackup).toBeUndefined();
    // A finished job stays as it ended.
    expect((await finishBackupRun(w.deps, started.ref, { outcome: 'Completed', recoveryPointId: '1', warnings: [] })).status).toBe('Failed');
  });

  it("a failed job says when the latest point keeps its snapshot past its instant-restore days, and not before", async () => {
    const w = await world();
    const item = await getProtectedItem(w.deps, await w.vault(), names);
    await w.deps.catalog.recoveryPoints.put({
      itemId: item.engineItemId,
      recoveryPointId: String(START.getTime()),
      createdAt: START.toISOString(),
      consistency: 'CrashConsistent',
      vaultContainer: 'v',
      manifestBlobName: 'm',
      diskCount: 1,
      state: 'Committed',
    });
    const failOn = async (when: number) => {
      w.now.value = new Date(when);
      const started = await triggerBackup(w.deps, await w.vault(), names, {}, w.start);
      return finishBackupRun(w.deps, started.ref, { outcome: 'Failed', error: { code: 'UserErrorGuestAgentStatusUnavailable', message: 'agent down' }, warnings: [] });
    };
    // DefaultPolicy keeps snapshots 2 days: a day later nothing is kept past them yet.
    expect((await failOn(START.getTime() + DAY)).propertyBag['Instant restore snapshot kept']).toBeUndefined();
    const late = await failOn(START.getTime() + 3 * DAY);
    expect(late.propertyBag['Instant restore snapshot kept']).toBe(
      `Recovery point ${START.getTime()} (${START.toISOString()}) keeps its snapshot past ${new Date(START.getTime() + 2 * DAY).toISOString()}, the end of its 2 instant-restore day(s): the latest recovery point keeps its snapshot until a backup succeeds.`,
    );
  });

  it('cancel while snapshotting: the job goes Cancelling, the run stops at the snapshot and ends Cancelled', async () => {
    const w = await world();
    const vault = await w.vault();
    const started = await triggerBackup(w.deps, vault, names, {}, w.start);
    await prepareBackupRun(w.deps, started.ref);
    expect((await requestJobCancel(w.deps, vault, started.job.jobId)).status).toBe('Cancelling');
    expect((await rejection(requestJobCancel(w.deps, vault, started.job.jobId))).message).toMatch(/already being cancelled/);
    expect(await recordSnapshotTaken(w.deps, started.ref)).toEqual({ cancelled: true });
    const job = await finishBackupRun(w.deps, started.ref, { outcome: 'Cancelled', warnings: [] });
    expect(job).toMatchObject({ status: 'Cancelled', tasks: [{ status: 'Cancelled' }, { status: 'Cancelled' }] });
    expect((await getProtectedItem(w.deps, vault, names)).activeBackup).toBeUndefined();
  });
});

describe('job lists', () => {
  it('filter by status, operation and start time, newest first', async () => {
    const w = await world();
    const vault = await w.vault();
    w.now.value = new Date('2026-11-02T10:00:00Z');
    const started = await triggerBackup(w.deps, vault, names, {}, w.start);
    const all = await listJobs(w.deps, vault);
    expect(all.map((job) => job.operation)).toEqual(['Backup', 'ConfigureBackup']);
    expect((await listJobs(w.deps, vault, parseJobFilter("status eq 'InProgress' and operation eq 'Backup'"))).map((job) => job.jobId)).toEqual([started.job.jobId]);
    expect(await listJobs(w.deps, vault, parseJobFilter("operation eq 'Restore'"))).toEqual([]);
    expect((await listJobs(w.deps, vault, parseJobFilter("startTime eq '2026-11-02 12:00:00 AM' and endTime eq '2026-11-02 11:59:59 PM'"))).length).toBe(1);
    expect((await listJobs(w.deps, vault, parseJobFilter("endTime eq '2026-11-01 11:59:59 PM'"))).map((job) => job.operation)).toEqual(['ConfigureBackup']);
    expect(await listJobs(w.deps, vault, parseJobFilter("backupManagementType eq 'AzureStorage'"))).toEqual([]);
  });
});
