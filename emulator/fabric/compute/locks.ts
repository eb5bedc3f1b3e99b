/**
 * Management locks on resource groups (`Microsoft.Authorization/locks`, ARM's ManagementLocks at resource
 * group level), as far as the fabric's Compute resources feel them: a `CanNotDelete` lock on a group makes
 * every DELETE of a Compute resource in it fail with 409 ScopeLocked, as ARM answers — the lock Azure Backup's
 * troubleshooting names as the cause of UserErrorRpCollectionLimitReached (it blocks the cleanup of old
 * restore points in `AzureBackupRG_<region>_1`). `ReadOnly` locks are not emulated (refused).
 * Locks live in the Compute resource store, so they survive a restart of the host.
 */
import type { ComputeContext } from './context';
import { computeErrors } from './errors';
import { looseEnum, type LockBody } from './requests';

export interface LockRecord {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  level: 'CanNotDelete';
  notes?: string;
}

const lockKey = (subscriptionId: string, resourceGroup: string, name: string) => ({ subscriptionId, kind: 'lock' as const, resourceGroup, names: [name] });
const LOCK_LEVELS = looseEnum(['CanNotDelete', 'ReadOnly']);

export function resourceGroupScope(subscriptionId: string, resourceGroup: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;
}

export class ResourceLocks {
  constructor(private readonly ctx: ComputeContext) {}

  /** PUT: creates or replaces the lock (`created` when it is new). */
  async put(subscriptionId: string, resourceGroup: string, name: string, body: LockBody): Promise<{ created: boolean; lock: LockRecord }> {
    const level = LOCK_LEVELS.safeParse(body.properties.level);
    if (!level.success) throw computeErrors.invalidParameter('properties.level', `The lock level '${String(body.properties.level).slice(0, 40)}' is not one of CanNotDelete, ReadOnly.`);
    if (level.data === 'ReadOnly') throw computeErrors.invalidParameter('properties.level', 'The local fabric emulates CanNotDelete locks only.');
    const lock: LockRecord = {
      id: `${resourceGroupScope(subscriptionId, resourceGroup)}/providers/Microsoft.Authorization/locks/${name}`,
      subscriptionId,
      resourceGroup,
      name,
      level: 'CanNotDelete',
      ...(body.properties.notes === undefined ? {} : { notes: body.properties.notes }),
    };
    let created = false;
    await this.ctx.store.mutate<LockRecord>(lockKey(subscriptionId, resourceGroup, name), (current) => {
      created = current === undefined;
      return { value: lock };
    });
    return { created, lock };
  }

  async get(subscriptionId: string, resourceGroup: string, name: string): Promise<LockRecord | undefined> {
    return (await this.ctx.store.get<LockRecord>(lockKey(subscriptionId, resourceGroup, name)))?.value;
  }

  /** DELETE: true when there was a lock. */
  async delete(subscriptionId: string, resourceGroup: string, name: string): Promise<boolean> {
    const existing = await this.get(subscriptionId, resourceGroup, name);
    await this.ctx.store.delete(lockKey(subscriptionId, resourceGroup, name));
    return existing !== undefined;
  }

  async list(subscriptionId: string, resourceGroup: string): Promise<LockRecord[]> {
    const locks: LockRecord[] = [];
    for await (const stored of this.ctx.store.list<LockRecord>(subscriptionId, 'lock', resourceGroup)) locks.push(stored.value);
    return locks;
  }

  /** 409 ScopeLocked when a lock on the resource group forbids deleting `scope` (a resource in it). */
  async assertDeletable(subscriptionId: string, resourceGroup: string, scope: string): Promise<void> {
    if ((await this.list(subscriptionId, resourceGroup)).length === 0) return;
    throw computeErrors.scopeLocked(scope, resourceGroupScope(subscriptionId, resourceGroup));
  }
}
