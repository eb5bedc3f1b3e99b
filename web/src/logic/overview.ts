/**
 * The vault overview's tiles, computed from the API's lists as the portal's vault blade shows them:
 * backup items by status, jobs of the last 24 hours by status (the failed ones linked), storage used
 * per tier, and the next scheduled backups. Pure.
 */
import { nextScheduledTime } from '../../../lib/domain/backup-schedule';
import type { IaasVmPolicyProperties } from '../../../lib/domain/policy';
import { validatePolicy } from '../../../lib/domain/policy-rules';
import type { Job, ProtectedItem, Resource, Usage } from '../api/types';

export type ItemStatus = 'Healthy' | 'Warning' | 'IRPending' | 'Failed' | 'SoftDeleted';

export const ITEM_STATUSES: readonly ItemStatus[] = ['Healthy', 'Warning', 'IRPending', 'Failed', 'SoftDeleted'];

export const ITEM_STATUS_LABELS: Record<ItemStatus, string> = {
  Healthy: 'Healthy',
  Warning: 'Warning',
  IRPending: 'Initial backup pending',
  Failed: 'Failed',
  SoftDeleted: 'Soft-deleted',
};

/**
 * One status per item, the most urgent first: soft-deleted (stopped with delete, purged later);
 * failed (the last backup failed, or protection is in error, or health needs action); initial
 * backup pending; warning (stopped with data retained, a backup completed with warnings, or health
 * suggests an action); else healthy.
 */
export function itemStatusOf(item: ProtectedItem): ItemStatus {
  const p = item.properties;
  if (p.isScheduledForDeferredDelete === true) return 'SoftDeleted';
  if (p.lastBackupStatus === 'Failed' || p.protectionState === 'ProtectionError' || p.healthStatus === 'ActionRequired') return 'Failed';
  if (p.protectionState === 'IRPending') return 'IRPending';
  if (p.protectionState !== 'Protected' || p.lastBackupStatus === 'CompletedWithWarnings' || p.healthStatus === 'ActionSuggested') return 'Warning';
  return 'Healthy';
}

export function countItemsByStatus(items: readonly ProtectedItem[]): Record<ItemStatus, number> {
  const counts = Object.fromEntries(ITEM_STATUSES.map((s) => [s, 0])) as Record<ItemStatus, number>;
  for (const item of items) counts[itemStatusOf(item)] += 1;
  return counts;
}

export const JOB_STATUSES = ['InProgress', 'Completed', 'CompletedWithWarnings', 'Failed', 'Cancelled'] as const;
export type JobStatusBucket = (typeof JOB_STATUSES)[number];

const DAY_MS = 86_400_000;

/** Jobs started in the 24 hours before `now`. */
export function jobsOfLastDay(jobs: readonly Job[], now: Date): Job[] {
  const since = now.getTime() - DAY_MS;
  return jobs.filter((job) => {
    const started = Date.parse(job.properties.startTime);
    return Number.isFinite(started) && started > since && started <= now.getTime() + 60_000;
  });
}

/** Cancelling counts as in progress (it still runs). */
export function jobBucketOf(job: Job): JobStatusBucket {
  const status = job.properties.status;
  if (status === 'Cancelling') return 'InProgress';
  return (JOB_STATUSES as readonly string[]).includes(status) ? (status as JobStatusBucket) : 'InProgress';
}

export function countJobsByStatus(jobs: readonly Job[]): Record<JobStatusBucket, number> {
  const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatusBucket, number>;
  for (const job of jobs) counts[jobBucketOf(job)] += 1;
  return counts;
}

export interface StorageUsed {
  /** The vault tier (Azure: `<redundancy>StorageUsage`, e.g. GRSStorageUsage), bytes. */
  vaultBytes?: number;
  /** Which redundancy the vault tier's usage is counted under (LRS, GRS, ZRS). */
  vaultRedundancy?: string;
  /** The snapshot (instant restore) tier (Kluis: `SnapshotStorageUsage`), bytes. */
  snapshotBytes?: number;
}

/** The storage tiles' numbers from the vault's usages (`GET {vault}/usages`). */
export function storageUsedOf(usages: readonly Usage[]): StorageUsed {
  const result: StorageUsed = {};
  for (const usage of usages) {
    const name = usage.name?.value ?? '';
    const redundancy = /^(LRS|GRS|ZRS|RAGRS|RAGZRS)StorageUsage$/i.exec(name)?.[1];
    if (redundancy !== undefined && usage.currentValue !== undefined) {
      result.vaultBytes = (result.vaultBytes ?? 0) + usage.currentValue;
      if (usage.currentValue > 0 || result.vaultRedundancy === undefined) result.vaultRedundancy = redundancy.toUpperCase();
    }
    if (/^SnapshotStorageUsage$/i.test(name) && usage.currentValue !== undefined) result.snapshotBytes = usage.currentValue;
  }
  return result;
}

export interface NextBackup {
  item: ProtectedItem;
  policyName: string;
  /** ISO instant. */
  time: string;
}

/**
 * The next scheduled backup of every protected item (items stopped, soft-deleted or without a known
 * policy have none), earliest first. Times from the policy's schedule in its own zone
 * (lib/domain/backup-schedule, the scheduler's function).
 */
export function nextScheduledBackups(items: readonly ProtectedItem[], policies: readonly Resource<IaasVmPolicyProperties>[], now: Date): NextBackup[] {
  const nextOfPolicy = new Map<string, string | undefined>();
  for (const policy of policies) {
    try {
      nextOfPolicy.set(policy.name.toLowerCase(), nextScheduledTime(validatePolicy(policy.properties), now).toISOString());
    } catch {
      nextOfPolicy.set(policy.name.toLowerCase(), undefined);
    }
  }
  const result: NextBackup[] = [];
  for (const item of items) {
    const p = item.properties;
    if (p.isScheduledForDeferredDelete === true || p.policyName === undefined) continue;
    if (p.protectionState !== 'Protected' && p.protectionState !== 'IRPending') continue;
    const time = nextOfPolicy.get(p.policyName.toLowerCase());
    if (time !== undefined) result.push({ item, policyName: p.policyName, time });
  }
  return result.sort((a, b) => a.time.localeCompare(b.time) || a.item.properties.friendlyName.localeCompare(b.item.properties.friendlyName));
}
