/**
 * ServerSideCopyFacts from the stores' own endpoints and the capability probe (cached per endpoint), for
 * `restoreDisks`: a disk is restored by a server-side copy only where the probe found the account's copies
 * point-in-time and write-isolated.
 *
 * API:
 *   probedServerSideCopyFacts({scratchContainer}): ServerSideCopyFacts
 */
import type { DiskStore } from '../../../stores/disk-store';
import type { PageBlobStore } from '../../../stores/page-blob-store';
import type { ServerSideCopyFacts } from '../../../stores/restore-target-store';
import { probeStoreCapabilities } from './capability-probe';

export interface ProbedServerSideCopyOptions {
  /** A container the probe may create and write scratch blobs in, in each account it probes. */
  scratchContainer: string;
}

export function probedServerSideCopyFacts(options: ProbedServerSideCopyOptions): ServerSideCopyFacts {
  return {
    endpointOf: (store) => (isProbeable(store) ? store.endpoint : undefined),
    serverSideCopySafe: async (store) =>
      isProbeable(store) && (await probeStoreCapabilities(store, { scratchContainer: options.scratchContainer })).serverSideCopySafe,
  };
}

/** A store that knows its endpoint and can run the probe (a `PageBlobStore`, possibly wrapped). */
function isProbeable(store: DiskStore): store is PageBlobStore {
  const candidate = store as Partial<PageBlobStore>;
  return (
    typeof candidate.endpoint === 'string' &&
    typeof candidate.copyBlob === 'function' &&
    typeof candidate.clearPages === 'function' &&
    typeof candidate.getPageRangesDiff === 'function'
  );
}
