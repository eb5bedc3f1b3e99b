/**
 * One engine operation in its own process, so its peak RSS is its own: `node dist/bench/engine-worker.js '<json>'`.
 * Started by bench/support/engine-runs.ts; prints one `RESULT {json}` line.
 *
 * - backup: what the backup orchestration does for one Standard disk, calling the lib/services use cases
 *   directly: snapshotDisks → planDiskBackup → seedReplica (when the plan seeds the replica by a server-side
 *   copy) → transferSegment for every segment (at most
 *   `maxParallelSegments` at once, as the orchestration's bounded fan-out) → commitRecoveryPoint.
 *   The capability probe runs first and is timed apart (the host caches it per endpoint).
 * - restore: restoreDisks of one point from the requested tier into a fresh target container in the same
 *   account: by a server-side copy read back and verified where the probe (run first, timed apart) finds copies
 *   safe, else streamed and verified.
 * - managedBackup: the same backup of one managed disk through the managed-disk backend (a VM restore point in the
 *   fabric's Compute endpoint, beginGetAccess SAS, reads and getPageRangesDiffForManagedDisks on it); discovery
 *   (one disk GET) is timed with it. No probe: the backend's capabilities are fixed (true diff, no copies).
 * - managedRestore: restoreManagedDisks of one point from the vault tier into a new managed disk, after the probe
 *   (run first, timed apart): staged and imported (createOption: Import) then read back verified where the probe finds
 *   copies safe, else uploaded (createOption: Upload, Write SAS, every block verified before it is written, endGetAccess).
 * Bytes are counted by wrapping the stores (bench/support/counting-store.ts), not taken from the engine's word.
 */
import { performance } from 'node:perf_hooks';
import { commitRecoveryPoint } from '../lib/engine/backup/commit-recovery-point';
import type { EngineLogger } from '../lib/engine/engine-deps';
import { planDiskBackup } from '../lib/engine/backup/plan-disk-backup';
import { restoreDisks } from '../lib/engine/restore/restore-disks';
import { seedReplica } from '../lib/engine/backup/seed-replica';
import { discoverSourceDisks, openSourceViews, releaseSourceViews } from '../lib/engine/backup/source-views';
import { PageBlobBackend } from '../lib/engine/sources/page-blob/page-blob-backend';
import { sourceDiskRegistry } from '../lib/engine/sources/registry';
import { transferSegment, type TransferSegmentResult, type TransferTuning } from '../lib/engine/backup/transfer-segment';
import { ManagedDiskBackend } from '../lib/engine/sources/managed-disk/managed-disk-backend';
import { restoreManagedDisks } from '../lib/engine/restore/restore-managed-disks';
import { ArmManagedDiskCompute, BlobSasPageReader } from '../lib/stores/azure/arm-managed-disk-compute';
import { BlobPageStore } from '../lib/stores/azure/blob-page-store';
import { BlobRestoreTargetStore } from '../lib/stores/azure/blob-restore-target-store';
import { probeStoreCapabilities } from '../lib/engine/sources/page-blob/capability-probe';
import { probedServerSideCopyFacts } from '../lib/engine/sources/page-blob/server-side-copy-facts';
import { storageAccountNameOfBlobUrl } from '../lib/domain/restore-request';
import { TableRecoveryPointCatalog } from '../lib/stores/azure/table-recovery-point-catalog';
import { countingStore, TrafficCounter } from './support/counting-store';
import { peakRssOfThisProcess } from './support/process-memory';

export interface BackupTask {
  op: 'backup';
  connectionString: string;
  sourceContainer: string;
  sourceBlob: string;
  vaultContainer: string;
  catalogTable: string;
  scratchContainer: string;
  itemId: string;
  jobId: string;
  recoveryPointId: string;
  maxParallelSegments: number;
  /** Passed to every transferSegment call; the engine's defaults when absent. */
  transferTuning?: TransferTuning;
}

export interface RestoreTask {
  op: 'restore';
  connectionString: string;
  vaultContainer: string;
  catalogTable: string;
  itemId: string;
  jobId: string;
  recoveryPointId: string;
  targetContainer: string;
  scratchContainer: string;
  tier: 'InstantRP' | 'HardenedRP';
  /** restoreDisks' per-disk copy options; the engine's defaults when absent. */
  copy?: { readAhead?: number; maxUploadsInFlight?: number };
}

