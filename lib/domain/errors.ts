/**
 * The one error type of Kluis and the catalogue of its codes.
 *
 * Codes follow Azure Backup's names where Azure has one (UserError…, BackUpOperationFailed); ours
 * start with `Kluis`. Every code has an HTTP status and a recommendation, so an API response, a job's
 * error details and a log line all say the same thing.
 */

export interface ErrorCodeInfo {
  readonly status: number;
  readonly recommendation: string;
}

/** Every code Kluis raises, in one place. Add new codes here, then a factory below. */
export const ERROR_CODES = {
  // Azure Backup names
  UserErrorUnsupportedDiskSize: {
    status: 400,
    recommendation:
      'Azure Backup supports page-blob disks of up to 32 TiB whose size is a whole number of 512-byte pages. Resize the disk or exclude it from backup.',
  },
  UserErrorVmNotFoundV2: {
    status: 404,
    recommendation: 'The virtual machine no longer exists. Stop protection for it, or restore it from an existing recovery point.',
  },
  BackUpOperationFailed: {
    status: 500,
    recommendation: 'The backup failed because of an internal error. Retry the operation; if it fails again, check the logs for the job.',
  },
  // Kluis names (Azure Backup has none for these cases)
  KluisStorageUnavailable: {
    status: 503,
    recommendation:
      "The storage service did not answer in time, was busy or dropped the connection, also after retries. Nothing half-done became visible: retry the operation in a few minutes (a scheduled backup runs again at its next slot); if it persists, check the storage account's health and the network path to it.",
  },
  KluisBackupRunEnded: {
    status: 500,
    recommendation:
      'The backup stopped without finishing (it was terminated, or its host failed it); what it had started was cleaned up and the item can be backed up again. Run the backup again, or wait for the next scheduled one.',
  },
  KluisInvalidRequest: {
    status: 400,
    recommendation: 'Correct the named field and send the request again.',
  },
  KluisInvalidRequestPath: {
    status: 400,
    recommendation: "Send the resource's path as it is, without '.' or '..' segments (literal or percent-encoded): Kluis does not resolve them into another resource.",
  },
  UnsupportedMediaType: {
    status: 415,
    recommendation: "Send the request body as JSON with the header 'Content-Type: application/json'.",
  },
  KluisRequestHeadersTooLarge: {
    status: 431,
    recommendation: 'Send a shorter request line and headers: together they may take at most 16 KiB (a resource path is far shorter; check for a token or a header sent twice).',
  },
  KluisRequestBodyTooLarge: {
    status: 413,
    recommendation: 'Send a smaller request body: the operations of this API take JSON documents of at most 4 MiB.',
  },
  KluisSourceDiskNotFound: {
    status: 404,
    recommendation: 'Check the container and blob name of the source disk, and that Kluis has access to its storage account.',
  },
  KluisSourceDiskNotPageBlob: {
    status: 400,
    recommendation: 'Only page blobs holding fixed VHDs can be backed up. Convert the disk to a fixed VHD page blob.',
  },
  KluisInvalidVhdFooter: {
    status: 400,
    recommendation: 'The source blob is not a valid fixed VHD (its last 512 bytes must be a VHD footer). Re-upload the disk as a fixed VHD.',
  },
  KluisUnsupportedVhdType: {
    status: 400,
    recommendation: 'Only fixed VHDs are supported. Convert the dynamic or differencing VHD to a fixed VHD first.',
  },
  KluisBlobNotFound: {
    status: 404,
    recommendation: 'A blob Kluis needs is missing. If it was deleted outside Kluis, run the operation again.',
  },
  KluisInvalidBlobName: {
    status: 400,
    recommendation: 'Blob names are 1–1024 characters, at most 254 path segments, and must not end with a dot or a slash.',
  },
  KluisInvalidContainerName: {
    status: 400,
    recommendation: 'Container names are 3–63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.',
  },
  KluisInvalidIdentifier: {
    status: 400,
    recommendation: 'Identifiers are 1–128 letters, digits, dots, underscores and hyphens, starting with a letter or digit.',
  },
  KluisInvalidPageRange: {
    status: 500,
    recommendation: 'The storage service reported page ranges Kluis cannot use. Retry the backup; if it fails again, report the job.',
  },
  KluisTransferIntegrityFailed: {
    status: 500,
    recommendation: 'Data read back did not match what was written. Retry the backup; if it fails again, check the storage account health.',
  },
  // The backup server's repository (issue 16; Azure's MARS/MABS have no public codes for these)
  KluisRepositoryNotFound: {
    status: 404,
    recommendation: 'No backup server repository exists at this location. Check the path, or register the server to create one.',
  },
  KluisRepositoryAlreadyExists: {
    status: 409,
    recommendation: 'A repository already exists here. Open it with its passphrase, or choose an empty location.',
  },
  KluisRepositoryConfigInvalid: {
    status: 500,
    recommendation: 'The repository config is damaged or from an unknown version. Restore the repository from the vault copy.',
  },
  KluisRepositoryDataCorrupt: {
    status: 500,
    recommendation: 'Data in the repository failed its integrity check (it was modified or damaged). Run verify, and restore from the vault copy or another recovery point.',
  },
  KluisRepositoryObjectNotFound: {
    status: 404,
    recommendation: 'An object the repository needs is missing. Run verify; restore from the vault copy or another recovery point.',
  },
  KluisPassphraseIncorrect: {
    status: 400,
    recommendation: 'The passphrase does not unlock this repository. Enter the passphrase chosen at registration; a lost passphrase cannot be recovered, by Kluis or anyone.',
  },
  KluisRepositoryLocked: {
    status: 409,
    recommendation: 'Another backup, copy, restore or prune holds the repository. Retry when it has finished; a lock whose holder stopped without releasing it goes stale after 30 minutes without a refresh and is then removed by the next operation.',
  },
  KluisUnattendedUnlockUnavailable: {
    status: 400,
    recommendation: "This server keeps no machine-wrapped key for the repository (never remembered, forgotten, or a copied data folder without this machine's key). Give the passphrase, and run kluis-server remember-key to unlock unattended after restarts.",
  },
  KluisPassphraseTooShort: {
    status: 400,
    recommendation: 'Choose a passphrase of at least 16 characters, or let Kluis generate one, and keep it somewhere safe outside this server.',
  },
  KluisVaultCredentialsExpired: {
    status: 400,
    recommendation: 'Vault credentials are valid for 48 hours. Download a new vault credentials file from the vault (Backup infrastructure, or `kluis vault credentials`) and register again.',
  },
  KluisVaultCredentialsInvalid: {
    status: 400,
    recommendation: 'Download the vault credentials file again from the vault this server should register with, and use that file unchanged.',
  },
  KluisBackupServerNotRegistered: {
    status: 404,
    recommendation: 'The backup server is not registered with this vault. Register it with a vault credentials file first.',
  },
  KluisBackupEngineNotFound: {
    status: 404,
    recommendation:
      "Backup engines are the vault's registered backup servers (backupEngines). A machine registered in direct mode (the MARS agent, backupManagementType MAB) has none: find it among the protection containers (backupProtectionContainers?$filter=backupManagementType eq 'MAB').",
  },
  KluisBackupServerSignatureInvalid: {
    status: 401,
    recommendation: 'Requests from a backup server must be signed with the identity key it registered; if the server lost its key, register it again with a new vault credentials file.',
  },
  KluisBackupServerOperationStopped: {
    status: 409,
    recommendation: 'Restore the server’s connection to the vault (it must check in at least every 15 days) and make sure the subscription is Active; the table in docs/backup-server.md lists what each state allows.',
  },
  KluisLocalRetentionOutOfRange: {
    status: 400,
    recommendation: 'Keep recovery points on the backup server’s disks for 1 to 5 days (Azure Backup Server keeps no more than five days locally); keep them longer with the protection group’s online (vault) retention.',
  },
  KluisServerWorkloadNotSupported: {
    status: 400,
    recommendation:
      'Protect the files the workload writes as a folder (for SQL Server, the .bak files of its own BACKUP DATABASE jobs; for SharePoint, the folder of its farm backups), or protect the virtual machine that runs it with Azure VM backup.',
  },
  KluisRestoreNameNotAllowed: {
    status: 400,
    recommendation:
      'Restore to a target whose file system can hold the name (a Linux folder for names Windows refuses), restore only the other paths, or restore to a Windows target with the invalid-name policy "rename" (kluis-server restore --rename-invalid-names), which renames by the documented rules and lists every rename. Nothing was restored.',
  },
  KluisDiskImageInvalid: {
    status: 400,
    recommendation:
      'The disk image is damaged or not the format it claims (a VHD is checked by its footer and, when dynamic, its header and block table, each with its checksum). Protect an intact copy of the image (for example the VHD exported again from its hypervisor), or protect it as a raw image (.img) if it is one; differencing VHDs are not supported: merge them first.',
  },
  KluisBackupServerItemReadOnly: {
    status: 400,
    recommendation:
      'A backup server’s data sources are protected, backed up and restored on the server itself (kluis-server protect, run, restore); the vault shows them, their jobs and recovery points read-only.',
  },
  KluisInvalidConfiguration: {
    status: 500,
    recommendation: 'Fix the named application setting (see local.settings.sample.json) and restart the app.',
  },
  KluisBackupInstanceNotFound: {
    status: 404,
    recommendation: 'Check the backup job id; ids are returned by POST /api/backups.',
  },
  KluisInvalidBlockSums: {
    status: 500,
    recommendation: 'A checksums blob of a recovery point is damaged or of an unknown format. Take a new full backup; report the job if it recurs.',
  },
  KluisInvalidManifest: {
    status: 500,
    recommendation: 'A recovery point manifest is damaged or of an unknown schema. Use another recovery point and report the job.',
  },
  KluisTransferPlanInvalid: {
    status: 500,
    recommendation: 'The transfer plan for a disk segment is inconsistent (internal error). Retry the backup; report the job if it fails again.',
  },
  KluisStagingCopyFailed: {
    status: 500,
    recommendation: 'Copying the disk snapshot to its staging blob failed. Retry the backup; check the source storage account health if it fails again.',
  },
  KluisRestoreDrillEnded: {
    status: 500,
    recommendation:
      'The restore drill stopped without recording its result (its orchestration was terminated or failed); its scratch was deleted and the item\'s health is unchanged. The next drill runs in the next drill period.',
  },
  KluisReplicaWriterFenced: {
    status: 409,
    recommendation:
      'This backup run was declared ended (its job was finalized by the watchdog, or a newer run took the item over) while a part of it was still writing; the newer run owns the vault replica now, so the stale part stopped before writing. Nothing is needed: the newer run (or the next backup) writes the point.',
  },
  KluisReplicaSeedFailed: {
    status: 500,
    recommendation:
      'Seeding the vault replica by a server-side copy failed, or a segment found the replica not seeded by its job. Retry the backup; check the storage account health if it fails again.',
  },
  // The engine's source-disk backends (engine/sources): a point-in-time view of a disk, and access to it
  KluisSourceViewNotFound: {
    status: 404,
    recommendation:
      "The point-in-time view (snapshot or restore point) of a source disk no longer exists: it was deleted while the operation ran. Run the backup again; restore from the vault tier if this was a restore.",
  },
  KluisSourceViewAccessExpired: {
    status: 403,
    recommendation:
      'Access to a point-in-time view of a source disk expired or was revoked before the operation finished. Run the operation again; if it recurs, check that nothing else ends access to the disks (endGetAccess) while Kluis reads them.',
  },
  KluisSourceViewDeleteRefused: {
    status: 409,
    recommendation:
      'The service holding a point-in-time view of a source disk refused to delete it (for managed disks: Compute answered, e.g. ScopeLocked for a CanNotDelete lock on the instant-restore resource group AzureBackupRG_<region>_1). Remove the lock or what keeps the restore point, then retry; Kluis deletes it with the next backup or retention run.',
  },
  KluisSourceKindNotSupported: {
    status: 400,
    recommendation: 'No source-disk backend of this Kluis serves disks of this kind. Back up VMs whose disks are all of one supported kind (page blobs today).',
  },
  ExtensionOperationFailedForManagedDisks: {
    status: 500,
    recommendation:
      'The snapshot of the managed disks (a VM restore point) could not be taken or read. Check that the VM is running and provisioned, that no disk is being resized or detached, and that Kluis may write restore point collections in the Azure Backup resource group; then retry the backup.',
  },
  KluisSourceDiffUnavailable: {
    status: 409,
    recommendation:
      "The changed ranges between two points of a managed disk cannot be listed (the previous point's snapshot is gone or the disk was recreated since). Kluis compares block checksums instead; nothing needs to be done.",
  },
  KluisCatalogConflict: {
    status: 409,
    recommendation: 'The catalog entry was changed by another operation. Read it again and retry.',
  },
  // Restore and delete of recovery points (restore-disks.ts, delete-recovery-point.ts)
  UserErrorInstantRpNotFound: {
    status: 404,
    recommendation:
      'The instant-restore snapshot of this recovery point no longer exists. Restore from the vault tier, or pick a recovery point whose snapshot tier is still available.',
  },
  KluisRecoveryPointNotFound: {
    status: 404,
    recommendation: 'Check the item and recovery point ids; list the recovery points of the item to see which exist.',
  },
  KluisRecoveryPointDataNotFound: {
    status: 404,
    recommendation:
      'The stored data of this recovery point is missing (its snapshot and vault copies are gone). Restore from another recovery point.',
  },
  KluisRestoreVerificationFailed: {
    status: 500,
    recommendation:
      'The data read for the restore did not match the checksums recorded at backup, so the partial restore was deleted. Restore from the other tier of this point (snapshot or vault) or from another recovery point, and report the job: the stored copy may be damaged.',
  },
  KluisRestoreCopyFailed: {
    status: 500,
    recommendation:
      'The server-side copy of a disk into the restore target failed, and what it had made was deleted. Retry the restore; check the target storage account health if it fails again.',
  },
  KluisRestoreTargetExists: {
    status: 409,
    recommendation:
      'Restore never overwrites blobs. Choose another target container or blob prefix, or delete the existing blobs first.',
  },
  KluisVaultTierDeletionBlocked: {
    status: 409,
    recommendation:
      "The vault tier of a recovery point cannot be deleted while its snapshot tier exists. Delete the snapshot tier first, or let retention expire the point.",
  },
  // VM fabric, inventory and guest agent (virtual-machine.ts, consistency.ts, stores/vm-inventory.ts, stores/guest-agent.ts)
  UserErrorGuestAgentStatusUnavailable: {
    status: 409,
    recommendation:
      'The VM agent in the virtual machine is not responding. Make sure the agent is installed, running and up to date (Windows: the "Windows Azure Guest Agent" service; Linux: waagent) and that the VM can reach the Azure platform, then retry.',
  },
  GuestAgentSnapshotTaskStatusError: {
    status: 409,
    recommendation:
      'The VM agent did not report the status of the snapshot task. Restart the VM agent (Windows: "Windows Azure Guest Agent" service; Linux: waagent), make sure it is the latest version, then retry the backup.',
  },
  UserErrorVmProvisioningStateFailed: {
    status: 409,
    recommendation:
      'The virtual machine is in the failed provisioning state. Restart or redeploy it so that its provisioning state is Succeeded, or shut it down (a stopped VM is backed up crash-consistent), then retry the backup.',
  },
  UserErrorVmNotInDesirableState: {
    status: 409,
    recommendation:
      'The virtual machine is in a transitional state (being created, updated or deleted). Wait until the operation on the VM has finished, then retry.',
  },
  UserErrorFsFreezeFailed: {
    status: 409,
    recommendation:
      'Freezing the Linux file systems for a consistent snapshot failed. Make sure every mount point in /etc/fstab is mounted and healthy (run fsck on file systems that report errors, unmount unused ones), then retry the backup.',
  },
  ExtensionFailedVssWriterInBadState: {
    status: 409,
    recommendation:
      'A VSS writer in the VM is in a failed state, so the snapshot was taken file-system consistent instead of application consistent. Run "vssadmin list writers" in the VM, restart the services of writers that are not Stable, then retry for an application-consistent point.',
  },
  ExtensionFailedVssServiceInBadState: {
    status: 409,
    recommendation:
      'The Volume Shadow Copy (VSS) service in the VM is not working, so the snapshot was taken file-system consistent instead of application consistent. Restart the "Volume Shadow Copy" service (or the VM), then retry for an application-consistent point.',
  },
  KluisVmAlreadyExists: {
    status: 409,
    recommendation: 'A virtual machine with this name already exists in the resource group. Choose another name, or delete the existing VM first.',
  },
  KluisInventoryReadOnly: {
    status: 405,
    recommendation:
      'With KLUIS_INVENTORY=arm Kluis reads virtual machines from Azure Resource Manager and cannot change them. Create, change and delete VMs in Azure (portal, az vm), or use the local fabric (KLUIS_INVENTORY=table).',
  },
  KluisManagedDisksNotSupported: {
    status: 400,
    recommendation:
      'Kluis backs up virtual machines whose disks are managed disks or page-blob VHDs in a storage account. Disks of other kinds (ephemeral OS disks) cannot be backed up: recreate the VM with a managed OS disk.',
  },
  KluisMixedDiskKindsNotSupported: {
    status: 400,
    recommendation:
      'Kluis backs up a VM whose disks are all managed disks (through a VM restore point) or all page-blob VHDs. Convert the VM to managed disks (az vm convert), then enable protection or back up again.',
  },
  KluisInventoryRecordInvalid: {
    status: 500,
    recommendation: 'A VM inventory record is damaged or of an unknown shape. Delete the VM from the local fabric and create it again.',
  },
  // Discovery, protection, on-demand backup and jobs (services/protection.ts, soft-delete.ts, backup-claim.ts, backup-requests.ts, jobs.ts, operations.ts)
  UserErrorBackupOperationInProgress: {
    status: 409,
    recommendation: 'Another backup of this item is running; only one backup per item runs at a time. Wait for the running job to finish (see backupJobs), then retry.',
  },
  UserErrorBcmDatasourceNotPresent: {
    status: 404,
    recommendation: 'The item is not protected in this vault. List the vault\'s protected items (backupProtectedItems), or enable protection for the VM first.',
  },
  UserErrorItemProtectionStopped: {
    status: 409,
    recommendation: 'Protection of this item is stopped, so it is not backed up. Resume protection by sending a PUT of the item with a policyId, then retry.',
  },
  UserErrorItemSoftDeleted: {
    status: 409,
    recommendation:
      'The item is soft-deleted: its backups are kept until the purge date and then deleted for good. Undelete it (PUT the item with isRehydrate: true) to stop the purge; then you may resume protection or delete it again.',
  },
  UserErrorVmLocationMismatch: {
    status: 400,
    recommendation: 'A vault protects only virtual machines in its own region. Use (or create) a Recovery Services vault in the region of the VM.',
  },
  UserErrorVmAlreadyProtectedInAnotherVault: {
    status: 409,
    recommendation:
      'A virtual machine can be protected by one vault only. Stop protection in the other vault (and delete its backup data, or wait for the soft-delete purge), or keep using that vault.',
  },
  UserErrorUnsupportedDiskCount: {
    status: 400,
    recommendation: 'Virtual machines can be backed up with at most 16 data disks when their disks are page blobs (unmanaged), 32 with managed disks. Detach data disks, or exclude disks from backup.',
  },
  UserErrorEncryptedVmBekOnlyNotSupported: {
    status: 400,
    recommendation:
      'The VM is encrypted with a BitLocker encryption key (BEK) only; backup needs both BEK and a key encryption key (KEK). Decrypt the VM, encrypt it again with BEK and KEK, then enable backup.',
  },
  UserErrorEncryptedVmNotSupportedWithDiskEx: {
    status: 400,
    recommendation: 'Disks of an encrypted VM cannot be excluded from backup. Remove diskExclusionProperties and protect all disks of the VM.',
  },
  UserErrorOnDemandBackupLimitReached: {
    status: 400,
    recommendation:
      'A Standard policy allows at most 3 on-demand backups of an item per day. Wait until tomorrow (in the policy\'s time zone), or move the item to an Enhanced policy for more frequent backups.',
  },
  UserErrorJobNotCancellable: {
    status: 400,
    recommendation: 'Only a running Backup job can be cancelled, and only while it takes the snapshot (actionsInfo lists "Cancellable" then). Let the job finish.',
  },
  KluisJobNotFound: {
    status: 404,
    recommendation: 'Check the job id; list the vault\'s jobs (backupJobs) to see which exist.',
  },
  KluisOperationNotFound: {
    status: 404,
    recommendation: 'Check the operation id in the Azure-AsyncOperation or Location header you received; operations belong to the vault that accepted the request.',
  },
  // Vaults and policies (H4: arm-names.ts, vault-rules.ts, services/vaults.ts, services/policies.ts)
  ResourceNotFound: {
    status: 404,
    recommendation: 'Check the subscription id, resource group and resource name in the path; list the vaults or policies to see which exist.',
  },
  InvalidSubscriptionId: {
    status: 400,
    recommendation: 'A subscription id is a GUID such as 00000000-0000-0000-0000-000000000000. Correct it in the path.',
  },
  // Generic ARM resources (services/tenancy.ts, services/arm-scope.ts): Azure Resource Manager's own codes
  SubscriptionNotFound: {
    status: 404,
    recommendation:
      "Check the subscription id in the path; GET /subscriptions lists the subscriptions Kluis knows (the default one is KLUIS_SUBSCRIPTION_ID; register others with PUT /providers/Microsoft.Subscription/aliases/{alias}).",
  },
  ReadOnlyDisabledSubscription: {
    status: 409,
    recommendation:
      'Re-enable the subscription (locally: PUT /api/subscriptions/{id}/state {"state":"Enabled"} with the host key). While it is Disabled or Deleted, no backup runs, scheduled or on demand; its recovery points stay readable.',
  },
  ResourceGroupNotFound: {
    status: 404,
    recommendation: 'Create the resource group first (PUT /subscriptions/{id}/resourcegroups/{name} with a location, or az group create), or check its name.',
  },
  InvalidResourceGroupLocation: {
    status: 409,
    recommendation: "A resource group's location cannot change. Send the location it was created in, or create a resource group with another name.",
  },
  ResourceGroupDeletionBlocked: {
    status: 409,
    recommendation:
      'Kluis does not delete the resources of a group for you: delete the named vaults (after stopping protection) and fabric VMs first, then delete the group again.',
  },
  InvalidResourceNamespace: {
    status: 404,
    recommendation: 'GET /providers lists the resource providers Kluis serves (Microsoft.RecoveryServices, Microsoft.Compute, Microsoft.Storage, Microsoft.Resources, Microsoft.KeyVault).',
  },
  InvalidResourceLocation: {
    status: 400,
    recommendation: 'A vault cannot move to another region. Send the location it was created in, or create a new vault with another name in the new region.',
  },
  // Azure answers a vault delete with items inside with this code (and HTTP 400), so clients see the same.
  ServiceResourceNotEmpty: {
    status: 400,
    recommendation:
      'Stop protection of every item (stop and delete data), wait until soft-deleted items are purged or disable soft delete before deleting their data, then delete the vault again.',
  },
  KluisInvalidResourceName: {
    status: 400,
    recommendation:
      'Vault names are 2–50 letters, digits and hyphens starting with a letter; resource group names 1–90 letters, digits, _ - . ( ) not ending with a period; policy names 3–150 letters, digits, hyphens and underscores starting with a letter.',
  },
  KluisVaultLimitReached: {
    status: 409,
    recommendation: 'A subscription holds at most 500 Recovery Services vaults. Delete a vault you no longer need, or use another subscription.',
  },
  KluisPolicyLimitReached: {
    status: 409,
    recommendation: 'A vault holds at most 200 backup policies. Delete unused policies, or move items to an existing policy.',
  },
  KluisItemLimitReached: {
    status: 409,
    recommendation: 'A vault protects at most 1,000 virtual machines. Protect further VMs in another vault.',
  },
  KluisStorageRedundancyLocked: {
    status: 409,
    recommendation:
      'Storage redundancy can only change while the vault holds no backup items. Stop protection with delete data for the named items (and let soft-deleted items be purged), or create a new vault with the redundancy you need.',
  },
  KluisSoftDeleteAlwaysOn: {
    status: 409,
    recommendation: 'Soft delete set to AlwaysON is irreversible: it cannot be disabled or set back to Enabled. Keep AlwaysON, or use another vault.',
  },
  KluisVaultNameInUse: {
    status: 409,
    recommendation: 'Vault names are unique within a subscription (ignoring case). Choose another name, or use the existing vault in its resource group.',
  },
  KluisPolicyInUse: {
    status: 409,
    recommendation: 'A policy that protects items cannot be deleted. Move the named items to another policy or stop their protection, then delete the policy.',
  },
  // Restore over the ARM API (restore-request.ts, services/restore-requests.ts)
  KluisOriginalLocationRestoreNotSupported: {
    status: 400,
    recommendation:
      'Kluis never replaces an existing virtual machine. Restore the disks (recoveryType RestoreDisks) and attach them yourself, or create a new VM from the recovery point (recoveryType AlternateLocation with a new targetVirtualMachineId).',
  },
  KluisCrossRegionRestoreNotSupported: {
    status: 400,
    recommendation:
      "Restores stay in the vault's region. Send the vault's region in properties.region; to have the VM elsewhere, restore the disks and copy them to the other region yourself.",
  },
  KluisRestoreStorageAccountNotAvailable: {
    status: 400,
    recommendation:
      'Kluis restores into the storage account configured as KLUIS_RESTORE_STORAGE. Name that account in properties.storageAccountId, or configure the account you want as the restore account.',
  },
  KluisRestoreTargetVmExists: {
    status: 409,
    recommendation:
      'Restore never replaces an existing virtual machine. Choose a name that is not in use for targetVirtualMachineId, or restore the disks only (recoveryType RestoreDisks).',
  },
  KluisEncryptedVmRestoreNotSupported: {
    status: 400,
    recommendation:
      'Encrypted (Azure Disk Encryption) VMs with unmanaged (page-blob) disks are restored as disks only, as in Azure Backup (a managed VM\'s point restores as a new VM too: its managed disks keep their encryption settings). Restore the disks (recoveryType RestoreDisks) — still encrypted with the key and secret of the recovery point, which must exist in the Key Vault (restore them from the recovery point first if they were deleted) — then create the VM from the restored disks and the VM configuration written next to them.',
  },
  UserErrorRpCollectionLimitReached: {
    status: 409,
    recommendation:
      'An item keeps at most 9,999 recovery points, and on a Standard policy at most 18 of them with instant-restore snapshots. For the 9,999 points: shorten the policy’s retention or delete old points (stop protection with delete data), then back up again. For the snapshots: Kluis deletes the oldest before each backup; when that fails — a CanNotDelete lock on the instant-restore resource group (AzureBackupRG_<region>_1) of a VM with managed disks blocks it, or the source storage account is unreachable — remove the lock (or restore access) and retry the backup.',
  },
  UserErrorKeyvaultPermissionsNotConfigured: {
    status: 400,
    recommendation:
      "The backup service cannot read the Key Vault of the encrypted VM. The VM must be encrypted with both a BEK and a KEK; then add an access policy on the Key Vault for Kluis's backup identity (named in the message) with key permissions Get, List and Backup and secret permissions Get, List and Backup (Azure Backup's template), and enable protection again — a protected VM backs up again with the next backup.",
  },
  UserErrorKeyVaultNotFound: {
    status: 400,
    recommendation:
      'The Key Vault that holds the disk encryption key and secret of this VM does not exist (or cannot be reached). Create the Key Vault again, restore the key and secret into it from a recovery point (POST …/recoveryPoints/{recoveryPointId}/restoreKeyAndSecret with properties.keyVaultId), then retry.',
  },
  UserErrorKeyAndSecretNotFound: {
    status: 400,
    recommendation:
      'The BEK secret or the KEK key this VM is encrypted with no longer exists in its Key Vault. Restore the key and secret from a recovery point into that Key Vault (POST …/recoveryPoints/{recoveryPointId}/restoreKeyAndSecret with properties.keyVaultId) — or recover them if they were only soft-deleted — then retry.',
  },
  UserErrorKeyVaultObjectAlreadyExists: {
    status: 409,
    recommendation:
      'The target Key Vault already has a key or secret of that name (also a soft-deleted one blocks the name). Nothing needs restoring if it is the one the VM was encrypted with; otherwise purge it, or restore into another Key Vault, then retry.',
  },
  KluisRecoveryPointNotEncrypted: {
    status: 400,
    recommendation:
      'Only recovery points of VMs encrypted with Azure Disk Encryption (BEK and KEK) hold a key and secret backup. Choose a recovery point whose isSourceVMEncrypted is true.',
  },
  // Sign-in (the ARM front door): ARM's own codes and status
  AuthenticationFailed: {
    status: 401,
    recommendation: "Send an access token in the Authorization header as 'Bearer <token>': get one for https://management.core.windows.net/ from the identity endpoint (locally: Kluis's; in Azure: Entra ID), e.g. with az account get-access-token.",
  },
  InvalidAuthenticationToken: {
    status: 401,
    recommendation: "Get a new access token from the identity endpoint Kluis trusts and send it unchanged; tokens signed by another issuer's keys, unsigned tokens and tokens not signed with RS256 are refused.",
  },
  ExpiredAuthenticationToken: {
    status: 401,
    recommendation: 'The access token has expired: get a new one (clients such as az and the Azure SDKs do so by themselves) and send the request again.',
  },
  InvalidAuthenticationTokenAudience: {
    status: 401,
    recommendation: 'Ask the identity endpoint for a token for Azure Resource Manager (resource https://management.core.windows.net/ or https://management.azure.com/), not for another service.',
  },
  InvalidAuthenticationTokenTenant: {
    status: 401,
    recommendation: 'Get the token from the authority Kluis trusts (the issuers configured in KLUIS_AUTH_ISSUERS or KLUIS_AUTH_TENANT_ID; locally the identity endpoint kluis-host starts).',
  },
  KluisTokenKeysUnavailable: {
    status: 503,
    recommendation: "Kluis could not read the token issuer's signing keys (KLUIS_AUTH_JWKS_URL). Check that the identity endpoint is running and reachable, then retry.",
  },
  // Routes Kluis does not serve, answered as Azure Resource Manager answers them
  InvalidResourceType: {
    status: 404,
    recommendation: 'Check the resource type in the path against the routes Kluis serves (GET /api/openapi.json lists them, as in the Microsoft.RecoveryServices specification).',
  },
  NotFound: {
    status: 404,
    recommendation: 'Check the path: Kluis serves Azure Resource Manager paths under /subscriptions/… (GET /api/openapi.json lists them).',
  },
  GatewayTimeout: {
    status: 504,
    recommendation:
      'A service Kluis depends on did not answer in time. Send the request again after the Retry-After seconds. A write that timed out was not cut short: it ends in the background, applied entirely or not at all — read the resource (or follow its operation) to see which, or send the same request again.',
  },
  MethodNotAllowed: {
    status: 405,
    recommendation: 'The resource exists but not with this HTTP method; GET /api/openapi.json lists the methods of every route.',
  },
  KluisCustomerManagedKeysNotSupported: {
    status: 400,
    recommendation:
      'Kluis vaults are encrypted at rest by their storage account with platform-managed keys; leave properties.encryption out (the vault reports encryptionAtRestType MicrosoftManaged).',
  },
  // Access control (Azure RBAC): ARM's own codes where ARM has one
  LinkedAuthorizationFailed: {
    status: 403,
    recommendation:
      'The request also acts on another resource (the VM to protect or restore, the storage account the disks land in, the resource group restored managed disks or a new VM are created in): ask its Owner for a role that includes the named action there (Virtual Machine Contributor, Storage Account Contributor, Disk Restore Operator), then get a new token.',
  },
  AuthorizationFailed: {
    status: 403,
    recommendation:
      'Ask an Owner of the vault, its resource group or subscription to assign you a role that includes the named action (Backup Reader to view, Backup Operator to back up and restore, Backup Contributor to manage), then get a new token.',
  },
  RoleAssignmentExists: {
    status: 409,
    recommendation: 'The principal already holds this role at this scope: nothing to do (GET the existing assignment, or delete it before creating it under another name).',
  },
  RoleAssignmentUpdateNotPermitted: {
    status: 409,
    recommendation: 'A role assignment cannot be changed: delete it and create a new one (with a new name) for another role, principal or scope.',
  },
  RoleAssignmentNotFound: {
    status: 404,
    recommendation: 'List the role assignments at the scope ($filter=atScope()) to see which exist.',
  },
  RoleDefinitionDoesNotExist: {
    status: 400,
    recommendation: 'Name a built-in role by its definition id (GET {scope}/providers/Microsoft.Authorization/roleDefinitions lists them, e.g. Backup Reader a795c7a0-d4a2-40c1-ae25-d81f01202912).',
  },
  RoleDefinitionNotFound: {
    status: 404,
    recommendation: 'List the role definitions (GET {scope}/providers/Microsoft.Authorization/roleDefinitions) to see which exist.',
  },
  InvalidRoleAssignmentId: {
    status: 400,
    recommendation: 'Name the role assignment with a new GUID (az role assignment create does so).',
  },
  KluisRoleAssignmentsManagedInAzure: {
    status: 409,
    recommendation: 'With KLUIS_AUTHORIZATION=azure, Kluis reads role assignments from Azure RBAC: create or delete them in Azure (az role assignment create against Azure), not here.',
  },
  // Backups an intruder cannot destroy (soft delete, immutable vaults)
  BMSUserErrorDisablingSoftDeleteStateNotAllowed: {
    status: 409,
    recommendation:
      'Soft delete protects the items it holds: undelete them (PUT with isRehydrate) or wait until they are purged, then turn soft delete off. Disabling it also needs the action Microsoft.RecoveryServices/Vaults/backupconfig/disableSoftDelete/action.',
  },
  UserErrorUnsupportedVaultImmutabilityStateChange: {
    status: 400,
    recommendation: 'A Locked immutable vault stays Locked: it cannot be unlocked or disabled. Keep it, or create another vault for data that need not be immutable.',
  },
  KluisImmutableVaultOperationBlocked: {
    status: 409,
    recommendation:
      'The vault is immutable: recovery points cannot be deleted before they expire and retention cannot be shortened. Stop protection keeping the data, lengthen retention instead, or (only while immutability is Unlocked) disable immutability first.',
  },
  // restoreKeyAndSecret: where keys may go
  KluisKeyVaultOutsideItemScope: {
    status: 400,
    recommendation: "Restore the key and secret into a Key Vault in the protected item's subscription and geography, as Azure Key Vault restores backups only there.",
  },
  KluisCallerKeyVaultPermissionMissing: {
    status: 403,
    recommendation: "Restoring keys and secrets needs the caller's own permission on the target Key Vault: an access policy granting you keys restore and secrets restore there.",
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type KluisErrorCode = keyof typeof ERROR_CODES;

/**
 * Failures that running the same operation again can cure (a transient fault of a service, a race): a job
 * that fails with one of these says so, and sweepers and the next run clean up after it.
 */
export const RETRYABLE_ERROR_CODES: ReadonlySet<KluisErrorCode> = new Set<KluisErrorCode>([
  'KluisStorageUnavailable',
  'KluisBackupRunEnded',
  'KluisTransferIntegrityFailed',
  'KluisStagingCopyFailed',
  'KluisReplicaSeedFailed',
  'KluisRestoreDrillEnded',
  'KluisSourceViewAccessExpired',
  'KluisCatalogConflict',
  'KluisRepositoryLocked',
]);

export function isRetryableCode(code: string): boolean {
  return RETRYABLE_ERROR_CODES.has(code as KluisErrorCode);
}

/** Network errors of Node and the Azure SDKs that say the service was not reached or did not answer. */
const UNREACHABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'REQUEST_SEND_ERROR']);

