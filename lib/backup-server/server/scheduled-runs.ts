/**
 * The server role's minute tick (functions/server-role/scheduler.ts): check in with the vault as a pass does, then
 * name the protection groups' due runs (domain/group-runs.ts), each under an orchestration instance id of server,
 * group and due time, so a restarted or second host starts a run once.
 */
import { dueGroupRuns, type GroupRun } from '../domain/group-runs';
import { sourceKey, type BackupServer } from './backup-server';

export interface DueRuns {
  serverName: string;
  runs: GroupRun[];
  /** Why the check-in failed (the vault unreachable): the runs still start, on the last check-in's state. */
  checkInError?: string;
}

export async function checkInAndFindDueRuns(server: BackupServer, now: () => Date): Promise<DueRuns> {
  const checkIn = await server.checkIn({ report: false });
  const state = await server.readState();
  if (state === undefined) return { serverName: '', runs: [] };
  const runs = dueGroupRuns(state.serverName, state.groups, await server.localPoints(), await server.vaultPoints(), now(), sourceKey);
  // Nothing due: this minute's check-in also carries the report (a pass reports at its end instead).
  if (runs.length === 0 && checkIn.ok) await server.reportToVault();
  return { serverName: state.serverName, runs, ...(checkIn.ok ? {} : { checkInError: checkIn.error }) };
}
