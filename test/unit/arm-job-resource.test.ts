/**
 * Pure pieces of the jobs API: OData `$filter` parsing (Azure's `yyyy-MM-dd hh:mm:ss AM` times and
 * ISO 8601), ISO 8601 durations, when a job is cancellable, and the ARM job shape (durations of
 * running jobs computed at read time, `actionsInfo` only while cancellable).
 */
import { errorNumberOf, isoDuration, jobProgress, jobResource, TaskIds, whyNotCancellable } from '../../lib/domain/arm/job-resource';
import { parseFilterTime, parseODataFilter } from '../../lib/domain/arm/odata-filter';
import type { JobRecord } from '../../lib/domain/catalog';
import { isKluisErrorLike } from '../../lib/domain/errors';
import { parseJobFilter } from '../../lib/services/jobs';

const VAULT_ID = '/subscriptions/6f1c2a3b-4d5e-4f60-9a7b-8c9d0e1f2a3b/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v1';

function thrown(fn: () => unknown): { code: string; target?: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isKluisErrorLike(err)) return { code: err.code, target: err.target, message: err.message };
    throw err;
  }
  throw new Error('expected a KluisError');
}

describe('parseODataFilter', () => {
  it('reads eq clauses joined by and, matching fields case-insensitively', () => {
    expect(parseODataFilter("status eq 'InProgress' and Operation eq 'Backup'", ['status', 'operation'] as const)).toEqual({ status: 'InProgress', operation: 'Backup' });
    expect(parseODataFilter(undefined, ['status'] as const)).toEqual({});
    expect(parseODataFilter('  ', ['status'] as const)).toEqual({});
  });

  it("keeps ' and ' inside quoted values and undoubles quotes", () => {
    expect(parseODataFilter("friendlyName eq 'a and b' and status eq 'it''s'", ['friendlyName', 'status'] as const)).toEqual({ friendlyName: 'a and b', status: "it's" });
  });

  it('refuses unknown fields, other operators, repeats and junk, naming $filter', () => {
    for (const filter of ["color eq 'red'", "status ne 'Failed'", "status eq 'A' and status eq 'B'", 'status', "status eq 'x' or operation eq 'y'"]) {
      expect(thrown(() => parseODataFilter(filter, ['status', 'operation'] as const))).toMatchObject({ code: 'KluisInvalidRequest', target: '$filter' });
    }
  });
});

describe('parseFilterTime', () => {
  it("reads Azure's 12-hour format as UTC, with 00 and 12 AM both the first hour", () => {
    expect(parseFilterTime('2026-11-01 00:00:00 AM', 'startTime').toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseFilterTime('2026-11-01 12:00:00 AM', 'startTime').toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseFilterTime('2026-11-01 12:30:00 PM', 'startTime').toISOString()).toBe('2026-11-01T12:30:00.000Z');
    expect(parseFilterTime('2026-11-01 09:15:07 PM', 'startTime').toISOString()).toBe('2026-11-01T21:15:07.000Z');
  });

  it('reads ISO 8601 with a zone, 24-hour times and plain dates', () => {
    expect(parseFilterTime('2026-11-01T21:30:00+01:00', 'endTime').toISOString()).toBe('2026-11-01T20:30:00.000Z');
    expect(parseFilterTime('2026-11-01 21:30:00', 'endTime').toISOString()).toBe('2026-11-01T21:30:00.000Z');
    expect(parseFilterTime('2026-11-01', 'endTime').toISOString()).toBe('2026-11-01T00:00:00.000Z');
  });

  it('refuses impossible dates and hours', () => {
    for (const value of ['2026-02-30 01:00:00 AM', '2026-11-01 13:00:00 PM', '2026-11-01 24:00:00', 'yesterday', '01-11-2026']) {
      expect(thrown(() => parseFilterTime(value, 'startTime'))).toMatchObject({ code: 'KluisInvalidRequest', target: '$filter' });
    }
  });
});

describe('parseJobFilter', () => {
  it('parses the four fields of az backup job list', () => {
    const filter = parseJobFilter("status eq 'InProgress' and operation eq 'Backup' and startTime eq '2026-11-01 00:00:00 AM' and endTime eq '2026-11-02 11:59:59 PM'");
    expect(filter).toEqual({
      status: 'InProgress',
      operation: 'Backup',
      startTime: new Date('2026-11-01T00:00:00Z'),
      endTime: new Date('2026-11-02T23:59:59Z'),
    });
  });

  it('normalises the casing of enum values and refuses unknown ones', () => {
    expect(parseJobFilter("status eq 'completedwithwarnings'").status).toBe('CompletedWithWarnings');
    expect(thrown(() => parseJobFilter("status eq 'Running'"))).toMatchObject({ target: '$filter', message: expect.stringContaining('InProgress') });
    expect(thrown(() => parseJobFilter("operation eq 'Snapshot'"))).toMatchObject({ target: '$filter' });
  });

  it('refuses a start after the end', () => {
    expect(thrown(() => parseJobFilter("startTime eq '2026-11-02' and endTime eq '2026-11-01'"))).toMatchObject({ target: '$filter' });
  });
});

