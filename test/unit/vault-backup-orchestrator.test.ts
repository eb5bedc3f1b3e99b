/**
 * The backup orchestrator for a vault's protected item (`input.vault`), replayed by durable-functions'
 * own engine: validation, freeze/snapshot/thaw, cancel while snapshotting, job progress, and the outcome
 * recorded on the job and item whatever it is.
 */
import { backupOrchestrator } from '../../orchestrations/backup';
import { Activities, Orchestrators, type BackupDiskInput, type BackupInput, type FinishVaultBackupInput } from '../../orchestrations/contracts';
import { drive, type Outcome, type Script } from '../support/orchestration-driver';

const START = new Date('2026-03-01T02:00:00Z');
const vmDisks: BackupInput['disks'] = [
  { lun: 0, container: 'vhds-web01', blob: 'os.vhd', storageType: 'Standard' },
  { lun: 1, container: 'vhds-web01', blob: 'data0.vhd', storageType: 'Standard' },
  { lun: 2, container: 'vhds-web01', blob: 'data1.vhd', storageType: 'Standard' },
];
const input: BackupInput = {
  itemId: 'engine-1',
  disks: [],
  instantRestoreDays: 2,
  vault: { vault: { id: '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/vault', subscriptionId: 'sub', resourceGroup: 'rg', name: 'vault' }, itemName: 'VM;iaasvmcontainerv2;rg;web01', isOnDemand: true, retainUntil: '2026-04-01T00:00:00.000Z' },
};

const snapshotsOf = () =>
  vmDisks.map((d) => ({ itemId: 'engine-1', recoveryPointId: 'x', lun: d.lun, container: d.container, blob: d.blob, snapshot: `s${d.lun}`, createdAt: START.toISOString(), sizeBytes: 1024 }));

function script(overrides: Partial<Record<string, (parsed: unknown) => Outcome>> = {}): Script {
  return (work) => {
    const override = overrides[work.name];
    if (override) return override(work.parsedInput);
    switch (work.name) {
      case Activities.PrepareVaultBackup:
        return { result: { disks: vmDisks, consistency: 'ApplicationConsistent', vmConfig: { vmSize: 'Standard_D2s_v3' }, warnings: [] } };
      case Activities.DiscoverDisks:
        return { result: vmDisks.map((d) => ({ ...d, name: d.blob, sizeBytes: 1024, dataSize: 512, vhdUniqueId: 'u' })) };
      case Activities.ProbeStorage:
        return { result: { trueDiff: false, serverSideCopySafe: false } };
      case Activities.SnapshotVm:
        return { result: { snapshots: snapshotsOf(), consistency: 'ApplicationConsistent', warnings: [] } };
      case Activities.RecordSnapshotTaken:
        return { result: { cancelled: false } };
      case Orchestrators.BackupDisk: {
        const lun = (work.parsedInput as BackupDiskInput).disk.lun;
        return { result: { lun, changeDetection: 'full', reason: 'first', segmentCount: 1, bytesRead: 10, bytesWritten: 5, bytesCleared: 0, blocksChanged: 1 } };
      }
      case Activities.CommitRecoveryPoint:
        return { result: { recoveryPointId: (work.parsedInput as { recoveryPointId: string }).recoveryPointId, manifestBlobName: 'm', alreadyCommitted: false } };
      default:
        return { result: {} };
    }
  };
}

const finishOf = (run: Awaited<ReturnType<typeof drive>>) =>
  run.started.filter((w) => w.name === Activities.FinishVaultBackup).map((w) => w.parsedInput as FinishVaultBackupInput);

