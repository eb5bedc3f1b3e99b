import { BlobServiceClient, type BlobClient, type StoragePipelineOptions } from '@azure/storage-blob';
import type { AbortOptions, BlobRef } from '../disk-store';
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

/** RestoreTargetStore over Azure Blob Storage (or Azurite) through `@azure/storage-blob`. */
export class BlobRestoreTargetStore implements RestoreTargetStore {
  constructor(private readonly service: BlobServiceClient) {}

  static fromConnectionString(connectionString: string, options?: StoragePipelineOptions): BlobRestoreTargetStore {
    return new BlobRestoreTargetStore(BlobServiceClient.fromConnectionString(connectionString, options));
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
    await this.service
      .getContainerClient(ref.container)
      .getPageBlobClient(ref.blob)
      .uploadPages(Buffer.from(data.buffer, data.byteOffset, data.byteLength), offset, data.byteLength, {
        abortSignal: options.abortSignal,
        transactionalContentMD5: options.transactionalContentMD5,
      });
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

  private blob(ref: BlobRef): BlobClient {
    const client = this.service.getContainerClient(ref.container).getBlobClient(ref.blob);
    return ref.snapshot ? client.withSnapshot(ref.snapshot) : client;
  }
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number } | undefined)?.statusCode;
}

/** `If-None-Match: *` on an existing blob: 409 BlobAlreadyExists (some servers answer 412). */
function isAlreadyExists(err: unknown): boolean {
  const status = statusOf(err);
  const code = (err as { code?: string } | undefined)?.code;
  return (status === 409 && code === 'BlobAlreadyExists') || status === 412;
}
