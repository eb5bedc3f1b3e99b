/**
 * Issue 3 benchmark, one command: the backup engine against restic and raw Azurite on a 2 GiB (and,
 * with --sizes 2,8, an 8 GiB) fixed-VHD page blob, 40% allocated with mixed content, then 5% of its
 * 64 KiB blocks rewritten, scattered.
 *
 *   npm run build && node dist/bench/engine.js [--sizes 2] [--runs 3] [--work-dir bench/.work]
 *                       [--skip-block-size] [--skip-restic] [--skip-raw] [--skip-engine] [--regenerate]
 *
 * Phases, per disk size (each measurement the median of --runs):
 * 1. dataset: the image as a sparse raw file, generated once into <work-dir>/disk-<n>gib and reused; every
 *    Azurite phase writes its own source disk from the same generator into a fresh, deleted-after folder;
 * 2. restic: init a local repository, back up the image file, rewrite 5% of it, back up again, restore;
 * 3. raw Azurite: read the source blob's allocated ranges, write the same ranges to a new blob (SDK only);
 * 4. engine: full backup, incremental via the diff path (Azurite with emulator/azurite-page-diff.js),
 *    incremental via the checksum path (plain Azurite), verified restore of the latest point; with
 *    `--engine-phases diff,checksum,managed` also the managed-disk path (issue 12): the same image on a managed
 *    disk in the fabric's Compute endpoint, full backup (restore point + SAS), incremental by
 *    getPageRangesDiffForManagedDisks, verified restore to a new managed disk (staged + Import where the account copies server-side, else Upload).
 * Then every ratio issue 3 sets a target for, met or not. Before the size loop: the block-size/hash
 * microbenchmark (bench/block-size.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { runBlockSizeBenchmark } from './block-size';
import { measureRawRead, measureRawWrite, allocatedRanges, type RawTransfer } from './support/azurite-throughput';
import { blobService, prepareDataset, SOURCE_CONTAINER, withRunAzurite, writeSourceDisk, type Dataset } from './support/dataset';
import { DEFAULT_READ_CHUNK_BYTES } from '../lib/engine/domain/page-ranges';
import { allocatedImageBytes, changedBytes, imageSize } from './support/disk-image';
import { ENGINE_PHASES, loadEngineRunner, type EngineOperationName, type EnginePhase, type EngineRunResult } from './support/engine-runs';
import { applyRewrite } from './support/image-writer';
import { describeMachine } from './support/machine';
import { ensureRestic, ResticRepo, type ResticBackupSummary } from './support/restic';
import { formatBytes, formatMs, formatThroughput, GIB, markdownTable, median, MIB, timed } from './support/stats';

interface Options {
  sizes: number[];
  runs: number;
  workDir: string;
  skipBlockSize: boolean;
  skipRestic: boolean;
  skipRaw: boolean;
  skipEngine: boolean;
  enginePhases: EnginePhase[];
  regenerate: boolean;
  readsInFlight?: number;
  callsInFlight?: number;
  writesInFlight?: number;
  restoreReadAhead?: number;
  restoreUploadsInFlight?: number;
}

interface ResticRun {
  full: ResticBackupSummary;
  incremental: ResticBackupSummary;
  restoreMs: number;
  repoBytes: number;
}

interface SizeResult {
  dataSize: number;
  allocatedBytes: number;
  changedBytes: number;
  generationMs: number;
  restic: ResticRun[];
  /** Reads in 4 MiB calls. */
  rawRead: RawTransfer[];
  /** Reads in calls of the engine's read size (DEFAULT_READ_CHUNK_BYTES). */
  rawReadLarge: RawTransfer[];
  rawWrite: RawTransfer[];
  /** The same writes, each with a transactional MD5 (as the engine sends). */
  rawWriteMd5: RawTransfer[];
  engine?: EngineRunResult;
  enginePending?: string;
}

