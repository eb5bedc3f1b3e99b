/**
 * Fixtures for vault and policy service tests: a fixed vault address, protected item records put
 * straight into a catalog, and a snapshot of every catalog document (to assert that a rejected
 * request changed nothing).
 */
import { containerName, itemName, vaultId, type VaultRef } from '../../lib/domain/arm-names';
import { vaultKey, type ProtectedItemRecord, type VaultRecord } from '../../lib/domain/catalog';
import { isKluisErrorLike } from '../../lib/domain/errors';
import { collect } from '../../lib/stores/document-store';
import type { VaultCatalog } from '../../lib/stores/vault-catalog';

export const SUBSCRIPTION = '6f1c2a3b-4d5e-4f60-9a7b-8c9d0e1f2a3b';

/** A vault record as the vault service stores it (westeurope, GeoRedundant, soft delete 14 days). */
export function vaultRecord(subscriptionId: string, resourceGroup: string, name: string, overrides: Partial<VaultRecord> = {}): VaultRecord {
  return {
    id: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.RecoveryServices/vaults/${name}`,
    subscriptionId,
    resourceGroup,
    name,
    location: 'westeurope',
    storageModelType: 'GeoRedundant',
    softDelete: { state: 'Enabled', retentionDays: 14 },
    createdAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

export function vaultRef(vaultName = 'vault1', resourceGroup = 'rg-backup', subscriptionId = SUBSCRIPTION): VaultRef {
  return { subscriptionId, resourceGroup, vaultName };
}

/** Every document of every store of the catalog, with its ETag. */
export async function catalogSnapshot(catalog: VaultCatalog): Promise<unknown[]> {
  return [
    await collect(catalog.vaults.listAll()),
    await collect(catalog.policies.listAll()),
    await collect(catalog.items.listAll()),
    await collect(catalog.jobs.listAll()),
    await collect(catalog.operations.listAll()),
  ];
}

export type ItemState = 'protected' | 'retained' | 'softDeleted';

/** A protected item record of `vm` in `vault`, in one of the three states that hold backup data. */
export function itemRecord(vault: VaultRef, vm: string, state: ItemState = 'protected', policyName = 'DefaultPolicy'): ProtectedItemRecord {
  const record: ProtectedItemRecord = {
    vaultId: vaultId(vault),
    containerName: containerName('rg-vms', vm),
    itemName: itemName('rg-vms', vm),
    engineItemId: `item-${vm}`,
    vm: { id: `/subscriptions/${vault.subscriptionId}/resourceGroups/rg-vms/providers/Microsoft.Compute/virtualMachines/${vm}`, name: vm, resourceGroup: 'rg-vms', location: 'westeurope', osType: 'Linux', vmSize: 'Standard_B2s' },
    protectionState: state === 'protected' ? 'Protected' : 'ProtectionStopped',
    healthStatus: 'Passed',
    onDemandBackups: [],
    createdAt: '2026-01-01T00:00:00.000Z',
  };
  if (state === 'protected') record.policyName = policyName;
  if (state === 'softDeleted') record.softDelete = { deletedAt: '2026-01-02T00:00:00.000Z', purgeAt: '2026-01-16T00:00:00.000Z' };
  return record;
}

export async function putItem(catalog: VaultCatalog, vault: VaultRef, record: ProtectedItemRecord): Promise<void> {
  await catalog.items.insert(vaultKey(vault.subscriptionId, vault.resourceGroup, vault.vaultName), record.itemName.toLowerCase(), record);
}

/** The KluisError a promise rejects with (code, target, message, details); fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<{ code: string; status?: number; target?: string; message: string; details?: readonly unknown[] }> {
  try {
    await promise;
  } catch (err) {
    if (isKluisErrorLike(err)) return { code: err.code, status: err.status, target: err.target, message: err.message, details: err.details };
    throw err;
  }
  throw new Error('expected the request to be rejected');
}
