/**
 * Retention math: golden fixtures (test/fixtures/retention/*.json, expected results computed by
 * hand), calendar and rule helpers, input errors, and fast-check properties.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { isKluisErrorLike } from '../../lib/domain/errors';
import {
  DAYS_OF_WEEK,
  MONTHS_OF_YEAR,
  WEEKS_OF_MONTH,
  iaasVmPolicyPropertiesSchema,
  type IaasVmPolicyProperties,
  type RetentionDuration,
} from '../../lib/domain/policy';
import {
  addDuration,
  addToDate,
  daysInMonth,
  evaluateRetention,
  matchesRule,
  retentionDaysOf,
  retentionRulesOf,
  weekOfMonthOf,
  type RetentionDecision,
  type RetentionPointInput,
  type RetentionRule,
} from '../../lib/domain/retention';

const FIXTURE_DIR = join(__dirname, '..', 'fixtures', 'retention');

interface ExpectedDecision {
  recoveryPointId: string;
  keep: boolean;
  ruleName?: RetentionDecision['ruleName'];
  expiryTime?: string;
  /** Compared when given. */
  longTermTags?: string[];
  /** Compared when given; `null`: the decision has no snapshot-tier part. */
  snapshotTier?: { keep: boolean; expiryTime: string; reasonIncludes?: string[] } | null;
  reasonIncludes?: string[];
}

/** The sentence of Azure's documentation a fixture encodes, and where it stands. */
interface FixtureSource {
  document: string;
  quote: string;
}

interface RetentionFixture {
  description: string;
  sources: FixtureSource[];
  timeZone: string;
  now: string;
  policy: unknown;
  points: RetentionPointInput[];
  expected: ExpectedDecision[];
}

function loadFixtures(): Array<[string, RetentionFixture]> {
  return readdirSync(FIXTURE_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => [name, JSON.parse(readFileSync(join(FIXTURE_DIR, name), 'utf8')) as RetentionFixture]);
}

function codeOf(fn: () => unknown): { code?: string; target?: string } {
  try {
    fn();
  } catch (err) {
    return isKluisErrorLike(err) ? { code: err.code, target: err.target } : { code: `non-Kluis: ${String(err)}` };
  }
  return {};
}

const days = (count: number): RetentionDuration => ({ count, durationType: 'Days' });

function dailyPolicy(retention: Partial<IaasVmPolicyProperties['retentionPolicy']>): IaasVmPolicyProperties {
  return {
    backupManagementType: 'AzureIaasVM',
    schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: ['2026-01-01T19:00:00Z'] },
    retentionPolicy: { retentionPolicyType: 'LongTermRetentionPolicy', ...retention },
  };
}

describe('golden fixtures', () => {
  const fixtures = loadFixtures();

  test('there are fixtures for every case the issue names', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(27);
  });

  test.each(fixtures)('%s', (_name, fixture) => {
    expect(fixture.sources.length).toBeGreaterThan(0);
    for (const source of fixture.sources) {
      expect(source.document).toMatch(/^(https:\/\/learn\.microsoft\.com\/|Kluis: )/);
      expect(source.quote.length).toBeGreaterThan(20);
    }
    const policy = iaasVmPolicyPropertiesSchema.parse(fixture.policy);
    const decisions = evaluateRetention({ policy, timeZone: fixture.timeZone, points: fixture.points, now: new Date(fixture.now) });

    expect(decisions.map((d) => d.recoveryPointId)).toEqual(fixture.expected.map((e) => e.recoveryPointId));
    fixture.expected.forEach((expected, i) => {
      const actual = decisions[i];
      const label = `point ${expected.recoveryPointId}`;
      expect({ label, keep: actual.keep, ruleName: actual.ruleName, expiryTime: actual.expiryTime }).toEqual({
        label,
        keep: expected.keep,
        ruleName: expected.ruleName,
        expiryTime: expected.expiryTime,
      });
      if (expected.longTermTags !== undefined) expect({ label, tags: actual.longTermTags }).toEqual({ label, tags: expected.longTermTags });
      if (expected.snapshotTier === null) expect({ label, snapshotTier: actual.snapshotTier }).toEqual({ label, snapshotTier: undefined });
      if (expected.snapshotTier) {
        expect({ label, keep: actual.snapshotTier?.keep, expiryTime: actual.snapshotTier?.expiryTime }).toEqual({
          label,
          keep: expected.snapshotTier.keep,
          expiryTime: expected.snapshotTier.expiryTime,
        });
        for (const fragment of expected.snapshotTier.reasonIncludes ?? []) expect(actual.snapshotTier?.reason).toContain(fragment);
      }
      expect(actual.reason.length).toBeGreaterThan(20);
      for (const fragment of expected.reasonIncludes ?? []) expect(actual.reason).toContain(fragment);
    });
  });
});

