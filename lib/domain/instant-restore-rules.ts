/**
 * Instant restore (the snapshot tier): how many days a policy keeps its snapshots, and how many
 * snapshot points a VM may hold — Azure Backup's documented rules, each with its source:
 *
 * - Standard (V1): 1–5 days, default 2; Weekly schedules fixed at 5. "You can change the value to a
 *   minimum of one day and a maximum of five days. For weekly policies, the snapshot retention is
 *   fixed to five days." (Instant Restore, backup-instant-restore-capability, 2025-06-16)
 * - Enhanced (V2): 1–30 days, default 7 — "You can set the retention of a recovery snapshot from 1
 *   to 30 days. The default value is set to 7." — and "The maximum limit of the instant recovery point
 *   retention range depends on the number of snapshots that you take per day. If the snapshot count is
 *   more (for example, a frequency of every 4 hours in a duration of 24 hours, so six scheduled
 *   snapshots), then the maximum allowed days for retention reduces.": "when the hourly frequency is 4
 *   hours, the maximum retention allowed is 17 days. For 6 hours, the maximum retention is 22 days." and
 *   "If you choose the lower RPO of 12 hours, the snapshot retention increases to 30 days."
 *   (backup-azure-vms-enhanced-policy, 2025-06-11). So by snapshots a day (window ÷ interval): 6 → 17
 *   days, 4 → 22, 2 → 30. Azure names no maximum for 5 or 3 a day; Kluis gives them the maximum of the
 *   documented count just below (5 → 22, 3 → 30).
 *   (Azure's own 2021 example IaaS_v2_hourly keeps 30 days at 4 a day; the documentation since refuses it.)
 *   Weekly Enhanced schedules: "Snapshot retention can vary from 5 to 20 days for the Enhanced
 *   policy." (Instant Restore, 2025-06-16).
 * - Both: "Instant restore retention duration cannot exceed vault retention duration."
 *   (backup-azure-vms-enhanced-policy).
 * - At most 18 snapshot points per VM: "only 18 instant RPs can be associated with a VM at any given
 *   time" (UserErrorRpCollectionLimitReached, backup-azure-troubleshoot-vm-backup-fails-snapshot-timeout,
 *   2022-05-05). Azure wrote it for one backup a day; Enhanced policies keep up to 6 × 17 = 102 by the
 *   rule above, so the count cap applies to Standard policies and Enhanced ones are capped by their days.
 * - The latest recovery point keeps its snapshot until the next successful backup: "If the recovery
 *   point has a snapshot and it's the latest recovery point available, the snapshot is retained until
 *   the next successful backup." (Instant Restore FAQ, 2025-06-16). See retention.ts.
 */
import { errors } from './errors';
import type { IaasVmPolicyProperties, RetentionDuration, SchedulePolicy } from './policy';
import type { PolicyType } from './policy-rules';
import { retentionDaysOf } from './retention-calendar';

export const INSTANT_RP_LIMITS = {
  V1: { min: 1, max: 5, default: 2, weeklySchedule: 5 },
  V2: { min: 1, max: 30, default: 7, weeklyMin: 5, weeklyMax: 20 },
} as const;

/** Enhanced hourly schedules: the most instant-restore days by snapshots a day (at least this many a day → this many days). */
export const ENHANCED_HOURLY_MAX_INSTANT_DAYS: ReadonlyArray<{ snapshotsPerDay: number; maxDays: number }> = [
  { snapshotsPerDay: 6, maxDays: 17 },
  { snapshotsPerDay: 4, maxDays: 22 },
  { snapshotsPerDay: 1, maxDays: 30 },
];

/** Scheduled snapshots a day of an hourly schedule: one every `interval` hours inside the window. */
export function hourlySnapshotsPerDay(interval: number, windowHours: number): number {
  return Math.ceil(windowHours / interval);
}

/** Standard policies: at most this many recovery points with a snapshot tier per VM. */
export const MAX_INSTANT_RECOVERY_POINTS = 18;

/** The instant-restore days a policy keeps (its value, else the default for its type and schedule). */
export function instantRestoreDaysOf(policy: Pick<IaasVmPolicyProperties, 'policyType' | 'schedulePolicy' | 'instantRpRetentionRangeInDays'>): number {
  if (policy.instantRpRetentionRangeInDays !== undefined) return policy.instantRpRetentionRangeInDays;
  if (policyTypeOf(policy) === 'V1') return policy.schedulePolicy.scheduleRunFrequency === 'Weekly' ? INSTANT_RP_LIMITS.V1.weeklySchedule : INSTANT_RP_LIMITS.V1.default;
  return INSTANT_RP_LIMITS.V2.default;
}

