/**
 * The soak's policies (test/e2e/soak.test.ts): a small random shape — a daily time in UTC, instant-restore days,
 * and daily / weekly / monthly / yearly retention, the longer ones present or not — its Azure body, and the times
 * of its scheduled slots. Pure.
 */
import type { SeededRandom } from '../../emulator/seeded-random';

export interface PolicyShape {
  /** The daily backup time, UTC. */
  hour: number;
  minute: 0 | 30;
  instantDays: number;
  dailyDays: number;
  weeklyWeeks?: number;
  monthlyMonths?: number;
  yearlyYears?: number;
}

export function randomPolicyShape(random: SeededRandom): PolicyShape {
  const maybe = (min: number, max: number) => (random.nextInt(3) === 0 ? undefined : min + random.nextInt(max - min + 1));
  const shape: PolicyShape = {
    hour: random.nextInt(24),
    minute: random.nextInt(2) === 0 ? 0 : 30,
    instantDays: 1 + random.nextInt(5),
    dailyDays: 7 + random.nextInt(24),
  };
  const weekly = maybe(1, 8);
  const monthly = maybe(1, 6);
  const yearly = maybe(1, 2);
  return { ...shape, ...(weekly === undefined ? {} : { weeklyWeeks: weekly }), ...(monthly === undefined ? {} : { monthlyMonths: monthly }), ...(yearly === undefined ? {} : { yearlyYears: yearly }) };
}

/** The policy's properties as Azure takes them (Standard, daily, UTC; weekly on Sundays, monthly and yearly on the 1st). */
export function soakPolicy(shape: PolicyShape): Record<string, unknown> {
  const runTime = `2026-01-01T${String(shape.hour).padStart(2, '0')}:${String(shape.minute).padStart(2, '0')}:00Z`;
  const firstOfMonth = { retentionScheduleFormatType: 'Daily', retentionScheduleDaily: { daysOfTheMonth: [{ date: 1, isLast: false }] } };
  return {
    backupManagementType: 'AzureIaasVM',
    policyType: 'V1',
    instantRpRetentionRangeInDays: shape.instantDays,
    timeZone: 'UTC',
    schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: [runTime] },
    retentionPolicy: {
      retentionPolicyType: 'LongTermRetentionPolicy',
      dailySchedule: { retentionTimes: [runTime], retentionDuration: { count: shape.dailyDays, durationType: 'Days' } },
      ...(shape.weeklyWeeks === undefined
        ? {}
        : { weeklySchedule: { daysOfTheWeek: ['Sunday'], retentionTimes: [runTime], retentionDuration: { count: shape.weeklyWeeks, durationType: 'Weeks' } } }),
      ...(shape.monthlyMonths === undefined
        ? {}
        : { monthlySchedule: { ...firstOfMonth, retentionTimes: [runTime], retentionDuration: { count: shape.monthlyMonths, durationType: 'Months' } } }),
      ...(shape.yearlyYears === undefined
        ? {}
        : { yearlySchedule: { ...firstOfMonth, monthsOfYear: ['January'], retentionTimes: [runTime], retentionDuration: { count: shape.yearlyYears, durationType: 'Years' } } }),
    },
  };
}

const DAY_MS = 86_400_000;

/** The policy's slot times (epoch ms) in (from, to]. */
export function slotsBetween(shape: PolicyShape, from: number, to: number): number[] {
  const slots: number[] = [];
  const offset = (shape.hour * 60 + shape.minute) * 60_000;
  for (let day = Math.floor(from / DAY_MS) * DAY_MS; day + offset <= to; day += DAY_MS) if (day + offset > from) slots.push(day + offset);
  return slots;
}
