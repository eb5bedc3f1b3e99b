/**
 * The backup server's steps as activities (KLUIS_ROLE=server; orchestrations/backup-server-group-run.ts): thin
 * adapters over BackupServer. A retryable failure (KluisRepositoryLocked, storage or the vault unavailable) is
 * thrown, so the orchestration's retry policy repeats the step; any other comes back as `{failure}`.
 */
import { describeFailure, isKluisErrorLike, isRetryableCode } from '../../lib/domain/errors';
import type { RunReport } from '../../lib/backup-server/server/backup-server';
import { declareActivity } from '../activity';
import { withServer } from './server';

/** A step's failure: a Kluis error code, or `KluisServerJobFailed` (the code server jobs report for other failures). */
export interface StepFailure {
  failure: { code: string; message: string };
}

async function reported<T>(work: () => Promise<T>): Promise<T | StepFailure> {
  try {
    return await work();
  } catch (err) {
    const failure = describeFailure(err);
    if (isRetryableCode(failure.code)) throw err;
    // Not a KluisError (a folder gone, the vault refusing): its own message says more than the generic one.
    if (!isKluisErrorLike(err) && err instanceof Error) return { failure: { code: 'KluisServerJobFailed', message: err.message } };
    return { failure };
  }
}

export const prepareRunActivity = declareActivity('backupServerPrepareRun', (_input: Record<string, never>) => withServer((server) => server.steps.prepareRun()));

export const backUpSourceActivity = declareActivity('backupServerBackUpSource', (input: { group: string; source: string }) =>
  reported(() => withServer(async (server) => {
    const backup = await server.steps.backUpSource(input.group, input.source);
    return backup === undefined ? {} : { backup };
  })),
);

export const expireLocalPointsActivity = declareActivity('backupServerExpireLocalPoints', (input: { group: string }) =>
  reported(() => withServer((server) => server.steps.expireLocalPoints([input.group]))),
);

export const copyToVaultActivity = declareActivity('backupServerCopyToVault', (input: { group: string }) =>
  reported(() => withServer((server) => server.steps.copyToVault([input.group]))),
);

export const finishRunActivity = declareActivity('backupServerFinishRun', (input: { report: RunReport; startTime: string }) =>
  withServer((server) => server.steps.finishRun(input.report, input.startTime)),
);
