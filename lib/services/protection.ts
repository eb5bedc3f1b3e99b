/**
 * Protection of VMs by a vault: enable, change policy, stop and retain, undelete, resume — the PUT
 * of `…/protectionContainers/{c}/protectedItems/{i}` — plus reads of items and their recovery points.
 * Stop and delete (soft delete, purge) is in soft-delete.ts; the one-backup-per-item claim is in
 * backup-claim.ts.
 *
 * Every check runs before the first write, so a rejected request leaves the catalog as it was.
 * Each change is a job (ConfigureBackup, DisableBackup, Undelete) and an async operation that
 * carries the job's id, as Azure Backup reports them (`finished`, shared with soft-delete.ts).
 *
 * API:
 *   putProtectedItem(deps, vault, names, properties): ProtectionChange
 *   getProtectedItem / findProtectedItem / listProtectedItems(deps, vault, filter?)
 *   protectedItemView(deps, vault, item): ArmProtectedItemResource
 *   vmProtectionElsewhere(deps, vault, vmId) · vmIdsWithItems(deps, subscriptionId)
 *   listItemRecoveryPoints(deps, vault, names, filter?) · getItemRecoveryPoint(deps, vault, names, id)
 */
import { assertRetentionNotReduced } from '../domain/immutability';
import {
  AZURE_FABRIC,
  containerName as containerNameOf,
  itemName as itemNameOf,
  parseContainerName,
  parseItemName,
  parseVirtualMachineId,
  policyId as policyIdOf,
  policyNameFromId,
  protectedItemId,
  VAULT_RESOURCE_TYPE,
  type VaultRef,
} from '../domain/arm-names';
import { protectedItemResource, type ArmProtectedItemResource, type ProtectedItemProperties } from '../domain/arm/item-resource';
import { parseFilterTime, parseODataFilter } from '../domain/arm/odata-filter';
import { nameRow, vaultPartition, type JobOperation, type JobRecord, type OperationRecord, type PolicyRecord, type ProtectedItemRecord, type VaultRecord } from '../domain/catalog';
import { errors, isKluisErrorLike } from '../domain/errors';
import { parseRecoveryPointManifest, type RecoveryPointManifest } from '../engine/domain/recovery-point-manifest';
import { RecoveryPointStates } from '../engine/domain/restore-plan';
import { isValidRecoveryPointId } from '../engine/domain/vault-layout';
import { dataDisksOf, diskSlot, normalizeLocation, type VirtualMachine } from '../domain/virtual-machine';
import { assertItemQuota } from '../domain/vault-rules';
import { collect, type Stored } from '../stores/document-store';
import type { DiskStore } from '../stores/disk-store';
import type { RecoveryPointCatalog, StoredRecoveryPoint } from '../stores/recovery-point-catalog';
import type { VaultCatalog } from '../stores/vault-catalog';
import type { VmInventory } from '../stores/vm-inventory';
import { createJob, vaultPartitionOf, type VaultScope } from './jobs';
import { createOperation } from './operations';
import { getPolicy } from './policies';

/** Page-blob (unmanaged) VMs: at most 16 data disks are backed up. */
export const MAX_DATA_DISKS = 16;
/**
 * Issue 5 plugs in here: the backup service must be able to read the Key Vault of an encrypted VM
 * (BEK secret, KEK key); throw UserErrorKeyvaultPermissionsNotConfigured when it cannot.
 */
export type KeyVaultAccessCheck = (vm: VirtualMachine) => Promise<void>;

export interface ProtectionDeps {
  catalog: VaultCatalog;
  inventory: VmInventory;
  clock: () => Date;
  newId: () => string;
  keyVaultAccess?: KeyVaultAccessCheck;
}

/** The container and item of a request path. */
export interface ItemNames {
  containerName: string;
  itemName: string;
}

export type ProtectionAction = 'enabled' | 'policyChanged' | 'resumed' | 'stopped' | 'undeleted' | 'softDeleted' | 'purged' | 'unchanged';

export interface ProtectionChange {
  action: ProtectionAction;
  /** The item after the change; undefined once purged. */
  item?: ProtectedItemRecord;
  job?: JobRecord;
  operation: OperationRecord;
}

