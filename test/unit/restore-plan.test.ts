import fc from 'fast-check';
import { isKluisErrorLike } from '../../lib/domain/errors';
import { normalizeRanges, rangesLength, type ByteRange } from '../../lib/engine/domain/page-ranges';
import {
  defaultRestorePrefix,
  diskNameSlug,
  normalizeRestorePrefix,
  restoredDiskBlobName,
  restoredVmConfigBlobName,
} from '../../lib/engine/domain/restore-layout';
import {
  blockCountOf,
  chooseReadTier,
  chooseRestoreMethod,
  copyDependsOnProbe,
  describeMismatch,
  planTargetBlob,
  planVerifiedChunks,
  premiumPageBlobTierFor,
  RecoveryPointStates,
  sameBlobEndpoint,
  tiersOfState,
  uploadPiecesFor,
  VerifiedChunkPlanner,
  type VerifiedChunk,
} from '../../lib/engine/domain/restore-plan';
import { EndpointDiskLocator } from '../../lib/engine/sources/page-blob/endpoint-disk-locator';
import type { PageBlobStore } from '../../lib/stores/page-blob-store';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const BLOCK = 64 * KiB;
const r = (start: number, end: number): ByteRange => ({ start, end });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isKluisErrorLike(err) ? err.code : `non-Kluis: ${String(err)}`;
  }
  return undefined;
}

describe('chooseReadTier', () => {
  test.each([
    ['Auto', true, true, 'InstantRP'],
    ['Auto', true, false, 'InstantRP'],
    ['Auto', false, true, 'HardenedRP'],
    ['InstantRP', true, true, 'InstantRP'],
    ['HardenedRP', true, true, 'HardenedRP'],
  ] as const)('%s with instant=%s vault=%s reads %s', (preference, instant, vault, tier) => {
    const decision = chooseReadTier(preference, { instantSnapshotExists: instant, vaultSnapshotExists: vault });
    expect(decision).toMatchObject({ ok: true, tier });
    expect(decision.reason.length).toBeGreaterThan(5);
  });

  test.each([
    ['Auto', false, false, 'KluisRecoveryPointDataNotFound'],
    ['InstantRP', false, true, 'UserErrorInstantRpNotFound'],
    ['HardenedRP', true, false, 'KluisRecoveryPointDataNotFound'],
  ] as const)('%s with instant=%s vault=%s fails with %s', (preference, instant, vault, code) => {
    expect(chooseReadTier(preference, { instantSnapshotExists: instant, vaultSnapshotExists: vault })).toMatchObject({
      ok: false,
      code,
    });
  });
});

describe('tiersOfState', () => {
  test.each([
    [RecoveryPointStates.Committed, { instant: 'Valid', vault: 'Valid' }],
    [RecoveryPointStates.SnapshotTierDeleting, { instant: 'Deleting', vault: 'Valid' }],
    [RecoveryPointStates.SnapshotTierDeleted, { instant: 'Deleted', vault: 'Valid' }],
    [RecoveryPointStates.Deleting, { instant: 'Deleted', vault: 'Deleting' }],
    ['SomethingNewer', { instant: 'Valid', vault: 'Valid' }],
  ])('%s', (state, tiers) => {
    expect(tiersOfState(state)).toEqual(tiers);
  });
});

describe('premium target', () => {
  test.each([
    [1 * MiB, 'P4'],
    [32 * GiB, 'P4'],
    [32 * GiB + 512, 'P6'],
    [127 * GiB, 'P10'],
    [128 * GiB, 'P10'],
    [4095 * GiB, 'P50'],
    [4096 * GiB, 'P60'],
    [32767 * GiB, 'P80'],
  ])('a disk of %d data bytes takes tier %s', (dataSize, tier) => {
    expect(premiumPageBlobTierFor(dataSize).tier).toBe(tier);
  });

  test('beyond P80 is UserErrorUnsupportedDiskSize', () => {
    expect(codeOf(() => premiumPageBlobTierFor(32767 * GiB + 512))).toBe('UserErrorUnsupportedDiskSize');
  });

  test('the blob keeps the source size (footer last); the tier is chosen from the data size', () => {
    expect(planTargetBlob(128 * GiB + 512, 'Premium')).toEqual({
      size: 128 * GiB + 512,
      storageType: 'Premium',
      premiumTier: 'P10',
      provisionedBytes: 128 * GiB,
    });
    expect(planTargetBlob(64 * MiB + 512, 'Standard')).toEqual({ size: 64 * MiB + 512, storageType: 'Standard' });
  });

  test.each([0, 512, 1000, -512])('a source of %d bytes is refused', (size) => {
    expect(codeOf(() => planTargetBlob(size, 'Standard'))).toBe('UserErrorUnsupportedDiskSize');
  });
});