describe('addDuration', () => {
  test.each([
    // [time, duration, zone, expected]
    ['2026-01-10T18:05:00Z', days(7), 'UTC', '2026-01-17T18:05:00.000Z'],
    ['2026-03-28T01:30:00Z', days(1), 'Europe/Amsterdam', '2026-03-29T01:30:00.000Z'], // 02:30 CET → gap → 03:30 CEST
    ['2026-03-28T12:00:00Z', days(1), 'Europe/Amsterdam', '2026-03-29T11:00:00.000Z'], // 13:00 CET → 13:00 CEST
    ['2026-10-24T12:00:00Z', days(1), 'Europe/Amsterdam', '2026-10-25T13:00:00.000Z'], // 14:00 CEST → 14:00 CET
    ['2026-10-24T00:30:00Z', days(1), 'Europe/Amsterdam', '2026-10-25T00:30:00.000Z'], // 02:30 twice → first (CEST)
    ['2026-10-25T01:30:00Z', days(1), 'Europe/Amsterdam', '2026-10-26T01:30:00.000Z'], // the second 02:30 (CET) + 1 day
    ['2026-03-07T07:30:00Z', days(1), 'America/New_York', '2026-03-08T07:30:00.000Z'], // 02:30 EST → gap → 03:30 EDT
    ['2026-03-07T17:00:00Z', { count: 1, durationType: 'Weeks' }, 'America/New_York', '2026-03-14T16:00:00.000Z'],
    ['2026-01-31T10:00:00.123Z', { count: 1, durationType: 'Months' }, 'Europe/Amsterdam', '2026-03-03T10:00:00.123Z'], // 31 days, not 'one calendar month'
    ['2028-01-31T10:00:00Z', { count: 1, durationType: 'Months' }, 'UTC', '2028-03-02T10:00:00.000Z'], // leap February: 29 + 2
    ['2026-01-31T10:00:00Z', { count: 2, durationType: 'Months' }, 'Europe/Amsterdam', '2026-04-03T09:00:00.000Z'], // 62 days, into summer time
    ['2026-11-15T10:00:00Z', { count: 3, durationType: 'Months' }, 'UTC', '2027-02-16T10:00:00.000Z'], // 93 days
    ['2028-02-29T12:00:00Z', { count: 1, durationType: 'Years' }, 'UTC', '2029-03-07T12:00:00.000Z'], // 372 days
    ['2028-02-29T12:00:00Z', { count: 4, durationType: 'Years' }, 'UTC', '2032-03-27T12:00:00.000Z'], // 1,488 days
    ['2026-01-01T00:00:00+05:45', days(1), 'Asia/Kathmandu', '2026-01-01T18:15:00.000Z'],
  ] as const)('%s + %j in %s = %s', (time, duration, zone, expected) => {
    expect(addDuration(time, duration, zone)).toBe(expected);
  });

  test('rejects a time that is not ISO 8601', () => {
    expect(() => addDuration('next tuesday', days(1), 'UTC')).toThrow(RangeError);
  });
});

