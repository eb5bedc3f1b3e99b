/**
 * Daily at 03:30 (UTC unless WEBSITE_TIME_ZONE says otherwise): deletes staging blobs (AzureBackup-…) in the
 * source account that are older than a day. Backups delete their own in a finally path; this removes what a
 * crashed host left behind.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { sweepStagingCopies } from '../../lib/engine/backup/stage-disk';
import { engineDeps } from '../deps';

const DAY_MS = 24 * 60 * 60 * 1000;

export async function sweepStaging(_timer: Timer, context: InvocationContext): Promise<void> {
  const deps = engineDeps(context);
  const { deleted } = await sweepStagingCopies(deps, { olderThan: new Date(deps.clock().getTime() - DAY_MS) });
  context.info(`Staging sweeper: deleted ${deleted} orphaned staging blob(s).`);
}

app.timer('sweepStagingBlobs', { schedule: '0 30 3 * * *', handler: sweepStaging });
