/** The ARM shapes the dashboard reads (the fields it uses; Kluis sends Azure's). */
export interface Resource<P> {
  id: string;
  name: string;
  type?: string;
  location?: string;
  properties: P;
}

export interface ArmList<T> {
  value: T[];
  nextLink?: string;
}

export interface Subscription {
  subscriptionId: string;
  displayName: string;
  state?: string;
}

export interface VaultProperties {
  provisioningState?: string;
  redundancySettings?: { standardTierStorageRedundancy?: string; crossRegionRestore?: string };
  securitySettings?: { softDeleteSettings?: { softDeleteState?: string; softDeleteRetentionPeriodInDays?: number } };
}

export type Vault = Resource<VaultProperties> & { location: string; sku?: { name: string } };

export interface StorageConfigProperties {
  storageModelType?: string;
  storageType?: string;
  storageTypeState?: string;
}

export interface VaultConfigProperties {
  softDeleteFeatureState?: string;
  softDeleteRetentionPeriodInDays?: number;
  enhancedSecurityState?: string;
}

export interface ItemProperties {
  friendlyName: string;
  protectedItemType?: string;
  virtualMachineId?: string;
  sourceResourceId?: string;
  policyId?: string;
  policyName?: string;
  protectionStatus?: string;
  protectionState: string;
  healthStatus?: string;
  healthDetails?: Array<{ code?: number; title?: string; message?: string; recommendations?: string[] }>;
  lastBackupStatus?: string;
  lastBackupTime?: string;
  lastRecoveryPoint?: string;
  extendedInfo?: { oldestRecoveryPoint?: string; recoveryPointCount?: number; policyInconsistent?: boolean };
  isScheduledForDeferredDelete?: boolean;
  deferredDeleteTimeInUTC?: string;
  deferredDeleteTimeRemaining?: string;
  containerName?: string;
}

export type ProtectedItem = Resource<ItemProperties>;

export interface TierDetail {
  type: 'InstantRP' | 'HardenedRP' | string;
  status: string;
  extendedInfo?: Record<string, string>;
}

export interface RecoveryPointProperties {
  objectType?: string;
  recoveryPointType: string;
  recoveryPointTime: string;
  osType?: string;
  virtualMachineSize?: string;
  isSourceVMEncrypted?: boolean;
  recoveryPointTierDetails: TierDetail[];
  recoveryPointDiskConfiguration?: { numberOfDisksIncludedInBackup?: number; includedDiskList?: Array<{ lun: number; name: string }> };
  recoveryPointProperties?: { expiryTime?: string; ruleName?: string };
  keyAndSecret?: { encryptionMechanism?: string; kekDetails?: { keyUrl: string; keyVaultId: string }; bekDetails?: { secretUrl: string; secretVaultId: string } };
}

export type RecoveryPoint = Resource<RecoveryPointProperties>;

export interface JobTask {
  taskId: string;
  status: string;
  startTime?: string;
  endTime?: string;
  duration?: string;
  progressPercentage?: number;
}

export interface JobErrorDetail {
  errorCode?: number;
  errorTitle?: string;
  errorString?: string;
  recommendations?: string[];
}

export interface JobProperties {
  jobType?: string;
  /** DpmJob (a backup server's job). */
  dpmServerName?: string;
  /** MabJob (a direct-mode machine's job). */
  mabServerName?: string;
  entityFriendlyName: string;
  backupManagementType?: string;
  operation: string;
  status: string;
  startTime: string;
  endTime?: string;
  duration?: string;
  actionsInfo?: string[];
  isUserTriggered?: boolean;
  errorDetails?: JobErrorDetail[];
  extendedInfo?: { tasksList?: JobTask[]; progressPercentage?: number; estimatedRemainingDuration?: string; propertyBag?: Record<string, string> };
}

export type Job = Resource<JobProperties>;

export interface ProtectableItemProperties {
  friendlyName: string;
  virtualMachineId?: string;
  protectionState?: string;
  osType?: string;
  protectableItemType?: string;
  [key: string]: unknown;
}

export type ProtectableItem = Resource<ProtectableItemProperties>;

export interface RetentionDuration {
  count: number;
  durationType: 'Days' | 'Weeks' | 'Months' | 'Years';
}

export interface Usage {
  unit?: string;
  currentValue?: number;
  limit?: number;
  name?: { value?: string; localizedValue?: string };
}

export interface Permission {
  actions: string[];
  notActions: string[];
  dataActions?: string[];
  notDataActions?: string[];
}

export interface StorageAccount {
  id: string;
  name: string;
  location: string;
  kind?: string;
  sku?: { name: string; tier?: string };
}

export interface ResourceGroup {
  id: string;
  name: string;
  location: string;
}

export interface VirtualMachine {
  id: string;
  name: string;
  location: string;
  properties?: {
    storageProfile?: { osDisk?: { osType?: string; encryptionSettings?: { enabled?: boolean } }; dataDisks?: unknown[] };
    hardwareProfile?: { vmSize?: string };
  };
}

/**
 * A registered backup server's or direct-mode (MARS) machine's container: AzureBackupServerContainer
 * (`backupManagementType` AzureBackupServer) or MabContainer (`Windows`, MAB). `extendedInfo.lastRefreshedAt` is
 * the server's last check-in with the vault.
 */
export interface ServerContainerProperties {
  containerType?: string;
  friendlyName?: string;
  backupManagementType?: string;
  registrationStatus?: string;
  healthStatus?: string;
  protectedItemCount?: number;
  /** AzureBackupServerContainer. */
  dpmAgentVersion?: string;
  /** MabContainer. */
  agentVersion?: string;
  extendedInfo?: { lastRefreshedAt?: string };
}

export type ServerContainer = Resource<ServerContainerProperties>;

/**
 * A source a server reported: DPMProtectedItem (Azure Backup Server) or MabFileFolderProtectedItem (MAB), the
 * fields of both the dashboard reads.
 */
export interface ServerItemProperties {
  protectedItemType?: string;
  backupManagementType?: string;
  workloadType?: string;
  friendlyName: string;
  containerName?: string;
  protectionState?: string;
  lastRecoveryPoint?: string;
  /** MabFileFolderProtectedItem. */
  lastBackupStatus?: string;
  lastBackupTime?: string;
  extendedInfo?: {
    lastBackupStatus?: string;
    lastRefreshedAt?: string;
    protectionGroupName?: string;
    protectableObjectLoadPath?: Record<string, string>;
    recoveryPointCount?: number;
    oldestRecoveryPoint?: string;
    onPremiseRecoveryPointCount?: number;
    onPremiseOldestRecoveryPoint?: string;
    onPremiseLatestRecoveryPoint?: string;
  };
}

export type ServerItem = Resource<ServerItemProperties>;

/** GenericRecoveryPoint: `recoveryPointType` Disk, Online or DiskAndOnline. */
export interface GenericRecoveryPointProperties {
  objectType?: string;
  friendlyName?: string;
  recoveryPointType?: string;
  recoveryPointTime?: string;
  recoveryPointAdditionalInfo?: string;
}

export type GenericRecoveryPoint = Resource<GenericRecoveryPointProperties>;
