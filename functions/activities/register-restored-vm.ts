import * as df from 'durable-functions';
import { registerRestoredVm } from '../../lib/services/restore-requests';
import { Activities, type RegisterRestoredVmActivityInput, type RegisterRestoredVmActivityOutput } from '../../orchestrations/contracts';
import { catalogDeps, vmInventory } from '../deps';

/** AlternateLocation: inserts the VM built from the restored disks into the inventory (never replacing one). */
df.app.activity(Activities.RegisterRestoredVm, {
  handler: async (input: RegisterRestoredVmActivityInput): Promise<RegisterRestoredVmActivityOutput> =>
    registerRestoredVm({ inventory: vmInventory(), clock: catalogDeps().clock }, input),
});
