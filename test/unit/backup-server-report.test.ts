/**
 * What a backup server reports and how the vault shows it (issue 16, Deliver 8): the report → ARM resource mapping
 (the e2e checks the same shapes against the official specification), the server's job queue and jobs of a run,
 * and the vault accepting a signed report into in-memory catalogs (a report that is not the signed one changes nothing).
 */
import { createServerIdentity, publicKeyOfIdentity, signServerRequest } from '../../lib/backup-server/registration-client';
import { jobsOfRun, queueJobs, reportedSources, splitSourceKey } from '../../lib/backup-server/server/vault-report';
import { buildDirectReport, DIRECT_GROUP, jobsOfDirectRun } from '../../lib/backup-server/direct/direct-report';
import { vaultId } from '../../lib/domain/arm-names';
import { normalizeServerPublicKey } from '../../lib/domain/backup-server/server-identity';
import {
  REPORT_LIMITS,
  isServerJobExpired,
  serverReportSchema,
  reportDigest,
  serverItemNameOf,
  serverJobResource,
  serverProtectedItemResource,
  serverRecoveryPointResource,
  type ServerItemRecord,
  type ServerJobRecord,
  type ServerPointRecord,
  type ServerReport,
} from '../../lib/domain/backup-server/server-report';
import { acceptServerReport, listServerItems, listServerJobs } from '../../lib/services/backup-server-reports';
import { vaultPartitionOf } from '../../lib/services/backup-server-registration';
import { createOrUpdateVault } from '../../lib/services/vaults';
import { memoryBackupServerCatalog } from '../../lib/stores/backup-server-catalog';
import { memoryVaultCatalog } from '../../lib/stores/vault-catalog';

const vault = { subscriptionId: '4b5c6d7e-8f90-4a1b-8c2d-3e4f5a6b7c8d', resourceGroup: 'rg-onprem', vaultName: 'vault-a' };
const VAULT_ID = vaultId(vault);

const item: ServerItemRecord = {
  serverName: 'mabs01.contoso.local',
  backupManagementType: 'AzureBackupServer',
  itemName: serverItemNameOf({ group: 'Files', name: 'D:\\Data', workloadType: 'FileFolder' }),
  group: 'Files',
  name: 'D:\\Data',
  path: 'D:\\Data',
  workloadType: 'FileFolder',
  online: true,
  reportedAt: '2026-12-03T23:10:00.000Z',
};
const point = (snapshotId: string, time: string, locations: Array<'Disk' | 'Online'>): ServerPointRecord => ({
  snapshotId, group: 'Files', source: 'D:\\Data', time, locations, bytes: 4096, itemName: item.itemName,
});
const job = (over: Partial<ServerJobRecord>): ServerJobRecord => ({
  jobId: '6f0c1c1e-8a51-4f0b-9c59-2d7d1c0f0a01', kind: 'LocalBackup', status: 'Completed', group: 'Files', source: 'D:\\Data',
  startTime: '2026-12-03T22:00:00.000Z', endTime: '2026-12-03T22:00:09.870Z', bytes: 1234,
  serverName: item.serverName, backupManagementType: 'AzureBackupServer', itemName: item.itemName, ...over,
});

