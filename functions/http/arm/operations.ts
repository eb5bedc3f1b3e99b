/**
 * The async operations behind 202 responses: GET `{vault}/backupOperations/{id}` (the status
 * `Azure-AsyncOperation` points at: InProgress, Succeeded, Failed, with the job id) and GET
 * `{vault}/backupOperationResults/{id}` (the result `Location` points at: 202 while running, 204
 * once succeeded, the error once failed).
 */
import { operationStatusResource } from '../../../lib/domain/arm/operation-resource';
import { ERROR_CODES, isKluisErrorCode } from '../../../lib/domain/errors';
import { getOperation, operationResultStatus } from '../../../lib/services/operations';
import { getVault } from '../../../lib/services/vaults';
import { catalogDeps } from '../../deps';
import { accepted, armRoute, noContent, ok, VAULT_ROUTE, vaultPathOf, vaultRefOf } from './route';

const TAG = 'Operations';

armRoute({
  operationId: 'BackupOperationStatuses_Get',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupOperations/{operationId}`,
  summary: 'The status of an asynchronous operation (Azure-AsyncOperation of a 202): InProgress, Succeeded or Failed, with the job doing the work.',
  tag: TAG,
  responses: { 200: 'The operation status.', 404: 'No such vault or operation.' },
  handler: async ({ params }) => {
    const deps = catalogDeps();
    const vault = (await getVault(deps, vaultRefOf(params))).value;
    return ok(operationStatusResource(vault.id, await getOperation(deps, vault, params.operationId ?? '')));
  },
});

armRoute({
  operationId: 'BackupOperationResults_Get',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupOperationResults/{operationId}`,
  summary: 'The result of an asynchronous operation (Location of a 202): 202 while it runs, 204 once it succeeded, its error once it failed.',
  tag: TAG,
  responses: { 202: 'Still running: poll again after Retry-After.', 204: 'Succeeded.', 404: 'No such vault or operation.' },
  handler: async ({ params, baseUrl }) => {
    const deps = catalogDeps();
    const vault = (await getVault(deps, vaultRefOf(params))).value;
    const operation = await getOperation(deps, vault, params.operationId ?? '');
    const status = operationResultStatus(operation);
    if (status === 202) return accepted(baseUrl, vaultPathOf(params), operation.operationId);
    if (status === 204) return noContent();
    const code = operation.error?.code ?? 'BackUpOperationFailed';
    const recommendation = isKluisErrorCode(code) ? ERROR_CODES[code].recommendation : undefined;
    return {
      status,
      jsonBody: { error: { code, message: operation.error?.message ?? 'The operation failed.', ...(recommendation === undefined ? {} : { recommendation }) } },
    };
  },
});
