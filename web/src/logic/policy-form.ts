/**
 * The policy editor's form and the ARM policy body it stands for, both ways, and where an API
 * validation error belongs: its `target` (e.g. `properties.retentionPolicy.weeklySchedule.daysOfTheWeek`)
 * names the field the message is shown at. Pure.
 */
import { DAYS_OF_WEEK, MONTHS_OF_YEAR, WEEKS_OF_MONTH, type IaasVmPolicyProperties } from '../../../lib/domain/policy';

export type Frequency = 'Daily' | 'Weekly' | 'Hourly';
export type DayOfWeek = (typeof DAYS_OF_WEEK)[number];
export type WeekOfMonth = (typeof WEEKS_OF_MONTH)[number];
export type MonthOfYear = (typeof MONTHS_OF_YEAR)[number];

export interface LongTermForm {
  enabled: boolean;
  count: number;
  /** Weekly format: the weeks of the month and days of the week picked. */
  weeks: WeekOfMonth[];
  days: DayOfWeek[];
}

export interface PolicyForm {
  policyType: 'V1' | 'V2';
  frequency: Frequency;
  /** HH:MM */
  time: string;
  runDays: DayOfWeek[];
  hourlyInterval: number;
  /** HH:MM */
  windowStart: string;
  windowDuration: number;
  timeZone: string;
  instantDays: number;
  dailyCount: number;
  weekly: { enabled: boolean; count: number; days: DayOfWeek[] };
  monthly: LongTermForm;
  yearly: LongTermForm & { months: MonthOfYear[] };
}

export const FIELD_NAMES = [
  'name',
  'policyType',
  'frequency',
  'time',
  'runDays',
  'hourlyInterval',
  'windowStart',
  'windowDuration',
  'timeZone',
  'instantDays',
  'dailyCount',
  'weeklyDays',
  'weeklyCount',
  'monthly',
  'monthlyCount',
  'yearlyMonths',
  'yearly',
  'yearlyCount',
] as const;
export type FieldName = (typeof FIELD_NAMES)[number];

export function defaultPolicyForm(): PolicyForm {
  return {
    policyType: 'V1',
    frequency: 'Daily',
    time: '19:00',
    runDays: ['Sunday'],
    hourlyInterval: 4,
    windowStart: '08:00',
    windowDuration: 12,
    timeZone: 'UTC',
    instantDays: 2,
    dailyCount: 30,
    weekly: { enabled: false, count: 12, days: ['Sunday'] },
    monthly: { enabled: false, count: 12, weeks: ['First'], days: ['Sunday'] },
    yearly: { enabled: false, count: 5, weeks: ['First'], days: ['Sunday'], months: ['January'] },
  };
}

/** `2026-01-01T19:00:00Z`: Azure writes run times on a fixed date; only the time of day counts. */
function runTime(hhmm: string): string {
  return `2026-01-01T${hhmm}:00Z`;
}

function timeOf(iso: string | undefined, fallback: string): string {
  const match = /T(\d{2}):(\d{2})/.exec(iso ?? '');
  return match === null ? fallback : `${match[1]}:${match[2]}`;
}

/** The ARM `properties` of the form (what PUT sends). */
export function policyPropertiesOf(form: PolicyForm): IaasVmPolicyProperties {
  const times = [runTime(form.frequency === 'Hourly' ? form.windowStart : form.time)];
  let schedulePolicy: IaasVmPolicyProperties['schedulePolicy'];
  if (form.policyType === 'V1') {
    schedulePolicy = {
      schedulePolicyType: 'SimpleSchedulePolicy',
      scheduleRunFrequency: form.frequency === 'Weekly' ? 'Weekly' : 'Daily',
      ...(form.frequency === 'Weekly' ? { scheduleRunDays: [...form.runDays] } : {}),
      scheduleRunTimes: times,
    } as IaasVmPolicyProperties['schedulePolicy'];
  } else {
    const v2: Record<string, unknown> = { schedulePolicyType: 'SimpleSchedulePolicyV2', scheduleRunFrequency: form.frequency };
    if (form.frequency === 'Hourly') v2.hourlySchedule = { interval: form.hourlyInterval, scheduleWindowStartTime: times[0], scheduleWindowDuration: form.windowDuration };
    else if (form.frequency === 'Weekly') v2.weeklySchedule = { scheduleRunDays: [...form.runDays], scheduleRunTimes: times };
    else v2.dailySchedule = { scheduleRunTimes: times };
    schedulePolicy = v2 as unknown as IaasVmPolicyProperties['schedulePolicy'];
  }
  const retention: Record<string, unknown> = { retentionPolicyType: 'LongTermRetentionPolicy' };
  if (form.frequency !== 'Weekly') retention.dailySchedule = { retentionTimes: times, retentionDuration: { count: form.dailyCount, durationType: 'Days' } };
  if (form.weekly.enabled || form.frequency === 'Weekly') {
    const days = form.frequency === 'Weekly' ? form.runDays : form.weekly.days;
    retention.weeklySchedule = { daysOfTheWeek: [...days], retentionTimes: times, retentionDuration: { count: form.weekly.count, durationType: 'Weeks' } };
  }
  if (form.monthly.enabled) {
    retention.monthlySchedule = {
      retentionScheduleFormatType: 'Weekly',
      retentionScheduleWeekly: { daysOfTheWeek: [...form.monthly.days], weeksOfTheMonth: [...form.monthly.weeks] },
      retentionTimes: times,
      retentionDuration: { count: form.monthly.count, durationType: 'Months' },
    };
  }
  if (form.yearly.enabled) {
    retention.yearlySchedule = {
      retentionScheduleFormatType: 'Weekly',
      monthsOfYear: [...form.yearly.months],
      retentionScheduleWeekly: { daysOfTheWeek: [...form.yearly.days], weeksOfTheMonth: [...form.yearly.weeks] },
      retentionTimes: times,
      retentionDuration: { count: form.yearly.count, durationType: 'Years' },
    };
  }
  return {
    backupManagementType: 'AzureIaasVM',
    policyType: form.policyType,
    instantRpRetentionRangeInDays: form.instantDays,
    timeZone: form.timeZone,
    schedulePolicy,
    retentionPolicy: retention as IaasVmPolicyProperties['retentionPolicy'],
  } as IaasVmPolicyProperties;
}

