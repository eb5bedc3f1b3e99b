/**
 * emulator/azurite-copy-isolation.js against real Azurite 3.35.0: server-side copies of page blobs are
 * point-in-time and write-isolated in both directions, on disk and after a restart — and plain Azurite
 * is not (the reason the extension exists; the capability probe tells them apart).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';
import { startAzurite } from '../../emulator/azurite';
import { fromSdkRangeResponse } from '../../lib/engine/domain/page-ranges';
import { copyIsolationExtension } from '../../emulator/cli';
import { blobService, uniqueName, useAzurite } from '../support/azurite';

const PAGE = 512;
const fill = (byte: number, pages = 1): Buffer => Buffer.alloc(pages * PAGE, byte);

async function writePage(blob: PageBlobClient, index: number, byte: number): Promise<void> {
  await blob.uploadPages(fill(byte), index * PAGE, PAGE);
}

async function readPage(blob: PageBlobClient, index: number): Promise<number> {
  const page = await blob.downloadToBuffer(index * PAGE, PAGE);
  expect(page.every((b) => b === page[0])).toBe(true);
  return page[0];
}

async function copyOf(container: ContainerClient, source: PageBlobClient): Promise<PageBlobClient> {
  const copy = container.getPageBlobClient(uniqueName('copy'));
  await (await copy.beginCopyFromURL(source.url)).pollUntilDone();
  return copy;
}

/** Source pages 0..1 = 0x41 0x42; returns the source, its snapshot and copies of both. */
async function scenario(container: ContainerClient) {
  const source = container.getPageBlobClient(uniqueName('source'));
  await source.create(4 * PAGE);
  await writePage(source, 0, 0x41);
  await writePage(source, 1, 0x42);
  const snapshot = source.withSnapshot((await source.createSnapshot()).snapshot as string).getPageBlobClient();
  const copyOfBlob = await copyOf(container, source);
  const copyOfSnapshot = await copyOf(container, snapshot);
  return { source, snapshot, copyOfBlob, copyOfSnapshot };
}

describe('Azurite copy isolation extension', () => {
  const extended = useAzurite({ extensions: [copyIsolationExtension] });
  const plain = useAzurite();

  async function container(connectionString: string): Promise<ContainerClient> {
    const c = blobService(connectionString).getContainerClient(uniqueName('copies'));
    await c.create();
    return c;
  }

  test('a copy keeps its bytes and allocation when its source is written or cleared afterwards', async () => {
    const { source, copyOfBlob, copyOfSnapshot } = await scenario(await container(extended().connectionString));
    await writePage(source, 0, 0x43);
    await source.clearPages(PAGE, PAGE);
    await writePage(source, 3, 0x46);
    expect([await readPage(copyOfBlob, 0), await readPage(copyOfBlob, 1), await readPage(copyOfSnapshot, 0)]).toEqual([0x41, 0x42, 0x41]);
    expect(fromSdkRangeResponse(await copyOfBlob.getPageRanges()).changed).toEqual([{ start: 0, end: 2 * PAGE }]);
  });

  test('writing a copy leaves its source blob and source snapshot untouched', async () => {
    const { source, snapshot, copyOfBlob, copyOfSnapshot } = await scenario(await container(extended().connectionString));
    await writePage(copyOfBlob, 1, 0x44);
    await writePage(copyOfSnapshot, 1, 0x45);
    await copyOfSnapshot.clearPages(0, PAGE);
    expect([await readPage(source, 0), await readPage(source, 1), await readPage(snapshot, 0), await readPage(snapshot, 1)]).toEqual([0x41, 0x42, 0x41, 0x42]);
    expect([await readPage(copyOfBlob, 1), await readPage(copyOfSnapshot, 1), await readPage(copyOfSnapshot, 0)]).toEqual([0x44, 0x45, 0]);
  });

  test('plain Azurite 3.35.0 shares the page list between a copy and its source (what the extension fixes)', async () => {
    const { source, copyOfBlob } = await scenario(await container(plain().connectionString));
    await writePage(source, 0, 0x43);
    expect(await readPage(copyOfBlob, 0)).toBe(0x43);
  });

  test('copies stay isolated after Azurite restarts from its data folder', async () => {
    const location = mkdtempSync(path.join(tmpdir(), 'kluis-copy-isolation-'));
    try {
      let azurite = await startAzurite({ location, extensions: [copyIsolationExtension] });
      const name = uniqueName('copies');
      let c = blobService(azurite.connectionString).getContainerClient(name);
      await c.create();
      const { source, copyOfBlob } = await scenario(c);
      const [sourceName, copyName] = [source.name, copyOfBlob.name];
      await azurite.stop();
      azurite = await startAzurite({ location, extensions: [copyIsolationExtension], blobPort: 0 });
      try {
        c = blobService(azurite.connectionString).getContainerClient(name);
        await writePage(c.getPageBlobClient(sourceName), 0, 0x47);
        await writePage(c.getPageBlobClient(copyName), 1, 0x48);
        expect([await readPage(c.getPageBlobClient(copyName), 0), await readPage(c.getPageBlobClient(sourceName), 1)]).toEqual([0x41, 0x42]);
      } finally {
        await azurite.stop();
      }
    } finally {
      rmSync(location, { recursive: true, force: true });
    }
  });
});
