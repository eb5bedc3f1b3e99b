import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PageBlobClient } from '@azure/storage-blob';
import fc from 'fast-check';
import {
  AZURE_PAGE_SIZE as PAGE,
  fromAzurePageList,
  fromAzureRangeInfos,
  fromSdkRangeResponse,
  intersectRanges,
  normalizeRanges,
  type AzurePageRangeInfo,
  type ByteRange,
  type PageRangesDiff,
} from '../../lib/engine/domain/page-ranges';
import { startAzurite } from '../../emulator/azurite';
import { blobService, uniqueName, useAzurite } from '../support/azurite';

const EXTENSION = path.resolve(__dirname, '../../emulator/azurite-page-diff.js');
const ACTIVE_LINE = 'kluis: azurite page-range diff extension active';

/** Ranges in whole pages, e.g. pages(4, 6) is bytes [2048, 3072). */
const pages = (first: number, end: number): ByteRange => ({ start: first * PAGE, end: end * PAGE });

interface Disk {
  readonly blob: PageBlobClient;
  write(first: number, end: number, byte: number): Promise<void>;
  clear(first: number, end: number): Promise<void>;
  snapshot(): Promise<string>;
}

/** Wraps a page blob client with page-unit helpers. */
function diskAt(blob: PageBlobClient): Disk {
  return {
    blob,
    write: async (first, end, byte) => {
      await blob.uploadPages(Buffer.alloc((end - first) * PAGE, byte), first * PAGE, (end - first) * PAGE);
    },
    clear: async (first, end) => {
      await blob.clearPages(first * PAGE, (end - first) * PAGE);
    },
    snapshot: async () => (await blob.createSnapshot()).snapshot as string,
  };
}

/** Creates a fresh container; returns a factory of fresh page blobs in it. */
async function diskFactory(connectionString: string, prefix: string): Promise<(sizeInPages: number) => Promise<Disk>> {
  const container = blobService(connectionString).getContainerClient(uniqueName(prefix));
  await container.create();
  return async (sizeInPages) => {
    const blob = container.getPageBlobClient(uniqueName('disk'));
    await blob.create(sizeInPages * PAGE);
    return diskAt(blob);
  };
}

/*
 * The main scenario, on 32 pages.
 * Before A: write [0,8) [12,16) [20,24) [28,30).
 * Between A and B: overwrite [4,6), append [8,10), clear [13,14) inside a written range, clear all of
 * [20,24), write [26,27), rewrite [28,29) with the same bytes, write then clear [16,17), clear the
 * never-written [30,32).
 * After B: write [0,1), clear [26,27).
 */
const SCENARIO_PAGES = 32;

async function writeBeforeA(disk: Disk): Promise<void> {
  await disk.write(0, 8, 1);
  await disk.write(12, 16, 2);
  await disk.write(20, 24, 3);
  await disk.write(28, 30, 4);
}

async function changeBetweenAAndB(disk: Disk): Promise<void> {
  await disk.write(4, 6, 5);
  await disk.write(8, 10, 6);
  await disk.clear(13, 14);
  await disk.clear(20, 24);
  await disk.write(26, 27, 7);
  await disk.write(28, 29, 4);
  await disk.write(16, 17, 8);
  await disk.clear(16, 17);
  await disk.clear(30, 32);
}

async function changeAfterB(disk: Disk): Promise<void> {
  await disk.write(0, 1, 9);
  await disk.clear(26, 27);
}

const EXPECTED_B_VS_A: PageRangesDiff = {
  changed: [pages(4, 6), pages(8, 10), pages(26, 27), pages(28, 29)],
  cleared: [pages(13, 14), pages(20, 24)],
};
const EXPECTED_BASE_VS_A: PageRangesDiff = {
  changed: [pages(0, 1), pages(4, 6), pages(8, 10), pages(28, 29)],
  cleared: [pages(13, 14), pages(20, 24)],
};
const EXPECTED_BASE_VS_B: PageRangesDiff = { changed: [pages(0, 1)], cleared: [pages(26, 27)] };

interface Window {
  offset?: number;
  count?: number;
}

const windowOf = (range: ByteRange): Window => ({ offset: range.start, count: range.end - range.start });

/**
 * The diff of `target` against `prevSnapshot`, read through all three SDK surfaces (raw pages of
 * `listPageRangesDiff().byPage()`, its items, and `getPageRangesDiff`) which must agree.
 */
