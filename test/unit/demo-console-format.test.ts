/** The plain-text formatting `npm start` prints with: tables, durations, sizes, times and errors. */
import { formatDuration, formatError, formatSize, formatTable, formatTime, isoDurationSeconds } from '../../emulator/demo/console-format';

describe('npm start console formatting', () => {
  it('pads every column but the last to its widest cell, under a rule', () => {
    expect(formatTable(['VM', 'Status', 'Note'], [['win-app01', 'Completed', ''], ['db', 'Failed', 'see below']])).toEqual([
      '  VM         Status     Note',
      '  ─────────  ─────────  ─────────',
      '  win-app01  Completed',
      '  db         Failed     see below',
    ]);
  });

  it('reads ISO 8601 durations as Azure prints job durations', () => {
    expect(isoDurationSeconds('PT0S')).toBe(0);
    expect(isoDurationSeconds('PT2.345S')).toBeCloseTo(2.345);
    expect(isoDurationSeconds('PT1H2M3.5S')).toBeCloseTo(3723.5);
    expect(isoDurationSeconds('P1DT2H')).toBe(93_600);
    expect(isoDurationSeconds('soon')).toBeUndefined();
    expect(formatDuration('PT2.345S')).toBe('2.3 s');
    expect(formatDuration('PT1M5.4S')).toBe('1 min 5 s');
    expect(formatDuration('later')).toBe('later');
  });

  it('prints sizes, times and ARM errors for people', () => {
    expect(formatSize(64 * 1024 * 1024)).toBe('64 MiB');
    expect(formatSize(2 * 1024 ** 3)).toBe('2 GiB');
    expect(formatTime('2026-11-21T23:41:30.123Z')).toBe('2026-11-21 23:41:30 UTC');
    expect(formatTime('never')).toBe('never');
    expect(formatError({ code: 'UserErrorOnDemandBackupLimitReached', message: 'Three a day.', recommendation: 'Wait until tomorrow.' })).toEqual([
      '  UserErrorOnDemandBackupLimitReached: Three a day.',
      '  Recommendation: Wait until tomorrow.',
    ]);
    expect(formatError({ code: 'Http500', message: 'boom' }, '    ')).toEqual(['    Http500: boom']);
  });
});
