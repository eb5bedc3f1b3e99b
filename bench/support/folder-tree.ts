/**
 * The backup server benchmark's data: a folder tree of many small files and a few large ones, deterministic by
 * seed, written once and reused, and a deterministic "5 % changes" mutation that can be reverted in place.
 *
 * Content is made of 64 KiB blocks, each generated on its own from (seed, file, version, block): text-like
 * (words from a seeded vocabulary: compressible), random (AES-CTR keystream: incompressible) or zeros. So any
 * block range of any file can be rewritten to its original (version 0) or changed (version 1) content.
 * - small files: 45 % of the bytes, 1–64 KiB each (70 % text-like, 30 % random), in nested folders;
 * - large files: 55 % of the bytes in four files (15/20/30/35 % of that; 100–500 MiB at 2 GiB), made of
 *   1–16 MiB regions: text-like 50 %, random 40 %, zeros 10 %.
 * The mutation deletes 1 % of the small files, rewrites 3 % (new content and size), adds 1 % more, and rewrites
 * 5 % of every large file in place in 256 KiB–2 MiB extents.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KIB, MIB } from './stats';

export const BLOCK = 64 * KIB;
const SMALL_SHARE = 0.45;
const LARGE_SHARES = [0.15, 0.2, 0.3, 0.35];

type BlockKind = 'text' | 'random' | 'zeros';

export interface Region {
  /** First block of the region. */
  block: number;
  kind: BlockKind;
}

export interface FileSpec {
  path: string;
  size: number;
  /** Sorted by block; a file's content kind from each region's first block to the next region's. */
  regions: Region[];
}

export interface TreePlan {
  seed: string;
  totalBytes: number;
  small: FileSpec[];
  large: FileSpec[];
}

export interface Mutation {
  deleted: FileSpec[];
  /** Rewritten whole with version-1 content and a new size; revert rewrites the original spec. */
  modified: { original: FileSpec; changed: FileSpec }[];
  added: FileSpec[];
  /** Block ranges of large files rewritten with version-1 content. */
  rewrites: { file: FileSpec; firstBlock: number; blocks: number }[];
  changedBytes: number;
}

