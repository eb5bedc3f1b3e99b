/**
 * The backup, backupDisk and restore orchestrators replayed by durable-functions' own engine (through
 * test/support/orchestration-driver): what they schedule, in which order, and how failures end.
 */
import { backupOrchestrator } from '../../orchestrations/backup';
import { backupDiskOrchestrator } from '../../orchestrations/backup-disk';
import { Activities, Orchestrators, type BackupDiskInput, type BackupInput } from '../../orchestrations/contracts';
import { restoreOrchestrator } from '../../orchestrations/restore';
import { drive, type Outcome, type Script } from '../support/orchestration-driver';

const START = new Date('2026-03-01T02:00:00Z');
const disks: BackupInput['disks'] = [
  { lun: 0, container: 'vhds', blob: 'os.vhd', storageType: 'Standard' },
  { lun: 1, container: 'premium', blob: 'data.vhd', storageType: 'Premium' },
];
const input: BackupInput = { itemId: 'vm1', disks, instantRestoreDays: 2 };

const snapshotOf = (lun: number) => ({ itemId: 'vm1', recoveryPointId: 'x', lun, container: 'c', blob: 'b', snapshot: `snap-${lun}`, createdAt: START.toISOString(), sizeBytes: 1024 });
const diskResult = (lun: number) => ({ lun, changeDetection: 'full', reason: 'first backup', segmentCount: 2, bytesRead: 10, bytesWritten: 7, bytesCleared: 0, blocksChanged: 1 });

function backupScript(overrides: Partial<Record<string, (parsed: unknown) => Outcome>> = {}): Script {
  return (work) => {
    const name = work.name;
    const override = overrides[name];
    if (override) return override(work.parsedInput);
    switch (name) {
      case Activities.DiscoverDisks:
        return { result: disks.map((d) => ({ ...d, name: d.blob, sizeBytes: 1024, dataSize: 512, vhdUniqueId: 'u' })) };
      case Activities.ProbeStorage:
        return { result: { trueDiff: true, serverSideCopySafe: false } };
      case Activities.SnapshotDisks:
        return { result: disks.map((d) => snapshotOf(d.lun)) };
      case Orchestrators.BackupDisk:
        return { result: diskResult((work.parsedInput as BackupDiskInput).disk.lun) };
      case Activities.CommitRecoveryPoint:
        return { result: { recoveryPointId: (work.parsedInput as { recoveryPointId: string }).recoveryPointId, manifestBlobName: 'items/vm1/manifest.json', alreadyCommitted: false } };
      default:
        return { result: { ok: true } };
    }
  };
}

describe('backup orchestrator', () => {
  it('discovers, probes, snapshots all disks, backs each up in a sub-orchestration, commits, then expires old snapshots', async () => {
    const run = await drive(backupOrchestrator, input, backupScript(), { instanceId: 'job-1', start: START });
    expect(run.state.status).toBe('Completed');
    expect(run.started.map((w) => w.name)).toEqual([
      Activities.DiscoverDisks,
      Activities.ProbeStorage,
      Activities.SnapshotDisks,
      Orchestrators.BackupDisk,
      Orchestrators.BackupDisk,
      Activities.CommitRecoveryPoint,
      Activities.ExpireSnapshotTier,
    ]);
    const children = run.started.filter((w) => w.kind === 'subOrchestration');
    expect(children.map((w) => (w.kind === 'subOrchestration' ? w.instanceId : ''))).toEqual(['job-1:lun0', 'job-1:lun1']);
    // Both disks start in the same episode: they run in parallel.
    expect(run.startedPerEpisode).toContain(2);
    const commit = run.started.find((w) => w.name === Activities.CommitRecoveryPoint)!.parsedInput as { recoveryPointId: string; disks: Array<{ lun: number; segmentCount: number }> };
    expect(commit.recoveryPointId).toBe(String(START.getTime() + 1000));
    expect(commit.disks.map((d) => [d.lun, d.segmentCount])).toEqual([
      [0, 2],
      [1, 2],
    ]);
    const expire = run.started.find((w) => w.name === Activities.ExpireSnapshotTier)!.parsedInput as { olderThan: string };
    expect(Date.parse(expire.olderThan)).toBe(START.getTime() + 1000 - 2 * 24 * 3600 * 1000);
    expect(run.output).toMatchObject({ status: 'Completed', recoveryPointId: commit.recoveryPointId, bytesWritten: 14 });
  });

  it('deletes the job’s instant snapshots and fails with the code when a disk backup fails', async () => {
    const run = await drive(
      backupOrchestrator,
      input,
      backupScript({ [Orchestrators.BackupDisk]: () => ({ error: 'KluisError [KluisStagingCopyFailed]: Copying the snapshot to the staging blob failed: boom.' }) }),
    );
    expect(run.state.status).toBe('Failed');
    const names = run.started.map((w) => w.name);
    expect(names).toContain(Activities.DeleteInstantSnapshots);
    expect(names).not.toContain(Activities.CommitRecoveryPoint);
    expect(run.customStatuses.at(-1)).toMatchObject({ stage: 'failed', failedStage: 'transfer', errorCode: 'KluisStagingCopyFailed' });
  });

  it('fails at discovery without taking snapshots', async () => {
    const run = await drive(
      backupOrchestrator,
      input,
      backupScript({ [Activities.DiscoverDisks]: () => ({ error: "KluisError [KluisSourceDiskNotFound]: The source disk 'vhds/os.vhd' does not exist." }) }),
    );
    expect(run.state.status).toBe('Failed');
    expect(run.started.map((w) => w.name)).not.toContain(Activities.SnapshotDisks);
    expect(run.customStatuses.at(-1)).toMatchObject({ failedStage: 'discover', errorCode: 'KluisSourceDiskNotFound' });
  });

  it('completes with a warning when expiring old snapshots fails after the point is committed', async () => {
    const run = await drive(backupOrchestrator, input, backupScript({ [Activities.ExpireSnapshotTier]: () => ({ error: 'KluisError [BackUpOperationFailed]: later' }) }));
    expect(run.state.status).toBe('Completed');
    expect(run.output).toMatchObject({ status: 'CompletedWithWarnings', warnings: [{ code: 'BackUpOperationFailed' }] });
  });
});

