/**
 * POST `{item}/backup` (Azure's Backups_Trigger): an on-demand backup with a retain-until
 * (`recoveryPointExpiryTimeInUTC`, default 30 days). 202 with `Azure-AsyncOperation`/`Location`/
 * `Retry-After`; the operation names the Backup job, which the `backup` orchestration (instance id =
 * job id) carries out, reading the VM's disks when it starts.
 */
import * as df from 'durable-functions';
import { z } from 'zod';
import { triggerBackup } from '../../../lib/services/backup-requests';
import { getVault } from '../../../lib/services/vaults';
import type { BackupInput } from '../../../orchestrations/backup';
import { Orchestrators } from '../../../orchestrations/contracts';
import { backupRequestDeps } from '../../deps';
import { itemNamesOf } from './protection';
import { refuseServerItemChange } from './backup-server-views';
import { accepted, armRoute, asyncOperationPaths, initiatorOf, ITEM_ROUTE, itemPathOf, vaultRefOf } from './route';

export const backupRequestBodySchema = z
  .object({
    properties: z
      .object({
        objectType: z.literal('IaasVMBackupRequest', { error: "objectType must be 'IaasVMBackupRequest'" }),
        recoveryPointExpiryTimeInUTC: z.string().min(1).max(64).optional(),
      })
      .strict(),
  })
  .strict();

type BackupRequestBody = z.infer<typeof backupRequestBodySchema>;

armRoute<BackupRequestBody>({
  operationId: 'Backups_Trigger',
  action: 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/backup/action',
  method: 'POST',
  route: `${ITEM_ROUTE}/backup`,
  summary:
    'Backs up a protected VM now. The point is kept until recoveryPointExpiryTimeInUTC (default 30 days); a Standard policy allows 3 on-demand backups a day; one backup per item runs at a time.',
  tag: 'Backups',
  body: backupRequestBodySchema,
  responses: {
    202: 'Accepted: the operation (Azure-AsyncOperation) names the Backup job.',
    400: 'Invalid body or retain-until, or the daily on-demand limit is reached.',
    404: 'No such vault or protected item (UserErrorBcmDatasourceNotPresent).',
    409: 'A backup of the item is running, or protection is stopped, or the item is soft-deleted.',
  },
  durable: true,
  handler: async ({ params, body, context, baseUrl, caller }) => {
    const names = itemNamesOf(params);
    const deps = { ...backupRequestDeps(), initiator: initiatorOf(caller) };
    const vault = (await getVault(deps, vaultRefOf(params))).value;
    await refuseServerItemChange(vaultRefOf(params), params, 'Backups_Trigger');
    const client = df.getClient(context);
    const started = await triggerBackup(deps, vault, names, { recoveryPointExpiryTimeInUTC: body.properties.recoveryPointExpiryTimeInUTC }, async (instanceId, run) => {
      // A Standard policy's 18-point cap applies to on-demand backups too (Azure counts every instant point of the VM).
      const input: BackupInput = {
        itemId: run.itemId,
        instantRestoreDays: run.instantRestoreDays,
        vault: run.vault,
        ...(run.maxInstantPoints === undefined ? {} : { maxInstantPoints: run.maxInstantPoints }),
      };
      await client.startNew(Orchestrators.Backup, { instanceId, input });
    });
    context.info(`Started backup job ${started.job.jobId} of ${started.ref.itemName} (retain until ${started.retainUntil}).`);
    return accepted(baseUrl, asyncOperationPaths.item(itemPathOf(params), started.operation.operationId));
  },
});
