/**
 * Time zones of backup policies: Windows zone ids (what Azure Backup stores, "W. Europe Standard Time")
 * and IANA ids ("Europe/Amsterdam"), and the wall-clock arithmetic schedules need.
 *
 * Everything here is pure: zone rules come from the runtime's ICU data through Intl, Windows ids are
 * mapped with the CLDR table of `windows-iana`.
 *
 * Daylight saving, the one rule used everywhere in Kluis (the same as Temporal's "compatible"):
 * - a local time that does not exist (spring forward, e.g. 02:30 on 2026-03-29 in Europe/Amsterdam)
 *   is moved forward by the length of the gap (→ 03:30 CEST);
 * - a local time that exists twice (fall back, e.g. 02:30 on 2026-10-25 in Europe/Amsterdam) means
 *   its FIRST occurrence (02:30 CEST = 00:30Z), so a schedule runs once, not twice.
 */
import { WINDOWS_TO_IANA_MAP } from 'windows-iana';
import { errors } from './errors';

/** The zone of a policy that names none (Azure's default too). */
export const DEFAULT_TIME_ZONE = 'UTC';

/** A local date and time in some zone. `month` is 1–12, `weekday` 0 (Sunday)–6 (Saturday). */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

/** What fromZonedWallClock needs: a local date and time; seconds default to 0, the weekday is implied. */
export type WallClockInput = Omit<WallClock, 'second' | 'weekday'> & { second?: number };

const MS_PER_DAY = 86_400_000;

// IANA names: letters, digits, '_', '+', '-' in '/'-separated parts, starting with a letter.
// Rejects offsets such as "+01:00", which newer runtimes accept but older ones do not.
const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

/** Windows zone id (lower case) → its IANA zone (the CLDR "001" territory entry, the zone's main city). */
const WINDOWS_ZONES: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  for (const entry of WINDOWS_TO_IANA_MAP) {
    if (entry.territory === '001') map.set(entry.windowsName.toLowerCase(), entry.iana[0]);
  }
  return map;
})();

/**
 * The IANA zone for a policy's `timeZone`: a Windows zone id (case-insensitive, as Windows treats
 * them) or an IANA id known to the runtime. Anything else is a KluisInvalidRequest on `target`.
 */
export function resolveTimeZone(id: string, target = 'properties.timeZone'): string {
  const trimmed = id.trim();
  const fromWindows = WINDOWS_ZONES.get(trimmed.toLowerCase());
  if (fromWindows !== undefined) return canonicalIana(fromWindows) ?? fromWindows;
  const iana = IANA_NAME.test(trimmed) ? canonicalIana(trimmed) : undefined;
  if (iana === undefined) {
    throw errors.invalidRequest(
      target,
      `The time zone '${truncate(id)}' is unknown. Use a Windows time zone id such as 'W. Europe Standard Time' or 'UTC', or an IANA id such as 'Europe/Amsterdam'.`,
    );
  }
  return iana;
}

/** True when resolveTimeZone accepts `id`. */
export function isKnownTimeZone(id: string): boolean {
  try {
    resolveTimeZone(id);
    return true;
  } catch {
    return false;
  }
}

/** The local date and time of an instant in an IANA zone. */
export function zonedWallClock(date: Date, timeZone: string): WallClock {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('zonedWallClock: invalid date');
  const parts = formatterFor(timeZone).formatToParts(date);
  const field = (type: Intl.DateTimeFormatPartTypes): number => {
    const part = parts.find((p) => p.type === type);
    if (part === undefined) throw new RangeError(`zonedWallClock: no ${type} for ${timeZone}`);
    return Number(part.value);
  };
  const era = parts.find((p) => p.type === 'era')?.value;
  const yearOfEra = field('year');
  const year = era === 'BC' || era === 'B' ? 1 - yearOfEra : yearOfEra;
  const month = field('month');
  const day = field('day');
  return {
    year,
    month,
    day,
    hour: field('hour'),
    minute: field('minute'),
    second: field('second'),
    weekday: new Date(utcMs(year, month, day, 0, 0, 0)).getUTCDay(),
  };
}

/**
 * The instant at which the local time `parts` occurs in an IANA zone, with the DST rule of this
 * module: a time in a spring-forward gap moves forward by the gap, an ambiguous time takes its first
 * occurrence. Out-of-range fields roll over like Date.UTC (hour 24 is the next day's 00:00).
 */
export function fromZonedWallClock(parts: WallClockInput, timeZone: string): Date {
  const wallMs = utcMs(parts.year, parts.month, parts.day, parts.hour, parts.minute, parts.second ?? 0);
  if (!Number.isFinite(wallMs)) throw new RangeError('fromZonedWallClock: invalid local time');
  // Offsets in force around that local time; DST changes are hours apart, so a day either side finds both.
  const before = offsetAt(wallMs - MS_PER_DAY, timeZone);
  const after = offsetAt(wallMs + MS_PER_DAY, timeZone);
  if (before === after && offsetAt(wallMs - before, timeZone) === before) return new Date(wallMs - before);
  const offsets = [...new Set([before, offsetAt(wallMs, timeZone), after])];
  const valid = offsets
    .map((offset) => wallMs - offset)
    .filter((instant) => offsetAt(instant, timeZone) === wallMs - instant)
    .sort((a, b) => a - b);
  if (valid.length > 0) return new Date(valid[0]);
  // In a gap: read the local time with the offset before the change (the smaller one), which lands
  // the same distance after the change as the local time was after its start.
  return new Date(wallMs - Math.min(...offsets));
}

/** The zone's offset from UTC at an instant, in milliseconds (east positive). */
export function utcOffsetMs(date: Date, timeZone: string): number {
  return offsetAt(date.getTime(), timeZone);
}

/** `YYYY-MM-DD` of the local date of an instant in a zone. */
export function localDateKey(date: Date, timeZone: string): string {
  const w = zonedWallClock(date, timeZone);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

// ---- internals ------------------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

function canonicalIana(id: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: id }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

function offsetAt(instantMs: number, timeZone: string): number {
  const wholeSecond = Math.floor(instantMs / 1000) * 1000;
  const w = zonedWallClock(new Date(wholeSecond), timeZone);
  return utcMs(w.year, w.month, w.day, w.hour, w.minute, w.second) - wholeSecond;
}

/** Date.UTC that also works for years 0–99 (Date.UTC maps those to 1900–1999). */
function utcMs(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

function truncate(value: string, max = 100): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}
