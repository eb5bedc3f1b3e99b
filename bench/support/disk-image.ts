/**
 * The benchmark disk: a fixed-VHD image (data + 512-byte footer) that is `allocatedFraction` allocated,
 * in 4 KiB-aligned extents of 64 KiB–8 MiB, with mixed content in 32 KiB cells (random, text-like,
 * zeros), then a rewrite of `rewriteFraction` of the data area's 64 KiB blocks, scattered, chosen among
 * blocks inside allocated extents. Everything is a pure function of the seed, so the same bytes go to a
 * page blob in Azurite and to a local raw file (for restic) without ever holding the disk in memory.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { buildVhdFooter, VHD_FOOTER_SIZE } from '../../lib/engine/domain/vhd';
import { KIB, MIB } from './stats';

export const REWRITE_BLOCK_SIZE = 64 * KIB;
export const CELL_SIZE = 32 * KIB;
const EXTENT_ALIGNMENT = 4 * KIB;
const MIN_EXTENT = 64 * KIB;
const MAX_EXTENT = 8 * MIB;
/** Upload/write piece size: the largest Put Page body. */
export const PIECE_SIZE = 4 * MIB;

export type CellKind = 'random' | 'text' | 'zero';

export interface Extent {
  offset: number;
  count: number;
}

export interface DiskLayout {
  seed: string;
  /** Data bytes (the disk as the VM sees it); the image is dataSize + 512 bytes. */
  dataSize: number;
  /** Allocated data extents, ascending, non-overlapping (the footer not included). */
  extents: Extent[];
  allocatedBytes: number;
  /** Indexes of the rewritten 64 KiB blocks, ascending. */
  rewrittenBlocks: number[];
}

export interface LayoutOptions {
  dataSize: number;
  seed?: string;
  allocatedFraction?: number;
  rewriteFraction?: number;
}

