/**
 * Retention as a pure function: given a policy, its zone, an item's recovery points and the time,
 * decide for every point whether it stays, which rule keeps it, until when, and why — and the same
 * for its snapshot (instant-restore) tier. Azure Backup's semantics, each rule with its source in
 * test/fixtures/retention/*.json:
 *
 * - A scheduled point belongs to its backup day: the local date, in the policy's zone, of the slot
 *   it was scheduled for (`scheduledTime`, else its own `time`; a 23:30 backup that started at
 *   00:40 still belongs to the day before).
 * - The day's recovery point is its LAST scheduled point. Azure: "For hourly backups, the last
 *   backup of the day is transferred to a vault." (backup-azure-vms-enhanced-policy). Standard
 *   policies take one scheduled backup a day, so it is that one.
 * - Daily keeps the day's point. On Hourly (Enhanced) schedules the day's other scheduled points
 *   are snapshots only in Azure: they are kept for the instant-restore days (rule `InstantRestore`).
 *   On other schedules every scheduled point is a vault point and Daily keeps each.
 * - Weekly, Monthly and Yearly ("the backup taken at the rule's day") keep the day's point when the
 *   rule selected its day WHEN THE POINT WAS TAKEN (`longTermTags`): "recovery points are specific
 *   to retention range frequency. For example, adding or modifying a yearly retention policy does
 *   not affect the retention of preexisting monthly recovery points." (VM backup FAQ). How long
 *   they keep it is the CURRENT policy's duration: "If retention is extended, existing recovery
 *   points are marked and kept in accordance with the new policy. If retention is reduced, recovery
 *   points are marked for pruning in the next cleanup job". A rule the current policy no longer has
 *   keeps nothing ("Changed from daily to weekly: … the existing daily recovery points are cleaned
 *   up"); the current Daily rule keeps every day's point whatever its tags ("Changed from weekly to
 *   daily: The existing weekly backups will be retained based on the number of days remaining
 *   according to the current retention policy", backup-architecture). Points without tags (taken
 *   before tags were recorded) are tagged by the current policy.
 * - Expiry = the point's time + the rule's days on the local wall clock (retention-calendar.ts:
 *   months are 31 days). A point kept by several rules takes the longest expiry and that rule's
 *   name; on equal expiry the longer-term rule (Yearly > Monthly > Weekly > Daily) names it.
 * - On-demand points ignore the policy: kept until `retainUntil`, by default 30 days (on the local
 *   wall clock) after they were taken; rule `OnDemand`.
 * - The latest point (the greatest `time`, scheduled or on-demand) is never deleted, and keeps its
 *   snapshot tier: "If the recovery point has a snapshot and it's the latest recovery point
 *   available, the snapshot is retained until the next successful backup." (Instant Restore FAQ).
 * - Snapshot tier: kept the policy's instant-restore days (whole 24-hour days after the point's
 *   time), and on Standard policies at most 18 points per VM keep one (the newest; instant-restore-
 *   rules.ts). The vault tier is never deleted before the snapshot tier (delete-recovery-point.ts).
 * - keep = expiry > now.
 */
import { errors } from './errors';
import { instantRestoreDaysOf, maxInstantRecoveryPointsOf } from './instant-restore-rules';
import type { IaasVmPolicyProperties, RetentionDuration } from './policy';
import { addDurationToInstant, formatDate, formatWallClock, type CalendarDate } from './retention-calendar';
import {
  dayOfWeekOf,
  describeRule,
  describeRuleDays,
  isWeeklySchedule,
  matchesRule,
  retentionRulesOf,
  type LongTermRuleName,
  type RetentionRule,
  type RetentionRuleName,
} from './retention-rules';
import { zonedWallClock } from './time-zones';

export { addDuration, addDurationToInstant, addToDate, daysInMonth, retentionDaysOf, weekOfMonthOf } from './retention-calendar';
export type { CalendarDate } from './retention-calendar';
export { longTermTagsOf, matchesRule, retentionRulesOf, RETENTION_RULE_ORDER } from './retention-rules';
export type { LongTermRuleName, RetentionDaySelector, RetentionRule, RetentionRuleName } from './retention-rules';

/** Retention of an on-demand backup without a retain-until date (Azure's default). */
export const ON_DEMAND_DEFAULT_RETENTION: RetentionDuration = { count: 30, durationType: 'Days' };

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionPointInput {
  recoveryPointId: string;
  /** When the point was taken (its recoveryPointTime), ISO 8601. */
  time: string;
  isOnDemand?: boolean;
  /** On-demand only: keep until then (ISO 8601). Ignored for scheduled points. */
  retainUntil?: string;
  /** Scheduled only: the schedule slot the backup ran for (ISO 8601); its local date is the backup day. */
  scheduledTime?: string;
  /** Scheduled only: the long-term rules that selected the backup day when the point was taken; absent: the current policy's. */
  longTermTags?: readonly LongTermRuleName[];
  /** Whether the point still has its snapshot tier; its decision is made only then. */
  hasSnapshotTier?: boolean;
}

