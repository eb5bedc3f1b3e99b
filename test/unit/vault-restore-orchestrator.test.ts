/**
 * The vaultRestore orchestrator replayed by durable-functions' own engine (test/support/orchestration-driver):
 * the job is started, the disks restored with the job id, the new VM registered only for AlternateLocation
 * and only after the disks, the job completed — and every failure ends the job Failed with its code.
 */
import type { RestoreJobEvent } from '../../lib/domain/restore-request';
import type { VaultRestoreInput } from '../../orchestrations/vault-restore';
import { vaultRestoreOrchestrator } from '../../orchestrations/vault-restore';
import { TRANSIENT_RETRY } from '../../orchestrations/steps';
import { drive, type Outcome, type Script } from '../support/orchestration-driver';

const vault = { id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v1', subscriptionId: 's', resourceGroup: 'rg', name: 'v1' };
const restore = { itemId: 'item-1', recoveryPointId: '1767225600000', targetContainer: 'web1-job1', luns: [0, 1] };
const targetVm = {
  id: '/subscriptions/s/resourceGroups/restored/providers/Microsoft.Compute/virtualMachines/copy',
  subscriptionId: 's',
  resourceGroup: 'restored',
  name: 'copy',
  location: 'westeurope',
  osType: 'Linux' as const,
  vmSize: 'Standard_B2s',
  sourceVmId: '/subscriptions/s/resourceGroups/prod/providers/Microsoft.Compute/virtualMachines/web1',
  recoveryPointId: '1767225600000',
  disks: [
    { slot: 0, storageType: 'Standard' as const },
    { slot: 1, storageType: 'Premium' as const },
  ],
};
const restoreDisksInput: VaultRestoreInput = { vault, jobId: 'job1', restore };
const alternateInput: VaultRestoreInput = { ...restoreDisksInput, targetVm };

const restoredDisks = [
  { lun: 0, blobName: 'r/lun0-os.vhd', blobUrl: 'http://h/a/web1-job1/r/lun0-os.vhd', tier: 'InstantRP', sizeBytes: 1024, bytesCopied: 512, blocksVerified: 3 },
  { lun: 1, blobName: 'r/lun1-data.vhd', blobUrl: 'http://h/a/web1-job1/r/lun1-data.vhd', tier: 'HardenedRP', sizeBytes: 2048, bytesCopied: 1024, blocksVerified: 5 },
];

function script(overrides: Partial<Record<string, (parsed: unknown) => Outcome>> = {}): Script {
  return (work) => {
    const override = overrides[work.name];
    if (override) return override(work.parsedInput);
    switch (work.name) {
      case 'restoreDisks':
        return { result: { jobId: 'job1', itemId: restore.itemId, recoveryPointId: restore.recoveryPointId, targetContainer: restore.targetContainer, vmConfigBlobName: 'r/vmconfig.json', disks: restoredDisks } };
      case 'registerRestoredVm':
        return { result: { vmId: targetVm.id, created: true } };
      default:
        return { result: null };
    }
  };
}

const events = (run: Awaited<ReturnType<typeof drive>>): RestoreJobEvent[] =>
  run.started.filter((w) => w.name === 'updateRestoreJob').map((w) => (w.parsedInput as { event: RestoreJobEvent }).event);

describe('vaultRestore orchestrator', () => {
  it('restores the disks under the job id and completes the job (RestoreDisks)', async () => {
    const run = await drive(vaultRestoreOrchestrator, restoreDisksInput, script(), { instanceId: 'job1' });
    expect(run.state.status).toBe('Completed');
    expect(run.started.map((w) => w.name)).toEqual(['updateRestoreJob', 'restoreDisks', 'updateRestoreJob', 'updateRestoreJob']);
    expect(run.started[1].parsedInput).toEqual({ ...restore, jobId: 'job1' });
    expect(run.started[0].parsedInput).toMatchObject({ vault, jobId: 'job1' });
    expect(events(run)).toEqual([{ kind: 'started' }, { kind: 'disksRestored', disks: 2, bytesCopied: 1536, blocksVerified: 8 }, { kind: 'completed' }]);
    expect(run.output).toMatchObject({ jobId: 'job1', restore: { targetContainer: 'web1-job1' } });
    expect(run.customStatuses.at(-1)).toEqual({ stage: 'completed' });
  });

  it('registers the new VM after the disks are restored, with their URLs (AlternateLocation)', async () => {
    const run = await drive(vaultRestoreOrchestrator, alternateInput, script(), { instanceId: 'job1' });
    expect(run.state.status).toBe('Completed');
    expect(run.started.map((w) => w.name)).toEqual([
      'updateRestoreJob',
      'restoreDisks',
      'updateRestoreJob',
      'registerRestoredVm',
      'updateRestoreJob',
    ]);
    expect(run.started[3].parsedInput).toEqual({ jobId: 'job1', targetVm, disks: restoredDisks });
    expect(events(run).at(-1)).toEqual({ kind: 'completed', vmId: targetVm.id });
    expect(run.output).toMatchObject({ vmId: targetVm.id });
    expect(run.customStatuses).toContainEqual({ stage: 'createVm' });
  });

  it('fails the job with the code of a failed restore, never registering a VM or retrying the copy', async () => {
    const run = await drive(
      vaultRestoreOrchestrator,
      alternateInput,
      script({ ['restoreDisks']: () => ({ error: 'KluisError [KluisRestoreVerificationFailed]: block 7 of lun 0 does not match its checksum' }) }),
      { instanceId: 'job1' },
    );
    expect(run.state.status).toBe('Failed');
    expect(run.started.filter((w) => w.name === 'restoreDisks')).toHaveLength(1);
    expect(run.started.some((w) => w.name === 'registerRestoredVm')).toBe(false);
    expect(events(run)).toEqual([
      { kind: 'started' },
      { kind: 'failed', code: 'KluisRestoreVerificationFailed', message: 'block 7 of lun 0 does not match its checksum' },
    ]);
    expect(run.customStatuses.at(-1)).toMatchObject({ stage: 'failed', errorCode: 'KluisRestoreVerificationFailed' });
  });

  it('restores again after a durable wait when storage was unavailable, and fails with that retryable code after its last try', async () => {
    const unavailable = { error: 'KluisError [KluisStorageUnavailable]: The storage service is unavailable: it answered HTTP 408, also after retries.' };
    let tries = 0;
    const healed = await drive(
      vaultRestoreOrchestrator,
      restoreDisksInput,
      script({ ['restoreDisks']: () => (++tries <= 2 ? unavailable : script()({ name: 'restoreDisks' } as never)) }),
      { instanceId: 'job1' },
    );
    expect(healed.state.status).toBe('Completed');
    expect(healed.started.filter((w) => w.name === 'restoreDisks')).toHaveLength(3);
    expect(events(healed).map((e) => e.kind)).toEqual(['started', 'disksRestored', 'completed']);

    const down = await drive(vaultRestoreOrchestrator, restoreDisksInput, script({ ['restoreDisks']: () => unavailable }), { instanceId: 'job1' });
    expect(down.state.status).toBe('Failed');
    expect(down.started.filter((w) => w.name === 'restoreDisks')).toHaveLength(TRANSIENT_RETRY.attempts);
    expect(events(down).at(-1)).toMatchObject({ kind: 'failed', code: 'KluisStorageUnavailable' });
  });

  it('fails the job when the target VM appeared meanwhile, keeping the restored disks', async () => {
    const run = await drive(
      vaultRestoreOrchestrator,
      alternateInput,
      script({ ['registerRestoredVm']: () => ({ error: "KluisError [KluisRestoreTargetVmExists]: The virtual machine 'copy' already exists" }) }),
      { instanceId: 'job1' },
    );
    expect(run.state.status).toBe('Failed');
    expect(events(run)).toEqual([
      { kind: 'started' },
      { kind: 'disksRestored', disks: 2, bytesCopied: 1536, blocksVerified: 8 },
      { kind: 'failed', code: 'KluisRestoreTargetVmExists', message: "The virtual machine 'copy' already exists" },
    ]);
    expect(run.state.output).toContain('KluisRestoreTargetVmExists');
  });

  it('retries a failed job update and VM registration', async () => {
    let updates = 0;
    let registrations = 0;
    const run = await drive(
      vaultRestoreOrchestrator,
      alternateInput,
      script({
        ['updateRestoreJob']: () => (++updates === 1 ? { error: 'table timeout' } : { result: null }),
        ['registerRestoredVm']: () => (++registrations === 1 ? { error: 'table timeout' } : { result: { vmId: targetVm.id, created: false } }),
      }),
      { instanceId: 'job1' },
    );
    expect(run.state.status).toBe('Completed');
    expect(registrations).toBe(2);
    expect(updates).toBe(4); // three events, the first twice
  });
});
