/**
 * Retention as a pure function: given a policy, its zone, an item's recovery points and the time,
 * decide for every point whether it stays, which rule keeps it, until when, and why — Azure
 * Backup's semantics (reference "Retention semantics"):
 *
 * - A scheduled point belongs to its backup day: the local date, in the policy's zone, of the slot
 *   it was scheduled for (`scheduledTime`, else its own `time`; a 23:30 backup that started at
 *   00:40 still belongs to the day before).
 * - The Daily rule keeps every scheduled point. Weekly, Monthly and Yearly keep "the backup taken
 *   at the rule's day and time": the FIRST scheduled point of a selected backup day (Standard
 *   policies take one scheduled backup a day, Enhanced ones take the first of the day). Time of
 *   day is not matched: scheduled backups start up to 2 hours after their run time.
 * - Expiry = the point's time + the rule's duration, on the local wall clock (retention-calendar.ts).
 *   A point selected by several rules takes the longest expiry and that rule's name; on equal
 *   expiry the longer-term rule (Yearly > Monthly > Weekly > Daily) names it.
 * - A scheduled point no rule selects goes now (e.g. a non-Sunday point of a Sunday-only weekly
 *   schedule). Weekly schedules have no Daily rule.
 * - Policy edits are retroactive: decisions depend only on the CURRENT policy, never on the rule
 *   or expiry a point was given before. So a longer retention keeps points longer; a shorter one
 *   prunes them at the next cleanup; daily → weekly removes the daily points that fall on no
 *   weekly day; weekly → daily keeps the weekly points for their remaining days under the new
 *   daily rule (point time + new daily duration), even where the old weekly rule kept them longer.
 * - On-demand points ignore the policy: kept until `retainUntil`, by default 30 days (on the
 *   local wall clock) after they were taken; rule `OnDemand`.
 * - The latest point (the greatest `time`, scheduled or on-demand) is never deleted: when it would
 *   expire it stays, rule `Latest`, until the next successful backup becomes the latest.
 * - keep = expiry > now.
 *
 * Deleting points never makes a later evaluation stricter, and only in one case more lenient: when
 * the first scheduled point of a day is deleted while a later one of that day is still kept
 * (several scheduled points a day, i.e. Enhanced policies), the later one becomes the day's first
 * and a weekly, monthly or yearly rule may then keep it.
 */
import { errors } from './errors';
import type { IaasVmPolicyProperties, RetentionDuration } from './policy';
import {
  addDurationToInstant,
  formatDate,
  formatWallClock,
  type CalendarDate,
} from './retention-calendar';
import {
  dayOfWeekOf,
  describeRule,
  describeRuleDays,
  isWeeklySchedule,
  matchesRule,
  retentionRulesOf,
  type RetentionRule,
  type RetentionRuleName,
} from './retention-rules';
import { zonedWallClock } from './time-zones';

export { addDuration, addDurationToInstant, addToDate, daysInMonth, weekOfMonthOf } from './retention-calendar';
export type { CalendarDate } from './retention-calendar';
export { matchesRule, retentionRulesOf, RETENTION_RULE_ORDER } from './retention-rules';
export type { RetentionDaySelector, RetentionRule, RetentionRuleName } from './retention-rules';

/** Retention of an on-demand backup without a retain-until date (Azure's default). */
export const ON_DEMAND_DEFAULT_RETENTION: RetentionDuration = { count: 30, durationType: 'Days' };

export interface RetentionPointInput {
  recoveryPointId: string;
  /** When the point was taken (its recoveryPointTime), ISO 8601. */
  time: string;
  isOnDemand?: boolean;
  /** On-demand only: keep until then (ISO 8601). Ignored for scheduled points. */
  retainUntil?: string;
  /** Scheduled only: the schedule slot the backup ran for (ISO 8601); its local date is the backup day. */
  scheduledTime?: string;
}

export type RetentionDecisionRule = RetentionRuleName | 'OnDemand' | 'Latest';

