import { BlobServiceClient, type BlobClient, type PageBlobClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { errors } from '../../domain/errors';
import {
  assertPageAligned,
  fromAzureRangeInfos,
  intersectRanges,
  type AzurePageRangeInfo,
  type ByteRange,
  type PageRangesDiff,
} from '../../engine/domain/page-ranges';
import type { AbortOptions, BlobRef } from '../disk-store';
import type { ListBlobsOptions, ListedBlob, PageBlobStore } from '../page-blob-store';
import { BlobDiskStore } from './blob-disk-store';
import { blobServiceClientOf } from './storage-clients';
import { droppedReadRetryOf, type DroppedReadRetry } from './storage-retry';
import type { StorageConnection } from '../../domain/storage-account';

/** PageBlobStore over Azure Blob Storage (or Azurite) through `@azure/storage-blob`. */
export class BlobPageStore extends BlobDiskStore implements PageBlobStore {
  readonly endpoint: string;

  constructor(
    private readonly client: BlobServiceClient,
    readRetry?: DroppedReadRetry,
  ) {
    super(client, readRetry);
    this.endpoint = withoutQuery(client.url).replace(/\/+$/, '');
  }

  static override fromConnectionString(connectionString: StorageConnection, options?: StoragePipelineOptions): BlobPageStore {
    return new BlobPageStore(blobServiceClientOf(connectionString, options), droppedReadRetryOf(options));
  }

  async listAllocatedRanges(ref: BlobRef, range?: ByteRange, options: AbortOptions = {}): Promise<ByteRange[]> {
    const items = this.pageBlobOf(ref).listPageRanges(range?.start ?? 0, range && range.end - range.start, {
      abortSignal: options.abortSignal,
    });
    const diff = fromAzureRangeInfos(await this.collect(ref, items));
    return range === undefined ? diff.changed : intersectRanges(diff.changed, [range]);
  }

  async getPageRangesDiff(
    ref: BlobRef,
    previousSnapshot: string,
    range?: ByteRange,
    options: AbortOptions = {},
  ): Promise<PageRangesDiff> {
    let scope = range;
    if (scope === undefined) {
      const props = await this.getBlobProperties(ref, options);
      if (props === undefined) throw errors.blobNotFound(ref.container, ref.blob);
      scope = { start: 0, end: props.size };
    }
    if (scope.end <= scope.start) return { changed: [], cleared: [] };
    const items = this.pageBlobOf(ref).listPageRangesDiff(scope.start, scope.end - scope.start, previousSnapshot, {
      abortSignal: options.abortSignal,
    });
    const diff = fromAzureRangeInfos(await this.collect(ref, items));
    return { changed: intersectRanges(diff.changed, [scope]), cleared: intersectRanges(diff.cleared, [scope]) };
  }

  async clearPages(ref: BlobRef, range: ByteRange, options: AbortOptions = {}): Promise<void> {
    assertPageAligned(range, 'clear range');
    if (range.end === range.start) return;
    await this.invoke(ref, () =>
      this.pageBlobOf(ref).clearPages(range.start, range.end - range.start, { abortSignal: options.abortSignal }),
    );
  }

  async resizePageBlob(ref: BlobRef, size: number, options: AbortOptions = {}): Promise<void> {
    await this.invoke(ref, () => this.pageBlobOf(ref).resize(size, { abortSignal: options.abortSignal }));
  }

  async copyBlob(
    source: BlobRef,
    target: BlobRef,
    options: AbortOptions & { metadata?: Record<string, string> } = {},
  ): Promise<void> {
    const sourceUrl = this.blobClientOf(source).url;
    const poller = await this.invoke(source, () =>
      this.blobClientOf({ container: target.container, blob: target.blob }).beginCopyFromURL(sourceUrl, {
        abortSignal: options.abortSignal,
        metadata: options.metadata,
        intervalInMs: 200,
      }),
    );
    const result = await this.invoke(source, () => poller.pollUntilDone());
    if (result.copyStatus !== undefined && result.copyStatus !== 'success') {
      throw errors.stagingCopyFailed(`the copy ended with status '${result.copyStatus}'`);
    }
  }

  async setBlobMetadata(ref: BlobRef, metadata: Record<string, string>, options: AbortOptions = {}): Promise<void> {
    await this.invoke(ref, () =>
      this.blobClientOf({ container: ref.container, blob: ref.blob }).setMetadata(metadata, { abortSignal: options.abortSignal }),
    );
  }

  blobUrl(ref: BlobRef): string {
    return withoutQuery(this.blobClientOf({ container: ref.container, blob: ref.blob }).url);
  }

  async *listContainers(options: AbortOptions = {}): AsyncIterable<string> {
    for await (const container of this.client.listContainers({ abortSignal: options.abortSignal })) yield container.name;
  }

  async *listBlobs(container: string, options: ListBlobsOptions = {}): AsyncIterable<ListedBlob> {
    const items = this.client.getContainerClient(container).listBlobsFlat({
      abortSignal: options.abortSignal,
      prefix: options.prefix,
      includeSnapshots: options.includeSnapshots,
      includeMetadata: true,
    });
    try {
      for await (const item of items) {
        yield {
          container,
          name: item.name,
          snapshot: item.snapshot === undefined || item.snapshot === '' ? undefined : item.snapshot,
          size: item.properties.contentLength ?? 0,
          createdOn: item.properties.createdOn,
          lastModified: item.properties.lastModified,
          metadata: item.metadata ?? {},
        };
      }
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return;
      throw err;
    }
  }

  private async collect(ref: BlobRef, items: AsyncIterable<AzurePageRangeInfo>): Promise<AzurePageRangeInfo[]> {
    const all: AzurePageRangeInfo[] = [];
    try {
      for await (const item of items) all.push(item);
    } catch (err) {
      throw notFoundAsKluis(err, ref);
    }
    return all;
  }

  private blobClientOf(ref: BlobRef): BlobClient {
    return this.clients.blob(ref);
  }

  private pageBlobOf(ref: BlobRef): PageBlobClient {
    return this.clients.pageBlob(ref);
  }

  private async invoke<T>(ref: BlobRef, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      throw notFoundAsKluis(err, ref);
    }
  }
}

function withoutQuery(url: string): string {
  const parsed = new URL(url);
  parsed.search = '';
  parsed.hash = '';
  return parsed.toString();
}

function notFoundAsKluis(err: unknown, ref: BlobRef): unknown {
  if ((err as { statusCode?: number } | undefined)?.statusCode === 404) {
    return errors.blobNotFound(ref.container, ref.snapshot ? `${ref.blob}?snapshot=${ref.snapshot}` : ref.blob);
  }
  return err;
}
