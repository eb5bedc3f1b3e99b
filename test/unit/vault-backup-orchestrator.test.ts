/**
 * The backup orchestrator for a vault's protected item, replayed by durable-functions' own engine:
 * validation, the engine's steps up to the views with freeze/open/thaw in one activity, cancel while
 * snapshotting, key and secret, the engine's backupDisks as a sub-orchestration (with the job's progress
 * hook, the point's retention), and the outcome recorded on the job and item whatever it is. What the
 * engine does with the views it is handed is tested in backup-orchestrator.test.ts.
 */
import type { BackupRunOutcome } from '../../lib/domain/catalog';
import type { DiscoveredVmDisk, PageBlobDiskRequest } from '../../lib/engine/domain/backup-job';
import type { DiskView } from '../../lib/engine/domain/disk-view';
import { backupOrchestrator, type BackupInput } from '../../orchestrations/backup';
import type { BackupDisksInput } from '../../orchestrations/backup-disks';
import { drive, type Outcome, type Script } from '../support/orchestration-driver';

const START = new Date('2026-03-01T02:00:00Z');
const vmDisks: PageBlobDiskRequest[] = [
  { lun: 0, container: 'vhds-web01', blob: 'os.vhd', storageType: 'Standard' },
  { lun: 1, container: 'vhds-web01', blob: 'data0.vhd', storageType: 'Standard' },
  { lun: 2, container: 'vhds-web01', blob: 'data1.vhd', storageType: 'Standard' },
];
const discovered: DiscoveredVmDisk[] = vmDisks.map((d) => ({ ...d, kind: 'pageBlob', name: d.blob, sizeBytes: 1024, dataSize: 512, vhdUniqueId: 'u' }));
const vault = { id: '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/vault', subscriptionId: 'sub', resourceGroup: 'rg', name: 'vault' };
const input: BackupInput = {
  itemId: 'engine-1',
  instantRestoreDays: 2,
  vault: { vault, itemName: 'VM;iaasvmcontainerv2;rg;web01', isOnDemand: true, retainUntil: '2026-04-01T00:00:00.000Z' },
};

const viewsOf = (): DiskView[] =>
  vmDisks.map((d) => ({ kind: 'pageBlob', lun: d.lun, handle: { blobUrl: `http://127.0.0.1:10000/devstoreaccount1/${d.container}/${d.blob}`, snapshot: `s${d.lun}` }, sizeBytes: 1024, diskId: d.blob, createdAt: START.toISOString() }));
const engineOutput = (recoveryPointId: string) => ({
  status: 'Completed',
  jobId: 'job',
  itemId: 'engine-1',
  recoveryPointId,
  manifestBlobName: 'm',
  disks: vmDisks.map((d) => ({ lun: d.lun, changeDetection: 'full', reason: 'first', segmentCount: 1, bytesRead: 10, bytesWritten: 5, bytesCleared: 0, blocksChanged: 1 })),
  bytesWritten: 15,
  bytesTransferred: 15,
  warnings: [],
});

function script(overrides: Partial<Record<string, (parsed: unknown) => Outcome>> = {}): Script {
  return (work) => {
    const override = overrides[work.name];
    if (override) return override(work.parsedInput);
    switch (work.name) {
      case 'prepareVaultBackup':
        return { result: { disks: vmDisks, consistency: 'ApplicationConsistent', vmConfig: { vmSize: 'Standard_D2s_v3' }, warnings: [] } };
      case 'discoverDisks':
        return { result: discovered };
      case 'probeStorage':
        return { result: { trueDiff: false, serverSideCopySafe: false } };
      case 'snapshotVm':
        return { result: { views: viewsOf(), consistency: 'ApplicationConsistent', warnings: [] } };
      case 'recordSnapshotTaken':
        return { result: { cancelled: false } };
      case 'backupDisks':
        return { result: engineOutput((work.parsedInput as BackupDisksInput).opened!.recoveryPointId) };
      default:
        return { result: {} };
    }
  };
}

