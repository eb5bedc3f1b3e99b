/**
 * Engine runs for bench/engine.ts. Each operation runs in its own child process (bench/engine-worker.ts)
 * so its peak RSS is its own. Per run r, each in a fresh Azurite (see dataset.ts):
 *  - diff (Azurite with the Kluis extensions: emulator/azurite-page-diff.js and azurite-copy-isolation.js, as kluis-host
 *    starts it): write a version-0 source disk, full backup, rewrite
 *    5% of it, incremental backup (expects the diff path), verified restores of the latest point from the
 *    vault tier and from the snapshot tier, a spot check of the restored bytes against the generator;
 *  - checksum (plain Azurite): source disk, full backup, rewrite, incremental backup (expects the checksum path).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { PageBlobClient } from '@azure/storage-blob';
import type { RunningAzurite } from '../../emulator/azurite';
import type { TransferTuning } from '../../lib/engine/backup/transfer-segment';
import type { EngineTask, WorkerResult } from '../engine-worker';
import { blobService, SOURCE_CONTAINER, withRunAzurite, writeSourceDisk, type Dataset } from './dataset';
import { ContentGenerator, REWRITE_BLOCK_SIZE, prng, type DiskLayout } from './disk-image';
import { applyRewrite } from './image-writer';
import { cpuSecondsOfProcess } from './process-sampler';
import { formatBytes, formatMs } from './stats';

export type EngineOperationName =
  | 'full backup'
  | 'full backup (plain Azurite)'
  | 'incremental (diff path)'
  | 'incremental (checksum path)'
  | 'verified restore (vault tier)'
  | 'verified restore (snapshot tier)';

export interface EngineOperation {
  name: EngineOperationName;
  ms: number[];
  /** Put Page bytes sent to the vault (backups) or the restore target (restores). */
  bytesWritten: number[];
  peakRss: number[];
  /** Change detection each run actually used (backups). */
  changeDetection: string[];
  workers: WorkerResult[];
}

export interface EngineRunResult {
  operations: EngineOperation[];
  /** Restored bytes compared with the generator's expected image (a sample of blocks per run). */
  spotCheckedBytes: number;
}

/** Concurrency knobs handed to the engine (its defaults when absent), to see what limits it. */
export interface EngineTuning {
  transfer?: TransferTuning;
  restoreCopy?: { readAhead?: number; maxUploadsInFlight?: number };
}

/** diff: Azurite with the Kluis extensions; checksum: plain Azurite. */
export type EnginePhase = 'diff' | 'checksum';

export type EngineRunner =
  | {
      available: true;
      run(dataset: Dataset, runs: number, log: (line: string) => void, tuning?: EngineTuning, phases?: readonly EnginePhase[]): Promise<EngineRunResult>;
    }
  | { available: false; reason: string };

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const WORKER = path.join(REPO_ROOT, 'dist', 'bench', 'engine-worker.js');
const AZURITE_EXTENSIONS = ['azurite-page-diff.js', 'azurite-copy-isolation.js'].map((file) => path.join(REPO_ROOT, 'emulator', file));
const MAX_PARALLEL_SEGMENTS = 4;
const SPOT_CHECK_BLOCKS = 256;

export function loadEngineRunner(): EngineRunner {
  try {
    // The worker imports every engine service; a missing one fails here, not halfway through a run.
    createRequire(__filename)(WORKER);
  } catch (error) {
    return { available: false, reason: `the engine services cannot be loaded (${(error as Error).message.split('\n')[0]})` };
  }
  return { available: true, run: runEngine };
}

/** Runs one operation in a worker; `azuritePid` adds Azurite's CPU time over the worker's life to the result. */
async function runWorker(task: EngineTask, azuritePid?: number): Promise<WorkerResult> {
  const azuriteCpuBefore = azuritePid === undefined ? undefined : cpuSecondsOfProcess(azuritePid);
  const result = await spawnWorker(task);
  const azuriteCpuAfter = azuritePid === undefined ? undefined : cpuSecondsOfProcess(azuritePid);
  if (azuriteCpuBefore !== undefined && azuriteCpuAfter !== undefined) result.azuriteCpuSeconds = azuriteCpuAfter - azuriteCpuBefore;
  return result;
}

