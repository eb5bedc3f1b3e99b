/**
 * The VM agent's backup extension as the snapshot step sees it: quiesce the guest before the disks
 * are snapshotted, resume it afterwards, and confirm the agent reported the snapshot task.
 * Implementation: `fabric-guest-agent.ts` (the local fabric: fault flags read from the VM inventory).
 *
 * Sequence per backup: `freeze` → snapshot all disks → `thaw` (always, also after a failed snapshot)
 * → `checkSnapshotReported`. A plan with `freeze: 'none'` (VM not running) needs no agent at all.
 */
import type { SnapshotConsistencyPlan } from '../domain/consistency';
import type { VmRef } from '../domain/virtual-machine';
import type { AbortOptions } from './disk-store';

export interface GuestAgent {
  /**
   * Quiesces the guest as `plan` says and returns the consistency actually reached, which follows the
   * VM's state *now* (VSS may have failed since planning: FileSystemConsistent with a warning).
   * Throws UserErrorVmNotFoundV2, UserErrorGuestAgentStatusUnavailable, UserErrorFsFreezeFailed,
   * UserErrorVmProvisioningStateFailed or UserErrorVmNotInDesirableState.
   */
  freeze(vm: VmRef, plan: SnapshotConsistencyPlan, options?: AbortOptions): Promise<SnapshotConsistencyPlan>;
  /** Resumes the guest (post-script, thaw). Best effort: succeeds when the VM is gone or the agent is silent. */
  thaw(vm: VmRef, options?: AbortOptions): Promise<void>;
  /** Throws GuestAgentSnapshotTaskStatusError when the agent did not report the snapshot task's status. */
  checkSnapshotReported(vm: VmRef, options?: AbortOptions): Promise<void>;
}
