/**
 * The scheduler's decisions on an in-memory catalog: which slot is due, that a slot's job is created
 * once however many ticks or hosts ask, and that a running backup makes the scheduled one fail.
 */
import { randomUUID } from 'node:crypto';
import { vaultKey, type ProtectedItemRecord } from '../../lib/domain/catalog';
import { defaultPolicy } from '../../lib/domain/policy-rules';
import { findDueAndSkippedBackups, findDueBackups, scheduledJobId, startScheduledBackup, type SchedulerDeps } from '../../lib/services/backup-scheduler';
import type { SubscriptionState } from '../../lib/domain/tenancy';
import { collect } from '../../lib/stores/document-store';
import { memoryVaultCatalog } from '../../lib/stores/vault-catalog';
import { vaultRecord } from '../support/vault-fixtures';

const SUB = '00000000-0000-0000-0000-0000000000aa';
const vault = vaultRecord(SUB, 'rg', 'v1', { createdAt: '2026-03-01T00:00:00.000Z' });
const KEY = vaultKey(SUB, 'rg', 'v1');

function item(name: string, overrides: Partial<ProtectedItemRecord> = {}): ProtectedItemRecord {
  return {
    vaultId: vault.id,
    containerName: `IaasVMContainer;iaasvmcontainerv2;rg;${name}`,
    itemName: `VM;iaasvmcontainerv2;rg;${name}`,
    engineItemId: `engine-${name}`,
    vm: { id: `vm-${name}`, name, resourceGroup: 'rg', location: 'westeurope', osType: 'Linux', vmSize: 'B1s' },
    policyName: 'DefaultPolicy',
    protectionState: 'IRPending',
    healthStatus: 'Passed',
    onDemandBackups: [],
    createdAt: '2026-03-01T10:00:00.000Z',
    ...overrides,
  };
}

async function setup(now: string, items: ProtectedItemRecord[]) {
  const catalog = memoryVaultCatalog();
  const clock = { value: new Date(now) };
  await catalog.vaults.insert(SUB.toLowerCase(), 'rg~v1', vault);
  // DefaultPolicy: daily at 19:00 UTC.
  await catalog.policies.insert(KEY, 'defaultpolicy', { vaultId: vault.id, name: 'DefaultPolicy', properties: defaultPolicy(), createdAt: vault.createdAt, updatedAt: vault.createdAt });
  for (const i of items) await catalog.items.insert(KEY, i.itemName.toLowerCase(), i);
  const deps: SchedulerDeps = { catalog, clock: () => clock.value, newId: randomUUID };
  return { catalog, clock, deps };
}