function spawnWorker(task: EngineTask): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, JSON.stringify(task)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice('RESULT '.length)) as WorkerResult);
      else reject(new Error(`engine worker (${task.op}) exited with ${code}:\n${stderr.slice(-4000)}`));
    });
  });
}

class OperationLog {
  readonly operations = new Map<EngineOperationName, EngineOperation>();

  add(name: EngineOperationName, result: WorkerResult): void {
    const op = this.operations.get(name) ?? { name, ms: [], bytesWritten: [], peakRss: [], changeDetection: [], workers: [] };
    op.ms.push(result.ms);
    op.bytesWritten.push(result.pageBytesWritten);
    op.peakRss.push(result.peakRss);
    op.changeDetection.push([result.changeDetection, result.method].filter(Boolean).join(' by '));
    op.workers.push(result);
    this.operations.set(name, op);
  }
}

function describe(result: WorkerResult): string {
  const label = result.changeDetection ?? result.tier;
  const detection = label ? ` [${[label, result.method].filter(Boolean).join(', ')}]` : '';
  const steps = result.steps ? ` (${Object.entries(result.steps).map(([name, ms]) => `${name} ${formatMs(ms)}`).join(', ')})` : '';
  const cpu =
    result.cpuSeconds === undefined
      ? ''
      : `, CPU: engine ${result.cpuSeconds.toFixed(2)} s${result.azuriteCpuSeconds === undefined ? '' : `, Azurite ${result.azuriteCpuSeconds.toFixed(2)} s (whole worker)`}`;
  return `${formatMs(result.ms)}${detection}${steps}, read ${formatBytes(result.bytesRead)}, wrote ${formatBytes(result.pageBytesWritten)} in pages, peak RSS ${formatBytes(result.peakRss)}${cpu}`;
}

async function readFully(blob: PageBlobClient, offset: number, count: number): Promise<Buffer> {
  return blob.downloadToBuffer(offset, count);
}

/** Compares sampled 64 KiB blocks (rewritten ones and others) of a restored disk with the expected image. */
async function spotCheck(restored: PageBlobClient, layout: DiskLayout, seed: string): Promise<number> {
  const generator = new ContentGenerator(layout.seed);
  const next = prng(seed);
  const rewritten = new Set(layout.rewrittenBlocks);
  const blocks = new Set<number>();
  while (blocks.size < SPOT_CHECK_BLOCKS / 2) blocks.add(layout.rewrittenBlocks[next() % layout.rewrittenBlocks.length]);
  while (blocks.size < SPOT_CHECK_BLOCKS) blocks.add(next() % (layout.dataSize / REWRITE_BLOCK_SIZE));
  let checked = 0;
  for (const block of blocks) {
    const offset = block * REWRITE_BLOCK_SIZE;
    const expected = Buffer.alloc(REWRITE_BLOCK_SIZE);
    for (const extent of layout.extents) {
      const start = Math.max(extent.offset, offset);
      const end = Math.min(extent.offset + extent.count, offset + REWRITE_BLOCK_SIZE);
      if (start < end) generator.fill(expected.subarray(start - offset, end - offset), start, 0);
    }
    if (rewritten.has(block)) generator.fill(expected, offset, 1);
    const actual = await readFully(restored, offset, REWRITE_BLOCK_SIZE);
    if (!actual.equals(expected)) throw new Error(`the restored disk differs from the expected image in block ${block} (offset ${offset})`);
    checked += REWRITE_BLOCK_SIZE;
  }
  return checked;
}