// ---- reads ---------------------------------------------------------------------------------------

/** Azure VMs live in the fabric `Azure` (any casing); another fabric name is a bad request. */
export function assertAzureFabric(fabricName: string): void {
  if (fabricName.toLowerCase() !== AZURE_FABRIC.toLowerCase()) {
    throw errors.invalidRequest('fabricName', `The fabric '${fabricName.slice(0, 40)}' does not exist; Azure VMs are in the fabric '${AZURE_FABRIC}'.`);
  }
}

/** Checks that the container and item name the same VM; returns the item's row key. */
export function itemRowOf(names: ItemNames): string {
  const container = parseContainerName(names.containerName, 'containerName');
  const item = parseItemName(names.itemName, 'protectedItemName');
  if (container.resourceGroup.toLowerCase() !== item.resourceGroup.toLowerCase() || container.vmName.toLowerCase() !== item.vmName.toLowerCase()) {
    throw errors.invalidRequest('protectedItemName', `The item '${names.itemName}' does not belong to the container '${names.containerName}': both must name the same VM.`);
  }
  return nameRow(itemNameOf(item.resourceGroup, item.vmName));
}

export async function findStoredItem(deps: Pick<ProtectionDeps, 'catalog'>, vault: VaultScope, names: ItemNames): Promise<Stored<ProtectedItemRecord> | undefined> {
  return deps.catalog.items.get(vaultPartitionOf(vault), itemRowOf(names));
}

export async function findProtectedItem(deps: Pick<ProtectionDeps, 'catalog'>, vault: VaultScope, names: ItemNames): Promise<ProtectedItemRecord | undefined> {
  return (await findStoredItem(deps, vault, names))?.value;
}

/** The item, or UserErrorBcmDatasourceNotPresent (404). */
export async function getProtectedItem(deps: Pick<ProtectionDeps, 'catalog'>, vault: VaultScope, names: ItemNames): Promise<ProtectedItemRecord> {
  const item = await findProtectedItem(deps, vault, names);
  if (item === undefined) throw errors.datasourceNotPresent(names.itemName);
  return item;
}

export interface ItemFilter {
  policyName?: string;
  /** Another workload than Azure VMs: nothing matches. */
  otherWorkload?: boolean;
}

/** `backupManagementType eq 'AzureIaasVM' and itemType eq 'VM' and policyName eq '…'` (each optional). */
export function parseItemFilter(text: string | null | undefined): ItemFilter {
  const clauses = parseODataFilter(text, ['backupManagementType', 'itemType', 'policyName'] as const);
  const filter: ItemFilter = {};
  if (clauses.backupManagementType !== undefined && clauses.backupManagementType.toLowerCase() !== 'azureiaasvm') filter.otherWorkload = true;
  if (clauses.itemType !== undefined && clauses.itemType.toLowerCase() !== 'vm') filter.otherWorkload = true;
  if (clauses.policyName !== undefined) filter.policyName = clauses.policyName;
  return filter;
}

/** The vault's items (protected, stopped, soft-deleted), by item name. */
export async function listProtectedItems(deps: Pick<ProtectionDeps, 'catalog'>, vault: VaultScope, filter: ItemFilter = {}): Promise<ProtectedItemRecord[]> {
  if (filter.otherWorkload === true) return [];
  const items = (await collect(deps.catalog.items.list(vaultPartitionOf(vault)))).map((doc) => doc.value);
  const policy = filter.policyName?.toLowerCase();
  return policy === undefined ? items : items.filter((item) => item.policyName?.toLowerCase() === policy);
}

/** The ARM view of an item, with its recovery point count and oldest point from the catalog. */
export async function protectedItemView(
  deps: { catalog: Pick<VaultCatalog, 'recoveryPoints'>; clock: () => Date },
  vault: VaultScope,
  item: ProtectedItemRecord,
): Promise<ArmProtectedItemResource> {
  const ref = vaultRefOf(vault);
  const summary = await recoveryPointSummary(deps.catalog.recoveryPoints, item.engineItemId);
  return protectedItemResource(
    item,
    {
      itemId: protectedItemId(ref, item.containerName, item.itemName),
      policyId: item.policyName === undefined ? undefined : policyIdOf(ref, item.policyName),
    },
    summary,
    deps.clock(),
  );
}

