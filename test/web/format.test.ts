import { consistencyLabel, endOfUtcDay, formatBytes, formatDuration, formatRelative, formatTime, parseIsoDuration, plural } from '../../web/src/logic/format';

describe('dashboard formatting', () => {
  it('writes byte counts in binary units', () => {
    expect([0, 512, 1536, 64 * 1024 * 1024, 1.5 * 1024 ** 3, 20 * 1024 ** 4].map(formatBytes)).toEqual(['0 B', '512 B', '1.5 KiB', '64 MiB', '1.5 GiB', '20 TiB']);
    expect(formatBytes(undefined)).toBe('—');
    expect(formatBytes(-1)).toBe('—');
  });

  it('reads ISO 8601 durations as Azure writes them and says them shortly', () => {
    expect(parseIsoDuration('PT9.87S')).toBeCloseTo(9.87);
    expect(parseIsoDuration('PT1H2M3S')).toBe(3723);
    expect(parseIsoDuration('P1DT2H')).toBe(93_600);
    expect(parseIsoDuration('PT')).toBeUndefined();
    expect(parseIsoDuration('9 seconds')).toBeUndefined();
    expect(['PT9.87S', 'PT2M5S', 'PT2H1M', 'P1DT1H', 'PT0S'].map(formatDuration)).toEqual(['9.9 s', '2 min 5 s', '2 h 1 min', '1 d 1 h', '0.0 s']);
  });

  it('writes times in UTC, and how far they are from now', () => {
    expect(formatTime('2026-11-22T00:03:16.372Z')).toBe('2026-11-22 00:03 UTC');
    expect(formatTime('2026-11-22T00:03:16.372Z', { seconds: true })).toBe('2026-11-22 00:03:16 UTC');
    expect(formatTime('not a time')).toBe('—');
    const now = new Date('2026-11-22T12:00:00Z');
    expect(formatRelative('2026-11-22T19:00:00Z', now)).toBe('in 7 h');
    expect(formatRelative('2026-11-22T11:30:00Z', now)).toBe('30 min ago');
    expect(formatRelative('2026-11-22T12:00:10Z', now)).toBe('just now');
  });

  it('ends a retain-until day at 23:59:59 UTC and refuses what is not a date', () => {
    expect(endOfUtcDay('2026-12-31')).toBe('2026-12-31T23:59:59.000Z');
    expect(endOfUtcDay('31-12-2026')).toBeUndefined();
  });

  it('names consistencies and counts', () => {
    expect(consistencyLabel('AppConsistent')).toBe('Application consistent');
    expect(consistencyLabel('CrashConsistent')).toBe('Crash consistent');
    expect(plural(1, 'item')).toBe('1 item');
    expect(plural(3, 'item')).toBe('3 items');
  });
});