function phaseList(value: string): EnginePhase[] {
  const phases = value.split(',').map((p) => p.trim());
  if (phases.length === 0 || phases.some((p) => !(ENGINE_PHASES as readonly string[]).includes(p))) throw new InvalidArgumentError(`a list of ${ENGINE_PHASES.map((p) => `'${p}'`).join(', ')}`);
  return phases as EnginePhase[];
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
}

/** GiB, fractions allowed for quick checks (e.g. 0.25) as long as the disk is a whole number of MiB. */
function sizeList(value: string): number[] {
  return value.split(',').map((part) => {
    const n = Number(part.trim());
    if (!Number.isFinite(n) || n <= 0 || (n * GIB) % MIB !== 0) throw new InvalidArgumentError('comma-separated GiB sizes of whole MiB, e.g. 2,8 or 0.25');
    return n;
  });
}

function parseOptions(argv: string[]): Options {
  return new Command()
    .name('engine')
    .option('--sizes <gib>', 'disk sizes in GiB, comma-separated', sizeList, [2])
    .option('--runs <n>', 'measured runs per operation (the median is reported)', positiveInt, 3)
    .option('--work-dir <dir>', 'where datasets, repositories and Azurite data live', path.join('bench', '.work'))
    .option('--skip-block-size', 'skip the block-size/hash microbenchmark', false)
    .option('--skip-restic', 'skip the restic baseline', false)
    .option('--skip-raw', 'skip the raw Azurite baseline', false)
    .option('--skip-engine', 'skip the engine runs', false)
    .option('--engine-phases <list>', 'engine phases to run: diff (extended Azurite), checksum (plain Azurite), managed (managed disks via the fabric\'s Compute)', phaseList, ['diff', 'checksum'])
    .option('--regenerate', 'make the datasets again even if a complete one exists', false)
    .option('--calls-in-flight <n>', "engine tuning: transferSegment's maxCallsInFlight (default: the engine's)", positiveInt)
    .option('--reads-in-flight <n>', "engine tuning: transferSegment's maxReadsInFlight (default: the engine's)", positiveInt)
    .option('--writes-in-flight <n>', "engine tuning: transferSegment's maxWritesInFlight (default: the engine's)", positiveInt)
    .option('--restore-read-ahead <n>', "engine tuning: restoreDisks' copy.readAhead (default: the engine's)", positiveInt)
    .option('--restore-uploads-in-flight <n>', "engine tuning: restoreDisks' copy.maxUploadsInFlight (default: the engine's)", positiveInt)
    .parse(argv)
    .opts<Options>();
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv);
  const workDir = path.resolve(opts.workDir);
  await mkdir(workDir, { recursive: true });
  console.log(`engine benchmark: ${new Date().toISOString()} on ${describeMachine()}`);
  console.log(`command: node ${path.relative(process.cwd(), process.argv[1])} ${process.argv.slice(2).join(' ')}`.trimEnd());

  if (!opts.skipBlockSize) {
    console.log('\n## Block size and hash\n');
    const { ms, result } = await timed(async () => runBlockSizeBenchmark({ dataBytes: 256 * MIB, runs: opts.runs, diskSize: 2 * GIB }));
    console.log(result.markdown);
    console.log(`\n(${formatMs(ms)})`);
  }

  const results: SizeResult[] = [];
  for (const gib of opts.sizes) {
    console.log(`\n## ${gib} GiB disk\n`);
    results.push(await benchmarkSize(gib * GIB, workDir, opts));
  }
  console.log('\n## Summary\n');
  for (const result of results) printSizeReport(result);
  printRssFlatness(results);
  const resultsFile = path.join(workDir, `engine-results-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(resultsFile, JSON.stringify({ machine: describeMachine(), options: opts, results }, null, 2));
  console.log(`\nraw results: ${path.relative(process.cwd(), resultsFile)}`);
}

async function benchmarkSize(dataSize: number, workDir: string, opts: Options): Promise<SizeResult> {
  const { result: dataset, ms: prepareMs } = await timed(() => prepareDataset(workDir, dataSize, { regenerate: opts.regenerate }));
  const { layout } = dataset;
  console.log(
    `  dataset: ${formatBytes(dataSize)} data, ${formatBytes(layout.allocatedBytes)} allocated ` +
      `(${((100 * layout.allocatedBytes) / dataSize).toFixed(1)}%) in ${layout.extents.length} extents, ` +
      `${layout.rewrittenBlocks.length} rewritten 64 KiB blocks (${formatBytes(changedBytes(layout))}); ready in ${formatMs(prepareMs)}`,
  );
  const result: SizeResult = {
    dataSize,
    allocatedBytes: allocatedImageBytes(layout),
    changedBytes: changedBytes(layout),
    generationMs: dataset.generationMs,
    restic: [],
    rawRead: [],
    rawReadLarge: [],
    rawWrite: [],
    rawWriteMd5: [],
  };
  if (!opts.skipRestic) result.restic = await runRestic(dataset, opts.runs);
  if (!opts.skipRaw) Object.assign(result, await runRawAzurite(dataset, opts.runs));
  if (!opts.skipEngine) {
    const runner = loadEngineRunner();
    if (runner.available) {
      const tuning = {
        transfer: { maxReadsInFlight: opts.readsInFlight, maxWritesInFlight: opts.writesInFlight, maxCallsInFlight: opts.callsInFlight },
        restoreCopy: { readAhead: opts.restoreReadAhead, maxUploadsInFlight: opts.restoreUploadsInFlight },
      };
      result.engine = await runner.run(dataset, opts.runs, console.log, tuning, opts.enginePhases);
    }
    else {
      result.enginePending = runner.reason;
      console.log(`  engine: pending — ${runner.reason}`);
    }
  }
  return result;
}

async function runRestic(dataset: Dataset, runs: number): Promise<ResticRun[]> {
  console.log(`  restic: ${ensureRestic()}`);
  const dir = path.join(dataset.dir, 'restic');
  const image = path.join(dir, 'image.raw');
  const repo = new ResticRepo(path.join(dir, 'repo'), path.join(dir, 'cache'));
  const restoreDir = path.join(dir, 'restore');
  const out: ResticRun[] = [];
  for (let run = 1; run <= runs; run++) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    execFileSync('cp', ['--sparse=always', dataset.imageFile, image]);
    await repo.init();
    const full = await repo.backup(image);
    await applyRewrite(dataset.layout, { file: image });
    const incremental = await repo.backup(image);
    const restoreMs = await repo.restoreLatest(restoreDir);
    const repoBytes = repo.sizeOnDisk();
    out.push({ full, incremental, restoreMs, repoBytes });
    console.log(
      `  restic run ${run}/${runs}: full ${formatMs(full.ms)} (+${formatBytes(full.dataAdded)}), ` +
        `incremental ${formatMs(incremental.ms)} (+${formatBytes(incremental.dataAdded)}), restore ${formatMs(restoreMs)}`,
    );
  }
  await rm(dir, { recursive: true, force: true });
  return out;
}

async function runRawAzurite(dataset: Dataset, runs: number): Promise<Pick<SizeResult, 'rawRead' | 'rawReadLarge' | 'rawWrite' | 'rawWriteMd5'>> {
  const rawRead: RawTransfer[] = [];
  const rawReadLarge: RawTransfer[] = [];
  const rawWrite: RawTransfer[] = [];
  const rawWriteMd5: RawTransfer[] = [];
  await withRunAzurite(dataset, 'raw', [], async (azurite) => {
    const source = await writeSourceDisk(azurite, dataset, 'raw-source.vhd');
    const container = blobService(azurite).getContainerClient(SOURCE_CONTAINER);
    const ranges = await allocatedRanges(source);
    for (let run = 1; run <= runs; run++) {
      const read = await measureRawRead(source, ranges);
      const readLarge = await measureRawRead(source, ranges, DEFAULT_READ_CHUNK_BYTES);
      rawReadLarge.push(readLarge);
      const write = await measureRawWrite(container.getPageBlobClient(`raw-write-${run}.vhd`), imageSize(dataset.layout), ranges);
      const writeMd5 = await measureRawWrite(container.getPageBlobClient(`raw-write-md5-${run}.vhd`), imageSize(dataset.layout), ranges, { transactionalMd5: true });
      rawRead.push(read);
      rawWrite.push(write);
      rawWriteMd5.push(writeMd5);
      console.log(
        `  raw Azurite run ${run}/${runs}: read ${formatBytes(read.bytes)} in ${formatMs(read.ms)} (${formatThroughput(read.bytes, read.ms)}) ` +
          `in 4 MiB calls, ${formatMs(readLarge.ms)} (${formatThroughput(readLarge.bytes, readLarge.ms)}) in ${formatBytes(DEFAULT_READ_CHUNK_BYTES)} calls, ` +
          `write in ${formatMs(write.ms)} (${formatThroughput(write.bytes, write.ms)}), ` +
          `write with MD5 in ${formatMs(writeMd5.ms)} (${formatThroughput(writeMd5.bytes, writeMd5.ms)})`,
      );
    }
  });
  return { rawRead, rawReadLarge, rawWrite, rawWriteMd5 };
}

function medianOf<T>(items: readonly T[], pick: (item: T) => number): number | undefined {
  return items.length === 0 ? undefined : median(items.map(pick));
}

function cell(value: number | undefined, format: (n: number) => string): string {
  return value === undefined ? 'n/a' : format(value);
}

function ratioLine(name: string, measured: number | undefined, baseline: number | undefined, limit: number, what: string): string {
  if (measured === undefined || baseline === undefined) return `- ${name}: pending (${what}) — target ≤ ${limit}×`;
  const ratio = measured / baseline;
  return `- ${name}: **${ratio.toFixed(2)}×** (target ≤ ${limit}×, ${ratio <= limit ? 'met' : 'NOT met'}) — ${what}`;
}

function printSizeReport(r: SizeResult): void {
  const resticFull = medianOf(r.restic, (x) => x.full.ms);
  const resticIncr = medianOf(r.restic, (x) => x.incremental.ms);
  const resticRestore = medianOf(r.restic, (x) => x.restoreMs);
  const rawRead4 = medianOf(r.rawRead, (x) => x.ms);
  const rawReadLarge = medianOf(r.rawReadLarge, (x) => x.ms);
  // The baseline is the faster way to read the same bytes.
  const rawRead = rawRead4 === undefined || rawReadLarge === undefined ? (rawRead4 ?? rawReadLarge) : Math.min(rawRead4, rawReadLarge);
  const rawWrite = medianOf(r.rawWrite, (x) => x.ms);
  const rawWriteMd5 = medianOf(r.rawWriteMd5, (x) => x.ms);
  const rawBytes = r.rawRead[0]?.bytes;
  const e = r.engine;
  const runsOf = <T>(items: readonly T[], pick: (item: T) => number) => items.map((x) => formatMs(pick(x))).join(', ');

  console.log(`### ${formatBytes(r.dataSize)} disk: ${formatBytes(r.allocatedBytes)} allocated, ${formatBytes(r.changedBytes)} changed\n`);
  const rows: string[][] = [
    ['restic full backup', cell(resticFull, formatMs), runsOf(r.restic, (x) => x.full.ms), cell(medianOf(r.restic, (x) => x.full.dataAdded), formatBytes) + ' added'],
    ['restic incremental backup', cell(resticIncr, formatMs), runsOf(r.restic, (x) => x.incremental.ms), cell(medianOf(r.restic, (x) => x.incremental.dataAdded), formatBytes) + ' added'],
    ['restic restore', cell(resticRestore, formatMs), runsOf(r.restic, (x) => x.restoreMs), cell(medianOf(r.restic, (x) => x.repoBytes), formatBytes) + ' repository'],
    ['raw Azurite read (allocated ranges, 4 MiB calls)', cell(rawRead4, formatMs), runsOf(r.rawRead, (x) => x.ms), rawBytes === undefined || rawRead4 === undefined ? '' : formatThroughput(rawBytes, rawRead4)],
    [`raw Azurite read (allocated ranges, ${formatBytes(DEFAULT_READ_CHUNK_BYTES)} calls)`, cell(rawReadLarge, formatMs), runsOf(r.rawReadLarge, (x) => x.ms), rawBytes === undefined || rawReadLarge === undefined ? '' : formatThroughput(rawBytes, rawReadLarge)],
    ['raw Azurite write (same ranges)', cell(rawWrite, formatMs), runsOf(r.rawWrite, (x) => x.ms), rawBytes === undefined || rawWrite === undefined ? '' : formatThroughput(rawBytes, rawWrite)],
    ['raw Azurite write with transactional MD5', cell(rawWriteMd5, formatMs), runsOf(r.rawWriteMd5, (x) => x.ms), rawBytes === undefined || rawWriteMd5 === undefined ? '' : formatThroughput(rawBytes, rawWriteMd5)],
  ];
  if (e) {
    for (const op of e.operations) {
      const detection = [...new Set(op.changeDetection.filter(Boolean))].join('/');
      rows.push([
        `engine ${op.name}`,
        formatMs(median(op.ms)),
        op.ms.map(formatMs).join(', '),
        `${formatBytes(median(op.bytesWritten))} written${detection ? ` (${detection})` : ''}, peak RSS ${formatBytes(Math.max(...op.peakRss))}`,
      ]);
    }
  } else {
    rows.push(['engine (full, incremental diff, incremental checksum, verified restore)', 'pending', '', r.enginePending ?? 'skipped']);
  }
  console.log(markdownTable(['operation', 'median', 'runs', 'notes'], rows));
  if (e) console.log(`
Restored bytes spot-checked against the generator: ${formatBytes(e.spotCheckedBytes)} (all equal).`);

  const op = (name: EngineOperationName) => e?.operations.find((o) => o.name === name);
  const medianMs = (name: EngineOperationName) => {
    const found = op(name);
    return found ? median(found.ms) : undefined;
  };
  const medianWritten = (name: EngineOperationName) => {
    const found = op(name);
    return found ? median(found.bytesWritten) : undefined;
  };
  const peakRss = e ? Math.max(...e.operations.flatMap((o) => o.peakRss)) : undefined;
  console.log('\nRatios (issue 3 targets):\n');
  console.log(ratioLine('incremental, diff path ÷ restic incremental', medianMs('incremental (diff path)'), resticIncr, 0.5, 'time'));
  console.log(ratioLine('incremental, checksum path ÷ restic incremental', medianMs('incremental (checksum path)'), resticIncr, 1.0, 'time'));
  console.log(ratioLine('full backup ÷ restic full', medianMs('full backup'), resticFull, 0.8, 'time'));
  console.log(ratioLine('verified restore (vault tier) ÷ raw Azurite read of the same bytes', medianMs('verified restore (vault tier)'), rawRead, 1.2, 'time'));
  console.log(ratioLine('verified restore (snapshot tier) ÷ raw Azurite read of the same bytes', medianMs('verified restore (snapshot tier)'), rawRead, 1.2, 'time'));
  console.log(ratioLine('bytes written by the diff-path incremental ÷ changed bytes', medianWritten('incremental (diff path)'), r.changedBytes, 1.1, 'bytes'));
  console.log(ratioLine('bytes written by the checksum-path incremental ÷ changed bytes', medianWritten('incremental (checksum path)'), r.changedBytes, 1.1, 'bytes'));
  console.log(
    peakRss === undefined
      ? '- peak RSS: pending — target ≤ 300 MiB at 8 GiB, flat in disk size'
      : `- peak RSS (largest of all engine workers): **${formatBytes(peakRss)}** (target ≤ 300 MiB${r.dataSize >= 8 * GIB ? `, ${peakRss <= 300 * MIB ? 'met' : 'NOT met'}` : ' for 8 GiB'})`,
  );
  // References without a target: what the Azurite floor allows when a job must both read and write every byte.
  const readPlusWrite = rawRead === undefined || rawWriteMd5 === undefined ? undefined : rawRead + rawWriteMd5;
  const reference = (name: string, measured: number | undefined, baseline: number | undefined) => {
    if (measured !== undefined && baseline !== undefined) console.log(`- for reference, ${name}: ${(measured / baseline).toFixed(2)}× (no target)`);
  };
  reference('full backup ÷ (raw read + raw write with MD5)', medianMs('full backup'), readPlusWrite);
  reference('verified restore (vault tier) ÷ (raw read + raw write with MD5)', medianMs('verified restore (vault tier)'), readPlusWrite);
  reference('verified restore (vault tier) ÷ restic restore', medianMs('verified restore (vault tier)'), resticRestore);
  console.log('');
  if (e?.operations.some((o) => o.name.startsWith('managed disk:'))) printManagedRatios(r, e, { resticFull, resticIncr, resticRestore, rawRead });
}

