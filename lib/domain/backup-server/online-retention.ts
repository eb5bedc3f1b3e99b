/**
 * Retention of the server's vault copy (issue 16: "its own schedule and GFS retention"): a point a day kept
 * `retentionDays`, plus optional weekly, monthly and yearly rules in Azure's own LongTermRetentionPolicy shapes
 * (weeklySchedule / monthlySchedule / yearlySchedule, as a MABS online policy carries them). Decided by the same
 * retention math as the vault's VM points (lib/domain/retention.ts, evaluateRetention) on the equivalent daily
 * policy in UTC: a point belongs to its UTC day, its long-term tags are the rules that selected its day when it was
 * copied, and the newest point is never removed. Pure; here in lib/domain so that the backup server (which imports
 * only lib/domain/backup-server) reuses the vault's retention math.
 */
import { errors } from '../errors';
import { retentionPolicySchema, type IaasVmPolicyProperties, type RetentionDuration, type RetentionPolicy } from '../policy';
import { evaluateRetention, longTermTagsOf, type LongTermRuleName } from '../retention';

export type { LongTermRuleName } from '../retention';

/** Keep or remove one vault point, with the reason. */
export interface OnlineRetentionDecision {
  snapshotId: string;
  keep: boolean;
  reason: string;
}

/** The weekly, monthly and yearly rules of an online copy (Azure's LongTermRetentionPolicy fields). */
export type OnlineLongTermRetention = Pick<RetentionPolicy, 'weeklySchedule' | 'monthlySchedule' | 'yearlySchedule'>;

export interface OnlineRetentionPolicy {
  /** "HH:MM", UTC. */
  dailyAt: string;
  /** Daily points: 1–9999 days. */
  retentionDays: number;
  /** Azure's weeklySchedule / monthlySchedule / yearlySchedule (parseOnlineLongTerm checks them). */
  longTerm?: OnlineLongTermRetention | Record<string, unknown>;
}

/** A vault point of one source: when it was copied and the long-term rules that selected its day then. */
export interface OnlinePoint {
  snapshotId: string;
  time: string;
  longTermTags?: LongTermRuleName[];
}

/** The vault's limit on a rule's count (seed 004: at most 9999 recovery points per source). */
const MAX_COUNT = 9999;
const UNIT: Record<'weeklySchedule' | 'monthlySchedule' | 'yearlySchedule', RetentionDuration['durationType']> = {
  weeklySchedule: 'Weeks',
  monthlySchedule: 'Months',
  yearlySchedule: 'Years',
};

const longTermSchema = retentionPolicySchema.pick({ weeklySchedule: true, monthlySchedule: true, yearlySchedule: true }).strict();

/**
 * The long-term rules of an online copy, parsed (Azure's shapes) and checked: KluisInvalidRequest naming the field
 * for an unknown field, a wrong unit, a count out of range or a weekly rule without days.
 */
export function parseOnlineLongTerm(value: unknown): OnlineLongTermRetention | undefined {
  if (value === undefined) return undefined;
  const parsed = longTermSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw errors.invalidRequest(['online.longTerm', ...issue.path.map(String)].join('.'), `The online long-term retention is not valid: ${issue.message}.`);
  }
  const longTerm = parsed.data;
  for (const key of ['weeklySchedule', 'monthlySchedule', 'yearlySchedule'] as const) {
    const rule = longTerm[key];
    if (rule === undefined) continue;
    const { count, durationType } = rule.retentionDuration;
    if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT || durationType !== UNIT[key]) {
      throw errors.invalidRequest(`online.longTerm.${key}.retentionDuration`, `A ${key} keeps 1 to ${MAX_COUNT} ${UNIT[key].toLowerCase()}; got ${count} ${durationType}.`);
    }
  }
  if (longTerm.weeklySchedule !== undefined && longTerm.weeklySchedule.daysOfTheWeek.length === 0) {
    throw errors.invalidRequest('online.longTerm.weeklySchedule.daysOfTheWeek', 'A weekly rule names at least one day of the week.');
  }
  return longTerm;
}

/** The daily policy in UTC whose retention the vault applies to VM points, equivalent to the online copy's. */
export function onlinePolicyOf(online: OnlineRetentionPolicy): IaasVmPolicyProperties {
  return {
    backupManagementType: 'AzureIaasVM',
    policyType: 'V1',
    timeZone: 'UTC',
    schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: [`2020-01-01T${online.dailyAt}:00Z`] },
    retentionPolicy: {
      retentionPolicyType: 'LongTermRetentionPolicy',
      dailySchedule: { retentionDuration: { count: online.retentionDays, durationType: 'Days' } },
      ...parseOnlineLongTerm(online.longTerm),
    },
  };
}

/** The long-term rules that select the UTC day of a copy made at `time`. */
export function onlineLongTermTags(online: OnlineRetentionPolicy, time: Date): LongTermRuleName[] {
  return longTermTagsOf(onlinePolicyOf(online), time, 'UTC');
}

/** Keep or remove, with the reason, for each vault point of one source. */
export function onlineRetention(online: OnlineRetentionPolicy, points: readonly OnlinePoint[], now: Date): OnlineRetentionDecision[] {
  return vaultPointRetention(onlinePolicyOf(online), points, now);
}

/** The vault's retention (evaluateRetention) on a server's vault points, by the equivalent daily UTC policy. */
export function vaultPointRetention(policy: IaasVmPolicyProperties, points: readonly OnlinePoint[], now: Date): OnlineRetentionDecision[] {
  if (points.length === 0) return [];
  const decisions = evaluateRetention({
    policy,
    timeZone: 'UTC',
    now,
    points: points.map((p) => ({ recoveryPointId: p.snapshotId, time: p.time, scheduledTime: p.time, ...(p.longTermTags === undefined ? {} : { longTermTags: p.longTermTags }) })),
  });
  return decisions.map((d) => ({ snapshotId: d.recoveryPointId, keep: d.keep, reason: d.reason }));
}