export type RetentionDecisionRule = RetentionRuleName | 'OnDemand' | 'Latest' | 'InstantRestore';

export interface SnapshotTierDecision {
  keep: boolean;
  /** When the instant-restore days end (ISO 8601 UTC); a `Latest` point may keep its snapshot past it. */
  expiryTime: string;
  reason: string;
}

export interface RetentionDecision {
  recoveryPointId: string;
  keep: boolean;
  /** The rule that keeps (or kept) the point; absent when no rule selects it. */
  ruleName?: RetentionDecisionRule;
  /** When that rule lets the point go (ISO 8601 UTC); absent for `Latest` and when no rule selects it. */
  expiryTime?: string;
  /** A sentence for users and logs: which rule keeps it until when, or why it goes. */
  reason: string;
  /** Scheduled points: the long-term rules that selected the point's day (its stored tags, else the current policy's). */
  longTermTags?: LongTermRuleName[];
  /** Kept points that still have a snapshot tier: whether it stays. */
  snapshotTier?: SnapshotTierDecision;
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
    dayPoints: lastScheduledPointOfEachDay(points),
    snapshotsOnly: policy.schedulePolicy.scheduleRunFrequency === 'Hourly',
    instantDays: instantRestoreDaysOf(policy),
  };
  const latestMs = Math.max(...points.map((p) => p.timeMs));
  const decisions = points.map((point) => {
    const decision = point.input.isOnDemand === true ? decideOnDemand(point, context) : decideScheduled(point, context);
    const isLatest = point.timeMs === latestMs;
    const kept = decision.keep || !isLatest ? decision : keepAsLatest(decision);
    return kept.keep && point.input.hasSnapshotTier === true ? { ...kept, snapshotTier: decideSnapshotTier(point, isLatest, context) } : kept;
  });
  return capSnapshotTiers(decisions, points, maxInstantRecoveryPointsOf(policy));
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
  /** Indexes of the day's recovery point: the last scheduled point of each backup day. */
  dayPoints: ReadonlySet<number>;
  /** Hourly schedules: a day's other scheduled points are snapshots only (kept the instant-restore days). */
  snapshotsOnly: boolean;
  instantDays: number;
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

/** Per backup day, the scheduled point with the latest slot (then time, then id, for determinism). */
function lastScheduledPointOfEachDay(points: readonly ParsedPoint[]): Set<number> {
  const last = new Map<string, ParsedPoint>();
  for (const point of points) {
    if (point.input.isOnDemand === true) continue;
    const key = formatDate(point.backupDay);
    const current = last.get(key);
    if (current === undefined || comesAfter(point, current)) last.set(key, point);
  }
  return new Set([...last.values()].map((p) => p.index));
}

function comesAfter(a: ParsedPoint, b: ParsedPoint): boolean {
  if (a.slotMs !== b.slotMs) return a.slotMs > b.slotMs;
  if (a.timeMs !== b.timeMs) return a.timeMs > b.timeMs;
  return a.input.recoveryPointId > b.input.recoveryPointId;
}

function tagsOf(point: ParsedPoint, rules: readonly RetentionRule[]): LongTermRuleName[] {
  if (point.input.longTermTags !== undefined) return [...point.input.longTermTags];
  return rules.filter((rule): rule is RetentionRule & { name: LongTermRuleName } => rule.name !== 'Daily' && matchesRule(rule, point.backupDay)).map((rule) => rule.name);
}

function decideScheduled(point: ParsedPoint, context: EvaluationContext): RetentionDecision {
  const { rules, timeZone, nowMs } = context;
  const day = point.backupDay;
  const { recoveryPointId } = point.input;
  const longTermTags = tagsOf(point, rules);
  const isDayPoint = context.dayPoints.has(point.index);
  if (!isDayPoint && context.snapshotsOnly) return decideSnapshotOnly(point, longTermTags, context);
  const expiries: RuleExpiry[] = rules
    .filter((rule) => (rule.name === 'Daily' ? true : isDayPoint && longTermTags.includes(rule.name)))
    .map((rule) => ({ rule, expiryMs: addDurationToInstant(point.timeMs, rule.duration, timeZone) }));
  if (expiries.length === 0) {
    return { recoveryPointId, keep: false, longTermTags, reason: noRuleReason(day, isDayPoint, longTermTags, context) };
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
    longTermTags,
  };
}