/** mulberry32: small, fast, deterministic. Returns a function yielding uint32s. */
export function prng(seed: string): () => number {
  let state = createHash('sha256').update(seed).digest().readUInt32BE(0);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function randomInt(next: () => number, min: number, max: number): number {
  return min + (next() % (max - min + 1));
}

export function planDiskLayout(opts: LayoutOptions): DiskLayout {
  const seed = opts.seed ?? 'kluis-bench';
  const allocatedFraction = opts.allocatedFraction ?? 0.4;
  const rewriteFraction = opts.rewriteFraction ?? 0.05;
  const { dataSize } = opts;
  if (dataSize % REWRITE_BLOCK_SIZE !== 0) throw new Error('dataSize must be a multiple of 64 KiB');
  const next = prng(`${seed}:layout`);
  const units = (bytes: number) => bytes / EXTENT_ALIGNMENT;
  // Gaps scaled so that extents take `allocatedFraction` of the address space on average.
  const gapScale = (1 - allocatedFraction) / allocatedFraction;

  const extents: Extent[] = [];
  let offset = 0;
  let allocatedBytes = 0;
  for (;;) {
    const gap = Math.round(randomInt(next, units(MIN_EXTENT), units(MAX_EXTENT)) * gapScale) * EXTENT_ALIGNMENT;
    const length = randomInt(next, units(MIN_EXTENT), units(MAX_EXTENT)) * EXTENT_ALIGNMENT;
    offset += gap;
    if (offset >= dataSize) break;
    const count = Math.min(length, dataSize - offset);
    extents.push({ offset, count });
    allocatedBytes += count;
    offset += count;
  }

  // Candidates: 64 KiB blocks lying wholly inside one extent.
  const candidates: number[] = [];
  for (const extent of extents) {
    const first = Math.ceil(extent.offset / REWRITE_BLOCK_SIZE);
    const end = Math.floor((extent.offset + extent.count) / REWRITE_BLOCK_SIZE);
    for (let block = first; block < end; block++) candidates.push(block);
  }
  const wanted = Math.round((dataSize / REWRITE_BLOCK_SIZE) * rewriteFraction);
  if (wanted > candidates.length) throw new Error(`only ${candidates.length} allocated blocks for ${wanted} rewrites`);
  const pick = prng(`${seed}:rewrites`);
  for (let i = 0; i < wanted; i++) {
    const j = i + (pick() % (candidates.length - i));
    [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
  }
  const rewrittenBlocks = candidates.slice(0, wanted).sort((a, b) => a - b);
  return { seed, dataSize, extents, allocatedBytes, rewrittenBlocks };
}

/** Version 0 is the initial image; version 1 the rewritten blocks (never zeros: every rewrite must be sent). */
export function cellKind(seed: string, cell: number, version: number): CellKind {
  const roll = createHash('md5').update(`${seed}:${version}:${cell}`).digest().readUInt32BE(0) % 100;
  if (version === 0) return roll < 45 ? 'random' : roll < 80 ? 'text' : 'zero';
  return roll < 50 ? 'random' : 'text';
}

/** Fills `target` with the image bytes of [offset, offset + target.length) at `version`. */
export class ContentGenerator {
  private readonly key: Buffer;
  private readonly corpus: Buffer;
  private readonly cell = Buffer.alloc(CELL_SIZE);
  private readonly zeros = Buffer.alloc(CELL_SIZE);

  constructor(private readonly seed: string) {
    this.key = createHash('sha256').update(`${seed}:key`).digest();
    this.corpus = textCorpus(seed, 4 * MIB);
  }

  fill(target: Buffer, offset: number, version: number): void {
    let position = 0;
    while (position < target.length) {
      const absolute = offset + position;
      const cellIndex = Math.floor(absolute / CELL_SIZE);
      const within = absolute - cellIndex * CELL_SIZE;
      const take = Math.min(CELL_SIZE - within, target.length - position);
      this.renderCell(cellIndex, version);
      this.cell.copy(target, position, within, within + take);
      position += take;
    }
  }

  private renderCell(cellIndex: number, version: number): void {
    const kind = cellKind(this.seed, cellIndex, version);
    if (kind === 'zero') {
      this.cell.fill(0);
      return;
    }
    if (kind === 'random') {
      const iv = Buffer.alloc(16);
      iv.writeUInt32BE(version, 0);
      iv.writeDoubleBE(cellIndex, 4);
      const cipher = createCipheriv('aes-256-ctr', this.key, iv);
      const written = cipher.update(this.zeros);
      written.copy(this.cell);
      return;
    }
    // Text-like: runs of 64–512 bytes copied from a word corpus at pseudo-random places.
    const next = prng(`${this.seed}:text:${version}:${cellIndex}`);
    let at = 0;
    while (at < CELL_SIZE) {
      const length = Math.min(64 + (next() % 449), CELL_SIZE - at);
      const from = next() % (this.corpus.length - length);
      this.corpus.copy(this.cell, at, from, from + length);
      at += length;
    }
  }
}

/** Lowercase words with spaces, punctuation and line breaks: compresses like prose or logs. */
function textCorpus(seed: string, size: number): Buffer {
  const next = prng(`${seed}:corpus`);
  const words: string[] = [];
  for (let i = 0; i < 4096; i++) {
    const length = 2 + (next() % 9);
    let word = '';
    for (let k = 0; k < length; k++) word += String.fromCharCode(97 + (next() % 26));
    words.push(word);
  }
  const corpus = Buffer.alloc(size);
  let at = 0;
  while (at < size) {
    const roll = next() % 100;
    // Zipf-ish: frequent words come from the front of the list.
    const word = words[Math.floor(((next() % 4096) * (next() % 4096)) / 4096)];
    const separator = roll < 3 ? '.\n' : roll < 8 ? ', ' : ' ';
    at += corpus.write(word + separator, at, 'latin1');
  }
  return corpus;
}

/** One piece of the image to write: offset and length, at most PIECE_SIZE, page-aligned. */
export interface Piece {
  offset: number;
  count: number;
}

/** The version-0 image's data pieces (allocated extents cut into ≤ 4 MiB pieces). */
export function* initialPieces(layout: DiskLayout): Generator<Piece> {
  for (const extent of layout.extents) {
    for (let at = 0; at < extent.count; at += PIECE_SIZE) {
      yield { offset: extent.offset + at, count: Math.min(PIECE_SIZE, extent.count - at) };
    }
  }
}

/** The rewrite: one 64 KiB piece per rewritten block. */
export function* rewritePieces(layout: DiskLayout): Generator<Piece> {
  for (const block of layout.rewrittenBlocks) yield { offset: block * REWRITE_BLOCK_SIZE, count: REWRITE_BLOCK_SIZE };
}

export function imageSize(layout: DiskLayout): number {
  return layout.dataSize + VHD_FOOTER_SIZE;
}

export function footerFor(layout: DiskLayout): Buffer {
  return buildVhdFooter(layout.dataSize, { seed: layout.seed });
}

/** Bytes the rewrite changes (every rewritten block is a full 64 KiB of new, non-zero content). */
export function changedBytes(layout: DiskLayout): number {
  return layout.rewrittenBlocks.length * REWRITE_BLOCK_SIZE;
}

/** Allocated bytes of the image: data extents plus the footer page. */
export function allocatedImageBytes(layout: DiskLayout): number {
  return layout.allocatedBytes + VHD_FOOTER_SIZE;
}