export interface RetentionDecision {
  recoveryPointId: string;
  keep: boolean;
  /** The rule that keeps (or kept) the point; absent when no rule selects it. */
  ruleName?: RetentionDecisionRule;
  /** When that rule lets the point go (ISO 8601 UTC); absent for `Latest` and when no rule selects it. */
  expiryTime?: string;
  /** A sentence for users and logs: which rule keeps it until when, or why it goes. */
  reason: string;
}

export interface RetentionInput {
  policy: IaasVmPolicyProperties;
  /** The policy's zone as an IANA id (time-zones.ts resolveTimeZone); `policy.timeZone` itself is not read. */
  timeZone: string;
  points: readonly RetentionPointInput[];
  now: Date;
}

/** One decision per point, in the order of `input.points`. Deterministic and independent of that order. */
export function evaluateRetention(input: RetentionInput): RetentionDecision[] {
  const { policy, timeZone, now } = input;
  const nowMs = now.getTime();
  if (!Number.isFinite(nowMs)) throw errors.invalidRequest('now', 'The evaluation time is not a valid date.');
  assertTimeZone(timeZone);
  const points = input.points.map((point, index) => parsePoint(point, index, timeZone));
  const context: EvaluationContext = {
    policy,
    timeZone,
    nowMs,
    rules: retentionRulesOf(policy),
    firstOfDay: firstScheduledPointOfEachDay(points),
  };
  const latestMs = Math.max(...points.map((p) => p.timeMs));
  return points.map((point) => {
    const decision = point.input.isOnDemand === true ? decideOnDemand(point, context) : decideScheduled(point, context);
    return decision.keep || point.timeMs !== latestMs ? decision : keepAsLatest(decision);
  });
}

// ---- internals ------------------------------------------------------------------------------------

interface ParsedPoint {
  index: number;
  input: RetentionPointInput;
  timeMs: number;
  /** The instant whose local date is the backup day (scheduledTime, else time). */
  slotMs: number;
  /** The local date of slotMs in the policy's zone. */
  backupDay: CalendarDate;
  retainUntilMs?: number;
}

interface EvaluationContext {
  policy: IaasVmPolicyProperties;
  timeZone: string;
  nowMs: number;
  rules: RetentionRule[];
  /** Indexes of the first scheduled point of each backup day. */
  firstOfDay: ReadonlySet<number>;
}

interface RuleExpiry {
  rule: RetentionRule;
  expiryMs: number;
}

function parsePoint(input: RetentionPointInput, index: number, timeZone: string): ParsedPoint {
  const timeMs = parseInstant(input.time, `points[${index}].time`);
  const slotMs = input.scheduledTime === undefined ? timeMs : parseInstant(input.scheduledTime, `points[${index}].scheduledTime`);
  const retainUntilMs =
    input.retainUntil === undefined ? undefined : parseInstant(input.retainUntil, `points[${index}].retainUntil`);
  const { year, month, day } = zonedWallClock(new Date(slotMs), timeZone);
  return { index, input, timeMs, slotMs, backupDay: { year, month, day }, retainUntilMs };
}

function parseInstant(value: string, target: string): number {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw errors.invalidRequest(target, `'${value}' is not an ISO 8601 date-time.`);
  return ms;
}

function assertTimeZone(timeZone: string): void {
  try {
    zonedWallClock(new Date(0), timeZone);
  } catch {
    throw errors.invalidRequest('timeZone', `'${timeZone}' is not an IANA time zone id.`);
  }
}

/** Per backup day, the scheduled point with the earliest slot (then time, then id, for determinism). */
function firstScheduledPointOfEachDay(points: readonly ParsedPoint[]): Set<number> {
  const first = new Map<string, ParsedPoint>();
  for (const point of points) {
    if (point.input.isOnDemand === true) continue;
    const key = formatDate(point.backupDay);
    const current = first.get(key);
    if (current === undefined || comesBefore(point, current)) first.set(key, point);
  }
  return new Set([...first.values()].map((p) => p.index));
}

function comesBefore(a: ParsedPoint, b: ParsedPoint): boolean {
  if (a.slotMs !== b.slotMs) return a.slotMs < b.slotMs;
  if (a.timeMs !== b.timeMs) return a.timeMs < b.timeMs;
  return a.input.recoveryPointId < b.input.recoveryPointId;
}

