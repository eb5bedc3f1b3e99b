import type { GenericRecoveryPoint, Job, ServerContainer, ServerItem } from '../../web/src/api/types';
import {
  itemsOfServer,
  jobsOfServer,
  pointLocationLabel,
  pointRowsOf,
  registrationSteps,
  serverCommands,
  serverRowsOf,
  sourceHealthOf,
  sourceRowsOf,
  subscriptionStateOf,
} from '../../web/src/logic/backup-servers';

const VAULT = '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v1';
const now = new Date('2026-12-07T12:00:00Z');
const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();

const dpmContainer = (name: string, lastCheckIn: string | undefined): ServerContainer => ({
  id: `${VAULT}/backupFabrics/Azure/protectionContainers/${name}`,
  name,
  properties: {
    containerType: 'AzureBackupServerContainer',
    backupManagementType: 'AzureBackupServer',
    friendlyName: name,
    dpmAgentVersion: '1.4.0',
    ...(lastCheckIn === undefined ? {} : { extendedInfo: { lastRefreshedAt: lastCheckIn } }),
  },
});

const mabContainer = (name: string, lastCheckIn: string): ServerContainer => ({
  id: `${VAULT}/backupFabrics/Azure/protectionContainers/${name}`,
  name,
  properties: { containerType: 'Windows', backupManagementType: 'MAB', friendlyName: name, agentVersion: '2.0.1', extendedInfo: { lastRefreshedAt: lastCheckIn } },
});

const dpmItem = (server: string, name: string, extra: Partial<ServerItem['properties']> = {}, info: NonNullable<ServerItem['properties']['extendedInfo']> = {}): ServerItem => ({
  id: `${VAULT}/backupFabrics/Azure/protectionContainers/${server}/protectedItems/filefolder;${name}`,
  name: `filefolder;${name}`,
  properties: {
    protectedItemType: 'DPMProtectedItem',
    backupManagementType: 'AzureBackupServer',
    friendlyName: name,
    containerName: server,
    protectionState: 'Protected',
    ...extra,
    extendedInfo: { protectionGroupName: 'Files', lastBackupStatus: 'Completed', ...info },
  },
});

const point = (name: string, type: string, time: string, info?: string): GenericRecoveryPoint => ({
  id: `x/recoveryPoints/${name}`,
  name,
  properties: { objectType: 'GenericRecoveryPoint', recoveryPointType: type, recoveryPointTime: time, ...(info === undefined ? {} : { recoveryPointAdditionalInfo: info }) },
});

