/**
 * POST `{item}/recoveryPoints/{recoveryPointId}/restore` (Azure's Restores_Trigger): restore the disks of a
 * recovery point into the restore storage account (RestoreDisks), or create a new VM from them
 * (AlternateLocation). 202 with `Azure-AsyncOperation`/`Location`/`Retry-After`; the operation names the
 * Restore job, which the `vaultRestore` orchestration (instance id = job id) carries out.
 */
import { randomUUID } from 'node:crypto';
import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { restoreRequestBodySchema, type RestoreRequestBody } from '../../../lib/domain/restore-request';
import { acceptRestoreRequest, type RestoreRequestDeps, type RestoreTargets } from '../../../lib/services/restore-requests';
import { authorizeRestoreTargets } from '../../../lib/services/restore-authorization';
import { storageAccountId } from '../../../lib/domain/arm/storage-account-resource';
import { Orchestrators } from '../../../orchestrations/contracts';
import type { VaultRestoreInput } from '../../../orchestrations/vault-restore';
import { catalogDeps, keyAndSecretPresenceDeps, restoreDeps, storageAccountDeps, vmInventory } from '../../deps';
import { refuseServerItemChange } from './backup-server-views';
import { accepted, armRoute, asyncOperationPaths, initiatorOf, ITEM_ROUTE, itemPathOf, recoveryPointRefOf } from './route';

function restoreRequestDeps(context: InvocationContext): RestoreRequestDeps {
  const { catalog, clock } = catalogDeps();
  const engine = restoreDeps(context);
  return { catalog, clock, inventory: vmInventory(), vault: engine.vault, restoreTarget: engine.target, newId: randomUUID, keyVault: keyAndSecretPresenceDeps() };
}

/** The restore account's resource id (Kluis restores into the account it is configured with). */
function restoreAccountId(name: string): string {
  const { local } = storageAccountDeps();
  return storageAccountId({ subscriptionId: local.subscriptionId, resourceGroup: local.storageResourceGroup }, name);
}

armRoute<RestoreRequestBody>({
  operationId: 'Restores_Trigger',
  action: 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/restore/action',
  method: 'POST',
  route: `${ITEM_ROUTE}/recoveryPoints/{recoveryPointId}/restore`,
  summary:
    'Restores the disks of a recovery point as page blobs with a VM configuration blob (recoveryType RestoreDisks), or also creates a new VM from them (AlternateLocation). Never replaces an existing VM, never crosses regions.',
  tag: 'Restores',
  body: restoreRequestBodySchema,
  responses: {
    202: 'Accepted: the operation (Azure-AsyncOperation) names the Restore job.',
    400: 'Invalid body, another region, OriginalLocation, an unknown disk LUN or another storage account.',
    404: 'No such vault, protected item or recovery point.',
    409: 'The target VM exists, or the item is soft-deleted.',
  },
  durable: true,
  handler: async ({ params, body, context, baseUrl, caller, access, scope, action }) => {
    const client = df.getClient(context);
    const ref = recoveryPointRefOf(params);
    await refuseServerItemChange(ref, params, 'Restores_Trigger');
    const deps = { ...restoreRequestDeps(context), initiator: initiatorOf(caller), authorizeTargets: (targets: RestoreTargets) => authorizeRestoreTargets(access, targets, { action, scope }, restoreAccountId) };
    const restore = await acceptRestoreRequest(deps, ref, body, async (instanceId, input) => {
      await client.startNew(Orchestrators.VaultRestore, { instanceId, input: input satisfies VaultRestoreInput });
    });
    context.info(`Started restore job ${restore.job.jobId} (${restore.plan.recoveryType}) of ${ref.itemName} point ${ref.recoveryPointId}.`);
    return accepted(baseUrl, asyncOperationPaths.item(itemPathOf(params), restore.operation.operationId));
  },
});
