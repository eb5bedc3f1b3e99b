import { isKluisErrorLike } from '../../lib/domain/errors';
import { iaasVmPolicyPropertiesSchema, type IaasVmPolicyProperties } from '../../lib/domain/policy';
import {
  defaultPolicy,
  formatTimeOfDay,
  MAX_ON_DEMAND_BACKUPS_PER_DAY,
  onDemandBackupsToday,
  onDemandLimitReached,
  onDemandRetainUntil,
  parseTimeOfDay,
  policyPropertiesForResponse,
  policyScheduleOf,
  validatePolicy,
} from '../../lib/domain/policy-rules';

const RUN = '2026-01-01T19:00:00Z';

function v1Daily(): IaasVmPolicyProperties {
  return {
    backupManagementType: 'AzureIaasVM',
    timeZone: 'W. Europe Standard Time',
    schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: [RUN] },
    retentionPolicy: {
      retentionPolicyType: 'LongTermRetentionPolicy',
      dailySchedule: { retentionDuration: { count: 30, durationType: 'Days' } },
      weeklySchedule: { daysOfTheWeek: ['Sunday'], retentionDuration: { count: 12, durationType: 'Weeks' } },
      monthlySchedule: {
        retentionScheduleFormatType: 'Daily',
        retentionScheduleDaily: { daysOfTheMonth: [{ date: 1 }, { date: 0, isLast: true }] },
        retentionDuration: { count: 60, durationType: 'Months' },
      },
      yearlySchedule: {
        retentionScheduleFormatType: 'Weekly',
        retentionScheduleWeekly: { daysOfTheWeek: ['Sunday'], weeksOfTheMonth: ['Last'] },
        monthsOfYear: ['December'],
        retentionDuration: { count: 10, durationType: 'Years' },
      },
    },
  };
}

function v1Weekly(): IaasVmPolicyProperties {
  return {
    backupManagementType: 'AzureIaasVM',
    timeZone: 'Pacific Standard Time',
    schedulePolicy: {
      schedulePolicyType: 'SimpleSchedulePolicy',
      scheduleRunFrequency: 'Weekly',
      scheduleRunDays: ['Monday', 'Wednesday', 'Thursday'],
      scheduleRunTimes: ['2018-01-24T10:00:00Z'],
      scheduleWeeklyFrequency: 0,
    },
    retentionPolicy: {
      retentionPolicyType: 'LongTermRetentionPolicy',
      weeklySchedule: {
        daysOfTheWeek: ['Monday', 'Wednesday', 'Thursday'],
        retentionTimes: ['2018-01-24T10:00:00Z'],
        retentionDuration: { count: 1, durationType: 'Weeks' },
      },
      monthlySchedule: {
        retentionScheduleFormatType: 'Weekly',
        retentionScheduleWeekly: { daysOfTheWeek: ['Wednesday', 'Thursday'], weeksOfTheMonth: ['First', 'Third'] },
        retentionDuration: { count: 2, durationType: 'Months' },
      },
      yearlySchedule: {
        retentionScheduleFormatType: 'Weekly',
        monthsOfYear: ['February', 'November'],
        retentionScheduleWeekly: { daysOfTheWeek: ['Monday', 'Thursday'], weeksOfTheMonth: ['Fourth'] },
        retentionDuration: { count: 4, durationType: 'Years' },
      },
    },
  };
}

function v2Hourly(): IaasVmPolicyProperties {
  return {
    backupManagementType: 'AzureIaasVM',
    policyType: 'V2',
    timeZone: 'India Standard Time',
    schedulePolicy: {
      schedulePolicyType: 'SimpleSchedulePolicyV2',
      scheduleRunFrequency: 'Hourly',
      hourlySchedule: { interval: 4, scheduleWindowStartTime: '2021-12-17T08:00:00.000Z', scheduleWindowDuration: 16 },
    },
    retentionPolicy: {
      retentionPolicyType: 'LongTermRetentionPolicy',
      dailySchedule: { retentionTimes: ['2021-12-17T08:00:00+05:30'], retentionDuration: { count: 180, durationType: 'Days' } },
    },
  };
}

function v2Daily(): IaasVmPolicyProperties {
  return {
    backupManagementType: 'AzureIaasVM',
    policyType: 'V2',
    schedulePolicy: {
      schedulePolicyType: 'SimpleSchedulePolicyV2',
      scheduleRunFrequency: 'Daily',
      dailySchedule: { scheduleRunTimes: ['2026-01-01T23:30:00Z'] },
    },
    retentionPolicy: {
      retentionPolicyType: 'LongTermRetentionPolicy',
      dailySchedule: { retentionDuration: { count: 7, durationType: 'Days' } },
    },
  };
}

function v2Weekly(): IaasVmPolicyProperties {
  return {
    backupManagementType: 'AzureIaasVM',
    schedulePolicy: {
      schedulePolicyType: 'SimpleSchedulePolicyV2',
      scheduleRunFrequency: 'Weekly',
      weeklySchedule: { scheduleRunDays: ['Saturday'], scheduleRunTimes: ['2026-01-01T02:00:00Z'] },
    },
    retentionPolicy: {
      retentionPolicyType: 'LongTermRetentionPolicy',
      weeklySchedule: { daysOfTheWeek: ['Saturday'], retentionDuration: { count: 5163, durationType: 'Weeks' } },
    },
  };
}

