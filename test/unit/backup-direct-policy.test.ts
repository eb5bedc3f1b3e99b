/**
 * Direct mode's schedule and retention (the MARS agent): up to three backups a day, daily or on chosen weekdays;
 * daily/weekly/monthly/yearly retention by the vault's own retention math.
 */
import { directLongTermTags, directRetention, isDirectBackupDue, lastDirectSlot, validateDirectPolicy, type DirectPolicy } from '../../lib/domain/backup-server/direct-policy';

const at = (iso: string) => new Date(iso);

describe('direct-mode policy', () => {
  it('refuses more than three times a day, bad times, daily retention on a weekly schedule, and a weekly schedule without a weekly rule', () => {
    const code = (policy: DirectPolicy) => {
      try {
        validateDirectPolicy(policy);
        return 'ok';
      } catch (err) {
        return `${(err as { code: string }).code}:${(err as { target?: string }).target ?? ''}`;
      }
    };
    expect(code({ runTimes: ['09:00', '13:00', '21:00'], retentionDays: 30 })).toBe('ok');
    expect(code({ runTimes: ['01:00', '02:00', '03:00', '04:00'], retentionDays: 30 })).toMatch(/^KluisInvalidRequest/);
    expect(code({ runTimes: ['25:00'], retentionDays: 30 })).toMatch(/^KluisInvalidRequest/);
    expect(code({ runTimes: ['09:00', '09:00'], retentionDays: 30 })).toMatch(/^KluisInvalidRequest/);
    expect(code({ runTimes: ['09:00'] })).toMatch(/^KluisInvalidRequest/);
    expect(code({ runTimes: ['09:00'], retentionDays: 10_000 })).toMatch(/^KluisInvalidRequest/);
    const weekly = { daysOfTheWeek: ['Monday'], retentionDuration: { count: 4, durationType: 'Weeks' } };
    expect(code({ runTimes: ['09:00'], runDays: ['Monday'], retentionDays: 7, longTerm: { weeklySchedule: weekly } })).toMatch(/^KluisInvalidRequest/);
    expect(code({ runTimes: ['09:00'], runDays: ['Monday'] })).toMatch(/^KluisInvalidRequest/);
    expect(code({ runTimes: ['09:00'], runDays: ['Funday' as 'Monday'], longTerm: { weeklySchedule: weekly } })).toMatch(/^KluisInvalidRequest/);
    expect(code({ runTimes: ['09:00'], runDays: ['Monday'], longTerm: { weeklySchedule: weekly } })).toBe('ok');
  });

  it('is due once per slot: three times a day, or only on the chosen weekdays', () => {
    const daily: DirectPolicy = { runTimes: ['21:00', '09:00', '13:00'], retentionDays: 7 };
    expect(lastDirectSlot(daily, at('2026-12-07T12:59:00Z'))?.toISOString()).toBe('2026-12-07T09:00:00.000Z');
    expect(lastDirectSlot(daily, at('2026-12-07T08:00:00Z'))?.toISOString()).toBe('2026-12-06T21:00:00.000Z');
    expect(isDirectBackupDue(daily, '2026-12-07T09:00:05Z', at('2026-12-07T12:00:00Z'))).toBe(false);
    expect(isDirectBackupDue(daily, '2026-12-07T09:00:05Z', at('2026-12-07T13:00:00Z'))).toBe(true);
    expect(isDirectBackupDue(daily, undefined, at('2026-12-07T13:00:00Z'))).toBe(true);

    // 2026-12-07 is a Monday.
    const weekly: DirectPolicy = { runTimes: ['22:00'], runDays: ['Monday', 'Thursday'], longTerm: { weeklySchedule: { daysOfTheWeek: ['Monday', 'Thursday'], retentionDuration: { count: 4, durationType: 'Weeks' } } } };
    expect(lastDirectSlot(weekly, at('2026-12-09T12:00:00Z'))?.toISOString()).toBe('2026-12-07T22:00:00.000Z');
    expect(isDirectBackupDue(weekly, '2026-12-07T22:00:10Z', at('2026-12-10T21:59:00Z'))).toBe(false);
    expect(isDirectBackupDue(weekly, '2026-12-07T22:00:10Z', at('2026-12-10T22:00:00Z'))).toBe(true);
  });

  it('keeps points by the vault’s GFS math: every backup of a day its daily days, tagged days by their long-term rule, the newest always', () => {
    const policy: DirectPolicy = {
      runTimes: ['09:00', '21:00'],
      retentionDays: 7,
      longTerm: { weeklySchedule: { daysOfTheWeek: ['Sunday'], retentionDuration: { count: 8, durationType: 'Weeks' } } },
    };
    const points = ['2026-11-01T09:00:00Z', '2026-11-02T09:00:00Z', '2026-11-30T09:00:00Z', '2026-11-30T21:00:00Z'].map((time, i) => ({
      snapshotId: `p${i}`,
      time,
      longTermTags: directLongTermTags(policy, at(time)),
    }));
    expect(points[0].longTermTags).toEqual(['Weekly']); // 2026-11-01 is a Sunday
    expect(points[1].longTermTags).toEqual([]);
    const decisions = directRetention(policy, points, at('2026-12-03T00:00:00Z'));
    expect(decisions.map((d) => [d.snapshotId, d.keep])).toEqual([['p0', true], ['p1', false], ['p2', true], ['p3', true]]);
    expect(directRetention(policy, points, at('2026-12-01T00:00:00Z')).every((d) => d.snapshotId === 'p1' ? !d.keep : d.keep)).toBe(true);
    expect(directRetention(policy, points.slice(0, 1), at('2027-06-01T00:00:00Z'))).toEqual([expect.objectContaining({ keep: true })]); // the newest stays
  });
});