const finishOf = (run: Awaited<ReturnType<typeof drive>>) => run.started.filter((w) => w.name === 'finishVaultBackup').map((w) => w.parsedInput as BackupRunOutcome & { jobId: string });
const engineInputOf = (run: Awaited<ReturnType<typeof drive>>) => run.started.find((w) => w.name === 'backupDisks')!.parsedInput as BackupDisksInput;

describe('backup orchestrator for a protected item', () => {
  it('validates, freezes, opens the views, thaws, hands them to the engine with the job’s progress and retain-until, and records the outcome', async () => {
    const run = await drive(backupOrchestrator, input, script(), { instanceId: 'job-7', start: START });
    expect(run.state.status).toBe('Completed');
    const names = run.started.map((w) => w.name);
    expect(names).toEqual(['prepareVaultBackup', 'discoverDisks', 'probeStorage', 'snapshotVm', 'recordSnapshotTaken', 'backupDisks', 'finishVaultBackup']);
    // Freeze, opening and thaw are one activity: the request to open the views travels inside it.
    const snapshotVm = run.started.find((w) => w.name === 'snapshotVm')!.parsedInput as { jobId: string; snapshot: { recoveryPointId: string; disks: unknown[] } };
    expect(snapshotVm).toMatchObject({ jobId: 'job-7', snapshot: { itemId: 'engine-1', disks: discovered } });
    expect(names).not.toContain('snapshotDisks');
    // The disks come from the VM inventory at run time.
    const discover = run.started.find((w) => w.name === 'discoverDisks')!.parsedInput as { disks: unknown[] };
    expect(discover.disks).toEqual(vmDisks);
    // The engine runs as a sub-orchestration with the views, the job's id, its progress hook and the point's retention.
    const child = run.started.find((w) => w.name === 'backupDisks')!;
    expect(child.kind === 'subOrchestration' ? child.instanceId : '').toBe('job-7:disks');
    const engine = engineInputOf(run);
    expect(engine).toMatchObject({
      itemId: 'engine-1',
      jobId: 'job-7',
      opened: { recoveryPointId: snapshotVm.snapshot.recoveryPointId, createdAt: new Date(Number(snapshotVm.snapshot.recoveryPointId)).toISOString(), disks: discovered, views: viewsOf(), capabilities: { trueDiff: false, serverSideCopySafe: false } },
      consistency: 'ApplicationConsistent',
      vmConfig: { vmSize: 'Standard_D2s_v3' },
      retention: { isOnDemand: true, retainUntil: '2026-04-01T00:00:00.000Z' },
      instantRestoreDays: 2,
      progress: { activity: 'recordTransferProgress', input: { vault, itemName: input.vault.itemName, jobId: 'job-7' } },
    });
    expect(engine).not.toHaveProperty('keyAndSecret');
    expect(finishOf(run)).toEqual([
      expect.objectContaining({ jobId: 'job-7', outcome: 'Completed', recoveryPointId: snapshotVm.snapshot.recoveryPointId, bytesTransferred: 15, consistency: 'ApplicationConsistent' }),
    ]);
    expect(run.output).toMatchObject({ status: 'Completed', recoveryPointId: snapshotVm.snapshot.recoveryPointId, bytesWritten: 15 });
  });

  it('keeps a Standard policy under its 18 instant points: the oldest views go before the snapshot; the engine keeps the cap after its commit', async () => {
    const scheduled: BackupInput = {
      ...input,
      maxInstantPoints: 18,
      vault: { ...input.vault, isOnDemand: false, retainUntil: undefined, scheduledTime: '2026-03-01T02:00:00.000Z', longTermTags: ['Weekly', 'Monthly'] },
    };
    const run = await drive(backupOrchestrator, scheduled, script(), { instanceId: 'job-8', start: START });
    expect(run.state.status).toBe('Completed');
    const names = run.started.map((w) => w.name);
    expect(run.started.filter((w) => w.name === 'expireSnapshotTier').map((w) => w.parsedInput)).toEqual([{ itemId: 'engine-1', keepNewest: 17 }]);
    expect(names.indexOf('expireSnapshotTier')).toBeLessThan(names.indexOf('snapshotVm'));
    expect(engineInputOf(run)).toMatchObject({ maxInstantPoints: 18, instantRestoreDays: 2 });
    expect(engineInputOf(run).retention).toEqual({ isOnDemand: false, scheduledTime: '2026-03-01T02:00:00.000Z', longTermTags: ['Weekly', 'Monthly'] });
  });

  it('fails with UserErrorRpCollectionLimitReached, before freezing the guest, when the oldest views cannot be deleted', async () => {
    const run = await drive(
      backupOrchestrator,
      { ...input, maxInstantPoints: 18 },
      script({ expireSnapshotTier: () => ({ error: 'RestError: the source storage account answered 403 AuthorizationFailure' }) }),
    );
    expect(run.state.status).toBe('Failed');
    expect(run.started.map((w) => w.name)).not.toContain('snapshotVm');
    expect(finishOf(run)).toEqual([
      expect.objectContaining({ outcome: 'Failed', error: expect.objectContaining({ code: 'UserErrorRpCollectionLimitReached', message: expect.stringContaining('at most 18 instant-restore points') }) }),
    ]);
  });

  it('falls back to the consistency the freeze reached and completes with its warning', async () => {
    const run = await drive(
      backupOrchestrator,
      input,
      script({
        snapshotVm: () => ({
          result: { views: viewsOf(), consistency: 'FileSystemConsistent', warnings: [{ code: 'KluisInvalidRequest', message: 'VSS writer in a bad state' }] },
        }),
      }),
    );
    expect(engineInputOf(run).consistency).toBe('FileSystemConsistent');
    expect(finishOf(run)[0]).toMatchObject({ outcome: 'CompletedWithWarnings', consistency: 'FileSystemConsistent' });
  });

  it('completes with the engine’s warnings', async () => {
    const warned = (parsed: unknown) => ({ result: { ...engineOutput((parsed as BackupDisksInput).opened!.recoveryPointId), status: 'CompletedWithWarnings', warnings: [{ code: 'BackUpOperationFailed', message: 'later' }] } });
    const run = await drive(backupOrchestrator, input, script({ backupDisks: warned }));
    expect(finishOf(run)[0]).toMatchObject({ outcome: 'CompletedWithWarnings', warnings: [{ code: 'BackUpOperationFailed', message: 'later' }] });
    expect(run.output).toMatchObject({ status: 'CompletedWithWarnings' });
  });

  it('stops after the snapshot when the job was cancelled: views released and deleted, job Cancelled, nothing transferred', async () => {
    const run = await drive(backupOrchestrator, input, script({ recordSnapshotTaken: () => ({ result: { cancelled: true } }) }));
    expect(run.state.status).toBe('Completed');
    const names = run.started.map((w) => w.name);
    expect(names).not.toContain('backupDisks');
    expect(names.slice(-3)).toEqual(['releaseSourceViews', 'deleteInstantSnapshots', 'finishVaultBackup']);
    expect(run.started.find((w) => w.name === 'releaseSourceViews')!.parsedInput).toEqual({ views: viewsOf() });
    expect(finishOf(run)).toEqual([expect.objectContaining({ outcome: 'Cancelled' })]);
    expect(run.output).toMatchObject({ status: 'Cancelled' });
  });

  it('fails at validation without retrying, snapshotting or freezing, and records the code on the job', async () => {
    let attempts = 0;
    const run = await drive(
      backupOrchestrator,
      input,
      script({
        prepareVaultBackup: () => {
          attempts++;
          return { error: "KluisError [UserErrorVmNotFoundV2]: The virtual machine 'web01' no longer exists." };
        },
      }),
    );
    expect(run.state.status).toBe('Failed');
    expect(attempts).toBe(1);
    expect(run.started.map((w) => w.name)).toEqual(['prepareVaultBackup', 'finishVaultBackup']);
    expect(finishOf(run)[0]).toMatchObject({ outcome: 'Failed', error: { code: 'UserErrorVmNotFoundV2' } });
    expect(run.customStatuses.at(-1)).toMatchObject({ stage: 'failed', failedStage: 'validate', errorCode: 'UserErrorVmNotFoundV2' });
  });

  it('fails the job when the snapshot fails, deleting whatever views an attempt left', async () => {
    const run = await drive(backupOrchestrator, input, script({ snapshotVm: () => ({ error: 'KluisError [GuestAgentSnapshotTaskStatusError]: no status' }) }));
    expect(run.state.status).toBe('Failed');
    const names = run.started.map((w) => w.name);
    expect(names.filter((n) => n === 'snapshotVm')).toHaveLength(3);
    expect(names).toContain('deleteInstantSnapshots');
    expect(names).not.toContain('recordSnapshotTaken');
    expect(finishOf(run)[0]).toMatchObject({ outcome: 'Failed', error: { code: 'GuestAgentSnapshotTaskStatusError' } });
    expect(run.customStatuses.at(-1)).toMatchObject({ failedStage: 'snapshot' });
  });

  it('fails the job and deletes the views when the engine fails', async () => {
    const run = await drive(backupOrchestrator, input, script({ backupDisks: () => ({ error: 'KluisError [KluisTransferIntegrityFailed]: read back differs' }) }));
    expect(run.state.status).toBe('Failed');
    const names = run.started.map((w) => w.name);
    expect(names.slice(-3)).toEqual(['releaseSourceViews', 'deleteInstantSnapshots', 'finishVaultBackup']);
    expect(finishOf(run)[0]).toMatchObject({ outcome: 'Failed', error: { code: 'KluisTransferIntegrityFailed' } });
    expect(run.customStatuses.at(-1)).toMatchObject({ failedStage: 'transfer', errorCode: 'KluisTransferIntegrityFailed' });
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
      prepareVaultBackup: () => ({
        result: { disks: vmDisks, consistency: 'ApplicationConsistent', vmConfig: { name: 'web01', encrypted: true }, warnings: [], encryption },
      }),
      backupKeyAndSecret: () => ({ result: keyAndSecret }),
      ...overrides,
    });

  it('backs up the key and secret as they are at the snapshot, and the engine commits the point with them', async () => {
    const run = await drive(backupOrchestrator, input, encrypted(), { instanceId: 'job-8', start: START });
    expect(run.state.status).toBe('Completed');
    const names = run.started.map((w) => w.name);
    const keys = names.indexOf('backupKeyAndSecret');
    expect(keys).toBeGreaterThan(names.indexOf('recordSnapshotTaken'));
    expect(keys).toBeLessThan(names.indexOf('backupDisks'));
    const engine = engineInputOf(run);
    expect(run.started[keys].parsedInput).toEqual({ itemId: 'engine-1', jobId: 'job-8', recoveryPointId: engine.opened!.recoveryPointId, vmName: 'web01', encryption });
    expect(engine.keyAndSecret).toEqual(keyAndSecret);
    expect(finishOf(run)).toEqual([expect.objectContaining({ outcome: 'Completed' })]);
  });

  it('fails the job with the Key Vault code, deletes the views and runs no transfer when the key and secret cannot be backed up', async () => {
    const run = await drive(
      backupOrchestrator,
      input,
      encrypted({ backupKeyAndSecret: () => ({ error: "KluisError [UserErrorKeyvaultPermissionsNotConfigured]: keys backup on Key Vault 'kv1' is missing." }) }),
    );
    expect(run.state.status).toBe('Failed');
    const names = run.started.map((w) => w.name);
    expect(names).not.toContain('backupDisks');
    expect(names).toContain('deleteInstantSnapshots');
    expect(finishOf(run)[0]).toMatchObject({ outcome: 'Failed', error: { code: 'UserErrorKeyvaultPermissionsNotConfigured' } });
    expect(run.customStatuses.at(-1)).toMatchObject({ stage: 'failed', failedStage: 'snapshot', errorCode: 'UserErrorKeyvaultPermissionsNotConfigured' });
  });

  it('does not touch Key Vault for a VM without encryption', async () => {
    const run = await drive(backupOrchestrator, input, script());
    expect(run.started.map((w) => w.name)).not.toContain('backupKeyAndSecret');
    expect(engineInputOf(run)).not.toHaveProperty('keyAndSecret');
  });
});
