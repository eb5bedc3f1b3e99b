import fc from 'fast-check';
import {
  describeSchedule,
  nextScheduledSlot,
  nextScheduledTime,
  scheduledSlotsBetween,
  slotIdOf,
  type ScheduleSlot,
} from '../../lib/domain/backup-schedule';
import type { DayOfWeek, IaasVmPolicyProperties, SchedulePolicy } from '../../lib/domain/policy';
import { validatePolicy, type NormalizedPolicy } from '../../lib/domain/policy-rules';
import { zonedWallClock } from '../../lib/domain/time-zones';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function policy(timeZone: string, schedulePolicy: SchedulePolicy): NormalizedPolicy {
  const weekly =
    (schedulePolicy.schedulePolicyType === 'SimpleSchedulePolicy' && schedulePolicy.scheduleRunFrequency === 'Weekly') ||
    (schedulePolicy.schedulePolicyType === 'SimpleSchedulePolicyV2' && schedulePolicy.scheduleRunFrequency === 'Weekly');
  const runDays: DayOfWeek[] =
    schedulePolicy.schedulePolicyType === 'SimpleSchedulePolicy'
      ? (schedulePolicy.scheduleRunDays ?? [])
      : (schedulePolicy.weeklySchedule?.scheduleRunDays ?? []);
  const properties: IaasVmPolicyProperties = {
    backupManagementType: 'AzureIaasVM',
    timeZone,
    schedulePolicy,
    retentionPolicy: weekly
      ? {
          retentionPolicyType: 'LongTermRetentionPolicy',
          weeklySchedule: { daysOfTheWeek: runDays, retentionDuration: { count: 4, durationType: 'Weeks' } },
        }
      : { retentionPolicyType: 'LongTermRetentionPolicy', dailySchedule: { retentionDuration: { count: 7, durationType: 'Days' } } },
  };
  return validatePolicy(properties);
}

const daily = (timeZone: string, time: string): NormalizedPolicy =>
  policy(timeZone, { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: [`2026-01-01T${time}:00Z`] });

const weekly = (timeZone: string, days: DayOfWeek[], time: string): NormalizedPolicy =>
  policy(timeZone, {
    schedulePolicyType: 'SimpleSchedulePolicy',
    scheduleRunFrequency: 'Weekly',
    scheduleRunDays: days,
    scheduleRunTimes: [`2026-01-01T${time}:00Z`],
  });

const hourly = (timeZone: string, start: string, interval: 4 | 6 | 8 | 12, duration: number): NormalizedPolicy =>
  policy(timeZone, {
    schedulePolicyType: 'SimpleSchedulePolicyV2',
    scheduleRunFrequency: 'Hourly',
    hourlySchedule: { interval, scheduleWindowStartTime: `2026-01-01T${start}:00Z`, scheduleWindowDuration: duration },
  });

const times = (slots: ScheduleSlot[]): string[] => slots.map((slot) => slot.scheduledTime.toISOString());
const between = (p: NormalizedPolicy, from: string, to: string): ScheduleSlot[] => scheduledSlotsBetween(p, new Date(from), new Date(to));

function expectUniqueAndOrdered(slots: ScheduleSlot[]): void {
  expect(new Set(slots.map((slot) => slot.slotId)).size).toBe(slots.length);
  const unordered = slots.filter((slot, i) => i > 0 && slot.scheduledTime.getTime() <= slots[i - 1].scheduledTime.getTime());
  expect(unordered).toEqual([]);
  expect(slots.filter((slot) => slot.slotId !== slotIdOf(slot.scheduledTime))).toEqual([]);
}

