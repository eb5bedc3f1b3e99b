/**
 * Engine runs for bench/engine.ts. Each operation runs in its own child process (bench/engine-worker.ts)
 * so its peak RSS is its own. Per run r, each in a fresh Azurite (see dataset.ts):
 *  - diff (Azurite with the Kluis extensions: emulator/azurite-page-diff.js and azurite-copy-isolation.js, as kluis-host
 *    starts it): write a version-0 source disk, full backup, rewrite
 *    5% of it, incremental backup (expects the diff path), verified restores of the latest point from the
 *    vault tier and from the snapshot tier, a spot check of the restored bytes against the generator;
 *  - checksum (plain Azurite): source disk, full backup, rewrite, incremental backup (expects the checksum path);
 *  - managed (Azurite with the extensions, the fabric's Compute endpoint in this process: managed-fabric.ts): a VM
 *    with a managed data disk holding the image, full backup (VM restore point, beginGetAccess SAS, reads),
 *    rewrite, incremental (expects the diff path: getPageRangesDiffForManagedDisks), verified restore from the
 *    vault into a new managed disk (Upload), a spot check of the restored disk's bytes.
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
import { backingBlobOfDisk, BENCH_SUBSCRIPTION, createManagedVmWithImage, rewriteManagedDisk, startBenchComputeFabric } from './managed-fabric';
import { cpuSecondsOfProcess } from './process-sampler';
import { formatBytes, formatMs } from './stats';

export type EngineOperationName =
  | 'full backup'
  | 'full backup (plain Azurite)'
  | 'incremental (diff path)'
  | 'incremental (checksum path)'
  | 'verified restore (vault tier)'
  | 'verified restore (snapshot tier)'
  | 'managed disk: full backup'
  | 'managed disk: incremental (diff path)'
  | 'managed disk: verified restore (vault tier, Import or Upload)';

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

/** diff: Azurite with the Kluis extensions; checksum: plain Azurite; managed: managed disks via the fabric's Compute. */
export type EnginePhase = 'diff' | 'checksum' | 'managed';

export const ENGINE_PHASES: readonly EnginePhase[] = ['diff', 'checksum', 'managed'];

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

/**
 * Runs one operation in a worker; `azuritePid` adds Azurite's CPU time over the worker's life to the result.
 * Managed-disk tasks also get this process's CPU time (the fabric's Compute endpoint runs here).
 */
async function runWorker(task: EngineTask, azuritePid?: number): Promise<WorkerResult> {
  const azuriteCpuBefore = azuritePid === undefined ? undefined : cpuSecondsOfProcess(azuritePid);
  const ownCpuBefore = process.cpuUsage();
  const result = await spawnWorker(task);
  const azuriteCpuAfter = azuritePid === undefined ? undefined : cpuSecondsOfProcess(azuritePid);
  if (azuriteCpuBefore !== undefined && azuriteCpuAfter !== undefined) result.azuriteCpuSeconds = azuriteCpuAfter - azuriteCpuBefore;
  if (task.op === 'managedBackup' || task.op === 'managedRestore') {
    const own = process.cpuUsage(ownCpuBefore);
    result.fabricCpuSeconds = (own.user + own.system) / 1e6;
  }
  return result;
}

function spawnWorker(task: EngineTask): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    // KLUIS_BENCH_CPU_PROF_DIR=<dir>: each worker writes a V8 CPU profile there (open it in Chrome DevTools).
    const profileDir = process.env.KLUIS_BENCH_CPU_PROF_DIR;
    const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const child = spawn(process.execPath, [...nodeArgs, WORKER, JSON.stringify(task)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
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
      : `, CPU: engine ${result.cpuSeconds.toFixed(2)} s${result.azuriteCpuSeconds === undefined ? '' : `, Azurite ${result.azuriteCpuSeconds.toFixed(2)} s (whole worker)`}` +
        `${result.fabricCpuSeconds === undefined ? '' : `, fabric ${result.fabricCpuSeconds.toFixed(2)} s`}`;
  return `${formatMs(result.ms)}${detection}${steps}, read ${formatBytes(result.bytesRead)}, wrote ${formatBytes(result.pageBytesWritten)} in ${result.pageWriteCalls ?? '?'} Put Page calls, peak RSS ${formatBytes(result.peakRss)}${cpu}`;
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

  const managedPhase = async (run: number) => {
    await withRunAzurite(dataset, 'engine-managed', AZURITE_EXTENSIONS, async (azurite) => {
      const compute = await startBenchComputeFabric(azurite, `${tag}r${run}`);
      try {
        const computeRef = { endpoint: compute.endpoint, caCertificatePem: compute.caCertificatePem };
        const itemId = `bench-managed-${tag}-r${run}`;
        const vaultContainer = `bench-vault-managed-${tag}-r${run}`;
        const disk = await createManagedVmWithImage(compute, dataset.layout, `bench-md-${tag}-r${run}`);
        const backupTaskOf = (recoveryPointId: string): EngineTask => ({
          op: 'managedBackup',
          connectionString: azurite.connectionString,
          compute: computeRef,
          diskId: disk.dataDiskId,
          vaultContainer,
          catalogTable,
          itemId,
          jobId: `job-managed-${recoveryPointId}`,
          recoveryPointId,
          maxParallelSegments: MAX_PARALLEL_SEGMENTS,
          transferTuning: tuning.transfer,
        });

        const full = await runWorker(backupTaskOf('1'), azurite.pid);
        operations.add('managed disk: full backup', full);
        log(`  engine managed run ${run}/${runs}: full backup ${describe(full)}`);

        await rewriteManagedDisk(compute, disk, dataset.layout);
        const incremental = await runWorker(backupTaskOf('2'), azurite.pid);
        if (incremental.changeDetection !== 'diff') {
          log(`  WARNING: the incremental of the managed run used '${incremental.changeDetection}' (${incremental.planReason})`);
        }
        operations.add('managed disk: incremental (diff path)', incremental);
        log(`  engine managed run ${run}/${runs}: incremental ${describe(incremental)}`);

        const restore = await runWorker(
          {
            op: 'managedRestore',
            connectionString: azurite.connectionString,
            compute: computeRef,
            vaultContainer,
            catalogTable,
            itemId,
            jobId: `restoremd${run}`,
            recoveryPointId: '2',
            target: { subscriptionId: BENCH_SUBSCRIPTION, resourceGroup: 'rg-bench-restored', location: disk.vm.location },
          },
          azurite.pid,
        );
        operations.add('managed disk: verified restore (vault tier, Import or Upload)', restore);
        log(`  engine managed run ${run}/${runs}: verified restore ${describe(restore)}, ${restore.blocksVerified} blocks verified (probe ${formatMs(restore.probeMs ?? 0)}: serverSideCopySafe=${restore.serverSideCopySafe})`);
        const restored = await backingBlobOfDisk(compute, restore.restoredDiskId as string);
        spotCheckedBytes += await spotCheck(restored, dataset.layout, `${tag}:${run}:managed`);
      } finally {
        await compute.stop();
      }
    });
  };

  for (let run = 1; run <= runs; run++) {
    for (const kind of phases) await (kind === 'managed' ? managedPhase(run) : phase(kind, run));
  }
  return { operations: [...operations.operations.values()], spotCheckedBytes };
}