/** A copy of `base` changed by `edit` (which may mutate its argument). */
function edited(base: () => IaasVmPolicyProperties, edit: (p: IaasVmPolicyProperties) => void): IaasVmPolicyProperties {
  const copy = base();
  edit(copy);
  return copy;
}

function failureOf(fn: () => unknown): { code?: string; target?: string; message?: string } {
  try {
    fn();
  } catch (err) {
    if (isKluisErrorLike(err)) return { code: err.code, target: err.target, message: err.message };
    return { code: `not a KluisError: ${String(err)}` };
  }
  return {};
}

function expectInvalid(properties: IaasVmPolicyProperties, target: string): void {
  const failure = failureOf(() => validatePolicy(properties));
  expect({ code: failure.code, target: failure.target }).toEqual({ code: 'KluisInvalidRequest', target });
  expect(failure.message).toMatch(/\S/);
}

const v1 = (p: IaasVmPolicyProperties) => {
  if (p.schedulePolicy.schedulePolicyType !== 'SimpleSchedulePolicy') throw new Error('not V1');
  return p.schedulePolicy;
};
const v2 = (p: IaasVmPolicyProperties) => {
  if (p.schedulePolicy.schedulePolicyType !== 'SimpleSchedulePolicyV2') throw new Error('not V2');
  return p.schedulePolicy;
};

describe('validatePolicy: valid policies', () => {
  it.each([
    ['V1 daily', v1Daily],
    ['V1 weekly', v1Weekly],
    ['V2 hourly', v2Hourly],
    ['V2 daily', v2Daily],
    ['V2 weekly', v2Weekly],
    ['DefaultPolicy', defaultPolicy],
  ])('accepts a %s policy that also passes the shape schema', (_name, make) => {
    const properties = make();
    expect(iaasVmPolicyPropertiesSchema.safeParse(properties).success).toBe(true);
    expect(() => validatePolicy(properties)).not.toThrow();
  });

  it('fills in the defaults of a V1 daily policy and keeps the given zone id next to the IANA zone', () => {
    const normalized = validatePolicy(v1Daily());
    expect(normalized.policyType).toBe('V1');
    expect(normalized.instantRpRetentionRangeInDays).toBe(2);
    expect(normalized.timeZone).toBe('W. Europe Standard Time');
    expect(normalized.ianaTimeZone).toBe('Europe/Berlin');
    const retention = normalized.retentionPolicy;
    for (const rule of [retention.dailySchedule, retention.weeklySchedule, retention.monthlySchedule, retention.yearlySchedule]) {
      expect(rule?.retentionTimes).toEqual([RUN]);
    }
    expect(retention.monthlySchedule?.retentionScheduleDaily?.daysOfTheMonth).toEqual([
      { date: 1, isLast: false },
      { date: 0, isLast: true },
    ]);
  });

  it('defaults the zone to UTC and instant restore to 7 days for V2, deriving policyType from the schedule', () => {
    const normalized = validatePolicy(v2Weekly());
    expect(normalized.policyType).toBe('V2');
    expect(normalized.timeZone).toBe('UTC');
    expect(normalized.ianaTimeZone).toBe('UTC');
    expect(normalized.instantRpRetentionRangeInDays).toBe(7);
  });

  it('fixes instant restore at 5 days for V1 weekly schedules', () => {
    expect(validatePolicy(v1Weekly()).instantRpRetentionRangeInDays).toBe(5);
    expect(validatePolicy(edited(v1Weekly, (p) => (p.instantRpRetentionRangeInDays = 5))).instantRpRetentionRangeInDays).toBe(5);
  });

  it('accepts the limits of every range', () => {
    for (const days of [1, 5]) expect(validatePolicy({ ...v1Daily(), instantRpRetentionRangeInDays: days }).instantRpRetentionRangeInDays).toBe(days);
    const v2Daily30 = edited(v2Daily, (p) => (p.retentionPolicy.dailySchedule!.retentionDuration.count = 30));
    for (const days of [1, 30]) expect(validatePolicy({ ...v2Daily30, instantRpRetentionRangeInDays: days }).instantRpRetentionRangeInDays).toBe(days);
    expect(() => validatePolicy(edited(v1Daily, (p) => (p.retentionPolicy.dailySchedule!.retentionDuration.count = 9999)))).not.toThrow();
    expect(() => validatePolicy(edited(v1Daily, (p) => (p.retentionPolicy.monthlySchedule!.retentionDuration.count = 1188)))).not.toThrow();
    expect(() => validatePolicy(edited(v1Daily, (p) => (p.retentionPolicy.monthlySchedule!.retentionDuration.count = 1)))).not.toThrow();
    expect(() => validatePolicy(edited(v1Daily, (p) => (p.retentionPolicy.yearlySchedule!.retentionDuration.count = 99)))).not.toThrow();
    expect(() => validatePolicy(edited(v1Daily, (p) => (p.retentionPolicy.yearlySchedule!.retentionDuration.count = 1)))).not.toThrow();
    expect(() => validatePolicy(edited(v1Daily, (p) => (p.retentionPolicy.monthlySchedule!.retentionScheduleDaily!.daysOfTheMonth = [{ date: 28 }])))).not.toThrow();
    for (const [interval, duration] of [
      [4, 4],
      [4, 24],
      [6, 12],
      [8, 24],
      [12, 12],
      [12, 24],
    ] as const) {
      expect(() =>
        validatePolicy(
          edited(v2Hourly, (p) => {
            v2(p).hourlySchedule = { interval, scheduleWindowStartTime: '2026-01-01T20:30:00Z', scheduleWindowDuration: duration };
            p.retentionPolicy.dailySchedule!.retentionTimes = undefined;
          }),
        ),
      ).not.toThrow();
    }
  });

  it('compares retention times by time of day only, ignoring the date and offset, and stores the run times', () => {
    const normalized = validatePolicy(v2Hourly());
    expect(normalized.retentionPolicy.dailySchedule?.retentionTimes).toEqual(['2021-12-17T08:00:00.000Z']);
  });

  it("keeps an Enhanced daily policy's retention times as given, also when they differ from the run time (Azure's IaaS_v2_daily example)", () => {
    const eightOClock = '2021-12-17T08:00:00.000Z';
    const normalized = validatePolicy(
      edited(v2Daily, (p) => {
        p.retentionPolicy.dailySchedule!.retentionTimes = [eightOClock];
        p.retentionPolicy.weeklySchedule = { daysOfTheWeek: ['Sunday'], retentionTimes: [eightOClock], retentionDuration: { count: 12, durationType: 'Weeks' } };
      }),
    );
    expect(normalized.retentionPolicy.dailySchedule?.retentionTimes).toEqual([eightOClock]);
    expect(normalized.retentionPolicy.weeklySchedule?.retentionTimes).toEqual([eightOClock]);
    expect(validatePolicy(v2Daily()).retentionPolicy.dailySchedule?.retentionTimes).toEqual(['2026-01-01T23:30:00Z']);
    expect(failureOf(() => validatePolicy(edited(v2Daily, (p) => (p.retentionPolicy.dailySchedule!.retentionTimes = ['08:00'])))).target).toBe(
      'properties.retentionPolicy.dailySchedule.retentionTimes[0]',
    );
  });

  it('reads an empty retentionScheduleDaily beside a week-based format as absent, as the official SDK samples send it', () => {
    const normalized = validatePolicy(edited(v1Daily, (p) => (p.retentionPolicy.yearlySchedule!.retentionScheduleDaily = {})));
    expect(normalized.retentionPolicy.yearlySchedule).not.toHaveProperty('retentionScheduleDaily');
    expect(normalized.retentionPolicy.yearlySchedule?.retentionScheduleWeekly).toEqual({ daysOfTheWeek: ['Sunday'], weeksOfTheMonth: ['Last'] });
  });

  it('accepts Azure-style explicit policyType and scheduleWeeklyFrequency', () => {
    expect(() => validatePolicy({ ...v1Daily(), policyType: 'V1' })).not.toThrow();
    expect(() => validatePolicy(edited(v1Daily, (p) => (v1(p).scheduleWeeklyFrequency = 0)))).not.toThrow();
  });

  it('uses the given target prefix', () => {
    const failure = failureOf(() => validatePolicy({ ...v1Daily(), timeZone: 'Atlantis' }, { target: 'policy.properties' }));
    expect(failure.target).toBe('policy.properties.timeZone');
  });

  it('does not change its input and passes read-only fields through', () => {
    const input = { ...v1Daily(), protectedItemsCount: 3 };
    const before = JSON.parse(JSON.stringify(input));
    const normalized = validatePolicy(input);
    expect(input).toEqual(before);
    expect(normalized.protectedItemsCount).toBe(3);
  });

  it('gives ARM properties without ianaTimeZone, which the shape schema accepts', () => {
    const response = policyPropertiesForResponse(validatePolicy(v1Daily()));
    expect(response).not.toHaveProperty('ianaTimeZone');
    expect(iaasVmPolicyPropertiesSchema.safeParse(response).success).toBe(true);
    expect(() => validatePolicy(response)).not.toThrow();
  });
});

