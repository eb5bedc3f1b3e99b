/** What the page-blob backend's parts take: the source storage account (VM disks, their snapshots, staging blobs), a clock and a logger. */
import type { PageBlobStore } from '../../../stores/page-blob-store';
import type { EngineLogger } from '../../engine-deps';

export interface PageBlobSourceDeps {
  source: PageBlobStore;
  clock: () => Date;
  log: EngineLogger;
}