/** A small seeded PRNG (mulberry32 over a SHA-256 of the seed) for the plan; content uses AES-CTR. */
export function prng(seed: string): () => number {
  let a = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function planTree(totalBytes: number, seed: string): TreePlan {
  const next = prng(`plan:${seed}`);
  const between = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const small: FileSpec[] = [];
  let smallBytes = 0;
  while (smallBytes < totalBytes * SMALL_SHARE) {
    const spec = smallFile(`${folderOf(between)}/f${small.length}.${next() < 0.7 ? 'txt' : 'bin'}`, between(KIB, 64 * KIB));
    small.push(spec);
    smallBytes += spec.size;
  }
  const largeBudget = totalBytes - smallBytes;
  const large = LARGE_SHARES.map((share, i) => {
    const size = Math.floor((largeBudget * share) / BLOCK) * BLOCK;
    const regions: Region[] = [];
    for (let block = 0; block * BLOCK < size; block += between(16, 256)) {
      const roll = next();
      regions.push({ block, kind: roll < 0.5 ? 'text' : roll < 0.9 ? 'random' : 'zeros' });
    }
    return { path: `large/image-${i}.dat`, size, regions };
  });
  return { seed, totalBytes, small, large };
}

function folderOf(between: (min: number, max: number) => number): string {
  return `docs/d${between(0, 15)}/s${between(0, 7)}/t${between(0, 7)}`;
}

function smallFile(filePath: string, size: number): FileSpec {
  return { path: filePath, size, regions: [{ block: 0, kind: filePath.endsWith('.txt') ? 'text' : 'random' }] };
}

export function planMutation(plan: TreePlan): Mutation {
  const next = prng(`mutate:${plan.seed}`);
  const between = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = new Set<number>();
  const take = (count: number) => {
    const chosen: FileSpec[] = [];
    while (chosen.length < count && pick.size < plan.small.length) {
      const i = between(0, plan.small.length - 1);
      if (!pick.has(i)) {
        pick.add(i);
        chosen.push(plan.small[i]);
      }
    }
    return chosen;
  };
  const count = (share: number) => Math.max(1, Math.round(plan.small.length * share));
  const deleted = take(count(0.01));
  const modified = take(count(0.03)).map((original) => ({ original, changed: { ...original, size: between(KIB, 64 * KIB) } }));
  const added = Array.from({ length: count(0.01) }, (_, i) => smallFile(`${folderOf(between)}/new${i}.${next() < 0.7 ? 'txt' : 'bin'}`, between(KIB, 64 * KIB)));
  const rewrites: Mutation['rewrites'] = [];
  for (const file of plan.large) {
    const fileBlocks = file.size / BLOCK;
    let budget = Math.round(fileBlocks * 0.05);
    while (budget > 0) {
      const blocks = Math.min(budget, between(4, 32));
      rewrites.push({ file, firstBlock: between(0, fileBlocks - blocks), blocks });
      budget -= blocks;
    }
  }
  const changedBytes =
    deleted.reduce((n, f) => n + f.size, 0) +
    modified.reduce((n, m) => n + m.changed.size, 0) +
    added.reduce((n, f) => n + f.size, 0) +
    rewrites.reduce((n, r) => n + r.blocks * BLOCK, 0);
  return { deleted, modified, added, rewrites, changedBytes };
}

/** The vocabulary of text-like blocks: 4096 lowercase words of 2–10 letters, fixed by the seed. */
function vocabulary(seed: string): Uint8Array[] {
  const next = prng(`words:${seed}`);
  return Array.from({ length: 4096 }, () => {
    const length = 2 + Math.floor(next() * 9);
    return Uint8Array.from({ length }, () => 97 + Math.floor(next() * 26));
  });
}

export class BlockGenerator {
  private readonly words: Uint8Array[];
  private readonly zeros = Buffer.alloc(BLOCK);

  constructor(private readonly seed: string) {
    this.words = vocabulary(seed);
  }

  /** Block `index` of `file` (`length` ≤ BLOCK bytes), content version 0 (original) or 1 (changed). */
  block(file: FileSpec, index: number, version: number, length = BLOCK): Buffer {
    const kind = [...file.regions].reverse().find((r) => r.block <= index)?.kind ?? 'random';
    if (kind === 'zeros') return this.zeros.subarray(0, length);
    const key = createHash('sha256').update(`${this.seed}\0${file.path}\0${version}\0${index}`).digest();
    const stream = createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(this.zeros);
    if (kind === 'random') return stream.subarray(0, length);
    const out = Buffer.allocUnsafe(length);
    let at = 0;
    for (let i = 0; at < length; i = (i + 2) % (BLOCK - 1)) {
      const selector = stream[i] | (stream[i + 1] << 8);
      const word = this.words[selector & 0xfff];
      for (let k = 0; k < word.length && at < length; k++) out[at++] = word[k];
      if (at < length) out[at++] = (selector & 0xf000) === 0 ? 0x0a : (selector & 0xf000) === 0x1000 ? 0x2e : 0x20;
    }
    return out;
  }

  content(file: FileSpec, version: number): Buffer {
    const parts: Buffer[] = [];
    for (let offset = 0, index = 0; offset < file.size; offset += BLOCK, index++) parts.push(this.block(file, index, version, Math.min(BLOCK, file.size - offset)));
    return Buffer.concat(parts);
  }
}

export async function writeSpec(root: string, file: FileSpec, generator: BlockGenerator, version: number): Promise<void> {
  const target = path.join(root, file.path);
  await mkdir(path.dirname(target), { recursive: true });
  if (file.size <= 4 * MIB) {
    await writeFile(target, generator.content(file, version));
    return;
  }
  const handle = await open(target, 'w');
  try {
    for (let offset = 0, index = 0; offset < file.size; offset += BLOCK, index++) {
      await handle.write(generator.block(file, index, version, Math.min(BLOCK, file.size - offset)));
    }
  } finally {
    await handle.close();
  }
}

async function rewriteBlocks(root: string, rewrite: Mutation['rewrites'][number], generator: BlockGenerator, version: number): Promise<void> {
  const handle = await open(path.join(root, rewrite.file.path), 'r+');
  try {
    for (let index = rewrite.firstBlock; index < rewrite.firstBlock + rewrite.blocks; index++) {
      await handle.write(generator.block(rewrite.file, index, version), 0, BLOCK, index * BLOCK);
    }
  } finally {
    await handle.close();
  }
}

interface DatasetState {
  seed: string;
  totalBytes: number;
  complete: boolean;
  mutated: boolean;
}

/**
 * The tree at `root` for this plan, generated when missing or incomplete (a marker `<root>.json` records a complete,
 * unmutated tree); a tree left mutated by an interrupted run is reverted first. Returns the generation time (0: reused).
 */
export async function prepareTree(root: string, plan: TreePlan, log: (line: string) => void): Promise<number> {
  const marker = `${root}.json`;
  const state = await readState(marker);
  const generator = new BlockGenerator(plan.seed);
  if (state?.complete && state.seed === plan.seed && state.totalBytes === plan.totalBytes) {
    if (state.mutated) {
      log('the dataset was left mutated by an interrupted run: reverting it');
      await revertMutation(root, plan, planMutation(plan));
    }
    return 0;
  }
  const start = Date.now();
  log(`generating the dataset: ${plan.small.length} small files and ${plan.large.length} large ones into ${root} …`);
  await rm(root, { recursive: true, force: true });
  await rm(marker, { force: true });
  for (const file of [...plan.small, ...plan.large]) await writeSpec(root, file, generator, 0);
  await writeState(marker, { seed: plan.seed, totalBytes: plan.totalBytes, complete: true, mutated: false });
  return Date.now() - start;
}

export async function applyMutation(root: string, plan: TreePlan, mutation: Mutation): Promise<void> {
  const marker = `${root}.json`;
  await writeState(marker, { seed: plan.seed, totalBytes: plan.totalBytes, complete: true, mutated: true });
  const generator = new BlockGenerator(plan.seed);
  for (const file of mutation.deleted) await rm(path.join(root, file.path), { force: true });
  for (const { changed } of mutation.modified) await writeSpec(root, changed, generator, 1);
  for (const file of mutation.added) await writeSpec(root, file, generator, 1);
  for (const rewrite of mutation.rewrites) await rewriteBlocks(root, rewrite, generator, 1);
}

export async function revertMutation(root: string, plan: TreePlan, mutation: Mutation): Promise<void> {
  const generator = new BlockGenerator(plan.seed);
  for (const file of mutation.added) await rm(path.join(root, file.path), { force: true });
  for (const file of mutation.deleted) await writeSpec(root, file, generator, 0);
  for (const { original } of mutation.modified) await writeSpec(root, original, generator, 0);
  for (const rewrite of mutation.rewrites) await rewriteBlocks(root, rewrite, generator, 0);
  await writeState(`${root}.json`, { seed: plan.seed, totalBytes: plan.totalBytes, complete: true, mutated: false });
}

async function readState(marker: string): Promise<DatasetState | undefined> {
  try {
    return JSON.parse(await readFile(marker, 'utf8')) as DatasetState;
  } catch {
    return undefined;
  }
}

async function writeState(marker: string, state: DatasetState): Promise<void> {
  await writeFile(marker, `${JSON.stringify(state)}\n`);
}

/** Relative path → SHA-256 of every regular file under `root` (to check restores). */
export async function digestTree(root: string): Promise<Map<string, string>> {
  const digests = new Map<string, string>();
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(path.join(root, relative), { withFileTypes: true })) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile()) digests.set(child, createHash('sha256').update(await readFile(path.join(root, child))).digest('hex'));
    }
  };
  await walk('');
  return digests;
}

/** Throws naming the first difference between a restored tree and the source's digests. */
export async function checkRestoredTree(restoredRoot: string, expected: Map<string, string>, tool: string): Promise<void> {
  const actual = await digestTree(restoredRoot);
  for (const [file, digest] of expected) {
    if (!actual.has(file)) throw new Error(`${tool} restore: '${file}' is missing`);
    if (actual.get(file) !== digest) throw new Error(`${tool} restore: '${file}' differs from the source`);
  }
  if (actual.size !== expected.size) throw new Error(`${tool} restore: ${actual.size} files restored, the source has ${expected.size}`);
}

/** Files and allocated bytes (st_blocks × 512, as `du`) and apparent bytes under a folder. */
export async function diskUsage(root: string): Promise<{ files: number; allocatedBytes: number; apparentBytes: number }> {
  const usage = { files: 0, allocatedBytes: 0, apparentBytes: 0 };
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        usage.allocatedBytes += (await stat(full)).blocks * 512;
        await walk(full);
      } else {
        const info = await stat(full);
        usage.files++;
        usage.allocatedBytes += info.blocks * 512;
        usage.apparentBytes += info.size;
      }
    }
  };
  await walk(root);
  return usage;
}
