/**
 * `npm start`: the main job on the embedded default. Starts Azurite (persistent under .kluis/azurite) and the
 * embedded host with this repository's Functions app, creates a sample VHD page blob, runs one backup through the
 * HTTP API, prints what happened and the URLs to try, then keeps serving until Ctrl+C.
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { chooseStorage } from './cli';
import { EmbeddedHost } from './host';
import { createLogger } from './logger';
import { createSampleVhd } from './sample-disk';

const repoRoot = path.resolve(__dirname, '..', '..');
const sample = { container: 'kluis-sample', blob: 'sample-vm-osdisk.vhd' };

const say = (line = '') => process.stdout.write(line + '\n');

interface JobStatus<T> {
  runtimeStatus: string;
  customStatus?: { stage?: string };
  output?: T;
  error?: { code: string; message: string };
}

interface BackupResult {
  recoveryPointId: string;
  bytesWritten: number;
  disks: Array<{ lun: number; changeDetection: string; reason: string; bytesRead: number; bytesWritten: number; staging?: string }>;
}

interface RestoreResult {
  targetContainer: string;
  vmConfigBlobName: string;
  disks: Array<{ lun: number; blobName: string; tier: string; bytesCopied: number; blocksVerified: number }>;
}

async function runJob<T>(origin: string, kind: 'backups' | 'restores', body: unknown): Promise<{ id: string; status: JobStatus<T>; seconds: string }> {
  const started = Date.now();
  const response = await fetch(`${origin}/api/${kind}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const accepted = (await response.json()) as { id: string };
  if (response.status !== 202) throw new Error(`POST /api/${kind} failed: HTTP ${response.status} ${JSON.stringify(accepted)}`);
  let lastStage = '';
  for (;;) {
    const status = (await (await fetch(`${origin}/api/${kind}/${accepted.id}`)).json()) as JobStatus<T>;
    const stage = status.customStatus?.stage ?? status.runtimeStatus;
    if (stage !== lastStage) {
      say(`  … ${stage}`);
      lastStage = stage;
    }
    if (['Completed', 'Failed', 'Terminated'].includes(status.runtimeStatus)) {
      return { id: accepted.id, status, seconds: ((Date.now() - started) / 1000).toFixed(1) };
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function check<T>(kind: string, job: { id: string; status: JobStatus<T>; seconds: string }): T {
  if (job.status.runtimeStatus !== 'Completed' || !job.status.output) {
    throw new Error(`${kind} ${job.id} ended ${job.status.runtimeStatus}: ${job.status.error?.code ?? ''} ${job.status.error?.message ?? ''}`);
  }
  say(`✔ ${kind} ${job.id} completed in ${job.seconds} s`);
  return job.status.output;
}

function describeBackup(result: BackupResult): void {
  say(`    recovery point ${result.recoveryPointId}, ${result.bytesWritten} bytes written to the vault`);
  for (const disk of result.disks) {
    say(`    lun ${disk.lun}: ${disk.changeDetection} (${disk.reason}); read ${disk.bytesRead}, wrote ${disk.bytesWritten}${disk.staging ? `, staged (${disk.staging})` : ''}`);
  }
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 7071);
  const logger = createLogger({ format: 'pretty', minLevel: (process.env.KLUIS_LOG_LEVEL as 'warning') ?? 'warning' });
  say('Kluis — embedded Functions host on Azurite (no cloud, no internet)');
  const storage = await chooseStorage(repoRoot, process.env.AzureWebJobsStorage);
  say(storage.azurite ? `• Azurite started (data in .kluis/azurite, blob port ${storage.azurite.blobPort})` : '• Using the Azurite already running on the default ports');

  const host = new EmbeddedHost({ appDir: repoRoot, port, storage: storage.connectionString, logger });
  try {
    await host.start();
  } catch (err) {
    await storage.azurite?.stop();
    throw err;
  }
  say(`• Host listening on ${host.origin} with ${host.app.functions.length} functions`);

  const blobs = BlobServiceClient.fromConnectionString(storage.connectionString);
  const existing = blobs.getContainerClient(sample.container).getBlobClient(sample.blob);
  if (await existing.exists()) {
    say(`• Sample disk ${sample.container}/${sample.blob} already exists (kept from an earlier run)`);
  } else {
    const disk = await createSampleVhd(blobs, { ...sample, dataSize: 64 * 1024 * 1024, seed: 'kluis' });
    say(`• Created sample disk ${sample.container}/${sample.blob}: ${disk.size} bytes, ${disk.regions.length} written regions`);
  }

  const disk = blobs.getContainerClient(sample.container).getPageBlobClient(sample.blob);
  const vm = { itemId: 'sample-vm', disks: [{ lun: 0, container: sample.container, blob: sample.blob, storageType: 'Standard' }] };

  say('');
  say(`Backing up ${sample.container}/${sample.blob} as item ${vm.itemId} (POST ${host.origin}/api/backups) …`);
  const first = check<BackupResult>('Backup', await runJob<BackupResult>(host.origin, 'backups', vm));
  describeBackup(first);

  say('');
  say('Writing 3 random 64 KiB blocks into the disk, then backing up again (incremental) …');
  for (const offset of [1, 17, 42].map((n) => n * 1024 * 1024)) await disk.uploadPages(randomBytes(64 * 1024), offset, 64 * 1024);
  const expected = sha256(await disk.downloadToBuffer());
  const second = check<BackupResult>('Backup', await runJob<BackupResult>(host.origin, 'backups', vm));
  describeBackup(second);

  say('');
  const target = 'kluis-restored';
  say(`Restoring recovery point ${second.recoveryPointId} into container ${target} (POST ${host.origin}/api/restores) …`);
  const restored = check<RestoreResult>('Restore', await runJob<RestoreResult>(host.origin, 'restores', { itemId: vm.itemId, recoveryPointId: second.recoveryPointId, targetContainer: target }));
  for (const d of restored.disks) {
    const bytes = await blobs.getContainerClient(restored.targetContainer).getPageBlobClient(d.blobName).downloadToBuffer();
    const same = sha256(bytes) === expected;
    say(`    lun ${d.lun} → ${restored.targetContainer}/${d.blobName} from ${d.tier}, ${d.blocksVerified} blocks verified; sha256 ${same ? 'matches the source' : 'DIFFERS from the source'}`);
  }
  say(`    VM configuration: ${restored.targetContainer}/${restored.vmConfigBlobName}`);
  say('');
  say('Try it yourself:');
  say(`  curl ${host.origin}/api/items/${vm.itemId}/recoveryPoints`);
  say(`  curl -X POST ${host.origin}/api/backups -H 'content-type: application/json' -d '${JSON.stringify(vm)}'`);
  say(`  curl -X POST ${host.origin}/api/restores -H 'content-type: application/json' -d '${JSON.stringify({ itemId: vm.itemId, recoveryPointId: first.recoveryPointId, targetContainer: 'my-restore' })}'`);
  say(`  Function keys: ${path.join(repoRoot, '.kluis', 'secrets.json')}`);
  say('');
  say('Serving; press Ctrl+C to stop.');

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    say('Stopping …');
    await host.stop().catch(() => undefined);
    await storage.azurite?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
}

main().catch((err) => {
  process.stderr.write(`kluis: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
