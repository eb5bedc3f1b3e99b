import { validatePolicy } from '../../lib/domain/policy-rules';
import { defaultPolicyForm, fieldOfTarget, policyFormOf, policyPropertiesOf, type PolicyForm } from '../../web/src/logic/policy-form';

describe('the policy editor', () => {
  it('makes valid Standard daily and weekly, and Enhanced hourly policies', () => {
    const daily = policyPropertiesOf({ ...defaultPolicyForm(), time: '02:30', timeZone: 'W. Europe Standard Time', weekly: { enabled: true, count: 8, days: ['Sunday'] }, monthly: { enabled: true, count: 12, weeks: ['Last'], days: ['Saturday'] } });
    expect(() => validatePolicy(daily)).not.toThrow();
    expect(daily.schedulePolicy).toEqual({ schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: ['2026-01-01T02:30:00Z'] });
    const weekly = policyPropertiesOf({ ...defaultPolicyForm(), frequency: 'Weekly', runDays: ['Monday', 'Thursday'], instantDays: 5 });
    expect(() => validatePolicy(weekly)).not.toThrow();
    expect(weekly.retentionPolicy).toMatchObject({ weeklySchedule: { daysOfTheWeek: ['Monday', 'Thursday'] } });
    const hourly = policyPropertiesOf({ ...defaultPolicyForm(), policyType: 'V2', frequency: 'Hourly', hourlyInterval: 4, windowStart: '08:00', windowDuration: 12, instantDays: 7 });
    expect(() => validatePolicy(hourly)).not.toThrow();
    expect(hourly.schedulePolicy).toMatchObject({ schedulePolicyType: 'SimpleSchedulePolicyV2', hourlySchedule: { interval: 4, scheduleWindowStartTime: '2026-01-01T08:00:00Z', scheduleWindowDuration: 12 } });
  });

  it('reads a policy back into the same form', () => {
    const form: PolicyForm = { ...defaultPolicyForm(), time: '21:15', timeZone: 'Pacific Standard Time', dailyCount: 45, yearly: { enabled: true, count: 3, weeks: ['First'], days: ['Monday'], months: ['March', 'September'] } };
    expect(policyFormOf(policyPropertiesOf(form))).toEqual(form);
  });

  it('puts each API validation error at the field its target names', () => {
    expect(fieldOfTarget('properties.retentionPolicy.dailySchedule.retentionDuration.count')).toBe('dailyCount');
    expect(fieldOfTarget('properties.retentionPolicy.weeklySchedule.daysOfTheWeek')).toBe('weeklyDays');
    expect(fieldOfTarget('properties.retentionPolicy.weeklySchedule.retentionDuration')).toBe('weeklyCount');
    expect(fieldOfTarget('properties.schedulePolicy.hourlySchedule.interval')).toBe('hourlyInterval');
    expect(fieldOfTarget('properties.schedulePolicy.scheduleRunTimes')).toBe('time');
    expect(fieldOfTarget('properties.instantRpRetentionRangeInDays')).toBe('instantDays');
    expect(fieldOfTarget('properties.timeZone')).toBe('timeZone');
    expect(fieldOfTarget('policyName')).toBe('name');
    expect(fieldOfTarget('body')).toBeUndefined();
    expect(fieldOfTarget(undefined)).toBeUndefined();
  });

  it('sends what the API validates: a too short daily retention is refused at the daily field', () => {
    let target: string | undefined;
    try {
      validatePolicy(policyPropertiesOf({ ...defaultPolicyForm(), dailyCount: 3 }));
    } catch (err) {
      target = (err as { target?: string }).target;
    }
    expect(fieldOfTarget(target)).toBe('dailyCount');
  });
});