describe('validatePolicy: every rule, with its code and target', () => {
  const P = 'properties';
  const S = `${P}.schedulePolicy`;
  const R = `${P}.retentionPolicy`;

  const cases: [string, IaasVmPolicyProperties, string][] = [
    // policy type and zone
    ['V1 policyType with a V2 schedule', { ...v2Daily(), policyType: 'V1' }, `${P}.policyType`],
    ['V2 policyType with a V1 schedule', { ...v1Daily(), policyType: 'V2' }, `${P}.policyType`],
    ['an unknown time zone', { ...v1Daily(), timeZone: 'Middle Earth Standard Time' }, `${P}.timeZone`],
    // V1 schedule
    ['no run time', edited(v1Daily, (p) => (v1(p).scheduleRunTimes = [])), `${S}.scheduleRunTimes`],
    ['two run times (V1 = one scheduled backup a day)', edited(v1Daily, (p) => (v1(p).scheduleRunTimes = [RUN, '2026-01-01T07:00:00Z'])), `${S}.scheduleRunTimes`],
    ['a run time off the half hour', edited(v1Daily, (p) => (v1(p).scheduleRunTimes = ['2026-01-01T19:15:00Z'])), `${S}.scheduleRunTimes[0]`],
    ['a run time with seconds', edited(v1Daily, (p) => (v1(p).scheduleRunTimes = ['2026-01-01T19:00:30Z'])), `${S}.scheduleRunTimes[0]`],
    ['run days on a daily schedule', edited(v1Daily, (p) => (v1(p).scheduleRunDays = ['Monday'])), `${S}.scheduleRunDays`],
    ['a weekly schedule without run days', edited(v1Weekly, (p) => (v1(p).scheduleRunDays = undefined)), `${S}.scheduleRunDays`],
    ['a weekly schedule with empty run days', edited(v1Weekly, (p) => (v1(p).scheduleRunDays = [])), `${S}.scheduleRunDays`],
    ['a run day listed twice', edited(v1Weekly, (p) => (v1(p).scheduleRunDays = ['Monday', 'Wednesday', 'Thursday', 'Monday'])), `${S}.scheduleRunDays[3]`],
    ['a weekly frequency of 2', edited(v1Weekly, (p) => (v1(p).scheduleWeeklyFrequency = 2)), `${S}.scheduleWeeklyFrequency`],
    // V2 schedule
    ['an hourly schedule without hourlySchedule', edited(v2Hourly, (p) => (v2(p).hourlySchedule = undefined)), `${S}.hourlySchedule`],
    ['an hourly schedule with a dailySchedule too', edited(v2Hourly, (p) => (v2(p).dailySchedule = { scheduleRunTimes: [RUN] })), `${S}.dailySchedule`],
    ['a daily V2 schedule without dailySchedule', edited(v2Daily, (p) => (v2(p).dailySchedule = undefined)), `${S}.dailySchedule`],
    ['a daily V2 schedule with a weeklySchedule too', edited(v2Daily, (p) => (v2(p).weeklySchedule = { scheduleRunDays: ['Monday'], scheduleRunTimes: [RUN] })), `${S}.weeklySchedule`],
    ['a weekly V2 schedule without weeklySchedule', edited(v2Weekly, (p) => (v2(p).weeklySchedule = undefined)), `${S}.weeklySchedule`],
    ['a weekly V2 schedule with an hourlySchedule too', edited(v2Weekly, (p) => (v2(p).hourlySchedule = { interval: 4, scheduleWindowStartTime: RUN, scheduleWindowDuration: 8 })), `${S}.hourlySchedule`],
    ['two V2 daily run times', edited(v2Daily, (p) => (v2(p).dailySchedule!.scheduleRunTimes = [RUN, RUN])), `${S}.dailySchedule.scheduleRunTimes`],
    ['a V2 weekly run time off the half hour', edited(v2Weekly, (p) => (v2(p).weeklySchedule!.scheduleRunTimes = ['2026-01-01T02:45:00Z'])), `${S}.weeklySchedule.scheduleRunTimes[0]`],
    ['V2 weekly without run days', edited(v2Weekly, (p) => (v2(p).weeklySchedule!.scheduleRunDays = [])), `${S}.weeklySchedule.scheduleRunDays`],
    ['an hourly interval of 5', edited(v2Hourly, (p) => (v2(p).hourlySchedule!.interval = 5 as 4)), `${S}.hourlySchedule.interval`],
    ['a window of 3 hours', edited(v2Hourly, (p) => (v2(p).hourlySchedule = { interval: 4, scheduleWindowStartTime: RUN, scheduleWindowDuration: 3 })), `${S}.hourlySchedule.scheduleWindowDuration`],
    ['a window of 28 hours', edited(v2Hourly, (p) => (v2(p).hourlySchedule = { interval: 4, scheduleWindowStartTime: RUN, scheduleWindowDuration: 28 })), `${S}.hourlySchedule.scheduleWindowDuration`],
    ['a window that is not a multiple of the interval', edited(v2Hourly, (p) => (v2(p).hourlySchedule = { interval: 4, scheduleWindowStartTime: RUN, scheduleWindowDuration: 23 })), `${S}.hourlySchedule.scheduleWindowDuration`],
    ['a window shorter than a 12-hour interval', edited(v2Hourly, (p) => (v2(p).hourlySchedule = { interval: 12, scheduleWindowStartTime: RUN, scheduleWindowDuration: 8 })), `${S}.hourlySchedule.scheduleWindowDuration`],
    ['a window start off the half hour', edited(v2Hourly, (p) => (v2(p).hourlySchedule!.scheduleWindowStartTime = '2026-01-01T08:10:00Z')), `${S}.hourlySchedule.scheduleWindowStartTime`],
    // retention rules per schedule
    ['a daily schedule without daily retention', edited(v1Daily, (p) => (p.retentionPolicy.dailySchedule = undefined)), `${R}.dailySchedule`],
    ['an hourly schedule without daily retention', edited(v2Hourly, (p) => (p.retentionPolicy.dailySchedule = undefined)), `${R}.dailySchedule`],
    ['daily retention on a weekly schedule', edited(v1Weekly, (p) => (p.retentionPolicy.dailySchedule = { retentionDuration: { count: 7, durationType: 'Days' } })), `${R}.dailySchedule`],
    ['daily retention on a V2 weekly schedule', edited(v2Weekly, (p) => (p.retentionPolicy.dailySchedule = { retentionDuration: { count: 7, durationType: 'Days' } })), `${R}.dailySchedule`],
    ['a weekly schedule without weekly retention', edited(v1Weekly, (p) => (p.retentionPolicy.weeklySchedule = undefined)), `${R}.weeklySchedule`],
    // ranges and duration types
    ['daily retention of 6 days', edited(v1Daily, (p) => (p.retentionPolicy.dailySchedule!.retentionDuration.count = 6)), `${R}.dailySchedule.retentionDuration.count`],
    ['daily retention of 10000 days', edited(v1Daily, (p) => (p.retentionPolicy.dailySchedule!.retentionDuration.count = 10000)), `${R}.dailySchedule.retentionDuration.count`],
    ['daily retention counted in weeks', edited(v1Daily, (p) => (p.retentionPolicy.dailySchedule!.retentionDuration.durationType = 'Weeks')), `${R}.dailySchedule.retentionDuration.durationType`],
    ['weekly retention of 0 weeks', edited(v1Daily, (p) => (p.retentionPolicy.weeklySchedule!.retentionDuration.count = 0)), `${R}.weeklySchedule.retentionDuration.count`],
    ['weekly retention of 5164 weeks', edited(v1Daily, (p) => (p.retentionPolicy.weeklySchedule!.retentionDuration.count = 5164)), `${R}.weeklySchedule.retentionDuration.count`],
    ['weekly retention counted in days', edited(v1Daily, (p) => (p.retentionPolicy.weeklySchedule!.retentionDuration.durationType = 'Days')), `${R}.weeklySchedule.retentionDuration.durationType`],
    ['monthly retention of 0 months', edited(v1Daily, (p) => (p.retentionPolicy.monthlySchedule!.retentionDuration.count = 0)), `${R}.monthlySchedule.retentionDuration.count`],
    ['monthly retention of 1189 months', edited(v1Daily, (p) => (p.retentionPolicy.monthlySchedule!.retentionDuration.count = 1189)), `${R}.monthlySchedule.retentionDuration.count`],
    ['monthly retention counted in years', edited(v1Daily, (p) => (p.retentionPolicy.monthlySchedule!.retentionDuration.durationType = 'Years')), `${R}.monthlySchedule.retentionDuration.durationType`],
    ['yearly retention of 0 years', edited(v1Daily, (p) => (p.retentionPolicy.yearlySchedule!.retentionDuration.count = 0)), `${R}.yearlySchedule.retentionDuration.count`],
    ['yearly retention of 100 years', edited(v1Daily, (p) => (p.retentionPolicy.yearlySchedule!.retentionDuration.count = 100)), `${R}.yearlySchedule.retentionDuration.count`],
    ['yearly retention counted in months', edited(v1Daily, (p) => (p.retentionPolicy.yearlySchedule!.retentionDuration.durationType = 'Months')), `${R}.yearlySchedule.retentionDuration.durationType`],
    ['a fractional count', edited(v1Daily, (p) => (p.retentionPolicy.dailySchedule!.retentionDuration.count = 7.5)), `${R}.dailySchedule.retentionDuration.count`],
    // days of retention rules
    ['weekly retention without days', edited(v1Daily, (p) => (p.retentionPolicy.weeklySchedule!.daysOfTheWeek = [])), `${R}.weeklySchedule.daysOfTheWeek`],
    ['weekly retention on a day without backup', edited(v1Weekly, (p) => (p.retentionPolicy.weeklySchedule!.daysOfTheWeek = ['Monday', 'Friday'])), `${R}.weeklySchedule.daysOfTheWeek[1]`],
    ['V2 weekly retention on a day without backup', edited(v2Weekly, (p) => (p.retentionPolicy.weeklySchedule!.daysOfTheWeek = ['Sunday'])), `${R}.weeklySchedule.daysOfTheWeek[0]`],
    ['monthly retention on the 29th', edited(v1Daily, (p) => (p.retentionPolicy.monthlySchedule!.retentionScheduleDaily!.daysOfTheMonth = [{ date: 29 }])), `${R}.monthlySchedule.retentionScheduleDaily.daysOfTheMonth[0].date`],
    ['monthly retention on day 0 that is not the last', edited(v1Daily, (p) => (p.retentionPolicy.monthlySchedule!.retentionScheduleDaily!.daysOfTheMonth = [{ date: 5 }, { date: 0, isLast: false }])), `${R}.monthlySchedule.retentionScheduleDaily.daysOfTheMonth[1].date`],
    ['monthly retention without days', edited(v1Daily, (p) => (p.retentionPolicy.monthlySchedule!.retentionScheduleDaily!.daysOfTheMonth = [])), `${R}.monthlySchedule.retentionScheduleDaily.daysOfTheMonth`],
    ['monthly retention listing the last day twice', edited(v1Daily, (p) => (p.retentionPolicy.monthlySchedule!.retentionScheduleDaily!.daysOfTheMonth = [{ date: 0, isLast: true }, { date: 31, isLast: true }])), `${R}.monthlySchedule.retentionScheduleDaily.daysOfTheMonth[1]`],
    ['day-based monthly retention with a weekly format too', edited(v1Daily, (p) => (p.retentionPolicy.monthlySchedule!.retentionScheduleWeekly = { daysOfTheWeek: ['Sunday'], weeksOfTheMonth: ['First'] })), `${R}.monthlySchedule.retentionScheduleWeekly`],
    ['week-based yearly retention without its format', edited(v1Daily, (p) => (p.retentionPolicy.yearlySchedule!.retentionScheduleWeekly = undefined)), `${R}.yearlySchedule.retentionScheduleWeekly`],
    ['week-based yearly retention with a daily format too', edited(v1Daily, (p) => (p.retentionPolicy.yearlySchedule!.retentionScheduleDaily = { daysOfTheMonth: [{ date: 1 }] })), `${R}.yearlySchedule.retentionScheduleDaily`],
    ['week-based retention without weeks', edited(v1Daily, (p) => (p.retentionPolicy.yearlySchedule!.retentionScheduleWeekly!.weeksOfTheMonth = [])), `${R}.yearlySchedule.retentionScheduleWeekly.weeksOfTheMonth`],
    ['week-based retention without days', edited(v1Daily, (p) => (p.retentionPolicy.yearlySchedule!.retentionScheduleWeekly!.daysOfTheWeek = [])), `${R}.yearlySchedule.retentionScheduleWeekly.daysOfTheWeek`],
    ['a week of the month listed twice', edited(v1Daily, (p) => (p.retentionPolicy.yearlySchedule!.retentionScheduleWeekly!.weeksOfTheMonth = ['First', 'First'])), `${R}.yearlySchedule.retentionScheduleWeekly.weeksOfTheMonth[1]`],
    ['yearly retention without months', edited(v1Daily, (p) => (p.retentionPolicy.yearlySchedule!.monthsOfYear = [])), `${R}.yearlySchedule.monthsOfYear`],
    ['a month listed twice', edited(v1Daily, (p) => (p.retentionPolicy.yearlySchedule!.monthsOfYear = ['May', 'May'])), `${R}.yearlySchedule.monthsOfYear[1]`],
    ['day-based monthly retention on a weekly schedule', edited(v1Weekly, (p) => (p.retentionPolicy.monthlySchedule = { retentionScheduleFormatType: 'Daily', retentionScheduleDaily: { daysOfTheMonth: [{ date: 1 }] }, retentionDuration: { count: 2, durationType: 'Months' } })), `${R}.monthlySchedule.retentionScheduleFormatType`],
    ['week-based monthly retention on a day without backup', edited(v1Weekly, (p) => (p.retentionPolicy.monthlySchedule!.retentionScheduleWeekly!.daysOfTheWeek = ['Sunday'])), `${R}.monthlySchedule.retentionScheduleWeekly.daysOfTheWeek[0]`],
    ['week-based yearly retention on a day without backup', edited(v1Weekly, (p) => (p.retentionPolicy.yearlySchedule!.retentionScheduleWeekly!.daysOfTheWeek = ['Monday', 'Tuesday'])), `${R}.yearlySchedule.retentionScheduleWeekly.daysOfTheWeek[1]`],
    // retention times
    ['daily retention times that differ from the run time', edited(v1Daily, (p) => (p.retentionPolicy.dailySchedule!.retentionTimes = ['2026-01-01T20:00:00Z'])), `${R}.dailySchedule.retentionTimes`],
    ['weekly retention times that differ from the run time', edited(v1Weekly, (p) => (p.retentionPolicy.weeklySchedule!.retentionTimes = ['2018-01-24T10:30:00Z'])), `${R}.weeklySchedule.retentionTimes`],
    ['monthly retention with two retention times', edited(v1Daily, (p) => (p.retentionPolicy.monthlySchedule!.retentionTimes = [RUN, RUN])), `${R}.monthlySchedule.retentionTimes`],
    ['yearly retention times that differ from the run time', edited(v1Daily, (p) => (p.retentionPolicy.yearlySchedule!.retentionTimes = ['2026-01-01T07:00:00Z'])), `${R}.yearlySchedule.retentionTimes`],
    ['hourly retention times other than the window start', edited(v2Hourly, (p) => (p.retentionPolicy.dailySchedule!.retentionTimes = ['2021-12-17T12:00:00Z'])), `${R}.dailySchedule.retentionTimes`],
    // instant restore
    ['V1 instant restore of 0 days', { ...v1Daily(), instantRpRetentionRangeInDays: 0 }, `${P}.instantRpRetentionRangeInDays`],
    ['V1 instant restore of 6 days', { ...v1Daily(), instantRpRetentionRangeInDays: 6 }, `${P}.instantRpRetentionRangeInDays`],
    ['V1 weekly instant restore of 2 days', { ...v1Weekly(), instantRpRetentionRangeInDays: 2 }, `${P}.instantRpRetentionRangeInDays`],
    ['V2 instant restore of 0 days', { ...v2Hourly(), instantRpRetentionRangeInDays: 0 }, `${P}.instantRpRetentionRangeInDays`],
    ['V2 instant restore of 31 days', { ...edited(v2Daily, (p) => (p.retentionPolicy.dailySchedule!.retentionDuration.count = 60)), instantRpRetentionRangeInDays: 31 }, `${P}.instantRpRetentionRangeInDays`],
    ['V2 instant restore beyond the daily (vault) retention', { ...v2Daily(), instantRpRetentionRangeInDays: 8 }, `${P}.instantRpRetentionRangeInDays`],
    ['V2 every 4 hours for 24 hours (6 snapshots a day) keeping snapshots 18 days', { ...edited(v2Hourly, (p) => Object.assign((p.schedulePolicy as { hourlySchedule: object }).hourlySchedule, { scheduleWindowDuration: 24 })), instantRpRetentionRangeInDays: 18 }, `${P}.instantRpRetentionRangeInDays`],
    ['V2 every 4 hours for 16 hours (4 snapshots a day) keeping snapshots 23 days, as Azure’s 2021 example IaaS_v2_hourly did with 30', { ...v2Hourly(), instantRpRetentionRangeInDays: 23 }, `${P}.instantRpRetentionRangeInDays`],
    ['V2 every 6 hours keeping snapshots 23 days', { ...edited(v2Hourly, (p) => Object.assign((p.schedulePolicy as { hourlySchedule: object }).hourlySchedule, { interval: 6, scheduleWindowDuration: 24 })), instantRpRetentionRangeInDays: 23 }, `${P}.instantRpRetentionRangeInDays`],
    ['V2 weekly keeping snapshots 4 days', { ...v2Weekly(), instantRpRetentionRangeInDays: 4 }, `${P}.instantRpRetentionRangeInDays`],
    ['V2 weekly keeping snapshots 21 days', { ...v2Weekly(), instantRpRetentionRangeInDays: 21 }, `${P}.instantRpRetentionRangeInDays`],
  ];

  it.each(cases)('rejects %s', (_name, properties, target) => {
    expectInvalid(properties, target);
  });

  it('allows Enhanced instant-restore days by snapshots a day, as Azure documents them', () => {
    const hourly = (interval: number, days: number) =>
      validatePolicy({ ...edited(v2Hourly, (p) => Object.assign((p.schedulePolicy as { hourlySchedule: object }).hourlySchedule, { interval, scheduleWindowDuration: 24 })), instantRpRetentionRangeInDays: days }).instantRpRetentionRangeInDays;
    expect(hourly(4, 17)).toBe(17);
    expect(hourly(6, 22)).toBe(22);
    expect(hourly(8, 30)).toBe(30);
    expect(hourly(12, 30)).toBe(30);
    expect(validatePolicy({ ...v2Weekly(), instantRpRetentionRangeInDays: 20 }).instantRpRetentionRangeInDays).toBe(20);
    expect(validatePolicy(v2Weekly()).instantRpRetentionRangeInDays).toBe(7);
    // By snapshots a day: every 4 hours for 16 hours is 4 a day, like every 6 hours for 24 hours.
    expect(validatePolicy({ ...v2Hourly(), instantRpRetentionRangeInDays: 22 }).instantRpRetentionRangeInDays).toBe(22);
    expect(failureOf(() => validatePolicy({ ...edited(v2Hourly, (p) => Object.assign((p.schedulePolicy as { hourlySchedule: object }).hourlySchedule, { scheduleWindowDuration: 24 })), instantRpRetentionRangeInDays: 18 })).message).toMatch(
      /6 snapshots a day \(every 4 hours for 24 hours\) keep instant-restore snapshots 1–17 days/,
    );
    expect(failureOf(() => validatePolicy({ ...v2Daily(), instantRpRetentionRangeInDays: 8 })).message).toMatch(/cannot exceed the vault retention .*7 days/);
  });

  it('says what is allowed', () => {
    expect(failureOf(() => validatePolicy(edited(v1Daily, (p) => (p.retentionPolicy.dailySchedule!.retentionDuration.count = 6)))).message).toMatch(/7–9999 days/);
    expect(failureOf(() => validatePolicy({ ...v1Weekly(), instantRpRetentionRangeInDays: 2 })).message).toMatch(/5 days/);
    expect(failureOf(() => validatePolicy(edited(v1Daily, (p) => (p.retentionPolicy.dailySchedule!.retentionTimes = ['2026-01-01T20:00:00Z'])))).message).toMatch(
      /20:00.*19:00/,
    );
  });
});

