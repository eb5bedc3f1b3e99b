/**
 * A protected VM's snapshot inside its guest's freeze, in one step: freeze (VSS, fsfreeze or pre/post
 * scripts, as the VM's state plans it; nothing for a VM that is not running) → snapshot every disk →
 * thaw, always → the agent's report of the snapshot task. One activity, so the guest is never left
 * frozen while other work queues for activity slots (the benchmark saw a minute between separate
 * freeze and thaw activities under load). The VM is read from the inventory now, so a VM that changed
 * since the backup was planned (stopped, agent broken) is judged as it is.
 */
import { nameRow } from '../domain/catalog';
import { planSnapshotConsistency, type ConsistencyWarning } from '../domain/consistency';
import { errors } from '../domain/errors';
import type { Consistency } from '../engine/domain/recovery-point-manifest';
import { parseVmResourceId, type VmRef } from '../domain/virtual-machine';
import type { GuestAgent } from '../stores/guest-agent';
import type { VaultCatalog } from '../stores/vault-catalog';
import type { VmInventory } from '../stores/vm-inventory';
import type { BackupJobRef } from './backup-requests';
import { vaultPartitionOf } from './jobs';

export interface GuestQuiesceDeps {
  catalog: Pick<VaultCatalog, 'items'>;
  inventory: Pick<VmInventory, 'get'>;
  agent: GuestAgent;
}

export interface FrozenGuest {
  consistency: Consistency;
  warnings: ConsistencyWarning[];
}

export interface SnapshotInsideFreeze<T> extends FrozenGuest {
  snapshots: T;
}

export async function snapshotInsideFreeze<T>(deps: GuestQuiesceDeps, ref: BackupJobRef, snapshot: () => Promise<T>): Promise<SnapshotInsideFreeze<T>> {
  const frozen = await freezeGuest(deps, ref);
  let snapshots: T;
  try {
    snapshots = await snapshot();
  } catch (err) {
    // The snapshot's failure is the one to report; the guest is thawed whatever happens.
    await thawGuest(deps, ref).catch(() => undefined);
    throw err;
  }
  await thawGuest(deps, ref);
  return { ...frozen, snapshots };
}

async function freezeGuest(deps: GuestQuiesceDeps, ref: BackupJobRef): Promise<FrozenGuest> {
  const vmRef = await vmOfItem(deps, ref);
  const vm = await deps.inventory.get(vmRef);
  if (vm === undefined) throw errors.vmNotFound(vmRef.name);
  const reached = await deps.agent.freeze(vmRef, planSnapshotConsistency(vm));
  return { consistency: reached.consistency, warnings: reached.warnings };
}

/** Thaws the guest (best effort), then requires the agent's report of the snapshot task when it took part. */
async function thawGuest(deps: GuestQuiesceDeps, ref: BackupJobRef): Promise<void> {
  const vmRef = await vmOfItem(deps, ref);
  await deps.agent.thaw(vmRef);
  const vm = await deps.inventory.get(vmRef);
  if (vm !== undefined && vm.powerState === 'running') await deps.agent.checkSnapshotReported(vmRef);
}

async function vmOfItem(deps: GuestQuiesceDeps, ref: BackupJobRef): Promise<VmRef> {
  const item = await deps.catalog.items.get(vaultPartitionOf(ref.vault), nameRow(ref.itemName));
  if (item === undefined) throw errors.datasourceNotPresent(ref.itemName);
  const vmRef = parseVmResourceId(item.value.vm.id);
  if (vmRef === undefined) throw errors.vmNotFound(item.value.vm.name);
  return vmRef;
}
