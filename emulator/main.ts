/**
 * `npm start`: the main job on the embedded default. Starts Azurite (persistent under .kluis/azurite) and the
 * embedded host with this repository's Functions app, creates a sample VHD page blob, runs one backup through the
 * HTTP API, prints what happened and the URLs to try, then keeps serving until Ctrl+C.
 */
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { chooseStorage } from './cli';
import { EmbeddedHost } from './host';
import { createLogger } from './logger';
import { createSampleVhd } from './sample-disk';

const repoRoot = path.resolve(__dirname, '..', '..');
const sample = { container: 'kluis-sample', blob: 'sample-vm-osdisk.vhd' };

const say = (line = '') => process.stdout.write(line + '\n');

interface BackupStatus {
  runtimeStatus: string;
  customStatus?: { stage?: string };
  output?: { recoveryPointId: string; bytesCopied: number; md5Base64: string; manifestBlob: string; replicaBlob: string; replicaSnapshot: string };
  error?: { code: string; message: string };
}

async function waitForBackup(url: string): Promise<BackupStatus> {
  let lastStage = '';
  for (;;) {
    const status = (await (await fetch(url)).json()) as BackupStatus;
    const stage = status.customStatus?.stage ?? status.runtimeStatus;
    if (stage !== lastStage) {
      say(`  … ${stage}`);
      lastStage = stage;
    }
    if (['Completed', 'Failed', 'Terminated'].includes(status.runtimeStatus)) return status;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

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

  say('');
  say(`Backing up ${sample.container}/${sample.blob} (POST ${host.origin}/api/backups) …`);
  const started = Date.now();
  const response = await fetch(`${host.origin}/api/backups`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(sample),
  });
  const accepted = (await response.json()) as { id: string; statusQueryGetUri: string };
  if (response.status !== 202) throw new Error(`Starting the backup failed: HTTP ${response.status} ${JSON.stringify(accepted)}`);
  const statusUrl = `${host.origin}/api/backups/${accepted.id}`;
  const status = await waitForBackup(statusUrl);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (status.runtimeStatus === 'Completed' && status.output) {
    const out = status.output;
    say(`✔ Backup ${accepted.id} completed in ${seconds} s`);
    say(`    recovery point   ${out.recoveryPointId}`);
    say(`    bytes copied     ${out.bytesCopied} (MD5 ${out.md5Base64})`);
    say(`    vault replica    ${out.replicaBlob} @ snapshot ${out.replicaSnapshot}`);
    say(`    manifest         ${out.manifestBlob}`);
  } else {
    say(`✘ Backup ${accepted.id} ended ${status.runtimeStatus} after ${seconds} s: ${status.error?.code ?? ''} ${status.error?.message ?? ''}`);
  }
  say('');
  say('Try it yourself:');
  say(`  curl ${statusUrl}`);
  say(`  curl -X POST ${host.origin}/api/backups -H 'content-type: application/json' -d '${JSON.stringify(sample)}'`);
  say(`  Durable status (with history): ${accepted.statusQueryGetUri}&showHistory=true`);
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
