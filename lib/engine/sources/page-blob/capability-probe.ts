/**
 * What a storage endpoint really does, measured once per endpoint with scratch blobs. Every
 * engine code path that depends on it (diff vs checksum change detection, server-side vs streamed
 * staging copy) is chosen from this result, never from the endpoint's name.
 *
 * API:
 *   probeStoreCapabilities(store, {scratchContainer, forceRefresh?, clock?}): Promise<StoreCapabilities>
 *   clearCapabilityCache(): void
 */
import { createHash, randomUUID } from 'node:crypto';
import { AZURE_PAGE_SIZE as PAGE, type ByteRange } from '../../domain/page-ranges';
import type { BlobRef } from '../../../stores/disk-store';
import type { PageBlobStore } from '../../../stores/page-blob-store';

export interface StoreCapabilities {
  endpoint: string;
  /** Get Page Ranges with prevsnapshot returns exactly the changed and the cleared ranges. */
  trueDiff: boolean;
  /** A completed server-side copy does not see writes made to its source afterwards. */
  copyPointInTime: boolean;
  /** Writes to a copy leave its source (blob or snapshot) untouched. */
  copyWriteIsolated: boolean;
  /** Both of the above: staging may use a server-side copy. */
  serverSideCopySafe: boolean;
  /** ISO time of the probe. */
  probedAt: string;
  /** What was observed, one line per finding (for logs and reports). */
  observations: string[];
}

export interface ProbeOptions {
  /** A container the probe may create and write scratch blobs in (they are deleted afterwards). */
  scratchContainer: string;
  /** Probe again even when this endpoint has a cached result. */
  forceRefresh?: boolean;
  clock?: () => Date;
}

const cache = new Map<string, Promise<StoreCapabilities>>();

export function probeStoreCapabilities(store: PageBlobStore, options: ProbeOptions): Promise<StoreCapabilities> {
  const cached = cache.get(store.endpoint);
  if (cached !== undefined && options.forceRefresh !== true) return cached;
  const probe = runProbe(store, options);
  cache.set(store.endpoint, probe);
  probe.catch(() => {
    if (cache.get(store.endpoint) === probe) cache.delete(store.endpoint);
  });
  return probe;
}

export function clearCapabilityCache(): void {
  cache.clear();
}

const page = (index: number): ByteRange => ({ start: index * PAGE, end: (index + 1) * PAGE });
const filled = (byte: number): Buffer => Buffer.alloc(PAGE, byte);

async function runProbe(store: PageBlobStore, options: ProbeOptions): Promise<StoreCapabilities> {
  const clock = options.clock ?? (() => new Date());
  const container = options.scratchContainer;
  await store.createContainerIfNotExists(container);
  const run = randomUUID();
  const scratch: BlobRef[] = [];
  const blob = async (role: string, pages: number): Promise<BlobRef> => {
    const ref = { container, blob: `kluis-probe-${run}-${role}` };
    scratch.push(ref);
    await store.createPageBlob(ref, pages * PAGE);
    return ref;
  };
  const observations: string[] = [];
  try {
    const trueDiff = await probeDiff(store, await blob('diff', 4), observations);
    const copy = await probeCopy(store, blob, observations);
    return {
      endpoint: store.endpoint,
      trueDiff,
      copyPointInTime: copy.pointInTime,
      copyWriteIsolated: copy.writeIsolated,
      serverSideCopySafe: copy.pointInTime && copy.writeIsolated,
      probedAt: clock().toISOString(),
      observations,
    };
  } finally {
    await Promise.allSettled(scratch.map((ref) => store.deleteBlob(ref)));
  }
}

