/** What the fabric's Compute resource services share, and the store keys of each resource. */
import type { VmInventory } from '../../../lib/stores/vm-inventory';
import type { Clock } from '../../clock';
import type { GrantTimers } from './access';
import type { DiskBlobs } from './disk-blobs';
import type { KeyedLock } from './keyed-lock';
import type { ResourceRef, RestorePointRef } from './resource-ids';
import type { ComputeResourceStore, RecordKey } from './resource-store';

export interface ComputeContext {
  store: ComputeResourceStore;
  blobs: DiskBlobs;
  /** The fabric's VMs (the table the product reads as its VM inventory). */
  inventory: VmInventory;
  clock: Clock;
  timers: GrantTimers;
  /** Guest writes and restore points of one VM (key: the VM id) take turns: a restore point is point in time. */
  vmLocks: KeyedLock;
  newUuid(): string;
}

export const keys = {
  disk: (ref: ResourceRef): RecordKey => ({ subscriptionId: ref.subscriptionId, kind: 'disk', resourceGroup: ref.resourceGroup, names: [ref.name] }),
  snapshot: (ref: ResourceRef): RecordKey => ({ subscriptionId: ref.subscriptionId, kind: 'snapshot', resourceGroup: ref.resourceGroup, names: [ref.name] }),
  collection: (ref: ResourceRef): RecordKey => ({ subscriptionId: ref.subscriptionId, kind: 'rpc', resourceGroup: ref.resourceGroup, names: [ref.name] }),
  restorePoint: (ref: RestorePointRef): RecordKey => ({
    subscriptionId: ref.subscriptionId,
    kind: 'rp',
    resourceGroup: ref.resourceGroup,
    names: [ref.collection, ref.name],
  }),
  operation: (subscriptionId: string, id: string): RecordKey => ({ subscriptionId, kind: 'op', resourceGroup: 'operations', names: [id] }),
};

/** ARM's canonical region name: `West Europe` → `westeurope`. */
export function normalizeLocation(location: string): string {
  return location.replace(/\s+/g, '').toLowerCase();
}
