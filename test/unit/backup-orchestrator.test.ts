/**
 * The engine's orchestrators, backupDisks, backupDisk and restore, replayed by durable-functions' own engine
 * (through test/support/orchestration-driver): what they schedule, in which order, and how failures end.
 * Activity names are written out: they are what in-flight orchestrations in a task hub replay by.
 */
import type { DiscoveredVmDisk, PageBlobDiskRequest } from '../../lib/engine/domain/backup-job';
import type { DiskView } from '../../lib/engine/domain/disk-view';
import type { BackupDiskInput } from '../../orchestrations/backup-disk';
import { backupDiskOrchestrator } from '../../orchestrations/backup-disk';
import { backupDisksOrchestrator, type BackupDisksInput } from '../../orchestrations/backup-disks';
import { restoreOrchestrator } from '../../orchestrations/restore';
import { drive, type Outcome, type Script } from '../support/orchestration-driver';
import { describeFailure } from '../../lib/domain/errors';

const START = new Date('2026-03-01T02:00:00Z');
const disks: PageBlobDiskRequest[] = [
  { lun: 0, container: 'vhds', blob: 'os.vhd', storageType: 'Standard' },
  { lun: 1, container: 'premium', blob: 'data.vhd', storageType: 'Premium' },
];
const input: BackupDisksInput = { itemId: 'vm1', disks, instantRestoreDays: 2 };
const discovered: DiscoveredVmDisk[] = disks.map((d) => ({ ...d, kind: 'pageBlob', name: d.blob, sizeBytes: 1024, dataSize: 512, vhdUniqueId: 'u' }));

const viewOf = (lun: number): DiskView => ({
  kind: 'pageBlob',
  lun,
  handle: { blobUrl: `http://127.0.0.1:10000/devstoreaccount1/c/disk${lun}.vhd`, snapshot: `snap-${lun}` },
  sizeBytes: 1024,
  diskId: `http://127.0.0.1:10000/devstoreaccount1/c/disk${lun}.vhd`,
  createdAt: START.toISOString(),
});
const diskResult = (lun: number) => ({ lun, changeDetection: 'full', reason: 'first backup', segmentCount: 2, bytesRead: 10, bytesWritten: 7, bytesCleared: 0, blocksChanged: 1 });

function backupScript(overrides: Partial<Record<string, (parsed: unknown) => Outcome>> = {}): Script {
  return (work) => {
    const name = work.name;
    const override = overrides[name];
    if (override) return override(work.parsedInput);
    switch (name) {
      case 'discoverDisks':
        return { result: discovered };
      case 'probeStorage':
        return { result: { trueDiff: true, serverSideCopySafe: false } };
      case 'snapshotDisks':
        return { result: disks.map((d) => viewOf(d.lun)) };
      case 'backupDisk':
        return { result: diskResult((work.parsedInput as BackupDiskInput).disk.lun) };
      case 'commitRecoveryPoint':
        return { result: { recoveryPointId: (work.parsedInput as { recoveryPointId: string }).recoveryPointId, manifestBlobName: 'items/vm1/manifest.json', alreadyCommitted: false } };
      default:
        return { result: { ok: true } };
    }
  };
}

