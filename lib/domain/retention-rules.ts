/**
 * The retention rules of an Azure IaaS VM policy as data: which backup days each rule selects and
 * for how long it keeps them. Azure Backup's grandfather-father-son scheme: the Daily rule keeps
 * every scheduled backup; Weekly keeps the backups of the listed weekdays; Monthly and Yearly
 * ("long-term") keep one backup on a day of the month (1–28 or the last day) or on a week of the
 * month plus weekday (First…Fourth, Last), Yearly only in its months.
 *
 * A policy on a weekly schedule has no Daily rule (Azure accepts none there); a `dailySchedule`
 * sent with one is ignored here and rejected by policy-rules.ts. `retentionTimes` are not matched:
 * they equal the schedule's run times, and which backup of a day a rule keeps is decided by
 * retention.ts (the last scheduled backup of that day).
 *
 * A point's long-term tags (longTermTagsOf) are the Weekly/Monthly/Yearly rules that select its
 * backup day under the policy in force when it is taken; they stay with the point.
 */
import {
  DAYS_OF_WEEK,
  MONTHS_OF_YEAR,
  type DayOfWeek,
  type IaasVmPolicyProperties,
  type MonthOfYear,
  type RetentionDuration,
  type SchedulePolicy,
  type WeekOfMonth,
} from './policy';
import { daysInMonth, weekOfMonthOf, type CalendarDate } from './retention-calendar';
import { zonedWallClock } from './time-zones';

export type RetentionRuleName = 'Daily' | 'Weekly' | 'Monthly' | 'Yearly';
export type LongTermRuleName = Exclude<RetentionRuleName, 'Daily'>;

/** The days a rule selects. */
export type RetentionDaySelector =
  | { kind: 'EveryDay' }
  | { kind: 'DaysOfWeek'; daysOfTheWeek: readonly DayOfWeek[] }
  | { kind: 'DaysOfMonth'; daysOfTheMonth: ReadonlyArray<{ date: number; isLast?: boolean }> }
  | { kind: 'WeeksOfMonth'; daysOfTheWeek: readonly DayOfWeek[]; weeksOfTheMonth: readonly WeekOfMonth[] };

export interface RetentionRule {
  name: RetentionRuleName;
  duration: RetentionDuration;
  days: RetentionDaySelector;
  /** Yearly only: the months in which `days` apply. */
  monthsOfYear?: readonly MonthOfYear[];
}

/** Short-term to long-term; on equal expiry the later (longer-term) rule names the point. */
export const RETENTION_RULE_ORDER: readonly RetentionRuleName[] = ['Daily', 'Weekly', 'Monthly', 'Yearly'];

/** The rules of a policy, in RETENTION_RULE_ORDER. */
export function retentionRulesOf(policy: IaasVmPolicyProperties): RetentionRule[] {
  const { dailySchedule, weeklySchedule, monthlySchedule, yearlySchedule } = policy.retentionPolicy;
  const rules: RetentionRule[] = [];
  if (dailySchedule && !isWeeklySchedule(policy.schedulePolicy)) {
    rules.push({ name: 'Daily', duration: dailySchedule.retentionDuration, days: { kind: 'EveryDay' } });
  }
  if (weeklySchedule) {
    rules.push({
      name: 'Weekly',
      duration: weeklySchedule.retentionDuration,
      days: { kind: 'DaysOfWeek', daysOfTheWeek: weeklySchedule.daysOfTheWeek },
    });
  }
  if (monthlySchedule) {
    rules.push({ name: 'Monthly', duration: monthlySchedule.retentionDuration, days: longTermDays(monthlySchedule) });
  }
  if (yearlySchedule) {
    rules.push({
      name: 'Yearly',
      duration: yearlySchedule.retentionDuration,
      days: longTermDays(yearlySchedule),
      monthsOfYear: yearlySchedule.monthsOfYear,
    });
  }
  return rules;
}

/** The long-term rules of `policy` that select the local date of `slot` in `timeZone` (an IANA id). */
export function longTermTagsOf(policy: IaasVmPolicyProperties, slot: Date, timeZone: string): LongTermRuleName[] {
  const { year, month, day } = zonedWallClock(slot, timeZone);
  return retentionRulesOf(policy)
    .filter((rule) => rule.name !== 'Daily' && matchesRule(rule, { year, month, day }))
    .map((rule) => rule.name as LongTermRuleName);
}