/** Where the fabric's Compute endpoint is (bench/support/managed-fabric.ts). */
export interface ComputeEndpointRef {
  endpoint: string;
  caCertificatePem: string;
}

export interface ManagedBackupTask {
  op: 'managedBackup';
  connectionString: string;
  compute: ComputeEndpointRef;
  /** The managed data disk's resource id. */
  diskId: string;
  vaultContainer: string;
  catalogTable: string;
  itemId: string;
  jobId: string;
  recoveryPointId: string;
  maxParallelSegments: number;
  transferTuning?: TransferTuning;
}

export interface ManagedRestoreTask {
  op: 'managedRestore';
  connectionString: string;
  compute: ComputeEndpointRef;
  vaultContainer: string;
  catalogTable: string;
  itemId: string;
  jobId: string;
  recoveryPointId: string;
  target: { subscriptionId: string; resourceGroup: string; location: string };
}

export type EngineTask = BackupTask | RestoreTask | ManagedBackupTask | ManagedRestoreTask;

export interface WorkerResult {
  ms: number;
  probeMs?: number;
  changeDetection?: string;
  /** Backup: how the replica was seeded (full backups by server-side copy). Restore: how the disk was written. */
  method?: string;
  planReason?: string;
  trueDiff?: boolean;
  serverSideCopySafe?: boolean;
  /** Bytes sent in Put Page calls to the vault (backup) or the target (restore). */
  pageBytesWritten: number;
  /** Everything sent to the vault or target: pages plus checksum, manifest and config blobs. */
  allBytesWritten: number;
  /** Bytes received from the source (backup) or the vault/source tier (restore). */
  bytesRead: number;
  clearCalls: number;
  /** Put Page calls behind pageBytesWritten (the request pattern: bytes ÷ calls is the mean write size). */
  pageWriteCalls?: number;
  /** What the engine itself reports. */
  engineBytesWritten: number;
  engineBytesRead: number;
  engineBytesCleared?: number;
  restoredBlob?: string;
  /** managedRestore: the new managed disk's resource id. */
  restoredDiskId?: string;
  /** managedRestore: blocks verified against the point's checksums. */
  blocksVerified?: number;
  tier?: string;
  /** CPU seconds (user + system) this worker spent on the timed operation. */
  cpuSeconds?: number;
  /** Azurite's CPU seconds over the worker's whole life (set by the parent; includes the probe and startup). */
  azuriteCpuSeconds?: number;
  /** Managed-disk tasks: the bench process's CPU seconds over the worker's life (the fabric's Compute endpoint runs there). */
  fabricCpuSeconds?: number;
  /** Wall-clock ms per step (backup: snapshot, plan, transfer, commit). */
  steps?: Record<string, number>;
  peakRss: number;
}

function quietLogger(): EngineLogger {
  return {
    info: () => undefined,
    warn: (message) => process.stderr.write(`warn: ${message}\n`),
    error: (message) => process.stderr.write(`error: ${message}\n`),
  };
}

async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

async function runBackup(task: BackupTask): Promise<WorkerResult> {
  const sourceTraffic = new TrafficCounter();
  const vaultTraffic = new TrafficCounter();
  const rawSource = BlobPageStore.fromConnectionString(task.connectionString);
  const source = countingStore(rawSource, sourceTraffic);
  const vault = countingStore(BlobPageStore.fromConnectionString(task.connectionString), vaultTraffic);
  const catalog = TableRecoveryPointCatalog.fromConnectionString(task.connectionString, task.catalogTable);
  const log = quietLogger();
  const sources = sourceDiskRegistry(new PageBlobBackend({ source, probeContainer: task.scratchContainer, log }));
  const deps = { sources, vault, vaultContainer: task.vaultContainer, catalog, clock: () => new Date(), log };

  const probeStart = performance.now();
  const capabilities = await probeStoreCapabilities(rawSource, { scratchContainer: task.scratchContainer });
  const probeMs = performance.now() - probeStart;
  sourceTraffic.reset();

  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const { steps, step } = stepTimer(start);
  const createdAt = new Date().toISOString();
  const [view] = await openSourceViews(deps, {
    itemId: task.itemId,
    recoveryPointId: task.recoveryPointId,
    disks: [{ lun: 0, kind: 'pageBlob', container: task.sourceContainer, blob: task.sourceBlob, storageType: 'Standard', name: task.sourceBlob, sizeBytes: 0 }],
  });
  step('snapshot');
  const plan = await planDiskBackup(deps, {
    itemId: task.itemId,
    jobId: task.jobId,
    lun: 0,
    source: view,
    capabilities,
  });
  step('plan');
  if (plan.seed !== undefined) {
    await seedReplica(deps, { itemId: task.itemId, jobId: task.jobId, lun: 0, source: view });
    step('seed');
  }
  const segments = await transferAllSegments(deps, task, plan, view);
  await releaseSourceViews(deps, { views: [view] });
  step('transfer');
  await commitBenchPoint(deps, task, createdAt, { name: 'datadisk0', view, plan });
  step('commit');
  const ms = performance.now() - start;
  return {
    ...backupResult({ ms, cpuStart, steps, capabilities, plan, vaultTraffic, segments }),
    probeMs,
    // A seeded full backup reads the replica back from the vault; every other backup reads the source.
    bytesRead: sourceTraffic.bytesReceived('readRange') + vaultTraffic.bytesReceived('readRange'),
  };
}