describe('policyScheduleOf', () => {
  it('gives one shape for V1 and V2 schedules', () => {
    expect(policyScheduleOf(v1Weekly())).toEqual({
      frequency: 'Weekly',
      runTimes: [{ hour: 10, minute: 0, second: 0 }],
      runDays: ['Monday', 'Wednesday', 'Thursday'],
    });
    expect(policyScheduleOf(v2Hourly())).toEqual({
      frequency: 'Hourly',
      runTimes: [{ hour: 8, minute: 0, second: 0 }],
      hourly: { intervalHours: 4, windowStart: { hour: 8, minute: 0, second: 0 }, windowDurationHours: 16 },
    });
    expect(policyScheduleOf(v2Daily())).toEqual({ frequency: 'Daily', runTimes: [{ hour: 23, minute: 30, second: 0 }] });
  });

  it('orders run days by the week', () => {
    const schedule = policyScheduleOf(edited(v1Weekly, (p) => (v1(p).scheduleRunDays = ['Saturday', 'Sunday', 'Tuesday'])));
    expect(schedule.runDays).toEqual(['Sunday', 'Tuesday', 'Saturday']);
  });
});

describe('time of day', () => {
  it('reads the wall-clock time and ignores date and offset', () => {
    expect(parseTimeOfDay('2026-01-01T19:00:00Z')).toEqual({ hour: 19, minute: 0, second: 0 });
    expect(parseTimeOfDay('2021-12-17T08:30:00+05:30')).toEqual({ hour: 8, minute: 30, second: 0 });
    expect(parseTimeOfDay('2021-12-17T08:30:15.123Z')).toEqual({ hour: 8, minute: 30, second: 15 });
    expect(parseTimeOfDay('2021-12-17T08:30')).toEqual({ hour: 8, minute: 30, second: 0 });
    expect(parseTimeOfDay('2021-12-17')).toBeUndefined();
    expect(parseTimeOfDay('2021-12-17T25:00:00Z')).toBeUndefined();
    expect(formatTimeOfDay({ hour: 7, minute: 5, second: 0 })).toBe('07:05');
    expect(formatTimeOfDay({ hour: 7, minute: 5, second: 9 })).toBe('07:05:09');
  });
});

