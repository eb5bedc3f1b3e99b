/**
 * Microbenchmark behind the change-detection choice (issue 3): which hash and which block size.
 *
 *   npm run build && node dist/bench/block-size.js [--data-mib 256] [--runs 3] [--disk-gib 2]
 *
 * 1. Hash throughput over the benchmark disk's mixed content, hashed block by block at 16, 64 and 256 KiB:
 *    xxh64 (@node-rs/xxhash), SHA-256 and MD5 (node:crypto), with xxh3-64/xxh3-128 for reference.
 * 2. Write amplification of each block size for the benchmark's rewrite (5% of 64 KiB blocks, scattered,
 *    64 KiB-aligned) and for the same writes at 4 KiB-aligned (file-system cluster) offsets, on the
 *    checksum path (a changed block is sent whole). The diff path sends changed pages and has none.
 * 3. Checksum list size per block size (digest bytes per block).
 */
import { createHash } from 'node:crypto';
import { xxh3, xxh64 } from '@node-rs/xxhash';
import { Command, InvalidArgumentError } from 'commander';
import { ContentGenerator, planDiskLayout, prng, REWRITE_BLOCK_SIZE, type DiskLayout } from './support/disk-image';
import { describeMachine } from './support/machine';
import { formatBytes, GIB, KIB, markdownTable, median, MIB } from './support/stats';

export const BLOCK_SIZES = [16 * KIB, 64 * KIB, 256 * KIB] as const;

interface HashAlgorithm {
  name: string;
  digestBytes: number;
  reference?: boolean;
  hash(block: Buffer): unknown;
}

export const HASHES: readonly HashAlgorithm[] = [
  { name: 'xxh64', digestBytes: 8, hash: (block) => xxh64(block) },
  { name: 'SHA-256', digestBytes: 32, hash: (block) => createHash('sha256').update(block).digest() },
  { name: 'MD5', digestBytes: 16, hash: (block) => createHash('md5').update(block).digest() },
  { name: 'xxh3-64', digestBytes: 8, reference: true, hash: (block) => xxh3.xxh64(block) },
  { name: 'xxh3-128', digestBytes: 16, reference: true, hash: (block) => xxh3.xxh128(block) },
];

export interface HashResult {
  hash: string;
  blockSize: number;
  /** MiB/s, median of the runs. */
  throughput: number;
}

export interface AmplificationResult {
  blockSize: number;
  /** bytes sent / bytes changed, for 64 KiB-aligned rewrites (the benchmark dataset). */
  aligned: number;
  /** The same count of 64 KiB writes at 4 KiB-aligned offsets inside allocated extents. */
  unaligned: number;
}

export interface BlockSizeReport {
  dataBytes: number;
  runs: number;
  hashes: HashResult[];
  amplification: AmplificationResult[];
  diskSize: number;
  markdown: string;
}

