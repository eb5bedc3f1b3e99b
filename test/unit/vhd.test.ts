import fc from 'fast-check';
import { DISK_SIZE_LIMIT_IN_BYTES, isKluisErrorLike } from '../../lib/domain/errors';
import {
  buildVhdFooter,
  chsGeometry,
  parseVhdFooter,
  validateDiskSize,
  vhdChecksum,
  VHD_FOOTER_SIZE,
} from '../../lib/engine/domain/vhd';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const TIB = 1024 * GIB;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isKluisErrorLike(err) ? err.code : `not a KluisError: ${String(err)}`;
  }
  return undefined;
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a throw');
}

describe('buildVhdFooter', () => {
  const footer = buildVhdFooter(64 * MIB, { uniqueId: '00112233445566778899aabbccddeeff' });

  it('lays out a 512-byte fixed-disk footer, big-endian, as the VHD spec says', () => {
    expect(footer.length).toBe(VHD_FOOTER_SIZE);
    expect(footer.toString('ascii', 0, 8)).toBe('conectix');
    expect(footer.readUInt32BE(8)).toBe(0x00000002); // features: reserved bit
    expect(footer.readUInt32BE(12)).toBe(0x00010000); // file format version 1.0
    expect(footer.readBigUInt64BE(16)).toBe(0xffffffffffffffffn); // data offset: none for fixed disks
    expect(footer.readUInt32BE(24)).toBe(0); // default timestamp: the VHD epoch
    expect(footer.readBigUInt64BE(40)).toBe(BigInt(64 * MIB)); // original size
    expect(footer.readBigUInt64BE(48)).toBe(BigInt(64 * MIB)); // current size
    expect(footer.readUInt32BE(60)).toBe(2); // disk type: fixed
    expect(footer.toString('hex', 68, 84)).toBe('00112233445566778899aabbccddeeff');
    expect(footer.readUInt8(84)).toBe(0); // saved state
    expect(footer.subarray(85).every((b) => b === 0)).toBe(true); // reserved
  });

  it("stores the one's complement of the byte sum as checksum", () => {
    let sum = 0;
    footer.forEach((b, i) => {
      if (i < 64 || i >= 68) sum += b;
    });
    expect(footer.readUInt32BE(64)).toBe(~sum >>> 0);
    expect(vhdChecksum(footer)).toBe(footer.readUInt32BE(64));
  });

  it('writes the CHS geometry', () => {
    expect(footer.readUInt16BE(56)).toBe(963);
    expect(footer.readUInt8(58)).toBe(8);
    expect(footer.readUInt8(59)).toBe(17);
  });

  it('derives a stable unique id from size and seed when none is given', () => {
    const a = parseVhdFooter(buildVhdFooter(MIB, { seed: 'a' })).uniqueId;
    expect(parseVhdFooter(buildVhdFooter(MIB, { seed: 'a' })).uniqueId).toBe(a);
    expect(parseVhdFooter(buildVhdFooter(MIB, { seed: 'b' })).uniqueId).not.toBe(a);
    expect(parseVhdFooter(buildVhdFooter(2 * MIB, { seed: 'a' })).uniqueId).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
  });

  it('accepts the unique id as bytes and keeps the timestamp to the second', () => {
    const id = Uint8Array.from({ length: 16 }, (_, i) => 255 - i);
    const parsed = parseVhdFooter(
      buildVhdFooter(MIB, { uniqueId: id, timestamp: new Date('2026-01-02T03:04:05.678Z') }),
    );
    expect(parsed.uniqueId).toBe(Buffer.from(id).toString('hex'));
    expect(parsed.timestamp.toISOString()).toBe('2026-01-02T03:04:05.000Z');
  });

  it('refuses sizes that are not positive multiples of 512, or above 32 TiB', () => {
    expect(codeOf(() => buildVhdFooter(0))).toBe('UserErrorUnsupportedDiskSize');
    expect(codeOf(() => buildVhdFooter(1000))).toBe('UserErrorUnsupportedDiskSize');
    expect(codeOf(() => buildVhdFooter(32 * TIB + 512))).toBe('UserErrorUnsupportedDiskSize');
    expect(codeOf(() => buildVhdFooter(MIB, { uniqueId: 'abcd' }))).toBe('KluisInvalidVhdFooter');
  });
});

