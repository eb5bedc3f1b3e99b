/**
 * Concurrency of the vault service (issue 4 "Tests"), end to end through the embedded host on Azurite with a
 * fake clock (Monday 2026-03-02 10:00 UTC):
 * - two on-demand backups of one item at once: exactly one is accepted, the other refused with
 *   UserErrorBackupOperationInProgress; one job, one recovery point; a backup asked for while a
 *   scheduled one runs is refused the same way;
 * - two scheduler ticks at once (the host's own timer and two more ticks run here, against the host's
 *   catalog, as other hosts would): one job and one backup per slot;
 * - a policy edit while a backup runs: both succeed, and the next retention judges the new point by the
 *   edited policy.
 *
 * Runs the app built into dist/ (KLUIS_E2E_APP names another built copy, e.g. one compiled with
 * `tsc --outDir`).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { findDueBackups, startScheduledBackup, type SchedulerDeps } from '../../lib/services/backup-scheduler';
import { tableVaultCatalog } from '../../lib/stores/vault-catalog';
import { useAzurite } from '../support/azurite';
import { REPO_ROOT, sleep, startHostProcess, type HostProcess } from '../support/host-process';
import { subscriptionEnv } from '../support/arm-tenancy';
import { dailyPolicy, isolatedAppSettings, vaultApi, type JobProperties, type Resource } from '../support/vault-api';

const APP = process.env.KLUIS_E2E_APP ? path.resolve(process.env.KLUIS_E2E_APP) : REPO_ROOT;
const SUB = '7c2d4e6f-8a9b-4c0d-9e1f-2a3b4c5d6e7f';
const START = '2026-03-02T10:00:00.000Z';
const VAULT = 'race-vault';
const MIB = 1024 * 1024;
const STAMP = `c${Date.now().toString(36)}`;
const SETTINGS = isolatedAppSettings(STAMP);

const azurite = useAzurite();

describe('concurrent backups, scheduler ticks and policy edits (embedded host, fake clock)', () => {
  let host: HostProcess;
  const api = vaultApi(() => host, { subscriptionId: SUB, storage: () => azurite().connectionString });

  const backupJobsOf = async (vm: string): Promise<Array<Resource<JobProperties>>> =>
    (await api.jobs(VAULT, "operation eq 'Backup'")).filter((j) => j.properties.entityFriendlyName === vm);

  beforeAll(async () => {
    host = await startHostProcess({
      app: APP,
      storage: azurite().connectionString,
      hubName: `Race${STAMP}`,
      env: { ...SETTINGS, ...subscriptionEnv(SUB) },
      extraArgs: ['--fake-clock', START],
    });
    await api.createResourceGroup();
    expect((await api.createVault(VAULT)).status).toBe(201);
    // Each VM its own policy, so the slots of one test never start backups in another.
    expect((await api.putPolicy(VAULT, 'Noon', dailyPolicy('12:00', 'UTC', 7))).status).toBe(200);
    expect((await api.putPolicy(VAULT, 'Afternoon', dailyPolicy('14:00', 'UTC', 7))).status).toBe(200);
    const small = { osType: 'Linux', osDisk: { sizeBytes: 2 * MIB } };
    await api.createVm('race1', { ...small, dataDisks: [{ lun: 0, sizeBytes: MIB }] });
    await api.createVm('tick1', small);
    await api.createVm('edit1', small);
    for (const [vm, policy] of [
      ['race1', 'DefaultPolicy'],
      ['tick1', 'Noon'],
      ['edit1', 'Afternoon'],
    ]) {
      expect((await api.jobOf(VAULT, await api.enable(VAULT, vm, policy))).properties.status).toBe('Completed');
    }
  }, 90_000);

  afterAll(async () => {
    await host?.stop();
  });

  it('accepts exactly one of two on-demand backups of one item sent at once', async () => {
    for (let round = 1; round <= 3; round++) {
      const responses = await Promise.all([api.backupNow(VAULT, 'race1'), api.backupNow(VAULT, 'race1')]);
      expect({ round, statuses: responses.map((r) => r.status).sort() }).toEqual({ round, statuses: [202, 409] });
      const refused = responses.find((r) => r.status === 409)!;
      expect(refused.body.error.code).toBe('UserErrorBackupOperationInProgress');
      const job = await api.jobOf(VAULT, responses.find((r) => r.status === 202)!);
      expect(job.properties.status).toBe('Completed');
      expect(await backupJobsOf('race1')).toHaveLength(round);
      expect(await api.recoveryPoints(VAULT, 'race1')).toHaveLength(round);
      // Recovery point ids are the backup's start time: let the fake clock move between rounds.
      await api.advanceClock({ ms: 60_000 });
    }
    expect((await api.getItem(VAULT, 'race1')).properties.extendedInfo.recoveryPointCount).toBe(3);
  }, 60_000);

  it('starts one backup per slot when scheduler ticks run at once', async () => {
    await api.advanceClock({ to: '2026-03-02T11:55:00Z' });
    const catalog = tableVaultCatalog(azurite().connectionString, { prefix: SETTINGS.KLUIS_CATALOG_TABLE_PREFIX, recoveryPoints: SETTINGS.KLUIS_CATALOG_TABLE });
    const otherHost: SchedulerDeps = { catalog, clock: () => new Date('2026-03-02T12:01:00Z'), newId: randomUUID };
    const tick = async () => {
      const due = (await findDueBackups(otherHost)).filter((d) => d.vmName === 'tick1');
      expect(due.map((d) => d.slot.scheduledTime.toISOString())).toEqual(['2026-03-02T12:00:00.000Z']);
      return startScheduledBackup(otherHost, due[0]);
    };
    // The host's timer fires at 12:00 and 12:05 while two more ticks run here.
    const [, first, second] = await Promise.all([api.advanceClock({ to: '2026-03-02T12:05:00Z' }), tick(), tick()]);
    expect(first.job.jobId).toBe(second.job.jobId);

    const slot = new Date('2026-03-02T12:00:00.000Z');
    const job = await api.scheduledJob(VAULT, 'tick1', slot);
    expect(job.name).toBe(first.job.jobId);
    expect(job.properties).toMatchObject({ status: 'Completed', isUserTriggered: false });
    // One more tick later in the slot's window starts nothing new.
    await api.advanceClock({ to: '2026-03-02T12:10:00Z' });
    const late = await tick();
    expect({ run: late.run, jobId: late.job.jobId }).toEqual({ run: false, jobId: job.name });
    expect((await backupJobsOf('tick1')).map((j) => j.name)).toEqual([job.name]);
    expect(await api.recoveryPoints(VAULT, 'tick1')).toHaveLength(1);
    expect((await api.getItem(VAULT, 'tick1')).properties).toMatchObject({ protectionState: 'Protected', lastBackupStatus: 'Healthy' });
  }, 60_000);

  it('lets a policy edit and a running backup both succeed; the next retention uses the edited policy', async () => {
    // The agent does not report the snapshot task: the backup waits for the thaw's retry (5 s of fake time).
    await api.fabric('edit1', 'faults', { snapshotStatus: 'Silent' });
    await api.advanceClock({ to: '2026-03-02T14:05:00Z' });
    const slot = '2026-03-02T14:00:00.000Z';
    const isSnapshotting = (j: Resource<JobProperties>) =>
      j.properties.extendedInfo.propertyBag['Scheduled time'] === slot && j.properties.extendedInfo.tasksList[0]?.status === 'InProgress';
    const running = await api.until(
      'the scheduled backup of edit1 taking its snapshot',
      () => api.arm<{ value: Array<Resource<JobProperties>> }>(`${api.vaultUrl(VAULT)}/backupJobs?$filter=${encodeURIComponent("operation eq 'Backup' and status eq 'InProgress'")}`),
      (list) => list.value.some(isSnapshotting),
    );
    const held = running.value.find(isSnapshotting)!;
    const jobId = held.name;
    // Held in "Take Snapshot" (fake time stands still): cancellable, nothing transferred yet.
    expect(held.properties).toMatchObject({
      status: 'InProgress',
      isUserTriggered: false,
      actionsInfo: ['Cancellable'],
      extendedInfo: {
        progressPercentage: 0,
        tasksList: [
          { taskId: 'Take Snapshot', status: 'InProgress' },
          { taskId: 'Transfer data to vault', status: 'NotStarted', progressPercentage: 0 },
        ],
      },
    });

    // A backup asked for now is refused: the scheduled one holds the item.
    const refused = await api.backupNow(VAULT, 'edit1');
    expect({ status: refused.status, code: refused.body.error?.code }).toEqual({ status: 409, code: 'UserErrorBackupOperationInProgress' });

    const edited = await api.putPolicy<Resource<{ retentionPolicy: unknown; protectedItemsCount: number }>>(VAULT, 'Afternoon', dailyPolicy('14:00', 'UTC', 30));
    expect(edited.status).toBe(200);
    expect(edited.body.properties).toMatchObject({ protectedItemsCount: 1, retentionPolicy: { dailySchedule: { retentionDuration: { count: 30, durationType: 'Days' } } } });
    expect((await api.job(VAULT, jobId)).properties.status).toBe('InProgress');

    await api.fabric('edit1', 'faults', { snapshotStatus: 'Reports' });
    // The thaw's retry timer fires when fake time passes it: move time on in 5 s steps until the job ends.
    let job = await api.job(VAULT, jobId);
    for (let step = 0; step < 10 && job.properties.status === 'InProgress'; step++) {
      await api.advanceClock({ ms: 5_000 });
      await sleep(500);
      job = await api.job(VAULT, jobId);
    }
    job = await api.waitForJob(VAULT, jobId);
    expect(job.properties).toMatchObject({ status: 'Completed', isUserTriggered: false });
    const pointId = job.properties.extendedInfo.propertyBag['Recovery point'];

    // The next hourly retention records the rule and expiry of the edited policy: 30 days, not 7.
    await api.orchestrationsIdle('retention-');
    await api.advanceClock({ to: '2026-03-02T15:05:00Z' });
    expect(await api.orchestrationDone('retention-2026030215')).toBe('Completed');
    const [point] = await api.recoveryPoints(VAULT, 'edit1');
    expect(point.name).toBe(pointId);
    const taken = Date.parse(point.properties.recoveryPointTime);
    expect(point.properties.recoveryPointProperties).toEqual({ ruleName: 'Daily', expiryTime: new Date(taken + 30 * 86_400_000).toISOString() });
  }, 90_000);
});
