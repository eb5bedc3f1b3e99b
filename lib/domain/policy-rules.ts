/**
 * The rules of an Azure IaaS VM backup policy beyond its shape (policy.ts holds the shape), and the
 * policy-level limits of on-demand backups. Pure: no clock, callers pass `now`.
 *
 * validatePolicy() checks a parsed `properties` object against Azure Backup's rules and returns it
 * normalized (defaults filled in, retention times copied from the schedule, the time zone resolved).
 * Every violation is a KluisInvalidRequest whose target names the offending field, e.g.
 * `properties.retentionPolicy.dailySchedule.retentionDuration.count`.
 *
 * Choices where Azure's documentation is silent or vague (see also reference/azure-backup.md):
 * - Run times are read as wall-clock times of day in the policy's time zone; the date and any UTC
 *   offset in "2026-01-01T19:00:00Z" are ignored (Azure does the same: "…T08:00:00+05:30" and
 *   "…T08:00:00Z" both mean 08:00 in the policy zone). Times must fall on the hour or half hour.
 * - Enhanced hourly schedules: interval 4, 6, 8 or 12 hours; window duration 4–24 hours and a whole
 *   multiple of the interval (what the Azure portal offers and what terraform's azurerm provider
 *   enforces). Backups run at window start + k × interval for every k with k × interval < duration,
 *   so the window is half-open and a 24-hour window never runs twice at the same time.
 * - Weekly schedules: weekly, monthly and yearly retention may only name days on which backups run,
 *   and monthly/yearly retention must use the week-based format (a day of the month may not be a run
 *   day). A weekly retention rule is required for weekly schedules, as a daily one is for daily and
 *   hourly schedules.
 * - Standard (V1) weekly schedules keep instant-restore snapshots for exactly 5 days: 5 or absent is
 *   accepted, anything else rejected (Azure silently forces 5; we say so instead).
 * - DefaultPolicy: Standard, daily at 19:00 UTC, daily points kept 30 days, snapshots 2 days. Azure
 *   documents "once a day, 30 days, instant restore 2 days" and picks the time itself; 19:00 is ours.
 */
import { errors } from './errors';
import { checkInstantRestoreDays, INSTANT_RP_LIMITS } from './instant-restore-rules';
import {
  DAYS_OF_WEEK,
  type DayOfWeek,
  type IaasVmPolicyProperties,
  type MonthlyRetentionSchedule,
  type RetentionDuration,
  type RetentionPolicy,
  type SchedulePolicy,
  type YearlyRetentionSchedule,
} from './policy';
import { DEFAULT_TIME_ZONE, localDateKey, resolveTimeZone } from './time-zones';
import { normalizeRestoreDrill } from './restore-drill';

// ---- limits (reference "Numbers") --------------------------------------------------------------------

export const RETENTION_LIMITS = {
  daily: { min: 7, max: 9999, durationType: 'Days' },
  weekly: { min: 1, max: 5163, durationType: 'Weeks' },
  monthly: { min: 1, max: 1188, durationType: 'Months' },
  yearly: { min: 1, max: 99, durationType: 'Years' },
} as const satisfies Record<string, { min: number; max: number; durationType: RetentionDuration['durationType'] }>;

export { INSTANT_RP_LIMITS };

export const HOURLY_INTERVALS = [4, 6, 8, 12] as const;
export const HOURLY_WINDOW_MIN_HOURS = 4;
export const HOURLY_WINDOW_MAX_HOURS = 24;
export const MAX_DAY_OF_MONTH = 28;

/** Standard (V1) policies: at most this many on-demand backups per day. */
export const MAX_ON_DEMAND_BACKUPS_PER_DAY = 3;
export const DEFAULT_ON_DEMAND_RETENTION_DAYS = 30;
export const MAX_ON_DEMAND_RETENTION_YEARS = 99;

// ---- types -------------------------------------------------------------------------------------------

