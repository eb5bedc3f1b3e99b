/**
 * One conformance suite for every source-disk backend (restic's backend test suite in spirit): each
 * backend's test file (`*-source.test.ts` next to this one) calls `sourceDiskConformance` with a fixture
 * that makes disks, writes and clears them as a VM would, and breaks views and access behind the backend's
 * back. What every backend must do: discover disks; open point-in-time views of a VM's disks together (a
 * write after the opening does not show); report allocated ranges, and changed and cleared ranges between
 * two views of a disk; read exact bytes; hand out handles that are plain JSON, carry no secret and still
 * work after a restart; release (twice is fine); delete and discard views; fail with stable codes when a
 * view is gone (KluisSourceViewNotFound) or access expired (KluisSourceViewAccessExpired).
 */
import { randomBytes } from 'node:crypto';
import { isKluisErrorLike } from '../../lib/domain/errors';
import type { DiscoveredVmDisk, VmDiskRequest } from '../../lib/engine/domain/backup-job';
import type { DiskView } from '../../lib/engine/domain/disk-view';
import { intersectRanges, type ByteRange } from '../../lib/engine/domain/page-ranges';
import type { SourceDiskBackend } from '../../lib/engine/sources/source-disk';

export const KIB = 1024;
export const MIB = 1024 * KIB;
/** The data area of the disks the suite makes (page blobs add their 512-byte footer after it). */
export const DATA_SIZE = 4 * MIB;

export interface SourceDiskFixture {
  /** The backend under test (built once per suite). */
  backend(): SourceDiskBackend;
  /** The backend as a restarted process builds it (a backend whose state lives in one process returns itself). */
  restarted(): SourceDiskBackend;
  /** A new disk of DATA_SIZE data bytes reading as zeros (and whatever the kind needs around them), as a VM names it. */
  createDisk(lun: number): Promise<VmDiskRequest>;
  /** A disk request naming a disk that does not exist. */
  missingDisk(lun: number): VmDiskRequest;
  /** Writes whole pages at `offset` (within the data area), as the VM would. */
  write(disk: VmDiskRequest, offset: number, data: Buffer): Promise<void>;
  /** Clears whole pages (they read as zeros and are no longer allocated). */
  clear(disk: VmDiskRequest, offset: number, length: number): Promise<void>;
  /** Deletes the view behind the backend's back. */
  removeView(view: DiskView): Promise<void>;
  /** A backend (this one, or one with other credentials) whose access to `view` has expired. */
  expiredAccess(view: DiskView): Promise<SourceDiskBackend>;
  /** Views whose access the backend still holds, where it holds any (a backend reading with an account key has none). */
  heldAccess?(): string[] | Promise<string[]>;
}

const DATA: ByteRange = { start: 0, end: DATA_SIZE };

/** Byte-for-byte (jest's deep equality on large buffers is slow and its diffs unreadable). */
function expectBytes(actual: Buffer, expected: Buffer): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.equals(expected)).toBe(true);
}