describe('restore method', () => {
  const AZURITE = 'http://127.0.0.1:10000/devstoreaccount1';
  const ACCOUNT = 'https://acct.blob.core.windows.net';
  const facts = {
    sourceEndpoint: AZURITE,
    targetEndpoint: AZURITE,
    copySafety: { serverSideCopySafe: true },
    targetSize: 8 * MiB + 512,
    diskSize: 8 * MiB + 512,
  };

  test.each([
    [AZURITE, `${AZURITE}/`, true],
    [ACCOUNT, 'HTTPS://ACCT.blob.core.windows.net/', true],
    [ACCOUNT, 'https://acct.blob.core.windows.net:443', true],
    [`${ACCOUNT}?sv=2024&sig=x`, ACCOUNT, true],
    [AZURITE, 'http://127.0.0.1:10000/otheraccount', false],
    [AZURITE, 'http://localhost:10000/devstoreaccount1', false],
    [AZURITE, 'http://127.0.0.1:10001/devstoreaccount1', false],
    [ACCOUNT, 'https://acct2.blob.core.windows.net', false],
    [ACCOUNT, 'http://acct.blob.core.windows.net', false],
    ['not a url', 'not a url', false],
  ])('sameBlobEndpoint(%s, %s) is %s', (a, b, same) => {
    expect(sameBlobEndpoint(a, b)).toBe(same);
    expect(sameBlobEndpoint(b, a)).toBe(same);
  });

  test('a server-side copy needs the same account, equal sizes and a probe that found copies safe', () => {
    expect(chooseRestoreMethod(facts)).toEqual({ method: 'serverSideCopy', reason: expect.stringMatching(/probe found safe/) });
    expect(chooseRestoreMethod({ ...facts, sourceEndpoint: undefined })).toEqual({ method: 'streamed', reason: expect.stringMatching(/not known/) });
    expect(chooseRestoreMethod({ ...facts, targetEndpoint: ACCOUNT })).toEqual({
      method: 'streamed',
      reason: `the tier is read from ${AZURITE} and the target is in ${ACCOUNT}`,
    });
    expect(chooseRestoreMethod({ ...facts, targetSize: facts.diskSize + 512 })).toEqual({ method: 'streamed', reason: expect.stringMatching(/bytes and the disk/) });
    expect(chooseRestoreMethod({ ...facts, copySafety: undefined })).toEqual({ method: 'streamed', reason: expect.stringMatching(/not probed/) });
    expect(chooseRestoreMethod({ ...facts, copySafety: { serverSideCopySafe: false } })).toEqual({
      method: 'streamed',
      reason: expect.stringMatching(/not point-in-time and write-isolated/),
    });
    expect(chooseRestoreMethod({ ...facts, copySafety: { serverSideCopySafe: false, reason: 'the probe failed' } }).reason).toBe('the probe failed');
  });

  test('the probe is asked only when its answer decides', () => {
    const { copySafety: _ignored, ...rest } = facts;
    expect(copyDependsOnProbe(rest)).toBe(true);
    expect(copyDependsOnProbe({ ...rest, sourceEndpoint: undefined })).toBe(false);
    expect(copyDependsOnProbe({ ...rest, targetEndpoint: ACCOUNT })).toBe(false);
    expect(copyDependsOnProbe({ ...rest, targetSize: 1024 })).toBe(false);
  });
});