async function runRestore(task: RestoreTask): Promise<WorkerResult> {
  const readTraffic = new TrafficCounter();
  const targetTraffic = new TrafficCounter();
  const rawVault = BlobPageStore.fromConnectionString(task.connectionString);
  const vault = countingStore(rawVault, readTraffic);
  const sourceAccount = countingStore(BlobPageStore.fromConnectionString(task.connectionString), readTraffic);
  const target = countingStore(BlobRestoreTargetStore.fromConnectionString(task.connectionString), targetTraffic);
  const catalog = TableRecoveryPointCatalog.fromConnectionString(task.connectionString, task.catalogTable);
  const deps = {
    vault,
    sources: sourceDiskRegistry(new PageBlobBackend({ source: sourceAccount, probeContainer: task.scratchContainer })),
    target,
    catalog,
    clock: () => new Date(),
    log: quietLogger(),
    serverSideCopy: probedServerSideCopyFacts({ scratchContainer: task.scratchContainer }),
  };
  const probeStart = performance.now();
  const capabilities = await probeStoreCapabilities(rawVault, { scratchContainer: task.scratchContainer });
  const probeMs = performance.now() - probeStart;
  readTraffic.reset();
  targetTraffic.reset();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const result = await restoreDisks(deps, {
    itemId: task.itemId,
    recoveryPointId: task.recoveryPointId,
    jobId: task.jobId,
    targetContainer: task.targetContainer,
    tier: task.tier,
  }, { copy: task.copy });
  const ms = performance.now() - start;
  const disk = result.disks[0];
  return {
    ms,
    cpuSeconds: cpuSecondsSince(cpuStart),
    probeMs,
    serverSideCopySafe: capabilities.serverSideCopySafe,
    method: disk.method,
    pageBytesWritten: targetTraffic.bytesSent('uploadPages'),
    allBytesWritten: targetTraffic.bytesSent(),
    // A disk restored by a server-side copy is read back from the target for verification.
    bytesRead: readTraffic.bytesReceived() + targetTraffic.bytesReceived('readRange'),
    clearCalls: targetTraffic.calls('clearPages'),
    pageWriteCalls: targetTraffic.calls('uploadPages'),
    engineBytesWritten: disk.bytesCopied,
    engineBytesRead: disk.bytesRead,
    restoredBlob: disk.blobName,
    tier: disk.tier,
    peakRss: peakRssOfThisProcess(),
  };
}

/** The worker's token: the fabric's endpoint does not check tokens (ARM's does; the product asks its credential). */
const benchCredential = { getToken: async () => ({ token: 'kluis-bench', expiresOnTimestamp: Date.now() + 3_600_000 }) };

function managedCompute(ref: ComputeEndpointRef): ArmManagedDiskCompute {
  return new ArmManagedDiskCompute({
    credential: benchCredential,
    endpoint: ref.endpoint,
    caCertificatePem: ref.caCertificatePem,
    // The fabric's Compute keeps no resource groups.
    ensureResourceGroup: async () => undefined,
    updateIntervalInMs: 10,
  });
}