describe('backup orchestrator for a protected item', () => {
  it('validates, freezes, snapshots, thaws, transfers with progress, commits with retain-until and records the outcome', async () => {
    const run = await drive(backupOrchestrator, input, script(), { instanceId: 'job-7', start: START });
    expect(run.state.status).toBe('Completed');
    const names = run.started.map((w) => w.name);
    expect(names.slice(0, 5)).toEqual([
      Activities.PrepareVaultBackup,
      Activities.DiscoverDisks,
      Activities.ProbeStorage,
      Activities.SnapshotVm,
      Activities.RecordSnapshotTaken,
    ]);
    // Freeze, snapshot and thaw are one activity: the snapshot request travels inside it.
    const snapshotVm = run.started.find((w) => w.name === Activities.SnapshotVm)!.parsedInput as { jobId: string; snapshot: { disks: unknown[] } };
    expect(snapshotVm).toMatchObject({ jobId: 'job-7', snapshot: { disks: vmDisks.map(({ lun, container, blob }) => ({ lun, container, blob })) } });
    expect(names).not.toContain(Activities.SnapshotDisks);
    // The disks come from the VM inventory at run time, not from the request.
    const discover = run.started.find((w) => w.name === Activities.DiscoverDisks)!.parsedInput as { disks: unknown[] };
    expect(discover.disks).toEqual(vmDisks);
    const progress = run.started.filter((w) => w.name === Activities.RecordTransferProgress).map((w) => w.parsedInput as { disksDone: number; disksTotal: number });
    expect(progress.map((p) => `${p.disksDone}/${p.disksTotal}`)).toEqual(['1/3', '2/3', '3/3']);
    const commit = run.started.find((w) => w.name === Activities.CommitRecoveryPoint)!.parsedInput as { consistency: string; retention: unknown; vmConfig: unknown };
    expect(commit).toMatchObject({ consistency: 'ApplicationConsistent', retention: { isOnDemand: true, retainUntil: '2026-04-01T00:00:00.000Z' }, vmConfig: { vmSize: 'Standard_D2s_v3' } });
    expect(finishOf(run)).toEqual([
      expect.objectContaining({ jobId: 'job-7', outcome: 'Completed', recoveryPointId: commit && (run.output as { recoveryPointId: string }).recoveryPointId, bytesTransferred: 15 }),
    ]);
    expect(names.at(-1)).toBe(Activities.FinishVaultBackup);
  });

  it('keeps a Standard policy under its 18 instant points: the oldest snapshots go before the snapshot, and after the commit', async () => {
    const scheduled: BackupInput = {
      ...input,
      maxInstantPoints: 18,
      vault: { ...input.vault!, isOnDemand: false, retainUntil: undefined, scheduledTime: '2026-03-01T02:00:00.000Z', longTermTags: ['Weekly', 'Monthly'] },
    };
    const run = await drive(backupOrchestrator, scheduled, script(), { instanceId: 'job-8', start: START });
    expect(run.state.status).toBe('Completed');
    const names = run.started.map((w) => w.name);
    const expiries = run.started.filter((w) => w.name === Activities.ExpireSnapshotTier).map((w) => w.parsedInput);
    expect(expiries).toEqual([
      { itemId: 'engine-1', keepNewest: 17 },
      { itemId: 'engine-1', olderThan: expect.stringMatching(/^2026-02-27T02:00:/), keepNewest: 18 }, // 2 instant-restore days before the start
    ]);
    expect(names.indexOf(Activities.ExpireSnapshotTier)).toBeLessThan(names.indexOf(Activities.SnapshotVm));
    const commit = run.started.find((w) => w.name === Activities.CommitRecoveryPoint)!.parsedInput as { retention: unknown };
    expect(commit.retention).toEqual({ isOnDemand: false, scheduledTime: '2026-03-01T02:00:00.000Z', longTermTags: ['Weekly', 'Monthly'] });
  });

  it('fails with UserErrorRpCollectionLimitReached, before freezing the guest, when the oldest snapshots cannot be deleted', async () => {
    const run = await drive(
      backupOrchestrator,
      { ...input, maxInstantPoints: 18 },
      script({ [Activities.ExpireSnapshotTier]: () => ({ error: 'RestError: the source storage account answered 403 AuthorizationFailure' }) }),
    );
    expect(run.state.status).toBe('Failed');
    expect(run.started.map((w) => w.name)).not.toContain(Activities.SnapshotVm);
    expect(finishOf(run)).toEqual([
      expect.objectContaining({ outcome: 'Failed', error: expect.objectContaining({ code: 'UserErrorRpCollectionLimitReached', message: expect.stringContaining('at most 18 instant-restore points') }) }),
    ]);
  });

  it('falls back to the consistency the freeze reached and completes with its warning', async () => {
    const run = await drive(
      backupOrchestrator,
      input,
      script({
        [Activities.SnapshotVm]: () => ({
          result: { snapshots: snapshotsOf(), consistency: 'FileSystemConsistent', warnings: [{ code: 'KluisInvalidRequest', message: 'VSS writer in a bad state' }] },
        }),
      }),
    );
    const commit = run.started.find((w) => w.name === Activities.CommitRecoveryPoint)!.parsedInput as { consistency: string };
    expect(commit.consistency).toBe('FileSystemConsistent');
    expect(finishOf(run)[0]).toMatchObject({ outcome: 'CompletedWithWarnings', consistency: 'FileSystemConsistent' });
  });

  it('stops after the snapshot when the job was cancelled: snapshots deleted, job Cancelled, nothing transferred', async () => {
    const run = await drive(backupOrchestrator, input, script({ [Activities.RecordSnapshotTaken]: () => ({ result: { cancelled: true } }) }));
    expect(run.state.status).toBe('Completed');
    const names = run.started.map((w) => w.name);
    expect(names).not.toContain(Orchestrators.BackupDisk);
    expect(names).toContain(Activities.DeleteInstantSnapshots);
    expect(finishOf(run)).toEqual([expect.objectContaining({ outcome: 'Cancelled' })]);
    expect(run.output).toMatchObject({ status: 'Cancelled' });
  });

  it('fails at validation without retrying, snapshotting or freezing, and records the code on the job', async () => {
    let attempts = 0;
    const run = await drive(
      backupOrchestrator,
      input,
      script({
        [Activities.PrepareVaultBackup]: () => {
          attempts++;
          return { error: "KluisError [UserErrorVmNotFoundV2]: The virtual machine 'web01' no longer exists." };
        },
      }),
    );
    expect(run.state.status).toBe('Failed');
    expect(attempts).toBe(1);
    expect(run.started.map((w) => w.name)).toEqual([Activities.PrepareVaultBackup, Activities.FinishVaultBackup]);
    expect(finishOf(run)[0]).toMatchObject({ outcome: 'Failed', error: { code: 'UserErrorVmNotFoundV2' } });
    expect(run.customStatuses.at(-1)).toMatchObject({ stage: 'failed', failedStage: 'validate', errorCode: 'UserErrorVmNotFoundV2' });
  });

  it('fails the job when the snapshot fails, deleting whatever snapshots an attempt left', async () => {
    const run = await drive(
      backupOrchestrator,
      input,
      script({ [Activities.SnapshotVm]: () => ({ error: 'KluisError [GuestAgentSnapshotTaskStatusError]: no status' }) }),
    );
    expect(run.state.status).toBe('Failed');
    const names = run.started.map((w) => w.name);
    expect(names.filter((n) => n === Activities.SnapshotVm)).toHaveLength(3);
    expect(names).toContain(Activities.DeleteInstantSnapshots);
    expect(names).not.toContain(Activities.RecordSnapshotTaken);
    expect(finishOf(run)[0]).toMatchObject({ outcome: 'Failed', error: { code: 'GuestAgentSnapshotTaskStatusError' } });
  });

  it('fails the job and deletes the snapshots when a disk transfer fails', async () => {
    const run = await drive(
      backupOrchestrator,
      input,
      script({ [Orchestrators.BackupDisk]: () => ({ error: 'KluisError [KluisTransferIntegrityFailed]: read back differs' }) }),
    );
    expect(run.state.status).toBe('Failed');
    expect(run.started.map((w) => w.name)).toContain(Activities.DeleteInstantSnapshots);
    expect(finishOf(run)[0]).toMatchObject({ outcome: 'Failed', error: { code: 'KluisTransferIntegrityFailed' } });
  });
});