describe('planVerifiedChunks', () => {
  const size = 16 * MiB + 512;

  test('widens allocated ranges to whole blocks and keeps only the allocated bytes for writing', () => {
    expect(planVerifiedChunks([r(512, 1024), r(BLOCK + 512, BLOCK + 1024)], size, BLOCK)).toEqual([
      { start: 0, end: 2 * BLOCK, allocated: [r(512, 1024), r(BLOCK + 512, BLOCK + 1024)] },
    ]);
  });

  test('a gap of a whole untouched block starts a new chunk', () => {
    expect(planVerifiedChunks([r(0, 512), r(2 * BLOCK, 2 * BLOCK + 512)], size, BLOCK)).toEqual([
      { start: 0, end: BLOCK, allocated: [r(0, 512)] },
      { start: 2 * BLOCK, end: 3 * BLOCK, allocated: [r(2 * BLOCK, 2 * BLOCK + 512)] },
    ]);
  });

  test('ranges sharing a block share a chunk', () => {
    expect(planVerifiedChunks([r(0, 512), r(4096, 8192)], size, BLOCK)).toEqual([
      { start: 0, end: BLOCK, allocated: [r(0, 512), r(4096, 8192)] },
    ]);
  });

  test('long ranges are cut at the chunk size, and the last block of the disk is short', () => {
    const chunks = planVerifiedChunks([r(0, size)], size, BLOCK, 4 * MiB);
    expect(chunks.map((c) => [c.start, c.end])).toEqual([
      [0, 4 * MiB],
      [4 * MiB, 8 * MiB],
      [8 * MiB, 12 * MiB],
      [12 * MiB, 16 * MiB],
      [16 * MiB, size],
    ]);
    expect(chunks[4].allocated).toEqual([r(16 * MiB, size)]);
  });

  test('rejects unaligned, overlapping and out-of-bounds ranges', () => {
    const planner = new VerifiedChunkPlanner(size, BLOCK);
    expect(codeOf(() => planner.push(r(100, 612)))).toBe('KluisInvalidPageRange');
    planner.push(r(BLOCK, 2 * BLOCK));
    expect(codeOf(() => planner.push(r(BLOCK, BLOCK + 512)))).toBe('KluisInvalidPageRange');
    expect(codeOf(() => planner.push(r(size, size + 512)))).toBe('KluisInvalidPageRange');
    expect(codeOf(() => new VerifiedChunkPlanner(size, BLOCK, BLOCK + 512))).toBe('KluisInvalidPageRange');
  });

  test('property: chunks are block-aligned, ordered, within the size, at most chunkSize, and cover exactly the allocated bytes and their blocks', () => {
    const pages = 600;
    const blobSize = pages * 512;
    const blockSize = 8 * 512;
    const chunkSize = 4 * blockSize;
    const rangeArb = fc
      .array(fc.tuple(fc.integer({ min: 0, max: pages - 1 }), fc.integer({ min: 1, max: 40 })), { maxLength: 30 })
      .map((pairs) => normalizeRanges(pairs.map(([p, n]) => r(p * 512, Math.min(pages, p + n) * 512))));
    fc.assert(
      fc.property(rangeArb, (allocated) => {
        const chunks = planVerifiedChunks(allocated, blobSize, blockSize, chunkSize);
        let previousEnd = 0;
        for (const chunk of chunks) {
          expect(chunk.start % blockSize).toBe(0);
          expect(chunk.end === blobSize || chunk.end % blockSize === 0).toBe(true);
          expect(chunk.start).toBeGreaterThanOrEqual(previousEnd);
          expect(chunk.end - chunk.start).toBeLessThanOrEqual(chunkSize);
          expect(chunk.end).toBeLessThanOrEqual(blobSize);
          for (const a of chunk.allocated) {
            expect(a.start).toBeGreaterThanOrEqual(chunk.start);
            expect(a.end).toBeLessThanOrEqual(chunk.end);
          }
          previousEnd = chunk.end;
        }
        expect(normalizeRanges(chunks.flatMap((c) => c.allocated))).toEqual(allocated);
        const touched = new Set<number>();
        for (const a of allocated) for (let b = Math.floor(a.start / blockSize); b * blockSize < a.end; b++) touched.add(b);
        const read = new Set<number>();
        for (const c of chunks) for (let b = c.start / blockSize; b * blockSize < c.end; b++) read.add(b);
        expect([...read].sort((x, y) => x - y)).toEqual([...touched].sort((x, y) => x - y));
      }),
    );
  });
});