describe('backup server report → ARM resources', () => {
  it('item names are stable, path-safe and table-key-safe, and differ per group and source', () => {
    expect(item.itemName).toMatch(/^filefolder;d-data-[0-9a-f]{12}$/);
    expect(serverItemNameOf({ group: 'files', name: 'D:\\Data', workloadType: 'FileFolder' })).toBe(item.itemName);
    expect(serverItemNameOf({ group: 'Other', name: 'D:\\Data', workloadType: 'FileFolder' })).not.toBe(item.itemName);
    expect(serverItemNameOf({ group: 'Files', name: '/', workloadType: 'FileFolder' })).toMatch(/^filefolder;root-[0-9a-f]{12}$/);
  });

  it('a source is a DPMProtectedItem with disk and cloud point counts and times' , () => {
    const points = [point('a'.repeat(32), '2026-12-01T22:00:00.000Z', ['Disk', 'Online']), point('b'.repeat(32), '2026-12-02T22:00:00.000Z', ['Disk']), point('c'.repeat(32), '2026-11-20T22:00:00.000Z', ['Online'])];
    const resource = serverProtectedItemResource(VAULT_ID, item, points, [job({})]);
    expect(resource).toMatchObject({
      id: `${VAULT_ID}/backupFabrics/Azure/protectionContainers/mabs01.contoso.local/protectedItems/${item.itemName}`,
      name: item.itemName,
      properties: {
        protectedItemType: 'DPMProtectedItem', backupManagementType: 'AzureBackupServer', workloadType: 'FileFolder',
        friendlyName: 'D:\\Data', backupEngineName: 'mabs01.contoso.local', protectionState: 'Protected', lastRecoveryPoint: '2026-12-02T22:00:00.000Z',
        extendedInfo: {
          protected: true, isPresentOnCloud: true, lastBackupStatus: 'Completed', recoveryPointCount: 2, oldestRecoveryPoint: '2026-11-20T22:00:00.000Z',
          onPremiseRecoveryPointCount: 2, onPremiseOldestRecoveryPoint: '2026-12-01T22:00:00.000Z', onPremiseLatestRecoveryPoint: '2026-12-02T22:00:00.000Z', protectionGroupName: 'Files',
        },
      },
    });
    // No point yet: IRPending; the last backup failed: ProtectionError.
    expect(serverProtectedItemResource(VAULT_ID, item, [], []).properties.protectionState).toBe('IRPending');
    expect(serverProtectedItemResource(VAULT_ID, item, points, [job({ status: 'Failed' })]).properties.protectionState).toBe('ProtectionError');
    // Direct mode (MAB) uses the same records: MabFileFolderProtectedItem.
    const mab = serverProtectedItemResource(VAULT_ID, { ...item, backupManagementType: 'MAB' }, points, [job({})]);
    expect(mab.properties).toMatchObject({ protectedItemType: 'MabFileFolderProtectedItem', computerName: 'mabs01.contoso.local', lastBackupStatus: 'Completed' });
  });

  it('a point is a GenericRecoveryPoint saying where it is; a job is a DpmJob with Azure’s operation, duration and errors', () => {
    const itemId = `${VAULT_ID}/backupFabrics/Azure/protectionContainers/mabs01.contoso.local/protectedItems/${item.itemName}`;
    const rp = serverRecoveryPointResource(itemId, point('a'.repeat(32), '2026-12-01T22:00:00.000Z', ['Disk', 'Online']));
    expect(rp.properties).toMatchObject({ objectType: 'GenericRecoveryPoint', recoveryPointType: 'DiskAndOnline', recoveryPointTime: '2026-12-01T22:00:00.000Z', friendlyName: 'D:\\Data' });

    const now = new Date('2026-12-04T00:00:00Z');
    const done = serverJobResource(VAULT_ID, job({}), now);
    expect(done.properties).toMatchObject({ jobType: 'DpmJob', dpmServerName: 'mabs01.contoso.local', operation: 'Backup', status: 'Completed', duration: 'PT9.87S', workloadType: 'FileFolder', entityFriendlyName: 'D:\\Data' });
    const failed = serverJobResource(VAULT_ID, job({ kind: 'VaultCopy', status: 'Failed', errorCode: 'KluisVaultUnreachable', errorMessage: 'connect ECONNREFUSED' }), now);
    expect(failed.properties.errorDetails).toEqual([{ errorString: 'KluisVaultUnreachable: connect ECONNREFUSED', recommendations: [] }]);
    const prune = serverJobResource(VAULT_ID, job({ kind: 'Prune', source: undefined, itemName: undefined, endTime: undefined, status: 'InProgress' }), now);
    expect(prune.properties).toMatchObject({ operation: 'DeleteBackupData', entityFriendlyName: 'Files', duration: 'PT2H' });
    const mab = serverJobResource(VAULT_ID, job({ backupManagementType: 'MAB', kind: 'Restore' }), now);
    expect(mab.properties).toMatchObject({ jobType: 'MabJob', mabServerName: 'mabs01.contoso.local', operation: 'Restore' });
    expect(isServerJobExpired(job({}), new Date('2027-03-03T22:00:01Z'))).toBe(true);
    expect(isServerJobExpired(job({}), new Date('2027-03-03T21:59:59Z'))).toBe(false);
  });
});

