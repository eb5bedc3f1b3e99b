import fc from 'fast-check';
import {
  buildSliceManifest,
  ChunkPlanner,
  planTransferChunks,
  recoveryPointIdFor,
  validateBackupRequest,
  type PageRange,
} from '../../lib/domain/backup-slice';
import { isKluisErrorLike } from '../../lib/domain/errors';

const KIB = 1024;
const MIB = 1024 * KIB;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isKluisErrorLike(err) ? err.code : `not a KluisError: ${String(err)}`;
  }
  return undefined;
}

describe('planTransferChunks', () => {
  const size = 64 * MIB + 512;

  it('cuts a long range into 4 MiB chunks plus a remainder', () => {
    expect(planTransferChunks([{ offset: 1536, count: 9 * MIB }], size)).toEqual([
      { offset: 1536, count: 4 * MIB },
      { offset: 1536 + 4 * MIB, count: 4 * MIB },
      { offset: 1536 + 8 * MIB, count: MIB },
    ]);
  });

  it('merges adjacent ranges before cutting', () => {
    expect(
      planTransferChunks(
        [
          { offset: 0, count: 64 * KIB },
          { offset: 64 * KIB, count: 64 * KIB },
          { offset: 128 * KIB, count: 4 * MIB },
        ],
        size,
      ),
    ).toEqual([
      { offset: 0, count: 4 * MIB },
      { offset: 4 * MIB, count: 128 * KIB },
    ]);
  });

  it('never lets a chunk span a gap', () => {
    expect(
      planTransferChunks(
        [
          { offset: 0, count: 512 },
          { offset: 1024, count: 512 },
        ],
        size,
      ),
    ).toEqual([
      { offset: 0, count: 512 },
      { offset: 1024, count: 512 },
    ]);
  });

  it('ignores empty ranges and yields nothing for an unallocated disk', () => {
    expect(planTransferChunks([], size)).toEqual([]);
    expect(planTransferChunks([{ offset: 512, count: 0 }], size)).toEqual([]);
  });

  it.each<[string, PageRange[]]>([
    ['misaligned offset', [{ offset: 100, count: 512 }]],
    ['misaligned count', [{ offset: 0, count: 500 }]],
    ['beyond the blob', [{ offset: 64 * MIB, count: 1024 }]],
    ['overlapping', [{ offset: 0, count: 1024 }, { offset: 512, count: 512 }]],
    ['out of order', [{ offset: 4096, count: 512 }, { offset: 0, count: 512 }]],
    ['negative', [{ offset: -512, count: 512 }]],
  ])('refuses %s ranges with KluisInvalidPageRange', (_name, ranges) => {
    expect(codeOf(() => planTransferChunks(ranges, size))).toBe('KluisInvalidPageRange');
  });

  it('refuses a chunk size that is not a multiple of 512', () => {
    expect(codeOf(() => new ChunkPlanner(size, 1000))).toBe('KluisInvalidPageRange');
  });

  it('covers exactly the allocated bytes, in order, in aligned chunks of at most chunkSize', () => {
    const pageRuns = fc.array(fc.record({ gap: fc.integer({ min: 0, max: 40 }), pages: fc.integer({ min: 0, max: 40 }) }), {
      maxLength: 30,
    });
    fc.assert(
      fc.property(pageRuns, fc.integer({ min: 1, max: 16 }), (runs, chunkPages) => {
        const ranges: PageRange[] = [];
        let position = 0;
        for (const run of runs) {
          position += run.gap * 512;
          ranges.push({ offset: position, count: run.pages * 512 });
          position += run.pages * 512;
        }
        const blobSize = position + 512;
        const chunks = planTransferChunks(ranges, blobSize, chunkPages * 512);

        const allocated = new Set<number>();
        for (const r of ranges) for (let p = r.offset; p < r.offset + r.count; p += 512) allocated.add(p);
        const covered: number[] = [];
        for (const c of chunks) {
          expect(c.count).toBeGreaterThan(0);
          expect(c.count).toBeLessThanOrEqual(chunkPages * 512);
          expect(c.offset % 512).toBe(0);
          for (let p = c.offset; p < c.offset + c.count; p += 512) covered.push(p);
        }
        expect(covered).toEqual([...allocated].sort((a, b) => a - b));
      }),
      { numRuns: 200 },
    );
  });

  it('streams: push returns chunks as soon as they are full', () => {
    const planner = new ChunkPlanner(size, MIB);
    expect(planner.push({ offset: 0, count: 512 * KIB })).toEqual([]);
    expect(planner.push({ offset: 512 * KIB, count: MIB })).toEqual([{ offset: 0, count: MIB }]);
    expect(planner.finish()).toEqual([{ offset: MIB, count: 512 * KIB }]);
    expect(planner.finish()).toEqual([]);
  });
});

