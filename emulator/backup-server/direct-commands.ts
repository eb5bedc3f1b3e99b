/**
 * `kluis-server` in direct mode (a machine registered with `register --mode direct`: the MARS agent): protect, run,
 * points and restore against the vault, no local copy. cli.ts sends these commands here when `<data>/agent`
 * holds a direct-mode registration.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DAYS_OF_WEEK, type DayOfWeek } from '../../lib/domain/policy';
import type { DirectPolicy } from '../../lib/domain/backup-server/direct-policy';
import type { ArmClient } from '../demo/arm-client';
import { directAgentAt } from './server-at';

type Out = (line: string) => void;
const RUN_INTERVAL_MS = 60_000;
/** api-version of RegisteredIdentities_Delete (as cli.ts sends it). */
const REGISTERED_IDENTITIES_API_VERSION = '2023-04-01';

export interface DirectProtectOptions {
  data: string;
  folder: string;
  sourceName?: string;
  /** Up to three times a day; default the --daily-at time. */
  at?: string[];
  dailyAt: string;
  /** Comma-separated weekdays (e.g. "Monday,Thursday"); absent: every day. */
  weekdays?: string;
  onlineRetentionDays?: number;
  onlineWeeklyWeeks?: number;
  onlineMonthlyMonths?: number;
  onlineYearlyYears?: number;
}

function weekdaysOf(text: string): DayOfWeek[] {
  return text.split(',').map((d) => d.trim()).filter((d) => d !== '').map((d) => {
    const day = DAYS_OF_WEEK.find((w) => w.toLowerCase() === d.toLowerCase() || w.slice(0, 3).toLowerCase() === d.toLowerCase());
    if (day === undefined) throw new Error(`'${d}' is not a weekday (${DAYS_OF_WEEK.join(', ')})`);
    return day;
  });
}

/** The MARS console's schedule and retention from the protect options (weekly rule on the schedule's weekdays, else Sundays). */
export function directPolicyFromOptions(o: DirectProtectOptions): DirectPolicy {
  const runDays = o.weekdays === undefined ? undefined : weekdaysOf(o.weekdays);
  const firstOfMonth = { retentionScheduleFormatType: 'Daily' as const, retentionScheduleDaily: { daysOfTheMonth: [{ date: 1 }] } };
  const longTerm = {
    ...(o.onlineWeeklyWeeks === undefined ? {} : { weeklySchedule: { daysOfTheWeek: runDays ?? ['Sunday'], retentionDuration: { count: o.onlineWeeklyWeeks, durationType: 'Weeks' } } }),
    ...(o.onlineMonthlyMonths === undefined ? {} : { monthlySchedule: { ...firstOfMonth, retentionDuration: { count: o.onlineMonthlyMonths, durationType: 'Months' } } }),
    ...(o.onlineYearlyYears === undefined ? {} : { yearlySchedule: { ...firstOfMonth, monthsOfYear: ['January'], retentionDuration: { count: o.onlineYearlyYears, durationType: 'Years' } } }),
  };
  return {
    runTimes: o.at ?? [o.dailyAt],
    ...(runDays === undefined ? {} : { runDays }),
    // A weekly schedule has no daily retention: given anyway, the policy check refuses it.
    ...(runDays === undefined ? { retentionDays: o.onlineRetentionDays ?? 30 } : o.onlineRetentionDays === undefined ? {} : { retentionDays: o.onlineRetentionDays }),
    ...(Object.keys(longTerm).length === 0 ? {} : { longTerm }),
  };
}

export async function directProtect(o: DirectProtectOptions, out: Out): Promise<void> {
  const folder = path.resolve(o.folder);
  const policy = directPolicyFromOptions(o);
  const state = await directAgentAt(o.data).protect({ name: o.sourceName ?? folder, path: folder }, policy);
  out(`Backing up ${state.items.map((i) => i.path).join(', ')} straight to vault ${state.vault.vaultName}.`);
  const days = policy.runDays === undefined ? 'daily' : `on ${policy.runDays.join(', ')}`;
  out(`Schedule: ${days} at ${policy.runTimes.join(', ')} UTC${policy.retentionDays === undefined ? '' : `; daily points kept ${policy.retentionDays} days`}.`);
}

