/**
 * Which scheduled backups are due (the scheduler timer asks every 5 minutes). A slot of an item's
 * policy is due once its time has passed, for at most two hours (Azure starts scheduled backups
 * within 2 hours of the scheduled time; a slot missed for longer, e.g. the host was down, is
 * skipped rather than run late). Only the newest due slot of an item runs.
 *
 * Every slot has a job id derived from the item and the slot, so the job row (insert-only) decides
 * which of several hosts or ticks starts it: a slot never runs twice.
 *
 * A vault in a Disabled or Deleted subscription runs no scheduled backups (seed 004: "scheduled backups do not run
 * while a subscription is expired"): its vaults are reported as skipped, with the reason, and their slots pass.
 */
import { scheduledSlotsBetween, type ScheduleSlot } from '../domain/backup-schedule';
import { vaultKey, type ProtectedItemRecord } from '../domain/catalog';
import { maxInstantRecoveryPointsOf } from '../domain/instant-restore-rules';
import { validatePolicy, type NormalizedPolicy } from '../domain/policy-rules';
import { longTermTagsOf, type LongTermRuleName } from '../domain/retention-rules';
import { isKluisErrorLike } from '../domain/errors';
import { subscriptionRunsBackups, type SubscriptionState } from '../domain/tenancy';
import type { JobRecord } from '../domain/catalog';
import type { VaultCatalog } from '../stores/vault-catalog';
import { createJob, derivedJobId, failJob, getJob, type VaultScope } from './jobs';
import { BACKUP_JOB_PROPERTIES, type VaultBackupRun } from './backup-requests';
import { claimBackup } from './backup-claim';

export const SCHEDULE_START_WINDOW_MS = 2 * 60 * 60 * 1000;

export interface DueBackup {
  vault: VaultScope;
  containerName: string;
  itemName: string;
  vmName: string;
  instantRestoreDays: number;
  /** Standard policies: the most points with a snapshot tier (instant-restore-rules.ts). */
  maxInstantPoints?: number;
  /** The long-term rules that select the slot's day under the policy (recorded with the point). */
  longTermTags: LongTermRuleName[];
  engineItemId: string;
  policyName: string;
  slot: ScheduleSlot;
  jobId: string;
}

export interface SchedulerDeps {
  catalog: VaultCatalog;
  clock: () => Date;
  newId: () => string;
  /** The subscription's ARM state (admin-changeable locally); without it every subscription counts as Enabled. */
  subscriptionState?: (subscriptionId: string) => Promise<SubscriptionState>;
}

/** A vault whose scheduled backups did not run this tick, and why. */
export interface SkippedVault {
  vault: VaultScope;
  subscriptionState: SubscriptionState;
  reason: string;
}

export interface ScheduledStart {
  /** Whether the orchestration should run (under `jobId`); false when the slot's job is finished or was refused. */
  run: boolean;
  job: JobRecord;
  input: VaultBackupRun;
}

/**
 * Creates the slot's Backup job (insert-only: exactly one tick on one host wins) and claims the item.
 * A slot whose job exists is not created again; while that job is InProgress the caller still makes
 * sure its orchestration runs (a host may have died between the two). Another backup running →
 * the scheduled job fails with UserErrorBackupOperationInProgress, like Azure's.
 */
export async function startScheduledBackup(deps: SchedulerDeps, due: DueBackup): Promise<ScheduledStart> {
  const input: VaultBackupRun = {
    itemId: due.engineItemId,
    instantRestoreDays: due.instantRestoreDays,
    ...(due.maxInstantPoints === undefined ? {} : { maxInstantPoints: due.maxInstantPoints }),
    vault: { vault: due.vault, itemName: due.itemName, isOnDemand: false, scheduledTime: due.slot.scheduledTime.toISOString(), longTermTags: due.longTermTags },
  };
  let job: JobRecord;
  try {
    job = await createJob(deps, due.vault, {
      operation: 'Backup',
      entityFriendlyName: due.vmName,
      containerName: due.containerName,
      itemName: due.itemName,
      isUserTriggered: false,
      jobId: due.jobId,
      propertyBag: { [BACKUP_JOB_PROPERTIES.vmName]: due.vmName, [BACKUP_JOB_PROPERTIES.scheduledFor]: due.slot.scheduledTime.toISOString() },
    });
  } catch (err) {
    if (!isKluisErrorLike(err) || err.code !== 'KluisCatalogConflict') throw err;
    const existing = await getJob(deps, due.vault, due.jobId);
    return { run: existing.status === 'InProgress', job: existing, input };
  }
  try {
    await claimBackup(deps, due.vault, due.itemName, due.jobId);
  } catch (err) {
    return { run: false, job: await failJob(deps, due.vault, due.jobId, err), input };
  }
  return { run: true, job, input };
}