describe('calendar helpers', () => {
  test.each([
    [2026, 2, 28],
    [2028, 2, 29],
    [2100, 2, 28],
    [2000, 2, 29],
    [2026, 4, 30],
    [2026, 12, 31],
  ])('daysInMonth(%i, %i) = %i', (year, month, expected) => {
    expect(daysInMonth(year, month)).toBe(expected);
  });

  test.each([
    [{ year: 2026, month: 1, day: 7 }, 'First', false],
    [{ year: 2026, month: 1, day: 8 }, 'Second', false],
    [{ year: 2026, month: 1, day: 24 }, 'Fourth', false],
    [{ year: 2026, month: 1, day: 25 }, 'Fourth', true],
    [{ year: 2026, month: 1, day: 29 }, undefined, true],
    [{ year: 2026, month: 2, day: 22 }, 'Fourth', true],
    [{ year: 2026, month: 2, day: 21 }, 'Third', false],
  ] as const)('weekOfMonthOf(%j) = %s, last %s', (date, ordinal, isLast) => {
    expect(weekOfMonthOf(date)).toEqual({ ordinal, isLast });
  });

  test('addToDate counts 31 days a month and 372 a year, rolling over month and year ends', () => {
    // 31 Dec 2026 + 62 days: 31 (Jan) + 28 (Feb 2027) = 59 → 3 March 2027.
    expect(addToDate({ year: 2026, month: 12, day: 31 }, { count: 2, durationType: 'Months' })).toEqual({ year: 2027, month: 3, day: 3 });
    expect(addToDate({ year: 2026, month: 12, day: 31 }, days(1))).toEqual({ year: 2027, month: 1, day: 1 });
    // 1 Mar 2026 + 1 year = 372 days: 1 Mar 2027 is day 365, + 7 → 8 March 2027.
    expect(addToDate({ year: 2026, month: 3, day: 1 }, { count: 1, durationType: 'Years' })).toEqual({ year: 2027, month: 3, day: 8 });
    expect(retentionDaysOf({ count: 99, durationType: 'Years' })).toBe(99 * 372);
    expect(retentionDaysOf({ count: 12, durationType: 'Months' })).toBe(372);
    expect(retentionDaysOf({ count: 5163, durationType: 'Weeks' })).toBe(36141);
  });
});

describe('retention rules', () => {
  const gfs = dailyPolicy({
    dailySchedule: { retentionDuration: days(7) },
    weeklySchedule: { daysOfTheWeek: ['Sunday', 'Wednesday'], retentionDuration: { count: 4, durationType: 'Weeks' } },
    monthlySchedule: {
      retentionScheduleFormatType: 'Weekly',
      retentionScheduleWeekly: { daysOfTheWeek: ['Sunday'], weeksOfTheMonth: ['First', 'Last'] },
      retentionDuration: { count: 12, durationType: 'Months' },
    },
    yearlySchedule: {
      retentionScheduleFormatType: 'Daily',
      retentionScheduleDaily: { daysOfTheMonth: [{ date: 1 }, { date: 0, isLast: true }] },
      monthsOfYear: ['January', 'December'],
      retentionDuration: { count: 10, durationType: 'Years' },
    },
  });
  const rule = (name: RetentionRule['name']): RetentionRule => {
    const found = retentionRulesOf(gfs).find((r) => r.name === name);
    if (found === undefined) throw new Error(`no ${name} rule`);
    return found;
  };

  test('a policy yields its rules short-term first', () => {
    expect(retentionRulesOf(gfs).map((r) => r.name)).toEqual(['Daily', 'Weekly', 'Monthly', 'Yearly']);
  });

  test('a weekly schedule has no daily rule, even if a daily retention is sent', () => {
    const weekly: IaasVmPolicyProperties = {
      ...gfs,
      schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Weekly', scheduleRunDays: ['Sunday'], scheduleRunTimes: ['2026-01-01T19:00:00Z'] },
    };
    expect(retentionRulesOf(weekly).map((r) => r.name)).toEqual(['Weekly', 'Monthly', 'Yearly']);
    const decisions = evaluateRetention({
      policy: weekly,
      timeZone: 'UTC',
      points: [
        { recoveryPointId: 'mon', time: '2026-01-05T19:00:00Z' },
        { recoveryPointId: 'sun', time: '2026-01-11T19:00:00Z' },
      ],
      now: new Date('2026-01-11T20:00:00Z'),
    });
    expect(decisions[0]).toMatchObject({ keep: false, reason: expect.stringContaining('a weekly schedule has no daily retention') });
    expect(decisions[0].ruleName).toBeUndefined();
  });

  test.each([
    ['Weekly', { year: 2026, month: 1, day: 4 }, true], // Sunday
    ['Weekly', { year: 2026, month: 1, day: 7 }, true], // Wednesday
    ['Weekly', { year: 2026, month: 1, day: 8 }, false], // Thursday
    ['Monthly', { year: 2026, month: 1, day: 4 }, true], // first Sunday
    ['Monthly', { year: 2026, month: 1, day: 25 }, true], // last Sunday
    ['Monthly', { year: 2026, month: 1, day: 18 }, false], // third Sunday
    ['Monthly', { year: 2026, month: 3, day: 29 }, true], // last Sunday (fifth)
    ['Monthly', { year: 2026, month: 3, day: 22 }, false], // fourth Sunday, not last
    ['Yearly', { year: 2026, month: 1, day: 1 }, true],
    ['Yearly', { year: 2026, month: 12, day: 31 }, true],
    ['Yearly', { year: 2026, month: 1, day: 31 }, true],
    ['Yearly', { year: 2026, month: 2, day: 1 }, false], // February is not one of its months
    ['Yearly', { year: 2026, month: 12, day: 30 }, false],
  ] as const)('%s rule matches %j: %s', (name, date, expected) => {
    expect(matchesRule(rule(name), date)).toBe(expected);
  });
});

