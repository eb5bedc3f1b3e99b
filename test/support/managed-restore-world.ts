/**
 * A restore to new managed disks wired as the restore activity wires it, against the test fabric's Compute
 * endpoint (unchanged @azure/arm-compute client, retries off) and its Azurite.
 */
import { ManagedDiskBackend } from '../../lib/engine/sources/managed-disk/managed-disk-backend';
import { sourceDiskRegistry } from '../../lib/engine/sources/registry';
import type { ManagedRestoreDeps } from '../../lib/engine/restore/restore-managed-disks';
import { BlobSasPageReader } from '../../lib/stores/azure/arm-managed-disk-compute';
import { BlobRestoreTargetStore } from '../../lib/stores/azure/blob-restore-target-store';
import { azuriteEngineDeps, silentLogger } from './backup-engine';
import { fabricManagedDiskCompute, type LocalComputeFabric } from './compute-fabric';

export function managedRestoreWorld(fabric: LocalComputeFabric) {
  const compute = fabricManagedDiskCompute(fabric);
  const sas = new BlobSasPageReader({ retryOptions: { maxTries: 1 } });
  const backend = new ManagedDiskBackend({ compute, sas });
  const engine = { ...azuriteEngineDeps(fabric.connectionString), sources: sourceDiskRegistry(backend) };
  const deps: ManagedRestoreDeps = {
    vault: engine.vault,
    sources: engine.sources,
    target: BlobRestoreTargetStore.fromConnectionString(fabric.connectionString, { retryOptions: { maxTries: 1 } }),
    catalog: engine.catalog,
    clock: () => new Date(),
    log: silentLogger,
    compute,
    sas,
  };
  return { engine, deps, compute, backend };
}