async function runManagedBackup(task: ManagedBackupTask): Promise<WorkerResult> {
  const sourceTraffic = new TrafficCounter();
  const vaultTraffic = new TrafficCounter();
  const compute = managedCompute(task.compute);
  const sas = countingStore(new BlobSasPageReader(), sourceTraffic);
  const vault = countingStore(BlobPageStore.fromConnectionString(task.connectionString), vaultTraffic);
  const catalog = TableRecoveryPointCatalog.fromConnectionString(task.connectionString, task.catalogTable);
  const log = quietLogger();
  const backend = new ManagedDiskBackend({ compute, sas, log });
  const sources = sourceDiskRegistry(backend);
  const deps = { sources, vault, vaultContainer: task.vaultContainer, catalog, clock: () => new Date(), log };
  const capabilities = await backend.capabilities();

  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const { steps, step } = stepTimer(start);
  const createdAt = new Date().toISOString();
  const disks = await discoverSourceDisks(deps, { disks: [{ lun: 0, kind: 'managedDisk', id: task.diskId, storageType: 'Standard' }] });
  step('discover');
  const [view] = await openSourceViews(deps, { itemId: task.itemId, recoveryPointId: task.recoveryPointId, disks });
  step('restorePoint');
  let segments: TransferSegmentResult[];
  let plan: Awaited<ReturnType<typeof planDiskBackup>>;
  try {
    plan = await planDiskBackup(deps, { itemId: task.itemId, jobId: task.jobId, lun: 0, source: view, capabilities });
    step('plan');
    segments = await transferAllSegments(deps, task, plan, view);
  } finally {
    // endGetAccess always, as the orchestration does.
    await releaseSourceViews(deps, { views: [view] });
  }
  step('transfer');
  await commitBenchPoint(deps, task, createdAt, { name: disks[0].name, view, plan });
  step('commit');
  const ms = performance.now() - start;
  return {
    ...backupResult({ ms, cpuStart, steps, capabilities, plan, vaultTraffic, segments }),
    bytesRead: sourceTraffic.bytesReceived('read') + vaultTraffic.bytesReceived('readRange'),
  };
}

