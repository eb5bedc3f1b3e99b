/**
 * The page blobs behind the fabric's managed disks, snapshots and disk restore points, in the source
 * storage account (Azurite):
 *
 *   lineage  one container `md-<disk unique id>` holding one page blob `disk.vhd`: the disk's bytes, a
 *            fixed VHD (data + 512-byte footer) as Azure's disk SAS serves it. Incremental snapshots and
 *            disk restore points of the disk are blob snapshots of that blob, so they share unchanged
 *            pages and diff against each other (x-ms-previous-snapshot-url); a disk made from one (Copy,
 *            Restore) is a server-side copy into a lineage of its own. A full snapshot is a lineage too.
 *   access   each SAS grant (beginGetAccess) is a stored access policy (signed identifier) on the
 *            lineage's container, and the SAS names it (`si`); revoking deletes the identifier, and
 *            Azurite then refuses the SAS (403 AuthorizationFailure) — a real revocation. A container
 *            holds at most 5 identifiers (Azure's limit), which is also Azure's limit of 5 SAS per
 *            snapshot family at a time. Identifier changes of one container are serialized in-process.
 *
 * The policy's expiry is on the real clock (Azurite checks it against its own); the fabric's clock, which
 * may be the host's fake clock, ends grants itself (access.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  BlobServiceClient,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
  type PageBlobClient,
  type SignedIdentifier,
} from '@azure/storage-blob';
import { isStatus } from '../../../lib/stores/azure/rest-status';
import { parseVhdFooter, VHD_FOOTER_SIZE } from '../../../lib/engine/domain/vhd';
import { storageAccountNameOfBlobUrl } from '../../../lib/domain/restore-request';
import { parseConnectionString } from '../../connection-string';
import { computeErrors } from './errors';
import { KeyedLock } from './keyed-lock';

export const BACKING_BLOB = 'disk.vhd';
/** Azure's limit of stored access policies per container. */
export const MAX_GRANTS_PER_LINEAGE = 5;
const COPY_POLL_INTERVAL_IN_MS = 50;
const MIB = 1024 * 1024;

/** A page blob, or one of its snapshots. */
export interface BlobLocation {
  container: string;
  blob: string;
  snapshot?: string;
}

export type GrantPermissions = 'r' | 'rw';

export class DiskBlobs {
  private readonly aclLock = new KeyedLock();

  constructor(
    private readonly service: BlobServiceClient,
    private readonly credential: StorageSharedKeyCredential,
  ) {}

  static fromConnectionString(connectionString: string): DiskBlobs {
    const parts = parseConnectionString(connectionString);
    if (parts.AccountName === undefined || parts.AccountKey === undefined) {
      throw new Error('The fabric needs an account name and key in the source storage connection string to sign disk SAS URLs.');
    }
    return new DiskBlobs(
      BlobServiceClient.fromConnectionString(connectionString, { retryOptions: { maxTries: 3 } }),
      new StorageSharedKeyCredential(parts.AccountName, parts.AccountKey),
    );
  }

  /** The lineage of a new disk or full snapshot with this unique id. */
  static lineageOf(uniqueId: string): BlobLocation {
    return { container: `md-${uniqueId.replace(/-/g, '').toLowerCase()}`, blob: BACKING_BLOB };
  }

  pageBlob(location: BlobLocation): PageBlobClient {
    const blob = this.service.getContainerClient(location.container).getPageBlobClient(location.blob);
    return location.snapshot === undefined ? blob : blob.withSnapshot(location.snapshot);
  }

  /** The account's name (Import checks a source's storageAccountId against it). */
  get accountName(): string {
    return this.credential.accountName;
  }

  /**
   * The blob a URL of this account names, by the account's name in the URL (path style, as Azurite's, or host
   * style, as Azure's): the endpoint may differ (a proxy in front of the same service). The query is ignored but
   * for `snapshot=`. Undefined for another account.
   */
  locationOfUrl(url: string): BlobLocation | undefined {
    if (storageAccountNameOfBlobUrl(url)?.toLowerCase() !== this.accountName.toLowerCase()) return undefined;
    const parsed = new URL(url);
    const segments = parsed.pathname.split('/').filter((segment) => segment !== '');
    const hostStyle = parsed.hostname.toLowerCase().startsWith(`${this.accountName.toLowerCase()}.`);
    const [container, ...blob] = hostStyle ? segments : segments.slice(1);
    if (container === undefined || blob.length === 0) return undefined;
    const snapshot = parsed.searchParams.get('snapshot') ?? undefined;
    return { container: decodeURIComponent(container), blob: blob.map(decodeURIComponent).join('/'), ...(snapshot === undefined ? {} : { snapshot }) };
  }