export type PolicyType = 'V1' | 'V2';
export type ScheduleFrequency = 'Daily' | 'Weekly' | 'Hourly';

/** A time of day on the policy's wall clock. */
export interface TimeOfDay {
  hour: number;
  minute: number;
  second: number;
}

/** The schedule of a policy, whatever its V1/V2 shape. */
export interface PolicySchedule {
  frequency: ScheduleFrequency;
  /** Daily/Weekly: the one run time. Hourly: the window start (what Azure uses as retention time). */
  runTimes: TimeOfDay[];
  /** Weekly only, in DAYS_OF_WEEK order. */
  runDays?: DayOfWeek[];
  hourly?: { intervalHours: number; windowStart: TimeOfDay; windowDurationHours: number };
}

/** `properties` after validatePolicy: defaults filled in, plus the resolved IANA zone. */
export type NormalizedPolicy = IaasVmPolicyProperties & {
  policyType: PolicyType;
  instantRpRetentionRangeInDays: number;
  /** As the user gave it (a Windows or IANA id), or "UTC". Shown to users. */
  timeZone: string;
  /** The IANA zone all schedule and retention math uses. Not part of the ARM shape. */
  ianaTimeZone: string;
};

export interface ValidatePolicyOptions {
  /** Prefix of error targets; default `properties`. */
  target?: string;
}

// ---- validation --------------------------------------------------------------------------------------

/** Checks every rule of an IaaS VM policy and returns it normalized; throws KluisInvalidRequest. */
export function validatePolicy(properties: IaasVmPolicyProperties, options: ValidatePolicyOptions = {}): NormalizedPolicy {
  const base = options.target ?? 'properties';
  if (properties.backupManagementType !== 'AzureIaasVM') {
    throw errors.invalidRequest(`${base}.backupManagementType`, "backupManagementType must be 'AzureIaasVM'.");
  }
  const policyType = checkPolicyType(properties, base);
  const timeZone = (properties.timeZone ?? DEFAULT_TIME_ZONE).trim();
  const ianaTimeZone = resolveTimeZone(timeZone, `${base}.timeZone`);
  const schedule = checkSchedule(properties.schedulePolicy, `${base}.schedulePolicy`);
  const retentionPolicy = checkRetention(properties.retentionPolicy, schedule, properties.schedulePolicy, policyType, `${base}.retentionPolicy`);
  const instantRpRetentionRangeInDays = checkInstantRestoreDays(
    properties.instantRpRetentionRangeInDays,
    { policyType, schedulePolicy: properties.schedulePolicy, vaultRetention: vaultRetentionOf(retentionPolicy, schedule) },
    `${base}.instantRpRetentionRangeInDays`,
  );

  const normalized: NormalizedPolicy = {
    backupManagementType: 'AzureIaasVM',
    policyType,
    instantRpRetentionRangeInDays,
    timeZone,
    ianaTimeZone,
    schedulePolicy: structuredClone(properties.schedulePolicy),
    retentionPolicy,
  };
  if (properties.protectedItemsCount !== undefined) normalized.protectedItemsCount = properties.protectedItemsCount;
  if (properties.instantRPDetails !== undefined) normalized.instantRPDetails = structuredClone(properties.instantRPDetails);
  if (properties.tieringPolicy !== undefined) normalized.tieringPolicy = structuredClone(properties.tieringPolicy);
  if (properties.kluisRestoreDrill !== undefined) normalized.kluisRestoreDrill = normalizeRestoreDrill(properties.kluisRestoreDrill);
  return normalized;
}

/** The ARM `properties` of a normalized policy (drops `ianaTimeZone`, which is ours). */
export function policyPropertiesForResponse(policy: NormalizedPolicy): IaasVmPolicyProperties {
  const { ianaTimeZone: _iana, ...properties } = policy;
  return structuredClone(properties);
}

