/**
 * A protected VM as ARM returns it (`…/protectionContainers/{c}/protectedItems/{i}`,
 * `Microsoft.Compute/virtualMachines` item), including the recovery point summary
 * (`extendedInfo`) and the soft-delete fields (`isScheduledForDeferredDelete`,
 * `deferredDeleteTimeInUTC`, `deferredDeleteTimeRemaining` as an ISO 8601 duration), and the
 * zod schema of the PUT body.
 */
import { z } from 'zod';
import type { ProtectedItemRecord } from '../catalog';
import { MAX_DATA_DISK_LUN } from '../virtual-machine';
import { isoDuration } from './job-resource';

export const PROTECTED_ITEM_RESOURCE_TYPE = 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems';

/** What the recovery point catalog says about an item's points. */
export interface RecoveryPointSummary {
  count: number;
  /** ISO time of the oldest point. */
  oldest?: string;
}

/**
 * `healthDetails[].code` is an integer in Azure's specification (the Python SDK parses it as one); Azure's
 * numbers are internal error ids without a public list, so Kluis numbers its own details here, once.
 */
export const HEALTH_DETAIL_CODES = {
  InitialBackupPending: 100001,
  ItemSoftDeleted: 100002,
  RestoreDrillFailed: 100003,
} as const;

export interface HealthDetail {
  code: number;
  title: string;
  message: string;
  recommendations: string[];
}

export interface ArmProtectedItemResource {
  id: string;
  name: string;
  type: typeof PROTECTED_ITEM_RESOURCE_TYPE;
  properties: {
    protectedItemType: 'Microsoft.Compute/virtualMachines';
    backupManagementType: 'AzureIaasVM';
    workloadType: 'VM';
    containerName: string;
    friendlyName: string;
    virtualMachineId: string;
    sourceResourceId: string;
    policyId?: string;
    policyName?: string;
    protectionStatus: 'Healthy' | 'Unhealthy';
    protectionState: ProtectedItemRecord['protectionState'];
    healthStatus: ProtectedItemRecord['healthStatus'];
    healthDetails: HealthDetail[];
    lastBackupStatus?: string;
    lastBackupTime?: string;
    lastRecoveryPoint?: string;
    protectedItemDataId: string;
    extendedInfo: { oldestRecoveryPoint?: string; recoveryPointCount: number; policyInconsistent: boolean };
    extendedProperties?: { diskExclusionProperties: { diskLunList: number[]; isInclusionList: boolean } };
    isScheduledForDeferredDelete?: boolean;
    deferredDeleteTimeInUTC?: string;
    deferredDeleteTimeRemaining?: string;
    /** The running backup job, if any (Kluis: one backup per item at a time). */
    activeBackupJobId?: string;
  };
}

export const INITIAL_BACKUP_PENDING = 'Warning (initial backup pending)';

/**
 * The ARM view of an item. `itemId` is the item's full resource id, `policyId` the full id of its
 * policy (absent once protection is stopped).
 */
export function protectedItemResource(
  item: ProtectedItemRecord,
  ids: { itemId: string; policyId?: string },
  points: RecoveryPointSummary,
  now: Date,
): ArmProtectedItemResource {
  const properties: ArmProtectedItemResource['properties'] = {
    protectedItemType: 'Microsoft.Compute/virtualMachines',
    backupManagementType: 'AzureIaasVM',
    workloadType: 'VM',
    containerName: shortContainerName(item.containerName),
    friendlyName: item.vm.name,
    virtualMachineId: item.vm.id,
    sourceResourceId: item.vm.id,
    protectionStatus: healthStatusOf(item) === 'Passed' ? 'Healthy' : 'Unhealthy',
    protectionState: item.protectionState,
    healthStatus: healthStatusOf(item),
    healthDetails: healthDetailsOf(item),
    protectedItemDataId: item.engineItemId,
    extendedInfo: { recoveryPointCount: points.count, policyInconsistent: false },
  };
  if (item.policyName !== undefined && ids.policyId !== undefined) {
    properties.policyId = ids.policyId;
    properties.policyName = item.policyName;
  }
  if (item.lastBackupStatus !== undefined) properties.lastBackupStatus = item.lastBackupStatus;
  if (item.lastBackupTime !== undefined) properties.lastBackupTime = item.lastBackupTime;
  if (item.lastRecoveryPoint !== undefined) properties.lastRecoveryPoint = item.lastRecoveryPoint;
  if (points.oldest !== undefined) properties.extendedInfo.oldestRecoveryPoint = points.oldest;
  if (item.diskExclusion !== undefined) {
    properties.extendedProperties = {
      diskExclusionProperties: { diskLunList: [...item.diskExclusion.diskLunList], isInclusionList: item.diskExclusion.isInclusionList },
    };
  }
  if (item.softDelete !== undefined) {
    properties.isScheduledForDeferredDelete = true;
    properties.deferredDeleteTimeInUTC = item.softDelete.deletedAt;
    properties.deferredDeleteTimeRemaining = isoDuration(Date.parse(item.softDelete.purgeAt) - now.getTime());
  }
  if (item.activeBackup !== undefined) properties.activeBackupJobId = item.activeBackup.jobId;
  return { id: ids.itemId, name: item.itemName, type: PROTECTED_ITEM_RESOURCE_TYPE, properties };
}