export function measureHashes(dataBytes: number, runs: number): HashResult[] {
  const data = Buffer.allocUnsafe(dataBytes);
  new ContentGenerator('kluis-bench').fill(data, 0, 0);
  const results: HashResult[] = [];
  for (const algorithm of HASHES) {
    for (const blockSize of BLOCK_SIZES) {
      algorithm.hash(data.subarray(0, blockSize)); // warm up
      const times: number[] = [];
      for (let run = 0; run < runs; run++) {
        const start = process.hrtime.bigint();
        for (let at = 0; at < data.length; at += blockSize) algorithm.hash(data.subarray(at, at + blockSize));
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      results.push({ hash: algorithm.name, blockSize, throughput: dataBytes / MIB / (median(times) / 1000) });
    }
  }
  return results;
}

/** Distinct `blockSize` blocks touched by 64 KiB writes starting at the given offsets. */
function blocksTouched(offsets: readonly number[], blockSize: number): number {
  const touched = new Set<number>();
  for (const offset of offsets) {
    const first = Math.floor(offset / blockSize);
    const last = Math.floor((offset + REWRITE_BLOCK_SIZE - 1) / blockSize);
    for (let block = first; block <= last; block++) touched.add(block);
  }
  return touched.size;
}

/** As many 64 KiB writes as the dataset's rewrite, at 4 KiB-aligned offsets inside allocated extents. */
function unalignedRewriteOffsets(layout: DiskLayout): number[] {
  const next = prng(`${layout.seed}:unaligned`);
  const eligible = layout.extents.filter((e) => e.count >= REWRITE_BLOCK_SIZE);
  const offsets: number[] = [];
  while (offsets.length < layout.rewrittenBlocks.length) {
    const extent = eligible[next() % eligible.length];
    const slots = (extent.count - REWRITE_BLOCK_SIZE) / (4 * KIB) + 1;
    offsets.push(extent.offset + (next() % slots) * 4 * KIB);
  }
  return offsets;
}

export function measureAmplification(layout: DiskLayout): AmplificationResult[] {
  const aligned = layout.rewrittenBlocks.map((block) => block * REWRITE_BLOCK_SIZE);
  const unaligned = unalignedRewriteOffsets(layout);
  const changedAligned = aligned.length * REWRITE_BLOCK_SIZE;
  // Overlapping unaligned writes change fewer distinct bytes: count them exactly in 4 KiB units.
  const changedUnaligned = blocksTouched(unaligned, 4 * KIB) * 4 * KIB;
  return BLOCK_SIZES.map((blockSize) => ({
    blockSize,
    aligned: (blocksTouched(aligned, blockSize) * blockSize) / changedAligned,
    unaligned: (blocksTouched(unaligned, blockSize) * blockSize) / changedUnaligned,
  }));
}

export function runBlockSizeBenchmark(opts: { dataBytes: number; runs: number; diskSize: number }): BlockSizeReport {
  const hashes = measureHashes(opts.dataBytes, opts.runs);
  const layout = planDiskLayout({ dataSize: opts.diskSize });
  const amplification = measureAmplification(layout);
  const kib = (bytes: number) => `${bytes / KIB} KiB`;

  const hashRows = HASHES.map((algorithm) => [
    algorithm.reference ? `${algorithm.name} (reference)` : algorithm.name,
    ...BLOCK_SIZES.map((blockSize) => {
      const found = hashes.find((h) => h.hash === algorithm.name && h.blockSize === blockSize);
      return found ? `${found.throughput.toFixed(0)} MiB/s` : 'n/a';
    }),
    `${algorithm.digestBytes} B`,
  ]);
  const ampRows = amplification.map((a) => [kib(a.blockSize), `${a.aligned.toFixed(2)}×`, `${a.unaligned.toFixed(2)}×`]);
  const sumRows = BLOCK_SIZES.map((blockSize) => [
    kib(blockSize),
    ...[8, 16, 32].map((digestBytes) => formatBytes((opts.diskSize / blockSize) * digestBytes)),
    ...[8, 16, 32].map((digestBytes) => formatBytes(((1024 * GIB) / blockSize) * digestBytes)),
  ]);
  const markdown = [
    `Hash throughput, single thread, ${formatBytes(opts.dataBytes)} of the benchmark's mixed content hashed block by block (median of ${opts.runs}):`,
    '',
    markdownTable(['hash', ...BLOCK_SIZES.map((b) => `${kib(b)} blocks`), 'digest'], hashRows),
    '',
    `Write amplification on the checksum path (bytes sent ÷ bytes changed) for ${layout.rewrittenBlocks.length} scattered 64 KiB writes on a ${formatBytes(opts.diskSize)} disk:`,
    '',
    markdownTable(['block size', '64 KiB-aligned writes (dataset)', '4 KiB-aligned writes'], ampRows),
    '',
    'Checksum list size (one digest per block over the whole address space):',
    '',
    markdownTable(
      ['block size', `${formatBytes(opts.diskSize)} disk, 8 B`, '16 B', '32 B', '1 TiB disk, 8 B', '16 B', '32 B'],
      sumRows,
    ),
  ].join('\n');
  return { dataBytes: opts.dataBytes, runs: opts.runs, hashes, amplification, diskSize: opts.diskSize, markdown };
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
}

if (require.main === module) {
  const opts = new Command()
    .name('block-size')
    .option('--data-mib <n>', 'MiB of content hashed per measurement', positiveInt, 256)
    .option('--runs <n>', 'runs per measurement (median)', positiveInt, 3)
    .option('--disk-gib <n>', 'disk size for the amplification and checksum-size tables', positiveInt, 2)
    .parse(process.argv)
    .opts<{ dataMib: number; runs: number; diskGib: number }>();
  console.log(`block-size: ${new Date().toISOString()} on ${describeMachine()}\n`);
  console.log(runBlockSizeBenchmark({ dataBytes: opts.dataMib * MIB, runs: opts.runs, diskSize: opts.diskGib * GIB }).markdown);
}