/** The schedule of a policy in one shape. Expects a policy that passed validatePolicy. */
export function policyScheduleOf(properties: Pick<IaasVmPolicyProperties, 'schedulePolicy'>): PolicySchedule {
  return checkSchedule(properties.schedulePolicy, 'properties.schedulePolicy');
}

/** Azure's DefaultPolicy of a new vault (see the module comment for the run time). */
export function defaultPolicy(): IaasVmPolicyProperties {
  const runTime = '2026-01-01T19:00:00Z';
  return {
    backupManagementType: 'AzureIaasVM',
    policyType: 'V1',
    instantRpRetentionRangeInDays: INSTANT_RP_LIMITS.V1.default,
    timeZone: DEFAULT_TIME_ZONE,
    schedulePolicy: {
      schedulePolicyType: 'SimpleSchedulePolicy',
      scheduleRunFrequency: 'Daily',
      scheduleRunTimes: [runTime],
      scheduleWeeklyFrequency: 0,
    },
    retentionPolicy: {
      retentionPolicyType: 'LongTermRetentionPolicy',
      dailySchedule: { retentionTimes: [runTime], retentionDuration: { count: 30, durationType: 'Days' } },
    },
  };
}

// ---- time of day -------------------------------------------------------------------------------------

const TIME_OF_DAY = /T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?/;

/** The wall-clock time of a schedule/retention time string; undefined when it has none. */
export function parseTimeOfDay(value: string): TimeOfDay | undefined {
  const match = TIME_OF_DAY.exec(value);
  if (match === null) return undefined;
  const time = { hour: Number(match[1]), minute: Number(match[2]), second: Number(match[3] ?? '0') };
  if (time.hour > 23 || time.minute > 59 || time.second > 59) return undefined;
  return time;
}

/** `HH:mm` (or `HH:mm:ss` when seconds are set). */
export function formatTimeOfDay(time: TimeOfDay): string {
  const hm = `${pad(time.hour)}:${pad(time.minute)}`;
  return time.second === 0 ? hm : `${hm}:${pad(time.second)}`;
}

// ---- on-demand backups -------------------------------------------------------------------------------

/**
 * The expiry of an on-demand recovery point ("retain until"): `requested` (an ISO 8601 date or
 * date-time; without an offset it is UTC) or, when absent, now + 30 days. It must lie in the future
 * and at most 99 years ahead.
 */
export function onDemandRetainUntil(requested: string | undefined, now: Date, target = 'properties.recoveryPointExpiryTimeInUTC'): Date {
  if (requested === undefined) return new Date(now.getTime() + DEFAULT_ON_DEMAND_RETENTION_DAYS * 86_400_000);
  const expiry = parseUtcDateTime(requested);
  if (expiry === undefined) {
    throw errors.invalidRequest(target, `'${truncate(requested)}' is not a date-time; use ISO 8601, e.g. '2026-12-31T00:00:00Z'.`);
  }
  if (expiry.getTime() <= now.getTime()) {
    throw errors.invalidRequest(target, `The retain-until time ${expiry.toISOString()} is not in the future.`);
  }
  const latest = new Date(now.getTime());
  latest.setUTCFullYear(latest.getUTCFullYear() + MAX_ON_DEMAND_RETENTION_YEARS);
  if (expiry.getTime() > latest.getTime()) {
    throw errors.invalidRequest(target, `The retain-until time ${expiry.toISOString()} is more than ${MAX_ON_DEMAND_RETENTION_YEARS} years ahead.`);
  }
  return expiry;
}

/**
 * How many of `previousOnDemandTimes` (start times of earlier on-demand backups of one item) fall on
 * the calendar day of `now` in `timeZone` (Windows or IANA id; pass the policy's zone, or 'UTC' to
 * count per UTC day). Unparseable times are ignored.
 */
export function onDemandBackupsToday(previousOnDemandTimes: readonly string[], now: Date, timeZone: string): number {
  const zone = resolveTimeZone(timeZone);
  const today = localDateKey(now, zone);
  let count = 0;
  for (const value of previousOnDemandTimes) {
    const time = new Date(value);
    if (Number.isFinite(time.getTime()) && localDateKey(time, zone) === today) count += 1;
  }
  return count;
}