/** ARM items show the container without its `IaasVMContainer;` type prefix. */
function shortContainerName(containerName: string): string {
  return containerName.replace(/^IaasVMContainer;/i, '');
}

/** The backups' health, made ActionRequired while the last restore drill failed. */
export function healthStatusOf(item: Pick<ProtectedItemRecord, 'healthStatus' | 'lastRestoreDrill'>): ProtectedItemRecord['healthStatus'] {
  return item.lastRestoreDrill?.status === 'Failed' ? 'ActionRequired' : item.healthStatus;
}

function healthDetailsOf(item: ProtectedItemRecord): HealthDetail[] {
  const drill = item.lastRestoreDrill;
  const drillDetails: HealthDetail[] =
    drill?.status === 'Failed'
      ? [
          {
            code: HEALTH_DETAIL_CODES.RestoreDrillFailed,
            title: 'Restore drill failed',
            message:
              `The restore drill of recovery point ${drill.recoveryPointId} failed (job ${drill.jobId}, ${drill.endTime})` +
              `${drill.errorCode === undefined ? '' : `: ${drill.errorCode}`}${drill.errorMessage === undefined ? '' : ` ${drill.errorMessage}`}`,
            recommendations: [
              `Open job ${drill.jobId} for the failed check, run \`kluis check --read-data\` on the vault, and take a new backup; the next drill that passes clears this.`,
            ],
          },
        ]
      : [];
  return [...baseHealthDetailsOf(item), ...drillDetails];
}

function baseHealthDetailsOf(item: ProtectedItemRecord): HealthDetail[] {
  if (item.softDelete !== undefined) {
    return [
      {
        code: HEALTH_DETAIL_CODES.ItemSoftDeleted,
        title: 'Soft-deleted',
        message: `Backups of this item were deleted; they are kept until ${item.softDelete.purgeAt} and then purged.`,
        recommendations: ['Undelete the item (PUT with isRehydrate: true) to keep its backups.'],
      },
    ];
  }
  if (item.protectionState === 'IRPending') {
    return [
      {
        code: HEALTH_DETAIL_CODES.InitialBackupPending,
        title: INITIAL_BACKUP_PENDING,
        message: 'The first backup of this VM has not completed yet.',
        recommendations: ['Wait for the scheduled backup, or start one now (POST …/backup).'],
      },
    ];
  }
  return [];
}

// ---- request body --------------------------------------------------------------------------------

const diskLunList = z
  .array(z.number().int().min(0).max(MAX_DATA_DISK_LUN))
  .max(MAX_DATA_DISK_LUN + 1)
  .refine((luns) => new Set(luns).size === luns.length, { error: 'diskLunList names a LUN more than once; list each data disk once.' });

/**
 * `properties` of PUT `…/protectedItems/{item}`: enable (sourceResourceId + policyId), change
 * policy or resume (policyId), stop and retain (protectionState ProtectionStopped), undelete
 * (isRehydrate true). An item read with GET may be sent back: its read-only fields are accepted and
 * ignored.
 */
export const protectedItemPropertiesSchema = z
  .object({
    protectedItemType: z.literal('Microsoft.Compute/virtualMachines', {
      error: "protectedItemType must be 'Microsoft.Compute/virtualMachines' (Azure VMs with page-blob disks)",
    }).optional(),
    sourceResourceId: z.string().min(1).max(1000).optional(),
    virtualMachineId: z.string().min(1).max(1000).optional(),
    /** A policy id or name; '' (with protectionState ProtectionStopped) as `az backup protection disable` sends. */
    policyId: z.string().max(1000).optional(),
    protectionState: z.enum(['IRPending', 'Protected', 'ProtectionError', 'ProtectionStopped', 'ProtectionPaused', 'BackupsSuspended']).optional(),
    isRehydrate: z.boolean().optional(),
    extendedProperties: z
      .object({
        diskExclusionProperties: z.object({ diskLunList, isInclusionList: z.boolean() }).strict().optional(),
      })
      .strict()
      .optional(),
    // Read-only fields of a GET, accepted and ignored.
    backupManagementType: z.string().optional(),
    workloadType: z.string().optional(),
    containerName: z.string().optional(),
    friendlyName: z.string().optional(),
    policyName: z.string().optional(),
    protectionStatus: z.string().optional(),
    healthStatus: z.string().optional(),
    healthDetails: z.array(z.unknown()).optional(),
    lastBackupStatus: z.string().optional(),
    lastBackupTime: z.string().optional(),
    lastRecoveryPoint: z.string().optional(),
    protectedItemDataId: z.string().optional(),
    extendedInfo: z.unknown().optional(),
    isScheduledForDeferredDelete: z.boolean().optional(),
    deferredDeleteTimeInUTC: z.string().optional(),
    deferredDeleteTimeRemaining: z.string().optional(),
    activeBackupJobId: z.string().optional(),
  })
  .strict();

export const protectedItemPutBodySchema = z
  .object({
    properties: protectedItemPropertiesSchema,
    id: z.string().optional(),
    name: z.string().optional(),
    type: z.string().optional(),
    location: z.string().optional(),
    tags: z.record(z.string(), z.string()).optional(),
    eTag: z.string().optional(),
  })
  .strict();

export type ProtectedItemPutBody = z.infer<typeof protectedItemPutBodySchema>;
export type ProtectedItemProperties = z.infer<typeof protectedItemPropertiesSchema>;
