/**
 * Issue 16 benchmark: the backup server's repository against restic and borg on the same folder tree in the same
 * run — first backup, incremental after 5 % changes, full restore.
 *
 *   npm run bench:server   (= npm run build && node dist/bench/backup-server.js)
 *     [--size-gib 2] [--runs 1] [--seed kluis-16] [--work-dir bench/.work] [--skip-borg]
 *
 * Per run: fresh repositories (Kluis, restic, borg) → first backup of the tree by each → the 5 % mutation
 * (bench/support/folder-tree.ts) → incremental backup by each → restore of the latest snapshot by each into an
 * empty folder, compared file by file with the source (outside the timing) → the tree reverted to the original.
 * Kluis runs as `kluis-server` does (library API, FileRepositoryStore, default KDF/chunker/compression), one child
 * process per operation (bench/backup-server-worker.ts) for its peak RSS; every time is the child's wall time.
 * Repository sizes are allocated bytes (st_blocks, as `du`). Raw results: <work-dir>/backup-server-results-<time>.json.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { BorgRepo, ensureBorg } from './support/borg';
import { applyMutation, checkRestoredTree, diskUsage, digestTree, planMutation, planTree, prepareTree, revertMutation, type TreePlan } from './support/folder-tree';
import { withChildrenCpu } from './support/child-cpu';
import { runKluis } from './support/kluis-repository-runs';
import { describeMachine } from './support/machine';
import { ensureRestic, ResticRepo } from './support/restic';
import { formatBytes, formatMs, GIB, markdownTable, median, MIB } from './support/stats';
import type { KluisWorkerResult } from './backup-server-worker';

const TOOLS = ['kluis', 'restic', 'borg'] as const;
type Tool = (typeof TOOLS)[number];
const PASSPHRASE = 'kluis-bench-passphrase-0123456789';

interface Options {
  sizeGib: number;
  runs: number;
  seed: string;
  workDir: string;
  skipBorg: boolean;
}

type Usage = Awaited<ReturnType<typeof diskUsage>>;

interface ToolRun {
  initMs: number;
  fullMs: number;
  incrementalMs: number;
  restoreMs: number;
  /** CPU seconds (user + system) of the tool's process per operation (undefined without /proc). */
  fullCpu?: number;
  incrementalCpu?: number;
  restoreCpu?: number;
  /** restic only: data_added of each backup's summary (new blobs' bytes before compression, as restic 0.14 reports). */
  dataAdded?: { full: number; incremental: number };
  repoAfterFull: Usage;
  repoAfterIncremental: Usage;
  /** Kluis only: what each worker reported. */
  workers?: Record<'init' | 'full' | 'incremental' | 'restore', KluisWorkerResult>;
}

type RunResult = Partial<Record<Tool, ToolRun>>;

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
}

function parseOptions(argv: string[]): Options {
  return new Command()
    .name('backup-server')
    .option('--size-gib <gib>', 'size of the generated folder tree in GiB (fractions allowed, e.g. 0.1)', positiveNumber, 2)
    .option('--runs <n>', 'runs (fresh repositories each; the median is reported)', positiveInt, 1)
    .option('--seed <text>', 'seed of the folder tree and its 5 % mutation', 'kluis-16')
    .option('--work-dir <dir>', 'where the tree, the repositories and the restores live', path.join('bench', '.work'))
    .option('--skip-borg', 'run without the borg baseline', false)
    .parse(argv)
    .opts<Options>();
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
  const workDir = path.resolve(options.workDir);
  const started = new Date();
  log(describeMachine());
  const versions: Partial<Record<Tool, string>> = { restic: ensureRestic(log) };
  if (!options.skipBorg) versions.borg = ensureBorg(log);
  const tools = TOOLS.filter((tool) => tool === 'kluis' || versions[tool] !== undefined);

  const totalBytes = Math.round(options.sizeGib * GIB);
  const plan = planTree(totalBytes, options.seed);
  const mutation = planMutation(plan);
  const treeRoot = path.join(workDir, `server-tree-${options.sizeGib}gib-${options.seed}`);
  await mkdir(workDir, { recursive: true });
  const generationMs = await prepareTree(treeRoot, plan, log);
  const treeUsage = await diskUsage(treeRoot);
  log(`dataset: ${treeUsage.files} files, ${formatBytes(treeUsage.apparentBytes)}${generationMs ? `, generated in ${formatMs(generationMs)}` : ' (reused)'}; the mutation changes ${formatBytes(mutation.changedBytes)} (${mutation.deleted.length} deleted, ${mutation.modified.length} modified, ${mutation.added.length} added small files, ${mutation.rewrites.length} rewritten extents in large files)`);

  const runs: RunResult[] = [];
  for (let run = 1; run <= options.runs; run++) {
    log(`run ${run} of ${options.runs}`);
    runs.push(await runOnce(path.join(workDir, 'server-run'), treeRoot, plan, tools, log));
  }

  const report = { started: started.toISOString(), machine: describeMachine(), options, versions, dataset: { ...treeUsage, smallFiles: plan.small.length, largeFiles: plan.large.length, changedBytes: mutation.changedBytes }, runs };
  const jsonPath = path.join(workDir, `backup-server-results-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\n${summarize(runs, tools, treeUsage.apparentBytes, mutation.changedBytes, versions)}\n\nRaw results: ${jsonPath}`);
}