/**
 * True when another on-demand backup today would exceed MAX_ON_DEMAND_BACKUPS_PER_DAY (see
 * onDemandBackupsToday for the arguments). The limit is for Standard (V1) policies; the caller
 * decides whether it applies.
 */
export function onDemandLimitReached(previousOnDemandTimes: readonly string[], now: Date, timeZone: string): boolean {
  return onDemandBackupsToday(previousOnDemandTimes, now, timeZone) >= MAX_ON_DEMAND_BACKUPS_PER_DAY;
}

// ---- internals: policy type and schedule -------------------------------------------------------------

function checkPolicyType(properties: IaasVmPolicyProperties, base: string): PolicyType {
  const implied: PolicyType = properties.schedulePolicy.schedulePolicyType === 'SimpleSchedulePolicyV2' ? 'V2' : 'V1';
  const given = properties.policyType;
  if (given !== undefined && given !== implied) {
    const expected = given === 'V1' ? 'SimpleSchedulePolicy' : 'SimpleSchedulePolicyV2';
    throw errors.invalidRequest(
      `${base}.policyType`,
      `policyType '${given}' needs schedulePolicyType '${expected}', not '${properties.schedulePolicy.schedulePolicyType}'.`,
    );
  }
  return implied;
}

function checkSchedule(schedule: SchedulePolicy, at: string): PolicySchedule {
  if (schedule.schedulePolicyType === 'SimpleSchedulePolicy') {
    const runTime = checkOneRunTime(schedule.scheduleRunTimes, `${at}.scheduleRunTimes`);
    if (schedule.scheduleWeeklyFrequency !== undefined && schedule.scheduleWeeklyFrequency !== 0 && schedule.scheduleWeeklyFrequency !== 1) {
      throw errors.invalidRequest(`${at}.scheduleWeeklyFrequency`, 'scheduleWeeklyFrequency must be 0 or 1: weekly schedules run every week.');
    }
    if (schedule.scheduleRunFrequency === 'Daily') {
      if (schedule.scheduleRunDays !== undefined && schedule.scheduleRunDays.length > 0) {
        throw errors.invalidRequest(`${at}.scheduleRunDays`, 'scheduleRunDays must be empty for a Daily schedule; use a Weekly schedule to pick days.');
      }
      return { frequency: 'Daily', runTimes: [runTime] };
    }
    const runDays = checkDays(schedule.scheduleRunDays, `${at}.scheduleRunDays`, 'A Weekly schedule needs scheduleRunDays');
    return { frequency: 'Weekly', runTimes: [runTime], runDays };
  }

  const frequency = schedule.scheduleRunFrequency;
  const present = {
    hourlySchedule: schedule.hourlySchedule !== undefined,
    dailySchedule: schedule.dailySchedule !== undefined,
    weeklySchedule: schedule.weeklySchedule !== undefined,
  };
  const wanted = frequency === 'Hourly' ? 'hourlySchedule' : frequency === 'Daily' ? 'dailySchedule' : 'weeklySchedule';
  for (const key of Object.keys(present) as (keyof typeof present)[]) {
    if (key === wanted && !present[key]) {
      throw errors.invalidRequest(`${at}.${key}`, `A ${frequency} schedule needs ${key}.`);
    }
    if (key !== wanted && present[key]) {
      throw errors.invalidRequest(`${at}.${key}`, `${key} must be absent for a ${frequency} schedule.`);
    }
  }

  if (schedule.hourlySchedule !== undefined) {
    const hourly = schedule.hourlySchedule;
    const hat = `${at}.hourlySchedule`;
    if (!(HOURLY_INTERVALS as readonly number[]).includes(hourly.interval)) {
      throw errors.invalidRequest(`${hat}.interval`, `interval must be one of ${HOURLY_INTERVALS.join(', ')} hours.`);
    }
    const windowStart = checkTime(hourly.scheduleWindowStartTime, `${hat}.scheduleWindowStartTime`);
    const duration = hourly.scheduleWindowDuration;
    if (!Number.isInteger(duration) || duration < HOURLY_WINDOW_MIN_HOURS || duration > HOURLY_WINDOW_MAX_HOURS) {
      throw errors.invalidRequest(
        `${hat}.scheduleWindowDuration`,
        `scheduleWindowDuration must be ${HOURLY_WINDOW_MIN_HOURS}–${HOURLY_WINDOW_MAX_HOURS} hours, not ${duration}.`,
      );
    }
    if (duration % hourly.interval !== 0) {
      throw errors.invalidRequest(
        `${hat}.scheduleWindowDuration`,
        `scheduleWindowDuration (${duration} hours) must be a multiple of the interval (${hourly.interval} hours).`,
      );
    }
    return {
      frequency: 'Hourly',
      runTimes: [windowStart],
      hourly: { intervalHours: hourly.interval, windowStart, windowDurationHours: duration },
    };
  }
  if (schedule.dailySchedule !== undefined) {
    const runTime = checkOneRunTime(schedule.dailySchedule.scheduleRunTimes, `${at}.dailySchedule.scheduleRunTimes`);
    return { frequency: 'Daily', runTimes: [runTime] };
  }
  const weekly = schedule.weeklySchedule;
  if (weekly === undefined) throw errors.invalidRequest(`${at}.weeklySchedule`, 'A Weekly schedule needs weeklySchedule.');
  const runTime = checkOneRunTime(weekly.scheduleRunTimes, `${at}.weeklySchedule.scheduleRunTimes`);
  const runDays = checkDays(weekly.scheduleRunDays, `${at}.weeklySchedule.scheduleRunDays`, 'A Weekly schedule needs scheduleRunDays');
  return { frequency: 'Weekly', runTimes: [runTime], runDays };
}