async function recoveryPointSummary(catalog: RecoveryPointCatalog, engineItemId: string): Promise<{ count: number; oldest?: string }> {
  let count = 0;
  let oldest: string | undefined;
  for await (const point of catalog.list(engineItemId)) {
    count += 1;
    if (oldest === undefined || point.createdAt < oldest) oldest = point.createdAt;
  }
  return oldest === undefined ? { count } : { count, oldest };
}

export function vaultRefOf(vault: VaultScope): VaultRef {
  return { subscriptionId: vault.subscriptionId, resourceGroup: vault.resourceGroup, vaultName: vault.name };
}

// ---- PUT -----------------------------------------------------------------------------------------

/**
 * PUT of an item: undelete (isRehydrate), stop and retain (protectionState ProtectionStopped),
 * enable (new item), resume (stopped item) or change policy (protected item).
 */
export async function putProtectedItem(
  deps: ProtectionDeps,
  vault: VaultRecord,
  names: ItemNames,
  properties: ProtectedItemProperties,
): Promise<ProtectionChange> {
  const row = itemRowOf(names);
  const existing = await deps.catalog.items.get(vaultPartitionOf(vault), row);
  if (properties.isRehydrate === true) return undelete(deps, vault, names, existing);
  if (existing?.value.softDelete !== undefined) throw errors.itemSoftDeleted(existing.value.vm.name, existing.value.softDelete.purgeAt, 'be changed');
  if (properties.protectionState === 'ProtectionStopped') return stopProtection(deps, vault, names, existing);
  const policyIdOrName = properties.policyId?.trim();
  if (policyIdOrName === undefined || policyIdOrName === '') {
    throw errors.invalidRequest(
      'properties.policyId',
      'Send a policyId to enable or resume protection or change the policy, protectionState ProtectionStopped to stop protection, or isRehydrate true to undelete.',
    );
  }
  if (existing === undefined) return enableProtection(deps, vault, names, properties, policyIdOrName);
  return changeProtection(deps, vault, existing, properties, policyIdOrName);
}

async function enableProtection(
  deps: ProtectionDeps,
  vault: VaultRecord,
  names: ItemNames,
  properties: ProtectedItemProperties,
  policyIdOrName: string,
): Promise<ProtectionChange> {
  const sourceId = properties.sourceResourceId ?? properties.virtualMachineId;
  if (sourceId === undefined) throw errors.invalidRequest('properties.sourceResourceId', 'The id of the virtual machine to protect (sourceResourceId) is required.');
  const vmRef = parseVirtualMachineId(sourceId, 'properties.sourceResourceId');
  const named = parseItemName(names.itemName);
  if (vmRef.resourceGroup.toLowerCase() !== named.resourceGroup.toLowerCase() || vmRef.vmName.toLowerCase() !== named.vmName.toLowerCase()) {
    throw errors.invalidRequest(
      'properties.sourceResourceId',
      `The item '${names.itemName}' names VM '${named.vmName}' in resource group '${named.resourceGroup}', but sourceResourceId names '${vmRef.vmName}' in '${vmRef.resourceGroup}'.`,
    );
  }
  if (vmRef.subscriptionId.toLowerCase() !== vault.subscriptionId.toLowerCase()) {
    throw errors.invalidRequest('properties.sourceResourceId', `The VM is in subscription '${vmRef.subscriptionId}'; a vault protects VMs of its own subscription (${vault.subscriptionId}).`);
  }
  const vm = await deps.inventory.get({ subscriptionId: vmRef.subscriptionId, resourceGroup: vmRef.resourceGroup, name: vmRef.vmName });
  if (vm === undefined) throw errors.vmNotFound(vmRef.vmName, 'properties.sourceResourceId');
  if (normalizeLocation(vm.location) !== normalizeLocation(vault.location)) throw errors.vmLocationMismatch(vm.name, normalizeLocation(vm.location), normalizeLocation(vault.location));
  const policy = await policyOf(deps, vault, policyIdOrName);
  const elsewhere = await vmProtectionElsewhere(deps, vault, vm.id);
  if (elsewhere !== undefined) throw errors.vmAlreadyProtectedInAnotherVault(vm.name, elsewhere.vaultId, describeItemState(elsewhere));
  assertVmReadyForProtection(vm);
  const diskExclusion = properties.extendedProperties?.diskExclusionProperties;
  assertDisksSupported(vm, diskExclusion);
  await assertEncryptionSupported(deps, vm, diskExclusion);
  assertItemQuota(vault.name, (await collect(deps.catalog.items.list(vaultPartitionOf(vault)))).length);

  const now = deps.clock().toISOString();
  const item: ProtectedItemRecord = {
    vaultId: vault.id,
    containerName: containerNameOf(vm.resourceGroup, vm.name),
    itemName: itemNameOf(vm.resourceGroup, vm.name),
    engineItemId: deps.newId(),
    vm: { id: vm.id, name: vm.name, resourceGroup: vm.resourceGroup, location: normalizeLocation(vm.location), osType: vm.osType, vmSize: vm.vmSize },
    policyName: policy.name,
    protectionState: 'IRPending',
    healthStatus: 'Passed',
    onDemandBackups: [],
    createdAt: now,
  };
  if (diskExclusion !== undefined) item.diskExclusion = { diskLunList: [...diskExclusion.diskLunList], isInclusionList: diskExclusion.isInclusionList };
  const stored = await deps.catalog.items.insert(vaultPartitionOf(vault), nameRow(item.itemName), item);
  return finished(deps, vault, 'enabled', stored.value, 'ConfigureBackup', { policyName: policy.name });
}

