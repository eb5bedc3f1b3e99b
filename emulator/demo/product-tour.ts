/**
 * The tour `npm start` gives, over HTTP only, as a user of the API would: create the sample fabric
 * (or find it from an earlier run), create the Key Vault `kluis-demo-kv` in the Key Vault emulator (or
 * find it) and encrypt the ADE sample VM with it, create the vault (or find it), show its DefaultPolicy,
 * discover, protect the VMs, start a backup of each and follow the jobs with progress lines, then read
 * back the jobs and recovery points (encrypted ones marked). Every step is idempotent: a second run reuses what exists and
 * only starts new backups (skipping a VM whose on-demand limit for the day is reached).
 */
import type { ArmJobResource } from '../../lib/domain/arm/job-resource';
import type { ArmProtectableItemResource } from '../../lib/domain/arm/protectable-item-resource';
import type { ArmProtectedItemResource } from '../../lib/domain/arm/item-resource';
import type { ArmRecoveryPointResource } from '../../lib/domain/arm/recovery-point-resource';
import type { PolicyResource } from '../../lib/domain/arm/policy-resource';
import type { VaultRef } from '../../lib/domain/arm-names';
import { ROLE_IDS } from '../../lib/domain/authorization/role-definitions';
import { describeSchedule } from '../../lib/domain/backup-schedule';
import { validatePolicy } from '../../lib/domain/policy-rules';
import type { VirtualMachine } from '../../lib/domain/virtual-machine';
import { DEFAULT_USER } from '../identity/principals';
import { ArmRequestError, type ArmClient } from './arm-client';
import { formatDuration, formatError, formatSize, formatTable, formatTime, isoDurationSeconds } from './console-format';
import {
  SAMPLE_KEY_VAULT,
  SAMPLE_KEY_VAULT_ACCESS_POLICIES,
  SAMPLE_LOCATION,
  SAMPLE_VAULT,
  SAMPLE_VM_RESOURCE_GROUP,
  SAMPLE_VMS,
  sampleItemPath,
  samplePolicyId,
  sampleVaultPath,
  sampleVmFabricPath,
  sampleVmId,
} from './sample-fabric';

const FINISHED = new Set(['Completed', 'CompletedWithWarnings', 'Failed', 'Cancelled']);
const SUCCEEDED = new Set(['Completed', 'CompletedWithWarnings']);
const PROTECTED_STATES = new Set(['Protected', 'IRPending', 'ProtectionError']);
const POINTS_SHOWN_PER_VM = 3;
const DEFAULT_JOB_TIMEOUT_IN_MS = 15 * 60_000;

export type Say = (line?: string) => void;

export interface TourOptions {
  /** How long to follow the backups before giving up on them (they keep running). */
  jobTimeoutInMs?: number;
  /** The Key Vault emulator's admin API; without it the ADE sample VM stays unencrypted. */
  keyVaultAdminUrl?: string;
}

/** A job of this run (or, for a VM whose backup was skipped, its latest backup). */
export interface TourJob {
  vmName: string;
  job: ArmJobResource;
  /** True when the job is from an earlier run. */
  earlier: boolean;
}

export interface TourResult {
  vault: VaultRef;
  jobs: TourJob[];
  /** Backups of this run that did not complete, and steps that failed. */
  failures: number;
  /** The newest recovery point of the Windows VM (or of any VM), for the restore example. */
  restoreExample?: { vmName: string; recoveryPointId: string };
  /** A readable DefaultPolicy schedule, e.g. "Daily at 19:00 UTC". */
  schedule?: string;
  /** The demo's Key Vault, when the tour created or found it. */
  keyVault?: { id: string; adminUrl: string };
  /** The newest recovery point of the encrypted VM, for the restoreKeyAndSecret example. */
  encryptedExample?: { vmName: string; recoveryPointId: string };
}

