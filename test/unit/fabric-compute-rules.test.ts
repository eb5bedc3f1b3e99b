/** The pure rules of the fabric's Compute service: disk states, grant requests, resource ids, keyed locks. */
import { grantRequestOf, MAX_SAS_DURATION_IN_SECONDS } from '../../emulator/fabric/compute/access';
import { KeyedLock } from '../../emulator/fabric/compute/keyed-lock';
import { diskStateOf, earliestExpiry, type Grant } from '../../emulator/fabric/compute/records';
import { diskRestorePointId, parseComputeId, restorePointId } from '../../emulator/fabric/compute/resource-ids';
import { defaultConsistencyOf } from '../../emulator/fabric/compute/vm-identity';

const SUB = '6b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9';
const grant = (access: 'Read' | 'Write', expiresAt = '2026-01-01T00:00:00.000Z'): Grant => ({ id: 'g', access, expiresAt, container: 'md-x' });

describe('diskStateOf', () => {
  it.each([
    ['a free disk', {}, undefined, 'Unattached'],
    ['a disk of a running VM', { managedBy: 'vm' }, 'running', 'Attached'],
    ['a disk of a stopped (allocated) VM', { managedBy: 'vm' }, 'stopped', 'Attached'],
    ['a disk of a deallocated VM', { managedBy: 'vm' }, 'deallocated', 'Reserved'],
    ['a disk with a read SAS', { grant: grant('Read') }, undefined, 'ActiveSAS'],
    ['a reserved disk with a read SAS', { grant: grant('Read'), managedBy: 'vm' }, 'deallocated', 'ActiveSAS'],
    ['an upload disk', { awaitingUpload: true }, undefined, 'ReadyToUpload'],
    ['an upload disk with a write SAS', { awaitingUpload: true, grant: grant('Write') }, undefined, 'ActiveUpload'],
  ] as const)('%s is %s', (_case, disk, power, state) => {
    expect(diskStateOf(disk, power)).toBe(state);
  });

  it('finds the earliest grant expiry of a record', () => {
    expect(earliestExpiry([undefined, grant('Read', '2026-01-02T00:00:00.000Z'), grant('Read', '2026-01-01T12:00:00.000Z')])).toBe('2026-01-01T12:00:00.000Z');
    expect(earliestExpiry([undefined])).toBeUndefined();
  });
});

describe('grantRequestOf', () => {
  it('takes Read and Write where allowed, with a duration of 1 s to 60 days', () => {
    expect(grantRequestOf({ access: 'Read', durationInSeconds: 3600 }, ['Read', 'Write'], 'disk')).toEqual({ access: 'Read', durationInSeconds: 3600 });
    expect(grantRequestOf({ access: 'Write', durationInSeconds: MAX_SAS_DURATION_IN_SECONDS }, ['Read', 'Write'], 'disk').access).toBe('Write');
  });

  it.each([
    [{ access: 'None', durationInSeconds: 60 }, ['Read'], 'access'],
    [{ access: 'Write', durationInSeconds: 60 }, ['Read'], 'access'],
    [{ access: 'Read', durationInSeconds: 0 }, ['Read'], 'durationInSeconds'],
    [{ access: 'Read', durationInSeconds: MAX_SAS_DURATION_IN_SECONDS + 1 }, ['Read'], 'durationInSeconds'],
  ] as const)('refuses %j (allowed %j) naming %s', (body, allowed, target) => {
    expect(() => grantRequestOf(body, allowed, 'snapshot')).toThrow(expect.objectContaining({ status: 400, code: 'InvalidParameter', target }));
  });
});

describe('Compute resource ids', () => {
  it('parses every resource kind, matching segments case-insensitively, and round-trips nested ids', () => {
    const ref = { subscriptionId: SUB, resourceGroup: 'AzureBackupRG_westeurope_1', collection: 'AzureBackup_vm1_123', restorePoint: 'rp1', name: 'vm1-osdisk_guid' };
    expect(parseComputeId(diskRestorePointId(ref))).toEqual({ kind: 'diskRestorePoint', ...ref });
    expect(parseComputeId(restorePointId({ ...ref, name: 'rp1' }))).toEqual({ kind: 'restorePoint', subscriptionId: SUB, resourceGroup: ref.resourceGroup, collection: ref.collection, name: 'rp1' });
    expect(parseComputeId(`/SUBSCRIPTIONS/${SUB}/resourcegroups/rg/providers/microsoft.compute/DISKS/d1/`)).toEqual({ kind: 'disk', subscriptionId: SUB, resourceGroup: 'rg', name: 'd1' });
    expect(parseComputeId(`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/snapshots/s1`)?.kind).toBe('snapshot');
    expect(parseComputeId(`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/d1/restorePoints/x`)).toBeUndefined();
    expect(parseComputeId(`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a`)).toBeUndefined();
  });
});

describe('defaultConsistencyOf', () => {
  it.each([
    ['Windows', 'running', { status: 'Ready' }, 'ApplicationConsistent'],
    ['Windows', 'running', { status: 'Ready', vss: 'WriterInBadState' }, 'FileSystemConsistent'],
    ['Linux', 'running', { status: 'Ready' }, 'FileSystemConsistent'],
    ['Linux', 'running', { status: 'Ready', preScript: '/pre', postScript: '/post' }, 'ApplicationConsistent'],
    ['Linux', 'running', { status: 'NotReady' }, 'CrashConsistent'],
    ['Windows', 'deallocated', { status: 'Ready' }, 'CrashConsistent'],
  ] as const)('%s %s with agent %j: %s', (osType, powerState, agent, mode) => {
    expect(defaultConsistencyOf({ osType, powerState, agent })).toBe(mode);
  });
});

describe('KeyedLock', () => {
  it('runs sections of one key one at a time, in order, and sections of other keys meanwhile', async () => {
    const lock = new KeyedLock();
    const events: string[] = [];
    let releaseFirst!: () => void;
    const first = lock.run('VM-1', async () => {
      events.push('a start');
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      events.push('a end');
    });
    const second = lock.run('vm-1', async () => void events.push('b'));
    const other = lock.run('vm-2', async () => void events.push('other'));
    await other;
    expect(events).toEqual(['a start', 'other']);
    releaseFirst();
    await Promise.all([first, second]);
    expect(events).toEqual(['a start', 'other', 'a end', 'b']);
  });

  it('releases the key when a section throws', async () => {
    const lock = new KeyedLock();
    await expect(lock.run('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lock.run('k', async () => 'next')).resolves.toBe('next');
  });
});