/** One scheduled backup a day (Azure: scheduleRunTimes holds exactly one time). */
function checkOneRunTime(times: readonly string[], at: string): TimeOfDay {
  if (times.length !== 1) {
    throw errors.invalidRequest(at, `scheduleRunTimes must hold exactly one time (one scheduled backup a day), not ${times.length}.`);
  }
  return checkTime(times[0], `${at}[0]`);
}

function checkTime(value: string, at: string): TimeOfDay {
  const time = parseTimeOfDay(value);
  if (time === undefined) throw errors.invalidRequest(at, `'${truncate(value)}' is not a date-time with a time of day.`);
  if ((time.minute !== 0 && time.minute !== 30) || time.second !== 0) {
    throw errors.invalidRequest(at, `Backups run on the hour or half hour; ${formatTimeOfDay(time)} is neither.`);
  }
  return time;
}

function checkDays(days: readonly DayOfWeek[] | undefined, at: string, missing: string): DayOfWeek[] {
  if (days === undefined || days.length === 0) throw errors.invalidRequest(at, `${missing}: name at least one day.`);
  checkUnique(days, at);
  return DAYS_OF_WEEK.filter((day) => days.includes(day));
}

function checkUnique<T>(values: readonly T[], at: string, keyOf: (value: T) => string = String): void {
  const seen = new Set<string>();
  values.forEach((value, index) => {
    const key = keyOf(value);
    if (seen.has(key)) throw errors.invalidRequest(`${at}[${index}]`, `'${key}' is listed twice.`);
    seen.add(key);
  });
}

// ---- internals: retention ----------------------------------------------------------------------------