export async function runProductTour(client: ArmClient, say: Say, options: TourOptions = {}): Promise<TourResult> {
  const result: TourResult = { vault: SAMPLE_VAULT, jobs: [], failures: 0 };
  await ensureFabric(client, say);
  if (options.keyVaultAdminUrl !== undefined) await ensureEncryption(client, say, options.keyVaultAdminUrl, result);
  result.schedule = await ensureVault(client, say);
  await ensureDashboardUser(client, say);
  await discover(client, say);
  const { protectedVms, configureJobs } = await protectAll(client, say, result);
  const backups = await startBackups(client, say, protectedVms, result);
  const finished = await followJobs(client, say, backups, options.jobTimeoutInMs ?? DEFAULT_JOB_TIMEOUT_IN_MS);
  result.failures += finished.filter((entry) => !SUCCEEDED.has(entry.job.properties.status)).length;

  const skipped = protectedVms.filter((vm) => !backups.some((backup) => backup.vmName === vm));
  const earlier = await latestBackups(client, skipped);
  result.jobs = [...configureJobs, ...finished.map((entry) => ({ ...entry, earlier: false })), ...earlier];
  printJobs(say, result.jobs);
  Object.assign(result, await printRecoveryPoints(client, say, protectedVms));
  return result;
}

// ---- fabric ----------------------------------------------------------------------------------------

async function ensureFabric(client: ArmClient, say: Say): Promise<void> {
  say(`Fabric: subscription ${SAMPLE_VAULT.subscriptionId}, resource group ${SAMPLE_VM_RESOURCE_GROUP}, ${SAMPLE_LOCATION}`);
  // The VMs are independent: create (or find) them side by side.
  const vms = await Promise.all(
    SAMPLE_VMS.map(async (sample) => {
      const url = client.fabricUrl(sampleVmFabricPath(sample.name));
      const existing = await client.find<VirtualMachine>(url);
      if (existing !== undefined) return { vm: existing, state: 'exists (kept from an earlier run)' };
      return { vm: (await client.send<VirtualMachine>('PUT', url, sample.request)).body, state: 'created' };
    }),
  );
  const rows = vms.map(({ vm, state }) => {
    const disks = vm.disks.map((disk) => `${disk.kind === 'os' ? 'OS' : `data LUN ${disk.lun}`} ${formatSize(disk.sizeBytes)}`).join(' + ');
    const storage = [...new Set(vm.disks.map((disk) => disk.storageType))].join('/');
    return [vm.name, vm.osType, vm.powerState, `${disks} (${storage})`, state];
  });
  formatTable(['VM', 'OS', 'Power', 'Disks', ''], rows).forEach((line) => say(line));
  say();
}

// ---- Key Vault and disk encryption ------------------------------------------------------------------

interface KeyVaultResource {
  id: string;
  name: string;
  properties: { vaultUri: string };
}

/**
 * Creates `kluis-demo-kv` through the emulator's admin API (or finds it and sets its access policies
 * again), then encrypts each ADE sample VM not yet encrypted. A failure is counted and printed: the
 * VM then goes on unencrypted.
 */
async function ensureEncryption(client: ArmClient, say: Say, adminUrl: string, result: TourResult): Promise<void> {
  const vaultUrl = `${adminUrl}/vaults/${SAMPLE_KEY_VAULT.name}`;
  try {
    const existing = await client.find<KeyVaultResource>(vaultUrl);
    let keyVault = existing;
    if (keyVault === undefined) {
      keyVault = (await client.send<KeyVaultResource>('POST', `${adminUrl}/vaults`, { ...SAMPLE_KEY_VAULT, accessPolicies: SAMPLE_KEY_VAULT_ACCESS_POLICIES })).body;
    } else {
      for (const policy of SAMPLE_KEY_VAULT_ACCESS_POLICIES) await client.send('PUT', `${vaultUrl}/accessPolicies`, policy);
    }
    result.keyVault = { id: keyVault.id, adminUrl: vaultUrl };
    say(`Key Vault ${keyVault.name}: ${keyVault.properties.vaultUri} (emulator) — ${existing === undefined ? 'created' : 'exists (kept from an earlier run)'}`);
    for (const sample of SAMPLE_VMS.filter((vm) => vm.adeEncrypted === true)) {
      const vmUrl = client.fabricUrl(sampleVmFabricPath(sample.name));
      const vm = (await client.get<VirtualMachine>(vmUrl)).body;
      if (vm.encryption?.enabled === true) {
        say(`  ${sample.name}: encrypted with ADE (BEK + KEK in ${keyVault.name})`);
        continue;
      }
      await client.send('POST', `${vmUrl}/encrypt`, { keyVaultId: keyVault.id });
      say(`  ${sample.name}: encrypted now with ADE (BEK secret + KEK key created in ${keyVault.name})`);
    }
  } catch (err) {
    if (!(err instanceof ArmRequestError)) throw err;
    result.failures += 1;
    say(`  ✖ disk encryption not set up`);
    formatError(err, '      ').forEach((line) => say(line));
  }
  say();
}

