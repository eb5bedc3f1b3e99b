/**
 * A recovery point as ARM returns it (`IaasVMRecoveryPoint`): type (consistency), time, tiers,
 * OS and size of the VM, disk configuration and encryption, expiry. Built from the catalog row, the
 * item, and (for a single point) its manifest; a list leaves out what only the manifest knows.
 *
 * Disk numbering: the engine's slot 0 is the OS disk (ARM lun -1, as Azure reports it), slot k is
 * the data disk with ARM lun k - 1.
 */
import type { ProtectedItemRecord } from '../catalog';
import type { RecoveryPointManifest } from '../../engine/domain/recovery-point-manifest';
import { tiersOfState, type TierStatus } from '../../engine/domain/restore-plan';

export const RECOVERY_POINT_RESOURCE_TYPE = 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints';

/** The catalog row of a point (stores/recovery-point-catalog.ts RecoveryPointRecord). */
export interface RecoveryPointRow {
  recoveryPointId: string;
  createdAt: string;
  consistency: 'ApplicationConsistent' | 'FileSystemConsistent' | 'CrashConsistent';
  diskCount: number;
  state: string;
  /** On-demand points carry their retain-until; retention records the governing rule and expiry. */
  retention?: {
    isOnDemand: boolean;
    retainUntil?: string;
    ruleName?: string;
    expiryTime?: string;
    reason?: string;
    snapshotTier?: { expiryTime: string; reason: string };
  };
  /** Set on points of encrypted VMs, so a list shows it without reading manifests. */
  isSourceVmEncrypted?: boolean;
}

export type ArmRecoveryPointType = 'AppConsistent' | 'FileSystemConsistent' | 'CrashConsistent';

export interface ArmRecoveryPointResource {
  id: string;
  name: string;
  type: typeof RECOVERY_POINT_RESOURCE_TYPE;
  properties: {
    objectType: 'IaasVMRecoveryPoint';
    recoveryPointType: ArmRecoveryPointType;
    recoveryPointTime: string;
    osType: string;
    virtualMachineSize: string;
    sourceVMStorageType?: 'NormalStorage' | 'PremiumVMOnPartialPremiumStorage';
    isManagedVirtualMachine: false;
    isSourceVMEncrypted: boolean;
    /** `extendedInfo` (Azure: a string map) says until when and why retention keeps the tier. */
    recoveryPointTierDetails: Array<{ type: 'InstantRP' | 'HardenedRP'; status: string; extendedInfo?: Record<string, string> }>;
    recoveryPointDiskConfiguration: {
      numberOfDisksIncludedInBackup: number;
      numberOfDisksAttachedToVm?: number;
      includedDiskList?: Array<{ lun: number; name: string }>;
      excludedDiskList?: Array<{ lun: number; name: string }>;
    };
    recoveryPointProperties?: { expiryTime?: string; ruleName?: string };
    keyAndSecret?: {
      encryptionMechanism: string;
      kekDetails?: { keyUrl: string; keyVaultId: string };
      bekDetails: { secretUrl: string; secretVaultId: string };
    };
  };
}

/** A valid tier's retention decision (retention.ts) as the tier's `extendedInfo`. */
function retentionInfo(status: string, decision: { expiryTime?: string; reason?: string } | undefined): { extendedInfo?: Record<string, string> } {
  if (status !== 'Valid' || decision?.reason === undefined) return {};
  return { extendedInfo: { ...(decision.expiryTime === undefined ? {} : { retentionExpiryTime: decision.expiryTime }), retentionReason: decision.reason } };
}

export function armRecoveryPointType(consistency: RecoveryPointRow['consistency']): ArmRecoveryPointType {
  return consistency === 'ApplicationConsistent' ? 'AppConsistent' : consistency;
}

/** The engine's disk slot as the lun ARM shows: OS disk -1, data disk slot k → lun k - 1. */
export function armLunOfSlot(slot: number): number {
  return slot - 1;
}

/**
 * A tier's status in Azure's RecoveryPointTierStatus (Invalid, Valid, Disabled, Deleted, Rehydrated): a tier whose
 * deletion is pending (e.g. its restore point is kept by a lock) still exists but is not restored from: Invalid.
 */
