/**
 * A Restore job of the vault service: restore the point's disks (the engine's `restoreDisks` activity:
 * every block verified, nothing overwritten, VM configuration written next to the disks); for a managed VM's
 * point also as new managed disks in the target resource group (`restoreManagedDisks`); then for an
 * AlternateLocation restore create the new VM (managed: through Compute, attaching the new managed disks;
 * page blobs: registered in the inventory, insert-only), and keep the job's tasks
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
import type { createRestoredManagedVmActivity, restoreManagedDisksActivity, RestoredManagedDiskSummary } from '../functions/activities/restore-managed-disks';
import type { restoreDisksActivity } from '../functions/activities/restore-disks';
import type { updateRestoreJobActivity } from '../functions/activities/update-restore-job';
import type { VaultAddress } from './contracts';
import type { RestoreInput, RestoreOutput } from './restore';
import { activityRetryOptions, callActivity, callActivityRetryingTransient } from './steps';

export interface VaultRestoreInput {
  vault: VaultAddress;
  /** The Restore job; also the orchestration's instance id. */
  jobId: string;
  restore: RestoreInput;
  /** AlternateLocation: the VM registered from the restored disks. */
  targetVm?: RestoredVmSpec;
  /** A managed VM's point: the disks are also restored as new managed disks there, and a new VM attaches those. */
  managedDisks?: { subscriptionId: string; resourceGroup: string; location: string; skus: Record<number, string> };
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
  /** A managed VM's point: the new managed disks. */
  managedDisks?: RestoredManagedDiskSummary[];
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
    // Retried only when storage was unavailable (verification failures and existing targets do not heal);
    // a re-run of the activity reclaims its own leftovers.
    const restored = (yield* callActivityRetryingTransient<typeof restoreDisksActivity>(context, 'restoreDisks', { ...input.restore, jobId })) as RestoreOutput;
    yield recordJob({
      kind: 'disksRestored',
      disks: restored.disks.length,
      bytesCopied: restored.disks.reduce((sum, disk) => sum + disk.bytesCopied, 0),
      blocksVerified: restored.disks.reduce((sum, disk) => sum + disk.blocksVerified, 0),
    });

    let managed: RestoredManagedDiskSummary[] | undefined;
    if (input.managedDisks !== undefined) {
      const { skus, ...target } = input.managedDisks;
      // Retried as restoreDisks is: a re-run replaces its own leftovers.
      managed = (yield* callActivityRetryingTransient<typeof restoreManagedDisksActivity>(context, 'restoreManagedDisks', {
        itemId: input.restore.itemId,
        recoveryPointId: input.restore.recoveryPointId,
        jobId,
        target,
        skus,
        ...(input.restore.luns === undefined ? {} : { luns: input.restore.luns }),
      })) as RestoredManagedDiskSummary[];
      yield recordJob({ kind: 'managedDisksRestored', disks: managed.map(({ lun, id, tier }) => ({ lun, id, tier })) });
    }

    let vmId: string | undefined;
    if (input.targetVm !== undefined) {
      enter('createVm');
      // Retrying is safe: both recognise a VM this job already created.
      const registered = (
        managed === undefined
          ? yield callActivity<typeof registerRestoredVmActivity>(context, 'registerRestoredVm', { jobId, targetVm: input.targetVm, disks: restored.disks }, retry)
          : yield callActivity<typeof createRestoredManagedVmActivity>(context, 'createRestoredManagedVm', { jobId, targetVm: input.targetVm, disks: managed.map(({ lun, id }) => ({ lun, id })) }, retry)
      ) as { vmId: string };
      vmId = registered.vmId;
    }

    yield recordJob(vmId === undefined ? { kind: 'completed' } : { kind: 'completed', vmId });
    enter('completed');
    return { jobId, restore: restored, ...(vmId === undefined ? {} : { vmId }), ...(managed === undefined ? {} : { managedDisks: managed }) };
  } catch (err) {
    const failure = describeFailure(err);
    context.df.setCustomStatus({ stage: 'failed', errorCode: failure.code, errorMessage: failure.message } satisfies VaultRestoreCustomStatus);
    yield recordJob({ kind: 'failed', code: failure.code, message: failure.message });
    throw new Error(formatFailure(failure), { cause: err });
  }
}
