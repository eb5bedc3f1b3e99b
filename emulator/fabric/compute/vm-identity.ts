/** The fixed facts ARM shows about a fabric VM that its inventory record does not carry. */
import { createHash } from 'node:crypto';
import type { VirtualMachine } from '../../../lib/domain/virtual-machine';

/** ARM's `vmId`: a GUID, stable for the VM's resource id (case-insensitive). */
export function vmIdOf(vm: Pick<VirtualMachine, 'id'>): string {
  const hex = createHash('sha256').update(vm.id.toLowerCase()).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The consistency of a restore point taken without `consistencyMode`: what the VM's guest allows. */
export function defaultConsistencyOf(vm: Pick<VirtualMachine, 'powerState' | 'osType' | 'agent'>): 'CrashConsistent' | 'FileSystemConsistent' | 'ApplicationConsistent' {
  if (vm.powerState !== 'running' || vm.agent.status !== 'Ready') return 'CrashConsistent';
  if (vm.osType === 'Windows') return (vm.agent.vss ?? 'Healthy') === 'Healthy' ? 'ApplicationConsistent' : 'FileSystemConsistent';
  return vm.agent.preScript !== undefined ? 'ApplicationConsistent' : 'FileSystemConsistent';
}