function armTierStatus(status: TierStatus): 'Valid' | 'Invalid' | 'Deleted' {
  return status === 'Deleting' ? 'Invalid' : status;
}

export function recoveryPointResource(
  itemResourceId: string,
  item: Pick<ProtectedItemRecord, 'vm'>,
  row: RecoveryPointRow,
  manifest?: RecoveryPointManifest,
): ArmRecoveryPointResource {
  const tiers = tiersOfState(row.state);
  const properties: ArmRecoveryPointResource['properties'] = {
    objectType: 'IaasVMRecoveryPoint',
    recoveryPointType: armRecoveryPointType(row.consistency),
    recoveryPointTime: row.createdAt,
    osType: item.vm.osType,
    virtualMachineSize: item.vm.vmSize,
    isManagedVirtualMachine: false,
    isSourceVMEncrypted: row.isSourceVmEncrypted === true || manifest?.keyAndSecret != null,
    recoveryPointTierDetails: [
      { type: 'InstantRP', status: armTierStatus(tiers.instant), ...retentionInfo(tiers.instant, row.retention?.snapshotTier) },
      { type: 'HardenedRP', status: armTierStatus(tiers.vault), ...retentionInfo(tiers.vault, row.retention) },
    ],
    recoveryPointDiskConfiguration: { numberOfDisksIncludedInBackup: row.diskCount },
  };
  const expiryTime = row.retention?.expiryTime ?? row.retention?.retainUntil;
  const ruleName = row.retention?.ruleName;
  if (expiryTime !== undefined || ruleName !== undefined) {
    properties.recoveryPointProperties = {
      ...(expiryTime === undefined ? {} : { expiryTime }),
      ...(ruleName === undefined ? {} : { ruleName }),
    };
  }
  if (manifest !== undefined) {
    properties.sourceVMStorageType = manifest.disks.some((disk) => disk.storageType === 'Premium') ? 'PremiumVMOnPartialPremiumStorage' : 'NormalStorage';
    const included = manifest.disks.map((disk) => ({ lun: armLunOfSlot(disk.lun), name: disk.name }));
    const attached = attachedDisksOf(manifest.vmConfig);
    const includedSlots = new Set(manifest.disks.map((disk) => disk.lun));
    const excluded = attached === undefined ? [] : attached.filter((disk) => !includedSlots.has(disk.slot)).map((disk) => ({ lun: armLunOfSlot(disk.slot), name: disk.name }));
    properties.recoveryPointDiskConfiguration = {
      numberOfDisksIncludedInBackup: included.length,
      numberOfDisksAttachedToVm: attached === undefined ? included.length : attached.length,
      includedDiskList: included,
      excludedDiskList: excluded,
    };
    const keys = manifest.keyAndSecret;
    if (keys != null) {
      properties.keyAndSecret = {
        encryptionMechanism: keys.encryptionMechanism,
        bekDetails: { secretUrl: keys.bek.secretUrl, secretVaultId: keys.bek.secretVaultId },
        ...(keys.kek === undefined ? {} : { kekDetails: { keyUrl: keys.kek.keyUrl, keyVaultId: keys.kek.keyVaultId } }),
      };
    }
  }
  return { id: `${itemResourceId}/recoveryPoints/${row.recoveryPointId}`, name: row.recoveryPointId, type: RECOVERY_POINT_RESOURCE_TYPE, properties };
}

/** The VM's disks as the backup recorded them in `vmConfig.disks` ({slot, name}); undefined when absent. */
function attachedDisksOf(vmConfig: unknown): Array<{ slot: number; name: string }> | undefined {
  if (typeof vmConfig !== 'object' || vmConfig === null || Array.isArray(vmConfig)) return undefined;
  const disks = (vmConfig as { disks?: unknown }).disks;
  if (!Array.isArray(disks)) return undefined;
  const parsed: Array<{ slot: number; name: string }> = [];
  for (const disk of disks) {
    if (typeof disk !== 'object' || disk === null) return undefined;
    const { slot, name } = disk as { slot?: unknown; name?: unknown };
    if (typeof slot !== 'number' || typeof name !== 'string') return undefined;
    parsed.push({ slot, name });
  }
  return parsed;
}