describe('scheduledSlotsBetween: daily', () => {
  it('runs each day at the run time in the policy zone, with UTC-instant slot ids', () => {
    const slots = between(daily('W. Europe Standard Time', '19:00'), '2026-11-20T00:00:00Z', '2026-11-23T00:00:00Z');
    expect(slots).toEqual([
      { slotId: '20261120T1800Z', scheduledTime: new Date('2026-11-20T18:00:00Z') },
      { slotId: '20261121T1800Z', scheduledTime: new Date('2026-11-21T18:00:00Z') },
      { slotId: '20261122T1800Z', scheduledTime: new Date('2026-11-22T18:00:00Z') },
    ]);
  });

  it('covers (from, to]: a slot at `from` is excluded, one at `to` included', () => {
    const p = daily('UTC', '19:00');
    expect(times(between(p, '2026-11-20T19:00:00Z', '2026-11-21T19:00:00Z'))).toEqual(['2026-11-21T19:00:00.000Z']);
    expect(between(p, '2026-11-21T19:00:00Z', '2026-11-21T19:00:00Z')).toEqual([]);
    expect(between(p, '2026-11-22T00:00:00Z', '2026-11-21T00:00:00Z')).toEqual([]);
  });

  it('crosses month and year ends', () => {
    const p = daily('UTC', '23:30');
    expect(times(between(p, '2026-01-30T00:00:00Z', '2026-02-02T00:00:00Z'))).toEqual([
      '2026-01-30T23:30:00.000Z',
      '2026-01-31T23:30:00.000Z',
      '2026-02-01T23:30:00.000Z',
    ]);
    expect(times(between(p, '2026-12-31T00:00:00Z', '2027-01-02T00:00:00Z'))).toEqual(['2026-12-31T23:30:00.000Z', '2027-01-01T23:30:00.000Z']);
    expect(times(between(daily('UTC', '00:00'), '2028-02-28T12:00:00Z', '2028-03-01T12:00:00Z'))).toEqual([
      '2028-02-29T00:00:00.000Z',
      '2028-03-01T00:00:00.000Z',
    ]);
  });

  it('keeps the local time across DST changes (Europe/Amsterdam)', () => {
    const p = daily('Europe/Amsterdam', '19:00');
    expect(times(between(p, '2026-03-28T00:00:00Z', '2026-03-30T00:00:00Z'))).toEqual(['2026-03-28T18:00:00.000Z', '2026-03-29T17:00:00.000Z']);
    expect(times(between(p, '2026-10-24T00:00:00Z', '2026-10-26T00:00:00Z'))).toEqual(['2026-10-24T17:00:00.000Z', '2026-10-25T18:00:00.000Z']);
  });

  it('runs a time in the spring-forward gap right after it, by the gap (02:30 → 03:30 CEST)', () => {
    const slots = between(daily('Europe/Amsterdam', '02:30'), '2026-03-27T12:00:00Z', '2026-03-30T12:00:00Z');
    expect(times(slots)).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
    expect(zonedWallClock(slots[1].scheduledTime, 'Europe/Amsterdam')).toMatchObject({ day: 29, hour: 3, minute: 30 });
    expectUniqueAndOrdered(slots);
  });

  it('runs an ambiguous time once, at its first occurrence', () => {
    expect(times(between(daily('Europe/Amsterdam', '02:30'), '2026-10-24T12:00:00Z', '2026-10-25T12:00:00Z'))).toEqual(['2026-10-25T00:30:00.000Z']);
    expect(times(between(daily('Eastern Standard Time', '01:30'), '2026-10-31T12:00:00Z', '2026-11-01T12:00:00Z'))).toEqual(['2026-11-01T05:30:00.000Z']);
  });

  it('handles the America/New_York spring-forward gap', () => {
    expect(times(between(daily('America/New_York', '02:00'), '2026-03-07T12:00:00Z', '2026-03-09T12:00:00Z'))).toEqual([
      '2026-03-08T07:00:00.000Z', // 02:00 EST would be 07:00Z; 02:00 does not exist, 03:00 EDT is 07:00Z
      '2026-03-09T06:00:00.000Z',
    ]);
  });

  it('runs exactly once every local day for a whole year, DST days included', () => {
    for (const p of [daily('Europe/Amsterdam', '02:30'), daily('America/New_York', '01:30'), daily('Pacific Standard Time', '23:30')]) {
      const slots = between(p, '2025-12-31T12:00:00Z', '2026-12-31T12:00:00Z');
      expect(slots).toHaveLength(365);
      expectUniqueAndOrdered(slots);
      const localDays = new Set(slots.map((slot) => {
        const w = zonedWallClock(slot.scheduledTime, p.ianaTimeZone);
        return `${w.year}-${w.month}-${w.day}`;
      }));
      expect(localDays.size).toBe(365);
    }
  });
});