describe('isoDuration', () => {
  it('prints spans as Azure does', () => {
    expect(isoDuration(9870)).toBe('PT9.87S');
    expect(isoDuration(0)).toBe('PT0S');
    expect(isoDuration(-5)).toBe('PT0S');
    expect(isoDuration(3_723_500)).toBe('PT1H2M3.5S');
    expect(isoDuration(86_400_000 + 7_200_000)).toBe('P1DT2H');
    expect(isoDuration(14 * 86_400_000)).toBe('P14D');
    expect(isoDuration(60_000)).toBe('PT1M');
  });
});

function backupJob(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    vaultId: VAULT_ID,
    jobId: 'job-1',
    operation: 'Backup',
    status: 'InProgress',
    entityFriendlyName: 'vm1',
    startTime: '2026-11-01T10:00:00.000Z',
    isUserTriggered: true,
    tasks: [
      { taskId: TaskIds.TakeSnapshot, status: 'InProgress', startTime: '2026-11-01T10:00:01.000Z', progressPercentage: 0 },
      { taskId: TaskIds.TransferData, status: 'NotStarted', progressPercentage: 0 },
    ],
    propertyBag: {},
    ...overrides,
  };
}

describe('cancellable jobs', () => {
  it('a running Backup job is cancellable until its transfer starts', () => {
    expect(whyNotCancellable(backupJob())).toBeUndefined();
    const transferring = backupJob({
      tasks: [
        { taskId: TaskIds.TakeSnapshot, status: 'Completed', progressPercentage: 100 },
        { taskId: TaskIds.TransferData, status: 'InProgress', progressPercentage: 10 },
      ],
    });
    expect(whyNotCancellable(transferring)).toMatch(/Take Snapshot.*transferred/);
    expect(whyNotCancellable(backupJob({ status: 'Completed' }))).toMatch(/finished \(Completed\)/);
    expect(whyNotCancellable(backupJob({ status: 'Cancelling' }))).toMatch(/already being cancelled/);
    expect(whyNotCancellable(backupJob({ operation: 'ConfigureBackup', tasks: [] }))).toMatch(/only Backup jobs/);
  });
});

describe('jobResource', () => {
  const now = new Date('2026-11-01T10:00:09.870Z');

  it('shows a running job with its duration so far, its tasks and Cancellable', () => {
    const resource = jobResource(VAULT_ID, backupJob(), now);
    expect(resource).toMatchObject({
      id: `${VAULT_ID}/backupJobs/job-1`,
      name: 'job-1',
      type: 'Microsoft.RecoveryServices/vaults/backupJobs',
      properties: {
        jobType: 'AzureIaaSVMJob',
        operation: 'Backup',
        status: 'InProgress',
        duration: 'PT9.87S',
        actionsInfo: ['Cancellable'],
        isUserTriggered: true,
        extendedInfo: {
          progressPercentage: 0,
          tasksList: [
            { taskId: 'Take Snapshot', status: 'InProgress', duration: 'PT8.87S' },
            { taskId: 'Transfer data to vault', status: 'NotStarted' },
          ],
        },
      },
    });
    expect(resource.properties.endTime).toBeUndefined();
    expect(resource.properties.extendedInfo.tasksList[1].duration).toBeUndefined();
  });

  it('shows a failed job with its fixed duration, error details and no actions', () => {
    const failed = backupJob({
      status: 'Failed',
      endTime: '2026-11-01T10:01:00.000Z',
      tasks: [{ taskId: TaskIds.TakeSnapshot, status: 'Failed', startTime: '2026-11-01T10:00:01.000Z', endTime: '2026-11-01T10:01:00.000Z', progressPercentage: 0 }],
      errorDetails: [{ errorCode: 'UserErrorGuestAgentStatusUnavailable', errorString: 'agent down', recommendations: ['restart it'] }],
    });
    const resource = jobResource(VAULT_ID, failed, new Date('2030-01-01T00:00:00Z'));
    expect(resource.properties).toMatchObject({
      duration: 'PT1M',
      endTime: '2026-11-01T10:01:00.000Z',
      actionsInfo: [],
      errorDetails: [{ errorCode: errorNumberOf('UserErrorGuestAgentStatusUnavailable'), errorTitle: 'UserErrorGuestAgentStatusUnavailable', errorString: 'agent down', recommendations: ['restart it'] }],
    });
    expect(resource.properties.extendedInfo.tasksList[0].duration).toBe('PT59S');
  });

  it('progress is the mean of the tasks, 100 once completed', () => {
    const halfway = backupJob({
      tasks: [
        { taskId: TaskIds.TakeSnapshot, status: 'Completed', progressPercentage: 100 },
        { taskId: TaskIds.TransferData, status: 'InProgress', progressPercentage: 50 },
      ],
    });
    expect(jobProgress(halfway)).toBe(75);
    expect(jobProgress(backupJob({ status: 'Completed' }))).toBe(100);
    expect(jobProgress(backupJob({ tasks: [] }))).toBe(0);
  });
});
