/**
 * Retention as Azure computes it, over 97 simulated days on the fake clock (issue 17): one VM on the
 * policy of the check — daily 19:00 UTC, 7 daily / 4 weekly (Sunday) / 3 monthly (first Sunday)
 * / 2 instant-restore days — from 31 December 2026 to 6 April 2027 (the day the monthly point of 3 January expires), through the embedded host, the
 * scheduler and the hourly retention timer, with the VM agent down for 8 days in March.
 *
 * Every simulated day, after that day's backup and the 20:00 cleanup, the exact set of recovery points,
 * each one's rule and expiry time and whether its snapshot tier is still there are compared with a model
 * of Azure's documented rules written out here on their own:
 * - a point is tagged, when it is taken, Weekly on a Sunday and Monthly on a first Sunday;
 * - it is kept 7 days (Daily), 28 days (Weekly) or 3 × 31 = 93 days (Monthly), the longest;
 * - the latest point stays, and keeps its snapshot, until the next successful backup;
 * - snapshots go 2 days after their point (48 h).
 */
import { useAzurite } from '../support/azurite';
import { subscriptionEnv } from '../support/arm-tenancy';
import { startHostProcess, type HostProcess, REPO_ROOT } from '../support/host-process';
import { isolatedAppSettings, vaultApi, type Resource, type RecoveryPointProperties } from '../support/vault-api';

const SUB = '7e1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f';
const START = '2026-12-30T20:30:00.000Z';
const FIRST_DAY = Date.parse('2026-12-31T00:00:00.000Z');
const DAYS = 97;
/** The agent is down on days 70–77 (11–18 March 2027): eight scheduled backups fail. */
const AGENT_DOWN = { from: 70, to: 77 };
const VAULT = 'gfs-vault';
const POLICY = 'Gfs1900';
const VM = 'app1';
const DAY_MS = 86_400_000;
const MIB = 1024 * 1024;

const RUN_TIME = '2026-01-01T19:00:00Z';
const GFS_POLICY = {
  backupManagementType: 'AzureIaasVM',
  policyType: 'V1',
  instantRpRetentionRangeInDays: 2,
  timeZone: 'UTC',
  schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: [RUN_TIME] },
  retentionPolicy: {
    retentionPolicyType: 'LongTermRetentionPolicy',
    dailySchedule: { retentionTimes: [RUN_TIME], retentionDuration: { count: 7, durationType: 'Days' } },
    weeklySchedule: { daysOfTheWeek: ['Sunday'], retentionTimes: [RUN_TIME], retentionDuration: { count: 4, durationType: 'Weeks' } },
    monthlySchedule: {
      retentionScheduleFormatType: 'Weekly',
      retentionScheduleWeekly: { daysOfTheWeek: ['Sunday'], weeksOfTheMonth: ['First'] },
      retentionTimes: [RUN_TIME],
      retentionDuration: { count: 3, durationType: 'Months' },
    },
  },
};

/** What the model expects of a point after a day's cleanup. */
interface ExpectedPoint {
  time: string;
  ruleName: string;
  expiryTime?: string;
  instant: 'Valid' | 'Deleted';
}

/** Azure's rules for the policy above, on the points taken so far (times in ms), at `now`. */
function model(taken: readonly number[], now: number): ExpectedPoint[] {
  const latest = taken.at(-1);
  return taken.flatMap((time): ExpectedPoint[] => {
    const date = new Date(time);
    const sunday = date.getUTCDay() === 0;
    const candidates: Array<[string, number]> = [['Daily', 7]];
    if (sunday) candidates.push(['Weekly', 28]);
    if (sunday && date.getUTCDate() <= 7) candidates.push(['Monthly', 3 * 31]);
    const [ruleName, days] = candidates.reduce((best, c) => (c[1] >= best[1] ? c : best));
    const expiry = time + days * DAY_MS;
    const isLatest = time === latest;
    const instant = isLatest || time + 2 * DAY_MS > now ? 'Valid' : 'Deleted';
    const iso = new Date(time).toISOString();
    if (expiry > now) return [{ time: iso, ruleName, expiryTime: new Date(expiry).toISOString(), instant }];
    return isLatest ? [{ time: iso, ruleName: 'Latest', instant }] : [];
  });
}

function observed(points: Array<Resource<RecoveryPointProperties>>): ExpectedPoint[] {
  return points.map((p) => ({
    time: p.properties.recoveryPointTime,
    ruleName: p.properties.recoveryPointProperties?.ruleName ?? '(none)',
    ...(p.properties.recoveryPointProperties?.expiryTime === undefined ? {} : { expiryTime: p.properties.recoveryPointProperties.expiryTime }),
    instant: p.properties.recoveryPointTierDetails.find((t) => t.type === 'InstantRP')?.status as 'Valid' | 'Deleted',
  }));
}

const azurite = useAzurite();

