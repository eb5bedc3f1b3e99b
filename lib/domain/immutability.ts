/**
 * Immutable vaults as Azure Backup has them (`properties.securitySettings.immutabilitySettings.state`):
 * Disabled, Unlocked (immutable, and can be disabled again) and Locked (immutable for good). An
 * immutable vault refuses what could lose recovery points before they expire: stopping protection with
 * delete data while the item holds unexpired points, and any policy change or policy switch that
 * shortens retention. Locked cannot be left (UserErrorUnsupportedVaultImmutabilityStateChange).
 */
import { errors } from './errors';
import type { IaasVmPolicyProperties, RetentionDuration } from './policy';
import { retentionDaysOf } from './retention-calendar';

export const IMMUTABILITY_STATES = ['Disabled', 'Unlocked', 'Locked'] as const;
export type ImmutabilityState = (typeof IMMUTABILITY_STATES)[number];

export function isImmutable(state: ImmutabilityState | undefined): boolean {
  return state === 'Unlocked' || state === 'Locked';
}

/** The state after a change; Locked stays Locked. */
export function nextImmutability(current: ImmutabilityState | undefined, requested: ImmutabilityState | undefined): ImmutabilityState {
  const now = current ?? 'Disabled';
  if (requested === undefined || requested === now) return now;
  if (now === 'Locked') throw errors.unsupportedImmutabilityStateChange(requested);
  return requested;
}

const RULES = ['dailySchedule', 'weeklySchedule', 'monthlySchedule', 'yearlySchedule'] as const;
const RULE_NAMES: Record<(typeof RULES)[number], string> = { dailySchedule: 'daily', weeklySchedule: 'weekly', monthlySchedule: 'monthly', yearlySchedule: 'yearly' };

function durationOf(policy: Pick<IaasVmPolicyProperties, 'retentionPolicy'>, rule: (typeof RULES)[number]): RetentionDuration | undefined {
  return policy.retentionPolicy[rule]?.retentionDuration;
}

/**
 * How going from `before` to `after` shortens retention, in words (undefined when it does not): a
 * rule removed, or kept fewer days (Azure's day counts: weeks 7, months 31, years 372).
 */
export function retentionReduction(before: Pick<IaasVmPolicyProperties, 'retentionPolicy'>, after: Pick<IaasVmPolicyProperties, 'retentionPolicy'>): string | undefined {
  const reductions: string[] = [];
  for (const rule of RULES) {
    const was = durationOf(before, rule);
    if (was === undefined) continue;
    const now = durationOf(after, rule);
    if (now === undefined) reductions.push(`the ${RULE_NAMES[rule]} retention (${was.count} ${was.durationType}) would be removed`);
    else if (retentionDaysOf(now) < retentionDaysOf(was)) reductions.push(`the ${RULE_NAMES[rule]} retention would go from ${was.count} ${was.durationType} to ${now.count} ${now.durationType}`);
  }
  return reductions.length === 0 ? undefined : reductions.join('; ');
}

/** Refuses a retention reduction on an immutable vault. */
export function assertRetentionNotReduced(state: ImmutabilityState | undefined, before: Pick<IaasVmPolicyProperties, 'retentionPolicy'>, after: Pick<IaasVmPolicyProperties, 'retentionPolicy'>, target: string): void {
  if (!isImmutable(state)) return;
  const reduction = retentionReduction(before, after);
  if (reduction !== undefined) throw errors.immutableVaultOperationBlocked(`retention cannot be shortened: ${reduction}`, target);
}

export interface PointExpiry {
  recoveryPointId: string;
  /** When it expires (ISO); undefined when Kluis has not decided yet (counts as not expired). */
  expiryTime?: string;
}

/** Refuses deleting an item's data on an immutable vault while any of its points has not expired. */
export function assertPointsMayBeDeleted(state: ImmutabilityState | undefined, vmName: string, points: readonly PointExpiry[], now: Date): void {
  if (!isImmutable(state)) return;
  const unexpired = points.filter((point) => point.expiryTime === undefined || Date.parse(point.expiryTime) > now.getTime());
  if (unexpired.length === 0) return;
  const latest = unexpired
    .map((point) => point.expiryTime)
    .filter((time): time is string => time !== undefined)
    .sort()
    .pop();
  throw errors.immutableVaultOperationBlocked(
    `the recovery points of '${vmName}' cannot be deleted before they expire (${unexpired.length} not yet expired${latest === undefined ? '' : `, the last on ${latest}`}); stop protection keeping the data instead`,
  );
}
