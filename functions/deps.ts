/**
 * Builds the use cases' dependencies from the validated configuration, once per worker process.
 * Only the logger changes per invocation.
 */
import { getConfig } from '../lib/config';
import type { BackupSliceDeps, Logger } from '../lib/services/backup-slice';
import { BlobDiskStore } from '../lib/stores/azure/blob-disk-store';

type Stores = Omit<BackupSliceDeps, 'log'>;

let stores: Stores | undefined;

function buildStores(): Stores {
  const config = getConfig();
  const disks = BlobDiskStore.fromConnectionString(config.sourceStorage);
  const vault =
    config.vaultStorage === config.sourceStorage ? disks : BlobDiskStore.fromConnectionString(config.vaultStorage);
  return { disks, vault, vaultContainer: config.vaultContainer, clock: () => new Date() };
}

export function backupSliceDeps(log: Logger): BackupSliceDeps {
  stores ??= buildStores();
  return { ...stores, log };
}