describe('evaluateRetention', () => {
  const policy = dailyPolicy({ dailySchedule: { retentionDuration: days(7) } });

  test('no points, no decisions', () => {
    expect(evaluateRetention({ policy, timeZone: 'UTC', points: [], now: new Date('2026-01-01T00:00:00Z') })).toEqual([]);
  });

  test('a policy change is applied retroactively: the same points under the old and the new policy', () => {
    const points: RetentionPointInput[] = [
      { recoveryPointId: 'sun', time: '2026-01-04T19:00:00Z' },
      { recoveryPointId: 'mon', time: '2026-01-05T19:00:00Z' },
      { recoveryPointId: 'tue', time: '2026-01-06T19:00:00Z' },
    ];
    const now = new Date('2026-01-07T00:00:00Z');
    const weekly: IaasVmPolicyProperties = {
      ...dailyPolicy({ weeklySchedule: { daysOfTheWeek: ['Sunday'], retentionDuration: { count: 1, durationType: 'Weeks' } } }),
      schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Weekly', scheduleRunDays: ['Sunday'], scheduleRunTimes: ['2026-01-01T19:00:00Z'] },
    };
    const keep = (p: IaasVmPolicyProperties) => evaluateRetention({ policy: p, timeZone: 'UTC', points, now }).map((d) => d.keep);
    expect(keep(policy)).toEqual([true, true, true]);
    expect(keep(weekly)).toEqual([true, false, true]); // 'tue' stays as the latest point
  });

  test('all points sharing the latest time are kept', () => {
    const decisions = evaluateRetention({
      policy,
      timeZone: 'UTC',
      points: [
        { recoveryPointId: 'a', time: '2026-01-01T19:00:00Z' },
        { recoveryPointId: 'b', time: '2026-01-01T19:00:00.000Z', isOnDemand: true },
        { recoveryPointId: 'c', time: '2025-12-31T19:00:00Z' },
      ],
      now: new Date('2027-01-01T00:00:00Z'),
    });
    expect(decisions.map((d) => [d.keep, d.ruleName])).toEqual([
      [true, 'Latest'],
      [true, 'Latest'],
      [false, 'Daily'],
    ]);
  });

  test.each([
    ['timeZone', { timeZone: 'Mars/Olympus_Mons' }],
    ['points[1].time', { points: [{ recoveryPointId: 'a', time: '2026-01-01T00:00:00Z' }, { recoveryPointId: 'b', time: 'yesterday' }] }],
    ['points[0].retainUntil', { points: [{ recoveryPointId: 'a', time: '2026-01-01T00:00:00Z', isOnDemand: true, retainUntil: '31-12-2026' }] }],
    ['points[0].scheduledTime', { points: [{ recoveryPointId: 'a', time: '2026-01-01T00:00:00Z', scheduledTime: '' }] }],
    ['now', { now: new Date(Number.NaN) }],
  ] as const)('bad %s is a KluisInvalidRequest naming it', (target, override) => {
    const input = { policy, timeZone: 'UTC', points: [{ recoveryPointId: 'a', time: '2026-01-01T00:00:00Z' }], now: new Date('2026-01-02T00:00:00Z'), ...override };
    expect(codeOf(() => evaluateRetention(input))).toEqual({ code: 'KluisInvalidRequest', target });
  });
});