/** True for a schedule that backs up on some weekdays only (V1 or V2 `scheduleRunFrequency: Weekly`). */
export function isWeeklySchedule(schedule: SchedulePolicy): boolean {
  return schedule.scheduleRunFrequency === 'Weekly';
}

/** Whether `rule` selects backups of the local calendar date `date` (in the policy's zone). */
export function matchesRule(rule: RetentionRule, date: CalendarDate): boolean {
  if (rule.monthsOfYear !== undefined && !rule.monthsOfYear.includes(MONTHS_OF_YEAR[date.month - 1])) return false;
  const { days } = rule;
  switch (days.kind) {
    case 'EveryDay':
      return true;
    case 'DaysOfWeek':
      return days.daysOfTheWeek.includes(dayOfWeekOf(date));
    case 'DaysOfMonth': {
      const isLastDay = date.day === daysInMonth(date.year, date.month);
      return days.daysOfTheMonth.some((d) => (d.isLast === true ? isLastDay : d.date === date.day));
    }
    case 'WeeksOfMonth': {
      if (!days.daysOfTheWeek.includes(dayOfWeekOf(date))) return false;
      const week = weekOfMonthOf(date);
      return days.weeksOfTheMonth.some((w) => (w === 'Last' ? week.isLast : w === week.ordinal));
    }
  }
}

/** The weekday of a calendar date, in the policy enum's spelling. */
export function dayOfWeekOf(date: CalendarDate): DayOfWeek {
  const utc = new Date(0);
  utc.setUTCFullYear(date.year, date.month - 1, date.day);
  return DAYS_OF_WEEK[utc.getUTCDay()];
}

/** What a rule keeps, for reasons: "Sunday backups, 4 weeks". */
export function describeRule(rule: RetentionRule): string {
  return `${describeRuleDays(rule)}, ${describeDuration(rule.duration)}`;
}

/** "4 weeks", "1 year". */
export function describeDuration(duration: RetentionDuration): string {
  const unit = duration.durationType.toLowerCase();
  return `${duration.count} ${duration.count === 1 ? unit.slice(0, -1) : unit}`;
}

/** The backups a rule selects: "Sunday backups", "backups on the last day of the month". */
export function describeRuleDays(rule: RetentionRule): string {
  const { days } = rule;
  const inMonths = rule.monthsOfYear ? ` in ${listOf(rule.monthsOfYear)}` : '';
  switch (days.kind) {
    case 'EveryDay':
      return 'every scheduled backup';
    case 'DaysOfWeek':
      return `${listOf(days.daysOfTheWeek)} backups`;
    case 'DaysOfMonth': {
      const names = days.daysOfTheMonth.map((d) => (d.isLast === true ? 'the last day' : `day ${d.date}`));
      return `backups on ${listOf(names)} of the month${inMonths}`;
    }
    case 'WeeksOfMonth':
      return `backups on the ${listOf(days.weeksOfTheMonth)} ${listOf(days.daysOfTheWeek)} of the month${inMonths}`;
  }
}

// ---- internals ------------------------------------------------------------------------------------

type LongTermSchedule = NonNullable<IaasVmPolicyProperties['retentionPolicy']['monthlySchedule']>;

function longTermDays(schedule: LongTermSchedule): RetentionDaySelector {
  if (schedule.retentionScheduleFormatType === 'Daily') {
    return { kind: 'DaysOfMonth', daysOfTheMonth: schedule.retentionScheduleDaily?.daysOfTheMonth ?? [] };
  }
  return {
    kind: 'WeeksOfMonth',
    daysOfTheWeek: schedule.retentionScheduleWeekly?.daysOfTheWeek ?? [],
    weeksOfTheMonth: schedule.retentionScheduleWeekly?.weeksOfTheMonth ?? [],
  };
}

function listOf(items: readonly string[]): string {
  if (items.length === 0) return 'none';
  if (items.length === 1) return items[0];
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
