/**
 * The benchmark dataset on disk: the version-0 image as a sparse local raw file (for restic), made once
 * per size and reused by later runs; a `ready.json` marker (layout fingerprint) tells a complete one from
 * a half-made one. Azurite never keeps data between runs: each run starts one in a fresh folder, writes
 * the source disk from the generator and deletes the folder afterwards, because Azurite reclaims the
 * space of deleted blobs only every 10 minutes — an 8 GiB run would otherwise fill the disk.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BlobServiceClient, type PageBlobClient } from '@azure/storage-blob';
import { startAzurite, type RunningAzurite } from '../../emulator/azurite';
import { planDiskLayout, type DiskLayout } from './disk-image';
import { writeInitialImage } from './image-writer';
import { timed } from './stats';

export const SOURCE_CONTAINER = 'bench-source';

export interface Dataset {
  layout: DiskLayout;
  dir: string;
  /** The version-0 image as a raw file (sparse). */
  imageFile: string;
  /** ms spent generating the image file (0 when reused). */
  generationMs: number;
}

function fingerprint(layout: DiskLayout): string {
  return createHash('sha256').update(JSON.stringify(layout)).digest('hex');
}

/** The SDK's default retries stay on: a benchmark should ride out Azurite's occasional dropped keep-alive socket. */
export function blobService(azurite: RunningAzurite): BlobServiceClient {
  return BlobServiceClient.fromConnectionString(azurite.connectionString);
}

/** Runs `work` against an Azurite whose data lives in a fresh folder under the dataset, removed afterwards. */
export async function withRunAzurite<T>(dataset: Dataset, name: string, extensions: string[], work: (azurite: RunningAzurite) => Promise<T>): Promise<T> {
  const location = path.join(dataset.dir, `azurite-${name}`);
  await rm(location, { recursive: true, force: true });
  const azurite = await startAzurite({ location, extensions, startupTimeoutInMs: 120_000 });
  try {
    return await work(azurite);
  } finally {
    await azurite.stop();
    await rm(location, { recursive: true, force: true });
  }
}

/** Writes a fresh version-0 source disk from the generator into SOURCE_CONTAINER. */
export async function writeSourceDisk(azurite: RunningAzurite, dataset: Dataset, blob: string): Promise<PageBlobClient> {
  const container = blobService(azurite).getContainerClient(SOURCE_CONTAINER);
  await container.createIfNotExists();
  const pageBlob = container.getPageBlobClient(blob);
  await writeInitialImage(dataset.layout, { pageBlob });
  return pageBlob;
}

/** Returns the dataset for `dataSize`, generating its image file under `workDir` unless a complete one is there. */
export async function prepareDataset(workDir: string, dataSize: number, opts: { regenerate?: boolean; log?: (line: string) => void } = {}): Promise<Dataset> {
  const log = opts.log ?? console.log;
  const layout = planDiskLayout({ dataSize });
  const dir = path.join(workDir, `disk-${dataSize / 2 ** 30}gib`);
  const dataset: Dataset = { layout, dir, imageFile: path.join(dir, 'image-v0.raw'), generationMs: 0 };
  const marker = path.join(dir, 'ready.json');
  if (!opts.regenerate && existsSync(marker)) {
    const ready = JSON.parse(await readFile(marker, 'utf8')) as { fingerprint: string };
    if (ready.fingerprint === fingerprint(layout)) {
      log(`  reusing the image file in ${path.relative(process.cwd(), dir)}`);
      return dataset;
    }
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  log(`  generating the image file in ${path.relative(process.cwd(), dir)} …`);
  const { ms } = await timed(() => writeInitialImage(layout, { file: dataset.imageFile }));
  dataset.generationMs = ms;
  await writeFile(marker, JSON.stringify({ fingerprint: fingerprint(layout), createdAt: new Date().toISOString() }));
  return dataset;
}