// ---- vault and policy ------------------------------------------------------------------------------

async function ensureVault(client: ArmClient, say: Say): Promise<string | undefined> {
  const vaultUrl = client.apiUrl(sampleVaultPath());
  // A vault lives in a resource group that exists (ARM: ResourceGroupNotFound otherwise); PUT is idempotent.
  await client.send('PUT', client.apiUrl(`subscriptions/${SAMPLE_VAULT.subscriptionId}/resourcegroups/${SAMPLE_VAULT.resourceGroup}`), { location: SAMPLE_LOCATION });
  const existing = await client.find(vaultUrl);
  if (existing === undefined) await client.send('PUT', vaultUrl, { location: SAMPLE_LOCATION, properties: {} });
  say(`Vault ${SAMPLE_VAULT.vaultName}: resource group ${SAMPLE_VAULT.resourceGroup}, ${SAMPLE_LOCATION} — ${existing === undefined ? 'created' : 'exists (kept from an earlier run)'}`);
  const policy = await client.find<PolicyResource>(client.apiUrl(samplePolicyId().slice(1)));
  if (policy === undefined) {
    say('  DefaultPolicy: not found (deleted?): protecting with it will fail');
    return undefined;
  }
  const schedule = describePolicySchedule(policy);
  say(`  DefaultPolicy: ${[schedule, describeRetention(policy)].filter((part) => part !== undefined).join('; ')}`);
  return schedule;
}

const AUTHORIZATION_API_VERSION = '2022-04-01';
/** Fixed, so a second run finds the assignment instead of adding another. */
const DASHBOARD_USER_ASSIGNMENT = 'd5b0a4c1-3e2f-4a6b-9c8d-7e1f0a2b3c4d';

/**
 * The dashboard signs people in as users of the identity endpoint's directory; with roles, a user
 * starts with none. The tour (as the local administrator) makes the local user user@kluis.local
 * Contributor of the demo's subscription, so the dashboard can do what the tour does.
 */
async function ensureDashboardUser(client: ArmClient, say: Say): Promise<void> {
  const scope = `subscriptions/${SAMPLE_VAULT.subscriptionId}`;
  const url = client.apiUrl(`${scope}/providers/Microsoft.Authorization/roleAssignments/${DASHBOARD_USER_ASSIGNMENT}`, { 'api-version': AUTHORIZATION_API_VERSION });
  const existing = await client.find(url);
  if (existing === undefined) {
    const roleDefinitionId = `/${scope}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.contributor}`;
    await client.send('PUT', url, { properties: { roleDefinitionId, principalId: DEFAULT_USER.objectId, principalType: 'User' } });
  }
  say(`  Dashboard: ${DEFAULT_USER.userPrincipalName} is Contributor of subscription ${SAMPLE_VAULT.subscriptionId} — ${existing === undefined ? 'assigned' : 'kept from an earlier run'}`);
}

function describePolicySchedule(policy: PolicyResource): string | undefined {
  try {
    return describeSchedule(validatePolicy(policy.properties));
  } catch {
    return undefined;
  }
}

