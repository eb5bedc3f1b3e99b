/**
 * ARM shapes of protected items, protectable VMs and recovery points: ids and names, IRPending
 * health details, soft-delete fields, the OS disk as lun -1, excluded disks from the recorded VM
 * configuration, expiry from the point's retention.
 */
import { protectedItemResource } from '../../lib/domain/arm/item-resource';
import { protectableItemResource } from '../../lib/domain/arm/protectable-item-resource';
import { recoveryPointResource } from '../../lib/domain/arm/recovery-point-resource';
import type { ProtectedItemRecord } from '../../lib/domain/catalog';
import { BLOCK_SIZE, HASH_ALGORITHM } from '../../lib/engine/domain/block-sums';
import { RECOVERY_POINT_MANIFEST_SCHEMA_VERSION, type RecoveryPointManifest } from '../../lib/engine/domain/recovery-point-manifest';
import type { VirtualMachine } from '../../lib/domain/virtual-machine';

const SUB = '6f1c2a3b-4d5e-4f60-9a7b-8c9d0e1f2a3b';
const VAULT_ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v1`;
const ITEM_ID = `${VAULT_ID}/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-vms;web1/protectedItems/VM;iaasvmcontainerv2;rg-vms;web1`;
const VM_ID = `/subscriptions/${SUB}/resourceGroups/rg-vms/providers/Microsoft.Compute/virtualMachines/web1`;

const item: ProtectedItemRecord = {
  vaultId: VAULT_ID,
  containerName: 'IaasVMContainer;iaasvmcontainerv2;rg-vms;web1',
  itemName: 'VM;iaasvmcontainerv2;rg-vms;web1',
  engineItemId: 'e-1',
  vm: { id: VM_ID, name: 'web1', resourceGroup: 'rg-vms', location: 'westeurope', osType: 'Linux', vmSize: 'Standard_B2s' },
  policyName: 'DefaultPolicy',
  protectionState: 'IRPending',
  healthStatus: 'Passed',
  onDemandBackups: [],
  createdAt: '2026-11-01T00:00:00.000Z',
};

describe('protectedItemResource', () => {
  const now = new Date('2026-11-02T00:00:00.000Z');

  it('shows an IRPending item with its policy and the initial-backup warning', () => {
    const resource = protectedItemResource(item, { itemId: ITEM_ID, policyId: `${VAULT_ID}/backupPolicies/DefaultPolicy` }, { count: 0 }, now);
    expect(resource).toMatchObject({
      id: ITEM_ID,
      name: item.itemName,
      type: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems',
      properties: {
        protectedItemType: 'Microsoft.Compute/virtualMachines',
        containerName: 'iaasvmcontainerv2;rg-vms;web1',
        friendlyName: 'web1',
        sourceResourceId: VM_ID,
        policyName: 'DefaultPolicy',
        protectionStatus: 'Healthy',
        protectionState: 'IRPending',
        healthDetails: [{ code: 100001, title: 'Warning (initial backup pending)' }],
        extendedInfo: { recoveryPointCount: 0, policyInconsistent: false },
      },
    });
    expect(resource.properties.isScheduledForDeferredDelete).toBeUndefined();
  });

  it('shows a soft-deleted item with its delete time and remaining time, and no policy', () => {
    const { policyName: _p, ...stopped } = item;
    const softDeleted: ProtectedItemRecord = {
      ...stopped,
      protectionState: 'ProtectionStopped',
      softDelete: { deletedAt: '2026-11-01T00:00:00.000Z', purgeAt: '2026-11-15T00:00:00.000Z' },
    };
    const resource = protectedItemResource(softDeleted, { itemId: ITEM_ID }, { count: 3, oldest: '2026-10-01T00:00:00.000Z' }, now);
    expect(resource.properties).toMatchObject({
      isScheduledForDeferredDelete: true,
      deferredDeleteTimeInUTC: '2026-11-01T00:00:00.000Z',
      deferredDeleteTimeRemaining: 'P13D',
      healthDetails: [{ code: 100002, title: 'Soft-deleted' }],
      extendedInfo: { recoveryPointCount: 3, oldestRecoveryPoint: '2026-10-01T00:00:00.000Z' },
    });
    expect(resource.properties.policyId).toBeUndefined();
  });
});

describe('protectableItemResource', () => {
  it('addresses the VM under its container and shows what protection checks', () => {
    const vm: VirtualMachine = {
      id: VM_ID,
      subscriptionId: SUB,
      resourceGroup: 'rg-vms',
      name: 'web1',
      location: 'westeurope',
      vmSize: 'Standard_B2s',
      osType: 'Linux',
      powerState: 'running',
      provisioningState: 'Succeeded',
      agent: { status: 'Ready', version: '2.7' },
      disks: [{ kind: 'os', name: 'os', vhdUri: 'http://x/c/os.vhd', storageType: 'Premium', sizeBytes: 32 * 1024 ** 3 }],
      encryption: { enabled: true, bek: { secretUrl: 'https://kv/secrets/s', vaultId: 'kv' } },
      createdAt: '2026-01-01T00:00:00Z',
    };
    expect(protectableItemResource(VAULT_ID, vm)).toMatchObject({
      id: `${VAULT_ID}/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-vms;web1/protectableItems/vm;iaasvmcontainerv2;rg-vms;web1`,
      name: 'iaasvmcontainerv2;rg-vms;web1',
      properties: {
        protectableItemType: 'Microsoft.Compute/virtualMachines',
        virtualMachineId: VM_ID,
        protectionState: 'NotProtected',
        agent: { status: 'Ready', version: '2.7' },
        disks: [{ kind: 'os', name: 'os', storageType: 'Premium', sizeInGB: 32 }],
        encryption: { enabled: true, bek: true, kek: false },
        protectedItemName: 'VM;iaasvmcontainerv2;rg-vms;web1',
      },
    });
  });
});

describe('recoveryPointResource', () => {
  const row = {
    recoveryPointId: '1762000000000',
    createdAt: '2026-11-01T12:26:40.000Z',
    consistency: 'ApplicationConsistent' as const,
    diskCount: 2,
    state: 'SnapshotTierDeleted',
    retention: { isOnDemand: true, retainUntil: '2026-12-01T00:00:00.000Z' },
  };

  it('lists type, tiers and expiry from the catalog row', () => {
    const resource = recoveryPointResource(ITEM_ID, item, row);
    expect(resource).toMatchObject({
      id: `${ITEM_ID}/recoveryPoints/1762000000000`,
      name: '1762000000000',
      properties: {
        objectType: 'IaasVMRecoveryPoint',
        recoveryPointType: 'AppConsistent',
        osType: 'Linux',
        virtualMachineSize: 'Standard_B2s',
        recoveryPointTierDetails: [
          { type: 'InstantRP', status: 'Deleted' },
          { type: 'HardenedRP', status: 'Valid' },
        ],
        recoveryPointDiskConfiguration: { numberOfDisksIncludedInBackup: 2 },
        recoveryPointProperties: { expiryTime: '2026-12-01T00:00:00.000Z' },
      },
    });
  });

  it("shows on each valid tier until when and why retention keeps it", () => {
    const kept = {
      ...row,
      state: 'Committed',
      retention: {
        isOnDemand: false,
        ruleName: 'Latest',
        reason: 'Kept as the latest recovery point until the next successful backup.',
        snapshotTier: { expiryTime: '2026-11-03T12:26:40.000Z', reason: 'Snapshot kept past 2026-11-03 12:26 UTC: the latest recovery point keeps its snapshot until the next successful backup.' },
      },
    };
    expect(recoveryPointResource(ITEM_ID, item, kept).properties.recoveryPointTierDetails).toEqual([
      { type: 'InstantRP', status: 'Valid', extendedInfo: { retentionExpiryTime: '2026-11-03T12:26:40.000Z', retentionReason: kept.retention.snapshotTier.reason } },
      { type: 'HardenedRP', status: 'Valid', extendedInfo: { retentionReason: kept.retention.reason } },
    ]);
    // A deleted tier says nothing more.
    expect(recoveryPointResource(ITEM_ID, item, { ...kept, state: 'SnapshotTierDeleted' }).properties.recoveryPointTierDetails[0]).toEqual({ type: 'InstantRP', status: 'Deleted' });
  });

  it('with the manifest: included and excluded disks (OS disk lun -1), storage type and encryption', () => {
    const disk = (lun: number, storageType: 'Standard' | 'Premium') => ({
      lun,
      name: `d${lun}`,
      sizeBytes: 1024 * 1024 + 512,
      storageType,
      source: { blobUrl: `http://127.0.0.1:10000/devstoreaccount1/vhds/d${lun}.vhd`, snapshot: 's' },
      replica: { blobName: `items/e-1/disks/lun${lun}.vhd`, snapshot: 'r' },
      checksumsBlobName: `items/e-1/points/1/lun${lun}.sums`,
      changeDetection: 'full' as const,
      bytesRead: 0,
      bytesWritten: 0,
      bytesCleared: 0,
    });
    const manifest: RecoveryPointManifest = {
      schemaVersion: RECOVERY_POINT_MANIFEST_SCHEMA_VERSION,
      itemId: 'e-1',
      recoveryPointId: row.recoveryPointId,
      createdAt: row.createdAt,
      consistency: 'ApplicationConsistent',
      vmConfig: { disks: [{ slot: 0, name: 'd0' }, { slot: 1, name: 'd1' }, { slot: 3, name: 'd3' }] },
      blockSize: BLOCK_SIZE,
      hashAlgorithm: HASH_ALGORITHM,
      disks: [disk(0, 'Standard'), disk(1, 'Premium')],
      keyAndSecret: { encryptionMechanism: 'BitLocker', bek: { secretUrl: 'https://kv.vault.azure.net/secrets/bek/1', secretVaultId: 'kv' }, kek: { keyUrl: 'https://kv.vault.azure.net/keys/kek/1', keyVaultId: 'kv' } },
    };
    expect(recoveryPointResource(ITEM_ID, item, row, manifest).properties).toMatchObject({
      sourceVMStorageType: 'PremiumVMOnPartialPremiumStorage',
      isSourceVMEncrypted: true,
      recoveryPointDiskConfiguration: {
        numberOfDisksIncludedInBackup: 2,
        numberOfDisksAttachedToVm: 3,
        includedDiskList: [
          { lun: -1, name: 'd0' },
          { lun: 0, name: 'd1' },
        ],
        excludedDiskList: [{ lun: 2, name: 'd3' }],
      },
      keyAndSecret: { encryptionMechanism: 'BitLocker', bekDetails: { secretVaultId: 'kv' }, kekDetails: { keyVaultId: 'kv' } },
    });
  });
});
