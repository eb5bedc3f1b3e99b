/**
 * Daily at 03:30 (UTC unless WEBSITE_TIME_ZONE says otherwise): deletes staging blobs (AzureBackup-…) in the
 * source account that are older than a day, and the import staging blobs (`kluis-import-staging/`) of restores to
 * managed disks in the restore account. Backups and restores delete their own in a finally path; this removes what
 * a crashed host left behind.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { sweepStagingCopies } from '../../lib/engine/backup/stage-disk';
import { sweepImportStaging } from '../../lib/engine/restore/import-staging-sweep';
import { engineDeps, restoreDeps } from '../deps';

const DAY_MS = 24 * 60 * 60 * 1000;

export async function sweepStaging(_timer: Timer, context: InvocationContext): Promise<void> {
  const deps = engineDeps(context);
  const olderThan = new Date(deps.clock().getTime() - DAY_MS);
  const { deleted } = await sweepStagingCopies(deps, { olderThan });
  const imports = await sweepImportStaging(restoreDeps(context), { olderThan });
  context.info(`Staging sweeper: deleted ${deleted} orphaned staging blob(s) and ${imports.deleted.length} import staging blob(s).`);
}

app.timer('sweepStagingBlobs', { schedule: '0 30 3 * * *', handler: sweepStaging });
