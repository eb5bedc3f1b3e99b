/**
 * One protection group's scheduled run on a Kluis backup server (KLUIS_ROLE=server, issue 16): check in and read
 * what the seed's table allows, a local point of each due source (one after the other: one server, one set of
 * disks), the group's local retention, the online copy with its vault retention, then the pass's jobs and report
 * to the vault. Activities throw only retryable failures (a repository locked by a prune, storage or the vault
 * unavailable), which the retry policy repeats; others come back as results, so one source's failure never stops
 * the rest of the run. Deterministic: time is context.df.currentUtcDateTime.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import type { GroupRun } from '../lib/backup-server/domain/group-runs';
import type { RunReport } from '../lib/backup-server/server/backup-server';
import type { backUpSourceActivity, copyToVaultActivity, expireLocalPointsActivity, finishRunActivity, prepareRunActivity, StepFailure } from '../functions/server-role/activities';
import { describeFailure } from '../lib/domain/errors';
import { callActivity, type OutputOf } from './steps';

export const BACKUP_SERVER_GROUP_RUN = 'backupServerGroupRun';

export type GroupRunInput = GroupRun;

export interface GroupRunOutput extends RunReport {
  group: string;
  dueAt: string;
  /** Sources whose local point failed, with the failure's code and message. */
  failures: Array<{ source?: string; step: 'LocalBackup' | 'LocalRetention' | 'VaultCopy'; code: string; message: string }>;
}

type Outcome<T> = T | StepFailure;

function failed<T extends object>(outcome: Outcome<T>): outcome is StepFailure {
  return 'failure' in outcome;
}

/** An activity's outcome, with a failure that outlasted the retries reported instead of thrown. */
function* outcomeOf<T extends object>(task: Task): Generator<Task, Outcome<T>, unknown> {
  try {
    return (yield task) as Outcome<T>;
  } catch (err) {
    return { failure: describeFailure(err) };
  }
}

export function* backupServerGroupRunOrchestrator(context: OrchestrationContext): Generator<Task, GroupRunOutput, unknown> {
  const run = context.df.getInput() as GroupRunInput;
  const startTime = context.df.currentUtcDateTime.toISOString();
  const prepared = (yield callActivity<typeof prepareRunActivity>(context, 'backupServerPrepareRun', {})) as OutputOf<typeof prepareRunActivity>;
  const report: GroupRunOutput = {
    group: run.group, dueAt: run.dueAt, failures: [],
    backups: [], retention: [], chunksDeleted: 0, connectivity: prepared.connectivity, allowed: prepared.allowed, vaultCopies: [], vaultRetention: [],
    ...(prepared.stopped === undefined ? {} : { stopped: prepared.stopped }),
  };
  if (prepared.allowed.backupToDisk === 'Allowed') {
    for (const source of run.localDue) {
      const backup = yield* outcomeOf<{ backup?: RunReport['backups'][number] }>(callActivity<typeof backUpSourceActivity>(context, 'backupServerBackUpSource', { group: run.group, source }));
      if (failed(backup)) report.failures.push({ source, step: 'LocalBackup', ...backup.failure });
      else if (backup.backup !== undefined) report.backups.push(backup.backup);
    }
    const expired = yield* outcomeOf<Pick<RunReport, 'retention' | 'chunksDeleted' | 'pruneDeferred'>>(callActivity<typeof expireLocalPointsActivity>(context, 'backupServerExpireLocalPoints', { group: run.group }));
    if (failed(expired)) report.failures.push({ step: 'LocalRetention', ...expired.failure });
    else Object.assign(report, expired);
  }
  if (prepared.allowed.backupToAzure === 'Allowed') {
    const copied = yield* outcomeOf<Pick<RunReport, 'vaultCopies' | 'vaultRetention'>>(callActivity<typeof copyToVaultActivity>(context, 'backupServerCopyToVault', { group: run.group }));
    if (failed(copied)) {
      report.vaultCopyError = copied.failure.message;
      report.failures.push({ step: 'VaultCopy', ...copied.failure });
    } else {
      Object.assign(report, copied);
    }
  }
  const { failures, group, dueAt, ...pass } = report;
  const finished = (yield callActivity<typeof finishRunActivity>(context, 'backupServerFinishRun', { report: pass, startTime })) as RunReport;
  return { ...finished, group, dueAt, failures };
}