/** The most recovery points with a snapshot tier a VM keeps under the policy; undefined: no count cap (Enhanced). */
export function maxInstantRecoveryPointsOf(policy: Pick<IaasVmPolicyProperties, 'policyType' | 'schedulePolicy'>): number | undefined {
  return policyTypeOf(policy) === 'V1' ? MAX_INSTANT_RECOVERY_POINTS : undefined;
}

export interface InstantRestoreCheck {
  policyType: PolicyType;
  schedulePolicy: SchedulePolicy;
  /** The vault retention of the schedule's own points (the Daily rule; the Weekly rule on weekly schedules). */
  vaultRetention?: RetentionDuration;
}

/** Validates `instantRpRetentionRangeInDays` (throws KluisInvalidRequest at `target`) and returns the days to keep. */
export function checkInstantRestoreDays(given: number | undefined, check: InstantRestoreCheck, target: string): number {
  const { min, max, fixed, why } = limitsOf(check);
  const days = given ?? fixed ?? Math.min(defaultOf(check), max);
  if (fixed !== undefined && days !== fixed) throw errors.invalidRequest(target, `${why}; omit the value or set ${fixed}.`);
  if (!Number.isInteger(days) || days < min || days > max) throw errors.invalidRequest(target, `${why}, not ${days}.`);
  if (check.vaultRetention !== undefined && days > retentionDaysOf(check.vaultRetention)) {
    const vaultDays = retentionDaysOf(check.vaultRetention);
    throw errors.invalidRequest(target, `Instant-restore retention (${days} days) cannot exceed the vault retention of the scheduled backups (${vaultDays} days).`);
  }
  return days;
}

// ---- internals ------------------------------------------------------------------------------------

function policyTypeOf(policy: Pick<IaasVmPolicyProperties, 'policyType' | 'schedulePolicy'>): PolicyType {
  return policy.policyType ?? (policy.schedulePolicy.schedulePolicyType === 'SimpleSchedulePolicyV2' ? 'V2' : 'V1');
}

function defaultOf(check: InstantRestoreCheck): number {
  return INSTANT_RP_LIMITS[check.policyType].default;
}

function limitsOf(check: InstantRestoreCheck): { min: number; max: number; fixed?: number; why: string } {
  const frequency = check.schedulePolicy.scheduleRunFrequency;
  if (check.policyType === 'V1') {
    const { min, max, weeklySchedule } = INSTANT_RP_LIMITS.V1;
    if (frequency === 'Weekly') return { min, max, fixed: weeklySchedule, why: `Standard policies with a Weekly schedule keep instant-restore snapshots for ${weeklySchedule} days` };
    return { min, max, why: `Standard policies keep instant-restore snapshots ${min}–${max} days` };
  }
  const { min, max, weeklyMin, weeklyMax } = INSTANT_RP_LIMITS.V2;
  if (frequency === 'Weekly') return { min: weeklyMin, max: weeklyMax, why: `Enhanced policies with a Weekly schedule keep instant-restore snapshots ${weeklyMin}–${weeklyMax} days` };
  const hourly = check.schedulePolicy.schedulePolicyType === 'SimpleSchedulePolicyV2' ? check.schedulePolicy.hourlySchedule : undefined;
  if (frequency === 'Hourly' && hourly !== undefined && hourly.interval > 0) {
    const perDay = hourlySnapshotsPerDay(hourly.interval, hourly.scheduleWindowDuration);
    const hourlyMax = (ENHANCED_HOURLY_MAX_INSTANT_DAYS.find((limit) => perDay >= limit.snapshotsPerDay) ?? { maxDays: max }).maxDays;
    return {
      min,
      max: hourlyMax,
      why: `Enhanced policies taking ${perDay} snapshots a day (every ${hourly.interval} hours for ${hourly.scheduleWindowDuration} hours) keep instant-restore snapshots ${min}–${hourlyMax} days (more snapshots a day allow fewer days)`,
    };
  }
  return { min, max, why: `Enhanced policies keep instant-restore snapshots ${min}–${max} days` };
}