describe('uploadPiecesFor', () => {
  const chunk: VerifiedChunk = { start: 0, end: 3 * BLOCK, allocated: [r(512, 3 * BLOCK - 512)] };

  test('writes the allocated bytes of non-zero blocks only', () => {
    expect(uploadPiecesFor(chunk, new Set([1]), BLOCK)).toEqual([r(512, BLOCK), r(2 * BLOCK, 3 * BLOCK - 512)]);
    expect(uploadPiecesFor(chunk, new Set(), BLOCK)).toEqual([r(512, 3 * BLOCK - 512)]);
    expect(uploadPiecesFor(chunk, new Set([0, 1, 2]), BLOCK)).toEqual([]);
  });

  test('pieces never exceed 4 MiB', () => {
    const big: VerifiedChunk = { start: 0, end: 8 * MiB, allocated: [r(0, 8 * MiB)] };
    const pieces = uploadPiecesFor(big, new Set(), BLOCK);
    expect(pieces).toEqual([r(0, 4 * MiB), r(4 * MiB, 8 * MiB)]);
    expect(rangesLength(pieces)).toBe(8 * MiB);
  });
});

test('blockCountOf counts a short last block', () => {
  expect(blockCountOf(BLOCK * 3, BLOCK)).toBe(3);
  expect(blockCountOf(BLOCK * 3 + 512, BLOCK)).toBe(4);
});

test('describeMismatch names the block and its byte range', () => {
  expect(describeMismatch({ blockIndex: 2, offset: 2 * BLOCK, kind: 'checksum' }, BLOCK)).toBe(
    `block 2 (bytes ${2 * BLOCK}–${3 * BLOCK - 1}) does not match its recorded checksum`,
  );
});

describe('restore layout', () => {
  test('default prefix and names', () => {
    const prefix = defaultRestorePrefix('item-1', '1700000000000', 'job-7');
    expect(prefix).toBe('restores/item-1/1700000000000/job-7');
    expect(restoredDiskBlobName(prefix, 0, 'vm1-osdisk.vhd')).toBe('restores/item-1/1700000000000/job-7/lun0-vm1-osdisk.vhd');
    expect(restoredVmConfigBlobName(prefix)).toBe('restores/item-1/1700000000000/job-7/vmconfig.json');
  });

  test.each([
    ['vhds/data disk #1.VHD', 'data-disk-1'],
    ['...', 'disk'],
    ['a'.repeat(100), 'a'.repeat(64)],
  ])('disk name %s becomes %s', (name, slug) => {
    expect(diskNameSlug(name)).toBe(slug);
  });

  test('a caller prefix is trimmed of slashes and validated', () => {
    expect(normalizeRestorePrefix('/restores/x/')).toBe('restores/x');
    expect(codeOf(() => normalizeRestorePrefix('a//b'))).toBe('KluisInvalidRequest');
    expect(codeOf(() => normalizeRestorePrefix('x'.repeat(901)))).toBe('KluisInvalidRequest');
    expect(codeOf(() => defaultRestorePrefix('item', 'not-numeric', 'job'))).toBe('KluisInvalidIdentifier');
  });
});

describe('EndpointDiskLocator', () => {
  const azurite = {} as PageBlobStore;
  const cloud = {} as PageBlobStore;
  const locator = new EndpointDiskLocator([
    { endpoint: 'http://127.0.0.1:10000/devstoreaccount1', store: azurite },
    { endpoint: 'https://acct.blob.core.windows.net/', store: cloud },
  ]);

  test('finds path-style and host-style accounts and decodes the blob path', () => {
    expect(locator.locate('http://127.0.0.1:10000/devstoreaccount1/vhds/a%20b/c%25d.vhd')).toEqual({
      store: azurite,
      ref: { container: 'vhds', blob: 'a b/c%d.vhd' },
    });
    expect(locator.locate('https://acct.blob.core.windows.net/vhds/os.vhd')?.store).toBe(cloud);
  });

  test.each([
    'http://127.0.0.1:10001/devstoreaccount1/vhds/os.vhd',
    'http://127.0.0.1:10000/otheraccount/vhds/os.vhd',
    'http://127.0.0.1:10000/devstoreaccount1/vhds',
    'https://other.blob.core.windows.net/vhds/os.vhd',
    'not a url',
  ])('does not serve %s', (url) => {
    expect(locator.locate(url)).toBeUndefined();
  });
});