describe('scheduledSlotsBetween: weekly', () => {
  it('runs on the run days only, at the run time', () => {
    const slots = between(weekly('Pacific Standard Time', ['Monday', 'Wednesday', 'Thursday'], '10:00'), '2026-11-15T00:00:00Z', '2026-11-29T00:00:00Z');
    expect(times(slots)).toEqual([
      '2026-11-16T18:00:00.000Z',
      '2026-11-18T18:00:00.000Z',
      '2026-11-19T18:00:00.000Z',
      '2026-11-23T18:00:00.000Z',
      '2026-11-25T18:00:00.000Z',
      '2026-11-26T18:00:00.000Z',
    ]);
  });

  it('takes the run day in the policy zone, not in UTC', () => {
    // Saturday 23:30 in Los Angeles is Sunday 06:30 (PDT) or 07:30 (PST) in UTC.
    const slots = between(weekly('America/Los_Angeles', ['Saturday'], '23:30'), '2026-10-26T00:00:00Z', '2026-11-16T00:00:00Z');
    expect(times(slots)).toEqual(['2026-11-01T06:30:00.000Z', '2026-11-08T07:30:00.000Z', '2026-11-15T07:30:00.000Z']);
    for (const slot of slots) expect(zonedWallClock(slot.scheduledTime, 'America/Los_Angeles').weekday).toBe(6);
  });

  it('runs V2 weekly schedules the same way', () => {
    const p = policy('UTC', {
      schedulePolicyType: 'SimpleSchedulePolicyV2',
      scheduleRunFrequency: 'Weekly',
      weeklySchedule: { scheduleRunDays: ['Friday'], scheduleRunTimes: ['2026-01-01T02:00:00Z'] },
    });
    expect(times(between(p, '2026-11-01T00:00:00Z', '2026-11-30T00:00:00Z'))).toEqual([
      '2026-11-06T02:00:00.000Z',
      '2026-11-13T02:00:00.000Z',
      '2026-11-20T02:00:00.000Z',
      '2026-11-27T02:00:00.000Z',
    ]);
  });
});

describe('scheduledSlotsBetween: hourly', () => {
  it('runs from the window start every interval while inside the window', () => {
    // India Standard Time is UTC+05:30.
    const slots = between(hourly('India Standard Time', '08:00', 4, 16), '2026-11-20T18:30:00Z', '2026-11-21T18:30:00Z');
    expect(times(slots)).toEqual(['2026-11-21T02:30:00.000Z', '2026-11-21T06:30:00.000Z', '2026-11-21T10:30:00.000Z', '2026-11-21T14:30:00.000Z']);
  });

  it('treats the window as half-open: a 24-hour window of 6-hour steps runs 4 times a day', () => {
    const slots = between(hourly('UTC', '00:00', 6, 24), '2026-11-20T23:59:00Z', '2026-11-21T23:59:00Z');
    expect(times(slots)).toEqual(['2026-11-21T00:00:00.000Z', '2026-11-21T06:00:00.000Z', '2026-11-21T12:00:00.000Z', '2026-11-21T18:00:00.000Z']);
  });

  it('continues a window past midnight', () => {
    const slots = between(hourly('UTC', '20:00', 6, 12), '2026-11-20T12:00:00Z', '2026-11-22T12:00:00Z');
    expect(times(slots)).toEqual(['2026-11-20T20:00:00.000Z', '2026-11-21T02:00:00.000Z', '2026-11-21T20:00:00.000Z', '2026-11-22T02:00:00.000Z']);
  });

  it('keeps wall-clock steps across DST and never doubles a slot (America/New_York)', () => {
    const p = hourly('America/New_York', '22:00', 4, 24);
    const spring = between(p, '2026-03-08T00:00:00Z', '2026-03-09T00:00:00Z');
    // 22:00 EST (7th) 03:00Z, 02:00 → 03:00 EDT 07:00Z, 06:00 EDT 10:00Z, 10:00 14:00Z, 14:00 18:00Z, 18:00 22:00Z
    expect(times(spring)).toEqual([
      '2026-03-08T03:00:00.000Z',
      '2026-03-08T07:00:00.000Z',
      '2026-03-08T10:00:00.000Z',
      '2026-03-08T14:00:00.000Z',
      '2026-03-08T18:00:00.000Z',
      '2026-03-08T22:00:00.000Z',
    ]);
    const fall = between(p, '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z');
    // 22:00 EDT (31st) 02:00Z, 02:00 EST 07:00Z, 06:00 11:00Z, 10:00 15:00Z, 14:00 19:00Z, 18:00 23:00Z
    expect(times(fall)).toEqual([
      '2026-11-01T02:00:00.000Z',
      '2026-11-01T07:00:00.000Z',
      '2026-11-01T11:00:00.000Z',
      '2026-11-01T15:00:00.000Z',
      '2026-11-01T19:00:00.000Z',
      '2026-11-01T23:00:00.000Z',
    ]);
  });

  it('runs an hourly slot in the Amsterdam fall-back hour once', () => {
    const slots = between(hourly('Europe/Amsterdam', '02:30', 12, 24), '2026-10-24T12:00:00Z', '2026-10-26T00:00:00Z');
    expect(times(slots)).toEqual(['2026-10-24T12:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-25T13:30:00.000Z']);
  });
});

