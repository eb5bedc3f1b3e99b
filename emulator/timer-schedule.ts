/**
 * Timer trigger schedules as the Functions host reads them (WebJobs `TimerSchedule.Create`):
 * first an NCRONTAB expression — six fields `{second} {minute} {hour} {day} {month} {day-of-week}`,
 * or five without seconds — and otherwise a .NET TimeSpan (`00:05:00`, `1.00:00:00`), which means
 * "this long after the previous occurrence".
 *
 * NCRONTAB rules kept here: day-of-week is 0–6 with Sunday = 0 (7 is an error); names are
 * case-insensitive prefixes of English month/day names (`Jan`, `MON`, `Thursday`); a range may be
 * written backwards (`5-1` = `1-5`); `a/n` means `a-max/n`; day-of-month and day-of-week must *both*
 * match (AND, unlike Vixie cron's OR); `?`, `L`, `W` and `#` are not supported.
 *
 * Occurrences are computed on local wall-clock time of an IANA time zone (WEBSITE_TIME_ZONE style,
 * default UTC) with the host's DST rules (CronSchedule.GetNextOccurrence):
 * - a time skipped by "spring forward" is read with the standard offset, so 02:30 runs at 03:30;
 * - on "fall back", a point-in-time schedule (no `*`, range or step in second/minute/hour, e.g.
 *   `0 30 2 * * *`) runs once, in the first pass; an interval schedule (a `*`, range or step there, e.g. every 20 minutes) runs in both.
 * croner finds the next matching wall-clock time; it is fed explicit value lists so NCRONTAB's
 * parsing rules, not croner's, decide what an expression means.
 */
import { Cron } from 'croner';

export class ScheduleExpressionError extends Error {
  readonly code = 'InvalidTimerSchedule' as const;
  constructor(
    readonly expression: string,
    reason: string,
  ) {
    super(`Invalid timer schedule '${expression}': ${reason}`);
    this.name = 'ScheduleExpressionError';
  }
}

export interface Schedule {
  readonly expression: string;
  readonly kind: 'cron' | 'interval';
  /** The host reports `adjustForDST: true` for cron schedules and false for TimeSpan intervals. */
  readonly adjustForDST: boolean;
  /** Sub-minute schedules: the host turns the schedule monitor (past-due tracking) off for these. */
  readonly runsMoreThanOncePerMinute: boolean;
  /** The first occurrence strictly after `after`. timeZone: an IANA name; default UTC. */
  next(after: Date, timeZone?: string): Date;
  nextOccurrences(count: number, after: Date, timeZone?: string): Date[];
  describe(): string;
}

// ---------------------------------------------------------------------------------------------
// Time zones

const UTC_NAMES = new Set(['utc', 'etc/utc', 'gmt', 'etc/gmt', 'z']);