// ---- properties -----------------------------------------------------------------------------------

const ZONES = ['UTC', 'Europe/Amsterdam', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/Santiago'];
const BASE_MS = Date.parse('2025-06-01T00:00:00Z');
const TWO_YEARS_MINUTES = 2 * 366 * 24 * 60;

const longTermDaysArb = fc.oneof(
  fc
    .uniqueArray(fc.oneof(fc.integer({ min: 1, max: 28 }).map((date) => ({ date })), fc.constant({ date: 0, isLast: true })), {
      minLength: 1,
      maxLength: 3,
      selector: (d) => JSON.stringify(d),
    })
    .map((daysOfTheMonth) => ({ retentionScheduleFormatType: 'Daily' as const, retentionScheduleDaily: { daysOfTheMonth } })),
  fc
    .record({
      daysOfTheWeek: fc.subarray([...DAYS_OF_WEEK], { minLength: 1 }),
      weeksOfTheMonth: fc.subarray([...WEEKS_OF_MONTH], { minLength: 1 }),
    })
    .map((retentionScheduleWeekly) => ({ retentionScheduleFormatType: 'Weekly' as const, retentionScheduleWeekly })),
);

const policyArb: fc.Arbitrary<IaasVmPolicyProperties> = fc
  .record({
    frequency: fc.constantFrom('Daily' as const, 'Weekly' as const),
    daily: fc.integer({ min: 7, max: 60 }),
    weekly: fc.option(fc.record({ daysOfTheWeek: fc.subarray([...DAYS_OF_WEEK], { minLength: 1 }), count: fc.integer({ min: 1, max: 12 }) })),
    monthly: fc.option(fc.record({ days: longTermDaysArb, count: fc.integer({ min: 1, max: 24 }) })),
    yearly: fc.option(
      fc.record({ days: longTermDaysArb, count: fc.integer({ min: 1, max: 3 }), monthsOfYear: fc.subarray([...MONTHS_OF_YEAR], { minLength: 1 }) }),
    ),
  })
  .map(({ frequency, daily, weekly, monthly, yearly }) => ({
    backupManagementType: 'AzureIaasVM',
    schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: frequency, scheduleRunTimes: ['2026-01-01T19:00:00Z'] },
    retentionPolicy: {
      retentionPolicyType: 'LongTermRetentionPolicy',
      dailySchedule: { retentionDuration: days(daily) },
      weeklySchedule: weekly ? { daysOfTheWeek: weekly.daysOfTheWeek, retentionDuration: { count: weekly.count, durationType: 'Weeks' } } : undefined,
      monthlySchedule: monthly ? { ...monthly.days, retentionDuration: { count: monthly.count, durationType: 'Months' } } : undefined,
      yearlySchedule: yearly
        ? { ...yearly.days, monthsOfYear: yearly.monthsOfYear, retentionDuration: { count: yearly.count, durationType: 'Years' } }
        : undefined,
    },
  }));

