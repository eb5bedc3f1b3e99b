/** The activities a protected item's backup adds around the engine (orchestrations/backup.ts with `input.vault`). */
import * as df from 'durable-functions';
import { finishBackupRun, prepareBackupRun, recordSnapshotTaken, recordTransferProgress } from '../../lib/services/backup-requests';
import { freezeGuest, thawGuest } from '../../lib/services/guest-quiesce';
import {
  Activities,
  type FinishVaultBackupInput,
  type FrozenVm,
  type PreparedVaultBackup,
  type RecordSnapshotTakenOutput,
  type RecordTransferProgressInput,
  type VaultBackupActivityInput,
} from '../../orchestrations/contracts';
import { backupRequestDeps, guestQuiesceDeps } from '../deps';

df.app.activity(Activities.PrepareVaultBackup, {
  handler: async (input: VaultBackupActivityInput): Promise<PreparedVaultBackup> => {
    const prepared = await prepareBackupRun(backupRequestDeps(), input);
    return { ...prepared, vmConfig: prepared.vmConfig as PreparedVaultBackup['vmConfig'] };
  },
});

df.app.activity(Activities.FreezeVm, {
  handler: (input: VaultBackupActivityInput): Promise<FrozenVm> => freezeGuest(guestQuiesceDeps(), input),
});

df.app.activity(Activities.ThawVm, {
  handler: (input: VaultBackupActivityInput): Promise<void> => thawGuest(guestQuiesceDeps(), input),
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
