/**
 * Long-running operations as ARM's pollers expect them. The fabric does an operation's work before it
 * answers (so state is consistent the moment the client gets 202/201), then records its outcome; the
 * response carries `Azure-AsyncOperation` (the status: `{name,status,startTime,endTime,error?}`) and
 * `Location` (`…&monitor=true`: the result once done, e.g. `{accessSAS}`), both absolute URLs on the
 * fabric's own origin, and `Retry-After: 0` (the outcome is already known). Disk operations poll
 * `…/locations/{region}/DiskOperations/{id}`, the others `…/locations/{region}/operations/{id}`, as in Azure.
 * Records are kept a day (swept at most hourly per subscription).
 */
import { keys, type ComputeContext } from './context';
import type { ComputeError } from './errors';
import type { OperationRecord } from './records';

const KEEP_OPERATIONS_IN_MS = 24 * 3600 * 1000;
const SWEEP_EVERY_IN_MS = 3600 * 1000;

export class OperationLog {
  private readonly lastSweep = new Map<string, number>();

  constructor(private readonly ctx: Pick<ComputeContext, 'store' | 'clock' | 'newUuid'>) {}

  async succeeded(subscriptionId: string, location: string, family: OperationRecord['family'], startTime: Date, output?: unknown): Promise<OperationRecord> {
    return this.record({ subscriptionId, location, family, status: 'Succeeded', startTime, ...(output === undefined ? {} : { output }) });
  }

  async failed(subscriptionId: string, location: string, family: OperationRecord['family'], startTime: Date, error: ComputeError): Promise<OperationRecord> {
    return this.record({ subscriptionId, location, family, status: 'Failed', startTime, error: { code: error.code, message: error.message } });
  }

  async get(subscriptionId: string, id: string): Promise<OperationRecord | undefined> {
    return (await this.ctx.store.get<OperationRecord>(keys.operation(subscriptionId, id)))?.value;
  }

  private async record(outcome: Omit<OperationRecord, 'id' | 'startTime' | 'endTime'> & { startTime: Date }): Promise<OperationRecord> {
    const now = this.ctx.clock.now();
    const operation: OperationRecord = { ...outcome, id: this.ctx.newUuid(), startTime: outcome.startTime.toISOString(), endTime: now.toISOString() };
    await this.ctx.store.insert(keys.operation(operation.subscriptionId, operation.id), operation);
    await this.sweep(operation.subscriptionId, now);
    return operation;
  }

  private async sweep(subscriptionId: string, now: Date): Promise<void> {
    const key = subscriptionId.toLowerCase();
    const last = this.lastSweep.get(key);
    if (last !== undefined && now.getTime() - last < SWEEP_EVERY_IN_MS) return;
    this.lastSweep.set(key, now.getTime());
    for await (const stored of this.ctx.store.list<OperationRecord>(subscriptionId, 'op')) {
      if (now.getTime() - Date.parse(stored.value.endTime) > KEEP_OPERATIONS_IN_MS) {
        await this.ctx.store.delete(keys.operation(subscriptionId, stored.value.id));
      }
    }
  }
}

/** The status path of an operation (what Azure-AsyncOperation names). */
export function operationPath(operation: Pick<OperationRecord, 'subscriptionId' | 'location' | 'family' | 'id'>): string {
  const collection = operation.family === 'disk' ? 'DiskOperations' : 'operations';
  return `/subscriptions/${operation.subscriptionId}/providers/Microsoft.Compute/locations/${operation.location}/${collection}/${operation.id}`;
}

/** The headers that make a 201/202 a long-running operation for ARM clients. */
export function asyncOperationHeaders(origin: string, operation: OperationRecord, apiVersion: string): Record<string, string> {
  const url = `${origin}${operationPath(operation)}`;
  const version = encodeURIComponent(apiVersion);
  return {
    'azure-asyncoperation': `${url}?api-version=${version}`,
    location: `${url}?monitor=true&api-version=${version}`,
    'retry-after': '0',
  };
}
