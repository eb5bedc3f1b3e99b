/**
 * Restore over the ARM API: the body of `POST …/recoveryPoints/{rp}/restore` (Azure's
 * `IaasVMRestoreRequest`) and the pure decisions taken on it before anything is written.
 *
 *   restoreRequestBodySchema                     zod schema of `{properties:{objectType:"IaasVMRestoreRequest",…}}`
 *   planRestore(context, properties): RestorePlan validation: recovery type, region, point, disks, account, target VM
 *   restoreDiskSlots(lunList, pointSlots)         Azure data-disk LUNs → the engine's disk slots
 *   restoreContainerName(vmName, jobId)           the per-job container in the restore account
 *   restoreJobPropertyBag(…)                      the job's `extendedInfo.propertyBag` (Azure's key names)
 *   restoredManagedDisksPropertyBag(disks)        its entries for the managed disks a restore created
 *   restoredVm(spec, disks, createdAt)            the VirtualMachine an AlternateLocation restore registers
 *
 * Decisions (Azure Backup semantics where Azure has them):
 * - `restoreDiskLunList` absent → every disk of the point; `[]` → the OS disk only (what
 *   `az backup restore restore-disks --restore-only-osdisk` sends); `[k, …]` → the OS disk plus the data
 *   disks with Azure LUNs k, … (the OS disk is always restored, as in Azure's selective disk restore).
 * - OriginalLocation (replace the source VM's disks) is refused: Kluis never replaces an existing VM.
 * - `region` must be the vault's region (and the source VM's): no cross-region restore.
 * - The restore account is the one Kluis is configured with (KLUIS_RESTORE_STORAGE): `storageAccountId`
 *   must name it, so disks never land somewhere other than the account the caller asked for.
 * - Encrypted points (Azure Disk Encryption): disks restore as they are (still encrypted), with the
 *   encryption info next to them; creating a VM from page-blob disks is refused, as in Azure Backup, while a
 *   managed VM's point restores as new managed disks that keep their ADE settings, and as a new VM attaching
 *   them (it is encrypted as the source was). Missing keys and
 *   secrets are brought back first with restoreKeyAndSecret (services/restore-key-and-secret.ts).
 */
import { z } from 'zod';
import { errors } from './errors';
import {
  diskSlot,
  MAX_DATA_DISK_LUN,
  normalizeLocation,
  OS_TYPES,
  parseVmResourceId,
  vmKey,
  vmNameProblem,
  vmResourceId,
  type OsType,
  type VirtualMachine,
  type VmDisk,
  type VmRef,
} from './virtual-machine';
import { VHD_FOOTER_SIZE } from '../engine/domain/vhd';
import type { StorageType } from '../engine/domain/recovery-point-manifest';

export const RESTORE_TYPES = ['RestoreDisks', 'AlternateLocation', 'OriginalLocation'] as const;
export type RestoreType = (typeof RESTORE_TYPES)[number];
/** The restore types Kluis carries out (OriginalLocation would replace an existing VM). */
export type SupportedRestoreType = Exclude<RestoreType, 'OriginalLocation'>;

const armId = z.string().min(1).max(1024);

/** Azure's `encryptionDetails` (ADE key and secret to use for the restored disks). */
export const restoreEncryptionDetailsSchema = z.strictObject({
  encryptionEnabled: z.boolean().optional(),
  kekUrl: z.string().max(1024).optional(),
  secretKeyUrl: z.string().max(1024).optional(),
  kekVaultId: armId.optional(),
  secretKeyVaultId: armId.optional(),
});

/** Azure's `identityInfo`: the vault's managed identity the restore acts as (recorded on the job). */
export const restoreIdentityInfoSchema = z.strictObject({
  isSystemAssignedIdentity: z.boolean().optional(),
  managedIdentityResourceId: armId.optional(),
});

/** Azure's `targetDiskNetworkAccessSettings` (managed disks' network access; recorded on the job). */
export const targetDiskNetworkAccessSchema = z.strictObject({
  targetDiskNetworkAccessOption: z.enum(['SameAsOnSourceDisks', 'EnablePrivateAccessForAllDisks', 'EnablePublicAccessForAllDisks']).optional(),
  targetDiskAccessId: armId.optional(),
});