function checkRetention(
  retention: RetentionPolicy,
  schedule: PolicySchedule,
  schedulePolicy: SchedulePolicy,
  policyType: PolicyType,
  at: string,
): RetentionPolicy {
  if (retention.retentionPolicyType !== 'LongTermRetentionPolicy') {
    throw errors.invalidRequest(`${at}.retentionPolicyType`, "retentionPolicyType must be 'LongTermRetentionPolicy'.");
  }
  const weeklySchedule = schedule.frequency === 'Weekly';
  const times: RetentionTimesRule = { schedule, runTimes: runTimeStrings(schedulePolicy), followSchedule: !(policyType === 'V2' && schedule.frequency === 'Daily') };
  const result: RetentionPolicy = { retentionPolicyType: 'LongTermRetentionPolicy' };

  if (weeklySchedule && retention.dailySchedule !== undefined) {
    throw errors.invalidRequest(`${at}.dailySchedule`, 'A Weekly schedule takes no daily retention: there is no backup every day.');
  }
  if (!weeklySchedule && retention.dailySchedule === undefined) {
    throw errors.invalidRequest(`${at}.dailySchedule`, `A ${schedule.frequency} schedule needs a daily retention rule.`);
  }
  if (weeklySchedule && retention.weeklySchedule === undefined) {
    throw errors.invalidRequest(`${at}.weeklySchedule`, 'A Weekly schedule needs a weekly retention rule.');
  }

  if (retention.dailySchedule !== undefined) {
    const daily = retention.dailySchedule;
    checkDuration(daily.retentionDuration, 'daily', `${at}.dailySchedule.retentionDuration`);
    result.dailySchedule = {
      retentionTimes: checkRetentionTimes(daily.retentionTimes, times, `${at}.dailySchedule.retentionTimes`),
      retentionDuration: { ...daily.retentionDuration },
    };
  }
  if (retention.weeklySchedule !== undefined) {
    const weekly = retention.weeklySchedule;
    const wat = `${at}.weeklySchedule`;
    const days = checkDays(weekly.daysOfTheWeek, `${wat}.daysOfTheWeek`, 'Weekly retention needs daysOfTheWeek');
    checkRunDays(weekly.daysOfTheWeek, schedule, `${wat}.daysOfTheWeek`);
    checkDuration(weekly.retentionDuration, 'weekly', `${wat}.retentionDuration`);
    result.weeklySchedule = {
      daysOfTheWeek: days,
      retentionTimes: checkRetentionTimes(weekly.retentionTimes, times, `${wat}.retentionTimes`),
      retentionDuration: { ...weekly.retentionDuration },
    };
  }
  if (retention.monthlySchedule !== undefined) {
    result.monthlySchedule = checkLongTerm(retention.monthlySchedule, 'monthly', times, `${at}.monthlySchedule`);
  }
  if (retention.yearlySchedule !== undefined) {
    const yearly = retention.yearlySchedule;
    const yat = `${at}.yearlySchedule`;
    if (yearly.monthsOfYear.length === 0) throw errors.invalidRequest(`${yat}.monthsOfYear`, 'Yearly retention needs monthsOfYear: name at least one month.');
    checkUnique(yearly.monthsOfYear, `${yat}.monthsOfYear`);
    result.yearlySchedule = {
      ...checkLongTerm(yearly, 'yearly', times, yat),
      monthsOfYear: [...yearly.monthsOfYear],
    };
  }
  return result;
}