async function runOnce(runDir: string, treeRoot: string, plan: TreePlan, tools: readonly Tool[], log: (line: string) => void): Promise<RunResult> {
  await rm(runDir, { recursive: true, force: true });
  await mkdir(runDir, { recursive: true });
  const dir = (name: string) => path.join(runDir, name);
  const restic = new ResticRepo(dir('restic-repo'), dir('restic-cache'));
  const borg = new BorgRepo(dir('borg-repo'), dir('borg-home'));
  const kluisRepo = dir('kluis-repo');
  const result: RunResult = {};
  const workers: Partial<NonNullable<ToolRun['workers']>> = {};
  const partial: Partial<Record<Tool, Partial<ToolRun>>> = {};
  const record = (tool: Tool, fields: Partial<ToolRun>) => (partial[tool] = { ...partial[tool], ...fields });

  for (const tool of tools) {
    if (tool === 'kluis') {
      const init = await runKluis({ op: 'init', repoDir: kluisRepo, passphrase: PASSPHRASE });
      workers.init = init.result;
      record(tool, { initMs: init.ms });
    } else if (tool === 'restic') {
      const start = Date.now();
      await restic.init();
      record(tool, { initMs: Date.now() - start });
    } else record(tool, { initMs: await borg.init() });
  }

  const repoOf = (tool: Tool) => (tool === 'kluis' ? kluisRepo : tool === 'restic' ? restic.repoDir : borg.repoDir);
  let latestKluisSnapshot = '';
  const resticAdded = { full: 0, incremental: 0 };
  const backupAll = async (phase: 'full' | 'incremental') => {
    for (const tool of tools) {
      const { result: ms, cpuSeconds } = await withChildrenCpu(async () => {
        if (tool === 'kluis') {
          const backup = await runKluis({ op: 'backup', repoDir: kluisRepo, passphrase: PASSPHRASE, source: treeRoot });
          workers[phase] = backup.result;
          latestKluisSnapshot = backup.result.snapshotId ?? '';
          return backup.ms;
        }
        if (tool === 'restic') {
          const summary = await restic.backup(treeRoot);
          resticAdded[phase] = summary.dataAdded;
          return summary.ms;
        }
        return borg.backup(treeRoot);
      });
      const usage = await diskUsage(repoOf(tool));
      record(tool, phase === 'full' ? { fullMs: ms, fullCpu: cpuSeconds, repoAfterFull: usage } : { incrementalMs: ms, incrementalCpu: cpuSeconds, repoAfterIncremental: usage });
      log(`${tool} ${phase} backup: ${formatMs(ms)}${cpu(cpuSeconds)}, repository ${formatBytes(usage.allocatedBytes)} allocated in ${usage.files} files`);
    }
  };

  await backupAll('full');
  const mutation = planMutation(plan);
  await applyMutation(treeRoot, plan, mutation);
  try {
    await backupAll('incremental');
    const expected = await digestTree(treeRoot);
    for (const tool of tools) {
      const target = dir(`restore-${tool}`);
      await rm(target, { recursive: true, force: true });
      const { result: ms, cpuSeconds } = await withChildrenCpu(async () => {
        if (tool === 'kluis') {
          const restore = await runKluis({ op: 'restore', repoDir: kluisRepo, passphrase: PASSPHRASE, snapshotId: latestKluisSnapshot, target });
          workers.restore = restore.result;
          return restore.ms;
        }
        return tool === 'restic' ? restic.restoreLatest(target) : borg.restoreLatest(target);
      });
      const restoredRoot = tool === 'kluis' ? target : tool === 'restic' ? path.join(target, treeRoot) : borg.restoredFolder(target, treeRoot);
      await checkRestoredTree(restoredRoot, expected, tool);
      await rm(target, { recursive: true, force: true });
      record(tool, { restoreMs: ms, restoreCpu: cpuSeconds });
      log(`${tool} restore: ${formatMs(ms)}${cpu(cpuSeconds)} (checked: ${expected.size} files equal the source)`);
    }
  } finally {
    await revertMutation(treeRoot, plan, mutation);
  }
  record('restic', { dataAdded: resticAdded });
  for (const tool of tools) result[tool] = { ...(partial[tool] as ToolRun), ...(tool === 'kluis' ? { workers: workers as ToolRun['workers'] } : {}) };
  return result;
}

