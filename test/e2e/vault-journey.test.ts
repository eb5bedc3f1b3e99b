/**
 * The vault service's whole journey (issue 4 "Tests"), over HTTP through the embedded host on Azurite with
 * the local VM fabric and a fake clock that starts on Monday 2026-03-02 10:00 UTC:
 * create a vault → DefaultPolicy exists → a daily 03:00 "W. Europe Standard Time" policy keeping 7 days →
 * VMs in the fabric → discover → enable protection (the validation errors the protection journey does not
 * cover, catalog unchanged) → backup now → Completed with its tasks → an AppConsistent point on both
 * tiers → mutate the disks → the scheduled backup fires at 03:00 local (02:00 UTC) → incremental →
 * restore its disks → the restored bytes are the disks' bytes at backup → ten more days of scheduled
 * backups → points older than 7 days expire, the latest is always kept → stop with delete → soft-deleted
 * (and not backed up) → undelete → resume.
 *
 * The journey runs as a service principal with exactly the roles it needs (issue 11): Backup Contributor on
 * the vaults' resource group, Virtual Machine Contributor on the VMs' (protecting and restoring a VM
 * writes it, as Azure checks) and Storage Account Contributor on the restore target's (kluis-storage); the local
 * administrator only makes the resource groups, and the fabric (the VMs' world) takes the host key.
 *
 * Time moves only when the test advances it: each advance fires the scheduler (every 5 minutes) and the
 * retention timer (hourly) at the new time. Runs the app built into dist/ (KLUIS_E2E_APP names another
 * built copy, e.g. one compiled with `tsc --outDir`).
 */
import path from 'node:path';
import { blobService, useAzurite } from '../support/azurite';
import { REPO_ROOT, signInAs, startHostProcess, type HostProcess, type HttpResult } from '../support/host-process';
import { principalWithRoles } from '../support/principals';
import { knownSecretsOf, leaksIn } from '../support/leak-check';
import { subscriptionEnv } from '../support/arm-tenancy';
import { dailyPolicy, isolatedAppSettings, sha256, vaultApi, type ArmList, type ErrorEnvelope, type Resource } from '../support/vault-api';

const APP = process.env.KLUIS_E2E_APP ? path.resolve(process.env.KLUIS_E2E_APP) : REPO_ROOT;
const SUB = '4b6f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b';
const START = '2026-03-02T10:00:00.000Z';
const VAULT = 'journey-vault';
const POLICY = 'Daily0300';
const VM = 'web1';
const MIB = 1024 * 1024;
const RESTORE_ACCOUNT = `/subscriptions/${SUB}/resourceGroups/storage/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`;
const KEY_VAULT = `/subscriptions/${SUB}/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kv1`;

/** 03:00 in Berlin/Amsterdam before the end of March is 02:00 UTC. */
const slotOn = (day: string) => new Date(`${day}T02:00:00.000Z`);
/** The retention timer's instance of an hour (`YYYY-MM-DDTHH`, UTC): `retention-YYYYMMDDHH`. */
const retentionRun = (hour: string) => `retention-${hour.replace(/[-T]/g, '')}`;
const backupSize = (bag: Record<string, string>) => Number(/^(\d+) bytes$/.exec(bag['Backup Size'] ?? '')?.[1] ?? NaN);

const azurite = useAzurite();

