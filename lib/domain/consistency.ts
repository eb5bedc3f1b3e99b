/**
 * Which consistency a VM snapshot can have, and how the guest must be prepared for it (DESIGN §1
 * "Consistency"): a running VM with a healthy agent is snapshotted application consistent (Windows:
 * VSS; Linux: pre/post scripts) or file-system consistent (Linux without scripts, or Windows when
 * VSS is broken, with a warning); a VM that is not running is snapshotted crash consistent without
 * the agent. States that rule out a backup throw the Azure Backup error for them.
 */
import { errors, type KluisErrorCode } from './errors';
import type { Consistency } from '../engine/domain/recovery-point-manifest';
import type { VirtualMachine } from './virtual-machine';

/**
 * How the guest is quiesced: `vss` (Windows Volume Shadow Copy, application writers included),
 * `scripts` (Linux pre-script, file-system freeze, post-script), `fsfreeze` (file systems flushed and
 * frozen: Linux fsfreeze, or the Windows fallback when VSS fails), `none` (crash consistent).
 */
export type FreezeMethod = 'vss' | 'fsfreeze' | 'scripts' | 'none';

export interface ConsistencyWarning {
  code: KluisErrorCode;
  message: string;
}

export interface SnapshotConsistencyPlan {
  consistency: Consistency;
  freeze: FreezeMethod;
  warnings: ConsistencyWarning[];
  /** Why this consistency, in words (for job details and logs). */
  reason: string;
}

export type PlannedVm = Pick<VirtualMachine, 'name' | 'osType' | 'powerState' | 'provisioningState' | 'agent'>;

/**
 * The consistency a snapshot of `vm` gets now. Throws UserErrorVmNotInDesirableState (being created
 * or deleted), UserErrorVmProvisioningStateFailed (running in the failed state),
 * UserErrorGuestAgentStatusUnavailable (running, agent not ready) or UserErrorFsFreezeFailed (Linux
 * freeze fails). A silent snapshot-status report is the agent's failure at snapshot time
 * (GuestAgentSnapshotTaskStatusError), not decided here.
 */
export function planSnapshotConsistency(vm: PlannedVm): SnapshotConsistencyPlan {
  if (vm.provisioningState === 'Creating' || vm.provisioningState === 'Deleting') {
    throw errors.vmNotInDesirableState(vm.name, vm.provisioningState);
  }
  if (vm.powerState !== 'running') {
    return {
      consistency: 'CrashConsistent',
      freeze: 'none',
      warnings: [],
      reason: `The VM is ${vm.powerState}: its disks are snapshotted crash consistent, without the VM agent.`,
    };
  }
  if (vm.provisioningState === 'Failed') throw errors.vmProvisioningStateFailed(vm.name);
  if (vm.agent.status !== 'Ready') throw errors.guestAgentStatusUnavailable(vm.name, vm.agent.status);
  return vm.osType === 'Windows' ? planWindows(vm) : planLinux(vm);
}

function planWindows(vm: PlannedVm): SnapshotConsistencyPlan {
  const vss = vm.agent.vss ?? 'Healthy';
  if (vss === 'Healthy') {
    return { consistency: 'ApplicationConsistent', freeze: 'vss', warnings: [], reason: 'VSS quiesces the applications and file systems.' };
  }
  const warning = vss === 'WriterInBadState' ? errors.vssWriterInBadState(vm.name) : errors.vssServiceInBadState(vm.name);
  return {
    consistency: 'FileSystemConsistent',
    freeze: 'fsfreeze',
    warnings: [{ code: warning.code, message: warning.message }],
    reason: `VSS is not usable (${vss}): the file systems are flushed and frozen instead.`,
  };
}

function planLinux(vm: PlannedVm): SnapshotConsistencyPlan {
  if (vm.agent.fsFreeze === 'Fails') throw errors.fsFreezeFailed(vm.name);
  if (vm.agent.preScript !== undefined && vm.agent.postScript !== undefined) {
    return {
      consistency: 'ApplicationConsistent',
      freeze: 'scripts',
      warnings: [],
      reason: 'The pre-script quiesces the applications, then the file systems are frozen; the post-script resumes them.',
    };
  }
  return { consistency: 'FileSystemConsistent', freeze: 'fsfreeze', warnings: [], reason: 'The file systems are frozen (no pre/post scripts configured).' };
}