describe('backupDisks orchestrator (the engine)', () => {
  it('discovers, probes, opens all views, backs each disk up in a sub-orchestration, releases the views, commits, then expires old views', async () => {
    const run = await drive(backupDisksOrchestrator, input, backupScript(), { instanceId: 'job-1', start: START });
    expect(run.state.status).toBe('Completed');
    expect(run.started.map((w) => w.name)).toEqual([
      'discoverDisks',
      'probeStorage',
      'snapshotDisks',
      'backupDisk',
      'backupDisk',
      'releaseSourceViews',
      'commitRecoveryPoint',
      'expireSnapshotTier',
    ]);
    // Discovery is not retried (what it finds wrong does not heal); the probe names the disks' kind.
    expect(run.started[1].parsedInput).toEqual({ kind: 'pageBlob' });
    const children = run.started.filter((w) => w.kind === 'subOrchestration');
    expect(children.map((w) => (w.kind === 'subOrchestration' ? w.instanceId : ''))).toEqual(['job-1:lun0', 'job-1:lun1']);
    expect(children.map((w) => (w.parsedInput as BackupDiskInput).view)).toEqual([viewOf(0), viewOf(1)]);
    // Both disks start in the same episode: they run in parallel.
    expect(run.startedPerEpisode).toContain(2);
    const open = run.started.find((w) => w.name === 'snapshotDisks')!.parsedInput as { recoveryPointId: string; disks: unknown[] };
    expect(open.disks).toEqual(discovered);
    expect(run.started.find((w) => w.name === 'releaseSourceViews')!.parsedInput).toEqual({ views: [viewOf(0), viewOf(1)] });
    const commit = run.started.find((w) => w.name === 'commitRecoveryPoint')!.parsedInput as {
      recoveryPointId: string;
      disks: Array<{ lun: number; segmentCount: number; source: DiskView }>;
    };
    expect(commit.recoveryPointId).toBe(String(START.getTime() + 1000));
    expect(open.recoveryPointId).toBe(commit.recoveryPointId);
    expect(commit.disks.map((d) => [d.lun, d.segmentCount])).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect(commit.disks.map((d) => d.source)).toEqual([viewOf(0), viewOf(1)]);
    const expire = run.started.find((w) => w.name === 'expireSnapshotTier')!.parsedInput as { olderThan: string };
    expect(Date.parse(expire.olderThan)).toBe(START.getTime() + 1000 - 2 * 24 * 3600 * 1000);
    expect(run.output).toMatchObject({ status: 'Completed', recoveryPointId: commit.recoveryPointId, bytesWritten: 14, bytesTransferred: 14 });
  });

  it('releases, then deletes the job’s views and fails with the code when a disk backup fails', async () => {
    const run = await drive(
      backupDisksOrchestrator,
      input,
      backupScript({ backupDisk: () => ({ error: 'KluisError [KluisStagingCopyFailed]: Copying the snapshot to the staging blob failed: boom.' }) }),
    );
    expect(run.state.status).toBe('Failed');
    const names = run.started.map((w) => w.name);
    expect(names).not.toContain('commitRecoveryPoint');
    expect(names.slice(-2)).toEqual(['releaseSourceViews', 'deleteInstantSnapshots']);
    expect(names.filter((n) => n === 'releaseSourceViews')).toHaveLength(1);
    expect(run.started.at(-1)!.parsedInput).toMatchObject({ itemId: 'vm1', recoveryPointId: String(START.getTime() + 1000), disks: discovered });
    expect(run.customStatuses.at(-1)).toMatchObject({ stage: 'failed', failedStage: 'transfer', errorCode: 'KluisStagingCopyFailed' });
  });

  it('still releases and deletes the views when the commit fails', async () => {
    const run = await drive(backupDisksOrchestrator, input, backupScript({ commitRecoveryPoint: () => ({ error: 'KluisError [KluisInvalidBlockSums]: parts missing' }) }));
    expect(run.state.status).toBe('Failed');
    const names = run.started.map((w) => w.name);
    expect(names.filter((n) => n === 'commitRecoveryPoint')).toHaveLength(3);
    expect(names.slice(-2)).toEqual(['commitRecoveryPoint', 'deleteInstantSnapshots']);
    expect(names.filter((n) => n === 'releaseSourceViews')).toHaveLength(1);
    expect(run.customStatuses.at(-1)).toMatchObject({ failedStage: 'commit', errorCode: 'KluisInvalidBlockSums' });
  });

  it('fails at discovery without opening views', async () => {
    const run = await drive(
      backupDisksOrchestrator,
      input,
      backupScript({ discoverDisks: () => ({ error: "KluisError [KluisSourceDiskNotFound]: The source disk 'vhds/os.vhd' does not exist." }) }),
    );
    expect(run.state.status).toBe('Failed');
    expect(run.started.map((w) => w.name)).toEqual(['discoverDisks']);
    expect(run.customStatuses.at(-1)).toMatchObject({ failedStage: 'discover', errorCode: 'KluisSourceDiskNotFound' });
  });

  it('deletes whatever an attempt opened when opening the views keeps failing', async () => {
    const run = await drive(backupDisksOrchestrator, input, backupScript({ snapshotDisks: () => ({ error: 'KluisError [KluisBlobNotFound]: gone' }) }));
    expect(run.state.status).toBe('Failed');
    const names = run.started.map((w) => w.name);
    expect(names.filter((n) => n === 'snapshotDisks')).toHaveLength(3);
    expect(names.at(-1)).toBe('deleteInstantSnapshots');
    expect(names).not.toContain('backupDisk');
    expect(run.customStatuses.at(-1)).toMatchObject({ failedStage: 'snapshot', errorCode: 'KluisBlobNotFound' });
  });

  it('completes with a warning when expiring old views fails after the point is committed', async () => {
    const run = await drive(backupDisksOrchestrator, input, backupScript({ expireSnapshotTier: () => ({ error: 'KluisError [BackUpOperationFailed]: later' }) }));
    expect(run.state.status).toBe('Completed');
    expect(run.output).toMatchObject({ status: 'CompletedWithWarnings', warnings: [{ code: 'BackUpOperationFailed' }] });
  });

  it('takes views a caller opened: no discovery, probe or opening; the caller’s job, point, retention, key and secret, and a progress hook per disk', async () => {
    const opened = { recoveryPointId: '1772330400000', createdAt: START.toISOString(), disks: discovered, views: [viewOf(0), viewOf(1)], capabilities: { trueDiff: false, serverSideCopySafe: false } };
    const keyAndSecret = { encryptionMechanism: 'SinglePass', bek: { secretUrl: 'https://kv.vault.azure.net/secrets/bek/1', secretVaultId: 'kv' } };
    const handedOver: BackupDisksInput = {
      itemId: 'vm1',
      disks: [],
      opened,
      jobId: 'job-7',
      consistency: 'FileSystemConsistent',
      vmConfig: { name: 'web01' },
      keyAndSecret,
      retention: { isOnDemand: true, retainUntil: '2026-04-01T00:00:00.000Z' },
      instantRestoreDays: 2,
      maxInstantPoints: 18,
      progress: { activity: 'recordTransferProgress', input: { jobId: 'job-7', itemName: 'VM;x' } },
    };
    const run = await drive(backupDisksOrchestrator, handedOver, backupScript(), { instanceId: 'job-7:disks', start: START });
    expect(run.state.status).toBe('Completed');
    const names = run.started.map((w) => w.name);
    expect(names).not.toContain('discoverDisks');
    expect(names).not.toContain('probeStorage');
    expect(names).not.toContain('snapshotDisks');
    const children = run.started.filter((w) => w.kind === 'subOrchestration');
    expect(children.map((w) => (w.kind === 'subOrchestration' ? w.instanceId : ''))).toEqual(['job-7:lun0', 'job-7:lun1']);
    expect(children.map((w) => w.parsedInput)).toEqual([
      expect.objectContaining({ jobId: 'job-7', view: viewOf(0), capabilities: opened.capabilities }),
      expect.objectContaining({ jobId: 'job-7', view: viewOf(1), capabilities: opened.capabilities }),
    ]);
    const progress = run.started.filter((w) => w.name === 'recordTransferProgress').map((w) => w.parsedInput as { jobId: string; disksDone: number; disksTotal: number });
    expect(progress.map((p) => `${p.jobId} ${p.disksDone}/${p.disksTotal}`)).toEqual(['job-7 1/2', 'job-7 2/2']);
    expect(names.indexOf('releaseSourceViews')).toBeGreaterThan(names.lastIndexOf('recordTransferProgress'));
    const commit = run.started.find((w) => w.name === 'commitRecoveryPoint')!.parsedInput;
    expect(commit).toMatchObject({
      jobId: 'job-7',
      recoveryPointId: opened.recoveryPointId,
      createdAt: opened.createdAt,
      consistency: 'FileSystemConsistent',
      vmConfig: { name: 'web01' },
      keyAndSecret,
      retention: { isOnDemand: true, retainUntil: '2026-04-01T00:00:00.000Z' },
    });
    expect(run.started.find((w) => w.name === 'expireSnapshotTier')!.parsedInput).toMatchObject({ keepNewest: 18 });
    expect(run.output).toMatchObject({ jobId: 'job-7', recoveryPointId: opened.recoveryPointId });
  });
});

