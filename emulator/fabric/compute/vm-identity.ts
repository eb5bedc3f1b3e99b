/** The fixed facts ARM shows about a fabric VM that its inventory record does not carry. */
import { vmUniqueId } from '../../../lib/domain/arm/virtual-machine-resource';
import type { VirtualMachine } from '../../../lib/domain/virtual-machine';

/** ARM's `vmId`: the GUID Kluis's own front door shows for the same VM. */
export function vmIdOf(vm: Pick<VirtualMachine, 'id' | 'createdAt'>): string {
  return vmUniqueId(vm);
}

/** The consistency of a restore point taken without `consistencyMode`: what the VM's guest allows. */
export function defaultConsistencyOf(vm: Pick<VirtualMachine, 'powerState' | 'osType' | 'agent'>): 'CrashConsistent' | 'FileSystemConsistent' | 'ApplicationConsistent' {
  if (vm.powerState !== 'running' || vm.agent.status !== 'Ready') return 'CrashConsistent';
  if (vm.osType === 'Windows') return (vm.agent.vss ?? 'Healthy') === 'Healthy' ? 'ApplicationConsistent' : 'FileSystemConsistent';
  return vm.agent.preScript !== undefined ? 'ApplicationConsistent' : 'FileSystemConsistent';
}
