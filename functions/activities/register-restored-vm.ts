import { ensureResourceGroup } from '../../lib/services/resource-groups';
import { registerRestoredVm, type RegisterRestoredVmRequest } from '../../lib/services/restore-requests';
import { declareActivity } from '../activity';
import { catalogDeps, tenancyDeps, vmInventory } from '../deps';

/** AlternateLocation: inserts the VM built from the restored disks into the inventory (never replacing one); `created: false` when a retry found the VM this job made. */
export const registerRestoredVmActivity = declareActivity('registerRestoredVm', (input: RegisterRestoredVmRequest): Promise<{ vmId: string; created: boolean }> =>
  registerRestoredVm(
    {
      inventory: vmInventory(),
      clock: catalogDeps().clock,
      ensureResourceGroup: (subscriptionId, name, location) => ensureResourceGroup(tenancyDeps(), subscriptionId, name, location),
    },
    input,
  ),
);
