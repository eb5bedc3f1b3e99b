import { setTimeout as sleep } from 'node:timers/promises';
import { BlobServiceClient, type BlobClient, type PageBlobClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { BlobClients } from './blob-clients';
import { blobServiceClientOf } from './storage-clients';
import type { StorageConnection } from '../../domain/storage-account';
import { droppedReadRetryOf, readRetryingDrops, type DroppedReadRetry } from './storage-retry';
import { errors } from '../../domain/errors';
import type { AbortOptions, BlobRef, PageRange } from '../disk-store';
import type { ListBlobsOptions, ListedBlob } from '../page-blob-store';
import type {
  CreateIfNotExistsResult,
  CreateTargetBlockBlobOptions,
  CreateTargetPageBlobOptions,
  RestoreTargetStore,
  TargetAccountInfo,
  TargetBlobProperties,
} from '../restore-target-store';

/** Account kinds whose premium SKUs hold premium page blobs (BlockBlobStorage/FileStorage do not). */
const PAGE_BLOB_ACCOUNT_KINDS = new Set(['StorageV2', 'Storage']);

/** Copies within an account usually complete at once; a pending one is polled this often. */
const COPY_POLL_INTERVAL_IN_MS = 200;

/** RestoreTargetStore over Azure Blob Storage (or Azurite) through `@azure/storage-blob`. */
export class BlobRestoreTargetStore implements RestoreTargetStore {
  readonly endpoint: string;
  private readonly clients: BlobClients;

  constructor(
    private readonly service: BlobServiceClient,
    private readonly readRetry: DroppedReadRetry = droppedReadRetryOf(undefined),
  ) {
    this.clients = new BlobClients(service);
    const url = new URL(service.url);
    url.search = '';
    url.hash = '';
    this.endpoint = url.toString().replace(/\/+$/, '');
  }

  static fromConnectionString(connectionString: StorageConnection, options?: StoragePipelineOptions): BlobRestoreTargetStore {
    return new BlobRestoreTargetStore(blobServiceClientOf(connectionString, options), droppedReadRetryOf(options));
  }

  blobUrl(ref: BlobRef): string {
    const url = new URL(this.blob(ref).url);
    url.search = ref.snapshot ? `snapshot=${encodeURIComponent(ref.snapshot)}` : '';
    return url.toString();
  }

  async getAccountInfo(options: AbortOptions = {}): Promise<TargetAccountInfo> {
    try {
      const info = await this.service.getAccountInfo({ abortSignal: options.abortSignal });
      const skuName = info.skuName;
      const accountKind = info.accountKind;
      const supportsPremiumPageBlobTiers =
        skuName !== undefined && skuName.startsWith('Premium') && accountKind !== undefined && PAGE_BLOB_ACCOUNT_KINDS.has(accountKind);
      return { skuName, accountKind, supportsPremiumPageBlobTiers };
    } catch (err) {
      // A credential scoped below the account (e.g. a container SAS) cannot ask; then no tier is set.
      if (statusOf(err) === 403) return { supportsPremiumPageBlobTiers: false };
      throw err;
    }
  }

  async createContainerIfNotExists(container: string, options: AbortOptions = {}): Promise<void> {
    await this.service.getContainerClient(container).createIfNotExists({ abortSignal: options.abortSignal });
  }

  async getBlobProperties(ref: BlobRef, options: AbortOptions = {}): Promise<TargetBlobProperties | undefined> {
    try {
      const props = await this.blob(ref).getProperties({ abortSignal: options.abortSignal });
      return { size: props.contentLength ?? 0, etag: props.etag, metadata: props.metadata ?? {}, accessTier: props.accessTier };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async createPageBlobIfNotExists(
    ref: BlobRef,
    size: number,
    options: CreateTargetPageBlobOptions = {},
  ): Promise<CreateIfNotExistsResult> {
    try {
      const response = await this.service
        .getContainerClient(ref.container)
        .getPageBlobClient(ref.blob)
        .create(size, {
          abortSignal: options.abortSignal,
          metadata: options.metadata,
          tier: options.premiumTier,
          conditions: { ifNoneMatch: '*' },
        });
      return { created: true, etag: response.etag };
    } catch (err) {
      if (isAlreadyExists(err)) return { created: false };
      throw err;
    }
  }

  async uploadPages(
    ref: BlobRef,
    offset: number,
    data: Uint8Array,
    options: { transactionalContentMD5: Uint8Array } & AbortOptions,
  ): Promise<void> {
    await this.pageBlob(ref).uploadPages(Buffer.from(data.buffer, data.byteOffset, data.byteLength), offset, data.byteLength, {
        abortSignal: options.abortSignal,
        transactionalContentMD5: options.transactionalContentMD5,
      });
  }

  async copyBlobIfNotExists(
    source: BlobRef,
    target: BlobRef,
    options: CreateTargetPageBlobOptions = {},
  ): Promise<CreateIfNotExistsResult> {
    const destination = this.blob({ container: target.container, blob: target.blob });
    let started: { copyId?: string; isCompleted?: boolean; result?: { etag?: string } };
    try {
      // The poller only starts the copy (Start Copy is not public otherwise); the wait below is ours, so it honours the signal.
      const poller = await destination.beginCopyFromURL(this.blob(source).url, {
        abortSignal: options.abortSignal,
        metadata: options.metadata,
        tier: options.premiumTier,
        conditions: { ifNoneMatch: '*' },
      });
      started = poller.getOperationState() as typeof started;
    } catch (err) {
      if (isAlreadyExists(err)) return { created: false };
      if (statusOf(err) === 404) throw errors.blobNotFound(source.container, describeRef(source));
      throw err;
    }
    try {
      let etag = started.result?.etag;
      if (started.isCompleted !== true) etag = await this.waitForCopy(destination, started.copyId, source, options);
      return { created: true, etag };
    } catch (err) {
      // The target is this call's own (If-None-Match held): stop the copy (a finished one refuses, harmlessly)
      // and remove the target, without the caller's signal, which may be what ended the wait.
      if (started.copyId !== undefined) await destination.abortCopyFromURL(started.copyId).catch(ignore);
      await this.deleteBlob(target).catch(ignore);
      throw err;
    }
  }

  async *listPageRanges(ref: BlobRef, options: AbortOptions = {}): AsyncIterable<PageRange> {
    try {
      for await (const range of this.pageBlob(ref).listPageRanges(0, undefined, { abortSignal: options.abortSignal })) {
        if (range.isClear) continue;
        yield { offset: range.start, count: range.end - range.start + 1 };
      }
    } catch (err) {
      throw notFoundAsKluis(err, ref);
    }
  }

  async readRange(ref: BlobRef, offset: number, count: number, options: AbortOptions = {}): Promise<Buffer> {
    if (count === 0) return Buffer.alloc(0);
    let data: Buffer;
    try {
      // One Get Blob for the whole range: the SDK would otherwise split it into sequential 4 MiB requests.
      data = await readRetryingDrops(() => this.blob(ref).downloadToBuffer(offset, count, { abortSignal: options.abortSignal, blockSize: count }), options.abortSignal, this.readRetry);
    } catch (err) {
      throw notFoundAsKluis(err, ref);
    }
    if (data.length !== count) throw errors.transferIntegrityFailed(`Read ${data.length} bytes at offset ${offset}, expected ${count}.`);
    return data;
  }

  async createBlockBlobIfNotExists(
    ref: BlobRef,
    content: Uint8Array | string,
    options: CreateTargetBlockBlobOptions = {},
  ): Promise<CreateIfNotExistsResult> {
    const body = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    try {
      const response = await this.service
        .getContainerClient(ref.container)
        .getBlockBlobClient(ref.blob)
        .upload(body, body.length, {
          abortSignal: options.abortSignal,
          metadata: options.metadata,
          blobHTTPHeaders: options.contentType === undefined ? undefined : { blobContentType: options.contentType },
          conditions: { ifNoneMatch: '*' },
        });
      return { created: true, etag: response.etag };
    } catch (err) {
      if (isAlreadyExists(err)) return { created: false };
      throw err;
    }
  }

  async setMetadata(
    ref: BlobRef,
    metadata: Record<string, string>,
    options: AbortOptions & { ifMatch?: string } = {},
  ): Promise<void> {
    await this.blob(ref).setMetadata(metadata, {
      abortSignal: options.abortSignal,
      conditions: options.ifMatch === undefined ? undefined : { ifMatch: options.ifMatch },
    });
  }

  async deleteBlob(ref: BlobRef, options: AbortOptions & { ifMatch?: string } = {}): Promise<void> {
    try {
      await this.blob({ container: ref.container, blob: ref.blob }).delete({
        abortSignal: options.abortSignal,
        deleteSnapshots: 'include',
        conditions: options.ifMatch === undefined ? undefined : { ifMatch: options.ifMatch },
      });
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw err;
    }
  }

  async *listBlobs(container: string, options: ListBlobsOptions = {}): AsyncIterable<ListedBlob> {
    const items = this.service.getContainerClient(container).listBlobsFlat({ abortSignal: options.abortSignal, prefix: options.prefix, includeMetadata: true });
    try {
      for await (const item of items) {
        yield {
          container,
          name: item.name,
          size: item.properties.contentLength ?? 0,
          createdOn: item.properties.createdOn,
          lastModified: item.properties.lastModified,
          metadata: item.metadata ?? {},
        };
      }
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw err;
    }
  }

  private blob(ref: BlobRef): BlobClient {
    return this.clients.blob(ref);
  }

  /** Polls the destination until its copy leaves `pending`; returns its ETag once it succeeded. */
  private async waitForCopy(destination: BlobClient, copyId: string | undefined, source: BlobRef, options: AbortOptions): Promise<string | undefined> {
    for (;;) {
      await sleep(COPY_POLL_INTERVAL_IN_MS, undefined, { signal: options.abortSignal });
      const props = await destination.getProperties({ abortSignal: options.abortSignal });
      if (copyId !== undefined && props.copyId !== copyId) {
        throw errors.restoreCopyFailed(`another copy replaced the copy of '${describeRef(source)}'`);
      }
      if (props.copyStatus === 'pending') continue;
      if (props.copyStatus === 'success') return props.etag;
      const why = props.copyStatusDescription ? ` (${props.copyStatusDescription})` : '';
      throw errors.restoreCopyFailed(`the copy of '${describeRef(source)}' ended with status '${props.copyStatus ?? 'unknown'}'${why}`);
    }
  }

  private pageBlob(ref: BlobRef): PageBlobClient {
    return this.clients.pageBlob(ref);
  }
}

function describeRef(ref: BlobRef): string {
  return ref.snapshot ? `${ref.blob}?snapshot=${ref.snapshot}` : ref.blob;
}

function notFoundAsKluis(err: unknown, ref: BlobRef): unknown {
  return statusOf(err) === 404 ? errors.blobNotFound(ref.container, describeRef(ref)) : err;
}

function ignore(): void {}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number } | undefined)?.statusCode;
}

/** `If-None-Match: *` on an existing blob: 409 BlobAlreadyExists (some servers answer 412). */
function isAlreadyExists(err: unknown): boolean {
  const status = statusOf(err);
  const code = (err as { code?: string } | undefined)?.code;
  return (status === 409 && code === 'BlobAlreadyExists') || status === 412;
}
