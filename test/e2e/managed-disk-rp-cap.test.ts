/**
 * The Standard policy's 18 instant-restore points for a VM with managed disks, over HTTP through the embedded
 * host with the fabric's Compute endpoint and a fake clock: a daily policy with 5 instant-restore days and up
 * to three on-demand backups a day makes more than 18 points within the instant-restore window; the VM's
 * restore point collection in AzureBackupRG_westeurope_1 never holds more than 18 — before the 19th backup
 * opens its restore point, the oldest point loses its own (its InstantRP tier shows Deleted). With a
 * CanNotDelete lock on that resource group (what Azure Backup's troubleshooting names as the cause) the
 * cleanup is refused (ScopeLocked) and the backup fails with UserErrorRpCollectionLimitReached naming it,
 * creating nothing (the oldest point's InstantRP shows Invalid while its deletion waits); once the lock is
 * removed the next backup completes and finishes that deletion. On-demand backups count, as scheduled ones do.
 */
import path from 'node:path';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { useAzurite } from '../support/azurite';
import { REPO_ROOT, startHostProcess, type HostProcess } from '../support/host-process';
import { httpsRequest } from '../support/https';
import { subscriptionEnv } from '../support/arm-tenancy';
import { dailyPolicy, isolatedAppSettings, vaultApi, type JobProperties } from '../support/vault-api';
import { hostComputeClient } from '../support/host-compute';

const APP = process.env.KLUIS_E2E_APP ? path.resolve(process.env.KLUIS_E2E_APP) : REPO_ROOT;
const SUB = '6d8b1c3a-4e5f-4a61-8c2d-3e4f5a6b7c8d';
const START = '2026-03-02T00:30:00.000Z';
const VAULT = 'cap-vault';
const POLICY = 'Daily0300';
const VM = 'cap1';
const INSTANT_GROUP = 'AzureBackupRG_westeurope_1';
const MIB = 1024 * 1024;
const LOCK = `/subscriptions/${SUB}/resourceGroups/${INSTANT_GROUP}/providers/Microsoft.Authorization/locks/keep-restore-points?api-version=2020-05-01`;

const azurite = useAzurite();

interface Job {
  name: string;
  properties: JobProperties;
}

