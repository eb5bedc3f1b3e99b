/**
 * The ARM JSON of each resource, as the published Microsoft.Compute API (ComputeRP 2025-04-01, DiskRP
 * 2025-01-02) shapes it and @azure/arm-compute deserializes it.
 */
import { isManagedDisk, type VmDisk } from '../../../lib/domain/virtual-machine';
import type { StoredVirtualMachine } from '../../../lib/stores/vm-inventory';
import {
  diskSizeGbOf,
  type CollectionRecord,
  type DiskEncryptionSettings,
  type DiskRecord,
  type DiskRestorePointRecord,
  type DiskSku,
  type DiskState,
  type OperationRecord,
  type RestorePointRecord,
  type SnapshotRecord,
} from './records';
import { diskRestorePointId, RESOURCE_TYPES } from './resource-ids';
import { vmIdOf } from './vm-identity';

const PLATFORM_KEY = { type: 'EncryptionAtRestWithPlatformKey' };
const tierOf = (sku: string) => (sku.startsWith('Premium') ? 'Premium' : 'Standard');
const withTags = (tags: Record<string, string> | undefined) => (tags === undefined ? {} : { tags });

export function diskResource(disk: DiskRecord, state: DiskState): Record<string, unknown> {
  return {
    id: disk.id,
    name: disk.name,
    type: RESOURCE_TYPES.disk,
    location: disk.location,
    ...withTags(disk.tags),
    ...(disk.managedBy === undefined ? {} : { managedBy: disk.managedBy }),
    sku: { name: disk.sku, tier: tierOf(disk.sku) },
    properties: {
      ...(disk.osType === undefined ? {} : { osType: disk.osType }),
      ...(disk.hyperVGeneration === undefined ? {} : { hyperVGeneration: disk.hyperVGeneration }),
      creationData: disk.creationData,
      diskSizeGB: diskSizeGbOf(disk.sizeBytes),
      diskSizeBytes: disk.sizeBytes,
      uniqueId: disk.uniqueId,
      encryption: PLATFORM_KEY,
      ...(disk.encryptionSettings === undefined ? {} : { encryptionSettingsCollection: encryptionSettingsCollectionOf(disk.encryptionSettings) }),
      networkAccessPolicy: 'AllowAll',
      publicNetworkAccess: 'Enabled',
      timeCreated: disk.timeCreated,
      provisioningState: 'Succeeded',
      diskState: state,
      ...(disk.lastOwnershipUpdateTime === undefined ? {} : { LastOwnershipUpdateTime: disk.lastOwnershipUpdateTime }),
    },
  };
}

export function snapshotResource(snapshot: SnapshotRecord): Record<string, unknown> {
  return {
    id: snapshot.id,
    name: snapshot.name,
    type: RESOURCE_TYPES.snapshot,
    location: snapshot.location,
    ...withTags(snapshot.tags),
    sku: { name: snapshot.sku, tier: 'Standard' },
    properties: {
      ...(snapshot.osType === undefined ? {} : { osType: snapshot.osType }),
      ...(snapshot.hyperVGeneration === undefined ? {} : { hyperVGeneration: snapshot.hyperVGeneration }),
      creationData: snapshot.creationData,
      diskSizeGB: diskSizeGbOf(snapshot.sizeBytes),
      diskSizeBytes: snapshot.sizeBytes,
      uniqueId: snapshot.uniqueId,
      encryption: PLATFORM_KEY,
      networkAccessPolicy: 'AllowAll',
      publicNetworkAccess: 'Enabled',
      timeCreated: snapshot.timeCreated,
      provisioningState: 'Succeeded',
      diskState: snapshot.grant === undefined ? 'Unattached' : 'ActiveSAS',
      incremental: snapshot.incremental,
      ...(snapshot.familyId === undefined ? {} : { incrementalSnapshotFamilyId: snapshot.familyId }),
      completionPercent: 100,
    },
  };
}

export function collectionResource(collection: CollectionRecord, restorePoints?: readonly RestorePointRecord[]): Record<string, unknown> {
  return {
    id: collection.id,
    name: collection.name,
    type: RESOURCE_TYPES.restorePointCollection,
    location: collection.location,
    ...withTags(collection.tags),
    properties: {
      source: { id: collection.sourceVmId, location: collection.sourceLocation },
      restorePointCollectionId: collection.collectionId,
      provisioningState: 'Succeeded',
      ...(restorePoints === undefined ? {} : { restorePoints: restorePoints.map((point) => restorePointResource(point)) }),
    },
  };
}