/**
 * `IaasVMRestoreRequest.properties` (and `IaasVMRestoreWithRehydrationRequest`, whose rehydration info
 * has nothing to do in Kluis: its points are never in an archive tier). The networking fields Azure sends
 * for a new VM (virtual network, subnet, cloud service, affinity group) are accepted so Azure clients'
 * bodies pass; the local fabric has no networks, so they are not used. With an identity-based restore the
 * target account comes in `identityBasedRestoreDetails.targetStorageAccountId`.
 */
export const restoreRequestPropertiesSchema = z.strictObject({
  objectType: z.enum(['IaasVMRestoreRequest', 'IaasVMRestoreWithRehydrationRequest'], { error: "must be 'IaasVMRestoreRequest'" }),
  recoveryPointId: z.string().min(1).max(64).optional(),
  recoveryType: z.enum(RESTORE_TYPES, { error: "must be 'RestoreDisks', 'AlternateLocation' or 'OriginalLocation'" }),
  sourceResourceId: armId.optional(),
  region: z.string({ error: "is required: the vault's region" }).min(1).max(64),
  storageAccountId: armId.optional(),
  targetResourceGroupId: armId.optional(),
  targetVirtualMachineId: armId.optional(),
  restoreDiskLunList: z
    .array(z.number().int().min(0).max(MAX_DATA_DISK_LUN))
    .max(MAX_DATA_DISK_LUN + 1)
    .refine((luns) => new Set(luns).size === luns.length, { error: 'restoreDiskLunList names a LUN more than once; list each data disk once.' })
    .nullable()
    .optional(),
  originalStorageAccountOption: z.boolean().optional(),
  encryptionDetails: restoreEncryptionDetailsSchema.optional(),
  restoreWithManagedDisks: z.boolean().optional(),
  diskEncryptionSetId: armId.optional(),
  virtualNetworkId: armId.optional(),
  subnetId: armId.optional(),
  targetDomainNameId: armId.optional(),
  affinityGroup: z.string().max(256).optional(),
  createNewCloudService: z.boolean().optional(),
  zones: z.array(z.string().max(8)).max(3).optional(),
  identityInfo: restoreIdentityInfoSchema.optional(),
  identityBasedRestoreDetails: z.strictObject({ objectType: z.string().max(128).optional(), targetStorageAccountId: armId.optional() }).optional(),
  targetDiskNetworkAccessSettings: targetDiskNetworkAccessSchema.optional(),
  recoveryPointRehydrationInfo: z
    .strictObject({ rehydrationRetentionDuration: z.string().max(64).optional(), rehydrationPriority: z.enum(['Standard', 'High']).optional() })
    .optional(),
});

/** The ARM resource envelope (`RestoreRequestResource`): only `properties` carries meaning. */
export const restoreRequestBodySchema = z.strictObject({
  properties: restoreRequestPropertiesSchema,
  location: z.string().max(64).optional(),
  tags: z.record(z.string(), z.string()).optional(),
  eTag: z.string().max(256).optional(),
});

export type RestoreRequestProperties = z.output<typeof restoreRequestPropertiesSchema>;
export type RestoreRequestBody = z.output<typeof restoreRequestBodySchema>;

// ---- ids ----------------------------------------------------------------------------------------

export interface StorageAccountRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

const STORAGE_ACCOUNT_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.(?:Storage|ClassicStorage)\/storageAccounts\/([^/]+)$/i;
const STORAGE_ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
const RESOURCE_GROUP_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)$/i;

/** `/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Storage/storageAccounts/{name}` → its parts. */
export function parseStorageAccountId(id: string): StorageAccountRef | undefined {
  const match = STORAGE_ACCOUNT_ID.exec(id.trim().replace(/\/+$/, ''));
  if (!match || !STORAGE_ACCOUNT_NAME.test(match[3])) return undefined;
  return { subscriptionId: match[1], resourceGroup: match[2], name: match[3] };
}

/** `/subscriptions/{s}/resourceGroups/{g}` → its parts. */
export function parseResourceGroupId(id: string): { subscriptionId: string; resourceGroup: string } | undefined {
  const match = RESOURCE_GROUP_ID.exec(id.trim().replace(/\/+$/, ''));
  return match ? { subscriptionId: match[1], resourceGroup: match[2] } : undefined;
}