const pointsArb: fc.Arbitrary<RetentionPointInput[]> = fc
  .array(
    fc.record({
      minutes: fc.integer({ min: 0, max: TWO_YEARS_MINUTES }),
      isOnDemand: fc.integer({ min: 0, max: 3 }).map((n) => n === 0), // mostly scheduled points
      retainDays: fc.option(fc.integer({ min: 1, max: 90 })),
    }),
    { minLength: 1, maxLength: 30 },
  )
  .map((raw) =>
    raw.map(({ minutes, isOnDemand, retainDays }, i) => {
      const time = new Date(BASE_MS + minutes * 60_000).toISOString();
      const point: RetentionPointInput = { recoveryPointId: `rp-${i}`, time, isOnDemand };
      if (isOnDemand && retainDays !== null) point.retainUntil = new Date(BASE_MS + (minutes + retainDays * 1440) * 60_000).toISOString();
      return point;
    }),
  );

const nowArb = fc.integer({ min: 0, max: TWO_YEARS_MINUTES + 60 * 24 * 400 }).map((m) => new Date(BASE_MS + m * 60_000));

/** The same policy with every retention count scaled down by `factor` (0–1), never below 1. */
function shortened(policy: IaasVmPolicyProperties, factor: number): IaasVmPolicyProperties {
  const shorten = <T extends { retentionDuration: RetentionDuration }>(s: T | undefined): T | undefined =>
    s && { ...s, retentionDuration: { ...s.retentionDuration, count: Math.max(1, Math.floor(s.retentionDuration.count * factor)) } };
  const r = policy.retentionPolicy;
  return {
    ...policy,
    retentionPolicy: {
      ...r,
      dailySchedule: shorten(r.dailySchedule),
      weeklySchedule: shorten(r.weeklySchedule),
      monthlySchedule: shorten(r.monthlySchedule),
      yearlySchedule: shorten(r.yearlySchedule),
    },
  };
}