describe('backup scheduler', () => {
  it('finds the slot that passed within two hours, for protected items only', async () => {
    const { deps, clock } = await setup('2026-03-01T18:55:00Z', [
      item('web01'),
      item('web02', { protectionState: 'Protected' }),
      item('stopped', { protectionState: 'ProtectionStopped', policyName: undefined }),
      item('deleted', { softDelete: { deletedAt: '2026-03-01T11:00:00Z', purgeAt: '2026-03-15T11:00:00Z' } }),
      item('late', { createdAt: '2026-03-01T19:01:00Z' }),
    ]);
    expect(await findDueBackups(deps)).toEqual([]);

    clock.value = new Date('2026-03-01T19:05:00Z');
    const due = await findDueBackups(deps);
    expect(due.map((d) => d.vmName)).toEqual(['web01', 'web02']);
    expect(due[0]).toMatchObject({ slot: { slotId: '20260301T1900Z' }, jobId: scheduledJobId('engine-web01', '20260301T1900Z'), instantRestoreDays: 2 });

    // DefaultPolicy is Standard (18 instant points) with a daily rule only: no long-term tags.
    expect(due[0]).toMatchObject({ maxInstantPoints: 18, longTermTags: [] });

    // Missed by more than two hours (the host was down): skipped, not run late.
    clock.value = new Date('2026-03-01T21:00:01Z');
    expect(await findDueBackups(deps)).toEqual([]);
  });

  it('runs no scheduled backup in a Disabled or Deleted subscription and says why; Warned and PastDue run', async () => {
    const { deps } = await setup('2026-03-01T19:05:00Z', [item('web01')]);
    const state = { value: 'Disabled' as SubscriptionState };
    const asked: string[] = [];
    const withState: SchedulerDeps = { ...deps, subscriptionState: async (id) => (asked.push(id), state.value) };
    for (const stopped of ['Disabled', 'Deleted'] as const) {
      state.value = stopped;
      const { due, skipped } = await findDueAndSkippedBackups(withState);
      expect(due).toEqual([]);
      expect(skipped).toEqual([{ vault: expect.objectContaining({ name: 'v1' }), subscriptionState: stopped, reason: `subscription ${SUB} is ${stopped}: no scheduled backups run until it is Enabled again` }]);
      expect(await findDueBackups(withState)).toEqual([]);
    }
    for (const running of ['Enabled', 'Warned', 'PastDue'] as const) {
      state.value = running;
      expect(await findDueAndSkippedBackups(withState)).toMatchObject({ due: [{ vmName: 'web01' }], skipped: [] });
    }
    expect(new Set(asked)).toEqual(new Set([SUB]));
  });

  it("tags a slot with the long-term rules that select its day under the policy now, and hands the tags and the cap to the run", async () => {
    const { deps, catalog } = await setup('2026-03-01T19:05:00Z', [item('web01')]);
    // 2026-03-01 is a Sunday, the first of the month.
    const policy = (await catalog.policies.get(KEY, 'defaultpolicy'))!;
    policy.value.properties.retentionPolicy.weeklySchedule = { daysOfTheWeek: ['Sunday'], retentionDuration: { count: 4, durationType: 'Weeks' } };
    policy.value.properties.retentionPolicy.monthlySchedule = {
      retentionScheduleFormatType: 'Daily',
      retentionScheduleDaily: { daysOfTheMonth: [{ date: 2 }] },
      retentionDuration: { count: 3, durationType: 'Months' },
    };
    await catalog.policies.replace(KEY, 'defaultpolicy', policy.value, policy.etag);
    const [due] = await findDueBackups(deps);
    expect(due.longTermTags).toEqual(['Weekly']);
    const start = await startScheduledBackup(deps, due);
    expect(start.input).toMatchObject({ maxInstantPoints: 18, vault: { longTermTags: ['Weekly'], scheduledTime: '2026-03-01T19:00:00.000Z' } });
  });

  it('creates a slot’s job once, whatever the number of ticks, and claims the item', async () => {
    const { deps, catalog, clock } = await setup('2026-03-01T19:05:00Z', [item('web01')]);
    const [due] = await findDueBackups(deps);
    const starts = await Promise.all([startScheduledBackup(deps, due), startScheduledBackup(deps, due)]);
    expect(starts.map((s) => s.job.jobId)).toEqual([due.jobId, due.jobId]);
    const jobs = await collect(catalog.jobs.list(KEY));
    expect(jobs).toHaveLength(1);
    expect(jobs[0].value).toMatchObject({ operation: 'Backup', status: 'InProgress', isUserTriggered: false, entityFriendlyName: 'web01' });
    expect((await catalog.items.get(KEY, due.itemName.toLowerCase()))!.value.activeBackup).toMatchObject({ jobId: due.jobId });
    expect(starts[0].input).toMatchObject({ itemId: 'engine-web01', vault: { itemName: due.itemName, isOnDemand: false, scheduledTime: '2026-03-01T19:00:00.000Z' } });

    // A later tick in the same window finds the same slot and does not create a second job.
    clock.value = new Date('2026-03-01T19:10:00Z');
    const [again] = await findDueBackups(deps);
    expect(again.jobId).toBe(due.jobId);
    await startScheduledBackup(deps, again);
    expect(await collect(catalog.jobs.list(KEY))).toHaveLength(1);
  });

  it('fails the scheduled job with UserErrorBackupOperationInProgress while another backup runs', async () => {
    const { deps, catalog } = await setup('2026-03-01T19:05:00Z', [item('web01')]);
    await catalog.jobs.insert(KEY, 'running-1', {
      vaultId: vault.id,
      jobId: 'running-1',
      operation: 'Backup',
      status: 'InProgress',
      entityFriendlyName: 'web01',
      startTime: '2026-03-01T18:50:00Z',
      isUserTriggered: true,
      tasks: [],
      propertyBag: {},
    });
    const row = (await catalog.items.get(KEY, 'vm;iaasvmcontainerv2;rg;web01'))!;
    await catalog.items.replace(KEY, row.row, { ...row.value, activeBackup: { jobId: 'running-1', startedAt: '2026-03-01T18:50:00Z' } }, row.etag);

    const [due] = await findDueBackups(deps);
    const start = await startScheduledBackup(deps, due);
    expect(start.run).toBe(false);
    expect(start.job).toMatchObject({ status: 'Failed', errorDetails: [expect.objectContaining({ errorCode: 'UserErrorBackupOperationInProgress' })] });
  });
});