/** Issue 12's targets for the managed-disk path, against the baselines of the same run. */
function printManagedRatios(r: SizeResult, e: EngineRunResult, base: { resticFull?: number; resticIncr?: number; resticRestore?: number; rawRead?: number }): void {
  const op = (name: EngineOperationName) => e.operations.find((o) => o.name === name);
  const ms = (name: EngineOperationName) => (op(name) ? median((op(name) as { ms: number[] }).ms) : undefined);
  const written = (name: EngineOperationName) => (op(name) ? median((op(name) as { bytesWritten: number[] }).bytesWritten) : undefined);
  const full = 'managed disk: full backup';
  const incremental = 'managed disk: incremental (diff path)';
  const restore = 'managed disk: verified restore (vault tier, Import or Upload)';
  console.log('Ratios, managed-disk path (issue 12 targets):\n');
  console.log(ratioLine('managed incremental (diff path) ÷ restic incremental', ms(incremental), base.resticIncr, 0.5, 'time'));
  console.log(ratioLine('managed full backup ÷ restic full', ms(full), base.resticFull, 0.8, 'time'));
  console.log(ratioLine('managed verified restore (vault tier) ÷ raw Azurite read of the same bytes', ms(restore), base.rawRead, 1.2, 'time'));
  console.log(ratioLine('bytes written by the managed incremental ÷ changed bytes', written(incremental), r.changedBytes, 1.1, 'bytes'));
  const peaks = e.operations.filter((o) => o.name.startsWith('managed disk:')).flatMap((o) => o.peakRss);
  const peak = Math.max(...peaks);
  console.log(`- peak RSS (largest of the managed-disk workers): **${formatBytes(peak)}** (target ≤ 300 MiB${r.dataSize >= 8 * GIB ? `, ${peak <= 300 * MIB ? 'met' : 'NOT met'}` : ' for 8 GiB'})`);
  if (ms(restore) !== undefined && base.resticRestore !== undefined) {
    console.log(`- for reference, managed verified restore ÷ restic restore: ${((ms(restore) as number) / base.resticRestore).toFixed(2)}× (no target)`);
  }
  const diffIncremental = op('incremental (diff path)');
  if (ms(incremental) !== undefined && diffIncremental) {
    console.log(`- for reference, managed incremental ÷ page-blob diff-path incremental: ${((ms(incremental) as number) / median(diffIncremental.ms)).toFixed(2)}× (no target)`);
  }
  console.log('');
}

function printRssFlatness(results: readonly SizeResult[]): void {
  const withEngine = results.filter((r) => r.engine);
  if (withEngine.length < 2) return;
  const peaks = withEngine.map((r) => ({ size: r.dataSize, peak: Math.max(...(r.engine as EngineRunResult).operations.flatMap((o) => o.peakRss)) }));
  const smallest = peaks[0];
  const largest = peaks[peaks.length - 1];
  console.log(
    `Peak RSS across sizes: ${peaks.map((p) => `${formatBytes(p.size)} → ${formatBytes(p.peak)}`).join(', ')}; ` +
      `growth ${((largest.peak / smallest.peak - 1) * 100).toFixed(0)}% for ${(largest.size / smallest.size).toFixed(0)}× the disk`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