export async function directRun(o: { data: string; once?: boolean }, passphrase: string, out: Out): Promise<void> {
  const agent = directAgentAt(o.data);
  await agent.unlock(passphrase);
  if (o.once !== true) out('Passphrase accepted: the due backups now, then a check every minute.');
  for (;;) {
    const report = await agent.runDue();
    if (report.cache !== undefined && report.cache !== 'valid') out(`Local cache ${report.cache}.`);
    for (const b of report.backups) {
      out(`Backup ${b.snapshotId} of ${b.source}: ${b.filesRead} files read, ${b.filesUnchanged} unchanged (not read), ${b.newChunks} new chunks (${b.newChunkBytes} bytes) sent.`);
    }
    for (const r of report.retention) out(`Removed vault point ${r.snapshotId} of ${r.source}: ${r.reason}.`);
    if (report.stopped !== undefined) out(report.stopped);
    if (report.vaultError !== undefined) out(`Backup to the vault failed: ${report.vaultError}`);
    if (o.once === true) return;
    await new Promise((resolve) => setTimeout(resolve, RUN_INTERVAL_MS));
  }
}

export interface DirectSourceOptions {
  data: string;
  /** Another machine's backups in the same vault (restore on a second machine). */
  fromMachine?: string;
  /** That machine's passphrase. */
  sourcePassphraseFile?: string;
}

function sourceOf(o: DirectSourceOptions): { fromMachine?: string; passphrase?: string } {
  if (o.fromMachine === undefined) return {};
  if (o.sourcePassphraseFile === undefined) throw new Error(`give ${o.fromMachine}'s passphrase with --source-passphrase-file`);
  return { fromMachine: o.fromMachine, passphrase: readFileSync(o.sourcePassphraseFile, 'utf8').replace(/\r?\n$/, '') };
}

export async function directPoints(o: DirectSourceOptions, passphrase: string, out: Out): Promise<void> {
  const agent = directAgentAt(o.data);
  await agent.unlock(passphrase);
  for (const p of await agent.points(sourceOf(o))) out(`${p.time}  ${p.snapshotId}  ${p.source}`);
}

export async function directRestore(o: DirectSourceOptions & { snapshot: string; target: string; path?: string[] }, passphrase: string, out: Out): Promise<void> {
  const agent = directAgentAt(o.data);
  await agent.unlock(passphrase);
  const target = path.resolve(o.target);
  const result = await agent.restore({ snapshotId: o.snapshot, targetRoot: target, ...(o.path === undefined ? {} : { paths: o.path }), ...sourceOf(o) });
  out(`Restored ${result.files} files and ${result.dirs} folders (${result.bytes} bytes) from the vault into ${target}; every byte verified.`);
}

/** Unregisters the machine (RegisteredIdentities_Delete: the vault deletes its backups, permanently), then forgets it here. */
export async function directUnregister(o: { data: string; deleteVaultData?: boolean }, armClient: (host: string) => ArmClient, out: Out): Promise<void> {
  const agent = directAgentAt(o.data);
  const state = await agent.readState();
  if (state === undefined) throw new Error(`no machine is registered in ${path.resolve(o.data)}`);
  if (o.deleteVaultData !== true) {
    throw new Error(`unregistering deletes this machine's backups in vault ${state.vault.vaultName} permanently (direct mode keeps no local copy); add --delete-vault-data to confirm`);
  }
  const { subscriptionId, resourceGroup, vaultName } = state.vault;
  const client = armClient(state.endpoint);
  const vaultPath = `subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.RecoveryServices/vaults/${vaultName}`;
  await client.send('DELETE', client.apiUrl(`${vaultPath}/registeredIdentities/${encodeURIComponent(state.machineName)}`, { 'api-version': REGISTERED_IDENTITIES_API_VERSION }));
  await agent.forgetRegistration();
  out(`Unregistered ${state.machineName} from vault ${vaultName}: its backups in the vault are deleted, permanently.`);
}
