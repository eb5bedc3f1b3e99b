/**
 * A Restore job of the vault service: restore the point's disks (the engine's `restoreDisks` activity:
 * every block verified, nothing overwritten, VM configuration written next to the disks), then for an
 * AlternateLocation restore register the new VM in the inventory (insert-only), and keep the job's tasks
 * and status current throughout. The instance id is the job id.
 *
 * Deterministic: only context.df.* calls. A failure marks the job Failed with the failure's code and
 * message, then fails the orchestration with the same one-line `KluisError [Code]: message`. Disks that
 * were restored stay when only the VM registration fails: they are the user's data and the job names them.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { describeFailure, formatFailure } from '../lib/domain/errors';
import type { RestoredVmSpec, RestoreJobEvent } from '../lib/domain/restore-request';
import type { registerRestoredVmActivity } from '../functions/activities/register-restored-vm';
import type { restoreDisksActivity } from '../functions/activities/restore-disks';
import type { updateRestoreJobActivity } from '../functions/activities/update-restore-job';
import type { VaultAddress } from './contracts';
import type { RestoreInput, RestoreOutput } from './restore';
import { activityRetryOptions, callActivity } from './steps';

export interface VaultRestoreInput {
  vault: VaultAddress;
  /** The Restore job; also the orchestration's instance id. */
  jobId: string;
  restore: RestoreInput;
  /** AlternateLocation: the VM registered from the restored disks. */
  targetVm?: RestoredVmSpec;
}

export type VaultRestoreStage = 'restore' | 'createVm' | 'completed' | 'failed';

export interface VaultRestoreCustomStatus {
  stage: VaultRestoreStage;
  errorCode?: string;
  errorMessage?: string;
}

export interface VaultRestoreOutput {
  jobId: string;
  restore: RestoreOutput;
  /** AlternateLocation: the new VM's resource id. */
  vmId?: string;
}

export function* vaultRestoreOrchestrator(context: OrchestrationContext): Generator<Task, VaultRestoreOutput, unknown> {
  const input = context.df.getInput<VaultRestoreInput>();
  const { jobId, vault } = input;
  const retry = activityRetryOptions();
  const recordJob = (event: RestoreJobEvent): Task => callActivity<typeof updateRestoreJobActivity>(context, 'updateRestoreJob', { vault, jobId, event }, retry);
  const enter = (stage: VaultRestoreStage) => context.df.setCustomStatus({ stage } satisfies VaultRestoreCustomStatus);

  try {
    enter('restore');
    yield recordJob({ kind: 'started' });
    // No retry policy, as in the `restore` orchestrator: verification failures and existing targets do not
    // heal, and a re-run of the activity reclaims its own leftovers anyway.
    const restored = (yield callActivity<typeof restoreDisksActivity>(context, 'restoreDisks', { ...input.restore, jobId }, false)) as RestoreOutput;
    yield recordJob({
      kind: 'disksRestored',
      disks: restored.disks.length,
      bytesCopied: restored.disks.reduce((sum, disk) => sum + disk.bytesCopied, 0),
      blocksVerified: restored.disks.reduce((sum, disk) => sum + disk.blocksVerified, 0),
    });

    let vmId: string | undefined;
    if (input.targetVm !== undefined) {
      enter('createVm');
      // Retrying is safe: the registration recognises a VM this job already created.
      const registered = (yield callActivity<typeof registerRestoredVmActivity>(context, 'registerRestoredVm', { jobId, targetVm: input.targetVm, disks: restored.disks }, retry)) as {
        vmId: string;
      };
      vmId = registered.vmId;
    }

    yield recordJob(vmId === undefined ? { kind: 'completed' } : { kind: 'completed', vmId });
    enter('completed');
    return { jobId, restore: restored, ...(vmId === undefined ? {} : { vmId }) };
  } catch (err) {
    const failure = describeFailure(err);
    context.df.setCustomStatus({ stage: 'failed', errorCode: failure.code, errorMessage: failure.message } satisfies VaultRestoreCustomStatus);
    yield recordJob({ kind: 'failed', code: failure.code, message: failure.message });
    throw new Error(formatFailure(failure), { cause: err });
  }
}