function checkLongTerm(
  rule: MonthlyRetentionSchedule | YearlyRetentionSchedule,
  kind: 'monthly' | 'yearly',
  times: RetentionTimesRule,
  at: string,
): MonthlyRetentionSchedule {
  const schedule = times.schedule;
  const result: MonthlyRetentionSchedule = {
    retentionScheduleFormatType: rule.retentionScheduleFormatType,
    retentionTimes: checkRetentionTimes(rule.retentionTimes, times, `${at}.retentionTimes`),
    retentionDuration: { ...rule.retentionDuration },
  };
  if (rule.retentionScheduleFormatType === 'Daily') {
    if (schedule.frequency === 'Weekly') {
      throw errors.invalidRequest(
        `${at}.retentionScheduleFormatType`,
        `A Weekly schedule needs week-based ${kind} retention (retentionScheduleFormatType 'Weekly'): a day of the month may not be a backup day.`,
      );
    }
    if (rule.retentionScheduleWeekly !== undefined) {
      throw errors.invalidRequest(`${at}.retentionScheduleWeekly`, "retentionScheduleWeekly must be absent when retentionScheduleFormatType is 'Daily'.");
    }
    const days = rule.retentionScheduleDaily?.daysOfTheMonth;
    if (days === undefined || days.length === 0) {
      throw errors.invalidRequest(`${at}.retentionScheduleDaily.daysOfTheMonth`, `Day-based ${kind} retention needs daysOfTheMonth: name at least one day.`);
    }
    days.forEach((day, index) => {
      if (day.isLast !== true && (!Number.isInteger(day.date) || day.date < 1 || day.date > MAX_DAY_OF_MONTH)) {
        throw errors.invalidRequest(
          `${at}.retentionScheduleDaily.daysOfTheMonth[${index}].date`,
          `A day of the month is 1–${MAX_DAY_OF_MONTH} or isLast, not ${day.date}.`,
        );
      }
    });
    checkUnique(days, `${at}.retentionScheduleDaily.daysOfTheMonth`, (day) => (day.isLast === true ? 'Last' : String(day.date)));
    result.retentionScheduleDaily = {
      daysOfTheMonth: days.map((day) => (day.isLast === true ? { date: 0, isLast: true } : { date: day.date, isLast: false })),
    };
  } else {
    // The official SDKs' samples send `retentionScheduleDaily: {}` here: naming no day, it says nothing.
    if ((rule.retentionScheduleDaily?.daysOfTheMonth?.length ?? 0) > 0) {
      throw errors.invalidRequest(`${at}.retentionScheduleDaily`, "retentionScheduleDaily must name no day when retentionScheduleFormatType is 'Weekly'.");
    }
    const weekly = rule.retentionScheduleWeekly;
    const wat = `${at}.retentionScheduleWeekly`;
    if (weekly === undefined) {
      throw errors.invalidRequest(wat, `Week-based ${kind} retention needs retentionScheduleWeekly.`);
    }
    const days = checkDays(weekly.daysOfTheWeek, `${wat}.daysOfTheWeek`, `Week-based ${kind} retention needs daysOfTheWeek`);
    checkRunDays(weekly.daysOfTheWeek, schedule, `${wat}.daysOfTheWeek`);
    if (weekly.weeksOfTheMonth.length === 0) {
      throw errors.invalidRequest(`${wat}.weeksOfTheMonth`, `Week-based ${kind} retention needs weeksOfTheMonth: name at least one week.`);
    }
    checkUnique(weekly.weeksOfTheMonth, `${wat}.weeksOfTheMonth`);
    result.retentionScheduleWeekly = { daysOfTheWeek: days, weeksOfTheMonth: [...weekly.weeksOfTheMonth] };
  }
  checkDuration(rule.retentionDuration, kind, `${at}.retentionDuration`);
  return result;
}

function checkDuration(duration: RetentionDuration, kind: keyof typeof RETENTION_LIMITS, at: string): void {
  const limits = RETENTION_LIMITS[kind];
  if (duration.durationType !== limits.durationType) {
    throw errors.invalidRequest(`${at}.durationType`, `${capitalize(kind)} retention is counted in ${limits.durationType}, not ${duration.durationType}.`);
  }
  if (!Number.isInteger(duration.count) || duration.count < limits.min || duration.count > limits.max) {
    throw errors.invalidRequest(
      `${at}.count`,
      `${capitalize(kind)} retention keeps points ${limits.min}–${limits.max} ${limits.durationType.toLowerCase()}, not ${duration.count}.`,
    );
  }
}

