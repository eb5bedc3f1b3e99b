/**
 * Calendar arithmetic for retention: adding a retention duration to a recovery point's time in the
 * policy's zone, and the day-of-month facts the monthly and yearly rules select on.
 *
 * Durations are calendar durations on the local wall clock, as a user reads "keep for 30 days":
 * a point taken at 02:30 is kept until 02:30 local time, also across a daylight-saving change, so
 * the span in UTC is an hour shorter or longer then. A local time that does not exist or exists
 * twice is resolved by time-zones.ts's one DST rule (forward over a gap, first of two occurrences).
 * Months and years keep the day of month, clamped to the target month (31 Jan + 1 month = 28 or
 * 29 Feb; 29 Feb + 1 year = 28 Feb).
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

/** `date` plus a duration, in calendar terms. */
export function addToDate(date: CalendarDate, duration: RetentionDuration): CalendarDate {
  const { count, durationType } = duration;
  switch (durationType) {
    case 'Days':
      return addDays(date, count);
    case 'Weeks':
      return addDays(date, 7 * count);
    case 'Months':
      return addMonths(date, count);
    case 'Years':
      return addMonths(date, 12 * count);
  }
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

function addMonths(date: CalendarDate, months: number): CalendarDate {
  const index = date.year * 12 + (date.month - 1) + months;
  const year = Math.floor(index / 12);
  const month = index - year * 12 + 1;
  return { year, month, day: Math.min(date.day, daysInMonth(year, month)) };
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}