describe('at most 18 instant-restore points for a managed-disk VM on a Standard policy (fake clock)', () => {
  let host: HostProcess;
  let compute: ComputeManagementClient;
  let computeEndpoint = '';
  let caPem = '';
  const api = vaultApi(() => host, { subscriptionId: SUB, storage: () => azurite().connectionString });

  /** The names of the restore points in the VM's collection(s), oldest first (each starts with its recovery point id). */
  async function restorePoints(): Promise<string[]> {
    const names: string[] = [];
    for await (const collection of compute.restorePointCollections.list(INSTANT_GROUP)) {
      const expanded = await compute.restorePointCollections.get(INSTANT_GROUP, collection.name!, { expand: 'restorePoints' });
      names.push(...(expanded.restorePoints ?? []).map((point) => point.name!));
    }
    return names.sort();
  }

  /** The recovery points with their InstantRP status, oldest first. */
  async function points(): Promise<Array<{ name: string; instant: string }>> {
    const listed = await api.recoveryPoints(VAULT, VM);
    return listed
      .map((point) => ({ name: point.name, instant: point.properties.recoveryPointTierDetails.find((tier) => tier.type === 'InstantRP')?.status ?? 'none' }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** An on-demand backup ten minutes on, to its end; a failed attempt's retries wait on the fake clock, so it moves on while the job runs. */
  async function backupNow(): Promise<Job> {
    await api.advanceClock({ ms: 10 * 60_000 });
    const accepted = await api.settle(await api.backupNow(VAULT, VM));
    expect(accepted.status).toBe('Succeeded');
    const jobUrl = `${api.vaultUrl(VAULT)}/backupJobs/${accepted.properties!.jobId}`;
    for (let polls = 0; polls < 600; polls++) {
      const job = await api.arm<Job>(jobUrl);
      if (!['InProgress', 'Cancelling'].includes(job.body.properties.status)) return job.body;
      if (polls % 10 === 9) await api.advanceClock({ ms: 30_000 });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`backup job still running: ${host.outputTail()}`);
  }

  async function scheduledBackup(day: string): Promise<Job> {
    await api.advanceClock({ to: `2026-03-${day}T02:05:00Z` });
    return api.scheduledJob(VAULT, VM, new Date(`2026-03-${day}T02:00:00.000Z`));
  }

  async function lock(method: 'PUT' | 'DELETE'): Promise<number> {
    const response = await httpsRequest(`${computeEndpoint}${LOCK}`, {
      method,
      headers: { authorization: `Bearer ${await host.accessToken()}`, 'content-type': 'application/json' },
      ...(method === 'PUT' ? { body: JSON.stringify({ properties: { level: 'CanNotDelete', notes: 'Kluis test: blocks the cleanup of old restore points' } }) } : {}),
      ca: caPem,
    });
    return response.status;
  }

  beforeAll(async () => {
    host = await startHostProcess({
      app: APP,
      storage: azurite().connectionString,
      hubName: `Cap${Date.now().toString(36)}`,
      env: { ...isolatedAppSettings(`c${Date.now().toString(36)}`), ...subscriptionEnv(SUB) },
      extraArgs: ['--fake-clock', START],
    });
    ({ client: compute, endpoint: computeEndpoint, caPem } = await hostComputeClient(host, SUB));
    await api.createResourceGroup();
    expect((await api.createVault(VAULT)).status).toBe(201);
    // Standard (V1) policy: daily at 03:00 W. Europe (02:00 UTC), instant-restore snapshots kept 5 days (Standard's most).
    expect((await api.putPolicy(VAULT, POLICY, dailyPolicy('03:00', 'W. Europe Standard Time', 30, 5))).status).toBe(200);
    await api.createVm(VM, { osType: 'Linux', managedDisks: true, osDisk: { sizeBytes: 2 * MIB }, initialData: { percent: 10, seed: VM } });
    expect((await api.settle(await api.arm(`${api.vaultUrl(VAULT)}/backupFabrics/Azure/refreshContainers`, { method: 'POST' }))).status).toBe('Succeeded');
    expect((await api.jobOf(VAULT, await api.enable(VAULT, VM, POLICY))).properties.status).toBe('Completed');
  }, 90_000);

  afterAll(async () => {
    await host?.stop();
  });

  it('18 points within the instant-restore window: every one keeps its restore point', async () => {
    // Four days of one scheduled and three on-demand backups, then the fifth day's scheduled one and one more.
    for (const day of ['02', '03', '04', '05']) {
      expect((await scheduledBackup(day)).properties.status).toBe('Completed');
      for (let i = 0; i < 3; i++) expect((await backupNow()).properties.status).toBe('Completed');
    }
    expect((await scheduledBackup('06')).properties.status).toBe('Completed');
    expect((await backupNow()).properties.status).toBe('Completed');
    const all = await points();
    expect(all).toHaveLength(18);
    expect(all.every((point) => point.instant === 'Valid')).toBe(true);
    expect((await restorePoints()).map((name) => name.split('_')[0])).toEqual(all.map((point) => point.name));
  }, 600_000);

  it('the 19th backup makes room first: the oldest point loses its restore point, the collection keeps 18', async () => {
    const before = await points();
    expect((await backupNow()).properties.status).toBe('Completed');
    const after = await points();
    expect(after).toHaveLength(19);
    expect(after[0]).toEqual({ name: before[0].name, instant: 'Deleted' });
    expect(after.slice(1).every((point) => point.instant === 'Valid')).toBe(true);
    const collection = await restorePoints();
    expect(collection).toHaveLength(18);
    expect(collection.map((name) => name.split('_')[0])).toEqual(after.slice(1).map((point) => point.name));
  }, 120_000);

  it('with a CanNotDelete lock on the instant-restore resource group the backup fails with UserErrorRpCollectionLimitReached and creates nothing', async () => {
    expect(await lock('PUT')).toBe(201);
    const before = { points: await points(), collection: await restorePoints() };
    const failed = await backupNow();
    expect(failed.properties.status).toBe('Failed');
    expect(failed.properties.errorDetails?.[0]).toMatchObject({
      errorTitle: 'UserErrorRpCollectionLimitReached',
      errorString: expect.stringContaining('ScopeLocked'),
      recommendations: [expect.stringContaining('lock')],
    });
    // Nothing new, nothing gone: the oldest point with a snapshot still has its restore point, its deletion pending
    // (InstantRP Invalid: it is not restored from while it waits).
    const oldest = before.points.findIndex((point) => point.instant === 'Valid');
    const expected = before.points.map((point, index) => (index === oldest ? { ...point, instant: 'Invalid' } : point));
    expect({ points: await points(), collection: await restorePoints() }).toEqual({ points: expected, collection: before.collection });
  }, 180_000);

  it('once the lock is removed, the next backup completes and the collection still holds at most 18', async () => {
    expect(await lock('DELETE')).toBe(200);
    expect((await scheduledBackup('07')).properties.status).toBe('Completed');
    const all = await points();
    // The pending deletion finished with the next backup's cleanup.
    expect(all.filter((point) => point.instant === 'Invalid')).toEqual([]);
    const withSnapshot = all.filter((point) => point.instant === 'Valid');
    expect(withSnapshot.length).toBeLessThanOrEqual(18);
    expect((await restorePoints()).map((name) => name.split('_')[0])).toEqual(withSnapshot.map((point) => point.name));
  }, 180_000);
});