// ---- planning -------------------------------------------------------------------------------------

/** What the checks need to know, read by the service beforehand. */
export interface RestoreContext {
  /** The recovery point named in the path. */
  recoveryPointId: string;
  vault: { subscriptionId: string; location: string };
  /** The protected VM as the item recorded it. */
  sourceVm: { id: string; name: string; location: string; osType: OsType; vmSize: string };
  point: {
    /** The point's disks by engine slot (OS 0, data disk with LUN k → k + 1). */
    disks: ReadonlyArray<{ slot: number; storageType: StorageType }>;
    /** The manifest's `vmConfig` (the VM as it was at backup), if any. */
    vmConfig?: unknown;
    isEncrypted: boolean;
    /** The point's disks are managed disks (a managed VM's backup): they restore as new managed disks. */
    managedDisks?: boolean;
  };
  /** Name of the storage account restores are written to. */
  restoreAccountName: string;
}

/** The VM an AlternateLocation restore creates. */
export interface RestoredVmSpec extends VmRef {
  id: string;
  location: string;
  osType: OsType;
  vmSize: string;
  agentVersion?: string;
  sourceVmId: string;
  recoveryPointId: string;
  /** The disks it gets, by engine slot, with the storage type each had at backup. */
  disks: Array<{ slot: number; storageType: StorageType }>;
}

export interface RestorePlan {
  recoveryType: SupportedRestoreType;
  /** Engine slots to restore; undefined = every disk of the point. */
  slots?: number[];
  storageAccountName: string;
  region: string;
  /** AlternateLocation only. */
  targetVm?: RestoredVmSpec;
  /** Resource group of the new VM (AlternateLocation) or the one the caller named (RestoreDisks). */
  targetResourceGroup?: string;
  /** The identity the request names (`identityInfo`): 'SystemAssigned' or a user-assigned identity id. */
  identity?: string;
  /** `targetDiskNetworkAccessSettings`, as asked. */
  targetDiskNetworkAccess?: { option?: string; diskAccessId?: string };
  /**
   * A managed VM's point: its disks are (also) restored as new managed disks into this resource group
   * (AlternateLocation: the new VM's group; RestoreDisks: `targetResourceGroupId`). The storage account still
   * receives the VM configuration (and, as today, the disks as page blobs).
   */
  managedDisks?: { subscriptionId: string; resourceGroup: string; location: string };
}

const P = 'properties';

