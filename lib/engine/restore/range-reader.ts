/**
 * What a verified read reads: allocated ranges in ascending order and bytes. From a source disk's view (the
 * instant-restore tier, through its backend), a vault replica's snapshot, or a restored target read back.
 */
import type { DiskView } from '../domain/disk-view';
import type { ByteRange } from '../domain/page-ranges';
import type { AbortOptions, BlobRef, DiskStore } from '../../stores/disk-store';
import type { SourceDiskBackend } from '../sources/source-disk';

export interface RangeReader {
  allocatedRanges(options?: AbortOptions): AsyncIterable<ByteRange>;
  /** Exactly `count` bytes from `offset`. */
  read(offset: number, count: number, options?: AbortOptions): Promise<Buffer>;
}

/** A source disk's view, read through its backend. */
export function viewReader(backend: SourceDiskBackend, view: DiskView): RangeReader {
  return {
    async *allocatedRanges(options) {
      yield* await backend.allocatedRanges(view, undefined, options);
    },
    read: (offset, count, options) => backend.read(view, offset, count, options),
  };
}

/** A page blob or snapshot in a store (the vault's replica snapshot, a restored target). */
export function blobReader(store: Pick<DiskStore, 'listPageRanges' | 'readRange'>, ref: BlobRef): RangeReader {
  return {
    async *allocatedRanges(options) {
      for await (const range of store.listPageRanges(ref, options)) {
        if (range.count > 0) yield { start: range.offset, end: range.offset + range.count };
      }
    },
    read: (offset, count, options) => store.readRange(ref, offset, count, options),
  };
}