/** Resume a stopped item, or change the policy (and disk exclusion) of a protected one. */
async function changeProtection(
  deps: ProtectionDeps,
  vault: VaultRecord,
  existing: Stored<ProtectedItemRecord>,
  properties: ProtectedItemProperties,
  policyIdOrName: string,
): Promise<ProtectionChange> {
  const sourceId = properties.sourceResourceId ?? properties.virtualMachineId;
  if (sourceId !== undefined && !sameVmId(sourceId, existing.value.vm.id)) {
    throw errors.invalidRequest('properties.sourceResourceId', `The item protects '${existing.value.vm.id}'; its source cannot change.`);
  }
  const policy = await policyOf(deps, vault, policyIdOrName);
  if (existing.value.policyName !== undefined && existing.value.policyName.toLowerCase() !== policy.name.toLowerCase()) {
    // Another policy with shorter retention would expire the item's points earlier.
    const current = await getPolicy(deps, vaultRefOf(vault), existing.value.policyName).catch(() => undefined);
    if (current !== undefined) assertRetentionNotReduced(vault.immutability, current.policy.value.properties, policy.properties, 'properties.policyId');
  }
  const diskExclusion = properties.extendedProperties?.diskExclusionProperties;
  if (diskExclusion !== undefined) {
    const vm = await deps.inventory.getById(existing.value.vm.id);
    if (vm === undefined) throw errors.vmNotFound(existing.value.vm.name);
    assertDisksSupported(vm, diskExclusion);
    await assertEncryptionSupported(deps, vm, diskExclusion);
  }
  const resumed = existing.value.protectionState === 'ProtectionStopped';
  const updated = await deps.catalog.items.replace(
    existing.partition,
    existing.row,
    {
      ...existing.value,
      policyName: policy.name,
      protectionState: resumed ? (existing.value.lastRecoveryPoint === undefined ? 'IRPending' : 'Protected') : existing.value.protectionState,
      ...(diskExclusion === undefined ? {} : { diskExclusion: { diskLunList: [...diskExclusion.diskLunList], isInclusionList: diskExclusion.isInclusionList } }),
    },
    existing.etag,
  );
  return finished(deps, vault, resumed ? 'resumed' : 'policyChanged', updated.value, 'ConfigureBackup', { policyName: policy.name });
}

