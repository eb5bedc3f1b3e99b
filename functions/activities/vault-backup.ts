/** The activities a protected item's backup adds around the engine (orchestrations/backup.ts). */
import type { BackupRunOutcome } from '../../lib/domain/catalog';
import type { Consistency } from '../../lib/engine/domain/recovery-point-manifest';
import type { DiskView } from '../../lib/engine/domain/disk-view';
import { openSourceViews, type OpenSourceViewsInput } from '../../lib/engine/backup/source-views';
import { finishBackupRun, prepareBackupRun, recordSnapshotTaken, recordTransferProgress, type BackupJobRef, type PreparedBackupRun } from '../../lib/services/backup-requests';
import { snapshotInsideFreeze } from '../../lib/services/guest-quiesce';
import type { VmConfig } from '../../orchestrations/contracts';
import { declareActivity } from '../activity';
import { backupRequestDeps, engineDeps, guestQuiesceDeps } from '../deps';

/** The run's disks, consistency and VM configuration (recorded with the point). */
export type PreparedVaultBackup = Omit<PreparedBackupRun, 'vmConfig'> & { vmConfig: VmConfig };

/** Validation does not heal with retries: the VM is gone, the agent is down, the item is not protected. */
export const prepareVaultBackupActivity = declareActivity('prepareVaultBackup', async (input: BackupJobRef): Promise<PreparedVaultBackup> => {
  const prepared = await prepareBackupRun(backupRequestDeps(), input);
  return { ...prepared, vmConfig: prepared.vmConfig as VmConfig };
});

/** The disks' views, opened inside the guest's freeze, and the consistency the freeze reached. */
export interface SnapshotVmOutput {
  views: DiskView[];
  consistency: Consistency;
  warnings: Array<{ code: string; message: string }>;
}

/** Freeze, open the views (the engine's library call) and thaw in one activity: the guest is never left frozen while work queues. */
export const snapshotVmActivity = declareActivity('snapshotVm', async (input: BackupJobRef & { snapshot: OpenSourceViewsInput }, context): Promise<SnapshotVmOutput> => {
  const taken = await snapshotInsideFreeze(guestQuiesceDeps(), input, () => openSourceViews(engineDeps(context), input.snapshot));
  return { views: taken.snapshots, consistency: taken.consistency, warnings: taken.warnings };
});

/** Completes the job's "Take Snapshot" task; `cancelled`: the job was cancelled while snapshotting, stop here. */
export const recordSnapshotTakenActivity = declareActivity('recordSnapshotTaken', (input: BackupJobRef): Promise<{ cancelled: boolean }> => recordSnapshotTaken(backupRequestDeps(), input));

/** The engine's progress hook (orchestrations/backup-disks.ts `progress`): the share of disks transferred. */
export const recordTransferProgressActivity = declareActivity('recordTransferProgress', async (input: BackupJobRef & { disksDone: number; disksTotal: number }): Promise<void> => {
  await recordTransferProgress(backupRequestDeps(), input, input);
});

/** The run's last step, whatever the outcome: the job and the item record it. */
export const finishVaultBackupActivity = declareActivity('finishVaultBackup', async (input: BackupJobRef & BackupRunOutcome): Promise<void> => {
  await finishBackupRun(backupRequestDeps(), input, input);
});