async function diffOf(target: PageBlobClient, prevSnapshot: string, window: Window = {}): Promise<PageRangesDiff> {
  const offset = window.offset ?? 0;
  const count = window.count; // undefined: to the end of the blob
  const segments = [];
  for await (const segment of target.listPageRangesDiff(offset, count as number, prevSnapshot).byPage()) {
    segments.push(fromAzurePageList(segment));
  }
  const fromSegments: PageRangesDiff = {
    changed: normalizeRanges(segments.flatMap((s) => s.changed)),
    cleared: normalizeRanges(segments.flatMap((s) => s.cleared)),
  };
  const items: AzurePageRangeInfo[] = [];
  for await (const item of target.listPageRangesDiff(offset, count as number, prevSnapshot)) items.push(item);
  expect(fromAzureRangeInfos(items)).toEqual(fromSegments);
  expect(fromSdkRangeResponse(await target.getPageRangesDiff(offset, count as number, prevSnapshot))).toEqual(
    fromSegments,
  );
  return fromSegments;
}

describe('Get Page Ranges diff on Azurite with the kluis extension', () => {
  const azurite = useAzurite({ extensions: [EXTENSION] });
  let newDisk: (sizeInPages: number) => Promise<Disk>;
  beforeAll(async () => {
    newDisk = await diskFactory(azurite().connectionString, 'page-diff');
  });

  async function scenario() {
    const disk = await newDisk(SCENARIO_PAGES);
    await writeBeforeA(disk);
    const a = await disk.snapshot();
    await changeBetweenAAndB(disk);
    const b = await disk.snapshot();
    await changeAfterB(disk);
    return { disk, a, b, atA: disk.blob.withSnapshot(a), atB: disk.blob.withSnapshot(b) };
  }

  test('diff between two snapshots reports written pages as PageRange and cleared pages as ClearRange', async () => {
    const { a, atB } = await scenario();
    expect(await diffOf(atB, a)).toEqual(EXPECTED_B_VS_A);
  });

  test('diff of the base blob against a snapshot includes writes made after the last snapshot', async () => {
    const { disk, a, b } = await scenario();
    expect(await diffOf(disk.blob, a)).toEqual(EXPECTED_BASE_VS_A);
    expect(await diffOf(disk.blob, b)).toEqual(EXPECTED_BASE_VS_B);
  });

  test('an unchanged blob has an empty diff, both as base blob and as a later snapshot', async () => {
    const disk = await newDisk(16);
    await disk.write(0, 4, 1);
    await disk.clear(1, 2);
    const a = await disk.snapshot();
    const b = await disk.snapshot();
    expect(await diffOf(disk.blob, a)).toEqual({ changed: [], cleared: [] });
    expect(await diffOf(disk.blob.withSnapshot(b), a)).toEqual({ changed: [], cleared: [] });
    expect(await diffOf(disk.blob.withSnapshot(a), a)).toEqual({ changed: [], cleared: [] });
  });

  test('the Range window limits and clips the diff', async () => {
    const { a, atB } = await scenario();
    expect(await diffOf(atB, a, windowOf(pages(5, 21)))).toEqual({
      changed: [pages(5, 6), pages(8, 10)],
      cleared: [pages(13, 14), pages(20, 21)],
    });
    expect(await diffOf(atB, a, windowOf(pages(10, 13)))).toEqual({ changed: [], cleared: [] });
    expect(await diffOf(atB, a, { offset: 21 * PAGE })).toEqual({
      changed: [pages(26, 27), pages(28, 29)],
      cleared: [pages(21, 24)],
    });
    await expect(atB.getPageRangesDiff(32 * PAGE, PAGE, a)).rejects.toMatchObject({ statusCode: 416 });
  });

  test('a blob that grew after the snapshot reports the new pages as changed', async () => {
    const disk = await newDisk(8);
    await disk.write(0, 8, 1);
    const a = await disk.snapshot();
    await disk.blob.resize(16 * PAGE);
    await disk.write(12, 14, 2);
    expect(await diffOf(disk.blob, a)).toEqual({ changed: [pages(12, 14)], cleared: [] });
  });

  test('a blob that shrank: pages cut off lie outside the diff, pages cleared inside are ClearRange', async () => {
    const disk = await newDisk(16);
    await disk.write(0, 16, 1);
    const a = await disk.snapshot();
    await disk.blob.resize(8 * PAGE);
    expect(await diffOf(disk.blob, a)).toEqual({ changed: [], cleared: [] });
    await disk.clear(6, 8);
    expect(await diffOf(disk.blob, a)).toEqual({ changed: [], cleared: [pages(6, 8)] });
  });

  test('Get Page Ranges without prevsnapshot is left to Azurite and lists every allocated range', async () => {
    const { atB } = await scenario();
    const all = fromSdkRangeResponse(await atB.getPageRanges());
    expect(all).toEqual({
      changed: [pages(0, 10), pages(12, 13), pages(14, 16), pages(26, 27), pages(28, 30)],
      cleared: [],
    });
  });

  test("the SDK's getPageRangesDiff reports count = end - start, one less than the length", async () => {
    const { a, atB } = await scenario();
    const response = await atB.getPageRangesDiff(0, 32 * PAGE, a);
    expect(response.clearRange?.[0]).toEqual({ offset: 13 * PAGE, count: PAGE - 1 });
  });

  test('a missing previous snapshot fails with 409 PreviousSnapshotNotFound', async () => {
    const disk = await newDisk(8);
    await disk.write(0, 1, 1);
    const a = await disk.snapshot();
    const neverTaken = '2001-01-01T00:00:00.0000000Z';
    await expect(disk.blob.getPageRangesDiff(0, 8 * PAGE, neverTaken)).rejects.toMatchObject({
      statusCode: 409,
      code: 'PreviousSnapshotNotFound',
    });
    await disk.blob.withSnapshot(a).delete();
    await expect(disk.blob.getPageRangesDiff(0, 8 * PAGE, a)).rejects.toMatchObject({
      statusCode: 409,
      code: 'PreviousSnapshotNotFound',
    });
  });

  test('a previous snapshot newer than the target snapshot fails with 400 PreviousSnapshotCannotBeNewer', async () => {
    const { a, b, atA } = await scenario();
    await expect(atA.getPageRangesDiff(0, 32 * PAGE, b)).rejects.toMatchObject({
      statusCode: 400,
      code: 'PreviousSnapshotCannotBeNewer',
    });
    expect(a < b).toBe(true);
  });

  test('a blob recreated after the previous snapshot fails with 409 BlobOverwritten', async () => {
    const disk = await newDisk(8);
    await disk.write(0, 8, 1);
    const a = await disk.snapshot();
    await disk.blob.create(8 * PAGE);
    await expect(disk.blob.getPageRangesDiff(0, 8 * PAGE, a)).rejects.toMatchObject({
      statusCode: 409,
      code: 'BlobOverwritten',
    });
  });

  test('a missing target blob still fails with 404 BlobNotFound', async () => {
    const disk = await newDisk(8);
    const a = await disk.snapshot();
    const other = blobService(azurite().connectionString)
      .getContainerClient(disk.blob.containerName)
      .getPageBlobClient(uniqueName('absent'));
    await expect(other.getPageRangesDiff(0, 8 * PAGE, a)).rejects.toMatchObject({
      statusCode: 404,
      code: 'BlobNotFound',
    });
  });

  test('random writes and clears: the diff is exactly the pages written since A and covers every change', async () => {
    const DISK_PAGES = 128; // 64 KiB
    const opArb = fc.record({
      clear: fc.boolean(),
      first: fc.integer({ min: 0, max: DISK_PAGES - 1 }),
      length: fc.integer({ min: 1, max: 16 }),
      byte: fc.integer({ min: 0, max: 3 }), // few values, so identical rewrites happen
    });
    const windowArb = fc
      .tuple(fc.integer({ min: 0, max: DISK_PAGES - 1 }), fc.integer({ min: 1, max: DISK_PAGES }))
      .map(([first, length]) => pages(first, Math.min(first + length, DISK_PAGES)));

    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { maxLength: 8 }),
        fc.array(opArb, { maxLength: 8 }),
        windowArb,
        async (before, between, window) => {
          const disk = await newDisk(DISK_PAGES);
          const model = new PageModel(DISK_PAGES);
          for (const op of before) await apply(disk, model, op);
          const atA = model.copy();
          const a = await disk.snapshot();
          model.startTrackingWrites();
          for (const op of between) await apply(disk, model, op);
          const b = await disk.snapshot();

          // The model is right about content: what Azurite stores at B is what the model holds.
          expect((await disk.blob.withSnapshot(b).downloadToBuffer()).equals(model.bytes)).toBe(true);

          const diff = await diffOf(disk.blob.withSnapshot(b), a);
          const changedPages = pageSet(diff.changed);
          const clearedPages = pageSet(diff.cleared);
          for (let p = 0; p < DISK_PAGES; p += 1) {
            const allocationChanged = model.allocated[p] !== atA.allocated[p];
            const bytesDiffer = !model.page(p).equals(atA.page(p));
            const writtenSinceA = model.allocated[p] && model.writtenSinceTracking[p];
            // Never under-report: every real change is in the diff, on the right side.
            if (model.allocated[p] && (bytesDiffer || allocationChanged)) expect(changedPages.has(p)).toBe(true);
            if (!model.allocated[p] && atA.allocated[p]) expect(clearedPages.has(p)).toBe(true);
            // Exactly Azure's rule: PageRange = still-allocated pages written since A; ClearRange = deallocated.
            expect(changedPages.has(p)).toBe(writtenSinceA);
            expect(clearedPages.has(p)).toBe(atA.allocated[p] && !model.allocated[p]);
          }

          const windowed = await diffOf(disk.blob.withSnapshot(b), a, windowOf(window));
          expect(windowed).toEqual({
            changed: intersectRanges(diff.changed, [window]),
            cleared: intersectRanges(diff.cleared, [window]),
          });
        },
      ),
      { numRuns: 8 },
    );
  });
});

