/**
 * Finds the store and blob behind a disk URL (a page-blob view's handle, as a manifest records it): the
 * instant-restore snapshot lives in the VM's own storage account, which may be any of several.
 */
import type { BlobRef } from '../../../stores/disk-store';
import type { PageBlobStore } from '../../../stores/page-blob-store';

export interface LocatedDisk {
  store: PageBlobStore;
  ref: BlobRef;
}

/**
 * Resolves blob URLs by the endpoint of a fixed set of accounts (`PageBlobStore` carries its
 * `endpoint`): `<endpoint>/<container>/<blob path>`, percent-decoded per segment.
 */
export class EndpointDiskLocator {
  private readonly accounts: Array<{ endpoint: URL; store: PageBlobStore }>;

  constructor(accounts: ReadonlyArray<{ readonly endpoint: string; readonly store: PageBlobStore }>) {
    this.accounts = accounts.map((a) => ({ endpoint: new URL(a.endpoint), store: a.store }));
  }

  /** From stores that know their own endpoint. */
  static of(...stores: PageBlobStore[]): EndpointDiskLocator {
    return new EndpointDiskLocator(stores.map((store) => ({ endpoint: store.endpoint, store })));
  }

  /** The store serving `blobUrl` (no query string) and the blob in it; undefined when no known account serves it. */
  locate(blobUrl: string): LocatedDisk | undefined {
    let url: URL;
    try {
      url = new URL(blobUrl);
    } catch {
      return undefined;
    }
    for (const { endpoint, store } of this.accounts) {
      if (url.origin !== endpoint.origin) continue;
      const base = endpoint.pathname.endsWith('/') ? endpoint.pathname : `${endpoint.pathname}/`;
      if (!url.pathname.startsWith(base)) continue;
      const [container, ...blobPath] = url.pathname.slice(base.length).split('/');
      if (container === '' || blobPath.length === 0 || blobPath.some((segment) => segment === '')) continue;
      try {
        return {
          store,
          ref: { container: decodeURIComponent(container), blob: blobPath.map((s) => decodeURIComponent(s)).join('/') },
        };
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}
