/**
 * Direct mode's schedule and retention (the MARS agent, issue 16 Deliver 7): files and folders of one machine
 * straight to the vault, as the MARS console sets them: up to three backups a day at given times, every day or on
 * chosen weekdays; retention daily (daily schedules only), weekly, monthly and yearly in Azure's
 * LongTermRetentionPolicy shapes. Retention is the vault's own math (lib/domain/retention.ts, evaluateRetention)
 * on the equivalent UTC policy, as online-retention.ts does for a backup server's vault copy: a point belongs to its
 * UTC day, its long-term tags are the rules that selected its day when it was taken, the newest is never removed.
 * Pure: time is a parameter.
 */
import { errors } from '../errors';
import { DAYS_OF_WEEK, type DayOfWeek, type IaasVmPolicyProperties } from '../policy';
import { longTermTagsOf, type LongTermRuleName } from '../retention';
import { parseOnlineLongTerm, vaultPointRetention, type OnlineLongTermRetention, type OnlinePoint, type OnlineRetentionDecision } from './online-retention';

/** The MARS agent's limit: at most three scheduled backups a day. */
export const MAX_DIRECT_RUN_TIMES = 3;
const MAX_COUNT = 9999;
const DAY_MS = 86_400_000;
const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;

export interface DirectPolicy {
  /** 1–3 times a day, "HH:MM" UTC. */
  runTimes: string[];
  /** The weekdays backups run on (Azure's names, e.g. "Monday"); absent: every day. */
  runDays?: DayOfWeek[];
  /** Daily points kept this many days (1–9999); daily schedules only (MARS offers no daily retention on a weekly schedule). */
  retentionDays?: number;
  /** Azure's weeklySchedule / monthlySchedule / yearlySchedule. */
  longTerm?: OnlineLongTermRetention | Record<string, unknown>;
}

/** Checks a direct-mode policy; KluisInvalidRequest naming the field otherwise. */
export function validateDirectPolicy(policy: DirectPolicy): DirectPolicy {
  const times = policy.runTimes;
  if (!Array.isArray(times) || times.length === 0 || times.length > MAX_DIRECT_RUN_TIMES) {
    throw errors.invalidRequest('runTimes', `A direct-mode schedule backs up 1 to ${MAX_DIRECT_RUN_TIMES} times a day; got ${Array.isArray(times) ? times.length : 0}.`);
  }
  for (const time of times) if (!HH_MM.test(time)) throw errors.invalidRequest('runTimes', `'${time}' is not a time HH:MM.`);
  if (new Set(times).size !== times.length) throw errors.invalidRequest('runTimes', 'The schedule names the same time twice.');
  const weekly = policy.runDays !== undefined;
  if (weekly) {
    if (policy.runDays!.length === 0) throw errors.invalidRequest('runDays', 'A weekly schedule names at least one weekday.');
    for (const day of policy.runDays!) {
      if (!(DAYS_OF_WEEK as readonly string[]).includes(day)) throw errors.invalidRequest('runDays', `'${day}' is not a weekday (${DAYS_OF_WEEK.join(', ')}).`);
    }
  }
  const longTerm = parseOnlineLongTerm(policy.longTerm);
  if (policy.retentionDays !== undefined) {
    if (weekly) throw errors.invalidRequest('retentionDays', 'A weekly schedule keeps weekly, monthly or yearly points, not daily ones (as the MARS agent).');
    const days = policy.retentionDays;
    if (!Number.isInteger(days) || days < 1 || days > MAX_COUNT) throw errors.invalidRequest('retentionDays', `Daily points are kept 1 to ${MAX_COUNT} days; got ${days}.`);
  } else if (!weekly) {
    throw errors.invalidRequest('retentionDays', 'A daily schedule keeps its daily points a number of days (1 to 9999).');
  }
  if (weekly && longTerm?.weeklySchedule === undefined) {
    throw errors.invalidRequest('longTerm.weeklySchedule', 'A weekly schedule keeps its points by a weekly rule (weeks to keep).');
  }
  return policy;
}

/** The UTC policy the vault's retention math applies to direct-mode points. */
export function directPolicyOf(policy: DirectPolicy): IaasVmPolicyProperties {
  const runTimes = [...policy.runTimes].sort().map((t) => `2020-01-01T${t}:00Z`);
  const longTerm = parseOnlineLongTerm(policy.longTerm);
  const weekly = policy.runDays !== undefined;
  return {
    backupManagementType: 'AzureIaasVM',
    policyType: 'V1',
    timeZone: 'UTC',
    schedulePolicy: weekly
      ? { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Weekly', scheduleRunDays: policy.runDays, scheduleRunTimes: runTimes }
      : { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: runTimes },
    retentionPolicy: {
      retentionPolicyType: 'LongTermRetentionPolicy',
      ...(policy.retentionDays === undefined ? {} : { dailySchedule: { retentionDuration: { count: policy.retentionDays, durationType: 'Days' } } }),
      ...longTerm,
    },
  } as IaasVmPolicyProperties;
}

/** The most recent scheduled slot at or before `now` (within the last 8 days), or undefined when none. */
export function lastDirectSlot(policy: DirectPolicy, now: Date): Date | undefined {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const times = [...policy.runTimes].sort().reverse();
  for (let back = 0; back <= 7; back++) {
    const day = midnight - back * DAY_MS;
    const weekday = DAYS_OF_WEEK[new Date(day).getUTCDay()];
    if (policy.runDays !== undefined && !policy.runDays.includes(weekday)) continue;
    for (const time of times) {
      const [h, m] = time.split(':').map(Number);
      const slot = day + (h * 60 + m) * 60_000;
      if (slot <= now.getTime()) return new Date(slot);
    }
  }
  return undefined;
}

/** Whether a backup is due: a slot has passed since the last backup (or there is none yet and a slot has passed). */
export function isDirectBackupDue(policy: DirectPolicy, lastBackupTime: string | undefined, now: Date): boolean {
  const slot = lastDirectSlot(policy, now);
  if (slot === undefined) return false;
  return lastBackupTime === undefined || Date.parse(lastBackupTime) < slot.getTime();
}

/** The long-term rules that select the UTC day of a backup taken at `time`. */
export function directLongTermTags(policy: DirectPolicy, time: Date): LongTermRuleName[] {
  return longTermTagsOf(directPolicyOf(policy), time, 'UTC');
}

/** Keep or remove, with the reason, for each vault point of one source. */
export function directRetention(policy: DirectPolicy, points: readonly OnlinePoint[], now: Date): OnlineRetentionDecision[] {
  return vaultPointRetention(directPolicyOf(policy), points, now);
}
