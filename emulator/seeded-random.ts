/**
 * A small seeded pseudo-random generator (mulberry32 seeded from SHA-256 of a string): the same seed
 * gives the same bytes and the same choices on every platform, so sample disks and fabric disk activity are reproducible.
 */
import { createHash } from 'node:crypto';

export interface SeededRandom {
  /** A uniformly distributed 32-bit unsigned integer. */
  nextUint32(): number;
  /** An integer in [0, bound), bound ≤ 2^32 (rejection sampling, no modulo bias). */
  nextInt(bound: number): number;
  /** Fills `buf` with pseudo-random bytes. */
  fill(buf: Buffer): void;
}

export function seededRandom(seed: string): SeededRandom {
  let state = createHash('sha256').update(seed).digest().readUInt32BE(0);
  const nextUint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    nextUint32,
    nextInt(bound: number): number {
      if (!Number.isInteger(bound) || bound <= 0 || bound > 2 ** 32) throw new RangeError(`bound must be an integer in 1..2^32, got ${bound}`);
      const limit = 2 ** 32 - (2 ** 32 % bound);
      for (;;) {
        const value = nextUint32();
        if (value < limit) return value % bound;
      }
    },
    fill(buf: Buffer): void {
      let i = 0;
      for (; i + 4 <= buf.length; i += 4) buf.writeUInt32LE(nextUint32(), i);
      if (i < buf.length) {
        const last = nextUint32();
        for (let k = 0; i < buf.length; i++, k++) buf[i] = (last >>> (8 * k)) & 0xff;
      }
    },
  };
}