/** Validates a restore request against the vault, the item and the point; throws KluisError naming the field. */
export function planRestore(context: RestoreContext, properties: RestoreRequestProperties): RestorePlan {
  if (properties.recoveryType === 'OriginalLocation') {
    throw errors.originalLocationRestoreNotSupported(context.sourceVm.name);
  }
  if (properties.recoveryPointId !== undefined && properties.recoveryPointId !== context.recoveryPointId) {
    throw errors.invalidRequest(
      `${P}.recoveryPointId`,
      `The body names recovery point '${clip(properties.recoveryPointId)}' but the path names '${context.recoveryPointId}'.`,
    );
  }
  if (properties.sourceResourceId !== undefined && !sameResourceId(properties.sourceResourceId, context.sourceVm.id)) {
    throw errors.invalidRequest(
      `${P}.sourceResourceId`,
      `The source resource '${clip(properties.sourceResourceId)}' is not the protected virtual machine '${context.sourceVm.id}'.`,
    );
  }
  const region = normalizeLocation(properties.region);
  const vaultRegion = normalizeLocation(context.vault.location);
  if (region !== vaultRegion || normalizeLocation(context.sourceVm.location) !== vaultRegion) {
    throw errors.crossRegionRestoreNotSupported(properties.region, context.vault.location);
  }
  if (properties.originalStorageAccountOption === true) {
    throw errors.invalidRequest(
      `${P}.originalStorageAccountOption`,
      'Kluis restores disks into its restore storage account only, never into the source disks\' accounts; leave originalStorageAccountOption false.',
    );
  }
  const managedPoint = context.point.managedDisks === true;
  if (properties.restoreWithManagedDisks === true && !managedPoint) {
    throw errors.invalidRequest(`${P}.restoreWithManagedDisks`, 'The recovery point is of a VM with page-blob (unmanaged) disks: they restore as page blobs; leave restoreWithManagedDisks false.');
  }
  if (properties.diskEncryptionSetId !== undefined) {
    throw errors.invalidRequest(`${P}.diskEncryptionSetId`, 'Kluis restores managed disks encrypted with platform-managed keys only; leave diskEncryptionSetId out and set a disk encryption set on the disks afterwards.');
  }
  if (properties.zones !== undefined && properties.zones.length > 0) {
    throw errors.invalidRequest(`${P}.zones`, 'Availability zones are not supported for restored disks: the local fabric and Kluis restore zone-less (regional) disks.');
  }
  const identityBasedAccount = properties.identityBasedRestoreDetails?.targetStorageAccountId;
  const storageAccountName =
    properties.storageAccountId === undefined && identityBasedAccount !== undefined
      ? checkStorageAccount(identityBasedAccount, context.restoreAccountName, `${P}.identityBasedRestoreDetails.targetStorageAccountId`)
      : checkStorageAccount(properties.storageAccountId, context.restoreAccountName);
  const pointSlots = context.point.disks.map((disk) => disk.slot);
  const slots = restoreDiskSlots(properties.restoreDiskLunList, pointSlots);
  encryptionRestorePlan(properties, context.point.isEncrypted, managedPoint);
  const recorded = recordedRequestSettings(properties);

  if (properties.recoveryType === 'RestoreDisks') {
    const group = properties.targetResourceGroupId === undefined ? undefined : checkResourceGroupId(properties.targetResourceGroupId, `${P}.targetResourceGroupId`);
    if (managedPoint && properties.restoreWithManagedDisks === true && group === undefined) {
      throw errors.invalidRequest(`${P}.targetResourceGroupId`, 'Managed disks are restored into a resource group: name it in targetResourceGroupId.');
    }
    const managedDisks = managedPoint && group !== undefined ? { managedDisks: { ...checkSameSubscription(group, context), location: region } } : {};
    return { recoveryType: 'RestoreDisks', slots, storageAccountName, region, targetResourceGroup: group?.resourceGroup, ...recorded, ...managedDisks };
  }
  const targetVm = planTargetVm(context, properties, region, slots ?? pointSlots);
  const managedDisks = managedPoint ? { managedDisks: { subscriptionId: targetVm.subscriptionId, resourceGroup: targetVm.resourceGroup, location: region } } : {};
  return { recoveryType: 'AlternateLocation', slots, storageAccountName, region, targetVm, targetResourceGroup: targetVm.resourceGroup, ...recorded, ...managedDisks };
}

/** The request's identity and disk network settings, which the job records (Kluis's page-blob restore needs neither). */
function recordedRequestSettings(properties: RestoreRequestProperties): Pick<RestorePlan, 'identity' | 'targetDiskNetworkAccess'> {
  const recorded: Pick<RestorePlan, 'identity' | 'targetDiskNetworkAccess'> = {};
  const info = properties.identityInfo;
  if (info?.isSystemAssignedIdentity === true) recorded.identity = 'SystemAssigned';
  else if (info?.managedIdentityResourceId !== undefined) recorded.identity = info.managedIdentityResourceId;
  const network = properties.targetDiskNetworkAccessSettings;
  if (network !== undefined && (network.targetDiskNetworkAccessOption !== undefined || network.targetDiskAccessId !== undefined)) {
    recorded.targetDiskNetworkAccess = {
      ...(network.targetDiskNetworkAccessOption === undefined ? {} : { option: network.targetDiskNetworkAccessOption }),
      ...(network.targetDiskAccessId === undefined ? {} : { diskAccessId: network.targetDiskAccessId }),
    };
  }
  return recorded;
}

/**
 * Azure data-disk LUNs → engine slots (see the module header for absent and empty lists). Throws
 * KluisInvalidRequest for a LUN the point has no disk for.
 */