function describeRetention(policy: PolicyResource): string {
  const retention = policy.properties.retentionPolicy;
  const kept: string[] = [];
  if ('dailySchedule' in retention && retention.dailySchedule) kept.push(`daily points ${count(retention.dailySchedule.retentionDuration)}`);
  if ('weeklySchedule' in retention && retention.weeklySchedule) kept.push(`weekly ${count(retention.weeklySchedule.retentionDuration)}`);
  if ('monthlySchedule' in retention && retention.monthlySchedule) kept.push(`monthly ${count(retention.monthlySchedule.retentionDuration)}`);
  if ('yearlySchedule' in retention && retention.yearlySchedule) kept.push(`yearly ${count(retention.yearlySchedule.retentionDuration)}`);
  const instant = policy.properties.instantRpRetentionRangeInDays;
  if (instant !== undefined) kept.push(`instant-restore snapshots ${instant} days`);
  return kept.join(', ');
}

function count(duration: { count: number; durationType: string }): string {
  return `kept ${duration.count} ${duration.durationType.toLowerCase()}`;
}

// ---- discovery and protection ---------------------------------------------------------------------

async function discover(client: ArmClient, say: Say): Promise<void> {
  const vaultPath = sampleVaultPath();
  await client.followOperation(await client.send('POST', client.apiUrl(`${vaultPath}/backupFabrics/Azure/refreshContainers`)));
  const found = await client.get<{ value: ArmProtectableItemResource[] }>(
    client.apiUrl(`${vaultPath}/backupProtectableItems`, { $filter: "backupManagementType eq 'AzureIaasVM'" }),
  );
  const names = found.body.value.map((item) => item.properties.friendlyName);
  say(`  Discovery: ${names.length === 0 ? 'no unprotected VMs in the region' : `${names.length} protectable VM(s): ${names.join(', ')}`}`);
}

async function protectAll(client: ArmClient, say: Say, result: TourResult): Promise<{ protectedVms: string[]; configureJobs: TourJob[] }> {
  const protectedVms: string[] = [];
  const configureJobs: TourJob[] = [];
  const width = Math.max(...SAMPLE_VMS.map((vm) => vm.name.length));
  for (const { name } of SAMPLE_VMS) {
    const label = `  ${name.padEnd(width)}`;
    try {
      const itemUrl = client.apiUrl(sampleItemPath(name));
      const item = await client.find<ArmProtectedItemResource>(itemUrl);
      if (item?.properties.isScheduledForDeferredDelete === true) {
        const days = Math.ceil((isoDurationSeconds(item.properties.deferredDeleteTimeRemaining ?? '') ?? 0) / 86_400);
        say(`${label}  soft-deleted: its backup data is kept ${days} more day(s); undelete it to back it up again`);
        continue;
      }
      if (item !== undefined && PROTECTED_STATES.has(item.properties.protectionState)) {
        say(`${label}  already protected (${item.properties.protectionState}, ${item.properties.policyName ?? 'no policy'})`);
        protectedVms.push(name);
        continue;
      }
      const body = { properties: { protectedItemType: 'Microsoft.Compute/virtualMachines', sourceResourceId: sampleVmId(name), policyId: samplePolicyId() } };
      const jobId = await client.followOperation(await client.send('PUT', itemUrl, body));
      const job = jobId === undefined ? undefined : await client.job(sampleVaultPath(), jobId);
      if (job !== undefined) configureJobs.push({ vmName: name, job, earlier: false });
      say(`${label}  ${item === undefined ? 'protected' : 'protection resumed'} with DefaultPolicy${job ? ` (${job.properties.operation} job ${job.properties.status})` : ''}`);
      protectedVms.push(name);
    } catch (err) {
      if (!(err instanceof ArmRequestError)) throw err;
      result.failures += 1;
      say(`${label}  ✖ not protected`);
      formatError(err, `${' '.repeat(label.length)}    `).forEach((line) => say(line));
    }
  }
  say();
  return { protectedVms, configureJobs };
}

// ---- backups -----------------------------------------------------------------------------------------

interface StartedBackup {
  vmName: string;
  jobId: string;
}

