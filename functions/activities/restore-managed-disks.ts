/** A managed VM's point restored as new managed disks (and, for "create new VM", the VM attaching them) through Microsoft.Compute. */
import { restoreManagedDisks, type RestoreManagedDisksRequest } from '../../lib/engine/restore/restore-managed-disks';
import { createRestoredManagedVm, type RestoredManagedVmRequest } from '../../lib/services/restored-managed-vm';
import { declareActivity } from '../activity';
import { managedDisks, managedRestoreDeps } from '../deps';

export interface RestoredManagedDiskSummary {
  lun: number;
  name: string;
  id: string;
  tier: 'InstantRP' | 'HardenedRP';
  method: 'restoreFromSnapshot' | 'import' | 'upload';
  bytesWritten: number;
  blocksVerified: number;
}

export const restoreManagedDisksActivity = declareActivity('restoreManagedDisks', async (input: RestoreManagedDisksRequest, context): Promise<RestoredManagedDiskSummary[]> => {
  const result = await restoreManagedDisks(managedRestoreDeps(context), input);
  return result.disks.map(({ lun, name, id, tier, method, bytesWritten, blocksVerified }) => ({ lun, name, id, tier, method, bytesWritten, blocksVerified }));
});

/** Creates the new VM from the restored managed disks (never replacing a VM; a retry finds the one this job made). */
export const createRestoredManagedVmActivity = declareActivity('createRestoredManagedVm', (input: RestoredManagedVmRequest): Promise<{ vmId: string; created: boolean }> =>
  createRestoredManagedVm({ compute: managedDisks().store }, input),
);
