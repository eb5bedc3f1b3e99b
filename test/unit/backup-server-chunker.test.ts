import { createHash, randomBytes } from 'node:crypto';
import { chunkStream, createChunker, gearTableFrom, validateChunkerParams, type ChunkerParams } from '../../lib/backup-server/domain/fastcdc';
import { pseudoRandomBytes } from '../support/pseudo-random';

const PARAMS: ChunkerParams = { minSize: 2048, avgSize: 8192, maxSize: 32768 };
const gearA = gearTableFrom(seeded('a'));
const gearB = gearTableFrom(seeded('b'));

function seeded(label: string): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; parts.length * 64 < 1024; i++) parts.push(createHash('sha512').update(`${label}:${i}`).digest());
  return Buffer.concat(parts).subarray(0, 1024);
}

const data = (size: number, seed = 'data'): Buffer => pseudoRandomBytes(size, seed);

async function chunksOf(buffer: Buffer, pieceSize: number, gear = gearA): Promise<Buffer[]> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < buffer.length; i += pieceSize) pieces.push(buffer.subarray(i, i + pieceSize));
  const out: Buffer[] = [];
  for await (const chunk of chunkStream(pieces, createChunker(PARAMS, gear))) out.push(chunk);
  return out;
}

describe('FastCDC chunker', () => {
  const input = data(1024 * 1024);

  it('cuts every chunk between min and max (only the last may be shorter) and the chunks join to the input', async () => {
    const chunks = await chunksOf(input, 65536);
    expect(Buffer.concat(chunks).equals(input)).toBe(true);
    chunks.slice(0, -1).forEach((c) => {
      expect(c.length).toBeGreaterThanOrEqual(PARAMS.minSize);
      expect(c.length).toBeLessThanOrEqual(PARAMS.maxSize);
    });
    const mean = input.length / chunks.length;
    expect(mean).toBeGreaterThan(PARAMS.avgSize * 0.6);
    expect(mean).toBeLessThan(PARAMS.avgSize * 1.6);
  });

  it('cuts at the same places whatever pieces the stream arrives in', async () => {
    const whole = (await chunksOf(input, input.length)).map((c) => c.length);
    for (const piece of [777, 4096, 100_000]) expect((await chunksOf(input, piece)).map((c) => c.length)).toEqual(whole);
    const prefix = input.subarray(0, 60_000);
    expect((await chunksOf(prefix, 1)).map((c) => c.length)).toEqual((await chunksOf(prefix, prefix.length)).map((c) => c.length));
  });

  it('cuts alike when its buffer grows from small to full size and compacts (input larger than the 4 MiB buffer)', async () => {
    const large = Buffer.concat([randomBytes(5 * 1024 * 1024), Buffer.alloc(123)]);
    const whole = await chunksOf(large, large.length);
    expect(Buffer.concat(whole).equals(large)).toBe(true);
    for (const piece of [65_537, 3 * 1024 * 1024]) expect((await chunksOf(large, piece)).map((c) => c.length)).toEqual(whole.map((c) => c.length));
  });

  it('re-synchronizes after an insertion: only the chunks around it change', async () => {
    const before = await chunksOf(input, 65536);
    const edited = Buffer.concat([input.subarray(0, 500_000), Buffer.from('inserted bytes shift everything after them'), input.subarray(500_000)]);
    const after = await chunksOf(edited, 65536);
    const hashes = new Set(before.map((c) => createHash('sha256').update(c).digest('hex')));
    const changed = after.filter((c) => !hashes.has(createHash('sha256').update(c).digest('hex')));
    expect(changed.length).toBeLessThanOrEqual(3);
    expect(changed.reduce((n, c) => n + c.length, 0)).toBeLessThan(3 * PARAMS.maxSize);
  });

  it('forces a cut at max on data with no cut point (all zeros)', async () => {
    const chunks = await chunksOf(Buffer.alloc(100_000), 8192);
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(100_000);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(PARAMS.maxSize);
    expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(100_000 / PARAMS.maxSize));
  });

  it('a different gear table (another repository key) cuts elsewhere', async () => {
    const a = (await chunksOf(input, 65536, gearA)).map((c) => c.length);
    const b = (await chunksOf(input, 65536, gearB)).map((c) => c.length);
    expect(a).not.toEqual(b);
  });

  it('an empty stream gives no chunk; a stream shorter than min gives one', async () => {
    expect(await chunksOf(Buffer.alloc(0), 10)).toEqual([]);
    const small = randomBytes(100);
    expect(await chunksOf(small, 7)).toEqual([small]);
  });

  it('refuses sizes it cannot work with', () => {
    expect(() => validateChunkerParams({ minSize: 2048, avgSize: 6000, maxSize: 32768 })).toThrow(/power of two/);
    expect(() => validateChunkerParams({ minSize: 9000, avgSize: 8192, maxSize: 32768 })).toThrow(/invalid/);
  });
});
