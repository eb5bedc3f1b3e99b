import { countItemsByStatus, countJobsByStatus, itemStatusOf, jobsOfLastDay, nextScheduledBackups, storageUsedOf } from '../../web/src/logic/overview';
import type { Job, ProtectedItem } from '../../web/src/api/types';
import type { IaasVmPolicyProperties } from '../../lib/domain/policy';

const item = (name: string, properties: Partial<ProtectedItem['properties']>): ProtectedItem => ({
  id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupFabrics/Azure/protectionContainers/c;${name}/protectedItems/VM;iaasvmcontainerv2;rg;${name}`,
  name,
  properties: { friendlyName: name, protectionState: 'Protected', healthStatus: 'Passed', lastBackupStatus: 'Healthy', policyName: 'DefaultPolicy', ...properties },
});
const job = (name: string, status: string, startTime: string): Job => ({ id: name, name, properties: { entityFriendlyName: 'vm', operation: 'Backup', status, startTime } });

const DAILY_1900_UTC: IaasVmPolicyProperties = {
  backupManagementType: 'AzureIaasVM',
  policyType: 'V1',
  timeZone: 'UTC',
  instantRpRetentionRangeInDays: 2,
  schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: ['2026-01-01T19:00:00Z'] },
  retentionPolicy: { retentionPolicyType: 'LongTermRetentionPolicy', dailySchedule: { retentionTimes: ['2026-01-01T19:00:00Z'], retentionDuration: { count: 30, durationType: 'Days' } } },
} as IaasVmPolicyProperties;
const WEEKLY_SUNDAY_0230_AMSTERDAM = {
  ...DAILY_1900_UTC,
  timeZone: 'W. Europe Standard Time',
  instantRpRetentionRangeInDays: 5,
  schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Weekly', scheduleRunDays: ['Sunday'], scheduleRunTimes: ['2026-01-01T02:30:00Z'] },
  retentionPolicy: { retentionPolicyType: 'LongTermRetentionPolicy', weeklySchedule: { daysOfTheWeek: ['Sunday'], retentionTimes: ['2026-01-01T02:30:00Z'], retentionDuration: { count: 12, durationType: 'Weeks' } } },
} as IaasVmPolicyProperties;

describe('the vault overview tiles', () => {
  it('puts each item in one status, the most urgent first', () => {
    const items = [
      item('healthy', {}),
      item('pending', { protectionState: 'IRPending', lastBackupStatus: undefined }),
      item('failed', { lastBackupStatus: 'Failed', healthStatus: 'ActionRequired' }),
      item('error', { protectionState: 'ProtectionError' }),
      item('stopped', { protectionState: 'ProtectionStopped', policyName: undefined }),
      item('warned', { lastBackupStatus: 'CompletedWithWarnings' }),
      item('deleted', { protectionState: 'ProtectionStopped', isScheduledForDeferredDelete: true, lastBackupStatus: 'Failed' }),
    ];
    expect(items.map(itemStatusOf)).toEqual(['Healthy', 'IRPending', 'Failed', 'Failed', 'Warning', 'Warning', 'SoftDeleted']);
    expect(countItemsByStatus(items)).toEqual({ Healthy: 1, Warning: 2, IRPending: 1, Failed: 2, SoftDeleted: 1 });
  });

  it('counts the jobs of the last 24 hours by status (Cancelling as running)', () => {
    const now = new Date('2026-11-22T12:00:00Z');
    const jobs = [
      job('a', 'Completed', '2026-11-22T11:00:00Z'),
      job('b', 'Failed', '2026-11-21T12:30:00Z'),
      job('c', 'Failed', '2026-11-21T11:59:00Z'),
      job('d', 'Cancelling', '2026-11-22T11:59:00Z'),
      job('e', 'CompletedWithWarnings', '2026-11-22T00:00:00Z'),
    ];
    const lastDay = jobsOfLastDay(jobs, now);
    expect(lastDay.map((j) => j.name)).toEqual(['a', 'b', 'd', 'e']);
    expect(countJobsByStatus(lastDay)).toEqual({ InProgress: 1, Completed: 1, CompletedWithWarnings: 1, Failed: 1, Cancelled: 0 });
  });

  it('reads storage per tier from the usages, whatever the redundancy', () => {
    expect(
      storageUsedOf([
        { unit: 'Count', currentValue: 4, name: { value: 'ProtectedItemCount' } },
        { unit: 'Bytes', currentValue: 2048, name: { value: 'GRSStorageUsage' } },
        { unit: 'Bytes', currentValue: 512, name: { value: 'SnapshotStorageUsage' } },
      ]),
    ).toEqual({ vaultBytes: 2048, vaultRedundancy: 'GRS', snapshotBytes: 512 });
    expect(storageUsedOf([])).toEqual({});
  });

  it('schedules the next backup of every protected item by its policy, in its zone, earliest first', () => {
    const now = new Date('2026-03-27T20:00:00Z'); // a Friday, before the switch to summer time
    const items = [
      item('daily', {}),
      item('weekly', { policyName: 'Weekly' }),
      item('pending', { protectionState: 'IRPending' }),
      item('stopped', { protectionState: 'ProtectionStopped', policyName: undefined }),
      item('deleted', { isScheduledForDeferredDelete: true }),
      item('unknown', { policyName: 'Gone' }),
    ];
    const next = nextScheduledBackups(items, [{ id: 'p1', name: 'DefaultPolicy', properties: DAILY_1900_UTC }, { id: 'p2', name: 'Weekly', properties: WEEKLY_SUNDAY_0230_AMSTERDAM }], now);
    // Sunday 29 March 2026, 02:30 in Amsterdam falls in the spring-forward gap: it runs at 03:30 CEST (01:30 UTC).
    expect(next.map((n) => [n.item.properties.friendlyName, n.time])).toEqual([
      ['daily', '2026-03-28T19:00:00.000Z'],
      ['pending', '2026-03-28T19:00:00.000Z'],
      ['weekly', '2026-03-29T01:30:00.000Z'],
    ]);
  });
});
