/**
 * The shape of an Azure IaaS VM backup policy (`AzureIaasVMProtectionPolicy.properties`), as ARM
 * sends and returns it. Field names, enums and nesting follow the Microsoft.RecoveryServices REST API
 * so an Azure user's policy JSON works unchanged. Shape only: cross-field rules (ranges, retention
 * times equal to run times, instant-restore days per schedule) live in policy-rules.ts.
 */
import { z } from 'zod';
import { restoreDrillSettingsSchema } from './restore-drill';

export const DAYS_OF_WEEK = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;
export const WEEKS_OF_MONTH = ['First', 'Second', 'Third', 'Fourth', 'Last'] as const;
export const MONTHS_OF_YEAR = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;

export const dayOfWeekSchema = z.enum(DAYS_OF_WEEK);
export const weekOfMonthSchema = z.enum(WEEKS_OF_MONTH);
export const monthOfYearSchema = z.enum(MONTHS_OF_YEAR);

/** A schedule or retention time: ARM sends a full date-time and only its time of day counts. */
export const scheduleTimeSchema = z.iso.datetime({ offset: true, local: true });

export const retentionDurationSchema = z
  .object({
    count: z.number().int(),
    durationType: z.enum(['Days', 'Weeks', 'Months', 'Years']),
  })
  .strict();

export const simpleSchedulePolicySchema = z
  .object({
    schedulePolicyType: z.literal('SimpleSchedulePolicy'),
    scheduleRunFrequency: z.enum(['Daily', 'Weekly']),
    scheduleRunDays: z.array(dayOfWeekSchema).optional(),
    scheduleRunTimes: z.array(scheduleTimeSchema),
    scheduleWeeklyFrequency: z.number().int().optional(),
  })
  .strict();

export const hourlyScheduleSchema = z
  .object({
    interval: z.union([z.literal(4), z.literal(6), z.literal(8), z.literal(12)]),
    scheduleWindowStartTime: scheduleTimeSchema,
    scheduleWindowDuration: z.number().int(),
  })
  .strict();

export const simpleSchedulePolicyV2Schema = z
  .object({
    schedulePolicyType: z.literal('SimpleSchedulePolicyV2'),
    scheduleRunFrequency: z.enum(['Hourly', 'Daily', 'Weekly']),
    hourlySchedule: hourlyScheduleSchema.optional(),
    dailySchedule: z.object({ scheduleRunTimes: z.array(scheduleTimeSchema) }).strict().optional(),
    weeklySchedule: z
      .object({ scheduleRunDays: z.array(dayOfWeekSchema), scheduleRunTimes: z.array(scheduleTimeSchema) })
      .strict()
      .optional(),
  })
  .strict();

export const schedulePolicySchema = z.discriminatedUnion('schedulePolicyType', [
  simpleSchedulePolicySchema,
  simpleSchedulePolicyV2Schema,
]);

export const dailyRetentionScheduleSchema = z
  .object({ retentionTimes: z.array(scheduleTimeSchema).optional(), retentionDuration: retentionDurationSchema })
  .strict();

export const weeklyRetentionScheduleSchema = z
  .object({
    daysOfTheWeek: z.array(dayOfWeekSchema),
    retentionTimes: z.array(scheduleTimeSchema).optional(),
    retentionDuration: retentionDurationSchema,
  })
  .strict();

/** `date` 1–28 or `isLast` (the last day of the month, whatever its number). */
export const dayOfMonthSchema = z.object({ date: z.number().int(), isLast: z.boolean().optional() }).strict();

/** Days of the month; Azure's clients send `{}` (no days) beside a week-based format, which reads as absent. */
export const dailyRetentionFormatSchema = z.object({ daysOfTheMonth: z.array(dayOfMonthSchema).optional() }).strict();

export const weeklyRetentionFormatSchema = z
  .object({ daysOfTheWeek: z.array(dayOfWeekSchema), weeksOfTheMonth: z.array(weekOfMonthSchema) })
  .strict();

const longTermFields = {
  retentionScheduleFormatType: z.enum(['Daily', 'Weekly']),
  retentionScheduleDaily: dailyRetentionFormatSchema.optional(),
  retentionScheduleWeekly: weeklyRetentionFormatSchema.optional(),
  retentionTimes: z.array(scheduleTimeSchema).optional(),
  retentionDuration: retentionDurationSchema,
};

export const monthlyRetentionScheduleSchema = z.object(longTermFields).strict();

export const yearlyRetentionScheduleSchema = z
  .object({ ...longTermFields, monthsOfYear: z.array(monthOfYearSchema) })
  .strict();

export const retentionPolicySchema = z
  .object({
    retentionPolicyType: z.literal('LongTermRetentionPolicy'),
    dailySchedule: dailyRetentionScheduleSchema.optional(),
    weeklySchedule: weeklyRetentionScheduleSchema.optional(),
    monthlySchedule: monthlyRetentionScheduleSchema.optional(),
    yearlySchedule: yearlyRetentionScheduleSchema.optional(),
  })
  .strict();

/** `properties` of a PUT backupPolicies/{name}; read-only fields (protectedItemsCount) are accepted and ignored. */
export const iaasVmPolicyPropertiesSchema = z
  .object({
    backupManagementType: z.literal('AzureIaasVM'),
    policyType: z.enum(['V1', 'V2']).optional(),
    instantRpRetentionRangeInDays: z.number().int().optional(),
    timeZone: z.string().min(1).max(100).optional(),
    schedulePolicy: schedulePolicySchema,
    retentionPolicy: retentionPolicySchema,
    protectedItemsCount: z.number().int().optional(),
    instantRPDetails: z.object({ azureBackupRGNamePrefix: z.string().optional(), azureBackupRGNameSuffix: z.string().optional() }).optional(),
    tieringPolicy: z.unknown().optional(),
    /** Kluis only (restore-drill.ts): how often this policy's items are drilled; wins over the vault's default. */
    kluisRestoreDrill: restoreDrillSettingsSchema.optional(),
  })
  .strict();

export type DayOfWeek = z.infer<typeof dayOfWeekSchema>;
export type WeekOfMonth = z.infer<typeof weekOfMonthSchema>;
export type MonthOfYear = z.infer<typeof monthOfYearSchema>;
export type RetentionDuration = z.infer<typeof retentionDurationSchema>;
export type SimpleSchedulePolicy = z.infer<typeof simpleSchedulePolicySchema>;
export type SimpleSchedulePolicyV2 = z.infer<typeof simpleSchedulePolicyV2Schema>;
export type SchedulePolicy = z.infer<typeof schedulePolicySchema>;
export type DailyRetentionSchedule = z.infer<typeof dailyRetentionScheduleSchema>;
export type WeeklyRetentionSchedule = z.infer<typeof weeklyRetentionScheduleSchema>;
export type MonthlyRetentionSchedule = z.infer<typeof monthlyRetentionScheduleSchema>;
export type YearlyRetentionSchedule = z.infer<typeof yearlyRetentionScheduleSchema>;
export type RetentionPolicy = z.infer<typeof retentionPolicySchema>;
export type IaasVmPolicyProperties = z.infer<typeof iaasVmPolicyPropertiesSchema>;