/** Stop protection and retain data: no more backups, no pruning, the data stays. */
async function stopProtection(deps: ProtectionDeps, vault: VaultRecord, names: ItemNames, existing: Stored<ProtectedItemRecord> | undefined): Promise<ProtectionChange> {
  if (existing === undefined) throw errors.datasourceNotPresent(names.itemName);
  if (existing.value.protectionState === 'ProtectionStopped') {
    return { action: 'unchanged', item: existing.value, operation: await createOperation(deps, vault, { name: 'DisableBackup', status: 'Succeeded' }) };
  }
  const { policyName: _policy, ...rest } = existing.value;
  const updated = await deps.catalog.items.replace(existing.partition, existing.row, { ...rest, protectionState: 'ProtectionStopped' }, existing.etag);
  return finished(deps, vault, 'stopped', updated.value, 'DisableBackup');
}

/** Undelete a soft-deleted item: it returns to stop-and-retain (ProtectionStopped). */
async function undelete(deps: ProtectionDeps, vault: VaultRecord, names: ItemNames, existing: Stored<ProtectedItemRecord> | undefined): Promise<ProtectionChange> {
  if (existing === undefined) throw errors.datasourceNotPresent(names.itemName);
  if (existing.value.softDelete === undefined) {
    throw errors.invalidRequest('properties.isRehydrate', `The item '${existing.value.vm.name}' is not soft-deleted (it is ${describeItemState(existing.value)}); only soft-deleted items can be undeleted.`);
  }
  const { softDelete: _softDelete, policyName: _policy, ...rest } = existing.value;
  const updated = await deps.catalog.items.replace(existing.partition, existing.row, { ...rest, protectionState: 'ProtectionStopped' }, existing.etag);
  return finished(deps, vault, 'undeleted', updated.value, 'Undelete');
}

// ---- validation ----------------------------------------------------------------------------------

/**
 * The policy a request names, from this vault; ResourceNotFound (404, target properties.policyId)
 * when it does not exist.
 */
async function policyOf(deps: Pick<ProtectionDeps, 'catalog'>, vault: VaultRecord, policyIdOrName: string): Promise<PolicyRecord> {
  const ref = vaultRefOf(vault);
  const name = policyNameFromId(ref, policyIdOrName, 'properties.policyId');
  try {
    return (await getPolicy(deps, ref, name)).policy.value;
  } catch (err) {
    if (isKluisErrorLike(err) && err.code === 'ResourceNotFound') {
      throw errors.resourceNotFound(`${VAULT_RESOURCE_TYPE}/${vault.name}/backupPolicies`, name, vault.resourceGroup, 'properties.policyId');
    }
    throw err;
  }
}

/**
 * Another vault of the subscription that holds an item for this VM (protected, stopped with data,
 * or soft-deleted): Azure lets one vault protect a VM.
 */
export async function vmProtectionElsewhere(deps: Pick<ProtectionDeps, 'catalog'>, vault: VaultScope, vmId: string): Promise<ProtectedItemRecord | undefined> {
  const wanted = vmId.toLowerCase();
  for (const other of await collect(deps.catalog.vaults.list(vaultPartition(vault.subscriptionId)))) {
    if (other.value.id.toLowerCase() === vault.id.toLowerCase()) continue;
    for await (const item of deps.catalog.items.list(vaultPartitionOf(other.value))) {
      if (item.value.vm.id.toLowerCase() === wanted) return item.value;
    }
  }
  return undefined;
}

/** All VM ids that some vault of the subscription holds an item for (lowercased). */
export async function vmIdsWithItems(deps: Pick<ProtectionDeps, 'catalog'>, subscriptionId: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const vault of await collect(deps.catalog.vaults.list(vaultPartition(subscriptionId)))) {
    for await (const item of deps.catalog.items.list(vaultPartitionOf(vault.value))) ids.add(item.value.vm.id.toLowerCase());
  }
  return ids;
}

/**
 * A running VM needs a ready agent (and a healthy provisioning state) to be protected; a stopped VM
 * can be protected, and is backed up crash-consistent without the agent.
 */
function assertVmReadyForProtection(vm: VirtualMachine): void {
  if (vm.provisioningState === 'Creating') throw errors.vmNotInDesirableState(vm.name, 'Creating');
  if (vm.powerState !== 'running') return;
  if (vm.provisioningState === 'Failed') throw errors.vmProvisioningStateFailed(vm.name);
  if (vm.agent.status !== 'Ready') throw errors.guestAgentStatusUnavailable(vm.name, vm.agent.status);
}