/**
 * Whether an error (not a KluisError) says a service was unavailable: an Azure SDK RestError with 408, 500,
 * 502, 503 or 504 or an answer cut off in its body, or a network error (reset, refused, timed out). Structural (name, code, statusCode), so it
 * holds across copies of the SDK.
 */
export function isServiceUnavailableError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; code?: unknown; statusCode?: unknown };
  if (e.name === 'KluisError') return false;
  if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) return true;
  // An answer cut off in its body: the SDK reports a parse error without a status.
  if (e.name === 'RestError' && e.code === 'PARSE_ERROR' && e.statusCode === undefined) return true;
  return e.name === 'RestError' && typeof e.statusCode === 'number' && [408, 500, 502, 503, 504].includes(e.statusCode);
}

export const KLUIS_ERROR_CODES = Object.keys(ERROR_CODES) as KluisErrorCode[];

export function isKluisErrorCode(value: unknown): value is KluisErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

export interface KluisErrorDetail {
  code: string;
  message: string;
  target?: string;
}

export class KluisError extends Error {
  override readonly name = 'KluisError';
  readonly code: KluisErrorCode;
  readonly status: number;
  readonly recommendation: string;
  readonly target?: string;
  readonly details?: readonly KluisErrorDetail[];

  constructor(
    code: KluisErrorCode,
    message: string,
    opts: { target?: string; details?: readonly KluisErrorDetail[]; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.recommendation = ERROR_CODES[code].recommendation;
    if (opts.target !== undefined) this.target = opts.target;
    if (opts.details !== undefined) this.details = opts.details;
    // Only the message and the stack cross the Durable activity boundary; putting the code in the
    // stack's first line (Node's `TypeError [ERR_X]: …` style) lets the orchestrator recover it.
    if (typeof this.stack === 'string') {
      this.stack = this.stack.replace(/^[^\n]*/, formatFailure({ code, message }));
    }
  }

  override toString(): string {
    return formatFailure(this);
  }
}

/** Structural check (name/code), so errors from another copy of this module or a worker still count. */
export function isKluisErrorLike(x: unknown): x is Pick<KluisError, 'name' | 'code' | 'message'> &
  Partial<Pick<KluisError, 'status' | 'recommendation' | 'target' | 'details'>> {
  if (typeof x !== 'object' || x === null) return false;
  const candidate = x as { name?: unknown; code?: unknown; message?: unknown };
  return candidate.name === 'KluisError' && isKluisErrorCode(candidate.code) && typeof candidate.message === 'string';
}

// ---- factories: one per code --------------------------------------------------------------------

const TIB = 1024 ** 4;

export const errors = {
  unsupportedDiskSize(sizeInBytes: number, reason: string): KluisError {
    return new KluisError(
      'UserErrorUnsupportedDiskSize',
      `The disk size ${sizeInBytes} bytes is not supported: ${reason}.`,
      { target: 'disk.size' },
    );
  },
  vmNotFound(vmName: string, target = 'vm'): KluisError {
    return new KluisError('UserErrorVmNotFoundV2', `The virtual machine '${vmName}' was not found.`, { target });
  },
  /** A service Kluis needs (Blob, Tables) stayed unavailable through the SDK's retries; `err` is what the SDK threw (kept as the cause, never shown). */
  storageUnavailable(err?: unknown): KluisError {
    const e = (err ?? {}) as { code?: unknown; statusCode?: unknown };
    const what = typeof e.statusCode === 'number' ? `it answered HTTP ${e.statusCode}` : typeof e.code === 'string' ? `the connection failed (${e.code})` : 'it did not answer';
    return new KluisError('KluisStorageUnavailable', `The storage service is unavailable: ${what}, also after retries.`, { cause: err });
  },
  /** The backup watchdog found the run of `jobId` ended without recording its end (terminated, failed uncaught, never started). */
  backupRunEnded(jobId: string, how: string): KluisError {
    return new KluisError('KluisBackupRunEnded', `The backup job ${truncate(jobId, 64)} ended without finishing: ${how}.`);
  },
  backupOperationFailed(message = 'The backup operation failed because of an internal error.', cause?: unknown): KluisError {
    return new KluisError('BackUpOperationFailed', message, { cause });
  },
  /** The request did not finish within its server-side deadline (`kind`: read, write, long operation). */
  gatewayTimeout(deadlineInMs: number, kind: 'read' | 'write' | 'longOperation'): KluisError {
    const seconds = deadlineInMs / 1000;
    const outcome =
      kind === 'read'
        ? 'nothing was changed'
        : 'the request goes on and ends applied entirely or not at all; read the resource to see which, or send the same request again';
    return new KluisError('GatewayTimeout', `Kluis did not finish the request within its deadline of ${seconds} s: ${outcome}.`);
  },
  invalidRequestPath(): KluisError {
    return new KluisError('KluisInvalidRequestPath', "The request path has a '.' or '..' segment.");
  },
  unsupportedMediaType(contentType: string): KluisError {
    return new KluisError('UnsupportedMediaType', `The content media type '${truncate(contentType, 100)}' is not supported. Only 'application/json' is supported.`);
  },
  requestHeadersTooLarge(limitInBytes: number): KluisError {
    return new KluisError('KluisRequestHeadersTooLarge', `The request line and headers are larger than ${limitInBytes} bytes.`);
  },
  requestBodyTooLarge(limitInBytes: number): KluisError {
    return new KluisError('KluisRequestBodyTooLarge', `The request body is larger than ${limitInBytes} bytes.`, { target: 'body' });
  },
  invalidRequest(target: string, message: string, details?: readonly KluisErrorDetail[]): KluisError {
    return new KluisError('KluisInvalidRequest', message, { target, details });
  },
  sourceDiskNotFound(container: string, blob: string): KluisError {
    return new KluisError(
      'KluisSourceDiskNotFound',
      `The source disk '${container}/${blob}' was not found.`,
      { target: 'source' },
    );
  },
  sourceDiskNotPageBlob(container: string, blob: string, blobType: string): KluisError {
    return new KluisError(
      'KluisSourceDiskNotPageBlob',
      `The source disk '${container}/${blob}' is a ${blobType}, not a page blob.`,
      { target: 'source' },
    );
  },
  invalidVhdFooter(reason: string): KluisError {
    return new KluisError('KluisInvalidVhdFooter', `The VHD footer is invalid: ${reason}.`, { target: 'disk.footer' });
  },
  unsupportedVhdType(diskType: number): KluisError {
    const name = diskType === 3 ? 'dynamic' : diskType === 4 ? 'differencing' : `type ${diskType}`;
    return new KluisError('KluisUnsupportedVhdType', `The VHD is ${name}; only fixed VHDs (type 2) are supported.`, {
      target: 'disk.footer.diskType',
    });
  },
  blobNotFound(container: string, blob: string): KluisError {
    return new KluisError('KluisBlobNotFound', `The blob '${container}/${blob}' was not found.`, { target: 'blob' });
  },
  invalidBlobName(name: string, reason: string): KluisError {
    return new KluisError('KluisInvalidBlobName', `The blob name '${truncate(name)}' is invalid: ${reason}.`, {
      target: 'blobName',
    });
  },
  invalidContainerName(name: string, target = 'container'): KluisError {
    return new KluisError(
      'KluisInvalidContainerName',
      `The container name '${truncate(name)}' is invalid.`,
      { target },
    );
  },
  invalidIdentifier(target: string, value: string): KluisError {
    return new KluisError('KluisInvalidIdentifier', `The ${target} '${truncate(value)}' is invalid.`, { target });
  },
  invalidPageRange(message: string): KluisError {
    return new KluisError('KluisInvalidPageRange', message);
  },
  transferIntegrityFailed(message: string): KluisError {
    return new KluisError('KluisTransferIntegrityFailed', message);
  },
  /** The setting's value is never echoed: it may hold an account key. */
  repositoryNotFound(location: string): KluisError {
    return new KluisError('KluisRepositoryNotFound', `No backup server repository was found at '${location}'.`, { target: 'repository' });
  },
  repositoryAlreadyExists(location: string): KluisError {
    return new KluisError('KluisRepositoryAlreadyExists', `A backup server repository already exists at '${location}'.`, { target: 'repository' });
  },
  repositoryConfigInvalid(reason: string): KluisError {
    return new KluisError('KluisRepositoryConfigInvalid', `The repository config is invalid: ${reason}.`, { target: 'repository.config' });
  },
  repositoryDataCorrupt(kind: string, id: string, reason: string): KluisError {
    return new KluisError('KluisRepositoryDataCorrupt', `The repository's ${kind} '${id}' is corrupt: ${reason}.`, { target: kind });
  },
  repositoryObjectNotFound(key: string): KluisError {
    return new KluisError('KluisRepositoryObjectNotFound', `The repository object '${key}' is missing.`, { target: 'repository' });
  },
  passphraseIncorrect(): KluisError {
    return new KluisError('KluisPassphraseIncorrect', 'The passphrase does not unlock the repository.', { target: 'passphrase' });
  },
  repositoryLocked(operation: string, holder: string): KluisError {
    return new KluisError('KluisRepositoryLocked', `The repository cannot be locked for ${operation}: ${holder}.`, { target: 'repository' });
  },
  unattendedUnlockUnavailable(reason: string): KluisError {
    return new KluisError('KluisUnattendedUnlockUnavailable', `The repository cannot be unlocked without the passphrase: ${reason}.`, { target: 'passphrase' });
  },
  passphraseTooShort(length: number): KluisError {
    return new KluisError('KluisPassphraseTooShort', `The passphrase has ${length} characters; at least 16 are required.`, { target: 'passphrase' });
  },
  vaultCredentialsExpired(expiredAt: string): KluisError {
    return new KluisError('KluisVaultCredentialsExpired', `Vault credentials file provided has expired (at ${expiredAt}).`, { target: 'vaultCredentials' });
  },
  vaultCredentialsInvalid(reason: string): KluisError {
    return new KluisError(
      'KluisVaultCredentialsInvalid',
      `Invalid vault credentials provided: ${reason}. The file is either corrupted or does not have the latest credentials associated with the Recovery Services vault.`,
      { target: 'vaultCredentials' },
    );
  },
  backupServerNotRegistered(serverName: string): KluisError {
    return new KluisError('KluisBackupServerNotRegistered', `The backup server '${serverName}' is not registered with this vault.`, { target: 'serverName' });
  },
  backupEngineNotFound(name: string, reason: string): KluisError {
    return new KluisError('KluisBackupEngineNotFound', `The backup engine '${name}' was not found: ${reason}.`, { target: 'backupEngineName' });
  },
  backupServerSignatureInvalid(reason: string): KluisError {
    return new KluisError('KluisBackupServerSignatureInvalid', `The backup server's request is not authenticated: ${reason}.`, { target: 'signature' });
  },
  backupServerOperationStopped(operation: string, connectivity: string, subscription: string): KluisError {
    return new KluisError(
      'KluisBackupServerOperationStopped',
      `${operation} is stopped: the server is ${connectivity} and the subscription is ${subscription}.`,
      { target: 'operation' },
    );
  },
  localRetentionOutOfRange(days: number): KluisError {
    return new KluisError('KluisLocalRetentionOutOfRange', `A local retention of ${days} days is not allowed: it must be 1 to 5 days.`, { target: 'shortTerm.retentionDays' });
  },
  serverWorkloadNotSupported(workloadType: string, label: string): KluisError {
    return new KluisError(
      'KluisServerWorkloadNotSupported',
      `The Kluis backup server does not protect ${label} (workload type ${workloadType}): it protects volumes, files and folders.`,
      { target: 'sources.workloadType' },
    );
  },
  /** A restore would write a path its target cannot hold (`style`: the target's path rules). */
  restoreNameNotAllowed(path: string, reason: string, style: string): KluisError {
    return new KluisError('KluisRestoreNameNotAllowed', `'${truncate(path, 300)}' cannot be restored to a ${style} target: ${reason}.`, { target: 'paths' });
  },
  diskImageInvalid(image: string, reason: string): KluisError {
    return new KluisError('KluisDiskImageInvalid', `The disk image '${truncate(image, 300)}' is invalid: ${reason}.`, { target: 'sources.image' });
  },
  backupServerItemReadOnly(itemName: string, serverName: string, operation: string): KluisError {
    return new KluisError(
      'KluisBackupServerItemReadOnly',
      `'${truncate(operation)}' is not supported for item '${truncate(itemName)}': it is a data source of backup server '${truncate(serverName)}' (backupManagementType AzureBackupServer), managed on that server.`,
      { target: 'protectedItemName' },
    );
  },
  invalidConfiguration(setting: string, reason: string): KluisError {
    return new KluisError('KluisInvalidConfiguration', `The application setting '${setting}' is invalid: ${reason}.`, {
      target: setting,
    });
  },
  invalidBlockSums(reason: string): KluisError {
    return new KluisError('KluisInvalidBlockSums', `The block checksums are invalid: ${reason}.`, { target: 'checksums' });
  },
  invalidManifest(reason: string): KluisError {
    return new KluisError('KluisInvalidManifest', `The recovery point manifest is invalid: ${reason}.`, { target: 'manifest' });
  },
  transferPlanInvalid(reason: string): KluisError {
    return new KluisError('KluisTransferPlanInvalid', `The transfer plan is invalid: ${reason}.`);
  },
  stagingCopyFailed(reason: string, cause?: unknown): KluisError {
    return new KluisError('KluisStagingCopyFailed', `Copying the snapshot to the staging blob failed: ${reason}.`, { cause });
  },
  restoreDrillEnded(jobId: string, how: string): KluisError {
    return new KluisError('KluisRestoreDrillEnded', `The restore drill ${truncate(jobId, 64)} ended without recording its result: ${how}.`);
  },
  replicaWriterFenced(lun: number, jobId: string, owner: string): KluisError {
    return new KluisError(
      'KluisReplicaWriterFenced',
      `Job ${jobId} may no longer write disk lun ${lun}'s vault replica: ${owner === '' ? 'no job' : `job ${owner}`} owns it now.`,
    );
  },
  replicaSeedFailed(reason: string, cause?: unknown): KluisError {
    return new KluisError('KluisReplicaSeedFailed', `Seeding the vault replica by a server-side copy failed: ${reason}.`, { cause });
  },
  sourceViewNotFound(lun: number, detail: string, cause?: unknown): KluisError {
    return new KluisError('KluisSourceViewNotFound', `The point-in-time view of disk lun ${lun} no longer exists: ${detail}.`, { target: 'source', cause });
  },
  sourceViewAccessExpired(lun: number, detail: string, cause?: unknown): KluisError {
    return new KluisError('KluisSourceViewAccessExpired', `Access to the point-in-time view of disk lun ${lun} expired or was revoked: ${detail}.`, {
      target: 'source',
      cause,
    });
  },
  managedDiskSnapshotFailed(detail: string, cause?: unknown): KluisError {
    return new KluisError('ExtensionOperationFailedForManagedDisks', `The snapshot operation on the managed disks failed: ${truncate(detail, 400)}.`, { target: 'source', cause });
  },
  sourceViewDeleteRefused(view: string, detail: string, cause?: unknown): KluisError {
    return new KluisError('KluisSourceViewDeleteRefused', `The point-in-time view ${truncate(view, 200)} could not be deleted: ${truncate(detail, 400)}.`, { target: 'source', cause });
  },
  sourceDiffUnavailable(lun: number, detail: string, cause?: unknown): KluisError {
    return new KluisError('KluisSourceDiffUnavailable', `The changes of disk lun ${lun} since the previous point cannot be listed: ${truncate(detail, 300)}.`, { target: 'source', cause });
  },
  sourceKindNotSupported(kind: string, detail: string): KluisError {
    return new KluisError('KluisSourceKindNotSupported', `Disks of kind '${truncate(kind)}' cannot be backed up or restored: ${detail}.`, { target: 'disks' });
  },
  catalogConflict(what: string): KluisError {
    return new KluisError('KluisCatalogConflict', `${what} was changed by another operation.`, { target: 'etag' });
  },
  instantRpNotFound(itemId: string, recoveryPointId: string, reason: string): KluisError {
    return new KluisError(
      'UserErrorInstantRpNotFound',
      `The snapshot tier of recovery point '${truncate(recoveryPointId)}' of item '${truncate(itemId)}' is not available: ${reason}.`,
      { target: 'recoveryPointId' },
    );
  },
  recoveryPointNotFound(itemId: string, recoveryPointId: string): KluisError {
    return new KluisError(
      'KluisRecoveryPointNotFound',
      `Recovery point '${truncate(recoveryPointId)}' of item '${truncate(itemId)}' does not exist.`,
      { target: 'recoveryPointId' },
    );
  },
  recoveryPointDataNotFound(itemId: string, recoveryPointId: string, reason: string): KluisError {
    return new KluisError(
      'KluisRecoveryPointDataNotFound',
      `The data of recovery point '${truncate(recoveryPointId)}' of item '${truncate(itemId)}' is not available: ${reason}.`,
      { target: 'recoveryPointId' },
    );
  },
  restoreVerificationFailed(lun: number, tier: string, detail: string): KluisError {
    return new KluisError(
      'KluisRestoreVerificationFailed',
      `Restore of disk lun ${lun} from the ${tier} tier failed verification: ${detail}. The partial target was deleted.`,
      { target: `disks[lun=${lun}]` },
    );
  },
  restoreCopyFailed(reason: string, cause?: unknown): KluisError {
    return new KluisError('KluisRestoreCopyFailed', `The server-side copy to the restore target failed: ${reason}.`, { cause });
  },
  restoreTargetExists(container: string, blobs: readonly string[]): KluisError {
    const shown = blobs.slice(0, 5).map((b) => `'${truncate(b)}'`).join(', ');
    const more = blobs.length > 5 ? ` and ${blobs.length - 5} more` : '';
    return new KluisError(
      'KluisRestoreTargetExists',
      `The target container '${container}' already holds ${shown}${more}; nothing was written.`,
      { target: 'target' },
    );
  },
  vaultTierDeletionBlocked(itemId: string, recoveryPointId: string): KluisError {
    return new KluisError(
      'KluisVaultTierDeletionBlocked',
      `The vault tier of recovery point '${truncate(recoveryPointId)}' of item '${truncate(itemId)}' cannot be deleted while its snapshot tier exists.`,
      { target: 'recoveryPointId' },
    );
  },
  backupInstanceNotFound(instanceId: string): KluisError {
    return new KluisError('KluisBackupInstanceNotFound', `No backup job with id '${truncate(instanceId)}' exists.`, {
      target: 'instanceId',
    });
  },
  guestAgentStatusUnavailable(vmName: string, agentStatus: string): KluisError {
    return new KluisError(
      'UserErrorGuestAgentStatusUnavailable',
      `The VM agent of '${truncate(vmName)}' is not ready (status: ${agentStatus}); the backup extension cannot run in the VM.`,
      { target: 'vm.agent' },
    );
  },
  guestAgentSnapshotTaskStatusError(vmName: string): KluisError {
    return new KluisError(
      'GuestAgentSnapshotTaskStatusError',
      `The VM agent of '${truncate(vmName)}' did not report the status of the snapshot task.`,
      { target: 'vm.agent' },
    );
  },
  vmProvisioningStateFailed(vmName: string): KluisError {
    return new KluisError(
      'UserErrorVmProvisioningStateFailed',
      `The virtual machine '${truncate(vmName)}' is running in the failed provisioning state.`,
      { target: 'vm.provisioningState' },
    );
  },
  vmNotInDesirableState(vmName: string, state: string): KluisError {
    return new KluisError(
      'UserErrorVmNotInDesirableState',
      `The virtual machine '${truncate(vmName)}' is in the state '${state}', which does not allow this operation.`,
      { target: 'vm' },
    );
  },
  fsFreezeFailed(vmName: string): KluisError {
    return new KluisError(
      'UserErrorFsFreezeFailed',
      `Freezing the file systems of '${truncate(vmName)}' for the snapshot failed.`,
      { target: 'vm.agent.fsFreeze' },
    );
  },
  vssWriterInBadState(vmName: string): KluisError {
    return new KluisError(
      'ExtensionFailedVssWriterInBadState',
      `A VSS writer in '${truncate(vmName)}' is in a bad state; the snapshot falls back to file-system consistency.`,
      { target: 'vm.agent.vss' },
    );
  },
  vssServiceInBadState(vmName: string): KluisError {
    return new KluisError(
      'ExtensionFailedVssServiceInBadState',
      `The VSS service in '${truncate(vmName)}' is in a bad state; the snapshot falls back to file-system consistency.`,
      { target: 'vm.agent.vss' },
    );
  },
  vmAlreadyExists(vmName: string, resourceGroup: string): KluisError {
    return new KluisError(
      'KluisVmAlreadyExists',
      `The virtual machine '${truncate(vmName)}' already exists in resource group '${truncate(resourceGroup)}'.`,
      { target: 'name' },
    );
  },
  inventoryReadOnly(operation: string): KluisError {
    return new KluisError('KluisInventoryReadOnly', `The VM inventory is read from Azure Resource Manager; '${operation}' is not supported in Azure mode.`);
  },
  managedDisksNotSupported(vmName: string): KluisError {
    return new KluisError(
      'KluisManagedDisksNotSupported',
      `The virtual machine '${truncate(vmName)}' has a disk that is neither a managed disk nor a page-blob VHD.`,
      { target: 'vm.storageProfile' },
    );
  },
  mixedDiskKinds(vmName: string): KluisError {
    return new KluisError(
      'KluisMixedDiskKindsNotSupported',
      `The virtual machine '${truncate(vmName)}' has both managed disks and page-blob (unmanaged) disks; a backup takes disks of one kind.`,
      { target: 'vm.storageProfile' },
    );
  },
  inventoryRecordInvalid(key: string, reason: string): KluisError {
    return new KluisError('KluisInventoryRecordInvalid', `The VM inventory record '${truncate(key)}' is invalid: ${reason}.`);
  },
  instantRpCollectionLimitReached(limit: number, cause: string): KluisError {
    return new KluisError(
      'UserErrorRpCollectionLimitReached',
      `The restore point collection max limit has been reached: a VM keeps at most ${limit} instant-restore points, and the oldest snapshots could not be deleted to make room (${truncate(cause, 300)}).`,
    );
  },
  rpCollectionLimitReached(vmName: string, limit: number): KluisError {
    return new KluisError('UserErrorRpCollectionLimitReached', `The virtual machine '${truncate(vmName)}' already has ${limit} recovery points, the most an item can keep.`);
  },
  backupOperationInProgress(itemName: string, jobId: string): KluisError {
    return new KluisError(
      'UserErrorBackupOperationInProgress',
      `A backup of '${truncate(itemName)}' is already running (job ${truncate(jobId)}).`,
      { target: 'protectedItemName' },
    );
  },
  datasourceNotPresent(itemName: string): KluisError {
    return new KluisError('UserErrorBcmDatasourceNotPresent', `The item '${truncate(itemName)}' is not protected in this vault.`, {
      target: 'protectedItemName',
    });
  },
  itemProtectionStopped(itemName: string): KluisError {
    return new KluisError(
      'UserErrorItemProtectionStopped',
      `Protection of '${truncate(itemName)}' is stopped (ProtectionStopped); it cannot be backed up until protection is resumed.`,
      { target: 'protectedItemName' },
    );
  },
  itemSoftDeleted(itemName: string, purgeAt: string, attempted: string): KluisError {
    return new KluisError(
      'UserErrorItemSoftDeleted',
      `The item '${truncate(itemName)}' is soft-deleted and will be purged at ${purgeAt}; it cannot ${attempted}. Undelete it first.`,
      { target: 'protectedItemName' },
    );
  },
  vmLocationMismatch(vmName: string, vmLocation: string, vaultLocation: string): KluisError {
    return new KluisError(
      'UserErrorVmLocationMismatch',
      `The virtual machine '${truncate(vmName)}' is in '${truncate(vmLocation)}', but the vault is in '${truncate(vaultLocation)}'.`,
      { target: 'properties.sourceResourceId' },
    );
  },
  vmAlreadyProtectedInAnotherVault(vmName: string, vaultId: string, state: string): KluisError {
    return new KluisError(
      'UserErrorVmAlreadyProtectedInAnotherVault',
      `The virtual machine '${truncate(vmName)}' is already associated with the vault '${truncate(vaultId)}' (${state}).`,
      { target: 'properties.sourceResourceId' },
    );
  },
  unsupportedDiskCount(vmName: string, dataDisks: number, limit: number): KluisError {
    return new KluisError(
      'UserErrorUnsupportedDiskCount',
      `The virtual machine '${truncate(vmName)}' has ${dataDisks} data disks to back up; at most ${limit} are supported for ${limit > 16 ? 'managed' : 'page-blob'} disks.`,
      { target: 'properties.sourceResourceId' },
    );
  },
  encryptedVmBekOnly(vmName: string): KluisError {
    return new KluisError(
      'UserErrorEncryptedVmBekOnlyNotSupported',
      `Validation failed: the virtual machine '${truncate(vmName)}' is encrypted with a BEK only; backups can be enabled only for VMs encrypted with both a BEK and a KEK.`,
      { target: 'properties.sourceResourceId' },
    );
  },
  encryptedVmDiskExclusion(vmName: string): KluisError {
    return new KluisError(
      'UserErrorEncryptedVmNotSupportedWithDiskEx',
      `The virtual machine '${truncate(vmName)}' is encrypted; its disks cannot be excluded from backup.`,
      { target: 'properties.extendedProperties.diskExclusionProperties' },
    );
  },
  onDemandBackupLimitReached(itemName: string, limit: number): KluisError {
    return new KluisError(
      'UserErrorOnDemandBackupLimitReached',
      `'${truncate(itemName)}' already had ${limit} on-demand backups today, the most a Standard policy allows.`,
      { target: 'protectedItemName' },
    );
  },
  jobNotCancellable(jobId: string, reason: string): KluisError {
    return new KluisError('UserErrorJobNotCancellable', `The job '${truncate(jobId)}' cannot be cancelled: ${reason}.`, { target: 'jobName' });
  },
  jobNotFound(jobId: string): KluisError {
    return new KluisError('KluisJobNotFound', `No job with id '${truncate(jobId)}' exists in this vault.`, { target: 'jobName' });
  },
  operationNotFound(operationId: string): KluisError {
    return new KluisError('KluisOperationNotFound', `No operation with id '${truncate(operationId)}' exists in this vault.`, {
      target: 'operationId',
    });
  },
  resourceNotFound(resourceType: string, name: string, resourceGroup: string, target: string): KluisError {
    return new KluisError(
      'ResourceNotFound',
      `The Resource '${resourceType}/${truncate(name)}' under resource group '${truncate(resourceGroup)}' was not found.`,
      { target },
    );
  },
  invalidSubscriptionId(value: string, target = 'subscriptionId'): KluisError {
    return new KluisError('InvalidSubscriptionId', `The provided subscription identifier '${truncate(value)}' is malformed or invalid.`, { target });
  },
  subscriptionNotFound(subscriptionId: string): KluisError {
    return new KluisError('SubscriptionNotFound', `The subscription '${truncate(subscriptionId)}' could not be found.`, { target: 'subscriptionId' });
  },
  /** ARM's answer to a write on a Disabled (or Deleted) subscription, with ARM's text. */
  readOnlyDisabledSubscription(subscriptionId: string): KluisError {
    return new KluisError(
      'ReadOnlyDisabledSubscription',
      `The subscription '${truncate(subscriptionId)}' is disabled and therefore marked as read only. You cannot perform any write actions on this subscription until it is re-enabled.`,
      { target: 'subscriptionId' },
    );
  },
  resourceGroupNotFound(resourceGroup: string): KluisError {
    return new KluisError('ResourceGroupNotFound', `Resource group '${truncate(resourceGroup)}' could not be found.`, { target: 'resourceGroupName' });
  },
  invalidResourceGroupLocation(resourceGroup: string, existing: string, requested: string): KluisError {
    return new KluisError(
      'InvalidResourceGroupLocation',
      `Invalid resource group location '${truncate(requested)}'. The Resource group already exists in location '${existing}'.`,
      { target: 'location' },
    );
  },
  resourceGroupDeletionBlocked(resourceGroup: string, resourceIds: readonly string[]): KluisError {
    const shown = resourceIds.slice(0, 10);
    const more = resourceIds.length > shown.length ? ` and ${resourceIds.length - shown.length} more` : '';
    return new KluisError(
      'ResourceGroupDeletionBlocked',
      `Deletion of resource group '${truncate(resourceGroup)}' failed as resources with identifiers '${shown.join(',')}'${more} could not be deleted: Kluis does not delete a group's resources for you.`,
      { target: 'resourceGroupName', details: shown.map((id) => ({ code: 'ResourceGroupDeletionBlocked', message: `The group still holds '${id}'.`, target: id })) },
    );
  },
  invalidResourceNamespace(namespace: string): KluisError {
    return new KluisError('InvalidResourceNamespace', `The resource namespace '${truncate(namespace)}' is invalid.`, { target: 'resourceProviderNamespace' });
  },
  invalidResourceName(target: string, value: string, rule: string): KluisError {
    return new KluisError('KluisInvalidResourceName', `The name '${truncate(value)}' is invalid: ${rule}.`, { target });
  },
  invalidResourceLocation(name: string, resourceGroup: string, existing: string, requested: string): KluisError {
    return new KluisError(
      'InvalidResourceLocation',
      `The resource '${truncate(name)}' already exists in location '${truncate(existing)}' in resource group '${truncate(resourceGroup)}'. A resource with the same name cannot be created in location '${truncate(requested)}'.`,
      { target: 'location' },
    );
  },
  vaultNotEmpty(vaultName: string, holding: string, details?: readonly KluisErrorDetail[]): KluisError {
    return new KluisError(
      'ServiceResourceNotEmpty',
      `Vault '${truncate(vaultName)}' cannot be deleted as there are backup items within it: ${holding}.`,
      { target: 'vaultName', details },
    );
  },
  vaultLimitReached(subscriptionId: string, limit: number): KluisError {
    return new KluisError('KluisVaultLimitReached', `Subscription '${truncate(subscriptionId)}' already holds ${limit} vaults, the limit.`, { target: 'vaultName' });
  },
  policyLimitReached(vaultName: string, limit: number): KluisError {
    return new KluisError('KluisPolicyLimitReached', `Vault '${truncate(vaultName)}' already holds ${limit} backup policies, the limit.`, { target: 'policyName' });
  },
  itemLimitReached(vaultName: string, limit: number): KluisError {
    return new KluisError('KluisItemLimitReached', `Vault '${truncate(vaultName)}' already holds ${limit} protected items, the limit.`, { target: 'protectedItemName' });
  },
  storageRedundancyLocked(vaultName: string, current: string, requested: string, holding: string, target = 'properties.storageModelType'): KluisError {
    return new KluisError(
      'KluisStorageRedundancyLocked',
      `The storage redundancy of vault '${truncate(vaultName)}' cannot change from ${current} to ${requested}: ${holding}.`,
      { target },
    );
  },
  softDeleteAlwaysOn(vaultName: string, requested: string, target = 'properties.softDeleteFeatureState'): KluisError {
    return new KluisError(
      'KluisSoftDeleteAlwaysOn',
      `Soft delete of vault '${truncate(vaultName)}' is AlwaysON and cannot be set to ${requested}.`,
      { target },
    );
  },
  vaultNameInUse(vaultName: string, otherResourceGroup: string): KluisError {
    return new KluisError(
      'KluisVaultNameInUse',
      `A vault named '${truncate(vaultName)}' already exists in resource group '${truncate(otherResourceGroup)}' of this subscription.`,
      { target: 'vaultName' },
    );
  },
  policyInUse(policyName: string, holding: string): KluisError {
    return new KluisError('KluisPolicyInUse', `Policy '${truncate(policyName)}' cannot be deleted: ${holding}.`, { target: 'policyName' });
  },
  originalLocationRestoreNotSupported(vmName: string): KluisError {
    return new KluisError(
      'KluisOriginalLocationRestoreNotSupported',
      `An OriginalLocation restore would replace the disks of the existing virtual machine '${truncate(vmName)}'; Kluis never replaces an existing VM.`,
      { target: 'properties.recoveryType' },
    );
  },
  crossRegionRestoreNotSupported(requestedRegion: string, vaultRegion: string): KluisError {
    return new KluisError(
      'KluisCrossRegionRestoreNotSupported',
      `The restore targets region '${truncate(requestedRegion)}', but the vault and its virtual machine are in '${truncate(vaultRegion)}'; restores never cross regions.`,
      { target: 'properties.region' },
    );
  },
  restoreStorageAccountNotAvailable(requested: string, restoreAccount: string): KluisError {
    return new KluisError(
      'KluisRestoreStorageAccountNotAvailable',
      `Kluis cannot restore into storage account '${truncate(requested)}'; it restores into '${truncate(restoreAccount)}'.`,
      { target: 'properties.storageAccountId' },
    );
  },
  restoreTargetVmExists(vmId: string): KluisError {
    return new KluisError(
      'KluisRestoreTargetVmExists',
      `The virtual machine '${truncate(vmId)}' already exists; a restore never replaces an existing VM.`,
      { target: 'properties.targetVirtualMachineId' },
    );
  },
  encryptedVmRestoreNotSupported(): KluisError {
    return new KluisError(
      'KluisEncryptedVmRestoreNotSupported',
      'The recovery point is of an encrypted virtual machine with unmanaged (page-blob) disks: such VMs are restored as disks only (recoveryType RestoreDisks); a new VM is not created from them.',
      { target: 'properties.recoveryType' },
    );
  },
  keyvaultPermissionsNotConfigured(vmName: string, problems: ReadonlyArray<{ vault: string; missing: readonly string[] }>, principal?: string, target = 'properties.sourceResourceId'): KluisError {
    const who = principal === undefined ? "Kluis's backup identity" : `Kluis's backup identity (object id ${truncate(principal, 64)})`;
    const what = problems.map((p) => `${p.missing.join(', ')} on Key Vault '${truncate(p.vault)}'`).join('; ');
    return new KluisError(
      'UserErrorKeyvaultPermissionsNotConfigured',
      `The virtual machine '${truncate(vmName)}' is encrypted, and ${who} lacks permissions to back up its key and secret: ${what}. Grant keys get, list, backup and secrets get, list, backup.`,
      { target },
    );
  },
  keyVaultNotFound(vmName: string, vault: string, target = 'properties.sourceResourceId'): KluisError {
    return new KluisError(
      'UserErrorKeyVaultNotFound',
      `The Key Vault '${truncate(vault)}' that holds the disk encryption key and secret of '${truncate(vmName)}' does not exist or cannot be reached.`,
      { target },
    );
  },
  keyAndSecretNotFound(vmName: string, missing: readonly string[], target = 'properties.sourceResourceId'): KluisError {
    return new KluisError(
      'UserErrorKeyAndSecretNotFound',
      `The disk encryption key and secret of '${truncate(vmName)}' do not exist: ${missing.map((m) => truncate(m)).join(', ')} not found.`,
      { target },
    );
  },
  keyvaultRestorePermissionsNotConfigured(vault: string, missing: readonly string[], principal?: string, target = 'properties.keyVaultId'): KluisError {
    const who = principal === undefined ? "Kluis's backup identity" : `Kluis's backup identity (object id ${truncate(principal, 64)})`;
    return new KluisError(
      'UserErrorKeyvaultPermissionsNotConfigured',
      `${who} may not restore the key and secret into Key Vault '${truncate(vault)}': it lacks ${missing.join(', ')}. Grant keys restore and secrets restore on that Key Vault, then retry.`,
      { target },
    );
  },
  keyVaultObjectAlreadyExists(vault: string, objects: readonly string[], target = 'properties.keyVaultId'): KluisError {
    return new KluisError(
      'UserErrorKeyVaultObjectAlreadyExists',
      `Key Vault '${truncate(vault)}' already has ${objects.map((o) => truncate(o)).join(' and ')}; a restore never replaces a key or secret.`,
      { target },
    );
  },
  authenticationHeaderMissing(): KluisError {
    return new KluisError('AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
  },
  authenticationHeaderInvalid(): KluisError {
    return new KluisError('AuthenticationFailed', "Authentication failed. The 'Authorization' header is provided in an invalid format.");
  },
  invalidAuthenticationToken(message = 'The access token is invalid.'): KluisError {
    return new KluisError('InvalidAuthenticationToken', message);
  },
  expiredAuthenticationToken(expiry: string, now: string): KluisError {
    return new KluisError('ExpiredAuthenticationToken', `The access token expiry UTC time '${truncate(expiry, 40)}' is earlier than current UTC time '${truncate(now, 40)}'.`);
  },
  invalidAuthenticationTokenAudience(audience: string, allowed: readonly string[]): KluisError {
    return new KluisError(
      'InvalidAuthenticationTokenAudience',
      `The access token has been obtained for wrong audience or resource '${truncate(audience)}'. It should exactly match with one of the allowed audiences ${allowed.map((a) => `'${truncate(a)}'`).join(',')}.`,
    );
  },
  invalidAuthenticationTokenTenant(issuer: string, accepted: readonly string[], authority: string): KluisError {
    return new KluisError(
      'InvalidAuthenticationTokenTenant',
      `The access token is from the wrong issuer '${truncate(issuer)}'. It must match one of ${accepted.map((a) => `'${truncate(a)}'`).join(', ')}. Please use the authority (URL) '${truncate(authority)}' to get the token.`,
    );
  },
  tokenKeysUnavailable(jwksUrl: string, reason: string): KluisError {
    return new KluisError('KluisTokenKeysUnavailable', `The signing keys at '${truncate(jwksUrl)}' could not be read: ${truncate(reason)}.`);
  },
  recoveryPointNotEncrypted(vmName: string, recoveryPointId: string, why = 'the VM was not encrypted'): KluisError {
    return new KluisError(
      'KluisRecoveryPointNotEncrypted',
      `Recovery point ${truncate(recoveryPointId, 64)} of '${truncate(vmName)}' holds no key and secret backup: ${why}.`,
      { target: 'recoveryPointId' },
    );
  },
  /** ARM's answer for a resource type under a provider that has no such type. */
  invalidResourceType(resourceType: string, namespace: string, apiVersion: string | null): KluisError {
    return new KluisError(
      'InvalidResourceType',
      `The resource type '${truncate(resourceType, 120)}' could not be found in the namespace '${truncate(namespace)}'${apiVersion === null ? '' : ` for api version '${truncate(apiVersion, 40)}'`}.`,
    );
  },
  routeNotFound(path: string): KluisError {
    return new KluisError('NotFound', `No route matches '${truncate(path, 200)}'.`);
  },
  methodNotAllowed(method: string, allowed: readonly string[]): KluisError {
    return new KluisError('MethodNotAllowed', `The requested resource does not support http method '${truncate(method, 10)}'; it supports ${allowed.join(', ')}.`);
  },
  customerManagedKeysNotSupported(target = 'properties.encryption'): KluisError {
    return new KluisError('KluisCustomerManagedKeysNotSupported', 'Kluis vaults do not support customer-managed keys: their data is encrypted at rest with platform-managed keys.', { target });
  },
  authorizationFailed(caller: { name?: string; objectId: string }, action: string, scope: string): KluisError {
    const client = caller.name ?? caller.objectId;
    return new KluisError(
      'AuthorizationFailed',
      `The client '${truncate(client, 120)}' with object id '${truncate(caller.objectId, 40)}' does not have authorization to perform action '${truncate(action, 200)}' over scope '${truncate(scope, 400)}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    );
  },
  linkedAuthorizationFailed(caller: { name?: string; objectId: string }, on: { action: string; scope: string }, linked: { action: string; scope: string }): KluisError {
    const client = caller.name ?? caller.objectId;
    return new KluisError(
      'LinkedAuthorizationFailed',
      `The client '${truncate(client, 120)}' with object id '${truncate(caller.objectId, 40)}' has permission to perform action '${truncate(on.action, 200)}' on scope '${truncate(on.scope, 400)}'; however, it does not have permission to perform action(s) '${truncate(linked.action, 200)}' on the linked scope(s) '${truncate(linked.scope, 400)}' (respectively) or the linked scope(s) are invalid.`,
    );
  },
  roleAssignmentExists(): KluisError {
    return new KluisError('RoleAssignmentExists', 'The role assignment already exists.');
  },
  roleAssignmentUpdateNotPermitted(): KluisError {
    return new KluisError('RoleAssignmentUpdateNotPermitted', 'Tenant ID, application ID, principal ID, and scope are not allowed to be updated.');
  },
  roleAssignmentNotFound(name: string): KluisError {
    return new KluisError('RoleAssignmentNotFound', `The role assignment '${truncate(name, 64)}' is not found.`);
  },
  roleDefinitionDoesNotExist(id: string): KluisError {
    return new KluisError('RoleDefinitionDoesNotExist', `The specified role definition with ID '${truncate(id, 64)}' does not exist.`, { target: 'properties.roleDefinitionId' });
  },
  roleDefinitionNotFound(id: string): KluisError {
    return new KluisError('RoleDefinitionNotFound', `The role definition '${truncate(id, 64)}' could not be found.`);
  },
  invalidRoleAssignmentId(name: string): KluisError {
    return new KluisError('InvalidRoleAssignmentId', `The role assignment ID '${truncate(name, 64)}' is not valid. The role assignment ID must be a GUID.`, { target: 'roleAssignmentName' });
  },
  roleAssignmentsManagedInAzure(): KluisError {
    return new KluisError('KluisRoleAssignmentsManagedInAzure', 'Role assignments are read from Azure RBAC (KLUIS_AUTHORIZATION=azure); Kluis does not change them.');
  },
  disablingSoftDeleteNotAllowed(items: readonly string[]): KluisError {
    const shown = items.slice(0, 5).map((item) => `'${truncate(item, 80)}'`).join(', ');
    return new KluisError(
      'BMSUserErrorDisablingSoftDeleteStateNotAllowed',
      `Disabling soft delete is not allowed while the vault holds soft-deleted items (${items.length}: ${shown}${items.length > 5 ? ', …' : ''}).`,
      { target: 'properties.softDeleteFeatureState' },
    );
  },
  unsupportedImmutabilityStateChange(requested: string): KluisError {
    return new KluisError(
      'UserErrorUnsupportedVaultImmutabilityStateChange',
      `The immutable vault property for this vault is locked, hence, this setting cannot be changed to '${truncate(requested, 20)}'. The vault has its immutable vault property enabled and locked, and it can no longer be reverted to a non-immutable vault.`,
      { target: 'properties.securitySettings.immutabilitySettings.state' },
    );
  },
  immutableVaultOperationBlocked(what: string, target?: string): KluisError {
    return new KluisError('KluisImmutableVaultOperationBlocked', `The vault is immutable: ${truncate(what, 400)}.`, target === undefined ? {} : { target });
  },
  keyVaultOutsideItemScope(why: string): KluisError {
    return new KluisError('KluisKeyVaultOutsideItemScope', `The key and secret cannot be restored there: ${truncate(why, 300)}.`, { target: 'properties.keyVaultId' });
  },
  callerKeyVaultPermissionMissing(caller: string, vault: string, missing: readonly string[]): KluisError {
    return new KluisError(
      'KluisCallerKeyVaultPermissionMissing',
      `The caller '${truncate(caller, 120)}' may not restore into Key Vault '${truncate(vault)}': its access policies do not grant it ${missing.join(', ')}.`,
      { target: 'properties.keyVaultId' },
    );
  },
} as const;

export const DISK_SIZE_LIMIT_IN_BYTES = 32 * TIB;

function truncate(value: string, max = 200): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}

// ---- ARM error envelope ---------------------------------------------------------------------------

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    target?: string;
    details?: KluisErrorDetail[];
    recommendation?: string;
  };
}

/**
 * The ARM envelope `{error:{code,message,target?,details?}}` plus our `recommendation`.
 * Anything that is not a KluisError becomes BackUpOperationFailed with a generic message, so
 * internal texts (which may contain URLs or keys) never reach a response.
 */
export function toErrorBody(err: unknown): ErrorBody {
  const failure = describeFailure(err);
  const body: ErrorBody['error'] = { code: failure.code, message: failure.message };
  if (isKluisErrorLike(err)) {
    if (err.target !== undefined) body.target = err.target;
    if (err.details !== undefined && err.details.length > 0) body.details = [...err.details];
  }
  body.recommendation = ERROR_CODES[failure.code].recommendation;
  return { error: body };
}

/** The HTTP status for an error: its code's (a service that was unavailable: 503), 500 otherwise. */
export function statusOf(err: unknown): number {
  return ERROR_CODES[describeFailure(err).code].status;
}

export interface FailureDescription {
  code: KluisErrorCode;
  message: string;
}

const CODE_IN_TEXT = new RegExp(`KluisError \\[(${KLUIS_ERROR_CODES.join('|')})\\]: ([^\\n]*)`);

/**
 * Code and message of a failure, also after it crossed the Durable activity boundary (where it
 * arrives as a plain Error or TaskFailedError whose message/stack carry `KluisError [Code]: text`).
 */
export function describeFailure(err: unknown): FailureDescription {
  if (isKluisErrorLike(err)) return { code: err.code, message: err.message };
  for (const text of failureTexts(err)) {
    const match = CODE_IN_TEXT.exec(text);
    if (match) return { code: match[1] as KluisErrorCode, message: match[2].trim() };
  }
  const properties = (err as { failureDetails?: { properties?: Record<string, unknown> } } | undefined)?.failureDetails
    ?.properties;
  if (properties && isKluisErrorCode(properties.code) && typeof properties.message === 'string') {
    return { code: properties.code, message: properties.message };
  }
  if (isServiceUnavailableError(err)) return describeFailure(errors.storageUnavailable(err));
  return { code: 'BackUpOperationFailed', message: 'The backup operation failed because of an internal error.' };
}

/** `KluisError [Code]: message`, the one-line form describeFailure() reads back. */
export function formatFailure(failure: FailureDescription): string {
  return `KluisError [${failure.code}]: ${failure.message}`;
}

function failureTexts(err: unknown): string[] {
  if (typeof err === 'string') return [err];
  if (typeof err !== 'object' || err === null) return [];
  const e = err as { message?: unknown; stack?: unknown; failureDetails?: { errorMessage?: unknown; stackTrace?: unknown } };
  return [e.message, e.stack, e.failureDetails?.errorMessage, e.failureDetails?.stackTrace].filter(
    (t): t is string => typeof t === 'string',
  );
}