async function runManagedRestore(task: ManagedRestoreTask): Promise<WorkerResult> {
  const readTraffic = new TrafficCounter();
  const targetTraffic = new TrafficCounter();
  const compute = managedCompute(task.compute);
  const plainSas = new BlobSasPageReader();
  const sas = countingStore(plainSas, targetTraffic);
  const rawVault = BlobPageStore.fromConnectionString(task.connectionString);
  const vault = countingStore(rawVault, readTraffic);
  const target = BlobRestoreTargetStore.fromConnectionString(task.connectionString);
  const probeContainer = `probe-${task.jobId}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63);
  const accountName = storageAccountNameOfBlobUrl(target.blobUrl({ container: 'probe', blob: 'probe' }));
  const deps = {
    vault,
    sources: sourceDiskRegistry(new ManagedDiskBackend({ compute, sas: plainSas, log: quietLogger() })),
    target,
    catalog: TableRecoveryPointCatalog.fromConnectionString(task.connectionString, task.catalogTable),
    clock: () => new Date(),
    log: quietLogger(),
    compute,
    sas,
    // As the restore activity wires it: the vault tier is staged in the restore account and imported when the probe finds copies safe.
    serverSideCopy: probedServerSideCopyFacts({ scratchContainer: probeContainer }),
    importFrom: { storageAccountId: `/subscriptions/${task.target.subscriptionId}/resourceGroups/kluis-storage/providers/Microsoft.Storage/storageAccounts/${accountName ?? ''}` },
  };
  // As for the other restores: the probe first, timed apart (the host caches it per endpoint; so does this process).
  const probeStart = performance.now();
  const capabilities = await probeStoreCapabilities(rawVault, { scratchContainer: probeContainer });
  const probeMs = performance.now() - probeStart;
  readTraffic.reset();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const result = await restoreManagedDisks(deps, {
    itemId: task.itemId,
    recoveryPointId: task.recoveryPointId,
    jobId: task.jobId,
    target: task.target,
    tier: 'HardenedRP',
  });
  const ms = performance.now() - start;
  const disk = result.disks[0];
  // uploadPages(sas, offset, data, md5): the counter sees the body and its 16-byte MD5.
  const md5Bytes = 16 * targetTraffic.calls('uploadPages');
  return {
    ms,
    cpuSeconds: cpuSecondsSince(cpuStart),
    probeMs,
    serverSideCopySafe: capabilities.serverSideCopySafe,
    method: disk.method,
    pageBytesWritten: targetTraffic.bytesSent('uploadPages') - md5Bytes,
    allBytesWritten: targetTraffic.bytesSent() - md5Bytes,
    bytesRead: readTraffic.bytesReceived() + targetTraffic.bytesReceived('read'),
    clearCalls: 0,
    pageWriteCalls: targetTraffic.calls('uploadPages'),
    engineBytesWritten: disk.bytesWritten,
    engineBytesRead: disk.bytesRead,
    restoredDiskId: disk.id,
    blocksVerified: disk.blocksVerified,
    tier: disk.tier,
    peakRss: peakRssOfThisProcess(),
  };
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/** Transfers every segment of a disk's plan, at most `maxParallelSegments` at once, as the backupDisk orchestration fans out. */
function transferAllSegments(
  deps: Parameters<typeof transferSegment>[0],
  task: { itemId: string; jobId: string; maxParallelSegments: number; transferTuning?: TransferTuning },
  plan: Awaited<ReturnType<typeof planDiskBackup>>,
  view: Parameters<typeof transferSegment>[1]['source'],
): Promise<TransferSegmentResult[]> {
  return mapBounded(plan.segments, task.maxParallelSegments, (segment) =>
    transferSegment(deps, {
      itemId: task.itemId,
      jobId: task.jobId,
      lun: 0,
      segment,
      diskSize: plan.sizeBytes,
      blockSize: plan.blockSize,
      source: view,
      changeDetection: plan.detection,
      tuning: task.transferTuning,
    }),
  );
}

/** Commits the one-disk point a bench backup made, as the vault's commit step does. */
function commitBenchPoint(
  deps: Parameters<typeof commitRecoveryPoint>[0],
  task: { itemId: string; jobId: string; recoveryPointId: string },
  createdAt: string,
  disk: { name: string; view: Parameters<typeof transferSegment>[1]['source']; plan: Awaited<ReturnType<typeof planDiskBackup>> },
): ReturnType<typeof commitRecoveryPoint> {
  return commitRecoveryPoint(deps, {
    itemId: task.itemId,
    jobId: task.jobId,
    recoveryPointId: task.recoveryPointId,
    createdAt,
    consistency: 'CrashConsistent',
    vmConfig: { name: task.itemId, vmSize: 'Standard_D2s_v3', osType: 'Linux' },
    disks: [
      { lun: 0, name: disk.name, storageType: 'Standard', source: disk.view, changeDetection: disk.plan.changeDetection, segmentCount: disk.plan.segments.length },
    ],
  });
}

/** Times an operation's steps: each `step(name)` records the time since the previous one. */
function stepTimer(start: number) {
  const steps: Record<string, number> = {};
  let stepStart = start;
  const step = (name: string) => {
    const now = performance.now();
    steps[name] = now - stepStart;
    stepStart = now;
  };
  return { steps, step };
}

/** What every backup operation reports, whatever its source. */
function backupResult(run: {
  ms: number;
  cpuStart: NodeJS.CpuUsage;
  steps: Record<string, number>;
  capabilities: { trueDiff: boolean; serverSideCopySafe: boolean };
  plan: Awaited<ReturnType<typeof planDiskBackup>>;
  vaultTraffic: TrafficCounter;
  segments: readonly TransferSegmentResult[];
}) {
  const { vaultTraffic, plan, segments } = run;
  return {
    ms: run.ms,
    cpuSeconds: cpuSecondsSince(run.cpuStart),
    steps: run.steps,
    trueDiff: run.capabilities.trueDiff,
    serverSideCopySafe: run.capabilities.serverSideCopySafe,
    changeDetection: plan.changeDetection,
    method: plan.seed,
    planReason: plan.reason,
    pageBytesWritten: vaultTraffic.bytesSent('uploadPages'),
    allBytesWritten: vaultTraffic.bytesSent(),
    clearCalls: vaultTraffic.calls('clearPages'),
    pageWriteCalls: vaultTraffic.calls('uploadPages'),
    engineBytesWritten: sum(segments, (s) => s.bytesWritten),
    engineBytesRead: sum(segments, (s) => s.bytesRead),
    engineBytesCleared: sum(segments, (s) => s.bytesCleared),
    peakRss: peakRssOfThisProcess(),
  };
}

function sum<T>(items: readonly T[], pick: (item: T) => number): number {
  return items.reduce((total, item) => total + pick(item), 0);
}

function runTask(task: EngineTask): Promise<WorkerResult> {
  switch (task.op) {
    case 'backup':
      return runBackup(task);
    case 'restore':
      return runRestore(task);
    case 'managedBackup':
      return runManagedBackup(task);
    case 'managedRestore':
      return runManagedRestore(task);
  }
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '') as EngineTask;
  const result = await runTask(task);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