describe('the vault journey over the ARM API (embedded host, fabric, fake clock)', () => {
  let host: HostProcess;
  const api = vaultApi(() => host, { subscriptionId: SUB, storage: () => azurite().connectionString });
  /** What later steps need from earlier ones: the on-demand point's id and the full backup's size. */
  const journey = { onDemandPoint: '', firstFullBytes: 0 };

  /**
   * Retention runs hourly; an advance over many hours starts two runs (the first hour it passes and the
   * hour it ends in), which may overlap. Let them finish, then advance to HH:05 of `hour` (one hour
   * boundary: one run) and wait for that run.
   */
  async function cleanRetentionRun(hour: string): Promise<void> {
    await api.orchestrationsIdle('retention-');
    await api.advanceClock({ to: `${hour}:05:00Z` });
    expect(await api.orchestrationDone(retentionRun(hour))).toBe('Completed');
  }

  beforeAll(async () => {
    host = await startHostProcess({
      app: APP,
      storage: azurite().connectionString,
      hubName: `Journey${Date.now().toString(36)}`,
      env: { ...isolatedAppSettings(`j${Date.now().toString(36)}`), ...subscriptionEnv(SUB) },
      extraArgs: ['--fake-clock', START],
    });
    await api.createResourceGroup();
    await api.createResourceGroup('rg-vms');
    await api.createResourceGroup('kluis-storage');
    const journey = await principalWithRoles(host, 'vault-journey', [
      { role: 'backupContributor', scope: `/subscriptions/${SUB}/resourceGroups/rg-backup` },
      { role: 'virtualMachineContributor', scope: `/subscriptions/${SUB}/resourceGroups/rg-vms` },
      // The restore target: the host's one storage account lives in its storage resource group.
      { role: 'storageAccountContributor', scope: `/subscriptions/${SUB}/resourceGroups/kluis-storage` },
    ]);
    signInAs(host, journey.tokens);
  }, 60_000);

  afterAll(async () => {
    await host?.stop();
  });

  it('creates a vault with DefaultPolicy and a daily 03:00 W. Europe policy', async () => {
    expect((await api.createVault(VAULT)).status).toBe(201);
    const policies = await api.arm<ArmList<Resource<{ schedulePolicy: unknown }>>>(`${api.vaultUrl(VAULT)}/backupPolicies`);
    expect(policies.body.value.map((p) => p.name)).toEqual(['DefaultPolicy']);

    const created = await api.putPolicy<Resource<Record<string, unknown>>>(VAULT, POLICY, dailyPolicy('03:00', 'W. Europe Standard Time', 7));
    expect(created.status).toBe(200);
    expect(created.body.properties).toMatchObject({
      timeZone: 'W. Europe Standard Time',
      instantRpRetentionRangeInDays: 2,
      retentionPolicy: { dailySchedule: { retentionDuration: { count: 7, durationType: 'Days' } } },
    });
  });

  it('discovers the VMs and refuses each invalid enable request, changing nothing', async () => {
    const vm = await api.createVm(VM, { osType: 'Windows', dataDisks: [{ lun: 0, sizeBytes: 4 * MIB }] });
    expect(vm.disks.map((d) => d.kind)).toEqual(['os', 'data']);
    const small = { osDisk: { sizeBytes: MIB }, initialData: { percent: 0 } };
    await api.createVm('noagent1', { ...small, osType: 'Linux', agent: { status: 'NotReady' } });
    await api.createVm('failed1', { ...small, osType: 'Linux' });
    await api.fabric('failed1', 'faults', { provisioningState: 'Failed' });
    await api.createVm('bek1', { ...small, osType: 'Windows', encryption: { enabled: true, bek: { secretUrl: 'https://kv1.vault.azure.net/secrets/bek1/1', vaultId: KEY_VAULT } } });
    await api.createVm('ade1', {
      ...small,
      osType: 'Windows',
      dataDisks: [{ lun: 0, sizeBytes: MIB }],
      encryption: { enabled: true, bek: { secretUrl: 'https://kv1.vault.azure.net/secrets/ade1/1', vaultId: KEY_VAULT }, kek: { keyUrl: 'https://kv1.vault.azure.net/keys/kek/1', vaultId: KEY_VAULT } },
    });

    expect((await api.settle(await api.arm(`${api.vaultUrl(VAULT)}/backupFabrics/Azure/refreshContainers`, { method: 'POST' }))).status).toBe('Succeeded');
    const protectable = await api.arm<ArmList<Resource<{ friendlyName: string; osType: string; protectionState: string; disks: unknown[] }>>>(
      `${api.vaultUrl(VAULT)}/backupProtectableItems?$filter=${encodeURIComponent("backupManagementType eq 'AzureIaasVM'")}`,
    );
    expect(protectable.status).toBe(200);
    expect(protectable.body.value.map((p) => p.properties.friendlyName).sort()).toEqual(['ade1', 'bek1', 'failed1', 'noagent1', VM]);
    expect(protectable.body.value.find((p) => p.properties.friendlyName === VM)?.properties).toMatchObject({ osType: 'Windows', protectionState: 'NotProtected' });

    const state = async () => [
      (await api.arm(`${api.vaultUrl(VAULT)}/backupProtectedItems`)).body,
      (await api.jobs(VAULT)).map((j) => j.name),
    ];
    const before = await state();
    const put = (vm: string, properties: Record<string, unknown>) =>
      api.arm<ErrorEnvelope>(api.itemUrl(VAULT, vm), { method: 'PUT', body: { properties: { protectedItemType: 'Microsoft.Compute/virtualMachines', ...properties } } });
    const cases: Array<[string, () => Promise<HttpResult<ErrorEnvelope>>, number, string, string?]> = [
      ['agent not ready on a running VM', () => api.enable(VAULT, 'noagent1', POLICY), 409, 'UserErrorGuestAgentStatusUnavailable'],
      ['provisioning failed', () => api.enable(VAULT, 'failed1', POLICY), 409, 'UserErrorVmProvisioningStateFailed'],
      ['encrypted with a BEK only', () => api.enable(VAULT, 'bek1', POLICY), 400, 'UserErrorEncryptedVmBekOnlyNotSupported'],
      [
        'encrypted with a disk excluded',
        () => api.enable(VAULT, 'ade1', POLICY, { extendedProperties: { diskExclusionProperties: { diskLunList: [0], isInclusionList: false } } }),
        400,
        'UserErrorEncryptedVmNotSupportedWithDiskEx',
      ],
      [
        'excluding a LUN the VM does not have',
        () => api.enable(VAULT, VM, POLICY, { extendedProperties: { diskExclusionProperties: { diskLunList: [3], isInclusionList: false } } }),
        400,
        'KluisInvalidRequest',
        'properties.extendedProperties.diskExclusionProperties.diskLunList',
      ],
      ['an item naming another VM than its source', () => put(VM, { sourceResourceId: api.vmId('noagent1'), policyId: api.policyId(VAULT, POLICY) }), 400, 'KluisInvalidRequest', 'properties.sourceResourceId'],
      // ARM's linked check: the journey may not write a VM of a subscription it holds no role in.
      [
        'a VM of another subscription',
        () => put(VM, { sourceResourceId: api.vmId(VM).replace(SUB, '00000000-0000-0000-0000-000000000001'), policyId: api.policyId(VAULT, POLICY) }),
        403,
        'LinkedAuthorizationFailed',
      ],
      ['no source VM', () => put(VM, { policyId: api.policyId(VAULT, POLICY) }), 400, 'KluisInvalidRequest', 'properties.sourceResourceId'],
      ['no policy', () => put(VM, { sourceResourceId: api.vmId(VM) }), 400, 'KluisInvalidRequest', 'properties.policyId'],
      ['undelete of an item that does not exist', () => put(VM, { isRehydrate: true }), 404, 'UserErrorBcmDatasourceNotPresent'],
    ];
    for (const [name, request, status, code, target] of cases) {
      const response = await request();
      expect({ name, status: response.status, code: response.body.error?.code }).toEqual({ name, status, code });
      if (target !== undefined) expect({ name, target: response.body.error.target }).toEqual({ name, target });
      expect(response.body.error.recommendation?.length).toBeGreaterThan(10);
    }
    expect(await state()).toEqual(before);
  });

  it('protects the VM and backs it up now: Completed with its tasks, an AppConsistent point on both tiers', async () => {
    const enabled = await api.jobOf(VAULT, await api.enable(VAULT, VM, POLICY));
    expect(enabled.properties).toMatchObject({ operation: 'ConfigureBackup', status: 'Completed' });
    expect((await api.getItem(VAULT, VM)).properties).toMatchObject({ protectionState: 'IRPending', policyName: POLICY, healthDetails: [{ title: 'Warning (initial backup pending)' }] });

    const backup = await api.jobOf(VAULT, await api.backupNow(VAULT, VM));
    expect(backup.properties).toMatchObject({
      operation: 'Backup',
      status: 'Completed',
      isUserTriggered: true,
      entityFriendlyName: VM,
      extendedInfo: {
        progressPercentage: 100,
        tasksList: [
          { taskId: 'Take Snapshot', status: 'Completed', progressPercentage: 100 },
          { taskId: 'Transfer data to vault', status: 'Completed', progressPercentage: 100 },
        ],
      },
    });
    expect(backup.properties.startTime).toBe(START);
    expect(backup.properties.extendedInfo.propertyBag['Consistency']).toMatch(/^ApplicationConsistent/);
    journey.firstFullBytes = backupSize(backup.properties.extendedInfo.propertyBag);
    expect(journey.firstFullBytes).toBeGreaterThan(0);

    const item = await api.getItem(VAULT, VM);
    expect(item.properties).toMatchObject({ protectionState: 'Protected', lastBackupStatus: 'Healthy', extendedInfo: { recoveryPointCount: 1 } });
    const points = await api.recoveryPoints(VAULT, VM);
    expect(points).toHaveLength(1);
    expect(points[0].properties).toMatchObject({
      recoveryPointType: 'AppConsistent',
      recoveryPointTime: START,
      osType: 'Windows',
      recoveryPointTierDetails: [
        { type: 'InstantRP', status: 'Valid' },
        { type: 'HardenedRP', status: 'Valid' },
      ],
      recoveryPointDiskConfiguration: { numberOfDisksIncludedInBackup: 2 },
    });
    journey.onDemandPoint = points[0].name;
  });

  it('runs the scheduled backup at 03:00 W. Europe time, incrementally, and restores its disks byte for byte', async () => {
    const written = await api.fabric<{ disks: Array<{ bytes: number }> }>(VM, 'writeData', { percent: 2, seed: 'before-the-first-scheduled-backup' });
    const changedBytes = written.disks.reduce((sum, disk) => sum + disk.bytes, 0);
    const atBackup = await api.diskBytes(VM);

    const slot = slotOn('2026-03-03');
    expect((await api.advanceClock({ to: '2026-03-03T02:05:00Z' })).toISOString()).toBe('2026-03-03T02:05:00.000Z');
    const scheduled = await api.scheduledJob(VAULT, VM, slot);
    expect(scheduled.properties).toMatchObject({ operation: 'Backup', status: 'Completed', isUserTriggered: false });
    const incremental = backupSize(scheduled.properties.extendedInfo.propertyBag);
    // Only the changed 64 KiB blocks went to the vault.
    expect(incremental).toBe(changedBytes);
    expect(incremental).toBeLessThan(journey.firstFullBytes / 2);
    const scheduledJobs = (await api.jobs(VAULT, "operation eq 'Backup'")).filter((j) => !j.properties.isUserTriggered);
    expect(scheduledJobs.map((j) => j.name)).toEqual([scheduled.name]);

    const points = await api.recoveryPoints(VAULT, VM);
    expect(points.map((p) => p.name)).toEqual([journey.onDemandPoint, scheduled.properties.extendedInfo.propertyBag['Recovery point']]);
    const latest = points[1];
    expect(Date.parse(latest.properties.recoveryPointTime)).toBeGreaterThanOrEqual(slot.getTime());
    expect((await api.getItem(VAULT, VM)).properties).toMatchObject({ lastRecoveryPoint: latest.properties.recoveryPointTime, extendedInfo: { recoveryPointCount: 2 } });

    // Change the disks again: the restore must bring back the bytes of the backup, not of now.
    await api.fabric(VM, 'writeData', { percent: 5, seed: 'after-the-scheduled-backup' });
    const restore = await api.jobOf(
      VAULT,
      await api.arm(`${api.itemUrl(VAULT, VM)}/recoveryPoints/${latest.name}/restore`, {
        method: 'POST',
        body: {
          properties: {
            objectType: 'IaasVMRestoreRequest',
            recoveryPointId: latest.name,
            recoveryType: 'RestoreDisks',
            sourceResourceId: api.vmId(VM),
            region: 'westeurope',
            storageAccountId: RESTORE_ACCOUNT,
          },
        },
      }),
    );
    expect(restore.properties).toMatchObject({ operation: 'Restore', status: 'Completed', entityFriendlyName: VM });
    const bag = restore.properties.extendedInfo.propertyBag;
    const restored = blobService(azurite().connectionString).getContainerClient(bag['Config Blob Container Name']);
    const disks = new Map<string, string>();
    for await (const blob of restored.listBlobsFlat()) {
      const lun = /\/lun(\d+)-[^/]+\.vhd$/.exec(blob.name)?.[1];
      if (lun === undefined) continue;
      disks.set(lun === '0' ? 'os' : `data${Number(lun) - 1}`, sha256(await restored.getPageBlobClient(blob.name).downloadToBuffer()));
    }
    expect(disks).toEqual(new Map([...atBackup].map(([disk, bytes]) => [disk, sha256(bytes)])));
    const now = await api.diskBytes(VM);
    expect(sha256(now.get('os')!)).not.toBe(disks.get('os'));
  }, 60_000);

  it('backs up every day at the policy’s time, and expires points older than 7 days, keeping the latest', async () => {
    for (let day = 4; day <= 14; day++) {
      const date = `2026-03-${String(day).padStart(2, '0')}`;
      await api.advanceClock({ to: `${date}T02:05:00Z` });
      const job = await api.scheduledJob(VAULT, VM, slotOn(date));
      expect({ date, status: job.properties.status }).toEqual({ date, status: 'Completed' });
    }
    await cleanRetentionRun('2026-03-14T03');
    const all = await api.recoveryPoints(VAULT, VM);
    // The on-demand point (kept 30 days) and the scheduled points of 8–14 March; 3–7 March expired.
    expect(all.map((p) => p.properties.recoveryPointTime)).toEqual([START, ...[8, 9, 10, 11, 12, 13, 14].map((d) => `2026-03-${String(d).padStart(2, '0')}T02:05:00.000Z`)]);
    expect(all.map((p) => p.properties.recoveryPointProperties?.ruleName)).toEqual(['OnDemand', 'Daily', 'Daily', 'Daily', 'Daily', 'Daily', 'Daily', 'Daily']);
    expect(all[1].properties.recoveryPointProperties?.expiryTime).toBe('2026-03-15T02:05:00.000Z');
    // Instant-restore snapshots live 2 days; older points are in the vault tier only.
    expect(all[1].properties.recoveryPointTierDetails).toEqual([
      { type: 'InstantRP', status: 'Deleted' },
      {
        type: 'HardenedRP',
        status: 'Valid',
        extendedInfo: { retentionExpiryTime: '2026-03-15T02:05:00.000Z', retentionReason: 'Kept until 2026-03-15 03:05 Europe/Berlin by the Daily rule (every scheduled backup, 7 days).' },
      },
    ]);
    expect(all[7].properties.recoveryPointTierDetails[0]).toMatchObject({ type: 'InstantRP', status: 'Valid' });
    const expired = `${Date.parse('2026-03-05T02:05:00.000Z')}`;
    const gone = await api.arm<ErrorEnvelope>(`${api.itemUrl(VAULT, VM)}/recoveryPoints/${expired}`);
    expect({ status: gone.status, code: gone.body.error?.code }).toEqual({ status: 404, code: 'KluisRecoveryPointNotFound' });

    // No backups for 8 days (the agent is down): every scheduled point would expire, but the latest stays.
    await api.fabric(VM, 'faults', { agentStatus: 'NotReady' });
    await api.advanceClock({ to: '2026-03-22T02:05:00Z' });
    const failed = await api.scheduledJob(VAULT, VM, slotOn('2026-03-22'));
    expect(failed.properties).toMatchObject({ status: 'Failed', errorDetails: [{ errorTitle: 'UserErrorGuestAgentStatusUnavailable', errorCode: expect.any(Number) }] });
    await cleanRetentionRun('2026-03-22T03');
    const kept = await api.recoveryPoints(VAULT, VM);
    expect(kept.map((p) => [p.properties.recoveryPointTime, p.properties.recoveryPointProperties?.ruleName])).toEqual([
      [START, 'OnDemand'],
      ['2026-03-14T02:05:00.000Z', 'Latest'],
    ]);
    await api.fabric(VM, 'faults', { agentStatus: 'Ready' });
  }, 180_000);

  it('stops protection with delete (soft-deleted, not backed up), undeletes and resumes', async () => {
    const deleted = await api.jobOf(VAULT, await api.arm(api.itemUrl(VAULT, VM), { method: 'DELETE' }));
    expect(deleted.properties).toMatchObject({ operation: 'DeleteBackupData', status: 'Completed' });
    const softDeleted = await api.getItem(VAULT, VM);
    expect(softDeleted.properties).toMatchObject({ protectionState: 'ProtectionStopped', isScheduledForDeferredDelete: true, extendedInfo: { recoveryPointCount: 2 } });
    expect(softDeleted.properties).toMatchObject({ deferredDeleteTimeInUTC: '2026-03-22T03:05:00.000Z', deferredDeleteTimeRemaining: 'P14D' });

    // A witness protected by the same policy shows the next day's scheduler tick ran: the soft-deleted item got no job.
    await api.createVm('witness1', { osType: 'Linux', osDisk: { sizeBytes: MIB }, initialData: { percent: 5, seed: 'witness' } });
    expect((await api.jobOf(VAULT, await api.enable(VAULT, 'witness1', POLICY))).properties.status).toBe('Completed');
    await api.advanceClock({ to: '2026-03-23T02:05:00Z' });
    expect((await api.scheduledJob(VAULT, 'witness1', slotOn('2026-03-23'))).properties.status).toBe('Completed');
    const web1Jobs = (await api.jobs(VAULT, "operation eq 'Backup'")).filter((j) => j.properties.entityFriendlyName === VM);
    expect(web1Jobs.some((j) => j.properties.extendedInfo.propertyBag['Scheduled time'] === slotOn('2026-03-23').toISOString())).toBe(false);
    expect((await api.recoveryPoints(VAULT, VM)).length).toBe(2);
    expect((await api.getItem(VAULT, VM)).properties).toMatchObject({ isScheduledForDeferredDelete: true, deferredDeleteTimeRemaining: 'P13DT1H' });

    const undeleted = await api.jobOf(
      VAULT,
      await api.arm(api.itemUrl(VAULT, VM), { method: 'PUT', body: { properties: { protectedItemType: 'Microsoft.Compute/virtualMachines', isRehydrate: true } } }),
    );
    expect(undeleted.properties).toMatchObject({ operation: 'Undelete', status: 'Completed' });
    const stopped = await api.getItem(VAULT, VM);
    expect(stopped.properties).toMatchObject({ protectionState: 'ProtectionStopped' });
    expect(stopped.properties.isScheduledForDeferredDelete).toBeUndefined();

    const resumed = await api.jobOf(VAULT, await api.enable(VAULT, VM, POLICY));
    expect(resumed.properties).toMatchObject({ operation: 'ConfigureBackup', status: 'Completed' });
    expect((await api.getItem(VAULT, VM)).properties).toMatchObject({ protectionState: 'Protected', policyName: POLICY, extendedInfo: { recoveryPointCount: 2 } });
  }, 60_000);

  it('wrote no token, secret or key into any log line of the journey', () => {
    const lines = [...host.stdoutLines(), ...host.stderrLines()];
    expect(lines.length).toBeGreaterThan(100);
    expect(leaksIn(lines, knownSecretsOf(host))).toEqual([]);
  });
});