describe('the backup servers view', () => {
  it('maps ARM states to the seed’s subscription states, unknown ones to undefined', () => {
    expect(['Enabled', 'Warned', 'PastDue', 'Disabled', 'Deleted', 'disabled', 'Bogus', undefined].map(subscriptionStateOf))
      .toEqual(['Active', 'Active', 'Active', 'Expired', 'Deprovisioned', 'Expired', undefined, undefined]);
  });

  it('is Connected up to 15 days after the last check-in and Disconnected after, and applies the seed’s table', () => {
    const rows = serverRowsOf(
      [dpmContainer('fresh', daysAgo(1)), dpmContainer('edge', daysAgo(15)), dpmContainer('stale', daysAgo(15.01)), dpmContainer('never', undefined)],
      [],
      'Enabled',
      now,
    );
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(byName.fresh).toMatchObject({ connectivity: 'Connected', subscription: 'Active', allowed: { backupToAzure: 'Allowed', backupToDisk: 'Allowed' }, needsAttention: false });
    expect(byName.edge.connectivity).toBe('Connected');
    expect(byName.stale).toMatchObject({ connectivity: 'Disconnected', allowed: { backupToAzure: 'Stopped', backupToDisk: 'Stopped', restoreFromAzure: 'Allowed', restoreFromDisk: 'Allowed' }, needsAttention: true });
    expect(byName.never.connectivity).toBe('Disconnected');
  });

  it('shows the subscription’s effect: Expired stops backups, Deprovisioned everything, unknown says nothing', () => {
    const [expired] = serverRowsOf([dpmContainer('a', daysAgo(0))], [], 'Disabled', now);
    expect(expired).toMatchObject({ subscription: 'Expired', allowed: { backupToAzure: 'Stopped', restoreFromAzure: 'Allowed' }, needsAttention: true });
    const [gone] = serverRowsOf([dpmContainer('a', daysAgo(0))], [], 'Deleted', now);
    expect(gone.allowed).toMatchObject({ restoreFromDisk: 'Stopped', azureRecoveryPointsDeleted: true });
    const [unknown] = serverRowsOf([dpmContainer('a', daysAgo(0))], [], undefined, now);
    expect(unknown.subscription).toBeUndefined();
    expect(unknown.allowed).toBeUndefined();
    expect(unknown.needsAttention).toBe(false);
  });

  it('lists servers and MARS machines (not VM containers), those needing attention first, then by name', () => {
    const vm: ServerContainer = { id: 'vm', name: 'IaasVMContainer;iaasvmcontainerv2;rg;vm1', properties: { backupManagementType: 'AzureIaasVM' } };
    const items = [dpmItem('beta', 'data', {}, { lastBackupStatus: 'Failed' }), dpmItem('Alpha', 'docs', { lastRecoveryPoint: '2026-12-06T22:00:00Z' }), dpmItem('alpha', 'logs', { lastRecoveryPoint: '2026-12-07T01:00:00Z' })];
    const rows = serverRowsOf([mabContainer('gamma', daysAgo(2)), vm, dpmContainer('delta', daysAgo(1)), dpmContainer('beta', daysAgo(1)), dpmContainer('Alpha', daysAgo(1))], items, 'Enabled', now);
    expect(rows.map((r) => [r.name, r.kindLabel, r.sources, r.failedSources])).toEqual([
      ['beta', 'Backup server', 1, 1],
      ['Alpha', 'Backup server', 2, 0],
      ['delta', 'Backup server', 0, 0],
      ['gamma', 'MARS agent (direct)', 0, 0],
    ]);
    expect(rows[1]).toMatchObject({ lastRecoveryPoint: '2026-12-07T01:00:00Z', agentVersion: '1.4.0' });
    expect(rows[3].agentVersion).toBe('2.0.1');
  });

  it('finds a server’s items and jobs by name, case-insensitively; jobs newest first, limited', () => {
    const items = [dpmItem('srv1', 'a'), dpmItem('SRV2', 'b')];
    expect(itemsOfServer(items, 'srv2').map((i) => i.properties.friendlyName)).toEqual(['b']);
    const job = (name: string, start: string, server: Partial<Job['properties']>): Job => ({ id: name, name, properties: { entityFriendlyName: name, operation: 'Backup', status: 'Completed', startTime: start, ...server } });
    const jobs = [
      job('vm', '2026-12-07T10:00:00Z', {}),
      job('old', '2026-12-01T10:00:00Z', { jobType: 'DpmJob', dpmServerName: 'srv1' }),
      job('new', '2026-12-07T10:00:00Z', { jobType: 'DpmJob', dpmServerName: 'SRV1' }),
      job('mab', '2026-12-07T11:00:00Z', { jobType: 'MabJob', mabServerName: 'srv1' }),
      job('other', '2026-12-07T11:00:00Z', { jobType: 'DpmJob', dpmServerName: 'srv9' }),
    ];
    expect(jobsOfServer(jobs, 'srv1').map((j) => j.name)).toEqual(['mab', 'new', 'old']);
    expect(jobsOfServer(jobs, 'srv1', 2).map((j) => j.name)).toEqual(['mab', 'new']);
  });

  it('gives each source its last local and vault point from its points, and its health', () => {
    const items = [
      dpmItem('srv1', 'zeta', { protectionState: 'ProtectionError' }),
      dpmItem('srv1', 'Alpha', {}, { protectableObjectLoadPath: { path: '/srv/alpha' } }),
      dpmItem('srv1', 'new', { protectionState: 'IRPending' }, { lastBackupStatus: undefined }),
    ];
    const points: Record<string, GenericRecoveryPoint[]> = {
      Alpha: [point('p1', 'Online', '2026-11-30T23:00:00Z'), point('p2', 'DiskAndOnline', '2026-12-05T22:00:00Z'), point('p3', 'Disk', '2026-12-06T22:00:00Z')],
    };
    const rows = sourceRowsOf(items, (item) => points[item.properties.friendlyName] ?? []);
    expect(rows.map((r) => [r.name, r.health, r.lastLocalPoint, r.lastVaultPoint, r.localPoints, r.vaultPoints])).toEqual([
      ['Alpha', 'Healthy', '2026-12-06T22:00:00Z', '2026-12-05T22:00:00Z', 2, 2],
      ['new', 'IRPending', undefined, undefined, 0, 0],
      ['zeta', 'Failed', undefined, undefined, 0, 0],
    ]);
    expect(rows[0]).toMatchObject({ group: 'Files', path: '/srv/alpha', lastBackupStatus: 'Completed' });
    expect(sourceHealthOf(dpmItem('s', 'x', {}, { lastBackupStatus: 'Failed' }))).toBe('Failed');
  });

  it('without points, takes what the item says: a DPM item’s disk counts, a MARS item’s newest point in the vault', () => {
    const dpm = dpmItem('srv1', 'a', { lastRecoveryPoint: '2026-12-06T23:00:00Z' }, { onPremiseLatestRecoveryPoint: '2026-12-06T22:00:00Z', onPremiseRecoveryPointCount: 3, recoveryPointCount: 1 });
    const mab: ServerItem = {
      id: 'm',
      name: 'filefolder;m',
      properties: { protectedItemType: 'MabFileFolderProtectedItem', backupManagementType: 'MAB', friendlyName: 'C:\\Data', containerName: 'pc1', protectionState: 'Protected', lastBackupStatus: 'Failed', lastRecoveryPoint: '2026-12-06T20:00:00Z', extendedInfo: { recoveryPointCount: 4 } },
    };
    const [fromDpm] = sourceRowsOf([dpm]);
    expect(fromDpm).toMatchObject({ lastLocalPoint: '2026-12-06T22:00:00Z', localPoints: 3, vaultPoints: 1 });
    expect(fromDpm.lastVaultPoint).toBeUndefined();
    expect(sourceRowsOf([mab])[0]).toMatchObject({ lastVaultPoint: '2026-12-06T20:00:00Z', vaultPoints: 4, localPoints: 0, health: 'Failed', lastBackupStatus: 'Failed' });
  });

  it('lists a source’s points newest first, with where they are and their size', () => {
    const rows = pointRowsOf([point('a', 'Disk', '2026-12-05T22:00:00Z', 'Location: Disk; size: 2048 bytes'), point('b', 'DiskAndOnline', '2026-12-06T22:00:00Z', 'Location: Disk, Online')]);
    expect(rows.map((r) => [r.name, r.location, r.bytes])).toEqual([
      ['b', 'Disk and online', undefined],
      ['a', 'Disk (on the server)', 2048],
    ]);
    expect(pointLocationLabel('Online')).toBe('Online (in the vault)');
    expect(pointLocationLabel(undefined)).toBe('—');
  });

  it('names the kluis-server commands for each kind, and the registration steps with the vault’s id', () => {
    expect(serverCommands('AzureBackupServer').map((c) => c.command.split(' ')[1])).toEqual(['protect', 'run', 'points', 'restore', 'unregister']);
    expect(serverCommands('MAB')[0].command).not.toContain('--group');
    expect(registrationSteps(VAULT)[0].command).toBe(`kluis-server credentials --vault ${VAULT} --out DIR`);
    expect(registrationSteps(VAULT).map((s) => s.command.split(' ')[1])).toEqual(['credentials', 'register', 'protect', 'run']);
  });
});