export function restoreDiskSlots(lunList: readonly number[] | null | undefined, pointSlots: readonly number[]): number[] | undefined {
  if (lunList === undefined || lunList === null) return undefined;
  const target = `${P}.restoreDiskLunList`;
  if (!pointSlots.includes(0)) {
    throw errors.invalidRequest(target, 'The recovery point has no OS disk, so a disk selection cannot be restored; leave restoreDiskLunList out to restore every disk.');
  }
  const dataLuns = pointSlots.filter((slot) => slot > 0).map((slot) => slot - 1);
  const slots = [0];
  for (const lun of new Set(lunList)) {
    const slot = diskSlot({ kind: 'data', lun });
    if (!pointSlots.includes(slot)) {
      const known = dataLuns.length === 0 ? 'it has no data disks' : `its data disks have LUNs ${dataLuns.sort((a, b) => a - b).join(', ')}`;
      throw errors.invalidRequest(target, `The recovery point has no data disk with LUN ${lun} (${known}).`);
    }
    slots.push(slot);
  }
  return slots.sort((a, b) => a - b);
}

/**
 * Encrypted VMs (issue 5): disks of an encrypted point restore as they are; a new VM from page-blob disks is
 * refused (they carry no encryption settings), from managed disks allowed (each keeps its encryptionSettingsCollection).
 */
export function encryptionRestorePlan(properties: RestoreRequestProperties, pointIsEncrypted: boolean, managedPoint = false): { restoreKeys: false } {
  if (!pointIsEncrypted && properties.encryptionDetails?.encryptionEnabled === true) {
    throw errors.invalidRequest(`${P}.encryptionDetails`, 'The recovery point is of a VM without disk encryption; leave encryptionDetails out.');
  }
  // Managed disks carry their encryption settings, so a VM attaching the restored disks is encrypted as the source was.
  if (pointIsEncrypted && properties.recoveryType === 'AlternateLocation' && !managedPoint) {
    throw errors.encryptedVmRestoreNotSupported();
  }
  return { restoreKeys: false };
}

function checkStorageAccount(storageAccountId: string | undefined, restoreAccountName: string, target = `${P}.storageAccountId`): string {
  if (storageAccountId === undefined) {
    throw errors.invalidRequest(target, `Name the storage account to restore into: Kluis restores into '${restoreAccountName}'.`);
  }
  const account = parseStorageAccountId(storageAccountId);
  if (account === undefined) {
    throw errors.invalidRequest(
      target,
      `'${clip(storageAccountId)}' is not a storage account resource id (/subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{3–24 lowercase letters and digits}).`,
    );
  }
  if (account.name.toLowerCase() !== restoreAccountName.toLowerCase()) {
    throw errors.restoreStorageAccountNotAvailable(account.name, restoreAccountName);
  }
  return restoreAccountName;
}

/** Restored managed disks stay in the vault's subscription (no cross-subscription restore). */
function checkSameSubscription(group: { subscriptionId: string; resourceGroup: string }, context: RestoreContext): { subscriptionId: string; resourceGroup: string } {
  if (group.subscriptionId.toLowerCase() !== context.vault.subscriptionId.toLowerCase()) {
    throw errors.invalidRequest(`${P}.targetResourceGroupId`, `Managed disks are restored into a resource group of the vault's subscription '${context.vault.subscriptionId}'.`);
  }
  return group;
}

function checkResourceGroupId(id: string, target: string): { subscriptionId: string; resourceGroup: string } {
  const group = parseResourceGroupId(id);
  if (group === undefined) {
    throw errors.invalidRequest(target, `'${clip(id)}' is not a resource group id (/subscriptions/{id}/resourceGroups/{name}).`);
  }
  return group;
}

