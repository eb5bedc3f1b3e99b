import { WINDOWS_TO_IANA_MAP } from 'windows-iana';
import { isKluisErrorLike } from '../../lib/domain/errors';
import {
  DEFAULT_TIME_ZONE,
  fromZonedWallClock,
  isKnownTimeZone,
  localDateKey,
  resolveTimeZone,
  utcOffsetMs,
  zonedWallClock,
} from '../../lib/domain/time-zones';

const HOUR = 3_600_000;

function failureOf(fn: () => unknown): { code?: string; target?: string } {
  try {
    fn();
  } catch (err) {
    if (isKluisErrorLike(err)) return { code: err.code, target: err.target };
    return { code: `not a KluisError: ${String(err)}` };
  }
  return {};
}

describe('resolveTimeZone', () => {
  it.each([
    ['W. Europe Standard Time', 'Europe/Berlin'],
    ['UTC', 'UTC'],
    ['Pacific Standard Time', 'America/Los_Angeles'],
    ['Eastern Standard Time', 'America/New_York'],
    ['Romance Standard Time', 'Europe/Paris'],
    ['AUS Eastern Standard Time', 'Australia/Sydney'],
    ['UTC-11', 'Etc/GMT+11'],
  ])('maps the Windows zone %s to %s', (windows, iana) => {
    expect(resolveTimeZone(windows)).toBe(iana);
  });

  it('treats Windows ids case-insensitively and ignores surrounding blanks', () => {
    expect(resolveTimeZone('w. europe standard time')).toBe('Europe/Berlin');
    expect(resolveTimeZone('  Pacific Standard Time ')).toBe('America/Los_Angeles');
  });

  it('accepts IANA ids, in their canonical spelling', () => {
    expect(resolveTimeZone('Europe/Amsterdam')).toBe('Europe/Amsterdam');
    expect(resolveTimeZone('america/new_york')).toBe('America/New_York');
    expect(resolveTimeZone('Etc/GMT-3')).toBe('Etc/GMT-3');
  });

  it('maps every Windows zone of the CLDR table to a zone the runtime knows', () => {
    const names = [...new Set(WINDOWS_TO_IANA_MAP.map((entry) => entry.windowsName))];
    expect(names.length).toBeGreaterThan(100);
    for (const name of names) {
      const iana = resolveTimeZone(name);
      expect(() => new Intl.DateTimeFormat('en-US', { timeZone: iana })).not.toThrow();
    }
  });

  it.each(['Mars/Olympus_Mons', 'Central European Time', '+01:00', 'UTC+1', '', 'Europe/', '../etc/passwd'])(
    'rejects %p with KluisInvalidRequest on properties.timeZone',
    (id) => {
      expect(failureOf(() => resolveTimeZone(id))).toEqual({ code: 'KluisInvalidRequest', target: 'properties.timeZone' });
      expect(isKnownTimeZone(id)).toBe(false);
    },
  );

  it('names the given target', () => {
    expect(failureOf(() => resolveTimeZone('Nowhere', 'timeZone'))).toEqual({ code: 'KluisInvalidRequest', target: 'timeZone' });
  });

  it('defaults to UTC', () => {
    expect(DEFAULT_TIME_ZONE).toBe('UTC');
    expect(isKnownTimeZone(DEFAULT_TIME_ZONE)).toBe(true);
  });
});

describe('zonedWallClock', () => {
  it('gives the local date, time and weekday', () => {
    expect(zonedWallClock(new Date('2026-11-21T18:00:00Z'), 'Europe/Amsterdam')).toEqual({
      year: 2026,
      month: 11,
      day: 21,
      hour: 19,
      minute: 0,
      second: 0,
      weekday: 6,
    });
    expect(zonedWallClock(new Date('2026-07-01T03:15:30Z'), 'America/New_York')).toEqual({
      year: 2026,
      month: 6,
      day: 30,
      hour: 23,
      minute: 15,
      second: 30,
      weekday: 2,
    });
  });

  it('reports midnight as hour 0, not 24', () => {
    expect(zonedWallClock(new Date('2026-01-01T00:00:00Z'), 'UTC')).toMatchObject({ day: 1, hour: 0, weekday: 4 });
  });

  it('follows the offset through DST', () => {
    expect(utcOffsetMs(new Date('2026-01-15T12:00:00Z'), 'Europe/Amsterdam')).toBe(1 * HOUR);
    expect(utcOffsetMs(new Date('2026-07-15T12:00:00Z'), 'Europe/Amsterdam')).toBe(2 * HOUR);
    expect(utcOffsetMs(new Date('2026-01-15T12:00:00Z'), 'America/New_York')).toBe(-5 * HOUR);
    expect(utcOffsetMs(new Date('2026-07-15T12:00:00Z'), 'America/New_York')).toBe(-4 * HOUR);
    expect(utcOffsetMs(new Date('2026-07-15T12:00:00Z'), 'Asia/Kolkata')).toBe(5.5 * HOUR);
  });

  it('gives the local date key', () => {
    expect(localDateKey(new Date('2026-03-01T04:00:00Z'), 'America/New_York')).toBe('2026-02-28');
    expect(localDateKey(new Date('2026-03-01T04:00:00Z'), 'UTC')).toBe('2026-03-01');
  });
});

