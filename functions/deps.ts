/**
 * Builds the use cases' dependencies from the validated configuration, once per worker process.
 * Only the logger changes per invocation.
 */
import { getConfig, type KluisConfig } from '../lib/config';
import type { DeleteRecoveryPointDeps } from '../lib/services/delete-recovery-point';
import type { BackupEngineDeps, EngineLogger } from '../lib/services/engine-deps';
import type { RestoreDeps } from '../lib/services/restore-disks';
import { BlobPageStore } from '../lib/stores/azure/blob-page-store';
import { BlobRestoreTargetStore } from '../lib/stores/azure/blob-restore-target-store';
import { probeStoreCapabilities } from '../lib/stores/azure/capability-probe';
import { TableRecoveryPointCatalog } from '../lib/stores/azure/table-recovery-point-catalog';
import { EndpointDiskLocator } from '../lib/stores/source-disk-locator';
import type { StorageCapabilitiesSummary } from '../orchestrations/contracts';

interface Stores {
  config: KluisConfig;
  source: BlobPageStore;
  vault: BlobPageStore;
  catalog: TableRecoveryPointCatalog;
  target: BlobRestoreTargetStore;
  sources: EndpointDiskLocator;
}

let stores: Stores | undefined;

function buildStores(): Stores {
  const config = getConfig();
  const source = BlobPageStore.fromConnectionString(config.sourceStorage);
  const vault = config.vaultStorage === config.sourceStorage ? source : BlobPageStore.fromConnectionString(config.vaultStorage);
  return {
    config,
    source,
    vault,
    catalog: TableRecoveryPointCatalog.fromConnectionString(config.vaultStorage, config.catalogTable),
    target: BlobRestoreTargetStore.fromConnectionString(config.restoreStorage),
    sources: EndpointDiskLocator.of(source),
  };
}

function shared(): Stores {
  stores ??= buildStores();
  return stores;
}

const clock = () => new Date();

export function engineDeps(log: EngineLogger): BackupEngineDeps {
  const { source, vault, catalog, config } = shared();
  return { source, vault, vaultContainer: config.vaultContainer, catalog, clock, log };
}

export function restoreDeps(log: EngineLogger): RestoreDeps {
  const { vault, sources, target, catalog } = shared();
  return { vault, sources, target, catalog, clock, log };
}

export function deleteDeps(log: EngineLogger): DeleteRecoveryPointDeps {
  const { vault, sources, catalog } = shared();
  return { vault, sources, catalog, log };
}

/** What the source account can do, probed once per process (cached per endpoint). */
export async function probeSourceStorage(): Promise<StorageCapabilitiesSummary> {
  const { source, config } = shared();
  const capabilities = await probeStoreCapabilities(source, { scratchContainer: config.probeContainer });
  return { trueDiff: capabilities.trueDiff, serverSideCopySafe: capabilities.serverSideCopySafe };
}

export function instantRestoreDays(): number {
  return shared().config.instantRestoreDays;
}
