/**
 * "Create new VM" for a managed VM's point: the VM is created through Microsoft.Compute (a PUT attaching the
 * restored managed disks, as Azure Backup creates it), never replacing one. A VM of that name that attaches
 * exactly this job's restored OS disk was made by an earlier attempt of the job (a retried activity) and counts
 * as created; any other is KluisRestoreTargetVmExists.
 */
import { errors } from '../domain/errors';
import type { RestoredVmSpec } from '../domain/restore-request';
import type { ManagedDiskCompute } from '../stores/managed-disk-compute';

export interface RestoredManagedVmRequest {
  jobId: string;
  targetVm: RestoredVmSpec;
  /** The restored managed disks by engine slot (0 = OS disk, k + 1 = data disk LUN k). */
  disks: Array<{ lun: number; id: string }>;
}

export async function createRestoredManagedVm(deps: { compute: ManagedDiskCompute }, request: RestoredManagedVmRequest): Promise<{ vmId: string; created: boolean }> {
  const { targetVm } = request;
  const os = request.disks.find((disk) => disk.lun === 0);
  if (os === undefined) throw errors.invalidRequest('recoveryType', 'The restored disks hold no OS disk, so no virtual machine can be created from them.');
  const existing = await deps.compute.getVm(targetVm.id);
  if (existing !== undefined) {
    const ours = existing.disks.some((disk) => disk.kind === 'os' && disk.id.toLowerCase() === os.id.toLowerCase());
    if (ours) return { vmId: existing.id, created: false };
    throw errors.restoreTargetVmExists(targetVm.id);
  }
  const vmId = await deps.compute.createVm(targetVm, {
    location: targetVm.location,
    vmSize: targetVm.vmSize,
    osType: targetVm.osType,
    osDiskId: os.id,
    dataDisks: request.disks.filter((disk) => disk.lun > 0).map((disk) => ({ lun: disk.lun - 1, id: disk.id })),
    tags: { kluisRestoreJobId: request.jobId, kluisRestoredFrom: targetVm.recoveryPointId },
  });
  return { vmId, created: true };
}