describe('fromZonedWallClock', () => {
  const iso = (parts: Parameters<typeof fromZonedWallClock>[0], zone: string): string => fromZonedWallClock(parts, zone).toISOString();

  it('converts ordinary local times', () => {
    expect(iso({ year: 2026, month: 11, day: 21, hour: 19, minute: 0 }, 'Europe/Amsterdam')).toBe('2026-11-21T18:00:00.000Z');
    expect(iso({ year: 2026, month: 7, day: 1, hour: 19, minute: 0 }, 'Europe/Amsterdam')).toBe('2026-07-01T17:00:00.000Z');
    expect(iso({ year: 2026, month: 6, day: 1, hour: 12, minute: 0 }, 'Asia/Kolkata')).toBe('2026-06-01T06:30:00.000Z');
    expect(iso({ year: 2026, month: 6, day: 1, hour: 12, minute: 0, second: 5 }, 'UTC')).toBe('2026-06-01T12:00:05.000Z');
  });

  it('round-trips zonedWallClock on every hour of a DST year', () => {
    for (const zone of ['Europe/Amsterdam', 'America/New_York']) {
      for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 7 * HOUR) {
        const instant = new Date(t);
        const back = fromZonedWallClock(zonedWallClock(instant, zone), zone);
        // Only the second hour of a fall-back overlap maps back to the first occurrence.
        const diff = instant.getTime() - back.getTime();
        expect([0, HOUR]).toContain(diff);
        if (diff !== 0) expect(utcOffsetMs(back, zone)).toBe(utcOffsetMs(instant, zone) + HOUR);
      }
    }
  });

  describe('Europe/Amsterdam', () => {
    it('moves a time in the spring-forward gap forward by the gap (02:30 → 03:30 CEST)', () => {
      const instant = fromZonedWallClock({ year: 2026, month: 3, day: 29, hour: 2, minute: 30 }, 'Europe/Amsterdam');
      expect(instant.toISOString()).toBe('2026-03-29T01:30:00.000Z');
      expect(zonedWallClock(instant, 'Europe/Amsterdam')).toMatchObject({ hour: 3, minute: 30 });
    });

    it('takes the first occurrence of a fall-back time (02:30 CEST, not CET)', () => {
      expect(iso({ year: 2026, month: 10, day: 25, hour: 2, minute: 30 }, 'Europe/Amsterdam')).toBe('2026-10-25T00:30:00.000Z');
    });

    it('is exact at the edges of the changes', () => {
      expect(iso({ year: 2026, month: 3, day: 29, hour: 2, minute: 0 }, 'Europe/Amsterdam')).toBe('2026-03-29T01:00:00.000Z');
      expect(iso({ year: 2026, month: 3, day: 29, hour: 3, minute: 0 }, 'Europe/Amsterdam')).toBe('2026-03-29T01:00:00.000Z');
      expect(iso({ year: 2026, month: 3, day: 29, hour: 1, minute: 59 }, 'Europe/Amsterdam')).toBe('2026-03-29T00:59:00.000Z');
      expect(iso({ year: 2026, month: 10, day: 25, hour: 3, minute: 0 }, 'Europe/Amsterdam')).toBe('2026-10-25T02:00:00.000Z');
      expect(iso({ year: 2026, month: 10, day: 25, hour: 1, minute: 59 }, 'Europe/Amsterdam')).toBe('2026-10-24T23:59:00.000Z');
    });
  });

  describe('America/New_York', () => {
    it('moves 02:30 on the spring-forward day to 03:30 EDT', () => {
      const instant = fromZonedWallClock({ year: 2026, month: 3, day: 8, hour: 2, minute: 30 }, 'America/New_York');
      expect(instant.toISOString()).toBe('2026-03-08T07:30:00.000Z');
      expect(zonedWallClock(instant, 'America/New_York')).toMatchObject({ day: 8, hour: 3, minute: 30 });
    });

    it('takes 01:30 EDT, the first of the two 01:30s on the fall-back day', () => {
      expect(iso({ year: 2026, month: 11, day: 1, hour: 1, minute: 30 }, 'America/New_York')).toBe('2026-11-01T05:30:00.000Z');
    });
  });

  it('moves past a whole skipped day (Pacific/Apia, 30 December 2011)', () => {
    const instant = fromZonedWallClock({ year: 2011, month: 12, day: 30, hour: 12, minute: 0 }, 'Pacific/Apia');
    expect(zonedWallClock(instant, 'Pacific/Apia')).toMatchObject({ year: 2011, month: 12, day: 31, hour: 12 });
  });

  it('rolls over out-of-range fields like Date.UTC', () => {
    expect(iso({ year: 2026, month: 1, day: 31, hour: 24, minute: 0 }, 'UTC')).toBe('2026-02-01T00:00:00.000Z');
  });
});
