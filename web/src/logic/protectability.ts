/**
 * Why a discovered VM cannot be protected, before the user presses Enable — the same rules the API
 * applies (DESIGN §1 Protection; its errors name the same causes). VMs of other regions are not
 * discovered by a vault; the Protect page lists them with that reason. Pure.
 */
import type { ProtectableItem, VirtualMachine } from '../api/types';

export const MAX_DATA_DISKS = 16;

interface ProtectableDetails {
  powerState?: string;
  provisioningState?: string;
  agent?: { status?: string };
  disks?: Array<{ kind: string }>;
  encryption?: { enabled?: boolean; bek?: boolean; kek?: boolean };
}

/** The reasons (empty: it can be protected). */
export function protectionBlockers(item: ProtectableItem): string[] {
  const p = item.properties as ProtectableDetails;
  const reasons: string[] = [];
  if (p.provisioningState === 'Failed') reasons.push('Its provisioning failed (UserErrorVmProvisioningStateFailed): repair or redeploy the VM.');
  if (p.powerState === 'running' && p.agent?.status !== undefined && p.agent.status !== 'Ready') {
    reasons.push('Its VM agent is not ready (UserErrorGuestAgentStatusUnavailable): start or reinstall the Azure VM agent.');
  }
  const dataDisks = (p.disks ?? []).filter((disk) => disk.kind === 'data').length;
  if (dataDisks > MAX_DATA_DISKS) reasons.push(`It has ${dataDisks} data disks; unmanaged-disk VMs may have at most ${MAX_DATA_DISKS}.`);
  if (p.encryption?.enabled === true && p.encryption.kek !== true) {
    reasons.push('It is encrypted with a BitLocker encryption key (BEK) only (UserErrorEncryptedVmBekOnlyNotSupported): Azure Backup needs a BEK and a key encryption key (KEK).');
  }
  return reasons;
}

/** VMs of the subscription that discovery leaves out because they are in another region than the vault. */
export function vmsInOtherRegions(vms: readonly VirtualMachine[], vaultLocation: string, discoveredIds: ReadonlySet<string>): Array<{ vm: VirtualMachine; reason: string }> {
  const norm = (location: string) => location.replace(/\s+/g, '').toLowerCase();
  return vms
    .filter((vm) => !discoveredIds.has(vm.id.toLowerCase()) && norm(vm.location) !== norm(vaultLocation))
    .map((vm) => ({ vm, reason: `It is in ${vm.location}; this vault is in ${vaultLocation}. A vault protects VMs of its own region: use a vault in ${vm.location}.` }));
}