describe('defaultPolicy', () => {
  it("is Azure's DefaultPolicy: Standard, daily, 30 days, instant restore 2 days, UTC", () => {
    const normalized = validatePolicy(defaultPolicy());
    expect(normalized).toMatchObject({
      policyType: 'V1',
      instantRpRetentionRangeInDays: 2,
      timeZone: 'UTC',
      ianaTimeZone: 'UTC',
      schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily' },
      retentionPolicy: { dailySchedule: { retentionDuration: { count: 30, durationType: 'Days' } } },
    });
    expect(normalized.retentionPolicy.weeklySchedule).toBeUndefined();
    expect(policyScheduleOf(normalized).runTimes).toEqual([{ hour: 19, minute: 0, second: 0 }]);
  });

  it('returns a fresh object each time', () => {
    const a = defaultPolicy();
    a.timeZone = 'Pacific Standard Time';
    expect(defaultPolicy().timeZone).toBe('UTC');
  });
});

describe('onDemandRetainUntil', () => {
  const now = new Date('2026-11-21T10:00:00Z');
  const TARGET = 'properties.recoveryPointExpiryTimeInUTC';

  it('defaults to 30 days from now', () => {
    expect(onDemandRetainUntil(undefined, now).toISOString()).toBe('2026-12-21T10:00:00.000Z');
  });

  it('accepts future date-times, with or without offset (no offset = UTC), and dates', () => {
    expect(onDemandRetainUntil('2026-12-31T00:00:00Z', now).toISOString()).toBe('2026-12-31T00:00:00.000Z');
    expect(onDemandRetainUntil('2026-12-31T00:00:00', now).toISOString()).toBe('2026-12-31T00:00:00.000Z');
    expect(onDemandRetainUntil('2026-12-31T01:00:00+01:00', now).toISOString()).toBe('2026-12-31T00:00:00.000Z');
    expect(onDemandRetainUntil('2026-12-31T00:00:00.250Z', now).toISOString()).toBe('2026-12-31T00:00:00.250Z');
    expect(onDemandRetainUntil('2026-12-31', now).toISOString()).toBe('2026-12-31T00:00:00.000Z');
    expect(onDemandRetainUntil('2125-11-21T10:00:00Z', now).toISOString()).toBe('2125-11-21T10:00:00.000Z');
  });

  it.each([
    ['now itself', '2026-11-21T10:00:00Z'],
    ['the past', '2026-11-20T10:00:00Z'],
    ['more than 99 years ahead', '2125-11-21T10:00:01Z'],
    ['not a date', 'next tuesday'],
    ['an impossible date', '2026-02-30T00:00:00Z'],
    ['an impossible time', '2026-12-01T24:00:00Z'],
    ['an impossible offset', '2026-12-01T10:00:00+25:00'],
    ['an empty string', ''],
  ])('rejects %s', (_name, value) => {
    expect(failureOf(() => onDemandRetainUntil(value, now))).toMatchObject({ code: 'KluisInvalidRequest', target: TARGET });
  });
});

