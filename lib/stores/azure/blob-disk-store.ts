import {
  BlobServiceClient,
  type BlobClient,
  type PageBlobClient,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import { errors } from '../../domain/errors';
import { BlobClients } from './blob-clients';
import { blobServiceClientOf } from './storage-clients';
import type { StorageConnection } from '../../domain/storage-account';
import { droppedReadRetryOf, readRetryingDrops, type DroppedReadRetry } from './storage-retry';
import { VHD_FOOTER_SIZE } from '../../engine/domain/vhd';
import type {
  AbortOptions,
  BlobRef,
  BlobType,
  DiskBlobProperties,
  DiskStore,
  PageRange,
  UploadPagesOptions,
  WriteBlockBlobOptions,
} from '../disk-store';

/** DiskStore over Azure Blob Storage (or Azurite) through `@azure/storage-blob`. */
export class BlobDiskStore implements DiskStore {
  protected readonly clients: BlobClients;

  constructor(
    private readonly service: BlobServiceClient,
    private readonly readRetry: DroppedReadRetry = droppedReadRetryOf(undefined),
  ) {
    this.clients = new BlobClients(service);
  }

  static fromConnectionString(connectionString: StorageConnection, options?: StoragePipelineOptions): BlobDiskStore {
    return new BlobDiskStore(blobServiceClientOf(connectionString, options), droppedReadRetryOf(options));
  }

  async getBlobProperties(ref: BlobRef, options: AbortOptions = {}): Promise<DiskBlobProperties | undefined> {
    try {
      const props = await this.blob(ref).getProperties({ abortSignal: options.abortSignal });
      return {
        size: props.contentLength ?? 0,
        blobType: (props.blobType ?? 'BlockBlob') as BlobType,
        etag: props.etag,
        lastModified: props.lastModified,
        metadata: props.metadata ?? {},
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  readFooter(ref: BlobRef, blobSize: number, options: AbortOptions = {}): Promise<Buffer> {
    return this.readRange(ref, blobSize - VHD_FOOTER_SIZE, VHD_FOOTER_SIZE, options);
  }

  async createSnapshot(ref: BlobRef, options: AbortOptions & { metadata?: Record<string, string> } = {}): Promise<string> {
    const response = await this.call(ref, () =>
      this.blob({ container: ref.container, blob: ref.blob }).createSnapshot({
        abortSignal: options.abortSignal,
        metadata: options.metadata,
      }),
    );
    if (response.snapshot === undefined) throw errors.backupOperationFailed('The storage service returned no snapshot id.');
    return response.snapshot;
  }

  async readRange(ref: BlobRef, offset: number, count: number, options: AbortOptions = {}): Promise<Buffer> {
    if (count === 0) return Buffer.alloc(0);
    const data = await this.call(ref, () =>
      // One Get Blob for the whole range: the SDK would otherwise split it into sequential 4 MiB requests.
      readRetryingDrops(() => this.blob(ref).downloadToBuffer(offset, count, { abortSignal: options.abortSignal, blockSize: count }), options.abortSignal, this.readRetry),
    );
    if (data.length !== count) {
      throw errors.transferIntegrityFailed(`Read ${data.length} bytes at offset ${offset}, expected ${count}.`);
    }
    return data;
  }

  async *listPageRanges(ref: BlobRef, options: AbortOptions = {}): AsyncIterable<PageRange> {
    const ranges = this.pageBlob(ref).listPageRanges(0, undefined, { abortSignal: options.abortSignal });
    try {
      for await (const range of ranges) {
        if (range.isClear) continue;
        yield { offset: range.start, count: range.end - range.start + 1 };
      }
    } catch (err) {
      throw translate(err, ref);
    }
  }

  async createContainerIfNotExists(container: string, options: AbortOptions = {}): Promise<void> {
    await this.service.getContainerClient(container).createIfNotExists({ abortSignal: options.abortSignal });
  }

  async createPageBlob(
    ref: BlobRef,
    size: number,
    options: AbortOptions & { metadata?: Record<string, string> } = {},
  ): Promise<void> {
    await this.call(ref, () =>
      this.pageBlob(ref).create(size, { abortSignal: options.abortSignal, metadata: options.metadata }),
    );
  }

  async uploadPages(ref: BlobRef, offset: number, data: Uint8Array, options: UploadPagesOptions): Promise<void> {
    await this.call(ref, () =>
      this.pageBlob(ref).uploadPages(Buffer.from(data.buffer, data.byteOffset, data.byteLength), offset, data.byteLength, {
        abortSignal: options.abortSignal,
        transactionalContentMD5: options.transactionalContentMD5,
      }),
    );
  }

  async writeBlockBlob(ref: BlobRef, content: Uint8Array | string, options: WriteBlockBlobOptions = {}): Promise<void> {
    const body = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    await this.call(ref, () =>
      this.service
        .getContainerClient(ref.container)
        .getBlockBlobClient(ref.blob)
        .upload(body, body.length, {
          abortSignal: options.abortSignal,
          metadata: options.metadata,
          blobHTTPHeaders: options.contentType === undefined ? undefined : { blobContentType: options.contentType },
        }),
    );
  }

  readBlob(ref: BlobRef, options: AbortOptions = {}): Promise<Buffer> {
    return this.call(ref, () => readRetryingDrops(() => this.blob(ref).downloadToBuffer(0, undefined, { abortSignal: options.abortSignal }), options.abortSignal, this.readRetry));
  }

  async deleteSnapshot(ref: BlobRef, options: AbortOptions = {}): Promise<void> {
    if (ref.snapshot === undefined || ref.snapshot === '') {
      throw errors.invalidRequest('snapshot', 'deleteSnapshot needs a snapshot id; use deleteBlob for the base blob.');
    }
    await this.deleteIgnoringMissing(this.blob(ref), ref, options, undefined);
  }

  async deleteBlob(ref: BlobRef, options: AbortOptions = {}): Promise<void> {
    await this.deleteIgnoringMissing(this.blob({ container: ref.container, blob: ref.blob }), ref, options, 'include');
  }

  private async deleteIgnoringMissing(
    client: BlobClient,
    ref: BlobRef,
    options: AbortOptions,
    deleteSnapshots: 'include' | undefined,
  ): Promise<void> {
    try {
      await client.delete({ abortSignal: options.abortSignal, deleteSnapshots });
    } catch (err) {
      if (isNotFound(err)) return;
      throw translate(err, ref);
    }
  }

  private blob(ref: BlobRef): BlobClient {
    return this.clients.blob(ref);
  }

  private pageBlob(ref: BlobRef): PageBlobClient {
    return this.clients.pageBlob(ref);
  }

  private async call<T>(ref: BlobRef, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      throw translate(err, ref);
    }
  }
}

interface RestErrorLike {
  name?: string;
  statusCode?: number;
  code?: string;
}

function isNotFound(err: unknown): boolean {
  return (err as RestErrorLike | undefined)?.statusCode === 404;
}

/** 404s become KluisBlobNotFound; everything else passes through unchanged so retries see it. */
function translate(err: unknown, ref: BlobRef): unknown {
  if (isNotFound(err)) {
    return errors.blobNotFound(ref.container, ref.snapshot ? `${ref.blob}?snapshot=${ref.snapshot}` : ref.blob);
  }
  return err;
}
