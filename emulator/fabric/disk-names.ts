/**
 * Where the fabric keeps a VM's disks in the source storage account: one container per VM
 * (`vhds-<name>-<hash>`, the hash of the VM's case-insensitive identity, so equal names in other
 * resource groups or subscriptions never share a container) and one fixed-VHD page blob per disk.
 */
import { createHash } from 'node:crypto';
import { vmKey, type VmDisk, type VmRef } from '../../lib/domain/virtual-machine';

const MAX_CONTAINER_NAME_LENGTH = 63;
const HASH_LENGTH = 8;

export function vmDiskContainer(ref: VmRef): string {
  const hash = createHash('sha256').update(vmKey(ref)).digest('hex').slice(0, HASH_LENGTH);
  const room = MAX_CONTAINER_NAME_LENGTH - 'vhds-'.length - HASH_LENGTH - 1;
  const slug = ref.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, room)
    .replace(/-+$/, '');
  return slug === '' ? `vhds-${hash}` : `vhds-${slug}-${hash}`;
}

/** Azure's naming for a VM's disks: `<vm>-osdisk`, `<vm>-datadisk-<lun>`. */
export function vmDiskName(vmName: string, disk: Pick<VmDisk, 'kind' | 'lun'>): string {
  return disk.kind === 'os' ? `${vmName}-osdisk` : `${vmName}-datadisk-${disk.lun}`;
}

export function vmDiskBlobName(vmName: string, disk: Pick<VmDisk, 'kind' | 'lun'>): string {
  return `${vmDiskName(vmName, disk)}.vhd`;
}