describe('backup orchestrator for an encrypted VM (ADE)', () => {
  const encryption = {
    bek: { secretUrl: 'https://kv1.vault.azure.net/secrets/bek/0123456789abcdef0123456789abcdef', vaultId: '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1' },
    kek: { keyUrl: 'https://kv1.vault.azure.net/keys/kek/fedcba9876543210fedcba9876543210', vaultId: '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1' },
  };
  const keyAndSecret = {
    encryptionMechanism: 'SinglePass',
    bek: { secretUrl: encryption.bek.secretUrl, secretVaultId: encryption.bek.vaultId, backupBlobName: 'items/engine-1/recoveryPoints/1/keyAndSecret/secret.kvbackup' },
    kek: { keyUrl: encryption.kek.keyUrl, keyVaultId: encryption.kek.vaultId, backupBlobName: 'items/engine-1/recoveryPoints/1/keyAndSecret/key.kvbackup' },
  };
  const encrypted = (overrides: Partial<Record<string, (parsed: unknown) => Outcome>> = {}) =>
    script({
      [Activities.PrepareVaultBackup]: () => ({
        result: { disks: vmDisks, consistency: 'ApplicationConsistent', vmConfig: { name: 'web01', encrypted: true }, warnings: [], encryption },
      }),
      [Activities.BackupKeyAndSecret]: () => ({ result: keyAndSecret }),
      ...overrides,
    });

  it('backs up the key and secret after the disks and commits the point with them', async () => {
    const run = await drive(backupOrchestrator, input, encrypted(), { instanceId: 'job-8', start: START });
    expect(run.state.status).toBe('Completed');
    const names = run.started.map((w) => w.name);
    const keys = names.indexOf(Activities.BackupKeyAndSecret);
    expect(keys).toBeGreaterThan(names.lastIndexOf(Orchestrators.BackupDisk));
    expect(keys).toBeLessThan(names.indexOf(Activities.CommitRecoveryPoint));
    const commit = run.started.find((w) => w.name === Activities.CommitRecoveryPoint)!.parsedInput as { recoveryPointId: string; keyAndSecret: unknown };
    expect(run.started[keys].parsedInput).toEqual({ itemId: 'engine-1', jobId: 'job-8', recoveryPointId: commit.recoveryPointId, vmName: 'web01', encryption });
    expect(commit.keyAndSecret).toEqual(keyAndSecret);
    expect(finishOf(run)).toEqual([expect.objectContaining({ outcome: 'Completed' })]);
  });

  it('fails the job with the Key Vault code, deletes the snapshots and commits nothing when the key and secret cannot be backed up', async () => {
    const run = await drive(
      backupOrchestrator,
      input,
      encrypted({ [Activities.BackupKeyAndSecret]: () => ({ error: "KluisError [UserErrorKeyvaultPermissionsNotConfigured]: keys backup on Key Vault 'kv1' is missing." }) }),
    );
    expect(run.state.status).toBe('Failed');
    const names = run.started.map((w) => w.name);
    expect(names).not.toContain(Activities.CommitRecoveryPoint);
    expect(names).toContain(Activities.DeleteInstantSnapshots);
    expect(finishOf(run)[0]).toMatchObject({ outcome: 'Failed', error: { code: 'UserErrorKeyvaultPermissionsNotConfigured' } });
    expect(run.customStatuses.at(-1)).toMatchObject({ stage: 'failed', failedStage: 'commit', errorCode: 'UserErrorKeyvaultPermissionsNotConfigured' });
  });

  it('does not touch Key Vault for a VM without encryption', async () => {
    const run = await drive(backupOrchestrator, input, script());
    expect(run.started.map((w) => w.name)).not.toContain(Activities.BackupKeyAndSecret);
    const commit = run.started.find((w) => w.name === Activities.CommitRecoveryPoint)!.parsedInput as Record<string, unknown>;
    expect(commit).not.toHaveProperty('keyAndSecret');
  });
});