type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The form of a policy the API returned (its long-term rules' weekly format; a daily format reads as its defaults). */
export function policyFormOf(properties: IaasVmPolicyProperties): PolicyForm {
  const form = defaultPolicyForm();
  const p = properties as unknown as Loose;
  const schedule: Loose = p.schedulePolicy ?? {};
  form.policyType = p.policyType === 'V2' || schedule.schedulePolicyType === 'SimpleSchedulePolicyV2' ? 'V2' : 'V1';
  form.frequency = (schedule.scheduleRunFrequency as Frequency | undefined) ?? 'Daily';
  form.timeZone = p.timeZone ?? 'UTC';
  form.instantDays = p.instantRpRetentionRangeInDays ?? form.instantDays;
  const times: string[] | undefined = schedule.scheduleRunTimes ?? schedule.dailySchedule?.scheduleRunTimes ?? schedule.weeklySchedule?.scheduleRunTimes;
  form.time = timeOf(times?.[0], form.time);
  form.runDays = schedule.scheduleRunDays ?? schedule.weeklySchedule?.scheduleRunDays ?? form.runDays;
  if (schedule.hourlySchedule) {
    form.hourlyInterval = schedule.hourlySchedule.interval ?? form.hourlyInterval;
    form.windowStart = timeOf(schedule.hourlySchedule.scheduleWindowStartTime, form.windowStart);
    form.windowDuration = schedule.hourlySchedule.scheduleWindowDuration ?? form.windowDuration;
  }
  const retention: Loose = p.retentionPolicy ?? {};
  form.dailyCount = retention.dailySchedule?.retentionDuration?.count ?? form.dailyCount;
  if (retention.weeklySchedule) form.weekly = { enabled: true, count: retention.weeklySchedule.retentionDuration?.count ?? 12, days: retention.weeklySchedule.daysOfTheWeek ?? ['Sunday'] };
  const longTerm = (schedule: Loose | undefined, fallback: LongTermForm): LongTermForm =>
    schedule === undefined || schedule === null
      ? fallback
      : {
          enabled: true,
          count: schedule.retentionDuration?.count ?? fallback.count,
          weeks: schedule.retentionScheduleWeekly?.weeksOfTheMonth ?? fallback.weeks,
          days: schedule.retentionScheduleWeekly?.daysOfTheWeek ?? fallback.days,
        };
  form.monthly = longTerm(retention.monthlySchedule, form.monthly);
  form.yearly = { ...longTerm(retention.yearlySchedule, form.yearly), months: retention.yearlySchedule?.monthsOfYear ?? form.yearly.months };
  return form;
}

/** Target prefixes of the API's errors, most specific first, and the field each belongs to. */
const TARGETS: Array<[string, FieldName]> = [
  ['schedulePolicy.hourlySchedule.interval', 'hourlyInterval'],
  ['schedulePolicy.hourlySchedule.scheduleWindowStartTime', 'windowStart'],
  ['schedulePolicy.hourlySchedule.scheduleWindowDuration', 'windowDuration'],
  ['schedulePolicy.hourlySchedule', 'hourlyInterval'],
  ['schedulePolicy.weeklySchedule.scheduleRunDays', 'runDays'],
  ['schedulePolicy.scheduleRunDays', 'runDays'],
  ['schedulePolicy.weeklySchedule', 'time'],
  ['schedulePolicy.dailySchedule', 'time'],
  ['schedulePolicy.scheduleRunTimes', 'time'],
  ['schedulePolicy', 'frequency'],
  ['retentionPolicy.dailySchedule', 'dailyCount'],
  ['retentionPolicy.weeklySchedule.daysOfTheWeek', 'weeklyDays'],
  ['retentionPolicy.weeklySchedule', 'weeklyCount'],
  ['retentionPolicy.monthlySchedule.retentionDuration', 'monthlyCount'],
  ['retentionPolicy.monthlySchedule', 'monthly'],
  ['retentionPolicy.yearlySchedule.monthsOfYear', 'yearlyMonths'],
  ['retentionPolicy.yearlySchedule.retentionDuration', 'yearlyCount'],
  ['retentionPolicy.yearlySchedule', 'yearly'],
  ['retentionPolicy', 'dailyCount'],
  ['instantRpRetentionRangeInDays', 'instantDays'],
  ['timeZone', 'timeZone'],
  ['policyType', 'policyType'],
];

/** The form field an API error's `target` names; undefined: the error belongs to the form as a whole. */
export function fieldOfTarget(target: string | undefined): FieldName | undefined {
  if (target === undefined) return undefined;
  if (target === 'policyName' || target === 'name') return 'name';
  const path = target.replace(/^properties\./, '');
  return TARGETS.find(([prefix]) => path === prefix || path.startsWith(`${prefix}.`))?.[1];
}
