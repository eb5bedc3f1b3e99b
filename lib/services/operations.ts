/**
 * Asynchronous operations: what a 202 response's `Azure-AsyncOperation` and `Location` headers
 * point at. An operation records the request's outcome and the job doing the work; for a backup or
 * a protection change it succeeds once the job exists, and the job then tells the rest (as in
 * Azure Backup, whose operation status carries `properties.jobId`).
 *
 * API:
 *   createOperation(deps, vault, {name, jobId?, status?}) · getOperation(deps, vault, id) (KluisOperationNotFound)
 *   completeOperation(deps, vault, id, {jobId?}) · failOperation(deps, vault, id, error)
 *   operationResultStatus(operation): the HTTP status of the result resource
 */
import type { Initiator, OperationRecord } from '../domain/catalog';
import { describeFailure, ERROR_CODES, errors, isKluisErrorCode } from '../domain/errors';
import { updateDocument } from '../stores/document-store';
import type { VaultCatalog } from '../stores/vault-catalog';
import { isStorableId, vaultPartitionOf, type VaultScope } from './jobs';

export interface OperationDeps {
  catalog: Pick<VaultCatalog, 'operations'>;
  clock: () => Date;
  newId: () => string;
  /** Who asked (the request's caller). */
  initiator?: Initiator;
}

export interface NewOperation {
  /** What was asked, e.g. 'ConfigureBackup', 'Backup', 'RefreshContainers'. */
  name: string;
  jobId?: string;
  /** Default InProgress; 'Succeeded' for work that finished within the request. */
  status?: 'InProgress' | 'Succeeded';
}

export async function createOperation(deps: OperationDeps, vault: VaultScope, spec: NewOperation): Promise<OperationRecord> {
  const now = deps.clock().toISOString();
  const operation: OperationRecord = {
    vaultId: vault.id,
    operationId: deps.newId(),
    name: spec.name,
    status: spec.status ?? 'InProgress',
    startTime: now,
  };
  if (operation.status !== 'InProgress') operation.endTime = now;
  if (spec.jobId !== undefined) operation.jobId = spec.jobId;
  if (deps.initiator !== undefined) operation.initiatedBy = { ...deps.initiator };
  return (await deps.catalog.operations.insert(vaultPartitionOf(vault), operation.operationId.toLowerCase(), operation)).value;
}

export async function getOperation(deps: Pick<OperationDeps, 'catalog'>, vault: VaultScope, operationId: string): Promise<OperationRecord> {
  if (!isStorableId(operationId)) throw errors.operationNotFound(operationId);
  const found = await deps.catalog.operations.get(vaultPartitionOf(vault), operationId.toLowerCase());
  if (found === undefined) throw errors.operationNotFound(operationId);
  return found.value;
}

export async function completeOperation(
  deps: OperationDeps,
  vault: VaultScope,
  operationId: string,
  options: { jobId?: string } = {},
): Promise<OperationRecord> {
  const now = deps.clock().toISOString();
  return finish(deps, vault, operationId, (operation) => ({
    ...operation,
    status: 'Succeeded',
    endTime: now,
    ...(options.jobId !== undefined ? { jobId: options.jobId } : {}),
  }));
}

export async function failOperation(deps: OperationDeps, vault: VaultScope, operationId: string, error: unknown): Promise<OperationRecord> {
  const now = deps.clock().toISOString();
  const failure = describeFailure(error);
  return finish(deps, vault, operationId, (operation) => ({
    ...operation,
    status: 'Failed',
    endTime: now,
    error: { code: failure.code, message: failure.message },
  }));
}

/** Finished operations stay as they are (a retried request must not flip an outcome). */
async function finish(
  deps: OperationDeps,
  vault: VaultScope,
  operationId: string,
  change: (operation: OperationRecord) => OperationRecord,
): Promise<OperationRecord> {
  if (!isStorableId(operationId)) throw errors.operationNotFound(operationId);
  const stored = await updateDocument(deps.catalog.operations, vaultPartitionOf(vault), operationId.toLowerCase(), (operation) =>
    operation.status === 'InProgress' ? change(operation) : undefined,
  );
  if (stored === undefined) throw errors.operationNotFound(operationId);
  return stored.value;
}

/**
 * The status the result resource (`Location`) answers with: 202 while running, 204 once
 * succeeded, and the failure's own status once failed.
 */
export function operationResultStatus(operation: Pick<OperationRecord, 'status' | 'error'>): number {
  switch (operation.status) {
    case 'InProgress':
      return 202;
    case 'Succeeded':
      return 204;
    default: {
      const code = operation.error?.code;
      return isKluisErrorCode(code) ? ERROR_CODES[code].status : 500;
    }
  }
}