describe('backupDisk orchestrator', () => {
  const segments = Array.from({ length: 10 }, (_, index) => ({ index, start: index * 100, end: (index + 1) * 100 }));
  const diskInput = (storageType: 'Standard' | 'Premium'): BackupDiskInput => ({
    itemId: 'vm1',
    jobId: 'job-1',
    disk: { lun: 3, container: 'c', blob: 'b', storageType, name: 'b', sizeBytes: 1024, dataSize: 512, vhdUniqueId: 'u' },
    snapshot: snapshotOf(3),
    capabilities: { trueDiff: false, serverSideCopySafe: false },
    segmentParallelism: 3,
  });
  const checksumPlan = { lun: 3, sizeBytes: 1024, blockSize: 65536, changeDetection: 'checksum', detection: { kind: 'checksum', previousRecoveryPointId: '1' }, reason: 'r', segments, replicaBlobName: 'r' };
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
  };
  const diskScript =
    (failSegment?: number, options: { plan?: object; seed?: () => Outcome } = {}): Script =>
    (work) => {
      if (work.name === Activities.PlanDiskBackup) return { result: options.plan ?? checksumPlan };
      if (work.name === Activities.StageDisk) return { result: { staging: { container: 'c', blob: 'AzureBackup-x' }, method: 'streamed', bytesCopied: 5 } };
      if (work.name === Activities.SeedReplica) {
        return options.seed?.() ?? { result: { seed: 'serverSideCopy', replica: { container: 'vault', blob: 'r' }, copiedFrom: { container: 'c', blob: 'b' } } };
      }
      if (work.name === Activities.TransferSegment) {
        const index = (work.parsedInput as { segment: { index: number } }).segment.index;
        if (index === failSegment) return { error: 'KluisError [BackUpOperationFailed]: segment failed' };
        return { result: { segmentIndex: index, checksumPartBlobName: 'p', bytesRead: 4, bytesWritten: 2, bytesCleared: 1, blocksChanged: 1, uploadCalls: 1, clearCalls: 1 } };
      }
      return { result: {} };
    };

  it('transfers every segment with at most `segmentParallelism` in flight and totals the statistics', async () => {
    const run = await drive(backupDiskOrchestrator, diskInput('Standard'), diskScript());
    expect(run.state.status).toBe('Completed');
    const transfers = run.started.filter((w) => w.name === Activities.TransferSegment);
    expect(transfers.map((w) => (w.parsedInput as { segment: { index: number } }).segment.index).sort((a, b) => a - b)).toEqual(segments.map((s) => s.index));
    expect(Math.max(...run.startedPerEpisode)).toBeLessThanOrEqual(3);
    expect(run.output).toMatchObject({ lun: 3, segmentCount: 10, bytesRead: 40, bytesWritten: 20, bytesCleared: 10, blocksChanged: 10, changeDetection: 'checksum' });
    expect(run.output).not.toHaveProperty('seed');
    expect(run.started.map((w) => w.name)).not.toContain(Activities.StageDisk);
    expect(run.started.map((w) => w.name)).not.toContain(Activities.SeedReplica);
  });

  it('seeds the replica by a server-side copy before any segment when the plan says so, and reports the seed', async () => {
    const run = await drive(backupDiskOrchestrator, diskInput('Standard'), diskScript(undefined, { plan: seededPlan }));
    expect(run.state.status).toBe('Completed');
    const names = run.started.map((w) => w.name);
    expect(names.slice(0, 2)).toEqual([Activities.PlanDiskBackup, Activities.SeedReplica]);
    expect(names.filter((n) => n === Activities.SeedReplica)).toHaveLength(1);
    // The seed runs alone: no segment starts before it completed.
    expect(run.startedPerEpisode.slice(0, 2)).toEqual([1, 1]);
    expect(run.started[1].parsedInput).toEqual({ itemId: 'vm1', jobId: 'job-1', lun: 3, source: snapshotOf(3), sizeBytes: 1024 });
    const transfers = run.started.filter((w) => w.name === Activities.TransferSegment);
    expect(transfers).toHaveLength(segments.length);
    for (const t of transfers) expect(t.parsedInput).toMatchObject({ changeDetection: { kind: 'full', seed: 'serverSideCopy' } });
    expect(run.output).toMatchObject({ changeDetection: 'full', seed: 'serverSideCopy', segmentCount: 10 });
  });

  it('seeds a Premium disk from its staging blob, after staging, and still deletes the staging blob', async () => {
    const run = await drive(backupDiskOrchestrator, diskInput('Premium'), diskScript(undefined, { plan: seededPlan }));
    expect(run.state.status).toBe('Completed');
    const names = run.started.map((w) => w.name);
    expect(names.slice(0, 3)).toEqual([Activities.PlanDiskBackup, Activities.StageDisk, Activities.SeedReplica]);
    expect(run.started[2].parsedInput).toMatchObject({ source: snapshotOf(3), readFrom: { container: 'c', blob: 'AzureBackup-x' } });
    expect(names.indexOf(Activities.TransferSegment)).toBeGreaterThan(2);
    expect(names.at(-1)).toBe(Activities.DeleteStagingBlob);
    expect(run.output).toMatchObject({ staging: 'streamed', seed: 'serverSideCopy' });
  });

  it('fails without transferring any segment when the seed keeps failing (retried), deleting the staging blob', async () => {
    const run = await drive(
      backupDiskOrchestrator,
      diskInput('Premium'),
      diskScript(undefined, { plan: seededPlan, seed: () => ({ error: 'KluisError [KluisReplicaSeedFailed]: Seeding the vault replica by a server-side copy failed: boom.' }) }),
    );
    expect(run.state.status).toBe('Failed');
    const names = run.started.map((w) => w.name);
    expect(names.filter((n) => n === Activities.SeedReplica)).toHaveLength(3);
    expect(names).not.toContain(Activities.TransferSegment);
    expect(names.at(-1)).toBe(Activities.DeleteStagingBlob);
  });

  it('stages a Premium disk, reads segments from the staging blob, and always deletes the staging blob', async () => {
    const ok = await drive(backupDiskOrchestrator, diskInput('Premium'), diskScript());
    expect(ok.started[1].name).toBe(Activities.StageDisk);
    expect((ok.started.find((w) => w.name === Activities.TransferSegment)!.parsedInput as { readFrom: { blob: string } }).readFrom.blob).toBe('AzureBackup-x');
    expect(ok.started.at(-1)?.name).toBe(Activities.DeleteStagingBlob);
    expect(ok.output).toMatchObject({ staging: 'streamed' });

    const failed = await drive(backupDiskOrchestrator, diskInput('Premium'), diskScript(4));
    expect(failed.state.status).toBe('Failed');
    expect(failed.started.at(-1)?.name).toBe(Activities.DeleteStagingBlob);
  });
});

describe('restore orchestrator', () => {
  const restoreInput = { itemId: 'vm1', recoveryPointId: '123', targetContainer: 'restored' };

  it('restores the disks in one activity that carries the job id', async () => {
    const run = await drive(restoreOrchestrator, restoreInput, () => ({ result: { disks: [] } }), { instanceId: 'restore-9' });
    expect(run.state.status).toBe('Completed');
    expect(run.started).toHaveLength(1);
    expect(run.started[0]).toMatchObject({ name: Activities.RestoreDisks, parsedInput: { ...restoreInput, jobId: 'restore-9' } });
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
