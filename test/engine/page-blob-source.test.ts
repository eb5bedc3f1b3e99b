/**
 * The page-blob backend against the source-disk conformance suite, on Azurite with Kluis's extensions (a true
 * page-range diff, isolated copies). Disks are fixed VHDs (data, then the 512-byte footer); access expires as
 * it does for page blobs: a SAS whose expiry passed, which Azure Storage (and Azurite) refuse with 403.
 */
import { AccountSASPermissions, AccountSASResourceTypes, AccountSASServices, BlobServiceClient, generateAccountSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob';
import { azuriteExtensions } from '../../emulator/cli';
import { DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME } from '../../emulator/connection-string';
import type { VmDiskRequest } from '../../lib/engine/domain/backup-job';
import { buildVhdFooter } from '../../lib/engine/domain/vhd';
import { PageBlobBackend } from '../../lib/engine/sources/page-blob/page-blob-backend';
import { clearCapabilityCache } from '../../lib/engine/sources/page-blob/capability-probe';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { blobService, uniqueName, useAzurite } from '../support/azurite';
import { blobOf } from '../support/backup-engine';
import { DATA_SIZE, sourceDiskConformance, type SourceDiskFixture } from './source-disk-conformance';

const azurite = useAzurite({ extensions: [...azuriteExtensions] });
afterAll(() => clearCapabilityCache());

function pageBlobFixture(): SourceDiskFixture {
  const conn = azurite().connectionString;
  const service = blobService(conn);
  const probeContainer = uniqueName('probe');
  const container = uniqueName('vhds');
  let created: Promise<unknown> | undefined;
  const backendOf = (store: BlobPageStore) => new PageBlobBackend({ source: store, probeContainer });
  const backend = backendOf(new BlobPageStore(service));
  const pageBlob = (disk: VmDiskRequest) => service.getContainerClient(container).getPageBlobClient('blob' in disk ? disk.blob : '');
  let disks = 0;
  return {
    backend: () => backend,
    restarted: () => backendOf(BlobPageStore.fromConnectionString(conn, { retryOptions: { maxTries: 1 } })),
    async createDisk(lun) {
      created ??= service.getContainerClient(container).createIfNotExists();
      await created;
      const disk: VmDiskRequest = { lun, container, blob: `disk-${++disks}.vhd`, storageType: 'Standard' };
      await pageBlob(disk).create(DATA_SIZE + 512);
      await pageBlob(disk).uploadPages(buildVhdFooter(DATA_SIZE), DATA_SIZE, 512);
      return disk;
    },
    missingDisk: (lun) => ({ lun, container, blob: `missing-${++disks}.vhd`, storageType: 'Standard' }),
    write: async (disk, offset, data) => {
      await pageBlob(disk).uploadPages(data, offset, data.length);
    },
    clear: async (disk, offset, length) => {
      await pageBlob(disk).clearPages(offset, length);
    },
    async removeView(view) {
      const { container: c, blob, snapshot } = blobOf(view);
      await service.getContainerClient(c).getBlobClient(blob).withSnapshot(snapshot ?? '').delete();
    },
    async expiredAccess() {
      // The backend as a deployment with a SAS connection string builds it, once the SAS has expired.
      const credential = new StorageSharedKeyCredential(DEV_ACCOUNT_NAME, DEV_ACCOUNT_KEY);
      const sas = generateAccountSASQueryParameters(
        {
          expiresOn: new Date(Date.now() - 60_000),
          startsOn: new Date(Date.now() - 3_600_000),
          permissions: AccountSASPermissions.parse('rl'),
          resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
          services: AccountSASServices.parse('b').toString(),
        },
        credential,
      ).toString();
      return backendOf(new BlobPageStore(new BlobServiceClient(`${azurite().blobEndpoint}?${sas}`, undefined, { retryOptions: { maxTries: 1 } })));
    },
  };
}

sourceDiskConformance('pageBlob', pageBlobFixture);
