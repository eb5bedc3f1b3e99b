/**
 * One backup per item when two on-demand requests overlap, on in-memory stores: a request claims the
 * item before it writes its Backup job, so a second request that reads the claim in between must be
 * refused (UserErrorBackupOperationInProgress) rather than take the claim over as abandoned; only a
 * job-less claim older than JOBLESS_CLAIM_GRACE_MS (its request died) is taken over.
 */
import { containerName, itemName } from '../../lib/domain/arm-names';
import type { VaultRecord } from '../../lib/domain/catalog';
import { vmResourceId } from '../../lib/domain/virtual-machine';
import { triggerBackup, type BackupRequestDeps } from '../../lib/services/backup-requests';
import { claimBackup, JOBLESS_CLAIM_GRACE_MS } from '../../lib/services/backup-claim';
import { getProtectedItem, putProtectedItem } from '../../lib/services/protection';
import { createOrUpdateVault, getVault } from '../../lib/services/vaults';
import { MemoryVmInventory } from '../../lib/stores/memory/vm-inventory';
import { memoryVaultCatalog } from '../../lib/stores/vault-catalog';
import { rejection, SUBSCRIPTION, vaultRef } from '../support/vault-fixtures';

const START = new Date('2026-11-01T08:00:00.000Z');
const names = { containerName: containerName('rg-vms', 'web1'), itemName: itemName('rg-vms', 'web1') };

async function world(): Promise<{ deps: BackupRequestDeps; vault: VaultRecord; now: { value: Date } }> {
  const catalog = memoryVaultCatalog();
  const inventory = new MemoryVmInventory();
  const now = { value: START };
  let ids = 0;
  const deps: BackupRequestDeps = { catalog, inventory, clock: () => now.value, newId: () => `job-${++ids}`, locateDisk: () => undefined };
  await createOrUpdateVault(deps, vaultRef(), { location: 'westeurope' });
  await inventory.create({
    id: vmResourceId(SUBSCRIPTION, 'rg-vms', 'web1'),
    subscriptionId: SUBSCRIPTION,
    resourceGroup: 'rg-vms',
    name: 'web1',
    location: 'westeurope',
    vmSize: 'Standard_B2s',
    osType: 'Linux',
    powerState: 'running',
    provisioningState: 'Succeeded',
    agent: { status: 'Ready' },
    disks: [{ kind: 'os', name: 'web1-os', vhdUri: 'http://127.0.0.1:10000/devstoreaccount1/vhds/os.vhd', storageType: 'Standard', sizeBytes: 1024 ** 3 }],
    createdAt: START.toISOString(),
  });
  const vault = (await getVault(deps, vaultRef())).value;
  await putProtectedItem({ ...deps, inventory }, vault, names, { sourceResourceId: vmResourceId(SUBSCRIPTION, 'rg-vms', 'web1'), policyId: 'DefaultPolicy' });
  return { deps, vault, now };
}

describe('two on-demand backups of one item', () => {
  it('refuses the second while the first has claimed the item but not yet written its job', async () => {
    const { deps, vault } = await world();
    // Hold the first request's job insert until the second request has been answered.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const insert = deps.catalog.jobs.insert.bind(deps.catalog.jobs);
    let first = true;
    deps.catalog.jobs.insert = async (...args) => {
      if (first) {
        first = false;
        await held;
      }
      return insert(...args);
    };
    const started: string[] = [];
    const start = async (instanceId: string) => {
      started.push(instanceId);
    };
    const firstRequest = triggerBackup(deps, vault, names, {}, start);
    while (first) await new Promise((resolve) => setImmediate(resolve));

    const second = await rejection(triggerBackup(deps, vault, names, {}, start));
    expect(second).toMatchObject({ code: 'UserErrorBackupOperationInProgress', status: 409 });
    release();
    const accepted = await firstRequest;
    expect(started).toEqual([accepted.job.jobId]);
    expect((await getProtectedItem(deps, vault, names)).activeBackup?.jobId).toBe(accepted.job.jobId);
  });

  it('takes over a claim whose job was never written once the grace period is over', async () => {
    const { deps, vault, now } = await world();
    await claimBackup(deps, vault, names.itemName, 'job-of-a-dead-request');
    now.value = new Date(START.getTime() + JOBLESS_CLAIM_GRACE_MS - 1);
    expect((await rejection(claimBackup(deps, vault, names.itemName, 'job-next'))).code).toBe('UserErrorBackupOperationInProgress');
    now.value = new Date(START.getTime() + JOBLESS_CLAIM_GRACE_MS);
    expect((await claimBackup(deps, vault, names.itemName, 'job-next')).activeBackup?.jobId).toBe('job-next');
  });
});
