/**
 * `kluis-server` in direct mode (a machine registered with `register --mode direct`: the MARS agent): protect, run,
 * points and restore against the vault, no local copy. cli.ts sends these commands here when `<data>/agent`
 * holds a direct-mode registration.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DirectAgent } from '../../lib/backup-server/direct/direct-agent';
import { isKluisErrorLike } from '../../lib/domain/errors';
import { DAYS_OF_WEEK, type DayOfWeek } from '../../lib/domain/policy';
import type { DirectPolicy } from '../../lib/domain/backup-server/direct-policy';
import type { ArmClient } from '../demo/arm-client';
import { directAgentAt } from './server-at';

type Out = (line: string) => void;
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

/** The passphrase when one is given; else the key remembered on this machine; else a clear error (as the server's commands). */
async function unlockAgent(agent: DirectAgent, passphrase: string | undefined): Promise<void> {
  if (passphrase !== undefined) return agent.unlock(passphrase);
  try {
    await agent.unlockUnattended();
  } catch (err) {
    if (isKluisErrorLike(err) && err.code === 'KluisUnattendedUnlockUnavailable') {
      // A plain Error: bin/kluis-server.js exits silently on commander's own errors.
      throw new Error(`${err.message}: give the passphrase with --passphrase-file or KLUIS_SERVER_PASSPHRASE`, { cause: err });
    }
    throw err;
  }
}

/** `run --once` in direct mode: one pass in this process (without --once the cli starts the server role's host). */
export async function directRun(o: { data: string }, passphrase: string | undefined, out: Out): Promise<void> {
  const agent = directAgentAt(o.data);
  await unlockAgent(agent, passphrase);
  const report = await agent.runDue();
  if (report.cache !== undefined && report.cache !== 'valid') out(`Local cache ${report.cache}.`);
  for (const b of report.backups) {
    out(`Backup ${b.snapshotId} of ${b.source}: ${b.filesRead} files read, ${b.filesUnchanged} unchanged (not read), ${b.newChunks} new chunks (${b.newChunkBytes} bytes) sent.`);
  }
  for (const r of report.retention) out(`Removed vault point ${r.snapshotId} of ${r.source}: ${r.reason}.`);
  if (report.pruneDeferred !== undefined) out(`Expired vault points are removed next run: ${report.pruneDeferred}`);
  if (report.stopped !== undefined) out(report.stopped);
  if (report.vaultError !== undefined) out(`Backup to the vault failed: ${report.vaultError}`);
  if (report.vaultReportError !== undefined) out(`Report to the vault failed (sent with the next one): ${report.vaultReportError}`);
}

/** Before `run` starts the host in direct mode: the passphrase or the remembered key must unlock (a clear error now, not in the host's log). */
export async function checkDirectUnlock(o: { data: string }, passphrase: string | undefined): Promise<void> {
  await unlockAgent(directAgentAt(o.data), passphrase);
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

export async function directPoints(o: DirectSourceOptions, passphrase: string | undefined, out: Out): Promise<void> {
  const agent = directAgentAt(o.data);
  await unlockAgent(agent, passphrase);
  for (const p of await agent.points(sourceOf(o))) out(`${p.time}  ${p.snapshotId}  ${p.source}`);
}

export async function directRestore(o: DirectSourceOptions & { snapshot: string; target: string; path?: string[] }, passphrase: string | undefined, out: Out): Promise<void> {
  const agent = directAgentAt(o.data);
  await unlockAgent(agent, passphrase);
  const target = path.resolve(o.target);
  const result = await agent.restore({ snapshotId: o.snapshot, targetRoot: target, ...(o.path === undefined ? {} : { paths: o.path }), ...sourceOf(o) });
  out(`Restored ${result.files} files and ${result.dirs} folders (${result.bytes} bytes) from the vault into ${target}; every byte verified.`);
}

/** Checks every point in the vault and every chunk it stores (authenticated, matching its id); fails on a problem. */
export async function directVerify(o: { data: string }, passphrase: string | undefined, out: Out): Promise<void> {
  const agent = directAgentAt(o.data);
  await unlockAgent(agent, passphrase);
  const report = await agent.verify();
  out(`${report.snapshots} points in the vault, ${report.chunksRead} chunks read, ${report.problems.length} problems.`);
  for (const p of report.problems) out(`  ${p.object}: ${p.code}: ${p.message}`);
  if (report.problems.length > 0) throw new Error(`${report.problems.length} problems found`);
}

/** Keeps the vault repository's key wrapped with this machine's key (`<data>/agent/machine-key`), for run after a restart. */
export async function directRememberKey(o: { data: string }, passphrase: string, out: Out): Promise<void> {
  const agent = directAgentAt(o.data);
  await agent.unlock(passphrase);
  await agent.rememberKey();
  out(`This machine now unlocks its backups in the vault without the passphrase (${path.resolve(o.data, 'agent', 'machine-key')}, owner-only).`);
  out('A copy of the data folder without that file still needs the passphrase; kluis-server forget-key undoes this.');
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