export function sourceDiskConformance(kind: string, fixture: () => SourceDiskFixture): void {
  let counter = 0;
  const item = () => `conformance-${kind}-${++counter}`;
  const point = () => String(1_800_000_000_000 + ++counter);

  async function openOne(f: SourceDiskFixture, disks: VmDiskRequest[], ids = { itemId: item(), recoveryPointId: point() }): Promise<{ views: DiskView[]; discovered: DiscoveredVmDisk[]; ids: typeof ids }> {
    const discovered = await f.backend().discover(disks);
    const views = await f.backend().openViews({ ...ids, disks: discovered, createdAt: '2027-01-01T00:00:00.000Z' });
    return { views, discovered, ids };
  }

  async function codeOf(work: Promise<unknown>): Promise<string> {
    try {
      await work;
    } catch (err) {
      if (isKluisErrorLike(err)) return err.code;
      throw err;
    }
    throw new Error('expected a failure');
  }

  describe(`source-disk backend conformance: ${kind}`, () => {
    it('discovers the disks with their kind and size, and opens views of all of them, in order, as plain JSON without secrets', async () => {
      const f = fixture();
      const disks = [await f.createDisk(0), await f.createDisk(3)];
      const { views, discovered } = await openOne(f, disks);
      expect(discovered.map((d) => [d.lun, d.kind])).toEqual([
        [0, kind],
        [3, kind],
      ]);
      expect(discovered.every((d) => d.sizeBytes >= DATA_SIZE)).toBe(true);
      expect(views.map((v) => [v.lun, v.kind])).toEqual([
        [0, kind],
        [3, kind],
      ]);
      expect(views.map((v) => v.sizeBytes)).toEqual(discovered.map((d) => d.sizeBytes));
      expect(new Set(views.map((v) => v.diskId)).size).toBe(2);
      expect(new Set(views.map((v) => JSON.stringify(v.handle))).size).toBe(2);
      expect(JSON.parse(JSON.stringify(views))).toEqual(views);
      expect(JSON.stringify(views)).not.toMatch(/sig=/i);
      expect(await f.backend().describeView(views[1])).toEqual({ status: 'present', sizeBytes: views[1].sizeBytes });
    });

    it('a view is a point in time: writes and clears after the opening show only in a later view', async () => {
      const f = fixture();
      const disk = await f.createDisk(0);
      const first = randomBytes(64 * KIB);
      await f.write(disk, 0, first);
      const { views: [before] } = await openOne(f, [disk]);
      await f.write(disk, 0, randomBytes(64 * KIB));
      await f.write(disk, MIB, randomBytes(8 * KIB));
      await f.clear(disk, 32 * KIB, 32 * KIB);
      expectBytes(await f.backend().read(before, 0, 64 * KIB), first);
      expect(intersectRanges(await f.backend().allocatedRanges(before), [DATA])).toEqual([{ start: 0, end: 64 * KIB }]);
      const { views: [after] } = await openOne(f, [disk]);
      expect(intersectRanges(await f.backend().allocatedRanges(after), [DATA])).toEqual([
        { start: 0, end: 32 * KIB },
        { start: MIB, end: MIB + 8 * KIB },
      ]);
    });

    it('reports allocated ranges, page-aligned and ascending, also within a range', async () => {
      const f = fixture();
      const disk = await f.createDisk(0);
      await f.write(disk, 3 * MIB, randomBytes(4 * KIB));
      await f.write(disk, 512, randomBytes(1024));
      await f.write(disk, 2 * MIB, randomBytes(MIB));
      const { views: [view] } = await openOne(f, [disk]);
      expect(intersectRanges(await f.backend().allocatedRanges(view), [DATA])).toEqual([
        { start: 512, end: 1536 },
        { start: 2 * MIB, end: 3 * MIB + 4 * KIB },
      ]);
      expect(await f.backend().allocatedRanges(view, { start: 2 * MIB + 512, end: 2 * MIB + 4 * KIB })).toEqual([{ start: 2 * MIB + 512, end: 2 * MIB + 4 * KIB }]);
      expect(await f.backend().allocatedRanges(view, { start: 4 * KIB, end: MIB })).toEqual([]);
    });

    it('lists the ranges written and cleared between two views of a disk (exactly where the backend has a true diff), also within a range', async () => {
      const f = fixture();
      const disk = await f.createDisk(0);
      await f.write(disk, 0, randomBytes(MIB));
      const { views: [earlier] } = await openOne(f, [disk]);
      await f.write(disk, 64 * KIB, randomBytes(4 * KIB));
      await f.write(disk, 2 * MIB, randomBytes(512));
      await f.clear(disk, 512 * KIB, 64 * KIB);
      const { views: [later] } = await openOne(f, [disk]);
      const diff = await f.backend().changedRanges(earlier, later);
      const written = [
        { start: 64 * KIB, end: 68 * KIB },
        { start: 2 * MIB, end: 2 * MIB + 512 },
      ];
      const cleared = [{ start: 512 * KIB, end: 576 * KIB }];
      if ((await f.backend().capabilities()).trueDiff) {
        expect({ changed: intersectRanges(diff.changed, [DATA]), cleared: intersectRanges(diff.cleared, [DATA]) }).toEqual({ changed: written, cleared });
        const part = await f.backend().changedRanges(earlier, later, { start: 0, end: MIB });
        expect(part).toEqual({ changed: [written[0]], cleared });
      } else {
        // Not a true diff: whatever is reported must still cover every change.
        expect(intersectRanges([...diff.changed, ...diff.cleared].sort((a, b) => a.start - b.start), [...written, ...cleared])).toEqual([written[0], cleared[0], written[1]]);
      }
    });

    it('reads exactly the bytes asked for, zeros where nothing was written', async () => {
      const f = fixture();
      const disk = await f.createDisk(0);
      const data = randomBytes(8 * KIB);
      await f.write(disk, MIB, data);
      const { views: [view] } = await openOne(f, [disk]);
      const read = await f.backend().read(view, MIB - 4 * KIB, 16 * KIB);
      expect(read.length).toBe(16 * KIB);
      expectBytes(read, Buffer.concat([Buffer.alloc(4 * KIB), data, Buffer.alloc(4 * KIB)]));
      expect((await f.backend().read(view, 0, 0)).length).toBe(0);
    });

    it('handles survive a restart: a view passed through JSON reads the same in a restarted backend', async () => {
      const f = fixture();
      const disk = await f.createDisk(0);
      const data = randomBytes(64 * KIB);
      await f.write(disk, 0, data);
      const { views: [view] } = await openOne(f, [disk]);
      const carried = JSON.parse(JSON.stringify(view)) as DiskView;
      const restarted = f.restarted();
      expectBytes(await restarted.read(carried, 0, 64 * KIB), data);
      expect(intersectRanges(await restarted.allocatedRanges(carried), [DATA])).toEqual([{ start: 0, end: 64 * KIB }]);
      expect(await restarted.describeView(carried)).toEqual({ status: 'present', sizeBytes: view.sizeBytes });
    });

    it('releases views (twice is fine): access ends, the views stay', async () => {
      const f = fixture();
      const disks = [await f.createDisk(0), await f.createDisk(1)];
      await f.write(disks[0], 0, randomBytes(4 * KIB));
      const { views } = await openOne(f, disks);
      await f.backend().read(views[0], 0, 4 * KIB);
      await f.backend().allocatedRanges(views[1]);
      if (f.heldAccess) expect(await f.heldAccess()).toHaveLength(2);
      await f.backend().release(views);
      await f.backend().release(views);
      if (f.heldAccess) expect(await f.heldAccess()).toEqual([]);
      expect(await f.backend().describeView(views[0])).toEqual({ status: 'present', sizeBytes: views[0].sizeBytes });
      // Reading again takes access again; releasing ends it again.
      expect((await f.backend().read(views[0], 0, 4 * KIB)).length).toBe(4 * KIB);
      await f.backend().release(views);
      if (f.heldAccess) expect(await f.heldAccess()).toEqual([]);
    });

    it('deletes the views of a point kept as the instant-restore tier (twice is fine): they are gone, other points stay', async () => {
      // The engine deletes a point's views together (a managed disk's views of one opening share one restore point).
      const f = fixture();
      const disks = [await f.createDisk(0), await f.createDisk(1)];
      const { views } = await openOne(f, disks);
      const { views: others } = await openOne(f, disks);
      await f.backend().read(views[0], 0, 512);
      await f.backend().deleteViews(views);
      await f.backend().deleteViews(views);
      for (const view of views) expect(await f.backend().describeView(view)).toEqual({ status: 'gone' });
      for (const view of others) expect(await f.backend().describeView(view)).toEqual({ status: 'present', sizeBytes: view.sizeBytes });
      expect(await codeOf(f.backend().read(views[0], 0, 512))).toBe('KluisSourceViewNotFound');
      if (f.heldAccess) expect(await f.heldAccess()).toEqual([]);
    });

    it('discards whatever the openings of one request left, and nothing of other points', async () => {
      const f = fixture();
      const disks = [await f.createDisk(0), await f.createDisk(1)];
      const first = await openOne(f, disks);
      // A retried attempt of the same request opened the views again.
      const again = await openOne(f, disks, first.ids);
      const other = await openOne(f, disks, { itemId: first.ids.itemId, recoveryPointId: point() });
      const { deleted } = await f.backend().discardViews({ ...first.ids, disks: first.discovered });
      expect(deleted).toBe(4);
      for (const view of [...first.views, ...again.views]) expect(await f.backend().describeView(view)).toEqual({ status: 'gone' });
      for (const view of other.views) expect((await f.backend().describeView(view)).status).toBe('present');
      expect(await f.backend().discardViews({ ...first.ids, disks: first.discovered })).toEqual({ deleted: 0 });
    });

    it('discovery names a disk that does not exist; opening views is all or nothing', async () => {
      const f = fixture();
      const good = await f.createDisk(0);
      const missing = f.missingDisk(1);
      expect(await codeOf(f.backend().discover([good, missing]))).toBe('KluisSourceDiskNotFound');
      // The disk disappears between discovery and the opening: no view of the other disk is left either.
      const [discovered] = await f.backend().discover([good]);
      const disks = [discovered, { ...missing, kind: discovered.kind, name: 'missing', sizeBytes: discovered.sizeBytes } as DiscoveredVmDisk];
      const ids = { itemId: item(), recoveryPointId: point() };
      await expect(f.backend().openViews({ ...ids, disks, createdAt: '2027-01-01T00:00:00.000Z' })).rejects.toThrow();
      expect(await f.backend().discardViews({ ...ids, disks })).toEqual({ deleted: 0 });
    });

    it('a view that is gone: KluisSourceViewNotFound on every read, `gone` when described', async () => {
      const f = fixture();
      const disk = await f.createDisk(0);
      await f.write(disk, 0, randomBytes(4 * KIB));
      const { views: [earlier] } = await openOne(f, [disk]);
      const { views: [view] } = await openOne(f, [disk]);
      await f.removeView(view);
      expect(await f.backend().describeView(view)).toEqual({ status: 'gone' });
      expect(await codeOf(f.backend().read(view, 0, 4 * KIB))).toBe('KluisSourceViewNotFound');
      expect(await codeOf(f.backend().allocatedRanges(view))).toBe('KluisSourceViewNotFound');
      expect(await codeOf(f.backend().changedRanges(earlier, view))).toBe('KluisSourceViewNotFound');
      await f.backend().release([view]);
      await f.backend().deleteViews([view]);
    });

    it('access that expired: KluisSourceViewAccessExpired, not a missing view', async () => {
      const f = fixture();
      const disk = await f.createDisk(0);
      await f.write(disk, 0, randomBytes(4 * KIB));
      const { views: [view] } = await openOne(f, [disk]);
      const expired = await f.expiredAccess(view);
      expect(await codeOf(expired.read(view, 0, 4 * KIB))).toBe('KluisSourceViewAccessExpired');
      expect(await codeOf(expired.allocatedRanges(view))).toBe('KluisSourceViewAccessExpired');
      // The view itself is still there.
      expect((await f.backend().describeView(view)).status).toBe('present');
    });
  });
}
