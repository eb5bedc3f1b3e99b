/**
 * The async operations behind 202 responses, at every address Azure gives them: the status
 * (`Azure-AsyncOperation`: InProgress, Succeeded, Failed, with the job id) at `{vault}/backupOperations/{id}`
 * and `{item}/operationsStatus/{id}`, and the result (`Location`: 202 while running, 204 once succeeded,
 * the error once failed) at `{vault}/backupOperationResults/{id}`, `{item}/operationResults/{id}`,
 * `{vault}/backupFabrics/{fabric}/operationResults/{id}` (container refresh),
 * `{container}/operationResults/{id}` and `{vault}/backupJobs/{job}/operationResults/{id}` (cancel).
 * Every address reads the same vault-scoped operation record, so a client that takes the id from one
 * header and polls another address (as `az backup` does) finds it.
 */
import type { HttpResponseInit } from '@azure/functions';
import { operationStatusResource } from '../../../lib/domain/arm/operation-resource';
import type { OperationRecord } from '../../../lib/domain/catalog';
import { ERROR_CODES, isKluisErrorCode } from '../../../lib/domain/errors';
import { getOperation, operationResultStatus } from '../../../lib/services/operations';
import { assertAzureFabric } from '../../../lib/services/protection';
import { getVault } from '../../../lib/services/vaults';
import { catalogDeps } from '../../deps';
import {
  accepted,
  armRoute,
  asyncOperationPaths,
  containerPathOf,
  fabricPathOf,
  ITEM_ROUTE,
  itemPathOf,
  jobPathOf,
  noContent,
  ok,
  VAULT_ROUTE,
  vaultPathOf,
  vaultRefOf,
  type AsyncOperationPaths,
} from './route';

const TAG = 'Operations';
const CONTAINER_ROUTE = `${VAULT_ROUTE}/backupFabrics/{fabricName}/protectionContainers/{containerName}`;

async function operationOf(params: Record<string, string>): Promise<{ vaultId: string; operation: OperationRecord }> {
  if (params.fabricName !== undefined) assertAzureFabric(params.fabricName);
  const deps = catalogDeps();
  const vault = (await getVault(deps, vaultRefOf(params))).value;
  return { vaultId: vault.id, operation: await getOperation(deps, vault, params.operationId ?? '') };
}

async function statusOf(params: Record<string, string>): Promise<HttpResponseInit> {
  const { vaultId, operation } = await operationOf(params);
  return ok(operationStatusResource(vaultId, operation));
}

/** 202 (pointing at the same addresses again) while running, 204 once succeeded, the error once failed. */
async function resultOf(params: Record<string, string>, baseUrl: string, paths: (operationId: string) => AsyncOperationPaths): Promise<HttpResponseInit> {
  const { operation } = await operationOf(params);
  const status = operationResultStatus(operation);
  if (status === 202) return accepted(baseUrl, paths(operation.operationId));
  if (status === 204) return noContent();
  const code = operation.error?.code ?? 'BackUpOperationFailed';
  const recommendation = isKluisErrorCode(code) ? ERROR_CODES[code].recommendation : undefined;
  return {
    status,
    jsonBody: { error: { code, message: operation.error?.message ?? 'The operation failed.', ...(recommendation === undefined ? {} : { recommendation }) } },
  };
}

const statusResponses = { 200: 'The operation status.', 404: 'No such vault or operation.' };
const resultResponses = { 202: 'Still running: poll again after Retry-After.', 204: 'Succeeded.', 404: 'No such vault or operation.' };

armRoute({
  operationId: 'BackupOperationStatuses_Get',
  action: 'Microsoft.RecoveryServices/Vaults/backupOperations/read',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupOperations/{operationId}`,
  summary: 'The status of an asynchronous operation (Azure-AsyncOperation of a 202): InProgress, Succeeded or Failed, with the job doing the work.',
  tag: TAG,
  responses: statusResponses,
  handler: ({ params }) => statusOf(params),
});

armRoute({
  operationId: 'BackupOperationResults_Get',
  action: 'Microsoft.RecoveryServices/Vaults/backupOperationResults/read',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupOperationResults/{operationId}`,
  summary: 'The result of an asynchronous operation (Location of a 202): 202 while it runs, 204 once it succeeded, its error once it failed.',
  tag: TAG,
  responses: resultResponses,
  handler: ({ params, baseUrl }) => resultOf(params, baseUrl, (id) => asyncOperationPaths.vault(vaultPathOf(params), id)),
});

armRoute({
  operationId: 'ProtectedItemOperationStatuses_Get',
  action: 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/operationsStatus/read',
  method: 'GET',
  route: `${ITEM_ROUTE}/operationsStatus/{operationId}`,
  summary: 'The status of an operation on a protected item (protect, change, stop, backup now, restore): InProgress, Succeeded or Failed, with its job.',
  tag: TAG,
  responses: statusResponses,
  handler: ({ params }) => statusOf(params),
});

armRoute({
  operationId: 'ProtectedItemOperationResults_Get',
  action: 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/operationResults/read',
  method: 'GET',
  route: `${ITEM_ROUTE}/operationResults/{operationId}`,
  summary: 'The result of an operation on a protected item: 202 while it runs, 204 once it succeeded, its error once it failed.',
  tag: TAG,
  responses: resultResponses,
  handler: ({ params, baseUrl }) => resultOf(params, baseUrl, (id) => asyncOperationPaths.item(itemPathOf(params), id)),
});

armRoute({
  operationId: 'ProtectionContainerRefreshOperationResults_Get',
  action: 'Microsoft.RecoveryServices/Vaults/backupFabrics/operationResults/read',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupFabrics/{fabricName}/operationResults/{operationId}`,
  summary: 'The result of a container refresh (discovery): 202 while it runs, 204 once it succeeded.',
  tag: TAG,
  responses: resultResponses,
  handler: ({ params, baseUrl }) => resultOf(params, baseUrl, (id) => asyncOperationPaths.fabric(fabricPathOf(params), id)),
});

armRoute({
  operationId: 'ProtectionContainerOperationResults_Get',
  action: 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/operationResults/read',
  method: 'GET',
  route: `${CONTAINER_ROUTE}/operationResults/{operationId}`,
  summary: 'The result of an operation on a protection container: 202 while it runs, 204 once it succeeded, its error once it failed.',
  tag: TAG,
  responses: resultResponses,
  handler: ({ params, baseUrl }) => resultOf(params, baseUrl, (id) => asyncOperationPaths.container(containerPathOf(params), id)),
});

armRoute({
  operationId: 'JobOperationResults_Get',
  action: 'Microsoft.RecoveryServices/Vaults/backupJobs/operationResults/read',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupJobs/{jobName}/operationResults/{operationId}`,
  summary: 'The result of a job cancellation: 202 while it runs, 204 once it succeeded.',
  tag: TAG,
  responses: resultResponses,
  handler: ({ params, baseUrl }) => resultOf(params, baseUrl, (id) => asyncOperationPaths.job(jobPathOf(params), id)),
});
