/** The server role's due runs and their deterministic orchestration instance ids (pure; fake times). */
import { dueGroupRuns, groupRunInstanceId } from '../../lib/backup-server/domain/group-runs';
import type { LocalPoint, ProtectionGroup } from '../../lib/backup-server/domain/protection-group';

const key = (group: ProtectionGroup, source: string) => `${group.name}/${source}`;
const files: ProtectionGroup = {
  name: 'Files',
  sources: [{ name: 'D:\\Data', path: '/srv/data' }, { name: 'E:\\Logs', path: '/srv/logs' }],
  shortTerm: { retentionDays: 5, dailyAt: '22:00' },
  online: { dailyAt: '23:00', retentionDays: 30 },
};
const point = (source: string, time: string): LocalPoint => ({ snapshotId: '0'.repeat(32), source: `Files/${source}`, time });

describe('dueGroupRuns', () => {
  it('one run per due group, named by server, group and due time: the same minute after a restart gives the same id', () => {
    const now = new Date('2026-12-07T22:05:00Z');
    const [run] = dueGroupRuns('mabs01', [files], [point('D:\\Data', '2026-12-06T22:00:30Z')], [], now, key);
    expect(run).toMatchObject({ group: 'Files', dueAt: '2026-12-07T22:00:00.000Z', localDue: ['D:\\Data', 'E:\\Logs'], onlineDue: ['D:\\Data', 'E:\\Logs'] });
    expect(run.instanceId).toMatch(/^kluis-server-files-[0-9a-f]{12}-202612072200$/);
    expect(dueGroupRuns('mabs01', [files], [point('D:\\Data', '2026-12-06T22:00:30Z')], [], new Date('2026-12-07T22:59:00Z'), key)[0].instanceId).toBe(run.instanceId);
  });

  it('nothing is due once every source has its point and copy; the online time starts its own run', () => {
    const local = [point('D:\\Data', '2026-12-07T22:01:00Z'), point('E:\\Logs', '2026-12-07T22:01:00Z')];
    const copied = [point('D:\\Data', '2026-12-07T23:01:00Z'), point('E:\\Logs', '2026-12-07T23:01:00Z')];
    expect(dueGroupRuns('mabs01', [files], local, copied, new Date('2026-12-07T23:30:00Z'), key)).toEqual([]);
    const [online] = dueGroupRuns('mabs01', [files], local, copied.slice(0, 1), new Date('2026-12-07T23:30:00Z'), key);
    expect(online).toMatchObject({ dueAt: '2026-12-07T23:00:00.000Z', localDue: [], onlineDue: ['E:\\Logs'] });
    expect(online.instanceId).toMatch(/-202612072300$/);
  });

  it('ids differ by server and by group, even for names that read alike', () => {
    const at = new Date('2026-12-07T22:00:00Z');
    const ids = new Set([groupRunInstanceId('mabs01', 'a b', at), groupRunInstanceId('mabs01', 'a-b', at), groupRunInstanceId('mabs02', 'a b', at)]);
    expect(ids.size).toBe(3);
    expect(groupRunInstanceId('MABS01', 'A B', at)).toBe(groupRunInstanceId('mabs01', 'a b', at)); // names are case-insensitive
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(64);
  });
});