export async function findDueBackups(deps: SchedulerDeps): Promise<DueBackup[]> {
  return (await findDueAndSkippedBackups(deps)).due;
}

/** The due backups, and the vaults skipped because their subscription runs no backups (each with its reason). */
export async function findDueAndSkippedBackups(deps: SchedulerDeps): Promise<{ due: DueBackup[]; skipped: SkippedVault[] }> {
  const now = deps.clock();
  const due: DueBackup[] = [];
  const skipped: SkippedVault[] = [];
  const states = new Map<string, SubscriptionState>();
  for await (const { value: vault } of deps.catalog.vaults.listAll()) {
    const key = vaultKey(vault.subscriptionId, vault.resourceGroup, vault.name);
    const scope: VaultScope = { id: vault.id, subscriptionId: vault.subscriptionId, resourceGroup: vault.resourceGroup, name: vault.name };
    const subscriptionKey = vault.subscriptionId.toLowerCase();
    if (deps.subscriptionState !== undefined && !states.has(subscriptionKey)) states.set(subscriptionKey, await deps.subscriptionState(vault.subscriptionId));
    const state = states.get(subscriptionKey) ?? 'Enabled';
    if (!subscriptionRunsBackups(state)) {
      skipped.push({ vault: scope, subscriptionState: state, reason: `subscription ${vault.subscriptionId} is ${state}: no scheduled backups run until it is Enabled again` });
      continue;
    }
    const policies = new Map<string, NormalizedPolicy | undefined>();
    for await (const { value: item } of deps.catalog.items.list(key)) {
      if (!isScheduled(item) || item.policyName === undefined) continue;
      const policyKey = item.policyName.toLowerCase();
      if (!policies.has(policyKey)) policies.set(policyKey, await loadPolicy(deps, key, policyKey));
      const policy = policies.get(policyKey);
      if (policy === undefined) continue;
      const slot = dueSlot(policy, item, now);
      if (slot === undefined) continue;
      due.push({
        vault: scope,
        containerName: item.containerName,
        itemName: item.itemName,
        vmName: item.vm.name,
        instantRestoreDays: policy.instantRpRetentionRangeInDays,
        ...withMaxInstantPoints(policy),
        longTermTags: longTermTagsOf(policy, slot.scheduledTime, policy.ianaTimeZone),
        engineItemId: item.engineItemId,
        policyName: item.policyName,
        slot,
        jobId: scheduledJobId(item.engineItemId, slot.slotId),
      });
    }
  }
  return { due, skipped };
}

/** The newest slot in (max(now − 2 h, protection enabled), now], if any. */
export function dueSlot(policy: NormalizedPolicy, item: Pick<ProtectedItemRecord, 'createdAt'>, now: Date): ScheduleSlot | undefined {
  const from = Math.max(now.getTime() - SCHEDULE_START_WINDOW_MS, Date.parse(item.createdAt));
  return scheduledSlotsBetween(policy, new Date(from), now).at(-1);
}

/** A GUID-shaped job id that is the same for the same item and slot, on every host. */
export function scheduledJobId(engineItemId: string, slotId: string): string {
  return derivedJobId('kluis-scheduled-backup', engineItemId, slotId);
}

function withMaxInstantPoints(policy: NormalizedPolicy): { maxInstantPoints?: number } {
  const max = maxInstantRecoveryPointsOf(policy);
  return max === undefined ? {} : { maxInstantPoints: max };
}

function isScheduled(item: ProtectedItemRecord): boolean {
  if (item.softDelete !== undefined) return false;
  return item.protectionState === 'IRPending' || item.protectionState === 'Protected' || item.protectionState === 'ProtectionError';
}

async function loadPolicy(deps: SchedulerDeps, key: string, policyRow: string): Promise<NormalizedPolicy | undefined> {
  const stored = await deps.catalog.policies.get(key, policyRow);
  return stored === undefined ? undefined : validatePolicy(stored.value.properties);
}
