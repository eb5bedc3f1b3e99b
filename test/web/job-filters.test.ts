import { filterJobs, isCancellable, jobFilterQuery, jobProgress, parseJobFilter } from '../../web/src/logic/job-filters';
import type { Job } from '../../web/src/api/types';

const job = (name: string, properties: Partial<Job['properties']>): Job => ({
  id: name,
  name,
  properties: { entityFriendlyName: 'web01', operation: 'Backup', status: 'Completed', startTime: '2026-11-22T10:00:00Z', ...properties },
});

describe('the jobs list filters', () => {
  const now = new Date('2026-11-22T12:00:00Z');
  const jobs = [
    job('old', { startTime: '2026-11-01T10:00:00Z' }),
    job('failed', { status: 'Failed', startTime: '2026-11-22T11:00:00Z' }),
    job('restore', { operation: 'Restore', entityFriendlyName: 'db01', startTime: '2026-11-21T13:00:00Z' }),
    job('week', { startTime: '2026-11-18T10:00:00Z' }),
  ];

  it('keeps the last 7 days by default, newest first', () => {
    expect(filterJobs(jobs, parseJobFilter(''), now).map((j) => j.name)).toEqual(['failed', 'restore', 'week']);
  });

  it('filters by status, operation, range and item name, from and to the query string', () => {
    const filter = parseJobFilter('?status=Failed&range=24h');
    expect(filter).toEqual({ status: 'Failed', range: '24h' });
    expect(filterJobs(jobs, filter, now).map((j) => j.name)).toEqual(['failed']);
    expect(filterJobs(jobs, parseJobFilter('?operation=Restore&range=all'), now).map((j) => j.name)).toEqual(['restore']);
    expect(filterJobs(jobs, parseJobFilter('?q=DB&range=all'), now).map((j) => j.name)).toEqual(['restore']);
    expect(jobFilterQuery({ range: '24h', status: 'Failed' })).toBe('?status=Failed&range=24h');
    expect(jobFilterQuery({ range: '7d' })).toBe('');
  });

  it('ignores values it does not know', () => {
    expect(parseJobFilter('?status=Exploded&operation=Format&range=1y&type=Sql')).toEqual({ range: '7d' });
  });

  it('filters by backup type (VMs, backup servers, MARS agents) and finds a server’s jobs by its name', () => {
    const mixed = [
      job('vm', { backupManagementType: 'AzureIaasVM' }),
      job('dpm', { jobType: 'DpmJob', backupManagementType: 'AzureBackupServer', dpmServerName: 'mabs01.contoso.local', entityFriendlyName: '/srv/data' }),
      job('mab', { jobType: 'MabJob', backupManagementType: 'MAB', mabServerName: 'pc1', entityFriendlyName: 'C:\\Data' }),
      job('untyped', {}),
    ];
    const filter = parseJobFilter('?type=azurebackupserver');
    expect(filter).toEqual({ range: '7d', type: 'AzureBackupServer' });
    expect(jobFilterQuery(filter)).toBe('?type=AzureBackupServer');
    expect(filterJobs(mixed, filter, now).map((j) => j.name)).toEqual(['dpm']);
    expect(filterJobs(mixed, parseJobFilter('?type=AzureIaasVM'), now).map((j) => j.name).sort()).toEqual(['untyped', 'vm']);
    expect(filterJobs(mixed, parseJobFilter('?type=MAB'), now).map((j) => j.name)).toEqual(['mab']);
    expect(filterJobs(mixed, parseJobFilter('?q=MABS01'), now).map((j) => j.name)).toEqual(['dpm']);
  });

  it('says when a job may be cancelled (Azure lists it in actionsInfo while snapshotting) and how far it is', () => {
    expect(isCancellable(job('a', { status: 'InProgress', actionsInfo: ['Cancellable'] }))).toBe(true);
    expect(isCancellable(job('b', { status: 'InProgress', actionsInfo: [] }))).toBe(false);
    expect(isCancellable(job('c', { status: 'Completed', actionsInfo: ['Cancellable'] }))).toBe(false);
    expect(jobProgress(job('d', { status: 'InProgress', extendedInfo: { progressPercentage: 40 } }))).toBe(40);
    expect(jobProgress(job('e', { status: 'InProgress', extendedInfo: { tasksList: [{ taskId: 'Take Snapshot', status: 'Completed' }, { taskId: 'Transfer data to vault', status: 'InProgress', progressPercentage: 50 }] } }))).toBe(75);
  });
});
