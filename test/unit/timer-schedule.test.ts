import fc from 'fast-check';
import { assertTimeZone, formatTimeSpan, parseSchedule, ScheduleExpressionError, utcOffsetMs } from '../../emulator/timer-schedule';

const at = (iso: string): Date => new Date(iso);
const isoList = (dates: Date[]): string[] => dates.map((d) => d.toISOString());

describe('parseSchedule: NCRONTAB next occurrence (UTC)', () => {
  const cases: [expression: string, after: string, next: string][] = [
    ['0 */5 * * * *', '2024-01-01T10:02:30Z', '2024-01-01T10:05:00.000Z'],
    ['0 */5 * * * *', '2024-01-01T10:05:00Z', '2024-01-01T10:10:00.000Z'], // strictly after
    ['0 */5 * * * *', '2024-01-01T23:58:00Z', '2024-01-02T00:00:00.000Z'],
    ['*/15 * * * * *', '2024-01-01T10:00:07.500Z', '2024-01-01T10:00:15.000Z'],
    ['* * * * * *', '2024-01-01T10:00:00.500Z', '2024-01-01T10:00:01.000Z'],
    ['0 30 9 * * 1-5', '2024-01-06T12:00:00Z', '2024-01-08T09:30:00.000Z'], // Saturday → Monday
    ['0 30 9 * * MON-FRI', '2024-01-05T09:30:00Z', '2024-01-08T09:30:00.000Z'], // Friday's run done → Monday
    ['0 0 8 * * Thursday', '2024-01-01T00:00:00Z', '2024-01-04T08:00:00.000Z'],
    ['0 0 8 * * tHu', '2024-01-01T00:00:00Z', '2024-01-04T08:00:00.000Z'],
    ['0 0 12 * * 0', '2024-01-01T00:00:00Z', '2024-01-07T12:00:00.000Z'], // Sunday = 0
    ['0 0 12 * * SUN', '2024-01-01T00:00:00Z', '2024-01-07T12:00:00.000Z'],
    ['0 0 0 * * 5-1', '2024-01-06T00:00:00Z', '2024-01-08T00:00:00.000Z'], // backwards range = 1-5
    ['0 0 0 1 JAN *', '2024-03-01T00:00:00Z', '2025-01-01T00:00:00.000Z'],
    ['0 0 0 1 1 *', '2024-12-31T23:59:59Z', '2025-01-01T00:00:00.000Z'],
    ['0 0 6 1 Jun-Aug *', '2024-08-01T06:00:00Z', '2025-06-01T06:00:00.000Z'],
    ['0 0 6,18 * * *', '2024-01-01T07:00:00Z', '2024-01-01T18:00:00.000Z'],
    ['0 0 9-17/2 * * *', '2024-01-01T10:00:00Z', '2024-01-01T11:00:00.000Z'],
    ['0 0 9-17/2 * * *', '2024-01-01T17:00:00Z', '2024-01-02T09:00:00.000Z'],
    ['0 5/15 * * * *', '2024-01-01T10:21:00Z', '2024-01-01T10:35:00.000Z'], // a/n = a-max/n
    ['0 5/15 * * * *', '2024-01-01T10:51:00Z', '2024-01-01T11:05:00.000Z'],
    ['0 0 0 13 * 5', '2024-01-01T00:00:00Z', '2024-09-13T00:00:00.000Z'], // day AND day-of-week: Friday the 13th
    ['0 0 0 31 * *', '2024-01-31T00:00:00Z', '2024-03-31T00:00:00.000Z'],
    ['0 0 0 31 * *', '2024-03-31T00:00:00Z', '2024-05-31T00:00:00.000Z'],
    ['0 0 0 29 2 *', '2024-03-01T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['30 9 * * *', '2024-01-01T10:00:00Z', '2024-01-02T09:30:00.000Z'], // five fields: no seconds
    ['*/10 * * * *', '2024-01-01T10:00:30Z', '2024-01-01T10:10:00.000Z'],
    ['  0  0   3 * * *  ', '2024-01-01T00:00:00Z', '2024-01-01T03:00:00.000Z'], // extra spaces
  ];
  it.each(cases)('%s after %s → %s', (expression, after, next) => {
    expect(parseSchedule(expression).next(at(after)).toISOString()).toBe(next);
  });

  it('lists the next occurrences in order', () => {
    expect(isoList(parseSchedule('0 0 */8 * * *').nextOccurrences(4, at('2024-01-01T01:00:00Z')))).toEqual([
      '2024-01-01T08:00:00.000Z',
      '2024-01-01T16:00:00.000Z',
      '2024-01-02T00:00:00.000Z',
      '2024-01-02T08:00:00.000Z',
    ]);
  });

  it('matches a brute-force minute search for minute-level schedules', () => {
    const expressions = ['0 */7 * * * *', '0 15 */3 * * *', '0 0 9 * * 1-5', '0 45 23 * * SAT', '0 0,30 8-10 * * 2,4'];
    const bruteForce = (expression: string, fields: string[], after: number): number => {
      const [, minute, hour, , , dow] = fields;
      const allowed = (spec: string, value: number, max: number): boolean => {
        if (spec === '*') return true;
        const named: Record<string, number> = { SAT: 6 };
        return spec.split(',').some((item) => {
          const [range, stepText] = item.split('/');
          const step = stepText ? Number(stepText) : 1;
          const [lo, hi] = range === '*' ? [0, max] : range.includes('-') ? range.split('-').map(Number) : [named[range] ?? Number(range), stepText ? max : named[range] ?? Number(range)];
          return value >= lo && value <= hi && (value - lo) % step === 0;
        });
      };
      let t = Math.floor(after / 60_000) * 60_000 + 60_000;
      for (let i = 0; i < 8 * 24 * 60; i++, t += 60_000) {
        const d = new Date(t);
        if (allowed(minute, d.getUTCMinutes(), 59) && allowed(hour, d.getUTCHours(), 23) && allowed(dow, d.getUTCDay(), 6)) return t;
      }
      throw new Error(`no occurrence for ${expression}`);
    };
    fc.assert(
      fc.property(fc.constantFrom(...expressions), fc.integer({ min: Date.parse('2024-01-01T00:00:00Z'), max: Date.parse('2026-12-31T00:00:00Z') }), (expression, afterMs) => {
        const expected = bruteForce(expression, expression.split(' '), afterMs);
        expect(parseSchedule(expression).next(new Date(afterMs)).getTime()).toBe(expected);
      }),
      { numRuns: 150 },
    );
  });
});

describe('parseSchedule: TimeSpan intervals', () => {
  const cases: [expression: string, intervalMs: number, describe: string][] = [
    ['00:05:00', 5 * 60_000, 'Constant: 00:05:00'],
    ['01:30', 90 * 60_000, 'Constant: 01:30:00'],
    ['1.00:00:00', 86_400_000, 'Constant: 1.00:00:00'],
    ['2.03:04:05', ((2 * 24 + 3) * 60 + 4) * 60_000 + 5_000, 'Constant: 2.03:04:05'],
    ['1:02:03:04', ((1 * 24 + 2) * 60 + 3) * 60_000 + 4_000, 'Constant: 1.02:03:04'],
    ['5', 5 * 86_400_000, 'Constant: 5.00:00:00'],
    ['00:00:30', 30_000, 'Constant: 00:00:30'],
    ['00:00:00.5', 500, 'Constant: 00:00:00.5000000'],
  ];
  it.each(cases)('%s is an interval of %d ms', (expression, intervalMs, description) => {
    const schedule = parseSchedule(expression);
    expect(schedule.kind).toBe('interval');
    expect(schedule.next(at('2024-01-01T10:00:00Z')).getTime() - Date.parse('2024-01-01T10:00:00Z')).toBe(intervalMs);
    expect(schedule.describe()).toBe(description);
  });

  it('counts intervals in absolute time, ignoring the time zone and DST', () => {
    const schedule = parseSchedule('1.00:00:00');
    expect(schedule.next(at('2025-03-29T12:00:00Z'), 'Europe/Amsterdam').toISOString()).toBe('2025-03-30T12:00:00.000Z');
    expect(schedule.adjustForDST).toBe(false);
  });

  it('formats TimeSpans like .NET', () => {
    expect(formatTimeSpan(0)).toBe('00:00:00');
    expect(formatTimeSpan(86_400_000 + 1_000)).toBe('1.00:00:01');
  });
});

describe('parseSchedule: properties the host derives', () => {
  it.each([
    ['*/10 * * * * *', true],
    ['* * * * * *', true],
    ['0 * * * * *', false],
    ['*/10 0 * * * *', false], // restricted minute: the host keeps the monitor on
    ['0 */5 * * * *', false],
    ['00:00:30', true],
    ['00:01:00', false],
  ])('%s runs more than once a minute: %s', (expression, expected) => {
    expect(parseSchedule(expression).runsMoreThanOncePerMinute).toBe(expected);
  });

  it('reports adjustForDST true for cron schedules', () => {
    expect(parseSchedule('0 0 * * * *').adjustForDST).toBe(true);
    expect(parseSchedule('0 0 * * * *').describe()).toBe("Cron: '0 0 * * * *'");
  });
});

describe('parseSchedule: invalid expressions', () => {
  const cases: [expression: string, reason: RegExp][] = [
    ['', /empty/],
    ['   ', /empty/],
    ['* * * *', /6 fields.*got 4/],
    ['1 2 3 4 5 6 7', /got 7/],
    ['every 5 minutes', /6 fields/],
    ['0 60 * * * *', /minute field '60': 60 is outside 0-59/],
    ['60 * * * * *', /second field '60'/],
    ['0 0 24 * * *', /hour field '24'/],
    ['0 0 0 0 * *', /day field '0': 0 is outside 1-31/],
    ['0 0 0 32 * *', /day field '32'/],
    ['0 0 0 * 13 *', /month field '13'/],
    ['0 0 0 * * 7', /day-of-week field '7': 7 is outside 0-6 \(Sunday is 0\)/],
    ['0 0 0 ? * *', /day field '\?'/],
    ['0 0 0 L * *', /day field 'L'/],
    ['0 0 0 * * MON#2', /day-of-week field 'MON#2'/],
    ['0 0 0 * * Funday', /'Funday' is not a known name/],
    ['0 0 0 * Smarch *', /'Smarch' is not a known name/],
    ['0 */x * * * *', /step 'x'/],
    ['0 1,,2 * * * *', /minute field '1,,2': a value is empty/],
    ['0 1-70 * * * *', /70 is outside 0-59/],
    ['0 5a * * * *', /'5a' is not a number/],
    ['0 0 0 30 2 *', /never occur together/],
    ['0 0 0 31 4,6,9,11 *', /never occur together/],
    ['25:00:00', /hours must be 0-23/],
    ['00:61:00', /minutes must be 0-59/],
    ['-00:05:00', /must be positive/],
    ['00:00:00', /longer than zero/],
  ];
  it.each(cases)('%j is rejected', (expression, reason) => {
    let error: unknown;
    try {
      parseSchedule(expression);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScheduleExpressionError);
    const e = error as ScheduleExpressionError;
    expect(e.code).toBe('InvalidTimerSchedule');
    expect(e.message).toContain(`'${expression}'`);
    expect(e.message).toMatch(reason);
  });
});

describe('parseSchedule: time zones and DST', () => {
  /** Expected instants written as local time with offset, like the host's own tests. */
  const chain = (expression: string, from: string, count: number, timeZone: string): string[] =>
    isoList(parseSchedule(expression).nextOccurrences(count, at(from), timeZone));
  const utc = (...local: string[]): string[] => local.map((s) => new Date(s).toISOString());

  // The Functions host's CronScheduleTests (Pacific time, 2018), ported.
  const LA = 'America/Los_Angeles';
  it('interval schedule into DST skips the missing hour (host: Interval_IntoDST)', () => {
    expect(chain('0 30 * * * *', '2018-03-11T00:00:00-08:00', 5, LA)).toEqual(
      utc('2018-03-11T00:30:00-08:00', '2018-03-11T01:30:00-08:00', '2018-03-11T03:30:00-07:00', '2018-03-11T04:30:00-07:00', '2018-03-11T05:30:00-07:00'),
    );
  });

  it('point-in-time schedule into DST (host: PointInTime_IntoDST)', () => {
    expect(chain('0 30 1 * * *', '2018-03-10T00:00:00-08:00', 5, LA)).toEqual(
      utc('2018-03-10T01:30:00-08:00', '2018-03-11T01:30:00-08:00', '2018-03-12T01:30:00-07:00', '2018-03-13T01:30:00-07:00', '2018-03-14T01:30:00-07:00'),
    );
  });

  it('interval schedule runs through both passes of the repeated hour (host: PointInTime_WithinAmbiguousHour)', () => {
    expect(chain('0 */20 * * * *', '2018-11-04T00:30:00-07:00', 9, LA)).toEqual(
      utc(
        '2018-11-04T00:40:00-07:00',
        '2018-11-04T01:00:00-07:00',
        '2018-11-04T01:20:00-07:00',
        '2018-11-04T01:40:00-07:00',
        '2018-11-04T01:00:00-08:00',
        '2018-11-04T01:20:00-08:00',
        '2018-11-04T01:40:00-08:00',
        '2018-11-04T02:00:00-08:00',
        '2018-11-04T02:20:00-08:00',
      ),
    );
  });

  it('hourly schedule out of DST runs 01:30 twice (host: Interval_OutOfDST)', () => {
    expect(chain('0 30 * * * *', '2018-11-04T00:00:00-07:00', 5, LA)).toEqual(
      utc('2018-11-04T00:30:00-07:00', '2018-11-04T01:30:00-07:00', '2018-11-04T01:30:00-08:00', '2018-11-04T02:30:00-08:00', '2018-11-04T03:30:00-08:00'),
    );
  });

  it('daily schedule out of DST runs 01:30 once (host: PointInTime_OutOfDST)', () => {
    expect(chain('0 30 1 * * *', '2018-11-03T00:00:00-07:00', 5, LA)).toEqual(
      utc('2018-11-03T01:30:00-07:00', '2018-11-04T01:30:00-07:00', '2018-11-05T01:30:00-08:00', '2018-11-06T01:30:00-08:00', '2018-11-07T01:30:00-08:00'),
    );
  });

  // Europe/Amsterdam 2025: 30 March 02:00 CET → 03:00 CEST; 26 October 03:00 CEST → 02:00 CET.
  const AMS = 'Europe/Amsterdam';
  it('keeps local wall-clock time across the spring change (Amsterdam)', () => {
    expect(chain('0 0 9 * * 1-5', '2025-03-28T00:00:00+01:00', 2, AMS)).toEqual(utc('2025-03-28T09:00:00+01:00', '2025-03-31T09:00:00+02:00'));
  });

  it('runs a daily 02:30 at 03:30 on the day 02:30 does not exist (Amsterdam)', () => {
    expect(chain('0 30 2 * * *', '2025-03-29T00:00:00+01:00', 3, AMS)).toEqual(
      utc('2025-03-29T02:30:00+01:00', '2025-03-30T03:30:00+02:00', '2025-03-31T02:30:00+02:00'),
    );
  });

  it('runs every 30 minutes straight through the spring gap (Amsterdam)', () => {
    expect(chain('0 */30 * * * *', '2025-03-30T01:15:00+01:00', 3, AMS)).toEqual(
      utc('2025-03-30T01:30:00+01:00', '2025-03-30T03:00:00+02:00', '2025-03-30T03:30:00+02:00'),
    );
  });

  it('runs every 30 minutes in both passes of the autumn repeated hour (Amsterdam)', () => {
    expect(chain('0 */30 * * * *', '2025-10-26T01:45:00+02:00', 5, AMS)).toEqual(
      utc('2025-10-26T02:00:00+02:00', '2025-10-26T02:30:00+02:00', '2025-10-26T02:00:00+01:00', '2025-10-26T02:30:00+01:00', '2025-10-26T03:00:00+01:00'),
    );
  });

  it('runs a daily 02:30 once on the autumn change, in the first pass (Amsterdam)', () => {
    expect(chain('0 30 2 * * *', '2025-10-25T12:00:00+02:00', 2, AMS)).toEqual(utc('2025-10-26T02:30:00+02:00', '2025-10-27T02:30:00+01:00'));
  });

  it('does not repeat a daily 02:30 when starting inside the second pass (Amsterdam)', () => {
    expect(chain('0 30 2 * * *', '2025-10-26T02:10:00+01:00', 1, AMS)).toEqual(utc('2025-10-27T02:30:00+01:00'));
  });

  it('always moves strictly forward, whatever the zone', () => {
    const expressions = ['0 */20 * * * *', '0 30 2 * * *', '0 0 * * * *', '0 15 1-3 * * *', '0 0 2 * * SUN', '*/30 * * * * *'];
    fc.assert(
      fc.property(
        fc.constantFrom(...expressions),
        fc.constantFrom(AMS, LA, 'Australia/Lord_Howe', 'Asia/Kolkata', 'UTC'),
        // Around both 2025 Amsterdam changes, where the edge cases live.
        fc.oneof(
          fc.integer({ min: Date.parse('2025-03-29T00:00:00Z'), max: Date.parse('2025-03-31T00:00:00Z') }),
          fc.integer({ min: Date.parse('2025-10-25T00:00:00Z'), max: Date.parse('2025-10-27T00:00:00Z') }),
          fc.integer({ min: Date.parse('2025-01-01T00:00:00Z'), max: Date.parse('2025-12-31T00:00:00Z') }),
        ),
        (expression, timeZone, afterMs) => {
          const next = parseSchedule(expression).next(new Date(afterMs), timeZone).getTime();
          expect(next).toBeGreaterThan(afterMs);
          expect(next - afterMs).toBeLessThanOrEqual(8 * 86_400_000);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('uses the wall clock of zones without DST', () => {
    expect(parseSchedule('0 0 9 * * *').next(at('2024-06-01T00:00:00Z'), 'Asia/Kolkata').toISOString()).toBe('2024-06-01T03:30:00.000Z');
  });

  it('treats UTC names and undefined the same', () => {
    const schedule = parseSchedule('0 0 9 * * *');
    for (const zone of [undefined, 'UTC', 'Etc/UTC']) {
      expect(schedule.next(at('2024-06-01T00:00:00Z'), zone).toISOString()).toBe('2024-06-01T09:00:00.000Z');
    }
  });

  it('rejects unknown time zones', () => {
    expect(() => assertTimeZone('W. Europe Standard Time')).toThrow(/Unknown time zone 'W. Europe Standard Time'.*IANA/);
    expect(() => parseSchedule('0 0 9 * * *').next(at('2024-06-01T00:00:00Z'), 'Mars/Olympus')).toThrow(/Unknown time zone/);
    expect(() => assertTimeZone('Europe/Amsterdam')).not.toThrow();
  });

  it('reports UTC offsets', () => {
    expect(utcOffsetMs(Date.parse('2025-07-01T00:00:00Z'), AMS)).toBe(2 * 3_600_000);
    expect(utcOffsetMs(Date.parse('2025-01-01T00:00:00Z'), AMS)).toBe(3_600_000);
    expect(utcOffsetMs(Date.parse('2025-01-01T00:00:00Z'), undefined)).toBe(0);
  });
});