/** An hourly point that is not its day's last: a snapshot-only point in Azure, kept the instant-restore days. */
function decideSnapshotOnly(point: ParsedPoint, longTermTags: LongTermRuleName[], context: EvaluationContext): RetentionDecision {
  const expiryMs = point.timeMs + context.instantDays * DAY_MS;
  const keep = expiryMs > context.nowMs;
  const until = describeInstant(expiryMs, context.timeZone);
  const why = `an hourly backup that is not the last of ${formatDate(point.backupDay)} is a snapshot only (Azure transfers the last backup of the day to the vault), kept the policy's ${context.instantDays} instant-restore day(s)`;
  return {
    recoveryPointId: point.input.recoveryPointId,
    keep,
    ruleName: 'InstantRestore',
    expiryTime: new Date(expiryMs).toISOString(),
    reason: keep ? `Kept until ${until}: ${why}.` : `Expired at ${until}: ${why}.`,
    longTermTags,
  };
}

function noRuleReason(day: CalendarDate, isDayPoint: boolean, tags: readonly LongTermRuleName[], context: EvaluationContext): string {
  const { rules, policy } = context;
  const why: string[] = [];
  if (!rules.some((r) => r.name === 'Daily')) {
    why.push(isWeeklySchedule(policy.schedulePolicy) ? 'a weekly schedule has no daily retention' : 'the policy has no daily retention');
  }
  const longTerm = rules.filter((r) => r.name !== 'Daily');
  if (longTerm.length === 0) {
    why.push('it has no weekly, monthly or yearly retention either');
  } else if (!isDayPoint) {
    why.push("weekly, monthly and yearly rules keep only the day's last scheduled backup, and this is an earlier one");
  } else {
    // The day's point, and no long-term rule tagged it when it was taken.
    why.push(
      ...longTerm.map((r) => `the ${r.name} rule keeps ${describeRuleDays(r)}${matchesRule(r, day) ? ' (this day matches it now, not when the backup was taken)' : ''}`),
    );
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
  const { expiryTime: _expiry, ruleName: _rule, ...rest } = decision;
  return {
    ...rest,
    keep: true,
    ruleName: 'Latest',
    reason: `Kept as the latest recovery point until the next successful backup. Otherwise: ${decision.reason}`,
  };
}

function decideSnapshotTier(point: ParsedPoint, isLatest: boolean, context: EvaluationContext): SnapshotTierDecision {
  const expiryMs = point.timeMs + context.instantDays * DAY_MS;
  const expiryTime = new Date(expiryMs).toISOString();
  const until = describeInstant(expiryMs, context.timeZone);
  const days = `the policy's ${context.instantDays} instant-restore day(s)`;
  if (expiryMs > context.nowMs) return { keep: true, expiryTime, reason: `Snapshot kept until ${until} (${days}).` };
  if (isLatest) {
    return {
      keep: true,
      expiryTime,
      reason: `Snapshot kept past ${until}, the end of ${days}: the latest recovery point keeps its snapshot until the next successful backup.`,
    };
  }
  return { keep: false, expiryTime, reason: `Snapshot expired at ${until}, the end of ${days}.` };
}

/** Standard policies: at most `max` points keep a snapshot tier; the oldest others lose theirs. */
function capSnapshotTiers(decisions: RetentionDecision[], points: readonly ParsedPoint[], max: number | undefined): RetentionDecision[] {
  if (max === undefined) return decisions;
  const newestFirst = decisions
    .map((decision, index) => ({ decision, point: points[index] }))
    .filter(({ decision }) => decision.snapshotTier?.keep === true)
    .sort((a, b) => b.point.timeMs - a.point.timeMs || (a.point.input.recoveryPointId < b.point.input.recoveryPointId ? 1 : -1));
  const over = new Set(newestFirst.slice(max).map(({ point }) => point.index));
  if (over.size === 0) return decisions;
  return decisions.map((decision, index) => {
    if (!over.has(index) || decision.snapshotTier === undefined) return decision;
    const reason = `Snapshot deleted before its instant-restore days ended: a VM keeps at most ${max} instant-restore points (${newestFirst.length} had one), the newest first.`;
    return { ...decision, snapshotTier: { keep: false, expiryTime: decision.snapshotTier.expiryTime, reason } };
  });
}

/** "2026-02-01 20:00 Europe/Amsterdam". */
function describeInstant(ms: number, timeZone: string): string {
  return `${formatWallClock(zonedWallClock(new Date(ms), timeZone))} ${timeZone}`;
}
