import { isLocalPointDue, lastScheduledTime, localRetention, validateProtectionGroup, type ProtectionGroup } from '../../lib/backup-server/domain/protection-group';

const group = (retentionDays: number, dailyAt = '22:00'): ProtectionGroup => ({ name: 'Files', sources: [{ name: 'D:\\Data', path: '/srv/data' }], shortTerm: { retentionDays, dailyAt } });

describe('protection group rules', () => {
  it.each([1, 2, 3, 4, 5])('accepts %i days of local retention', (days) => {
    expect(validateProtectionGroup(group(days))).toEqual(group(days));
  });

  it.each([0, 6, 30, 2.5, -1])('refuses %s days with KluisLocalRetentionOutOfRange (the seed: never more than five days on disk)', (days) => {
    expect(() => validateProtectionGroup(group(days))).toThrow(expect.objectContaining({ code: 'KluisLocalRetentionOutOfRange', status: 400, target: 'shortTerm.retentionDays' }));
  });

  it('refuses a bad time, no sources and duplicate source names', () => {
    expect(() => validateProtectionGroup(group(3, '24:00'))).toThrow(expect.objectContaining({ target: 'shortTerm.dailyAt' }));
    expect(() => validateProtectionGroup({ ...group(3), sources: [] })).toThrow(expect.objectContaining({ target: 'sources' }));
    expect(() => validateProtectionGroup({ ...group(3), sources: [{ name: 'a', path: '/a' }, { name: 'A', path: '/b' }] })).toThrow(expect.objectContaining({ target: 'sources' }));
  });

  it('protects files and folders, and refuses SQL Server and SharePoint sources with KluisServerWorkloadNotSupported', () => {
    const withWorkload = (workloadType: string) => ({ ...group(3), sources: [{ name: 'db', path: '/srv/db', workloadType }] }) as ProtectionGroup;
    expect(validateProtectionGroup(withWorkload('FileFolder')).sources[0].workloadType).toBe('FileFolder');
    expect(() => validateProtectionGroup(withWorkload('SQLDataBase'))).toThrow(
      expect.objectContaining({ code: 'KluisServerWorkloadNotSupported', status: 400, target: 'sources.workloadType', message: expect.stringContaining('SQL Server databases') }),
    );
    expect(() => validateProtectionGroup(withWorkload('SharePoint'))).toThrow(expect.objectContaining({ code: 'KluisServerWorkloadNotSupported', message: expect.stringContaining('SharePoint farms') }));
    expect(() => validateProtectionGroup(withWorkload('toString'))).toThrow(expect.objectContaining({ code: 'KluisInvalidRequest', target: 'sources.workloadType' }));
  });

  it('schedules one point a day at the set UTC time', () => {
    expect(lastScheduledTime(group(3), new Date('2026-12-07T21:59:00Z')).toISOString()).toBe('2026-12-06T22:00:00.000Z');
    expect(lastScheduledTime(group(3), new Date('2026-12-07T22:00:00Z')).toISOString()).toBe('2026-12-07T22:00:00.000Z');
    expect(isLocalPointDue(group(3), undefined, new Date('2026-12-07T10:00:00Z'))).toBe(true);
    expect(isLocalPointDue(group(3), '2026-12-06T22:05:00Z', new Date('2026-12-07T21:00:00Z'))).toBe(false);
    expect(isLocalPointDue(group(3), '2026-12-06T22:05:00Z', new Date('2026-12-07T22:01:00Z'))).toBe(true);
  });

  it('keeps points younger than the retention days and says why each goes', () => {
    const now = new Date('2026-12-07T22:30:00Z');
    const points = [1, 2, 3, 4].map((d) => ({ snapshotId: `s${d}`, source: 'Files/D:\\Data', time: new Date(now.getTime() - d * 86_400_000 + (d === 2 ? 1 : 0)).toISOString() }));
    const decisions = localRetention(group(2), points, now);
    expect(decisions.map((d) => [d.snapshotId, d.keep])).toEqual([['s1', true], ['s2', true], ['s3', false], ['s4', false]]);
    expect(decisions[2].reason).toContain('older than the group\'s 2-day local retention');
  });
});