function cpu(seconds: number | undefined): string {
  return seconds === undefined ? '' : ` (${seconds.toFixed(2)} CPU s)`;
}

function summarize(runs: RunResult[], tools: readonly Tool[], dataBytes: number, changedBytes: number, versions: Partial<Record<Tool, string>>): string {
  const med = (tool: Tool, pick: (run: ToolRun) => number) => median(runs.map((run) => pick(run[tool]!)));
  const ratio = (tool: Tool, pick: (run: ToolRun) => number) => med(tool, pick) / med('restic', pick);
  const operations: [string, (run: ToolRun) => number][] = [
    ['first backup', (r) => r.fullMs],
    ['incremental backup', (r) => r.incrementalMs],
    ['full restore', (r) => r.restoreMs],
  ];
  const label = (tool: Tool) => (tool === 'kluis' ? 'Kluis repository' : (versions[tool] ?? tool).split(' compiled')[0]);
  const timeRows = operations.map(([name, pick]) => [name, ...tools.flatMap((tool) => [formatMs(med(tool, pick)), `${ratio(tool, pick).toFixed(2)}×`])]);
  const timeTable = markdownTable(['operation', ...tools.flatMap((tool) => [label(tool), 'vs restic'])], timeRows);
  const cpuOperations: [string, (run: ToolRun) => number][] = [
    ['first backup', (r) => r.fullCpu ?? NaN],
    ['incremental backup', (r) => r.incrementalCpu ?? NaN],
    ['full restore', (r) => r.restoreCpu ?? NaN],
  ];
  const cpuRows = cpuOperations.map(([name, pick]) => [`${name} (CPU s)`, ...tools.flatMap((tool) => [med(tool, pick).toFixed(2), `${ratio(tool, pick).toFixed(2)}×`])]);
  const cpuTable = markdownTable(['CPU seconds (user + system) of the process', ...tools.flatMap((tool) => [label(tool), 'vs restic'])], cpuRows);

  const sizeRows = (['repoAfterFull', 'repoAfterIncremental'] as const).map((phase) => [
    phase === 'repoAfterFull' ? 'after first backup' : 'after incremental',
    ...tools.flatMap((tool) => {
      const allocated = med(tool, (r) => r[phase].allocatedBytes);
      const apparent = med(tool, (r) => r[phase].apparentBytes);
      return [`${formatBytes(allocated)} (${Math.round(med(tool, (r) => r[phase].files))} files, ${formatBytes(apparent)} apparent)`, `${ratio(tool, (r) => r[phase].allocatedBytes).toFixed(2)}×`];
    }),
  ]);
  const sizeTable = markdownTable(['repository on disk (allocated)', ...tools.flatMap((tool) => [label(tool), 'vs restic'])], sizeRows);

  const kluis = (pick: (w: NonNullable<ToolRun['workers']>) => KluisWorkerResult) => runs.map((run) => pick(run.kluis!.workers!));
  const peak = (pick: (w: NonNullable<ToolRun['workers']>) => KluisWorkerResult) => Math.max(...kluis(pick).map((w) => w.peakRss));
  const rssRow = ['peak RSS (max of runs)', ...(['init', 'full', 'incremental', 'restore'] as const).map((op) => formatBytes(peak((w) => w[op])))];
  const openRow = ['unlock (scrypt + index read or chunk listing), median', ...(['init', 'full', 'incremental', 'restore'] as const).map((op) => formatMs(median(kluis((w) => w[op]).map((w) => w.openMs))))];
  const ops = ['init', 'full', 'incremental', 'restore'] as const;
  const storeRow = (name: string, ms: (w: KluisWorkerResult) => number, count: (w: KluisWorkerResult) => number) => [
    name,
    ...ops.map((op) => `${formatMs(median(kluis((w) => w[op]).map(ms)))} (${median(kluis((w) => w[op]).map(count))})`),
  ];
  const kluisTable = markdownTable(['Kluis, inside the worker', 'init', 'first backup', 'incremental', 'restore'], [
    rssRow,
    openRow,
    ['in-process time, median', ...ops.map((op) => formatMs(median(kluis((w) => w[op]).map((w) => w.ms))))],
    ['in-process CPU, median', ...ops.map((op) => `${median(kluis((w) => w[op]).map((w) => w.cpuSeconds)).toFixed(2)} s`)],
    storeRow('store writes (objects)', (w) => w.store.writeMs, (w) => w.store.writes),
    storeRow('store reads (objects)', (w) => w.store.readMs, (w) => w.store.reads),
    storeRow('listing (index/ or data/ at open, keys)', (w) => w.store.listMs, (w) => w.store.listed),
  ]);

  const maxPeak = Math.max(...(['init', 'full', 'incremental', 'restore'] as const).map((op) => peak((w) => w[op])));
  const met = (ok: boolean) => (ok ? 'met' : '**not met**');
  const targets = markdownTable(
    ['target (issue 16)', 'measured', ''],
    [
      ...operations.map(([name, pick]) => [`${name} ≤ 1.0× restic`, `${ratio('kluis', pick).toFixed(2)}×`, met(ratio('kluis', pick) <= 1)]),
      ['repository size ≤ 1.05× restic (after incremental)', `${ratio('kluis', (r) => r.repoAfterIncremental.allocatedBytes).toFixed(2)}×`, met(ratio('kluis', (r) => r.repoAfterIncremental.allocatedBytes) <= 1.05)],
      ['peak RSS ≤ 300 MiB', formatBytes(maxPeak), met(maxPeak <= 300 * MIB)],
    ],
  );
  const full = runs[runs.length - 1].kluis!.workers!.full.stats!;
  const incremental = runs[runs.length - 1].kluis!.workers!.incremental.stats!;
  const added = runs[runs.length - 1].restic?.dataAdded;
  const cache = runs[runs.length - 1].kluis!.workers!.incremental.fileCache;
  const readLine = cache === undefined
    ? `read and chunked all ${formatBytes(incremental.bytes)} again`
    : `file cache ${cache.status}: ${cache.filesRead} files read, ${cache.filesUnchanged} unchanged and not read, of ${formatBytes(incremental.bytes)}`;
  const facts = `Kluis incremental: ${readLine} (${incremental.chunks} chunks), ${incremental.newChunks} new (${formatBytes(incremental.newChunkBytes)} plaintext → ${formatBytes(incremental.storedBytes)} stored)${added ? `; restic added ${formatBytes(added.full)} (first) and ${formatBytes(added.incremental)} (incremental)` : ''}.\nKluis first backup stored ${full.newChunks} chunks (${formatBytes(full.newChunkBytes)} plaintext → ${formatBytes(full.storedBytes)} stored) for ${full.files} files of ${formatBytes(dataBytes)}; the incremental changed ${formatBytes(changedBytes)}.`;
  return [`Runs: ${runs.length}; times are medians (wall time of each tool's process).`, timeTable, cpuTable, sizeTable, kluisTable, targets, facts].join('\n\n');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
