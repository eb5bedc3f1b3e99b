import * as df from 'durable-functions';
import { registerRestoredVm } from '../../lib/services/restore-requests';
import { Activities, type RegisterRestoredVmActivityInput, type RegisterRestoredVmActivityOutput } from '../../orchestrations/contracts';
import { ensureResourceGroup } from '../../lib/services/resource-groups';
import { catalogDeps, tenancyDeps, vmInventory } from '../deps';

/** AlternateLocation: inserts the VM built from the restored disks into the inventory (never replacing one). */
df.app.activity(Activities.RegisterRestoredVm, {
  handler: async (input: RegisterRestoredVmActivityInput): Promise<RegisterRestoredVmActivityOutput> =>
    registerRestoredVm(
      {
        inventory: vmInventory(),
        clock: catalogDeps().clock,
        ensureResourceGroup: (subscriptionId, name, location) => ensureResourceGroup(tenancyDeps(), subscriptionId, name, location),
      },
      input,
    ),
});