describe('the server side of reports', () => {
  it('makes a job of each point taken and copied, a failed copy and a prune; the queue keeps the newest, replaced by id', () => {
    let n = 0;
    const id = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    const jobs = jobsOfRun(
      {
        backups: [{ group: 'Files', source: '/srv', newChunkBytes: 10, startTime: '2026-12-01T22:00:00.000Z', endTime: '2026-12-01T22:00:01.000Z' }],
        retention: [{ group: 'Files', keep: false }],
        chunksDeleted: 3,
        vaultCopies: [{ group: 'Files', source: '/srv', chunksCopied: 1, bytesCopied: 99 }],
        vaultRetention: [],
        vaultCopyError: 'connect ECONNREFUSED 127.0.0.1:7071',
      },
      { startTime: '2026-12-01T22:00:00.000Z', endTime: '2026-12-01T22:00:05.000Z' },
      id,
    );
    expect(jobs.map((j) => [j.kind, j.status, j.bytes, j.errorCode])).toEqual([
      ['LocalBackup', 'Completed', 10, undefined],
      ['VaultCopy', 'Completed', 99, undefined],
      ['VaultCopy', 'Failed', undefined, 'KluisVaultUnreachable'],
      ['Prune', 'Completed', undefined, undefined],
    ]);
    const many = Array.from({ length: REPORT_LIMITS.jobs + 5 }, (_, i) => ({ ...jobs[0], jobId: id(), startTime: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString() }));
    const queued = queueJobs([], many);
    expect(queued).toHaveLength(REPORT_LIMITS.jobs);
    expect(queued[0].jobId).toBe(many[5].jobId);
    expect(queueJobs(queued, [{ ...queued[0], status: 'Failed' }]).filter((j) => j.jobId === queued[0].jobId).map((j) => j.status)).toEqual(['Failed']);
    expect(splitSourceKey('Files//srv/data')).toEqual({ group: 'Files', source: '/srv/data' });
    expect(reportedSources([{ name: 'G', sources: [{ name: 'D:\\X', path: 'D:\\X' }], shortTerm: { retentionDays: 2, dailyAt: '22:00' } }]))
      .toEqual([{ group: 'G', name: 'D:\\X', path: 'D:\\X', workloadType: 'FileFolder', online: false }]);
  });
});

describe('direct mode reports (MAB)', () => {
  it('reports the machine’s folders in one group, every point Online, a backup job per folder and a prune; MabJob without protection group', () => {
    const now = new Date('2026-12-02T09:00:05Z');
    const report = buildDirectReport({
      machineName: 'ws01.contoso.local',
      items: [{ name: 'D:\\Data', path: '/mnt/d/Data' }],
      points: [{ snapshotId: 'a'.repeat(32), source: 'D:\\Data', time: '2026-12-01T09:00:00.000Z', bytes: 4096 }, { snapshotId: 'b'.repeat(32), source: 'D:\\Data', time: '2026-12-02T09:00:00.000Z' }],
      jobs: [],
      now,
    });
    expect(serverReportSchema.parse(report)).toEqual(report);
    expect(report).toMatchObject({
      backupManagementType: 'MAB', serverName: 'ws01.contoso.local', reportedAt: now.toISOString(),
      sources: [{ group: DIRECT_GROUP, name: 'D:\\Data', path: '/mnt/d/Data', workloadType: 'FileFolder', online: true }],
      points: [{ group: DIRECT_GROUP, locations: ['Online'], bytes: 4096 }, { group: DIRECT_GROUP, locations: ['Online'] }],
    });
    expect(report.points![1]).not.toHaveProperty('bytes');

    let n = 0;
    const id = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    const run = { backups: [{ source: 'D:\\Data', newChunkBytes: 77, startTime: '2026-12-02T09:00:00.000Z', endTime: '2026-12-02T09:00:04.000Z' }], retention: [{}] };
    const span = { startTime: '2026-12-02T09:00:00.000Z', endTime: '2026-12-02T09:00:05.000Z' };
    const jobs = jobsOfDirectRun({ ...run, pruned: true }, span, id);
    expect(jobs.map((j) => [j.kind, j.status, j.group, j.source, j.bytes])).toEqual([
      ['DirectBackup', 'Completed', DIRECT_GROUP, 'D:\\Data', 77],
      ['Prune', 'Completed', undefined, undefined, undefined],
    ]);
    expect(jobsOfDirectRun({ ...run, pruned: false }, span, id).map((j) => j.kind)).toEqual(['DirectBackup']);
    const mab = serverJobResource(VAULT_ID, { ...jobs[0], serverName: 'ws01.contoso.local', backupManagementType: 'MAB' }, now);
    expect(mab.properties).toMatchObject({ jobType: 'MabJob', operation: 'Backup', mabServerName: 'ws01.contoso.local', mabServerType: 'Windows', entityFriendlyName: 'D:\\Data' });
    expect(mab.properties.extendedInfo.tasksList[0].taskId).toBe('Backup to Azure');
    expect(mab.properties.extendedInfo.propertyBag).toEqual({ Kind: 'DirectBackup', 'Bytes transferred': '77' });
  });
});