async function startBackups(client: ArmClient, say: Say, vmNames: readonly string[], result: TourResult): Promise<StartedBackup[]> {
  const schedule = result.schedule;
  say('Backup now (on demand; the recovery point is kept 30 days)');
  const started: StartedBackup[] = [];
  for (const name of vmNames) {
    try {
      const accepted = await client.send('POST', client.apiUrl(`${sampleItemPath(name)}/backup`), { properties: { objectType: 'IaasVMBackupRequest' } });
      const jobId = await client.followOperation(accepted);
      if (jobId !== undefined) started.push({ vmName: name, jobId });
    } catch (err) {
      if (!(err instanceof ArmRequestError)) throw err;
      if (err.code === 'UserErrorOnDemandBackupLimitReached') {
        say(`  ${name}: skipped, the on-demand limit for today is reached — ${err.code}: ${err.message}`);
        say(`  ${' '.repeat(name.length)}  Scheduled backups still run${schedule === undefined ? '' : ` (${schedule})`}.`);
        continue;
      }
      if (err.code === 'UserErrorBackupOperationInProgress') {
        const running = await runningBackupOf(client, name);
        if (running !== undefined) {
          say(`  ${name}: a backup is already running (job ${running}): following it`);
          started.push({ vmName: name, jobId: running });
          continue;
        }
      }
      result.failures += 1;
      say(`  ${name}: ✖ backup not started`);
      formatError(err, '      ').forEach((line) => say(line));
    }
  }
  return started;
}

async function runningBackupOf(client: ArmClient, vmName: string): Promise<string | undefined> {
  const jobs = await client.get<{ value: ArmJobResource[] }>(
    client.apiUrl(`${sampleVaultPath()}/backupJobs`, { $filter: "operation eq 'Backup' and status eq 'InProgress'" }),
  );
  return jobs.body.value.find((job) => job.properties.entityFriendlyName === vmName)?.name;
}

/** Polls the jobs until all have finished, printing a line whenever a job's task or progress changes. */
async function followJobs(client: ArmClient, say: Say, backups: readonly StartedBackup[], timeoutInMs: number): Promise<Array<{ vmName: string; job: ArmJobResource }>> {
  const width = Math.max(0, ...backups.map((backup) => backup.vmName.length));
  const last = new Map<string, string>();
  const done = new Map<string, ArmJobResource>();
  const deadline = Date.now() + timeoutInMs;
  while (done.size < backups.length) {
    const pending = backups.filter((backup) => !done.has(backup.jobId));
    const jobs = await Promise.all(pending.map((backup) => client.job(sampleVaultPath(), backup.jobId)));
    pending.forEach((backup, index) => {
      const job = jobs[index];
      const name = backup.vmName.padEnd(width);
      if (FINISHED.has(job.properties.status)) {
        done.set(backup.jobId, job);
        const mark = SUCCEEDED.has(job.properties.status) ? '✔' : '✖';
        say(`  ${mark} ${name}  ${job.properties.status} in ${formatDuration(job.properties.duration)}`);
        return;
      }
      const progress = currentTask(job);
      if (last.get(backup.jobId) !== progress) {
        last.set(backup.jobId, progress);
        say(`    ${name}  ${progress}`);
      }
    });
    if (done.size === backups.length) break;
    if (Date.now() > deadline) {
      say(`  Still running after ${Math.round(timeoutInMs / 1000)} s: ${pending.map((backup) => backup.vmName).join(', ')} (they go on in the background)`);
      pending.forEach((backup, index) => {
        if (!done.has(backup.jobId)) done.set(backup.jobId, jobs[index]);
      });
      break;
    }
    await client.pause();
  }
  say();
  return backups.map((backup) => ({ vmName: backup.vmName, job: done.get(backup.jobId)! }));
}

/** `Take Snapshot            40%`: the task in progress (else the next one) and its progress. */
function currentTask(job: ArmJobResource): string {
  const tasks = job.properties.extendedInfo.tasksList;
  const task = tasks.find((t) => t.status === 'InProgress') ?? tasks.find((t) => t.status !== 'Completed') ?? tasks[tasks.length - 1];
  if (task === undefined) return `${job.properties.status} ${job.properties.extendedInfo.progressPercentage}%`;
  const width = Math.max(...tasks.map((t) => t.taskId.length));
  return `${task.taskId.padEnd(width)}  ${String(Math.round(task.progressPercentage)).padStart(3)}%`;
}