describe('slot ids', () => {
  const policies = [
    daily('Europe/Amsterdam', '02:30'),
    weekly('Eastern Standard Time', ['Sunday', 'Wednesday'], '01:30'),
    hourly('America/New_York', '22:00', 4, 24),
    hourly('W. Europe Standard Time', '20:30', 8, 16),
  ];
  const start = Date.UTC(2026, 0, 1);
  const end = Date.UTC(2027, 0, 1);

  it('are the UTC instant in YYYYMMDDTHHmmZ', () => {
    expect(slotIdOf(new Date('2026-11-21T19:00:00Z'))).toBe('20261121T1900Z');
    expect(slotIdOf(new Date('2027-01-01T00:30:00Z'))).toBe('20270101T0030Z');
  });

  it('are unique over a year with two DST changes', () => {
    for (const p of policies) expectUniqueAndOrdered(scheduledSlotsBetween(p, new Date(start), new Date(end)));
  });

  it('do not depend on how the range is split (the scheduler ticks over consecutive ranges)', () => {
    // Seven weeks around the spring DST changes of America (8 March) and Europe (29 March).
    const from = Date.UTC(2026, 1, 20);
    const to = Date.UTC(2026, 3, 10);
    fc.assert(
      fc.property(
        fc.constantFrom(...policies),
        fc.array(fc.integer({ min: from, max: to }), { minLength: 1, maxLength: 8 }),
        (p, cuts) => {
          const bounds = [from, ...[...cuts].sort((a, b) => a - b), to];
          const pieces: ScheduleSlot[] = [];
          for (let i = 1; i < bounds.length; i++) pieces.push(...scheduledSlotsBetween(p, new Date(bounds[i - 1]), new Date(bounds[i])));
          expect(pieces).toEqual(scheduledSlotsBetween(p, new Date(from), new Date(to)));
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('nextScheduledTime', () => {
  it('gives the first slot strictly after the instant', () => {
    const p = daily('W. Europe Standard Time', '19:00');
    expect(nextScheduledTime(p, new Date('2026-11-21T12:00:00Z')).toISOString()).toBe('2026-11-21T18:00:00.000Z');
    expect(nextScheduledTime(p, new Date('2026-11-21T18:00:00Z')).toISOString()).toBe('2026-11-22T18:00:00.000Z');
    expect(nextScheduledSlot(p, new Date('2026-11-21T18:00:00Z')).slotId).toBe('20261122T1800Z');
  });

  it('finds the next run day of a weekly schedule, a week ahead if need be', () => {
    const p = weekly('UTC', ['Monday'], '10:00');
    expect(nextScheduledTime(p, new Date('2026-11-16T10:00:00Z')).toISOString()).toBe('2026-11-23T10:00:00.000Z');
    expect(nextScheduledTime(p, new Date('2026-11-16T09:59:00Z')).toISOString()).toBe('2026-11-16T10:00:00.000Z');
  });

  it('finds the next hourly slot', () => {
    const p = hourly('UTC', '08:00', 4, 12);
    expect(nextScheduledTime(p, new Date('2026-11-21T12:00:00Z')).toISOString()).toBe('2026-11-21T16:00:00.000Z');
    expect(nextScheduledTime(p, new Date('2026-11-21T16:00:00Z')).toISOString()).toBe('2026-11-22T08:00:00.000Z');
  });

  it('agrees with scheduledSlotsBetween', () => {
    const p = weekly('Europe/Amsterdam', ['Tuesday', 'Saturday'], '02:30');
    let after = new Date('2026-03-01T00:00:00Z');
    const walked: string[] = [];
    while (after.getTime() < Date.UTC(2026, 4, 1)) {
      after = nextScheduledTime(p, after);
      if (after.getTime() <= Date.UTC(2026, 4, 1)) walked.push(after.toISOString());
    }
    expect(walked).toEqual(times(between(p, '2026-03-01T00:00:00Z', '2026-05-01T00:00:00Z')));
    expect(walked.length).toBeGreaterThan(15);
    expect(walked.every((t) => new Date(t).getTime() - Date.parse('2026-03-01T00:00:00Z') < 61 * DAY)).toBe(true);
  });
});

describe('describeSchedule', () => {
  it('shows times with the zone as the user named it', () => {
    expect(describeSchedule(daily('W. Europe Standard Time', '19:00'))).toBe('Daily at 19:00 W. Europe Standard Time');
    expect(describeSchedule(daily('UTC', '02:30'))).toBe('Daily at 02:30 UTC');
    expect(describeSchedule(weekly('Europe/Amsterdam', ['Thursday', 'Monday'], '10:00'))).toBe('Weekly on Monday, Thursday at 10:00 Europe/Amsterdam');
    expect(describeSchedule(hourly('Pacific Standard Time', '08:00', 4, 12))).toBe(
      'Every 4 hours from 08:00 for 12 hours (08:00, 12:00, 16:00) Pacific Standard Time',
    );
    expect(describeSchedule(hourly('UTC', '20:00', 6, 12))).toBe('Every 6 hours from 20:00 for 12 hours (20:00, 02:00) UTC');
  });
});