describe('properties', () => {
  const zoneArb = fc.constantFrom(...ZONES);

  test('decisions are deterministic and do not depend on the order of the points', () => {
    fc.assert(
      fc.property(policyArb, zoneArb, pointsArb, nowArb, fc.integer(), (policy, timeZone, points, now, seed) => {
        const first = evaluateRetention({ policy, timeZone, points, now });
        expect(evaluateRetention({ policy, timeZone, points, now })).toEqual(first);
        const shuffled = [...points].sort((a, b) => hash(a.recoveryPointId, seed) - hash(b.recoveryPointId, seed));
        const byId = new Map(evaluateRetention({ policy, timeZone, points: shuffled, now }).map((d) => [d.recoveryPointId, d]));
        expect(first.map((d) => byId.get(d.recoveryPointId))).toEqual(first);
      }),
      { numRuns: 60 },
    );
  });

  test('the latest point is always kept; every other decision keeps exactly what has not expired', () => {
    fc.assert(
      fc.property(policyArb, zoneArb, pointsArb, nowArb, (policy, timeZone, points, now) => {
        const decisions = evaluateRetention({ policy, timeZone, points, now });
        const latest = Math.max(...points.map((p) => Date.parse(p.time)));
        decisions.forEach((d, i) => {
          if (Date.parse(points[i].time) === latest) expect(d.keep).toBe(true);
          if (d.ruleName === 'Latest') {
            expect(Date.parse(points[i].time)).toBe(latest);
            expect(d.expiryTime).toBeUndefined();
          } else if (d.expiryTime !== undefined) {
            expect(d.keep).toBe(Date.parse(d.expiryTime) > now.getTime());
          } else {
            expect(d.keep).toBe(false);
          }
          if (points[i].isOnDemand) expect(['OnDemand', 'Latest']).toContain(d.ruleName);
        });
      }),
      { numRuns: 60 },
    );
  });

  test('shorter durations never keep a point longer', () => {
    fc.assert(
      fc.property(policyArb, zoneArb, pointsArb, nowArb, fc.double({ min: 0, max: 1, noNaN: true }), (policy, timeZone, points, now, factor) => {
        const long = evaluateRetention({ policy, timeZone, points, now });
        const short = evaluateRetention({ policy: shortened(policy, factor), timeZone, points, now });
        short.forEach((s, i) => {
          const l = long[i];
          if (s.keep && s.ruleName !== 'Latest') expect(l.keep).toBe(true);
          if (s.expiryTime !== undefined && l.expiryTime !== undefined) {
            expect(Date.parse(s.expiryTime)).toBeLessThanOrEqual(Date.parse(l.expiryTime));
          }
        });
      }),
      { numRuns: 60 },
    );
  });

  test('monthly and yearly expiries are never earlier than the same count of calendar months', () => {
    fc.assert(
      fc.property(zoneArb, fc.integer({ min: 0, max: TWO_YEARS_MINUTES }), fc.integer({ min: 1, max: 1188 }), fc.boolean(), (zone, minutes, count, years) => {
        const time = new Date(BASE_MS + minutes * 60_000).toISOString();
        const duration: RetentionDuration = years ? { count: Math.ceil(count / 12), durationType: 'Years' } : { count, durationType: 'Months' };
        const months = years ? 12 * duration.count : count;
        const start = new Date(time);
        const calendar = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + months, 1));
        const lastDay = new Date(Date.UTC(calendar.getUTCFullYear(), calendar.getUTCMonth() + 1, 0)).getUTCDate();
        calendar.setUTCDate(Math.min(start.getUTCDate(), lastDay));
        // 31 days a month reach at least the same day of the month `months` later (a day's DST shift aside).
        expect(Date.parse(addDuration(time, duration, zone))).toBeGreaterThanOrEqual(calendar.getTime() + (start.getTime() % 86_400_000) - 3_600_000);
      }),
      { numRuns: 200 },
    );
  });

  test('snapshot tiers: the latest keeps its snapshot; Standard policies keep at most 18; others keep exactly those within their days', () => {
    const withSnapshots = pointsArb.map((points) => points.map((p) => ({ ...p, hasSnapshotTier: true })));
    fc.assert(
      fc.property(policyArb, zoneArb, withSnapshots, nowArb, fc.integer({ min: 1, max: 5 }), (policy, timeZone, points, now, instantDays) => {
        const standard = { ...policy, policyType: 'V1' as const, instantRpRetentionRangeInDays: instantDays };
        const decisions = evaluateRetention({ policy: standard, timeZone, points, now });
        const latest = Math.max(...points.map((p) => Date.parse(p.time)));
        const kept = decisions.filter((d) => d.snapshotTier?.keep === true);
        expect(kept.length).toBeLessThanOrEqual(18);
        decisions.forEach((d, i) => {
          const time = Date.parse(points[i].time);
          if (!d.keep) {
            expect(d.snapshotTier).toBeUndefined();
            return;
          }
          const tier = d.snapshotTier as NonNullable<RetentionDecision['snapshotTier']>;
          expect(Date.parse(tier.expiryTime)).toBe(time + instantDays * 86_400_000);
          if (time === latest) expect(tier.keep).toBe(true);
          else if (tier.keep) expect(Date.parse(tier.expiryTime)).toBeGreaterThan(now.getTime());
        });
      }),
      { numRuns: 80 },
    );
  });

  test('adding days keeps the local date arithmetic exact in every zone', () => {
    fc.assert(
      fc.property(zoneArb, fc.integer({ min: 0, max: TWO_YEARS_MINUTES }), fc.integer({ min: 1, max: 400 }), (zone, minutes, count) => {
        const time = new Date(BASE_MS + minutes * 60_000).toISOString();
        const result = addDuration(time, days(count), zone);
        const localDate = (iso: string) => new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(iso));
        const [y, m, d] = localDate(time).split('-').map(Number);
        const expectedDate = new Date(Date.UTC(y, m - 1, d + count)).toISOString().slice(0, 10);
        expect(localDate(result)).toBe(expectedDate);
        // Never more than the largest DST shift (Lord Howe 30 min, others 1 h) away from count × 24 h.
        expect(Math.abs(Date.parse(result) - Date.parse(time) - count * 86_400_000)).toBeLessThanOrEqual(3_600_000);
      }),
      { numRuns: 200 },
    );
  });
});

/** A cheap seeded hash to shuffle ids reproducibly. */
function hash(text: string, seed: number): number {
  let h = seed | 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 2654435761);
  return h >>> 0;
}