/** The newest backup job of each VM (for VMs whose backup this run skipped). */
async function latestBackups(client: ArmClient, vmNames: readonly string[]): Promise<TourJob[]> {
  if (vmNames.length === 0) return [];
  const jobs = await client.get<{ value: ArmJobResource[] }>(client.apiUrl(`${sampleVaultPath()}/backupJobs`, { $filter: "operation eq 'Backup'" }));
  return vmNames.flatMap((vmName) => {
    const job = jobs.body.value.find((j) => j.properties.entityFriendlyName === vmName);
    return job === undefined ? [] : [{ vmName, job, earlier: true }];
  });
}

// ---- reports -------------------------------------------------------------------------------------------

/** The consistency a backup job recorded, as a recovery point type: AppConsistent, FileSystemConsistent, CrashConsistent. */
export function jobConsistency(job: ArmJobResource): string {
  const recorded = job.properties.extendedInfo.propertyBag['Consistency'];
  if (recorded === undefined) return '—';
  const level = recorded.split(' ')[0];
  return level === 'ApplicationConsistent' ? 'AppConsistent' : level;
}

function printJobs(say: Say, jobs: readonly TourJob[]): void {
  say('Jobs');
  const rows = jobs.map(({ vmName, job, earlier }) => [
    vmName,
    job.properties.operation,
    job.properties.status,
    formatDuration(job.properties.duration),
    job.properties.operation === 'Backup' ? jobConsistency(job) : '—',
    earlier ? `${formatTime(job.properties.startTime)} (earlier run)` : formatTime(job.properties.startTime),
  ]);
  formatTable(['VM', 'Operation', 'Status', 'Duration', 'Consistency', 'Started'], rows).forEach((line) => say(line));
  for (const { vmName, job } of jobs) {
    for (const detail of job.properties.errorDetails ?? []) {
      say(`  ${vmName} ${job.properties.operation} ${job.properties.status === 'Failed' ? 'failed' : 'warning'}:`);
      formatError({ code: detail.errorTitle, message: detail.errorString, recommendation: detail.recommendations.join(' ') }, '    ').forEach((line) => say(line));
    }
  }
  say();
}

async function printRecoveryPoints(client: ArmClient, say: Say, vmNames: readonly string[]): Promise<Pick<TourResult, 'restoreExample' | 'encryptedExample'>> {
  say('Recovery points');
  const rows: string[][] = [];
  let example: TourResult['restoreExample'];
  let encryptedExample: TourResult['encryptedExample'];
  for (const vmName of vmNames) {
    const points = (await client.get<{ value: ArmRecoveryPointResource[] }>(client.apiUrl(`${sampleItemPath(vmName)}/recoveryPoints`))).body.value;
    const newest = [...points].sort((a, b) => (a.properties.recoveryPointTime < b.properties.recoveryPointTime ? 1 : -1));
    if (newest.length > 0 && (example === undefined || vmName === SAMPLE_VMS[0].name)) example = { vmName, recoveryPointId: newest[0].name };
    if (newest.length > 0 && newest[0].properties.isSourceVMEncrypted && encryptedExample === undefined) encryptedExample = { vmName, recoveryPointId: newest[0].name };
    for (const point of newest.slice(0, POINTS_SHOWN_PER_VM)) {
      const tiers = point.properties.recoveryPointTierDetails.filter((tier) => tier.status === 'Valid').map((tier) => (tier.type === 'InstantRP' ? 'snapshot' : 'vault'));
      const expiry = point.properties.recoveryPointProperties?.expiryTime;
      const encryption = point.properties.isSourceVMEncrypted ? 'ADE' : '—';
      rows.push([vmName, point.name, formatTime(point.properties.recoveryPointTime), point.properties.recoveryPointType, tiers.join(' + '), encryption, expiry === undefined ? '—' : formatTime(expiry)]);
    }
    if (newest.length > POINTS_SHOWN_PER_VM) rows.push([vmName, `… and ${newest.length - POINTS_SHOWN_PER_VM} older`, '', '', '', '', '']);
  }
  if (rows.length === 0) say('  none yet');
  else formatTable(['VM', 'Recovery point', 'Time', 'Type', 'Tiers', 'Encrypted', 'Expires'], rows).forEach((line) => say(line));
  say();
  return { restoreExample: example, encryptedExample };
}