export function restorePointResource(point: RestorePointRecord, options: { instanceView?: boolean } = {}): Record<string, unknown> {
  const drpIdOf = (drp: DiskRestorePointRecord) =>
    diskRestorePointId({ subscriptionId: point.subscriptionId, resourceGroup: point.resourceGroup, collection: point.collection, restorePoint: point.name, name: drp.name });
  const diskEntry = (drp: DiskRestorePointRecord) => ({
    name: drp.sourceDiskName,
    caching: drp.kind === 'os' ? 'ReadWrite' : 'None',
    diskSizeGB: diskSizeGbOf(drp.sizeBytes),
    managedDisk: { storageAccountType: drp.sku, id: drp.sourceDiskId },
    diskRestorePoint: { id: drpIdOf(drp) },
  });
  const osDisk = point.disks.find((drp) => drp.kind === 'os');
  const dataDisks = point.disks.filter((drp) => drp.kind === 'data').sort((a, b) => (a.lun ?? 0) - (b.lun ?? 0));
  const encryption = point.source.encryption;
  return {
    id: point.id,
    name: point.name,
    type: RESOURCE_TYPES.restorePoint,
    properties: {
      excludeDisks: point.excludeDisks.map((id) => ({ id })),
      sourceMetadata: {
        vmId: point.source.vmId,
        hardwareProfile: { vmSize: point.source.vmSize },
        storageProfile: {
          ...(osDisk === undefined
            ? {}
            : { osDisk: { osType: point.source.osType, ...diskEntry(osDisk), ...(encryption === undefined ? {} : { encryptionSettings: encryptionSettingsOf(encryption) }) } }),
          dataDisks: dataDisks.map((drp) => ({ lun: drp.lun, ...diskEntry(drp) })),
          diskControllerType: 'SCSI',
        },
        location: point.source.location,
      },
      provisioningState: 'Succeeded',
      consistencyMode: point.consistencyMode,
      timeCreated: point.timeCreated,
      ...(point.instantAccessDurationMinutes === undefined ? {} : { instantAccessDurationMinutes: point.instantAccessDurationMinutes }),
      ...(options.instanceView === true
        ? {
            instanceView: {
              diskRestorePoints: point.disks.map((drp) => ({
                id: drpIdOf(drp),
                replicationStatus: { status: { code: 'ReplicationState/succeeded', level: 'Info', displayStatus: 'Succeeded' }, completionPercent: 100 },
                snapshotAccessState: 'Available',
              })),
              statuses: [{ code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', time: point.timeCreated }],
            },
          }
        : {}),
    },
  };
}

export function diskRestorePointResource(point: RestorePointRecord, drp: DiskRestorePointRecord): Record<string, unknown> {
  return {
    id: diskRestorePointId({ subscriptionId: point.subscriptionId, resourceGroup: point.resourceGroup, collection: point.collection, restorePoint: point.name, name: drp.name }),
    name: drp.name,
    type: RESOURCE_TYPES.diskRestorePoint,
    properties: {
      timeCreated: point.timeCreated,
      sourceResourceId: drp.sourceDiskId,
      ...(drp.osType === undefined ? {} : { osType: drp.osType }),
      ...(drp.hyperVGeneration === undefined ? {} : { hyperVGeneration: drp.hyperVGeneration }),
      familyId: drp.familyId,
      sourceUniqueId: drp.sourceUniqueId,
      encryption: PLATFORM_KEY,
      networkAccessPolicy: 'AllowAll',
      publicNetworkAccess: 'Enabled',
      completionPercent: 100,
      replicationState: 'Succeeded',
      sourceResourceLocation: point.source.location,
    },
  };
}

export interface VmShapeOptions {
  instanceView?: boolean;
  /** For each managed disk: how it was created (Empty disks of fabric VMs show FromImage/Empty), its delete option. */
  diskInfo?: (disk: VmDisk) => { createOption?: string; deleteOption?: string; sku?: DiskSku } | undefined;
}

export function virtualMachineResource(vm: StoredVirtualMachine, options: VmShapeOptions = {}): Record<string, unknown> {
  const diskEntry = (disk: VmDisk) => {
    const info = options.diskInfo?.(disk);
    const fabricMade = info === undefined || info.createOption === undefined || info.createOption === 'Empty';
    return {
      name: disk.name,
      createOption: fabricMade ? (disk.kind === 'os' ? 'FromImage' : 'Empty') : 'Attach',
      caching: disk.kind === 'os' ? 'ReadWrite' : 'None',
      diskSizeGB: diskSizeGbOf(disk.sizeBytes),
      ...(isManagedDisk(disk)
        ? {
            managedDisk: { storageAccountType: disk.managedDisk.storageAccountType ?? info?.sku ?? (disk.storageType === 'Premium' ? 'Premium_LRS' : 'Standard_LRS'), id: disk.managedDisk.id },
            deleteOption: info?.deleteOption ?? 'Detach',
          }
        : { vhd: { uri: disk.vhdUri } }),
    };
  };
  const osDisk = vm.disks.find((disk) => disk.kind === 'os');
  const dataDisks = vm.disks.filter((disk) => disk.kind === 'data').sort((a, b) => (a.lun ?? 0) - (b.lun ?? 0));
  return {
    id: vm.id,
    name: vm.name,
    type: RESOURCE_TYPES.virtualMachine,
    location: vm.location,
    ...withTags(vm.tags),
    ...(vm.etag === undefined || vm.etag === '' ? {} : { etag: vm.etag }),
    properties: {
      vmId: vmIdOf(vm),
      hardwareProfile: { vmSize: vm.vmSize },
      storageProfile: {
        ...(osDisk === undefined
          ? {}
          : {
              osDisk: {
                osType: vm.osType,
                ...diskEntry(osDisk),
                ...(vm.encryption === undefined ? {} : { encryptionSettings: encryptionSettingsOf(vm.encryption) }),
              },
            }),
        dataDisks: dataDisks.map((disk) => ({ lun: disk.lun, ...diskEntry(disk), toBeDetached: false })),
        diskControllerType: 'SCSI',
      },
      osProfile: { computerName: vm.name.slice(0, 15) },
      provisioningState: vm.provisioningState,
      timeCreated: vm.createdAt,
      ...(options.instanceView === true ? { instanceView: virtualMachineInstanceView(vm) } : {}),
    },
  };
}

export function virtualMachineInstanceView(vm: StoredVirtualMachine): Record<string, unknown> {
  const provisioning = vm.provisioningState.toLowerCase();
  const agent =
    vm.agent.status === 'Unavailable'
      ? {}
      : {
          vmAgent: {
            vmAgentVersion: vm.agent.version ?? 'Unknown',
            statuses: [
              {
                code: 'ProvisioningState/succeeded',
                level: vm.agent.status === 'Ready' ? 'Info' : 'Warning',
                displayStatus: vm.agent.status === 'Ready' ? 'Ready' : 'Not Ready',
                message: vm.agent.status === 'Ready' ? 'Guest Agent is running' : 'VM agent is not ready',
              },
            ],
          },
        };
  return {
    computerName: vm.name.slice(0, 15),
    osName: vm.osType,
    ...agent,
    disks: vm.disks.map((disk) => ({
      name: disk.name,
      statuses: [{ code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded' }],
      ...(disk.kind === 'os' && vm.encryption !== undefined ? { encryptionSettings: [encryptionSettingsOf(vm.encryption)] } : {}),
    })),
    statuses: [
      { code: `ProvisioningState/${provisioning}`, level: provisioning === 'failed' ? 'Error' : 'Info', displayStatus: `Provisioning ${provisioning}` },
      { code: `PowerState/${vm.powerState}`, level: 'Info', displayStatus: `VM ${vm.powerState}` },
    ],
  };
}

/** A disk's ADE settings as ARM shows them (`encryptionSettingsVersion` 1.1: ADE without Azure AD). */
function encryptionSettingsCollectionOf(settings: DiskEncryptionSettings): Record<string, unknown> {
  const { enabled: _enabled, ...keysOf } = encryptionSettingsOf(settings);
  return { enabled: settings.enabled, encryptionSettings: Object.keys(keysOf).length === 0 ? [] : [keysOf], encryptionSettingsVersion: '1.1' };
}

function encryptionSettingsOf(encryption: NonNullable<StoredVirtualMachine['encryption']> | DiskEncryptionSettings): Record<string, unknown> {
  return {
    enabled: encryption.enabled,
    ...(encryption.bek === undefined ? {} : { diskEncryptionKey: { secretUrl: encryption.bek.secretUrl, sourceVault: { id: encryption.bek.vaultId } } }),
    ...(encryption.kek === undefined ? {} : { keyEncryptionKey: { keyUrl: encryption.kek.keyUrl, sourceVault: { id: encryption.kek.vaultId } } }),
  };
}

/** The status body of a long-running operation (Azure-AsyncOperation). */
export function operationStatus(operation: OperationRecord): Record<string, unknown> {
  return {
    name: operation.id,
    status: operation.status,
    startTime: operation.startTime,
    endTime: operation.endTime,
    ...(operation.error === undefined ? {} : { error: operation.error }),
    ...(operation.output === undefined ? {} : { properties: { output: operation.output } }),
  };
}
