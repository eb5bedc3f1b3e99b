import * as df from 'durable-functions';
import { restoreDisks } from '../../lib/engine/restore/restore-disks';
import { Activities, type RestoreDisksActivityInput, type RestoreOutput } from '../../orchestrations/contracts';
import { restoreDeps } from '../deps';

df.app.activity(Activities.RestoreDisks, {
  handler: async (input: RestoreDisksActivityInput, context): Promise<RestoreOutput> => {
    const result = await restoreDisks(restoreDeps(context), input);
    return {
      jobId: result.jobId,
      itemId: result.itemId,
      recoveryPointId: result.recoveryPointId,
      targetContainer: result.targetContainer,
      vmConfigBlobName: result.vmConfigBlobName,
      disks: result.disks.map(({ lun, blobName, blobUrl, tier, method, sizeBytes, bytesCopied, blocksVerified }) => ({
        lun,
        blobName,
        blobUrl,
        tier,
        method,
        sizeBytes,
        bytesCopied,
        blocksVerified,
      })),
    };
  },
});