describe('onDemandLimitReached', () => {
  const now = new Date('2026-11-21T22:30:00Z');

  it(`allows ${MAX_ON_DEMAND_BACKUPS_PER_DAY} on-demand backups per day`, () => {
    expect(onDemandLimitReached([], now, 'UTC')).toBe(false);
    expect(onDemandLimitReached(['2026-11-21T01:00:00Z', '2026-11-21T02:00:00Z'], now, 'UTC')).toBe(false);
    expect(onDemandLimitReached(['2026-11-21T01:00:00Z', '2026-11-21T02:00:00Z', '2026-11-21T03:00:00Z'], now, 'UTC')).toBe(true);
  });

  it('counts only backups of the same calendar day', () => {
    const times = ['2026-11-20T23:59:59Z', '2026-11-20T12:00:00Z', '2026-11-21T00:00:00Z', '2026-11-21T12:00:00Z'];
    expect(onDemandLimitReached(times, now, 'UTC')).toBe(false);
  });

  it("counts the day in the given zone (Windows or IANA id)", () => {
    // 22:30Z on the 21st is 23:30 on the 21st in Amsterdam; 23:30Z on the 20th is 00:30 on the 21st there.
    const times = ['2026-11-20T23:30:00Z', '2026-11-21T08:00:00Z', '2026-11-21T09:00:00Z'];
    expect(onDemandLimitReached(times, now, 'UTC')).toBe(false);
    expect(onDemandLimitReached(times, now, 'Europe/Amsterdam')).toBe(true);
    expect(onDemandLimitReached(times, now, 'W. Europe Standard Time')).toBe(true);
  });

  it('counts the backups of today', () => {
    expect(onDemandBackupsToday(['2026-11-20T23:00:00Z', '2026-11-21T01:00:00Z', '2026-11-21T22:30:00Z'], now, 'UTC')).toBe(2);
  });

  it('ignores unreadable times', () => {
    expect(onDemandLimitReached(['garbage', '2026-11-21T01:00:00Z', '2026-11-21T02:00:00Z'], now, 'UTC')).toBe(false);
  });
});