describe('backupDisk orchestrator', () => {
  const segments = Array.from({ length: 10 }, (_, index) => ({ index, start: index * 100, end: (index + 1) * 100 }));
  const diskInput = (storageType: 'Standard' | 'Premium'): BackupDiskInput => ({
    itemId: 'vm1',
    jobId: 'job-1',
    disk: { lun: 3, container: 'c', blob: 'b', storageType, kind: 'pageBlob', name: 'b', sizeBytes: 1024, dataSize: 512, vhdUniqueId: 'u' },
    view: viewOf(3),
    capabilities: { trueDiff: false, serverSideCopySafe: false },
    segmentParallelism: 3,
  });
  const stagedView: DiskView = { ...viewOf(3), handle: { blobUrl: 'http://127.0.0.1:10000/devstoreaccount1/c/AzureBackup-x' } };
  const checksumPlan = { lun: 3, sizeBytes: 1024, blockSize: 65536, changeDetection: 'checksum', detection: { kind: 'checksum', previousRecoveryPointId: '1' }, reason: 'r', segments, replicaBlobName: 'r', stage: false };
  const seededPlan = {
    lun: 3,
    sizeBytes: 1024,
    blockSize: 65536,
    changeDetection: 'full',
    detection: { kind: 'full', replicaIsNew: true, seed: 'serverSideCopy' },
    seed: 'serverSideCopy',
    reason: 'first backup of this disk; the replica is seeded by a server-side copy',
    segments,
    replicaBlobName: 'r',
    stage: false,
  };
  const staging = (plan: object) => ({ ...plan, stage: true });
  const diskScript =
    (failSegment?: number, options: { plan?: object; seed?: () => Outcome } = {}): Script =>
    (work) => {
      if (work.name === 'planDiskBackup') return { result: options.plan ?? checksumPlan };
      if (work.name === 'stageDisk') return { result: { view: stagedView, method: 'streamed', bytesCopied: 5 } };
      if (work.name === 'seedReplica') {
        return options.seed?.() ?? { result: { seed: 'serverSideCopy', replica: { container: 'vault', blob: 'r' }, copiedFrom: { container: 'c', blob: 'b' } } };
      }
      if (work.name === 'transferSegment') {
        const index = (work.parsedInput as { segment: { index: number } }).segment.index;
        if (index === failSegment) return { error: 'KluisError [BackUpOperationFailed]: segment failed' };
        return { result: { segmentIndex: index, checksumPartBlobName: 'p', bytesRead: 4, bytesWritten: 2, bytesCleared: 1, blocksChanged: 1, uploadCalls: 1, clearCalls: 1 } };
      }
      return { result: {} };
    };

  it('plans with the disk’s view and storage type, transfers every segment with at most `segmentParallelism` in flight and totals the statistics', async () => {
    const run = await drive(backupDiskOrchestrator, diskInput('Standard'), diskScript());
    expect(run.state.status).toBe('Completed');
    expect(run.started[0]).toMatchObject({ name: 'planDiskBackup', parsedInput: { itemId: 'vm1', jobId: 'job-1', lun: 3, source: viewOf(3), storageType: 'Standard', capabilities: { trueDiff: false } } });
    const transfers = run.started.filter((w) => w.name === 'transferSegment');
    expect(transfers.map((w) => (w.parsedInput as { segment: { index: number } }).segment.index).sort((a, b) => a - b)).toEqual(segments.map((s) => s.index));
    expect(transfers[0].parsedInput).toMatchObject({ source: viewOf(3), diskSize: 1024, changeDetection: checksumPlan.detection });
    expect(transfers[0].parsedInput).not.toHaveProperty('readFrom');
    expect(Math.max(...run.startedPerEpisode)).toBeLessThanOrEqual(3);
    expect(run.output).toMatchObject({ lun: 3, segmentCount: 10, bytesRead: 40, bytesWritten: 20, bytesCleared: 10, blocksChanged: 10, changeDetection: 'checksum' });
    expect(run.output).not.toHaveProperty('seed');
    expect(run.started.map((w) => w.name)).not.toContain('stageDisk');
    expect(run.started.map((w) => w.name)).not.toContain('seedReplica');
    expect(run.started.map((w) => w.name)).not.toContain('deleteStagingBlob');
  });

  it('releases the previous point’s view a diff read, after the segments and also when one fails', async () => {
    const previous = { ...viewOf(3), handle: { ...viewOf(3).handle, snapshot: 'snap-earlier' } };
    const diffPlan = { ...checksumPlan, changeDetection: 'diff', detection: { kind: 'diff', previous, previousRecoveryPointId: '1' } };
    const ok = await drive(backupDiskOrchestrator, diskInput('Standard'), diskScript(undefined, { plan: diffPlan }));
    expect(ok.state.status).toBe('Completed');
    expect(ok.started.at(-1)).toMatchObject({ name: 'releaseSourceViews', parsedInput: { views: [previous] } });
    expect(ok.started.filter((w) => w.name === 'transferSegment')[0].parsedInput).toMatchObject({ changeDetection: { kind: 'diff', previous } });

    const failed = await drive(backupDiskOrchestrator, diskInput('Standard'), diskScript(2, { plan: diffPlan }));
    expect(failed.state.status).toBe('Failed');
    expect(failed.started.at(-1)).toMatchObject({ name: 'releaseSourceViews', parsedInput: { views: [previous] } });
    // Plans without a diff read no earlier view.
    const full = await drive(backupDiskOrchestrator, diskInput('Standard'), diskScript());
    expect(full.started.map((w) => w.name)).not.toContain('releaseSourceViews');
  });

  it('fails with the code of what failed where its parent reads it, also when the code was only in the activity’s stack', async () => {
    const unavailable: Script = (work) =>
      work.name === 'transferSegment'
        ? { error: 'The storage service is unavailable: it answered HTTP 503, also after retries.', stackTrace: 'KluisError [KluisStorageUnavailable]: The storage service is unavailable: it answered HTTP 503, also after retries.\n    at activity.js:1:1' }
        : diskScript()(work);
    const failed = await drive(backupDiskOrchestrator, diskInput('Standard'), unavailable);
    expect(failed.state.status).toBe('Failed');
    // A sub-orchestration's failure reaches its parent as this message only.
    expect(describeFailure(failed.state.failureDetails?.ErrorMessage).code).toBe('KluisStorageUnavailable');
  });

  it('does not stage a Premium disk when the plan says its backend does not stage', async () => {
    const run = await drive(backupDiskOrchestrator, diskInput('Premium'), diskScript());
    expect(run.state.status).toBe('Completed');
    expect(run.started[0].parsedInput).toMatchObject({ storageType: 'Premium' });
    expect(run.started.map((w) => w.name)).not.toContain('stageDisk');
    expect(run.started.map((w) => w.name)).not.toContain('deleteStagingBlob');
  });

  it('seeds the replica by a server-side copy before any segment when the plan says so, and reports the seed', async () => {
    const run = await drive(backupDiskOrchestrator, diskInput('Standard'), diskScript(undefined, { plan: seededPlan }));
    expect(run.state.status).toBe('Completed');
    const names = run.started.map((w) => w.name);
    expect(names.slice(0, 2)).toEqual(['planDiskBackup', 'seedReplica']);
    expect(names.filter((n) => n === 'seedReplica')).toHaveLength(1);
    // The seed runs alone: no segment starts before it completed.
    expect(run.startedPerEpisode.slice(0, 2)).toEqual([1, 1]);
    expect(run.started[1].parsedInput).toEqual({ itemId: 'vm1', jobId: 'job-1', lun: 3, source: viewOf(3) });
    const transfers = run.started.filter((w) => w.name === 'transferSegment');
    expect(transfers).toHaveLength(segments.length);
    for (const t of transfers) expect(t.parsedInput).toMatchObject({ changeDetection: { kind: 'full', seed: 'serverSideCopy' } });
    expect(run.output).toMatchObject({ changeDetection: 'full', seed: 'serverSideCopy', segmentCount: 10 });
  });

  it('seeds a staged Premium disk from its staging copy, after staging, and still deletes the staging copy', async () => {
    const run = await drive(backupDiskOrchestrator, diskInput('Premium'), diskScript(undefined, { plan: staging(seededPlan) }));
    expect(run.state.status).toBe('Completed');
    const names = run.started.map((w) => w.name);
    expect(names.slice(0, 3)).toEqual(['planDiskBackup', 'stageDisk', 'seedReplica']);
    expect(run.started[1].parsedInput).toEqual({ itemId: 'vm1', jobId: 'job-1', lun: 3, view: viewOf(3), capabilities: { trueDiff: false, serverSideCopySafe: false } });
    expect(run.started[2].parsedInput).toMatchObject({ source: viewOf(3), readFrom: stagedView });
    expect(names.indexOf('transferSegment')).toBeGreaterThan(2);
    expect(names.at(-1)).toBe('deleteStagingBlob');
    expect(run.started.at(-1)!.parsedInput).toEqual({ itemId: 'vm1', jobId: 'job-1', lun: 3, view: viewOf(3) });
    expect(run.output).toMatchObject({ staging: 'streamed', seed: 'serverSideCopy' });
  });

  it('fails without transferring any segment when the seed keeps failing (retried), deleting the staging copy', async () => {
    const run = await drive(
      backupDiskOrchestrator,
      diskInput('Premium'),
      diskScript(undefined, { plan: staging(seededPlan), seed: () => ({ error: 'KluisError [KluisReplicaSeedFailed]: Seeding the vault replica by a server-side copy failed: boom.' }) }),
    );
    expect(run.state.status).toBe('Failed');
    const names = run.started.map((w) => w.name);
    expect(names.filter((n) => n === 'seedReplica')).toHaveLength(3);
    expect(names).not.toContain('transferSegment');
    expect(names.at(-1)).toBe('deleteStagingBlob');
  });

  it('stages where the plan says, reads segments from the staging copy, and always deletes the staging copy', async () => {
    const ok = await drive(backupDiskOrchestrator, diskInput('Premium'), diskScript(undefined, { plan: staging(checksumPlan) }));
    expect(ok.started[1].name).toBe('stageDisk');
    expect((ok.started.find((w) => w.name === 'transferSegment')!.parsedInput as { readFrom: DiskView }).readFrom).toEqual(stagedView);
    expect(ok.started.at(-1)?.name).toBe('deleteStagingBlob');
    expect(ok.output).toMatchObject({ staging: 'streamed' });

    const failed = await drive(backupDiskOrchestrator, diskInput('Premium'), diskScript(4, { plan: staging(checksumPlan) }));
    expect(failed.state.status).toBe('Failed');
    expect(failed.started.at(-1)?.name).toBe('deleteStagingBlob');
  });
});

describe('restore orchestrator', () => {
  const restoreInput = { itemId: 'vm1', recoveryPointId: '123', targetContainer: 'restored' };

  it('restores the disks in one activity that carries the job id', async () => {
    const run = await drive(restoreOrchestrator, restoreInput, () => ({ result: { disks: [] } }), { instanceId: 'restore-9' });
    expect(run.state.status).toBe('Completed');
    expect(run.started).toHaveLength(1);
    expect(run.started[0]).toMatchObject({ name: 'restoreDisks', parsedInput: { ...restoreInput, jobId: 'restore-9' } });
  });

  it('fails with the verification error’s code, without retrying', async () => {
    const run = await drive(restoreOrchestrator, restoreInput, () => ({
      error: 'KluisError [KluisRestoreVerificationFailed]: block 7 of lun 0 does not match its checksum',
    }));
    expect(run.state.status).toBe('Failed');
    expect(run.started).toHaveLength(1);
    expect(run.customStatuses.at(-1)).toMatchObject({ stage: 'failed', errorCode: 'KluisRestoreVerificationFailed' });
  });
});