function planTargetVm(context: RestoreContext, properties: RestoreRequestProperties, region: string, slots: readonly number[]): RestoredVmSpec {
  const target = `${P}.targetVirtualMachineId`;
  if (properties.targetVirtualMachineId === undefined) {
    throw errors.invalidRequest(target, 'An AlternateLocation restore creates a new virtual machine: name it in targetVirtualMachineId.');
  }
  const ref = parseVmResourceId(properties.targetVirtualMachineId);
  if (ref === undefined) {
    throw errors.invalidRequest(
      target,
      `'${clip(properties.targetVirtualMachineId)}' is not a virtual machine resource id (/subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/{name}).`,
    );
  }
  const problem = vmNameProblem(ref.name);
  if (problem !== undefined) throw errors.invalidRequest(target, `The virtual machine name '${clip(ref.name)}' is invalid: ${problem}.`);
  if (ref.subscriptionId.toLowerCase() !== context.vault.subscriptionId.toLowerCase()) {
    throw errors.invalidRequest(target, `The new virtual machine must be in the vault's subscription '${context.vault.subscriptionId}'.`);
  }
  const source = parseVmResourceId(context.sourceVm.id);
  if (source !== undefined && vmKey(source) === vmKey(ref)) {
    throw errors.restoreTargetVmExists(properties.targetVirtualMachineId);
  }
  if (properties.targetResourceGroupId !== undefined) {
    const group = checkResourceGroupId(properties.targetResourceGroupId, `${P}.targetResourceGroupId`);
    if (group.subscriptionId.toLowerCase() !== ref.subscriptionId.toLowerCase() || group.resourceGroup.toLowerCase() !== ref.resourceGroup.toLowerCase()) {
      throw errors.invalidRequest(`${P}.targetResourceGroupId`, `The target resource group is not the resource group of the new virtual machine '${ref.resourceGroup}'.`);
    }
  }
  if (!slots.includes(0)) {
    throw errors.invalidRequest(`${P}.recoveryType`, 'The recovery point holds no OS disk, so no virtual machine can be created from it; restore its disks instead (RestoreDisks).');
  }
  const config = vmConfigFacts(context.point.vmConfig);
  return {
    ...ref,
    id: vmResourceId(ref.subscriptionId, ref.resourceGroup, ref.name),
    location: region,
    osType: config.osType ?? context.sourceVm.osType,
    vmSize: config.vmSize ?? context.sourceVm.vmSize,
    ...(config.agentVersion === undefined ? {} : { agentVersion: config.agentVersion }),
    sourceVmId: context.sourceVm.id,
    recoveryPointId: context.recoveryPointId,
    disks: context.point.disks.filter((disk) => slots.includes(disk.slot)).sort((a, b) => a.slot - b.slot),
  };
}

/** What a restore reads from the point's VM configuration; every field optional (older points record none). */
const vmConfigFactsSchema = z.looseObject({
  osType: z.enum(OS_TYPES).optional().catch(undefined),
  vmSize: z.string().min(1).max(64).optional().catch(undefined),
  agent: z.looseObject({ version: z.string().min(1).max(64).optional().catch(undefined) }).optional().catch(undefined),
  encrypted: z.boolean().optional().catch(undefined),
});

/** OS, size, agent version and encryption as the point's VM configuration records them (services/backup-requests.ts writes it). */
export function vmConfigFacts(vmConfig: unknown): { osType?: OsType; vmSize?: string; agentVersion?: string; encrypted?: boolean } {
  const parsed = vmConfigFactsSchema.safeParse(vmConfig);
  if (!parsed.success) return {};
  return { osType: parsed.data.osType, vmSize: parsed.data.vmSize, agentVersion: parsed.data.agent?.version, encrypted: parsed.data.encrypted };
}

/** The managed disk SKU each disk slot had at backup (the VM configuration a managed VM's point records). */
export function managedDiskSkusOf(vmConfig: unknown): Record<number, string> {
  const disks = (vmConfig as { disks?: unknown } | null | undefined)?.disks;
  const skus: Record<number, string> = {};
  if (!Array.isArray(disks)) return skus;
  for (const disk of disks as Array<{ slot?: unknown; managedDisk?: { storageAccountType?: unknown } }>) {
    const sku = disk.managedDisk?.storageAccountType;
    if (typeof disk.slot === 'number' && typeof sku === 'string') skus[disk.slot] = sku;
  }
  return skus;
}

/**
 * The storage account of a blob URL: `https://{account}.blob.core.windows.net/…` (and other
 * `{account}.blob.*` hosts), or the first path segment for path-style endpoints (Azurite, IP hosts).
 */