describe('the vault accepting a report', () => {
  it('stores a signed report (sources, jobs, points replaced), refuses one that is not the signed one, and lists them', async () => {
    let now = new Date('2026-12-03T23:00:00Z');
    const deps = { catalog: memoryVaultCatalog(), backupServers: memoryBackupServerCatalog(), clock: () => now };
    await createOrUpdateVault(deps, vault, { location: 'westeurope' });
    const identity = createServerIdentity();
    await deps.backupServers.servers.insert(vaultPartitionOf(vault), 'mabs01', {
      vaultId: VAULT_ID, serverName: 'mabs01', backupEngineId: 'e', registeredAt: now.toISOString(), thumbprint: 'T', agentVersion: '1',
      serverPublicKey: normalizeServerPublicKey(publicKeyOfIdentity(identity.privateKeyPem)), lastCheckInAt: now.toISOString(),
    });
    const report: ServerReport = {
      backupManagementType: 'AzureBackupServer', serverName: 'mabs01', reportedAt: now.toISOString(),
      sources: [{ group: 'Files', name: '/srv/a', path: '/srv/a', workloadType: 'FileFolder', online: true }, { group: 'Files', name: '/srv/b', path: '/srv/b', workloadType: 'FileFolder', online: true }],
      jobs: [{ jobId: '6f0c1c1e-8a51-4f0b-9c59-2d7d1c0f0a01', kind: 'LocalBackup', status: 'Completed', group: 'Files', source: '/srv/a', startTime: '2026-12-03T22:00:00.000Z', endTime: '2026-12-03T22:00:01.000Z', bytes: 5 }],
      points: [{ snapshotId: 'a'.repeat(32), group: 'Files', source: '/srv/a', time: '2026-12-03T22:00:00.000Z', locations: ['Disk'], bytes: 5 }],
    };
    const send = (body: ServerReport, signedBody = body) => {
      const json = JSON.stringify(body);
      const signed = signServerRequest({ privateKeyPem: identity.privateKeyPem, vaultId: VAULT_ID, serverName: 'mabs01' }, 'report', now, { reportSha256: reportDigest(JSON.stringify(signedBody)) });
      return acceptServerReport(deps, vault, signed, json);
    };
    await expect(send({ ...report, sources: [] }, report)).rejects.toMatchObject({ code: 'KluisBackupServerSignatureInvalid' });
    expect(await listServerItems(deps, vault)).toEqual([]);
    await expect(send({ ...report, serverName: 'other' })).rejects.toMatchObject({ code: 'KluisInvalidRequest' });

    expect(await send(report)).toEqual({ serverName: 'mabs01', items: 2, jobs: 1, points: 1 });
    const views = await listServerItems(deps, vault);
    expect(views.map((v) => [v.item.name, v.points.length, v.jobs.length])).toEqual([['/srv/a', 1, 1], ['/srv/b', 0, 0]]);

    // The next report: /srv/b is gone, the point is also in the vault now; the job is kept (it was not resent).
    now = new Date('2026-12-04T23:00:00Z');
    await send({ ...report, reportedAt: now.toISOString(), sources: [report.sources[0]], jobs: [], points: [{ ...report.points![0], locations: ['Disk', 'Online'] }] });
    const after = await listServerItems(deps, vault);
    expect(after.map((v) => [v.item.name, v.points.map((p) => p.locations.join('+')), v.jobs.length])).toEqual([['/srv/a', ['Disk+Online'], 1]]);
    // A report without points (a locked server) keeps the points; 90 days on, the job is forgotten.
    now = new Date('2027-03-05T00:00:00Z');
    await send({ ...report, reportedAt: now.toISOString(), jobs: [], points: undefined });
    expect((await listServerItems(deps, vault))[0].points).toHaveLength(1);
    expect(await listServerJobs(deps, vault)).toEqual([]);
  });
});