async function runEngine(
  dataset: Dataset,
  runs: number,
  log: (line: string) => void,
  tuning: EngineTuning = {},
  phases: readonly EnginePhase[] = ['diff', 'checksum'],
): Promise<EngineRunResult> {
  const tag = randomBytes(3).toString('hex');
  const catalogTable = `benchpoints${tag}`;
  const operations = new OperationLog();
  let spotCheckedBytes = 0;

  const backupTask = (azurite: RunningAzurite, itemId: string, recoveryPointId: string, sourceBlob: string, vaultContainer: string): EngineTask => ({
    op: 'backup',
    connectionString: azurite.connectionString,
    sourceContainer: SOURCE_CONTAINER,
    sourceBlob,
    vaultContainer,
    catalogTable,
    scratchContainer: `bench-probe-${tag}`,
    itemId,
    jobId: `job-${recoveryPointId}`,
    recoveryPointId,
    maxParallelSegments: MAX_PARALLEL_SEGMENTS,
    transferTuning: tuning.transfer,
  });

  const phase = async (kind: EnginePhase, run: number) => {
    const extensions = kind === 'diff' ? AZURITE_EXTENSIONS : [];
    await withRunAzurite(dataset, `engine-${kind}`, extensions, async (azurite) => {
      const service = blobService(azurite);
      const itemId = `bench-${kind}-${tag}-r${run}`;
      const vaultContainer = `bench-vault-${kind}-${tag}-r${run}`;
      const targetContainer = `bench-restore-${kind}-${tag}-r${run}`;
      const sourceBlob = `run-${tag}-${kind}-${run}.vhd`;
      const source = await writeSourceDisk(azurite, dataset, sourceBlob);

      const full = await runWorker(backupTask(azurite, itemId, '1', sourceBlob, vaultContainer), azurite.pid);
      operations.add(kind === 'diff' ? 'full backup' : 'full backup (plain Azurite)', full);
      log(`  engine ${kind} run ${run}/${runs}: full backup ${describe(full)} (probe ${formatMs(full.probeMs ?? 0)}: trueDiff=${full.trueDiff}, serverSideCopySafe=${full.serverSideCopySafe})`);

      await applyRewrite(dataset.layout, { pageBlob: source });
      const incremental = await runWorker(backupTask(azurite, itemId, '2', sourceBlob, vaultContainer), azurite.pid);
      if (incremental.changeDetection !== kind) {
        log(`  WARNING: the incremental of the ${kind} run used '${incremental.changeDetection}' (${incremental.planReason})`);
      }
      operations.add(kind === 'diff' ? 'incremental (diff path)' : 'incremental (checksum path)', incremental);
      log(`  engine ${kind} run ${run}/${runs}: incremental ${describe(incremental)}`);
      if (kind !== 'diff') return;

      for (const tier of ['HardenedRP', 'InstantRP'] as const) {
        const restore = await runWorker({
          op: 'restore',
          connectionString: azurite.connectionString,
          vaultContainer,
          catalogTable,
          itemId,
          jobId: `restore${tier === 'HardenedRP' ? 'vault' : 'snap'}${run}`,
          recoveryPointId: '2',
          targetContainer,
          scratchContainer: `bench-probe-${tag}`,
          tier,
          copy: tuning.restoreCopy,
        }, azurite.pid);
        operations.add(tier === 'HardenedRP' ? 'verified restore (vault tier)' : 'verified restore (snapshot tier)', restore);
        log(`  engine ${kind} run ${run}/${runs}: verified restore ${describe(restore)}`);
        const restored = service.getContainerClient(targetContainer).getPageBlobClient(restore.restoredBlob as string);
        spotCheckedBytes += await spotCheck(restored, dataset.layout, `${tag}:${run}:${tier}`);
      }
    });
  };

  for (let run = 1; run <= runs; run++) {
    for (const kind of phases) await phase(kind, run);
  }
  return { operations: [...operations.operations.values()], spotCheckedBytes };
}

