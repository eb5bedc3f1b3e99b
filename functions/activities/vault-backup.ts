/** The activities a protected item's backup adds around the engine (orchestrations/backup.ts with `input.vault`). */
import * as df from 'durable-functions';
import { finishBackupRun, prepareBackupRun, recordSnapshotTaken, recordTransferProgress } from '../../lib/services/backup-requests';
import { snapshotInsideFreeze } from '../../lib/services/guest-quiesce';
import { snapshotDisks } from '../../lib/engine/sources/page-blob/instant-snapshots';
import {
  Activities,
  type FinishVaultBackupInput,
  type PreparedVaultBackup,
  type RecordSnapshotTakenOutput,
  type RecordTransferProgressInput,
  type SnapshotVmActivityInput,
  type SnapshotVmOutput,
  type VaultBackupActivityInput,
} from '../../orchestrations/contracts';
import { backupRequestDeps, engineDeps, guestQuiesceDeps } from '../deps';

df.app.activity(Activities.PrepareVaultBackup, {
  handler: async (input: VaultBackupActivityInput): Promise<PreparedVaultBackup> => {
    const prepared = await prepareBackupRun(backupRequestDeps(), input);
    return { ...prepared, vmConfig: prepared.vmConfig as PreparedVaultBackup['vmConfig'] };
  },
});

df.app.activity(Activities.SnapshotVm, {
  handler: (input: SnapshotVmActivityInput, context): Promise<SnapshotVmOutput> =>
    snapshotInsideFreeze(guestQuiesceDeps(), input, () => snapshotDisks(engineDeps(context), input.snapshot)),
});

df.app.activity(Activities.RecordSnapshotTaken, {
  handler: (input: VaultBackupActivityInput): Promise<RecordSnapshotTakenOutput> => recordSnapshotTaken(backupRequestDeps(), input),
});

df.app.activity(Activities.RecordTransferProgress, {
  handler: async (input: RecordTransferProgressInput): Promise<void> => {
    await recordTransferProgress(backupRequestDeps(), input, input);
  },
});

df.app.activity(Activities.FinishVaultBackup, {
  handler: async (input: FinishVaultBackupInput): Promise<void> => {
    await finishBackupRun(backupRequestDeps(), input, input);
  },
});
