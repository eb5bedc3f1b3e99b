/**
 * The guest side of a protected item's snapshot: freeze before (VSS, fsfreeze or pre/post scripts, as
 * the VM's state plans it; nothing for a VM that is not running), thaw after, and the agent's report
 * of the snapshot task. The VM is read from the inventory at each step, so a VM that changed since
 * the backup was planned (stopped, agent broken) is judged as it is now.
 */
import { nameRow } from '../domain/catalog';
import { planSnapshotConsistency, type ConsistencyWarning } from '../domain/consistency';
import { errors } from '../domain/errors';
import type { Consistency } from '../domain/recovery-point-manifest';
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

export async function freezeGuest(deps: GuestQuiesceDeps, ref: BackupJobRef): Promise<FrozenGuest> {
  const vmRef = await vmOfItem(deps, ref);
  const vm = await deps.inventory.get(vmRef);
  if (vm === undefined) throw errors.vmNotFound(vmRef.name);
  const reached = await deps.agent.freeze(vmRef, planSnapshotConsistency(vm));
  return { consistency: reached.consistency, warnings: reached.warnings };
}

/** Thaws the guest (best effort), then requires the agent's report of the snapshot task when it took part. */
export async function thawGuest(deps: GuestQuiesceDeps, ref: BackupJobRef): Promise<void> {
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