type DiskExclusion = NonNullable<NonNullable<ProtectedItemProperties['extendedProperties']>['diskExclusionProperties']>;

/** Excluded LUNs must be data disks of the VM; at most MAX_DATA_DISKS data disks are backed up. */
function assertDisksSupported(vm: VirtualMachine, exclusion: DiskExclusion | undefined): void {
  const dataLuns = dataLunsOf(vm);
  if (exclusion !== undefined) {
    const unknown = exclusion.diskLunList.filter((lun) => !dataLuns.includes(lun));
    if (unknown.length > 0) {
      throw errors.invalidRequest(
        'properties.extendedProperties.diskExclusionProperties.diskLunList',
        `The VM '${vm.name}' has no data disk at LUN ${unknown.join(', ')}; its data disks are at LUN ${dataLuns.length === 0 ? '(none)' : dataLuns.join(', ')}. The OS disk is always backed up.`,
      );
    }
  }
  const included = includedDataDiskCount(dataLuns, exclusion);
  if (included > MAX_DATA_DISKS) throw errors.unsupportedDiskCount(vm.name, included, MAX_DATA_DISKS);
}

function dataLunsOf(vm: Pick<VirtualMachine, 'disks'>): number[] {
  return dataDisksOf(vm).flatMap((disk) => (disk.lun === undefined ? [] : [disk.lun]));
}

function includedDataDiskCount(dataLuns: number[], exclusion: DiskExclusion | undefined): number {
  if (exclusion === undefined) return dataLuns.length;
  const listed = new Set(exclusion.diskLunList);
  return dataLuns.filter((lun) => listed.has(lun) === exclusion.isInclusionList).length;
}

/** Which of the VM's disks a backup takes: the OS disk always, data disks per the item's exclusion. */
export function disksToBackUp(vm: Pick<VirtualMachine, 'disks'>, exclusion: ProtectedItemRecord['diskExclusion']): VirtualMachine['disks'] {
  return vm.disks.filter((disk) => {
    if (disk.kind === 'os' || exclusion === undefined) return true;
    return exclusion.diskLunList.includes(disk.lun ?? -1) === exclusion.isInclusionList;
  }).sort((a, b) => diskSlot(a) - diskSlot(b));
}

/**
 * Encrypted VMs (ADE): BEK and KEK are both required; no disk exclusion; the backup service must
 * be able to read the Key Vault (deps.keyVaultAccess, issue 5).
 */
async function assertEncryptionSupported(deps: Pick<ProtectionDeps, 'keyVaultAccess'>, vm: VirtualMachine, exclusion: DiskExclusion | undefined): Promise<void> {
  if (vm.encryption?.enabled !== true) return;
  if (vm.encryption.kek === undefined) throw errors.encryptedVmBekOnly(vm.name);
  const dataLuns = dataLunsOf(vm);
  const excludes = exclusion !== undefined && includedDataDiskCount(dataLuns, exclusion) < dataLuns.length;
  if (excludes) throw errors.encryptedVmDiskExclusion(vm.name);
  await deps.keyVaultAccess?.(vm);
}

function sameVmId(sourceId: string, vmId: string): boolean {
  const a = parseVirtualMachineId(sourceId, 'properties.sourceResourceId');
  const b = parseVirtualMachineId(vmId);
  return [a.subscriptionId, a.resourceGroup, a.vmName].join('/').toLowerCase() === [b.subscriptionId, b.resourceGroup, b.vmName].join('/').toLowerCase();
}

function describeItemState(item: ProtectedItemRecord): string {
  if (item.softDelete !== undefined) return `soft-deleted until ${item.softDelete.purgeAt}`;
  if (item.protectionState === 'ProtectionStopped') return 'protection stopped, data retained';
  return item.protectionState === 'IRPending' ? 'protected, initial backup pending' : 'protected';
}

// ---- jobs and operations of a change -------------------------------------------------------------

