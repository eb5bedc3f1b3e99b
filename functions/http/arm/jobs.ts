/**
 * Jobs over the ARM-shaped API: GET `{vault}/backupJobs` (`$filter=status eq '…' and operation eq '…'
 * and startTime eq '…' and endTime eq '…'`, newest first), GET `{vault}/backupJobs/{job}` and POST
 * `{vault}/backupJobs/{job}/cancel` (202; only a Backup job that is still taking its snapshot — its
 * `actionsInfo` says "Cancellable" — otherwise UserErrorJobNotCancellable saying why). The
 * cancelled backup stops once its snapshot is taken (orchestrations/backup.ts RecordSnapshotTaken).
 */
import { randomUUID } from 'node:crypto';
import { jobResource } from '../../../lib/domain/arm/job-resource';
import { getJob, listJobs, parseJobFilter, requestJobCancel } from '../../../lib/services/jobs';
import { createOperation } from '../../../lib/services/operations';
import { getVault } from '../../../lib/services/vaults';
import { catalogDeps } from '../../deps';
import { serverJobResourceOf, serverJobResources } from './backup-server-views';
import { accepted, armRoute, asyncOperationPaths, jobPathOf, list, ok, VAULT_ROUTE, vaultRefOf, initiatorOf } from './route';

const TAG = 'Jobs';

function jobDeps() {
  return { ...catalogDeps(), newId: randomUUID };
}

armRoute({
  operationId: 'BackupJobs_List',
  action: 'Microsoft.RecoveryServices/Vaults/backupJobs/read',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupJobs`,
  summary:
    "Lists the vault's jobs, newest first. $filter: status eq 'InProgress' and operation eq 'Backup' and startTime eq '2026-11-01 12:00:00 AM' and endTime eq '…' (each optional; UTC; ISO 8601 accepted).",
  tag: TAG,
  responses: { 200: 'The jobs, in `value`.', 400: 'Invalid $filter.', 404: 'No such vault.' },
  handler: async ({ params, query }) => {
    const filter = parseJobFilter(query.get('$filter'));
    const deps = jobDeps();
    const vault = (await getVault(deps, vaultRefOf(params))).value;
    const now = deps.clock();
    const vms = (await listJobs(deps, vault, filter)).map((job) => jobResource(vault.id, job, now));
    const servers = await serverJobResources(vaultRefOf(params), filter, now);
    // Newest first across both (ISO times sort as text).
    return list([...vms, ...servers].sort((a, b) => String(b.properties.startTime ?? '').localeCompare(String(a.properties.startTime ?? ''))));
  },
});

armRoute({
  operationId: 'JobDetails_Get',
  action: 'Microsoft.RecoveryServices/Vaults/backupJobs/read',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupJobs/{jobName}`,
  summary: 'Gets a job: status, tasks with progress, durations (ISO 8601), error details with recommendations, and whether it can be cancelled.',
  tag: TAG,
  responses: { 200: 'The job.', 404: 'No such vault or job.' },
  handler: async ({ params }) => {
    const deps = jobDeps();
    const vault = (await getVault(deps, vaultRefOf(params))).value;
    const serverJob = await serverJobResourceOf(vaultRefOf(params), params.jobName ?? '', deps.clock());
    if (serverJob !== undefined) return ok(serverJob);
    return ok(jobResource(vault.id, await getJob(deps, vault, params.jobName ?? ''), deps.clock()));
  },
});

armRoute({
  operationId: 'JobCancellations_Trigger',
  action: 'Microsoft.RecoveryServices/Vaults/backupJobs/cancelJob/action',
  method: 'POST',
  route: `${VAULT_ROUTE}/backupJobs/{jobName}/cancel`,
  summary: 'Cancels a Backup job while it takes its snapshot (the job goes Cancelling, then Cancelled). Transfers to the vault are not interrupted.',
  tag: TAG,
  responses: { 202: 'Accepted: the job is Cancelling; Location (backupJobs/{job}/operationResults/{id}) answers 204.', 400: 'The job cannot be cancelled now (UserErrorJobNotCancellable says why).', 404: 'No such vault or job.' },
  handler: async ({ params, baseUrl, context, caller }) => {
    const deps = { ...jobDeps(), initiator: initiatorOf(caller) };
    const vault = (await getVault(deps, vaultRefOf(params))).value;
    const job = await requestJobCancel(deps, vault, params.jobName ?? '');
    context.info(`Cancel requested for job ${job.jobId}.`);
    const operation = await createOperation(deps, vault, { name: 'CancelJob', jobId: job.jobId, status: 'Succeeded' });
    return accepted(baseUrl, asyncOperationPaths.job(jobPathOf(params), operation.operationId));
  },
});
