/**
 * The status body of an asynchronous operation (what `Azure-AsyncOperation` points at):
 * `{id, name, status, startTime, endTime?, error?, properties:{objectType:"OperationStatusJobExtendedInfo", jobId}}`.
 */
import type { OperationRecord } from '../catalog';

export interface ArmOperationStatus {
  id: string;
  name: string;
  status: OperationRecord['status'];
  startTime: string;
  endTime?: string;
  error?: { code: string; message: string };
  properties?: { objectType: 'OperationStatusJobExtendedInfo'; jobId: string };
}

/** `{vaultId}/backupOperations/{operationId}` */
export function operationStatusId(vaultId: string, operationId: string): string {
  return `${vaultId}/backupOperations/${operationId}`;
}

export function operationStatusResource(vaultId: string, operation: OperationRecord): ArmOperationStatus {
  const body: ArmOperationStatus = {
    id: operationStatusId(vaultId, operation.operationId),
    name: operation.operationId,
    status: operation.status,
    startTime: operation.startTime,
  };
  if (operation.endTime !== undefined) body.endTime = operation.endTime;
  if (operation.error !== undefined) body.error = { code: operation.error.code, message: operation.error.message };
  if (operation.jobId !== undefined) body.properties = { objectType: 'OperationStatusJobExtendedInfo', jobId: operation.jobId };
  return body;
}