/** Pages 0–2 written, snapshot; page 0 rewritten, page 1 cleared, snapshot; diff must be [0] and cleared [1]. */
async function probeDiff(store: PageBlobStore, ref: BlobRef, observations: string[]): Promise<boolean> {
  await write(store, ref, 0, filled(1));
  await write(store, ref, 1, filled(2));
  await write(store, ref, 2, filled(3));
  const before = await store.createSnapshot(ref);
  await write(store, ref, 0, filled(4));
  await store.clearPages(ref, page(1));
  const after = await store.createSnapshot(ref);
  try {
    const diff = await store.getPageRangesDiff({ ...ref, snapshot: after }, before, { start: 0, end: 4 * PAGE });
    const exact = sameRanges(diff.changed, [page(0)]) && sameRanges(diff.cleared, [page(1)]);
    observations.push(
      `page-range diff: changed ${formatRanges(diff.changed)}, cleared ${formatRanges(diff.cleared)} ` +
        `(expected changed [0,512) and cleared [512,1024)) → ${exact ? 'true diff' : 'not a true diff'}`,
    );
    return exact;
  } catch (err) {
    observations.push(`page-range diff: the request failed (${describeError(err)}) → not supported`);
    return false;
  }
}

/**
 * Copies a blob and a snapshot server-side, then writes the sources and the copies:
 * point-in-time = each copy still holds its source's bytes as of the copy; isolated = writing a copy
 * leaves its source unchanged.
 */
async function probeCopy(
  store: PageBlobStore,
  blob: (role: string, pages: number) => Promise<BlobRef>,
  observations: string[],
): Promise<{ pointInTime: boolean; writeIsolated: boolean }> {
  const source = await blob('copy-source', 2);
  await write(store, source, 0, filled(0x41));
  await write(store, source, 1, filled(0x42));
  const sourceSnapshot = await store.createSnapshot(source);
  const fromBlob = await blob('copy-of-blob', 2);
  const fromSnapshot = await blob('copy-of-snapshot', 2);
  try {
    await store.copyBlob(source, fromBlob);
    await store.copyBlob({ ...source, snapshot: sourceSnapshot }, fromSnapshot);
  } catch (err) {
    observations.push(`server-side copy: the request failed (${describeError(err)}) → not usable`);
    return { pointInTime: false, writeIsolated: false };
  }
  await write(store, source, 0, filled(0x43));
  await write(store, fromBlob, 1, filled(0x44));
  await write(store, fromSnapshot, 1, filled(0x45));

  const blobCopyPage0 = await store.readRange(fromBlob, 0, PAGE);
  const snapshotCopyPage0 = await store.readRange(fromSnapshot, 0, PAGE);
  const sourcePage1 = await store.readRange(source, PAGE, PAGE);
  const snapshotPage1 = await store.readRange({ ...source, snapshot: sourceSnapshot }, PAGE, PAGE);

  const pointInTime = blobCopyPage0.equals(filled(0x41)) && snapshotCopyPage0.equals(filled(0x41));
  const writeIsolated = sourcePage1.equals(filled(0x42)) && snapshotPage1.equals(filled(0x42));
  observations.push(
    `server-side copy: after writing the source, the copy of the blob reads ${describeByte(blobCopyPage0)} and ` +
      `the copy of its snapshot ${describeByte(snapshotCopyPage0)} (expected 0x41) → ${pointInTime ? '' : 'not '}point-in-time`,
    `server-side copy: after writing the copies, the source reads ${describeByte(sourcePage1)} and its snapshot ` +
      `${describeByte(snapshotPage1)} (expected 0x42) → ${writeIsolated ? '' : 'not '}write-isolated`,
  );
  return { pointInTime, writeIsolated };
}

async function write(store: PageBlobStore, ref: BlobRef, pageIndex: number, data: Buffer): Promise<void> {
  await store.uploadPages(ref, pageIndex * PAGE, data, { transactionalContentMD5: createHash('md5').update(data).digest() });
}

function sameRanges(a: readonly ByteRange[], b: readonly ByteRange[]): boolean {
  return a.length === b.length && a.every((r, i) => r.start === b[i].start && r.end === b[i].end);
}

function formatRanges(ranges: readonly ByteRange[]): string {
  return `[${ranges.map((r) => `[${r.start},${r.end})`).join(' ')}]`;
}

function describeByte(page: Buffer): string {
  const first = page[0];
  const uniform = page.every((b) => b === first);
  return uniform ? `0x${first.toString(16).padStart(2, '0')}` : 'mixed bytes';
}

function describeError(err: unknown): string {
  const e = err as { statusCode?: number; code?: string; name?: string };
  return [e.statusCode, e.code ?? e.name].filter((x) => x !== undefined).join(' ') || 'unknown error';
}