function isUtc(timeZone: string | undefined): boolean {
  return timeZone === undefined || UTC_NAMES.has(timeZone.toLowerCase());
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new Error(`Unknown time zone '${timeZone}': use an IANA name such as 'Europe/Amsterdam' or 'UTC'`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws when the name is not a time zone this runtime knows. */
export function assertTimeZone(timeZone: string): void {
  if (!isUtc(timeZone)) formatterFor(timeZone);
}

/** The zone's UTC offset in ms at an instant (wall clock − UTC). */
export function utcOffsetMs(instantMs: number, timeZone: string | undefined): number {
  if (isUtc(timeZone)) return 0;
  const parts = formatterFor(timeZone as string).formatToParts(new Date(instantMs));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  const wholeSecond = instantMs - (((instantMs % 1000) + 1000) % 1000);
  return wall - wholeSecond;
}

const DAY_MS = 86_400_000;

/** The instants (ascending) whose wall-clock time is `wallMs`: none in a DST gap, two in an overlap. */
function instantsForWall(wallMs: number, timeZone: string): { instants: number[]; offsets: number[] } {
  const offsets = [...new Set([wallMs - 1.5 * DAY_MS, wallMs, wallMs + 1.5 * DAY_MS].map((t) => utcOffsetMs(t, timeZone)))];
  const instants = offsets.filter((o) => utcOffsetMs(wallMs - o, timeZone) === o).map((o) => wallMs - o);
  return { instants: instants.sort((a, b) => a - b), offsets };
}

function isAmbiguousWall(wallMs: number, timeZone: string): boolean {
  return instantsForWall(wallMs, timeZone).instants.length > 1;
}

/**
 * .NET's `new DateTimeOffset(localDateTime)`: a skipped (invalid) or repeated (ambiguous) wall time
 * takes the zone's standard offset — the smaller of the offsets around the transition.
 */
function wallToInstantLikeDotNet(wallMs: number, timeZone: string): number {
  const { instants, offsets } = instantsForWall(wallMs, timeZone);
  if (instants.length === 1) return instants[0];
  return wallMs - Math.min(...offsets);
}

// ---------------------------------------------------------------------------------------------
// NCRONTAB fields

interface FieldSpec {
  readonly label: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const SECOND: FieldSpec = { label: 'second', min: 0, max: 59 };
const MINUTE: FieldSpec = { label: 'minute', min: 0, max: 59 };
const HOUR: FieldSpec = { label: 'hour', min: 0, max: 23 };
const DAY: FieldSpec = { label: 'day', min: 1, max: 31 };
const MONTH: FieldSpec = {
  label: 'month',
  min: 1,
  max: 12,
  names: ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'],
};
const DAY_OF_WEEK: FieldSpec = {
  label: 'day-of-week',
  min: 0,
  max: 6,
  names: ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'],
};

class FieldError extends Error {}

function parseValue(text: string, spec: FieldSpec): number {
  if (text === '') throw new FieldError('a value is empty');
  if (/^\d/.test(text)) {
    if (!/^\d+$/.test(text)) throw new FieldError(`'${text}' is not a number`);
    return Number(text);
  }
  if (!spec.names) throw new FieldError(`'${text}' is not a number between ${spec.min} and ${spec.max}`);
  const index = spec.names.findIndex((name) => name.toLowerCase().startsWith(text.toLowerCase()));
  if (index === -1) throw new FieldError(`'${text}' is not a known name; use one of ${spec.names.join(', ')}`);
  return index + spec.min;
}

function checkInRange(value: number, spec: FieldSpec): void {
  if (value < spec.min || value > spec.max) {
    const hint = spec === DAY_OF_WEEK && value === 7 ? ' (Sunday is 0)' : '';
    throw new FieldError(`${value} is outside ${spec.min}-${spec.max}${hint}`);
  }
}

/** One field into its sorted set of values, following NCrontab's CrontabFieldImpl. */
function parseField(text: string, spec: FieldSpec): number[] {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    let body = item;
    let step = 1;
    const slash = item.indexOf('/');
    if (slash !== -1) {
      const stepText = item.slice(slash + 1);
      if (!/^\d+$/.test(stepText)) throw new FieldError(`step '${stepText}' in '${item}' is not a number`);
      step = Math.max(1, Number(stepText));
      body = item.slice(0, slash);
    }
    let first: number;
    let last: number;
    if (body === '*') {
      [first, last] = [spec.min, spec.max];
    } else if (body.indexOf('-') > 0) {
      const dash = body.indexOf('-');
      first = parseValue(body.slice(0, dash), spec);
      last = parseValue(body.slice(dash + 1), spec);
      if (first > last) [first, last] = [last, first];
      checkInRange(first, spec);
      checkInRange(last, spec);
    } else {
      first = parseValue(body, spec);
      checkInRange(first, spec);
      last = slash === -1 ? first : spec.max;
    }
    for (let v = first; v <= last; v += step) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

function isFull(values: readonly number[], spec: FieldSpec): boolean {
  return values.length === spec.max - spec.min + 1;
}

/** NCrontab prints a field as `*`, or runs `a-b`; the host calls a schedule an interval when any such shows in s/m/h. */
function looksLikeInterval(values: readonly number[], spec: FieldSpec): boolean {
  return isFull(values, spec) || values.some((v, i) => i > 0 && values[i - 1] === v - 1);
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

class CronSchedule implements Schedule {
  readonly kind = 'cron' as const;
  readonly adjustForDST = true;
  readonly runsMoreThanOncePerMinute: boolean;
  private readonly isInterval: boolean;
  private readonly cron: Cron;

  constructor(
    readonly expression: string,
    fields: readonly (readonly number[])[],
  ) {
    const [seconds, minutes, hours] = fields;
    const specs = [SECOND, MINUTE, HOUR, DAY, MONTH, DAY_OF_WEEK];
    this.isInterval = looksLikeInterval(seconds, SECOND) || looksLikeInterval(minutes, MINUTE) || looksLikeInterval(hours, HOUR);
    this.runsMoreThanOncePerMinute = seconds.length > 1 && fields.slice(1).every((values, i) => isFull(values, specs[i + 1]));
    const pattern = fields.map((values, i) => (isFull(values, specs[i]) ? '*' : values.join(','))).join(' ');
    // Naive wall-clock arithmetic: croner in UTC has no DST; time zones are handled in next().
    this.cron = new Cron(pattern, { timezone: 'Etc/UTC', mode: '6-part', domAndDow: true });
  }

  private nextWall(afterWallMs: number): number {
    const next = this.cron.nextRun(new Date(afterWallMs));
    if (!next) throw new Error(`Timer schedule '${this.expression}' has no further occurrence`);
    return next.getTime();
  }

  next(after: Date, timeZone?: string): Date {
    const nowMs = after.getTime();
    if (Number.isNaN(nowMs)) throw new Error('Schedule.next: invalid date');
    if (isUtc(timeZone)) return new Date(this.nextWall(nowMs));
    const tz = timeZone as string;

    const nowOffset = utcOffsetMs(nowMs, tz);
    const nextWall = this.nextWall(nowMs + nowOffset);
    const nextMs = wallToInstantLikeDotNet(nextWall, tz);
    const nextOffset = utcOffsetMs(nextMs, tz);
    const nowAmbiguous = isAmbiguousWall(nowMs + nowOffset, tz);
    const nextAmbiguous = isAmbiguousWall(nextMs + nextOffset, tz);
    if (!nowAmbiguous && !nextAmbiguous) return new Date(nextMs);

    if (!this.isInterval && nextAmbiguous) {
      if (nextOffset !== nowOffset) {
        // Into "fall back" from daylight time: run a point-in-time schedule in the first (daylight) pass.
        return new Date(nextMs + (nextOffset - nowOffset));
      }
      // Already in standard time inside the repeated hour: that time has run in the first pass.
      let wall = nextWall;
      while (isAmbiguousWall(wall, tz)) wall = this.nextWall(wall);
      return new Date(wallToInstantLikeDotNet(wall, tz));
    }
    if (this.isInterval && nextOffset !== nowOffset) {
      // Interval schedules keep running through both passes of the repeated hour.
      return new Date(nextMs + (nextOffset - nowOffset));
    }
    return new Date(nextMs);
  }

  nextOccurrences(count: number, after: Date, timeZone?: string): Date[] {
    return occurrences(this, count, after, timeZone);
  }

  describe(): string {
    return `Cron: '${this.expression}'`;
  }
}

class IntervalSchedule implements Schedule {
  readonly kind = 'interval' as const;
  readonly adjustForDST = false;
  readonly runsMoreThanOncePerMinute: boolean;

  constructor(
    readonly expression: string,
    readonly intervalMs: number,
  ) {
    this.runsMoreThanOncePerMinute = intervalMs < 60_000;
  }

  next(after: Date, _timeZone?: string): Date {
    return new Date(after.getTime() + this.intervalMs);
  }

  nextOccurrences(count: number, after: Date, timeZone?: string): Date[] {
    return occurrences(this, count, after, timeZone);
  }

  describe(): string {
    return `Constant: ${formatTimeSpan(this.intervalMs)}`;
  }
}

function occurrences(schedule: Schedule, count: number, after: Date, timeZone?: string): Date[] {
  const result: Date[] = [];
  let at = after;
  for (let i = 0; i < count; i++) {
    at = schedule.next(at, timeZone);
    result.push(at);
  }
  return result;
}

/** .NET's TimeSpan "c" format: [d.]hh:mm:ss[.fffffff]. */
export function formatTimeSpan(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  const rest = ms - days * DAY_MS;
  const pad = (n: number): string => String(n).padStart(2, '0');
  const h = Math.floor(rest / 3_600_000);
  const m = Math.floor((rest % 3_600_000) / 60_000);
  const s = Math.floor((rest % 60_000) / 1000);
  const frac = rest % 1000;
  return `${days ? `${days}.` : ''}${pad(h)}:${pad(m)}:${pad(s)}${frac ? `.${String(frac).padStart(3, '0')}0000` : ''}`;
}

/**
 * .NET TimeSpan.TryParse shapes: `d`, `[d.]hh:mm[:ss[.fffffff]]`, `d:hh:mm:ss[.fffffff]`.
 * Returns undefined when the text is not shaped like a TimeSpan at all.
 */
function parseTimeSpan(expression: string): number | undefined {
  const text = expression.trim();
  let days: number;
  let hours = 0;
  let minutes = 0;
  let seconds = 0;
  let fraction = '';
  let m: RegExpExecArray | null;
  if ((m = /^(-)?(\d+)$/.exec(text))) {
    days = Number(m[2]);
  } else if ((m = /^(-)?(?:(\d+)\.)?(\d+):(\d+)(?::(\d+)(?:\.(\d{1,7}))?)?$/.exec(text))) {
    [days, hours, minutes, seconds] = [m[2] ?? '0', m[3], m[4], m[5] ?? '0'].map(Number);
    fraction = m[6] ?? '';
  } else if ((m = /^(-)?(\d+):(\d+):(\d+):(\d+)(?:\.(\d{1,7}))?$/.exec(text))) {
    [days, hours, minutes, seconds] = [m[2], m[3], m[4], m[5]].map(Number);
    fraction = m[6] ?? '';
  } else {
    return undefined;
  }
  if (m[1]) throw new ScheduleExpressionError(expression, 'a TimeSpan interval must be positive');
  if (hours > 23) throw new ScheduleExpressionError(expression, `hours must be 0-23 in a TimeSpan (write one day as '1.00:00:00')`);
  if (minutes > 59) throw new ScheduleExpressionError(expression, 'minutes must be 0-59 in a TimeSpan');
  if (seconds > 59) throw new ScheduleExpressionError(expression, 'seconds must be 0-59 in a TimeSpan');
  const ms = (((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000 + Math.round(Number(`0.${fraction || '0'}`) * 1000);
  if (ms <= 0) throw new ScheduleExpressionError(expression, 'a TimeSpan interval must be longer than zero');
  return ms;
}

function parseCron(expression: string): CronSchedule {
  const tokens = expression.split(' ').filter((t) => t !== '');
  const withSeconds = tokens.length === 6;
  const fieldTexts = withSeconds ? tokens : ['0', ...tokens];
  const specs = [SECOND, MINUTE, HOUR, DAY, MONTH, DAY_OF_WEEK];
  const fields = fieldTexts.map((text, i) => {
    try {
      return parseField(text, specs[i]);
    } catch (e) {
      if (e instanceof FieldError) throw new ScheduleExpressionError(expression, `${specs[i].label} field '${text}': ${e.message}`);
      throw e;
    }
  });
  const [, , , days, months] = fields;
  if (!months.some((month) => days.some((day) => day <= DAYS_IN_MONTH[month - 1]))) {
    throw new ScheduleExpressionError(expression, 'the day and month fields never occur together (e.g. 30 February)');
  }
  return new CronSchedule(expression, fields);
}

/**
 * Parses a timer trigger schedule: NCRONTAB (6 fields, or 5 without seconds) first, then a TimeSpan,
 * like the host. Throws ScheduleExpressionError naming the expression and what is wrong.
 */
export function parseSchedule(expression: string): Schedule {
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw new ScheduleExpressionError(String(expression), 'the schedule is empty');
  }
  const tokens = expression.split(' ').filter((t) => t !== '');
  if (tokens.length === 5 || tokens.length === 6) return parseCron(expression);
  const intervalMs = parseTimeSpan(expression);
  if (intervalMs !== undefined) return new IntervalSchedule(expression, intervalMs);
  throw new ScheduleExpressionError(
    expression,
    `expected an NCRONTAB expression with 6 fields '{second} {minute} {hour} {day} {month} {day-of-week}' (or 5 without seconds), or a TimeSpan such as '00:05:00'; got ${tokens.length} field(s)`,
  );
}