export function jobSpec(item: ProtectedItemRecord, operation: JobOperation, propertyBag: Record<string, string> = {}) {
  return {
    operation,
    entityFriendlyName: item.vm.name,
    containerName: item.containerName,
    itemName: item.itemName,
    isUserTriggered: true,
    propertyBag,
  };
}

/** The job of a change that is complete once written, and its succeeded operation. */
export async function finished(
  deps: ProtectionDeps,
  vault: VaultScope,
  action: ProtectionAction,
  item: ProtectedItemRecord,
  operation: JobOperation,
  propertyBag: Record<string, string> = {},
): Promise<ProtectionChange> {
  const job = await createJob(deps, vault, { ...jobSpec(item, operation, propertyBag), status: 'Completed' });
  return { action, item, job, operation: await createOperation(deps, vault, { name: operation, jobId: job.jobId, status: 'Succeeded' }) };
}

// ---- recovery points of an item ------------------------------------------------------------------

export interface RecoveryPointFilter {
  /** Points taken at or after this time. */
  startDate?: Date;
  /** Points taken at or before this time. */
  endDate?: Date;
}

/** `startDate eq '2026-11-01 12:00:00 AM' and endDate eq '…'` (each optional; ISO 8601 accepted too). */
export function parseRecoveryPointFilter(text: string | null | undefined): RecoveryPointFilter {
  const clauses = parseODataFilter(text, ['startDate', 'endDate', 'restorePointQueryType'] as const);
  const filter: RecoveryPointFilter = {};
  if (clauses.startDate !== undefined) filter.startDate = parseFilterTime(clauses.startDate, 'startDate');
  if (clauses.endDate !== undefined) filter.endDate = parseFilterTime(clauses.endDate, 'endDate');
  if (filter.startDate !== undefined && filter.endDate !== undefined && filter.startDate > filter.endDate) {
    throw errors.invalidRequest('$filter', 'The filter startDate is after its endDate.');
  }
  return filter;
}

/** The item's visible recovery points in the filter's range, newest first (as Azure lists them). */
export async function listItemRecoveryPoints(
  deps: Pick<ProtectionDeps, 'catalog'>,
  vault: VaultScope,
  names: ItemNames,
  filter: RecoveryPointFilter = {},
): Promise<{ item: ProtectedItemRecord; points: StoredRecoveryPoint[] }> {
  const item = await getProtectedItem(deps, vault, names);
  const from = filter.startDate?.getTime() ?? -Infinity;
  const to = filter.endDate?.getTime() ?? Infinity;
  const points = (await collect(deps.catalog.recoveryPoints.list(item.engineItemId)))
    .filter((point) => point.state !== RecoveryPointStates.Deleting)
    .filter((point) => {
      const time = Date.parse(point.createdAt);
      return time >= from && time <= to;
    })
    .reverse();
  return { item, points };
}

/**
 * One recovery point with its manifest (disk configuration, encryption); the manifest is left out
 * when it cannot be read. KluisRecoveryPointNotFound when the item has no such point.
 */
export async function getItemRecoveryPoint(
  deps: Pick<ProtectionDeps, 'catalog'> & { vaultStore: Pick<DiskStore, 'readBlob'> },
  vault: VaultScope,
  names: ItemNames,
  recoveryPointId: string,
): Promise<{ item: ProtectedItemRecord; point: StoredRecoveryPoint; manifest?: RecoveryPointManifest }> {
  const item = await getProtectedItem(deps, vault, names);
  if (!isValidRecoveryPointId(recoveryPointId)) throw errors.invalidRequest('recoveryPointId', `'${recoveryPointId.slice(0, 40)}' is not a recovery point id (a number).`);
  const point = await deps.catalog.recoveryPoints.get(item.engineItemId, recoveryPointId);
  if (point === undefined || point.state === RecoveryPointStates.Deleting) throw errors.recoveryPointNotFound(item.itemName, recoveryPointId);
  try {
    const manifest = parseRecoveryPointManifest(await deps.vaultStore.readBlob({ container: point.vaultContainer, blob: point.manifestBlobName }));
    return { item, point, manifest };
  } catch (err) {
    if (isKluisErrorLike(err) && (err.code === 'KluisBlobNotFound' || err.code === 'KluisInvalidManifest')) return { item, point };
    throw err;
  }
}