export function storageAccountNameOfBlobUrl(blobUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(blobUrl);
  } catch {
    return undefined;
  }
  const host = url.hostname.toLowerCase();
  const pathStyle = /^[0-9.]+$/.test(host) || host === 'localhost' || host.startsWith('[') || !host.includes('.blob.');
  const name = pathStyle ? url.pathname.split('/').filter((s) => s !== '')[0] : host.split('.')[0];
  return name === undefined || name === '' ? undefined : decodeURIComponent(name);
}

function sameResourceId(a: string, b: string): boolean {
  const trim = (id: string) => id.trim().replace(/\/+$/, '').toLowerCase();
  return trim(a) === trim(b);
}

// ---- names ------------------------------------------------------------------------------------------

/**
 * The container a restore job writes into, Azure-style `<vm name>-<job id without dashes>`: lowercase
 * letters, digits and single hyphens, at most 63 characters. One container per job, so two restores
 * never share one.
 */
export function restoreContainerName(vmName: string, jobId: string): string {
  const id = jobId.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 32);
  if (id.length === 0) throw errors.invalidIdentifier('jobId', jobId);
  const slug = vmName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 62 - id.length)
    .replace(/-+$/, '');
  return `${slug === '' ? 'restore' : slug}-${id}`;
}

// ---- job ---------------------------------------------------------------------------------------------

export const RESTORE_TASKS = {
  transfer: 'Transfer data from vault',
  createVm: 'Create virtual machine',
} as const;

/** What happened to a Restore job (the orchestration reports each step). */
export type RestoreJobEvent =
  | { kind: 'started' }
  | { kind: 'disksRestored'; disks: number; bytesCopied: number; blocksVerified: number }
  /** A managed VM's point: the new managed disks exist (the job names them, also when creating the VM fails later). */
  | { kind: 'managedDisksRestored'; disks: RestoredManagedDiskEntry[] }
  | { kind: 'completed'; vmId?: string }
  | { kind: 'failed'; code: string; message: string };

export interface RestoreJobFacts {
  plan: RestorePlan;
  container: string;
  configBlobName: string;
  configBlobUrl: string;
  recoveryPointTime: string;
  sourceIsEncrypted: boolean;
  /** Encrypted points: the blob with the key and secret backups, written next to the disks. */
  encryptionInfoBlob?: { name: string; url: string };
}

/**
 * The job's `extendedInfo.propertyBag`, with Azure's key names (as `az backup job show` prints them for
 * a restore-disks job, including the trailing space of "Recovery point time "); the Kluis additions
 * follow the same style.
 */
export function restoreJobPropertyBag(facts: RestoreJobFacts): Record<string, string> {
  const bag: Record<string, string> = {
    'Job Type': facts.plan.recoveryType === 'AlternateLocation' ? 'Restore VM' : 'Recover disks',
    'Target Storage Account Name': facts.plan.storageAccountName,
    'Config Blob Container Name': facts.container,
    'Config Blob Name': facts.configBlobName,
    'Config Blob Uri': facts.configBlobUrl,
    'Recovery point time ': facts.recoveryPointTime,
  };
  if (facts.plan.targetResourceGroup !== undefined) bag['Target resource group'] = facts.plan.targetResourceGroup;
  if (facts.plan.targetVm !== undefined) bag['Target VM Name'] = facts.plan.targetVm.name;
  if (facts.plan.slots !== undefined) bag['Restored disk LUNs'] = describeSlots(facts.plan.slots);
  if (facts.sourceIsEncrypted) bag['Source VM Encrypted'] = 'true';
  if (facts.encryptionInfoBlob !== undefined) {
    bag['Encryption Info Blob Name'] = facts.encryptionInfoBlob.name;
    bag['Encryption Info Blob Uri'] = facts.encryptionInfoBlob.url;
  }
  if (facts.plan.identity !== undefined) bag['Restore Identity'] = facts.plan.identity;
  const network = facts.plan.targetDiskNetworkAccess;
  if (network?.option !== undefined) bag['Target Disk Network Access'] = network.option;
  if (network?.diskAccessId !== undefined) bag['Target Disk Access Id'] = network.diskAccessId;
  return bag;
}

/** A managed disk a restore created (engine slot as `lun`: 0 the OS disk, n the data disk of LUN n-1). */
export interface RestoredManagedDiskEntry {
  lun: number;
  id: string;
  /** InstantRP: created from the disk restore point; HardenedRP: uploaded from the vault. */
  tier: 'InstantRP' | 'HardenedRP';
}