describe('retention over 97 days on the fake clock (31-day months, the latest snapshot kept while backups fail)', () => {
  let host: HostProcess;
  const api = vaultApi(() => host, { subscriptionId: SUB, storage: () => azurite().connectionString });
  /** The times (epoch ms) of the points the scheduled backups took, oldest first. */
  const taken: number[] = [];
  const takenOn = (date: string) => taken.find((t) => new Date(t).toISOString().startsWith(date)) as number;

  beforeAll(async () => {
    host = await startHostProcess({
      app: REPO_ROOT,
      storage: azurite().connectionString,
      hubName: `Gfs${Date.now().toString(36)}`,
      env: { ...isolatedAppSettings(`g${Date.now().toString(36)}`), ...subscriptionEnv(SUB) },
      extraArgs: ['--fake-clock', START],
    });
    await api.createResourceGroup();
    expect((await api.createVault(VAULT)).status).toBe(201);
    expect((await api.putPolicy(VAULT, POLICY, GFS_POLICY)).status).toBe(200);
    await api.createVm(VM, { osType: 'Linux', osDisk: { sizeBytes: MIB }, initialData: { percent: 10, seed: VM } });
    expect((await api.settle(await api.enable(VAULT, VM, POLICY))).status).toBe('Succeeded');
  }, 60_000);

  afterAll(async () => {
    await host?.stop();
  });

  it('keeps exactly the points Azure keeps, until exactly when Azure keeps them, every day', async () => {
    const outcomes: string[] = [];
    for (let d = 0; d < DAYS; d++) {
      const date = new Date(FIRST_DAY + d * DAY_MS).toISOString().slice(0, 10);
      if (d === AGENT_DOWN.from) await api.fabric(VM, 'faults', { agentStatus: 'Unavailable' });
      if (d === AGENT_DOWN.to + 1) await api.fabric(VM, 'repair');
      await api.orchestrationsIdle('retention-');
      await api.advanceClock({ to: `${date}T19:05:00Z` });
      const slot = new Date(`${date}T19:00:00Z`);
      const job = await api.scheduledJob(VAULT, VM, slot);
      outcomes.push(job.properties.status);
      // A point's id is its time in epoch milliseconds.
      if (job.properties.status === 'Completed') taken.push(Number(job.properties.extendedInfo.propertyBag['Recovery point']));
      else expect(job.properties.errorDetails?.[0]?.errorTitle).toBe('UserErrorGuestAgentStatusUnavailable');
      await api.orchestrationsIdle('retention-');
      await api.advanceClock({ to: `${date}T20:05:00Z` });
      expect(await api.orchestrationDone(`retention-${date.replace(/-/g, '')}20`)).toBe('Completed');
      const now = Date.parse(`${date}T20:05:00Z`);
      expect({ date, points: observed(await api.recoveryPoints(VAULT, VM)) }).toEqual({ date, points: model(taken, now) });
    }
    // One scheduled job a day; the eight days without an agent failed.
    expect(outcomes.filter((s) => s === 'Failed')).toHaveLength(AGENT_DOWN.to - AGENT_DOWN.from + 1);
    expect(outcomes.filter((s) => s === 'Completed')).toHaveLength(DAYS - 8);
    const backups = await api.jobs(VAULT, "operation eq 'Backup'");
    expect(backups).toHaveLength(DAYS);
  }, 900_000);

  it('kept the monthly point of 3 January 2027 93 days, until 6 April, and says so on the cleanup job that deleted it', async () => {
    const deletions = await api.jobs(VAULT, "operation eq 'DeleteBackupData'");
    expect(deletions.length).toBeGreaterThan(0);
    expect(deletions.every((j) => !j.properties.isUserTriggered && j.properties.status === 'Completed')).toBe(true);
    const jan3 = takenOn('2027-01-03');
    // Two cleanups may overlap when the fake clock jumps a day (it fires the first and the last missed hour): each lists it.
    const jobs = deletions.filter((j) => j.properties.extendedInfo.propertyBag[`Recovery point ${jan3}`] !== undefined);
    expect(jobs.length).toBeGreaterThan(0);
    const until = new Date(jan3 + 93 * DAY_MS).toISOString().slice(0, 16).replace('T', ' ');
    for (const job of jobs) {
      expect(job.properties.startTime.slice(0, 10)).toBe('2027-04-06');
      expect(job.properties.extendedInfo.propertyBag[`Recovery point ${jan3}`]).toMatch(
        new RegExp(`^Expired at ${until} UTC: the Monthly rule \\(backups on the First Sunday of the month, 3 months\\) kept it until then`),
      );
    }
  });

  it('said on the failed jobs why the latest snapshot outlived its 2 days, and let it go after the next success', async () => {
    const failed = (await api.jobs(VAULT, "operation eq 'Backup' and status eq 'Failed'")).sort((a, b) => Date.parse(a.properties.startTime) - Date.parse(b.properties.startTime));
    expect(failed).toHaveLength(8);
    const latest = takenOn('2027-03-10');
    const notes = failed.map((j) => j.properties.extendedInfo.propertyBag['Instant restore snapshot kept']);
    // 11 March: within its 2 days; 12 March: at their end; from 13 March on, kept past them.
    expect(notes[0]).toBeUndefined();
    const note = `Recovery point ${latest} (${new Date(latest).toISOString()}) keeps its snapshot past ${new Date(latest + 2 * DAY_MS).toISOString()}, the end of its 2 instant-restore day(s): the latest recovery point keeps its snapshot until a backup succeeds.`;
    expect(notes.slice(2)).toEqual(Array(6).fill(note));
    // The backup of 19 March succeeded: that evening's cleanup deleted the old latest point (its 7 days were over).
    const deletions = await api.jobs(VAULT, "operation eq 'DeleteBackupData'");
    const released = deletions.filter((j) => j.properties.extendedInfo.propertyBag[`Recovery point ${latest}`] !== undefined);
    expect(released.length).toBeGreaterThan(0);
    for (const job of released) expect(job.properties.startTime.slice(0, 10)).toBe('2027-03-19');
  });
});
