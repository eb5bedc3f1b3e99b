import type { IaasVmPolicyProperties } from '../../lib/domain/policy';
import type { RecoveryPoint } from '../../web/src/api/types';
import { previewRetention, retentionInputOf, summarizePreview } from '../../web/src/logic/retention-preview';

const daily = (days: number): IaasVmPolicyProperties =>
  ({
    backupManagementType: 'AzureIaasVM',
    policyType: 'V1',
    timeZone: 'UTC',
    instantRpRetentionRangeInDays: 2,
    schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: ['2026-01-01T19:00:00Z'], scheduleRunDays: null },
    retentionPolicy: { retentionPolicyType: 'LongTermRetentionPolicy', dailySchedule: { retentionTimes: ['2026-01-01T19:00:00Z'], retentionDuration: { count: days, durationType: 'Days' } }, weeklySchedule: null },
  }) as unknown as IaasVmPolicyProperties;

const point = (name: string, time: string, rule = 'Daily', expiryTime?: string, snapshot = 'Deleted'): RecoveryPoint => ({
  id: name,
  name,
  properties: {
    recoveryPointType: 'AppConsistent',
    recoveryPointTime: time,
    recoveryPointTierDetails: [
      { type: 'InstantRP', status: snapshot },
      { type: 'HardenedRP', status: 'Valid' },
    ],
    recoveryPointProperties: { ruleName: rule, ...(expiryTime === undefined ? {} : { expiryTime }) },
  },
});

describe('the retention preview', () => {
  const now = new Date('2026-03-20T12:00:00Z');
  const points = [
    point('1', '2026-03-05T19:00:00Z'),
    point('2', '2026-03-12T19:00:00Z'),
    point('3', '2026-03-19T19:00:00Z', 'Daily', undefined, 'Valid'),
    point('od', '2026-03-10T08:00:00Z', 'OnDemand', '2026-04-09T08:00:00Z'),
  ];

  it('shows which points a shorter daily retention would expire, keeping on-demand and the latest', () => {
    const previews = previewRetention(daily(30), daily(7), points, now);
    expect(previews.map((p) => [p.recoveryPointId, p.current.keep, p.draft.keep, p.change])).toEqual([
      ['1', true, false, 'expiresNow'],
      ['2', true, false, 'expiresNow'],
      ['3', true, true, 'expiryChanged'],
      ['od', true, true, 'unchanged'],
    ]);
    expect(previews[0].draft.reason).toMatch(/Daily/);
    expect(summarizePreview(previews)).toEqual({ unchanged: 1, expiresNow: 2, keptNow: 0, expiryChanged: 1 });
  });

  it('shows points a longer retention keeps again', () => {
    const previews = previewRetention(daily(7), daily(30), points, now);
    expect(previews.filter((p) => p.change === 'keptNow').map((p) => p.recoveryPointId)).toEqual(['1', '2']);
  });

  it('takes the on-demand retain-until, the snapshot tier and a long-term rule from the API’s point', () => {
    expect(retentionInputOf(points[3])).toEqual({ recoveryPointId: 'od', time: '2026-03-10T08:00:00Z', isOnDemand: true, hasSnapshotTier: false, retainUntil: '2026-04-09T08:00:00Z' });
    expect(retentionInputOf(point('w', '2026-03-01T19:00:00Z', 'Weekly'))).toMatchObject({ isOnDemand: false, longTermTags: ['Weekly'] });
    expect(retentionInputOf(points[2]).hasSnapshotTier).toBe(true);
  });

  it('refuses a draft the API would refuse, with its code and target', () => {
    expect(() => previewRetention(daily(30), daily(3), points, now)).toThrow(expect.objectContaining({ code: expect.any(String), target: expect.stringContaining('retentionPolicy.dailySchedule') }));
  });
});
