/**
 * Discovery of a VM's disks before a backup: each must be a fixed-VHD page blob of a size Azure supports,
 * with a valid footer. All disks are checked together; the first problem is reported with its disk.
 */
import type { DiscoveredVmDisk, PageBlobDiskRequest, VmDiskRequest } from '../../domain/backup-job';
import { errors, isKluisErrorLike } from '../../../domain/errors';
import { parseVhdFooter, validateDiskSize } from '../../domain/vhd';
import { assertValidBlobName, assertValidContainerName, MAX_LUN } from '../../domain/vault-layout';
import type { DiskStore } from '../../../stores/disk-store';
import type { EngineLogger } from '../../engine-deps';

/** Azure Backup: at most 16 data disks (plus the OS disk) for VMs with unmanaged (page-blob) disks. */
export const MAX_DISKS_PER_VM = 17;

export interface DiscoverDeps {
  source: DiskStore;
  log: EngineLogger;
}

export async function discoverVmDisks(deps: DiscoverDeps, input: { disks: readonly VmDiskRequest[] }): Promise<DiscoveredVmDisk[]> {
  const { disks } = input;
  if (disks.length === 0) throw errors.invalidRequest('disks', 'A VM backup needs at least one disk.');
  if (disks.length > MAX_DISKS_PER_VM) {
    throw errors.invalidRequest('disks', `A VM with page-blob disks has at most 16 data disks and an OS disk (${MAX_DISKS_PER_VM}); got ${disks.length}.`);
  }
  const luns = new Set<number>();
  for (const [index, disk] of disks.entries()) {
    if (!Number.isInteger(disk.lun) || disk.lun < 0 || disk.lun > MAX_LUN) {
      throw errors.invalidRequest(`disks[${index}].lun`, `LUN must be a whole number from 0 to ${MAX_LUN}.`);
    }
    if (luns.has(disk.lun)) throw errors.invalidRequest(`disks[${index}].lun`, `LUN ${disk.lun} appears twice.`);
    luns.add(disk.lun);
    if (!('container' in disk)) throw errors.sourceKindNotSupported(disk.kind, `disk lun ${disk.lun} is not a page blob; a VM's disks are all of one kind`);
    assertValidContainerName(disk.container, `disks[${index}].container`);
    try {
      assertValidBlobName(disk.blob);
    } catch (err) {
      throw errors.invalidRequest(`disks[${index}].blob`, (err as Error).message);
    }
  }
  return Promise.all((disks as readonly PageBlobDiskRequest[]).map((disk) => discoverDisk(deps, disk)));
}

async function discoverDisk(deps: DiscoverDeps, disk: PageBlobDiskRequest): Promise<DiscoveredVmDisk> {
  const ref = { container: disk.container, blob: disk.blob };
  const props = await deps.source.getBlobProperties(ref);
  if (props === undefined) throw errors.sourceDiskNotFound(ref.container, ref.blob);
  if (props.blobType !== 'PageBlob') throw errors.sourceDiskNotPageBlob(ref.container, ref.blob, props.blobType);
  const { blobSize, dataSize } = validateDiskSize(props.size);
  let footerBytes: Buffer;
  try {
    footerBytes = await deps.source.readFooter(ref, blobSize);
  } catch (err) {
    if (isKluisErrorLike(err) && err.code === 'KluisBlobNotFound') throw errors.sourceDiskNotFound(ref.container, ref.blob);
    throw err;
  }
  const footer = parseVhdFooter(footerBytes);
  if (footer.currentSize !== dataSize) {
    throw errors.invalidVhdFooter(`its current size ${footer.currentSize} does not match the blob's data size ${dataSize} (blob size minus the footer)`);
  }
  deps.log.info(`Discovered disk lun ${disk.lun} ${ref.container}/${ref.blob}: ${dataSize} bytes of data, fixed VHD, ${disk.storageType}.`);
  return { ...disk, kind: 'pageBlob', name: disk.name ?? disk.blob, sizeBytes: blobSize, dataSize, vhdUniqueId: footer.uniqueId };
}