/**
 * The job's entries for the managed disks a restore created, in the style of Azure's "Target …" keys:
 * `Target OS Disk Id`, `Target Data Disk Id (LUN n)` (the resource ids, as a template would attach them),
 * and `Restored From Tier` (Azure's recovery point tier names: InstantRP = the snapshot tier, HardenedRP = the vault).
 */
export function restoredManagedDisksPropertyBag(disks: readonly RestoredManagedDiskEntry[]): Record<string, string> {
  const bag: Record<string, string> = {};
  for (const disk of [...disks].sort((a, b) => a.lun - b.lun)) {
    bag[disk.lun === 0 ? 'Target OS Disk Id' : `Target Data Disk Id (LUN ${disk.lun - 1})`] = disk.id;
  }
  const tiers = [...new Set(disks.map((disk) => disk.tier))];
  if (tiers.length > 0) bag['Restored From Tier'] = tiers.join(', ');
  return bag;
}

function describeSlots(slots: readonly number[]): string {
  return slots.map((slot) => (slot === 0 ? 'OS' : String(slot - 1))).join(', ');
}

// ---- the new VM --------------------------------------------------------------------------------------

/** A restored disk as the restore activity reports it (engine slot as `lun`, page blob URL and size). */
export interface RestoredDiskRef {
  lun: number;
  blobUrl: string;
  sizeBytes: number;
}

/** Tags on a VM created by a restore: how to find its job, and how a re-run recognises its own VM. */
export const RESTORED_VM_TAGS = {
  jobId: 'KluisRestoreJobId',
  sourceVmId: 'KluisRestoredFrom',
  recoveryPointId: 'KluisRecoveryPointId',
} as const;

/**
 * The inventory record of a VM created from restored disks: same location, OS and size as the point
 * recorded; disks pointing at the restored page blobs; 'stopped' (Kluis registers the VM, it boots
 * nothing — start it to use it); agent Ready as it was in the backed-up image.
 */
export function restoredVm(spec: RestoredVmSpec, jobId: string, disks: readonly RestoredDiskRef[], createdAt: string): VirtualMachine {
  const vmDisks: VmDisk[] = [...disks]
    .sort((a, b) => a.lun - b.lun)
    .map((disk) => {
      const kind = disk.lun === 0 ? 'os' : 'data';
      const name = disk.lun === 0 ? `${spec.name}-osdisk` : `${spec.name}-datadisk-${disk.lun - 1}`;
      return {
        kind,
        ...(kind === 'data' ? { lun: disk.lun - 1 } : {}),
        name,
        vhdUri: disk.blobUrl,
        storageType: spec.disks.find((d) => d.slot === disk.lun)?.storageType ?? 'Standard',
        sizeBytes: Math.max(0, disk.sizeBytes - VHD_FOOTER_SIZE),
      } satisfies VmDisk;
    });
  if (!vmDisks.some((disk) => disk.kind === 'os')) {
    throw errors.invalidRequest('disks', 'A virtual machine needs its OS disk; the restore produced none.');
  }
  return {
    id: spec.id,
    subscriptionId: spec.subscriptionId,
    resourceGroup: spec.resourceGroup,
    name: spec.name,
    location: spec.location,
    vmSize: spec.vmSize,
    osType: spec.osType,
    powerState: 'stopped',
    provisioningState: 'Succeeded',
    agent: { status: 'Ready', ...(spec.agentVersion === undefined ? {} : { version: spec.agentVersion }) },
    disks: vmDisks,
    tags: {
      [RESTORED_VM_TAGS.jobId]: jobId,
      [RESTORED_VM_TAGS.sourceVmId]: spec.sourceVmId,
      [RESTORED_VM_TAGS.recoveryPointId]: spec.recoveryPointId,
    },
    createdAt,
  };
}

/** True when `vm` was created by restore job `jobId` (a retried registration finds its own VM). */
export function isVmOfRestoreJob(vm: Pick<VirtualMachine, 'tags'>, jobId: string): boolean {
  return vm.tags?.[RESTORED_VM_TAGS.jobId] === jobId;
}

function clip(value: string, max = 200): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}
