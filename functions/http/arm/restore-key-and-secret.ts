/**
 * POST `{item}/recoveryPoints/{recoveryPointId}/restoreKeyAndSecret` (a Kluis extension; in Azure users
 * run Restore-AzKeyVaultKey/-Secret on the backup data of a restore): restores the KEK key and BEK secret
 * an encrypted VM's recovery point was taken with into the Key Vault `properties.keyVaultId` names.
 * Synchronous (two Key Vault calls, no job, as Azure has none): 200 with the restored key and secret URLs.
 */
import type { InvocationContext } from '@azure/functions';
import {
  restoreKeyAndSecret,
  restoreKeyAndSecretRequestSchema,
  type RestoreKeyAndSecretDeps,
  type RestoreKeyAndSecretRequest,
} from '../../../lib/services/restore-key-and-secret';
import { catalogDeps, keyAndSecretPresenceDeps, keyStore, restoreDeps } from '../../deps';
import { armRoute, ITEM_ROUTE, ok, recoveryPointRefOf } from './route';
import type { Caller } from '../../../lib/domain/access-token';

function restoreKeyAndSecretDeps(context: InvocationContext, caller: Caller): RestoreKeyAndSecretDeps {
  const { locator, principalId } = keyAndSecretPresenceDeps();
  return {
    catalog: catalogDeps().catalog,
    vault: restoreDeps(context).vault,
    keyStore: keyStore(),
    locator,
    ...(principalId === undefined ? {} : { principalId }),
    caller: { objectId: caller.objectId, ...(caller.name === undefined ? {} : { name: caller.name }) },
  };
}

armRoute<RestoreKeyAndSecretRequest>({
  operationId: 'RecoveryPoints_RestoreKeyAndSecret',
  action: 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/restore/action',
  method: 'POST',
  route: `${ITEM_ROUTE}/recoveryPoints/{recoveryPointId}/restoreKeyAndSecret`,
  summary:
    "Restores the KEK key and BEK secret an encrypted VM's recovery point was taken with (from their Key Vault backups stored with the point) into the Key Vault properties.keyVaultId names. Never replaces an existing key or secret. Answers the restored key and secret URLs, never their values.",
  tag: 'Restores',
  body: restoreKeyAndSecretRequestSchema,
  responses: {
    200: '{properties:{keyVaultId, keyUrl, secretUrl}}: the restored key and secret.',
    400: 'Not a Key Vault id, a Key Vault in another subscription or geography (KluisKeyVaultOutsideItemScope), the point is not of an encrypted VM (KluisRecoveryPointNotEncrypted), the Key Vault does not exist (UserErrorKeyVaultNotFound), or the backup identity lacks keys restore / secrets restore (UserErrorKeyvaultPermissionsNotConfigured).',
    403: "The caller's own access policy in the Key Vault lacks keys restore or secrets restore (KluisCallerKeyVaultPermissionMissing).",
    404: 'No such vault, protected item or recovery point.',
    409: 'The Key Vault already has a key or secret of that name (UserErrorKeyVaultObjectAlreadyExists), or the item is soft-deleted.',
  },
  handler: async ({ params, body, context, caller }) => {
    const ref = recoveryPointRefOf(params);
    const restored = await restoreKeyAndSecret(restoreKeyAndSecretDeps(context, caller), ref, body);
    context.info(`Restored the key and secret of ${restored.vmName} (recovery point ${ref.recoveryPointId}) into Key Vault ${restored.keyVaultId}.`);
    return ok({ properties: { keyVaultId: restored.keyVaultId, keyUrl: restored.keyUrl, secretUrl: restored.secretUrl } });
  },
});