describe('recoveryPointIdFor', () => {
  it('is the start time in epoch milliseconds, as a numeric string', () => {
    expect(recoveryPointIdFor(new Date('2026-01-01T00:00:00.000Z'))).toBe('1767225600000');
  });

  it('refuses an invalid date', () => {
    expect(codeOf(() => recoveryPointIdFor(new Date(Number.NaN)))).toBe('KluisInvalidRequest');
  });
});

describe('validateBackupRequest', () => {
  it('accepts a valid request', () => {
    const request = { sourceContainer: 'disks', sourceBlob: 'vm1/os.vhd', itemId: 'vm1-os' };
    expect(validateBackupRequest(request)).toBe(request);
  });

  it.each([
    ['container', { sourceContainer: 'Disks', sourceBlob: 'a', itemId: 'x' }, 'KluisInvalidContainerName', 'sourceContainer'],
    ['blob', { sourceContainer: 'disks', sourceBlob: 'a/', itemId: 'x' }, 'KluisInvalidRequest', 'sourceBlob'],
    ['item id', { sourceContainer: 'disks', sourceBlob: 'a', itemId: 'x/y' }, 'KluisInvalidIdentifier', 'itemId'],
  ])('names a bad %s', (_name, request, code, target) => {
    try {
      validateBackupRequest(request);
      throw new Error('expected a throw');
    } catch (err) {
      expect(err).toMatchObject({ code, target });
    }
  });
});

describe('buildSliceManifest', () => {
  it('records source, snapshot, replica, size, checksum and time', () => {
    const manifest = buildSliceManifest({
      request: { sourceContainer: 'disks', sourceBlob: 'os.vhd', itemId: 'vm1' },
      jobId: 'job-1',
      recoveryPointId: '1767225600000',
      disk: { sourceContainer: 'disks', sourceBlob: 'os.vhd', lun: 0, blobSize: 1536, dataSize: 1024, vhdUniqueId: 'ab'.repeat(16) },
      snapshot: { container: 'disks', blob: 'os.vhd', snapshot: 'snap-1', takenAt: '2026-01-01T00:00:01.000Z' },
      transfer: {
        replicaContainer: 'kluis-vault',
        replicaBlob: 'items/vm1/disks/0/replica.vhd',
        bytesCopied: 1024,
        bytesUploaded: 512,
        chunksUploaded: 1,
        md5Base64: 'md5==',
      },
      replicaSnapshot: 'snap-2',
      createdAt: new Date('2026-01-01T00:00:02.000Z'),
    });
    expect(manifest).toEqual({
      schemaVersion: 1,
      kind: 'KluisDiskRecoveryPoint',
      itemId: 'vm1',
      recoveryPointId: '1767225600000',
      jobId: 'job-1',
      createdAt: '2026-01-01T00:00:02.000Z',
      source: {
        container: 'disks',
        blob: 'os.vhd',
        snapshot: 'snap-1',
        snapshotTakenAt: '2026-01-01T00:00:01.000Z',
        lun: 0,
        blobSize: 1536,
        dataSize: 1024,
        vhdUniqueId: 'ab'.repeat(16),
      },
      replica: { container: 'kluis-vault', blob: 'items/vm1/disks/0/replica.vhd', snapshot: 'snap-2' },
      bytesCopied: 1024,
      md5Base64: 'md5==',
    });
  });
});