describe('chsGeometry', () => {
  it.each([
    ['64 MiB', 64 * MIB, { cylinders: 963, heads: 8, sectorsPerTrack: 17 }],
    ['1 GiB', GIB, { cylinders: 2080, heads: 16, sectorsPerTrack: 63 }],
    ['127 GiB', 127 * GIB, { cylinders: 65278, heads: 16, sectorsPerTrack: 255 }],
    ['32 TiB (capped)', 32 * TIB, { cylinders: 65535, heads: 16, sectorsPerTrack: 255 }],
    ['tiny disk keeps 4 heads', 512 * 1024, { cylinders: 15, heads: 4, sectorsPerTrack: 17 }],
  ])('%s', (_name, size, expected) => {
    expect(chsGeometry(size)).toEqual(expected);
  });

  it('never exceeds the fields it is stored in', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 36 }), (pages) => {
        const g = chsGeometry(pages * 512);
        return g.cylinders <= 65535 && g.heads <= 16 && g.heads >= 4 && g.sectorsPerTrack <= 255;
      }),
    );
  });
});

describe('parseVhdFooter', () => {
  it('round-trips what buildVhdFooter writes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 36 }), fc.string(), (pages, seed) => {
        const size = pages * 512;
        const parsed = parseVhdFooter(buildVhdFooter(size, { seed }));
        expect(parsed).toMatchObject({
          cookie: 'conectix',
          diskType: 2,
          currentSize: size,
          originalSize: size,
          geometry: chsGeometry(size),
          dataOffset: 0xffffffffffffffffn,
          creatorApplication: 'klus',
          creatorHostOs: 'Wi2k',
          savedState: false,
        });
      }),
      { numRuns: 200 },
    );
  });

  it('rejects any single corrupted byte', () => {
    const footer = buildVhdFooter(64 * MIB);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 511 }), fc.integer({ min: 1, max: 255 }), (index, delta) => {
        const copy = Buffer.from(footer);
        copy[index] = (copy[index] + delta) & 0xff;
        const code = codeOf(() => parseVhdFooter(copy));
        return code === 'KluisInvalidVhdFooter' || code === 'KluisUnsupportedVhdType';
      }),
      { numRuns: 300 },
    );
  });

  it('names a bad cookie', () => {
    const footer = buildVhdFooter(MIB);
    footer.write('cxsparse', 0, 'ascii');
    expect(codeOf(() => parseVhdFooter(footer))).toBe('KluisInvalidVhdFooter');
    expect(messageOf(() => parseVhdFooter(footer))).toMatch(/cookie/);
  });

  it('names a bad checksum', () => {
    const footer = buildVhdFooter(MIB);
    footer.writeUInt32BE((footer.readUInt32BE(64) ^ 1) >>> 0, 64);
    expect(messageOf(() => parseVhdFooter(footer))).toMatch(/checksum/);
  });

  it('refuses dynamic and differencing disks with their own code', () => {
    for (const type of [3, 4]) {
      const footer = buildVhdFooter(MIB);
      footer.writeUInt32BE(type, 60);
      footer.writeUInt32BE(vhdChecksum(footer), 64);
      expect(codeOf(() => parseVhdFooter(footer))).toBe('KluisUnsupportedVhdType');
    }
  });

  it('refuses a buffer that is not 512 bytes', () => {
    expect(codeOf(() => parseVhdFooter(Buffer.alloc(511)))).toBe('KluisInvalidVhdFooter');
    expect(codeOf(() => parseVhdFooter(Buffer.concat([buildVhdFooter(MIB), Buffer.alloc(1)])))).toBe(
      'KluisInvalidVhdFooter',
    );
  });

  it('reads a footer that sits inside a larger buffer', () => {
    const blob = Buffer.concat([Buffer.alloc(1024, 7), buildVhdFooter(MIB)]);
    expect(parseVhdFooter(blob.subarray(1024)).currentSize).toBe(MIB);
  });
});

describe('validateDiskSize', () => {
  it('splits a page blob into data and footer', () => {
    expect(validateDiskSize(64 * MIB + 512)).toEqual({ blobSize: 64 * MIB + 512, dataSize: 64 * MIB });
  });

  it('accepts exactly 32 TiB of data', () => {
    expect(validateDiskSize(DISK_SIZE_LIMIT_IN_BYTES + 512).dataSize).toBe(32 * TIB);
  });

  it('refuses more than 32 TiB of data, naming the limit', () => {
    const tooBig = DISK_SIZE_LIMIT_IN_BYTES + 1024;
    expect(codeOf(() => validateDiskSize(tooBig))).toBe('UserErrorUnsupportedDiskSize');
    expect(messageOf(() => validateDiskSize(tooBig))).toMatch(/32 TiB/);
  });

  it.each([
    ['not a multiple of 512', 64 * MIB + 100],
    ['only a footer', 512],
    ['empty', 0],
    ['negative', -512],
    ['fractional', 1024.5],
  ])('refuses a blob that is %s', (_name, size) => {
    expect(codeOf(() => validateDiskSize(size))).toBe('UserErrorUnsupportedDiskSize');
  });
});