function decideScheduled(point: ParsedPoint, context: EvaluationContext): RetentionDecision {
  const { rules, timeZone, nowMs } = context;
  const day = point.backupDay;
  const isFirstOfDay = context.firstOfDay.has(point.index);
  const expiries: RuleExpiry[] = rules
    .filter((rule) => matchesRule(rule, day) && (rule.name === 'Daily' || isFirstOfDay))
    .map((rule) => ({ rule, expiryMs: addDurationToInstant(point.timeMs, rule.duration, timeZone) }));
  const { recoveryPointId } = point.input;
  if (expiries.length === 0) {
    return { recoveryPointId, keep: false, reason: noRuleReason(day, isFirstOfDay, context) };
  }
  // Rules come short-term first, so `>=` lets the longer-term rule win a tie.
  const governing = expiries.reduce((best, candidate) => (candidate.expiryMs >= best.expiryMs ? candidate : best));
  const keep = governing.expiryMs > nowMs;
  const until = describeInstant(governing.expiryMs, timeZone);
  const ruleText = `the ${governing.rule.name} rule (${describeRule(governing.rule)})`;
  const main = keep ? `Kept until ${until} by ${ruleText}` : `Expired at ${until}: ${ruleText} kept it until then`;
  const others =
    expiries.length > 1
      ? `; matched rules: ${expiries.map((e) => `${e.rule.name} until ${describeInstant(e.expiryMs, timeZone)}`).join(', ')} (the longest counts)`
      : '';
  return {
    recoveryPointId,
    keep,
    ruleName: governing.rule.name,
    expiryTime: new Date(governing.expiryMs).toISOString(),
    reason: `${main}${others}.`,
  };
}

function noRuleReason(day: CalendarDate, isFirstOfDay: boolean, context: EvaluationContext): string {
  const { rules, policy } = context;
  const why: string[] = [];
  if (!rules.some((r) => r.name === 'Daily')) {
    why.push(isWeeklySchedule(policy.schedulePolicy) ? 'a weekly schedule has no daily retention' : 'the policy has no daily retention');
  }
  const longTerm = rules.filter((r) => r.name !== 'Daily');
  if (longTerm.length === 0) {
    why.push('it has no weekly, monthly or yearly retention either');
  } else if (!isFirstOfDay) {
    why.push('weekly, monthly and yearly rules keep only the first scheduled backup of a day, and this is a later one');
  } else {
    why.push(...longTerm.map((r) => `the ${r.name} rule keeps ${describeRuleDays(r)}`));
  }
  return `No rule of the policy keeps this scheduled backup of ${dayOfWeekOf(day)} ${formatDate(day)}: ${why.join('; ')}.`;
}

function decideOnDemand(point: ParsedPoint, context: EvaluationContext): RetentionDecision {
  const { timeZone, nowMs } = context;
  const expiryMs = point.retainUntilMs ?? addDurationToInstant(point.timeMs, ON_DEMAND_DEFAULT_RETENTION, timeZone);
  const keep = expiryMs > nowMs;
  const until = describeInstant(expiryMs, timeZone);
  const source =
    point.retainUntilMs === undefined
      ? `${ON_DEMAND_DEFAULT_RETENTION.count} days after it was taken, as it has no retain-until date`
      : 'its retain-until date';
  return {
    recoveryPointId: point.input.recoveryPointId,
    keep,
    ruleName: 'OnDemand',
    expiryTime: new Date(expiryMs).toISOString(),
    reason: keep ? `On-demand backup kept until ${until} (${source}).` : `On-demand backup expired at ${until} (${source}).`,
  };
}

function keepAsLatest(decision: RetentionDecision): RetentionDecision {
  return {
    recoveryPointId: decision.recoveryPointId,
    keep: true,
    ruleName: 'Latest',
    reason: `Kept as the latest recovery point until the next successful backup. Otherwise: ${decision.reason}`,
  };
}

/** "2026-02-01 20:00 Europe/Amsterdam". */
function describeInstant(ms: number, timeZone: string): string {
  return `${formatWallClock(zonedWallClock(new Date(ms), timeZone))} ${timeZone}`;
}
