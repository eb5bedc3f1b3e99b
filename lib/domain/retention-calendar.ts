/**
 * Calendar arithmetic for retention: adding a retention duration to a recovery point's time in the
 * policy's zone, and the day-of-month facts the monthly and yearly rules select on.
 *
 * Every duration is a whole number of days (retentionDaysOf), as Azure Backup counts them:
 * - Days: the count; Weeks: 7 days each.
 * - Months: 31 days each — Azure: "The retention period for monthly backups is calculated by using
 *   31 days for each month. When you multiply 31 days by 12 months, the total retention duration
 *   becomes 372 days. This approach ensures consistent retention across all months, regardless of
 *   their actual number of days." (Instant Restore FAQ, learn.microsoft.com/azure/backup/
 *   backup-instant-restore-capability, 2025-06-16).
 * - Years: Azure documents no day count. Kluis counts 372 days (12 × 31) per year: a yearly rule of
 *   N years keeps a point exactly as long as a monthly rule of 12·N months, and never less than any
 *   calendar year (365/366 days), so no reading of Azure's rule deletes a yearly point earlier.
 * The days are added on the local wall clock of the policy's zone, as a user reads "keep for 30
 * days": a point taken at 02:30 is kept until 02:30 local time, also across a daylight-saving change
 * (the span in UTC is then an hour shorter or longer). A local time that does not exist or exists
 * twice is resolved by time-zones.ts's one DST rule (forward over a gap, first of two occurrences).
 */
import type { RetentionDuration } from './policy';
import { fromZonedWallClock, zonedWallClock, type WallClock } from './time-zones';

/** A calendar date (no time, no zone); `month` is 1–12. */
export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

/** The point's time plus `duration`, on the wall clock of `timeZone` (an IANA id); ISO 8601 UTC. */
export function addDuration(timeIso: string, duration: RetentionDuration, timeZone: string): string {
  const instant = Date.parse(timeIso);
  if (!Number.isFinite(instant)) throw new RangeError(`addDuration: '${timeIso}' is not an ISO date-time`);
  return new Date(addDurationToInstant(instant, duration, timeZone)).toISOString();
}

/** addDuration on epoch milliseconds. */
export function addDurationToInstant(instantMs: number, duration: RetentionDuration, timeZone: string): number {
  const wall = zonedWallClock(new Date(instantMs), timeZone);
  const date = addToDate(wall, duration);
  const target = fromZonedWallClock({ ...date, hour: wall.hour, minute: wall.minute, second: wall.second }, timeZone);
  // Zone offsets are whole seconds, so the sub-second part of the point's time carries over unchanged.
  return target.getTime() + (((instantMs % 1000) + 1000) % 1000);
}

/** Days per unit of a retention duration (see the module comment for the sources). */
export const RETENTION_DAYS_PER_UNIT: Readonly<Record<RetentionDuration['durationType'], number>> = {
  Days: 1,
  Weeks: 7,
  Months: 31,
  Years: 12 * 31,
};

/** The whole days a retention duration keeps a point. */
export function retentionDaysOf(duration: RetentionDuration): number {
  return duration.count * RETENTION_DAYS_PER_UNIT[duration.durationType];
}

/** `date` plus a duration's days. */
export function addToDate(date: CalendarDate, duration: RetentionDuration): CalendarDate {
  return addDays(date, retentionDaysOf(duration));
}

/** Days in a month of the proleptic Gregorian calendar; `month` is 1–12. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * Which occurrence of its weekday in the month a day is, as Azure's `weeksOfTheMonth` names it:
 * days 1–7 are the First, 8–14 the Second, 15–21 the Third, 22–28 the Fourth (29–31: none of
 * those); `isLast` when no later day of the month has the same weekday.
 */
export function weekOfMonthOf(date: CalendarDate): { ordinal?: 'First' | 'Second' | 'Third' | 'Fourth'; isLast: boolean } {
  const ordinals = ['First', 'Second', 'Third', 'Fourth'] as const;
  return {
    ordinal: ordinals[Math.floor((date.day - 1) / 7)],
    isLast: date.day + 7 > daysInMonth(date.year, date.month),
  };
}

/** `YYYY-MM-DD HH:mm` of a wall clock, for reasons shown to users. */
export function formatWallClock(wall: Pick<WallClock, 'year' | 'month' | 'day' | 'hour' | 'minute'>): string {
  return `${formatDate(wall)} ${pad(wall.hour)}:${pad(wall.minute)}`;
}

/** `YYYY-MM-DD`. */
export function formatDate(date: CalendarDate): string {
  return `${pad(date.year, 4)}-${pad(date.month)}-${pad(date.day)}`;
}

// ---- internals ------------------------------------------------------------------------------------

function addDays(date: CalendarDate, days: number): CalendarDate {
  const shifted = new Date(0);
  shifted.setUTCFullYear(date.year, date.month - 1, date.day + days);
  return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() };
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}
