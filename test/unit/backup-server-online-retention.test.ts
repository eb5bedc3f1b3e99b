/**
 * GFS retention of the backup server's vault copy, decided by the vault's retention math (evaluateRetention) on the
 * equivalent daily UTC policy: daily points for retentionDays, Sunday copies for weeks, first-of-month copies for
 * months, the newest point always kept; long-term rules checked when the group is saved. And direct mode's (MARS
 * agent) schedule and retention: up to three backups a day, daily or on chosen weekdays, GFS by the same math.
 */
import { directLongTermTags, directRetention, isDirectBackupDue, lastDirectSlot, validateDirectPolicy, type DirectPolicy } from '../../lib/domain/backup-server/direct-policy';
import { onlineLongTermTags, onlineRetention, parseOnlineLongTerm, type OnlinePoint, type OnlineRetentionPolicy } from '../../lib/domain/backup-server/online-retention';

const DAY = 86_400_000;
const GFS: OnlineRetentionPolicy = {
  dailyAt: '23:00',
  retentionDays: 7,
  longTerm: {
    weeklySchedule: { daysOfTheWeek: ['Sunday'], retentionDuration: { count: 4, durationType: 'Weeks' } },
    monthlySchedule: { retentionScheduleFormatType: 'Daily', retentionScheduleDaily: { daysOfTheMonth: [{ date: 1 }] }, retentionDuration: { count: 12, durationType: 'Months' } },
  },
};

/** A copy a day at 23:00 UTC from 2026-01-01 (a Thursday) for `days` days, tagged when copied. */
function dailyCopies(policy: OnlineRetentionPolicy, days: number): OnlinePoint[] {
  return Array.from({ length: days }, (_, i) => {
    const time = new Date(Date.parse('2026-01-01T23:00:00Z') + i * DAY);
    return { snapshotId: time.toISOString().slice(0, 10), time: time.toISOString(), longTermTags: onlineLongTermTags(policy, time) };
  });
}

describe('backup server online (vault copy) retention', () => {
  it('keeps 7 daily, 4 weekly (Sunday) and 12 monthly (1st) points, with reasons', () => {
    const points = dailyCopies(GFS, 90); // 2026-01-01 … 2026-03-31
    const now = new Date('2026-04-01T00:00:00Z');
    const kept = onlineRetention(GFS, points, now).filter((d) => d.keep).map((d) => d.snapshotId);
    expect(kept).toEqual([
      '2026-01-01', '2026-02-01', '2026-03-01', // monthly
      '2026-03-08', '2026-03-15', '2026-03-22', // weekly (Sundays within 4 weeks; 03-29 is also daily)
      '2026-03-25', '2026-03-26', '2026-03-27', '2026-03-28', '2026-03-29', '2026-03-30', '2026-03-31', // daily
    ].sort());
    const removed = onlineRetention(GFS, points, now).find((d) => d.snapshotId === '2026-01-02')!;
    expect(removed).toMatchObject({ keep: false, reason: expect.stringMatching(/\S/) });
  });

  it('with daily days only, removes points older than the days but never the newest', () => {
    const daily: OnlineRetentionPolicy = { dailyAt: '23:00', retentionDays: 3 };
    const points = dailyCopies(daily, 5);
    expect(onlineRetention(daily, points, new Date('2026-01-06T00:00:00Z')).filter((d) => d.keep).map((d) => d.snapshotId)).toEqual(['2026-01-03', '2026-01-04', '2026-01-05']);
    // A month later with no new copies (backups stopped): the newest stays.
    expect(onlineRetention(daily, points, new Date('2026-02-06T00:00:00Z')).filter((d) => d.keep).map((d) => d.snapshotId)).toEqual(['2026-01-05']);
  });

  it('tags a copy by the rules that select its UTC day', () => {
    expect(onlineLongTermTags(GFS, new Date('2026-02-01T23:00:00Z'))).toEqual(['Weekly', 'Monthly']); // a Sunday, the 1st
    expect(onlineLongTermTags(GFS, new Date('2026-02-02T23:00:00Z'))).toEqual([]);
  });

  it('refuses a long-term rule with a wrong unit, a count out of range, no days or an unknown field', () => {
    expect(parseOnlineLongTerm(GFS.longTerm)).toEqual(GFS.longTerm);
    expect(() => parseOnlineLongTerm({ weeklySchedule: { daysOfTheWeek: ['Sunday'], retentionDuration: { count: 4, durationType: 'Days' } } })).toThrow(
      expect.objectContaining({ code: 'KluisInvalidRequest', target: 'online.longTerm.weeklySchedule.retentionDuration' }),
    );
    expect(() => parseOnlineLongTerm({ yearlySchedule: { retentionScheduleFormatType: 'Daily', retentionScheduleDaily: { daysOfTheMonth: [{ date: 1 }] }, monthsOfYear: ['January'], retentionDuration: { count: 10_000, durationType: 'Years' } } })).toThrow(
      expect.objectContaining({ code: 'KluisInvalidRequest' }),
    );
    expect(() => parseOnlineLongTerm({ weeklySchedule: { daysOfTheWeek: [], retentionDuration: { count: 4, durationType: 'Weeks' } } })).toThrow(
      expect.objectContaining({ target: 'online.longTerm.weeklySchedule.daysOfTheWeek' }),
    );
    expect(() => parseOnlineLongTerm({ dailySchedule: { retentionDuration: { count: 4, durationType: 'Days' } } })).toThrow(expect.objectContaining({ code: 'KluisInvalidRequest' }));
  });
});

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
