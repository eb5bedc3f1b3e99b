/**
 * Which protection groups are due, and the orchestration instance id of each run (issue 16 step "the server's own
 * orchestrations"): the server role's timer checks each minute and starts one run per due group, named by server,
 * group and due time, so two hosts or a restarted host start a given group's run once (the durable start-once
 * pattern of functions/timers/start-once.ts). Pure: points and time are parameters.
 */
import { createHash } from 'node:crypto';
import { isLocalPointDue, isOnlineCopyDue, lastScheduledTime, type LocalPoint, type ProtectionGroup } from './protection-group';

export interface GroupRun {
  group: string;
  /** The scheduled time this run is for (ISO): the latest of the group's due local and online times. */
  dueAt: string;
  /** Sources whose daily local point is due. */
  localDue: string[];
  /** Sources whose daily online copy is due. */
  onlineDue: string[];
  instanceId: string;
}

/** `kluis-server-<group, readable>-<hash of server and group>-<yyyyMMddHHmm>`: stable, ≤ 64 characters. */
export function groupRunInstanceId(serverName: string, group: string, dueAt: Date): string {
  const readable = group.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 24);
  const hash = createHash('sha256').update(`${serverName.toLowerCase()}\n${group.toLowerCase()}`).digest('hex').slice(0, 12);
  const minute = dueAt.toISOString().slice(0, 16).replace(/[-T:]/g, '');
  return `kluis-server-${readable}-${hash}-${minute}`;
}

/**
 * The runs due now: a group is due when one of its sources lacks its local point or online copy since the
 * group's scheduled time. `sourceKey(group, source)` names a source's points (backup-server.ts `sourceKey`).
 */
export function dueGroupRuns(
  serverName: string,
  groups: readonly ProtectionGroup[],
  localPoints: readonly LocalPoint[],
  vaultPoints: readonly LocalPoint[],
  now: Date,
  sourceKey: (group: ProtectionGroup, source: string) => string,
): GroupRun[] {
  const runs: GroupRun[] = [];
  for (const group of groups) {
    const lastOf = (points: readonly LocalPoint[], source: string) => points.filter((p) => p.source === sourceKey(group, source)).at(-1)?.time;
    const localDue = group.sources.filter((s) => isLocalPointDue(group, lastOf(localPoints, s.name), now)).map((s) => s.name);
    const onlineDue = group.sources.filter((s) => isOnlineCopyDue(group, lastOf(vaultPoints, s.name), now)).map((s) => s.name);
    if (localDue.length === 0 && onlineDue.length === 0) continue;
    const times = [
      ...(localDue.length > 0 ? [lastScheduledTime(group, now).getTime()] : []),
      ...(onlineDue.length > 0 && group.online !== undefined ? [lastScheduledTime(group, now, group.online.dailyAt).getTime()] : []),
    ];
    const dueAt = new Date(Math.max(...times));
    runs.push({ group: group.name, dueAt: dueAt.toISOString(), localDue, onlineDue, instanceId: groupRunInstanceId(serverName, group.name, dueAt) });
  }
  return runs;
}