  /** The data size of a page blob holding a fixed VHD; undefined when there is no such blob, or the problem with it. */
  async fixedVhdSize(location: BlobLocation): Promise<{ dataSize: number } | { problem: string } | undefined> {
    const blob = this.pageBlob(location);
    let size: number;
    try {
      const properties = await blob.getProperties();
      if (properties.blobType !== 'PageBlob') return { problem: `it is a ${properties.blobType ?? 'blob of unknown type'}, not a page blob` };
      size = properties.contentLength ?? 0;
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
    if (size <= VHD_FOOTER_SIZE || (size - VHD_FOOTER_SIZE) % MIB !== 0) return { problem: `its size (${size} bytes) is not a whole number of MiB plus the 512-byte footer` };
    const footer = await blob.downloadToBuffer(size - VHD_FOOTER_SIZE, VHD_FOOTER_SIZE);
    try {
      const parsed = parseVhdFooter(footer);
      if (parsed.currentSize !== size - VHD_FOOTER_SIZE) return { problem: `its footer records ${parsed.currentSize} bytes of data, the blob holds ${size - VHD_FOOTER_SIZE}` };
    } catch (err) {
      return { problem: (err as Error).message };
    }
    return { dataSize: size - VHD_FOOTER_SIZE };
  }

  /** A new page blob of `sizeBytes` (zeros) in a new lineage container. */
  async create(location: BlobLocation, sizeBytes: number, metadata: Record<string, string> = {}): Promise<void> {
    await this.service.getContainerClient(location.container).createIfNotExists();
    await this.pageBlob(location).create(sizeBytes, { metadata });
  }

  /** Server-side copy of `source` (a blob or a snapshot of one) into a new lineage container. */
  async copy(source: BlobLocation, target: BlobLocation, metadata: Record<string, string> = {}): Promise<void> {
    await this.service.getContainerClient(target.container).createIfNotExists();
    const poller = await this.pageBlob(target).beginCopyFromURL(this.pageBlob(source).url, { metadata, intervalInMs: COPY_POLL_INTERVAL_IN_MS });
    const result = await poller.pollUntilDone();
    if (result.copyStatus !== undefined && result.copyStatus !== 'success') throw new Error(`The copy of the disk ended with status '${result.copyStatus}'.`);
  }

  /** A blob snapshot of the lineage's blob; its time. */
  async snapshot(location: BlobLocation): Promise<string> {
    const { snapshot } = await this.pageBlob({ container: location.container, blob: location.blob }).createSnapshot();
    if (snapshot === undefined) throw new Error('The storage service returned no snapshot time.');
    return snapshot;
  }

  async exists(location: BlobLocation): Promise<boolean> {
    return this.pageBlob(location).exists();
  }

  async deleteSnapshot(location: BlobLocation & { snapshot: string }): Promise<void> {
    try {
      await this.pageBlob(location).delete();
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
  }

  /** Whether the lineage's blob has snapshots (incremental snapshots or disk restore points still use it). */
  async hasSnapshots(container: string): Promise<boolean> {
    try {
      for await (const item of this.service.getContainerClient(container).listBlobsFlat({ includeSnapshots: true })) {
        if (item.snapshot !== undefined && item.snapshot !== '') return true;
      }
    } catch (err) {
      if (isStatus(err, 404)) return false;
      throw err;
    }
    return false;
  }

  async deleteLineage(container: string): Promise<void> {
    await this.service.getContainerClient(container).deleteIfExists();
  }

  async getLineageMetadata(container: string): Promise<Record<string, string> | undefined> {
    try {
      return (await this.service.getContainerClient(container).getProperties()).metadata ?? {};
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  async setLineageMetadata(container: string, metadata: Record<string, string>): Promise<void> {
    await this.service.getContainerClient(container).setMetadata(metadata);
  }

  /**
   * A SAS URL for `location` naming a new stored access policy with these permissions, valid on the real
   * clock for `durationInSeconds`. OperationNotAllowed when the lineage has 5 grants already.
   */
  async grant(location: BlobLocation, permissions: GrantPermissions, durationInSeconds: number): Promise<{ id: string; url: string }> {
    const id = randomUUID().replace(/-/g, '');
    const container = this.service.getContainerClient(location.container);
    await this.aclLock.run(location.container, async () => {
      const { signedIdentifiers } = await container.getAccessPolicy();
      if (signedIdentifiers.length >= MAX_GRANTS_PER_LINEAGE) {
        throw computeErrors.operationNotAllowed(
          `At most ${MAX_GRANTS_PER_LINEAGE} shared access signatures can be active at once on a disk and its incremental snapshots and restore points; call EndGetAccess on one of them first.`,
        );
      }
      const policy: SignedIdentifier = { id, accessPolicy: { permissions, expiresOn: new Date(Date.now() + durationInSeconds * 1000) } };
      await container.setAccessPolicy(undefined, [...signedIdentifiers, policy]);
    });
    const sas = generateBlobSASQueryParameters(
      {
        containerName: location.container,
        blobName: location.blob,
        identifier: id,
        ...(location.snapshot === undefined ? {} : { snapshotTime: location.snapshot }),
      },
      this.credential,
    ).toString();
    const base = this.pageBlob({ container: location.container, blob: location.blob }).url;
    const url = location.snapshot === undefined ? `${base}?${sas}` : `${base}?snapshot=${encodeURIComponent(location.snapshot)}&${sas}`;
    return { id, url };
  }

  /** Deletes the stored access policy `id`: every SAS naming it is refused from now on. Idempotent. */
  async revoke(container: string, id: string): Promise<void> {
    const client = this.service.getContainerClient(container);
    await this.aclLock.run(container, async () => {
      let signedIdentifiers: SignedIdentifier[];
      try {
        ({ signedIdentifiers } = await client.getAccessPolicy());
      } catch (err) {
        if (isStatus(err, 404)) return;
        throw err;
      }
      const kept = signedIdentifiers.filter((identifier) => identifier.id !== id);
      if (kept.length !== signedIdentifiers.length) await client.setAccessPolicy(undefined, kept);
    });
  }
}