describe('Get Page Ranges diff on persistent Azurite with the kluis extension', () => {
  // On disk, writes share extent files at different offsets, and metadata is reloaded on restart.
  test('gives the same diffs across a restart between A and B', async () => {
    const location = mkdtempSync(path.join(tmpdir(), 'kluis-page-diff-data-'));
    try {
      const first = await startAzurite({ location, extensions: [EXTENSION] });
      let container: string;
      let name: string;
      let a: string;
      try {
        const disk = await (await diskFactory(first.connectionString, 'persistent'))(SCENARIO_PAGES);
        [container, name] = [disk.blob.containerName, disk.blob.name];
        await writeBeforeA(disk);
        a = await disk.snapshot();
        await changeBetweenAAndB(disk);
      } finally {
        await first.stop();
      }

      const second = await startAzurite({ location, extensions: [EXTENSION] });
      try {
        const disk = diskAt(blobService(second.connectionString).getContainerClient(container).getPageBlobClient(name));
        const b = await disk.snapshot();
        await changeAfterB(disk);
        expect(await diffOf(disk.blob.withSnapshot(b), a)).toEqual(EXPECTED_B_VS_A);
        expect(await diffOf(disk.blob, a)).toEqual(EXPECTED_BASE_VS_A);
        expect(await diffOf(disk.blob, b)).toEqual(EXPECTED_BASE_VS_B);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(location, { recursive: true, force: true });
    }
  });
});

describe('Get Page Ranges diff on plain Azurite 3.35.0 (what the capability probe detects)', () => {
  const azurite = useAzurite();

  test('answers a diff request with the full range list of the target and no ClearRange', async () => {
    const container = blobService(azurite().connectionString).getContainerClient(uniqueName('no-ext'));
    await container.create();
    const blob = container.getPageBlobClient('disk.vhd');
    await blob.create(16 * PAGE);
    await blob.uploadPages(Buffer.alloc(4 * PAGE, 1), 0, 4 * PAGE);
    const a = (await blob.createSnapshot()).snapshot as string;
    await blob.clearPages(0, PAGE);
    await blob.uploadPages(Buffer.alloc(PAGE, 2), 8 * PAGE, PAGE);

    expect(await diffOf(blob, a)).toEqual({ changed: [pages(1, 4), pages(8, 9)], cleared: [] });
    // Even a missing previous snapshot is not an error.
    expect(fromSdkRangeResponse(await blob.getPageRangesDiff(0, 16 * PAGE, '2001-01-01T00:00:00.0000000Z'))).toEqual({
      changed: [pages(1, 4), pages(8, 9)],
      cleared: [],
    });
  });
});

describe('loading the extension', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kluis-page-diff-ext-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs `script` in a fresh node with the extension preloaded; returns stderr. */
  function runWithExtension(script: string): { stderr: string; stdout: string; status: number | null } {
    const result = spawnSync(process.execPath, ['--require', EXTENSION, '-e', script], { encoding: 'utf8', cwd: dir });
    return { stderr: result.stderr, stdout: result.stdout, status: result.status };
  }

  test('patches Azurite 3.35.0 when it loads PageBlobHandler and says so once', () => {
    const handler = require.resolve('azurite/dist/src/blob/handlers/PageBlobHandler');
    const batch = require.resolve('azurite/dist/src/blob/handlers/BlobBatchHandler');
    const result = runWithExtension(
      `const H = require(${JSON.stringify(handler)}).default;` +
        `require(${JSON.stringify(batch)});` +
        `console.log(H.prototype[Symbol.for('kluis.azurite-page-diff.patched')]);`,
    );
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('true');
    expect(result.stderr.split('\n').filter((line) => line.startsWith('kluis:'))).toEqual([ACTIVE_LINE]);
  });

  test('leaves another Azurite version alone and warns', () => {
    const handlersDir = path.join(dir, 'node_modules', 'azurite', 'dist', 'src', 'blob', 'handlers');
    mkdirSync(handlersDir, { recursive: true });
    writeFileSync(path.join(dir, 'node_modules', 'azurite', 'package.json'), '{"name":"azurite","version":"3.99.0"}');
    const original = 'async function getPageRanges() { return "original"; }';
    writeFileSync(
      path.join(handlersDir, 'PageBlobHandler.js'),
      'class PageBlobHandler {}\n' +
        `PageBlobHandler.prototype.getPageRanges = ${original};\n` +
        'exports.default = PageBlobHandler;\n',
    );
    const result = runWithExtension(
      `const H = require('azurite/dist/src/blob/handlers/PageBlobHandler').default;` +
        `console.log(H.prototype.getPageRanges.toString());`,
    );
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(original);
    expect(result.stderr).toContain('kluis: warning: azurite 3.99.0 found');
    expect(result.stderr).not.toContain(ACTIVE_LINE);
  });
});

