/**
 * GuestAgent of the local VM fabric. There is no guest to talk to: the agent's health and its faults
 * (agent status, VSS, fsfreeze, snapshot-status reporting) are the VM record's `agent` fields, read
 * from the inventory at every call, so a test can break the agent between two steps of a backup.
 */
import { planSnapshotConsistency, type FreezeMethod, type SnapshotConsistencyPlan } from '../domain/consistency';
import { errors } from '../domain/errors';
import type { VmRef } from '../domain/virtual-machine';
import type { AbortOptions } from './disk-store';
import type { GuestAgent } from './guest-agent';
import type { StoredVirtualMachine, VmInventory } from './vm-inventory';

export interface GuestAgentEvent {
  vm: VmRef;
  action: 'freeze' | 'thaw' | 'snapshotReported';
  /** For `freeze`: how the guest was quiesced. */
  method?: FreezeMethod;
}

export interface FabricGuestAgentOptions {
  /** Called after each successful agent action (tests assert the freeze → thaw order with it). */
  onEvent?: (event: GuestAgentEvent) => void;
}

export class FabricGuestAgent implements GuestAgent {
  constructor(
    private readonly inventory: VmInventory,
    private readonly options: FabricGuestAgentOptions = {},
  ) {}

  async freeze(ref: VmRef, plan: SnapshotConsistencyPlan, options: AbortOptions = {}): Promise<SnapshotConsistencyPlan> {
    if (plan.freeze === 'none') return plan;
    const vm = await this.require(ref, options);
    const now = planSnapshotConsistency(vm);
    this.options.onEvent?.({ vm: ref, action: 'freeze', method: now.freeze });
    return now;
  }

  async thaw(ref: VmRef, options: AbortOptions = {}): Promise<void> {
    const vm = await this.inventory.get(ref, options);
    if (vm === undefined || vm.agent.status !== 'Ready') return;
    this.options.onEvent?.({ vm: ref, action: 'thaw' });
  }

  async checkSnapshotReported(ref: VmRef, options: AbortOptions = {}): Promise<void> {
    const vm = await this.require(ref, options);
    if (vm.agent.status !== 'Ready' || vm.agent.snapshotStatus === 'Silent') throw errors.guestAgentSnapshotTaskStatusError(vm.name);
    this.options.onEvent?.({ vm: ref, action: 'snapshotReported' });
  }

  private async require(ref: VmRef, options: AbortOptions): Promise<StoredVirtualMachine> {
    const vm = await this.inventory.get(ref, options);
    if (vm === undefined) throw errors.vmNotFound(ref.name);
    return vm;
  }
}