/** Retention rules of weekly schedules may only pick days on which a backup runs. */
function checkRunDays(days: readonly DayOfWeek[], schedule: PolicySchedule, at: string): void {
  if (schedule.runDays === undefined) return;
  const runDays = schedule.runDays;
  days.forEach((day, index) => {
    if (!runDays.includes(day)) {
      throw errors.invalidRequest(`${at}[${index}]`, `No backup runs on ${day}; the schedule runs on ${runDays.join(', ')}.`);
    }
  });
}

/**
 * How a policy's retention times are checked. Standard policies and Enhanced hourly ones: the schedule's run
 * times (the hourly window start). Enhanced daily policies: any time of day, kept as given — Azure's own
 * example (IaaS_v2_daily: runs at 10:00, retention times 08:00) is accepted and its response echoes them.
 * Kluis keeps a day's scheduled point whatever they say (they select nothing), so they are only stored.
 */
interface RetentionTimesRule {
  schedule: PolicySchedule;
  runTimes: string[];
  followSchedule: boolean;
}

/** Retention times are checked by `times`; when omitted they are the schedule's run times. */
function checkRetentionTimes(given: readonly string[] | undefined, times: RetentionTimesRule, at: string): string[] {
  if (given === undefined || given.length === 0) return [...times.runTimes];
  const actual = given.map((value, index) => {
    const time = parseTimeOfDay(value);
    if (time === undefined) throw errors.invalidRequest(`${at}[${index}]`, `'${truncate(value)}' is not a date-time with a time of day.`);
    return formatTimeOfDay(time);
  });
  if (!times.followSchedule) return [...given];
  const expected = times.schedule.runTimes.map(formatTimeOfDay);
  const same = actual.length === expected.length && [...actual].sort().every((time, i) => time === [...expected].sort()[i]);
  if (!same) {
    throw errors.invalidRequest(
      at,
      `retentionTimes (${actual.join(', ')}) must equal the schedule's run times (${expected.join(', ')}); omit them to take the schedule's.`,
    );
  }
  return [...times.runTimes];
}

/** The schedule's own run-time strings (the hourly window start for Hourly), as retention times. */
function runTimeStrings(schedule: SchedulePolicy): string[] {
  if (schedule.schedulePolicyType === 'SimpleSchedulePolicy') return [...schedule.scheduleRunTimes];
  if (schedule.hourlySchedule !== undefined) return [schedule.hourlySchedule.scheduleWindowStartTime];
  if (schedule.dailySchedule !== undefined) return [...schedule.dailySchedule.scheduleRunTimes];
  return [...(schedule.weeklySchedule?.scheduleRunTimes ?? [])];
}

// ---- internals: instant restore ----------------------------------------------------------------------

/** The retention of the schedule's own backups: the Weekly rule on weekly schedules, else the Daily rule. */
function vaultRetentionOf(retention: IaasVmPolicyProperties['retentionPolicy'], schedule: PolicySchedule): RetentionDuration | undefined {
  return schedule.frequency === 'Weekly' ? retention.weeklySchedule?.retentionDuration : retention.dailySchedule?.retentionDuration;
}

// ---- small helpers -----------------------------------------------------------------------------------

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?$/i;

/** An ISO 8601 date or date-time; no offset means UTC. Rejects impossible dates (no rollover). */
function parseUtcDateTime(value: string): Date | undefined {
  const match = DATE_TIME.exec(value.trim());
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((part) => Number(part ?? '0'));
  const millis = Number(((match[7] ?? '') + '000').slice(0, 3));
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  if (day < 1 || new Date(local).getUTCDate() !== day) return undefined;
  const zone = match[8];
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const hours = Number(zone.slice(1, 3));
    const minutes = Number(zone.slice(4, 6));
    if (hours > 23 || minutes > 59) return undefined;
    offsetMinutes = sign * (hours * 60 + minutes);
  }
  return new Date(local - offsetMinutes * 60_000);
}

function capitalize(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1);
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

function truncate(value: string, max = 100): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}