function pageSet(ranges: readonly ByteRange[]): Set<number> {
  const set = new Set<number>();
  for (const { start, end } of ranges) for (let p = start / PAGE; p < end / PAGE; p += 1) set.add(p);
  return set;
}

interface PageOp {
  clear: boolean;
  first: number;
  length: number;
  byte: number;
}

async function apply(disk: Disk, model: PageModel, op: PageOp): Promise<void> {
  const end = Math.min(op.first + op.length, model.pageCount);
  if (op.clear) {
    await disk.clear(op.first, end);
    model.clear(op.first, end);
  } else {
    await disk.write(op.first, end, op.byte);
    model.write(op.first, end, op.byte);
  }
}

/** Byte-level model of a page blob: content, which pages are allocated, which were written since a point. */
class PageModel {
  readonly bytes: Buffer;
  readonly allocated: boolean[];
  writtenSinceTracking: boolean[];

  constructor(readonly pageCount: number) {
    this.bytes = Buffer.alloc(pageCount * PAGE);
    this.allocated = new Array<boolean>(pageCount).fill(false);
    this.writtenSinceTracking = new Array<boolean>(pageCount).fill(false);
  }

  copy(): PageModel {
    const copy = new PageModel(this.pageCount);
    this.bytes.copy(copy.bytes);
    this.allocated.forEach((value, i) => (copy.allocated[i] = value));
    return copy;
  }

  startTrackingWrites(): void {
    this.writtenSinceTracking = new Array<boolean>(this.pageCount).fill(false);
  }

  page(p: number): Buffer {
    return this.bytes.subarray(p * PAGE, (p + 1) * PAGE);
  }

  write(first: number, end: number, byte: number): void {
    this.bytes.fill(byte, first * PAGE, end * PAGE);
    for (let p = first; p < end; p += 1) {
      this.allocated[p] = true;
      this.writtenSinceTracking[p] = true;
    }
  }

  clear(first: number, end: number): void {
    this.bytes.fill(0, first * PAGE, end * PAGE);
    for (let p = first; p < end; p += 1) this.allocated[p] = false;
  }
}
