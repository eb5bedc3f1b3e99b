/**
 * The SDK retry layer (lib/stores/azure/storage-retry.ts) through the fault proxy, with Kluis's own stores:
 * each transient fault is absorbed within one call, Retry-After is waited for, a try that never answers is
 * abandoned after its timeout and retried, and a service that stays down fails after exactly `maxTries` tries
 * (no retry storm).
 */
import { createHash } from 'node:crypto';
import { BlobSASPermissions } from '@azure/storage-blob';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { BlobSasPageReader } from '../../lib/stores/azure/arm-managed-disk-compute';
import { TableDocumentStore } from '../../lib/stores/azure/table-document-store';
import { TableRecoveryPointCatalog } from '../../lib/stores/azure/table-recovery-point-catalog';
import { blobClientOptions, tableClientOptions, type StorageRetrySettings } from '../../lib/stores/azure/storage-retry';
import { isServiceUnavailableError } from '../../lib/domain/errors';
import { blobService, uniqueName, uniqueTableName, useAzurite } from '../support/azurite';
import { startFaultyStorage, type FaultyStorage } from '../support/fault-proxy/storage';
import { always, noFaults, requests, scriptedFaults } from '../support/fault-proxy/faults';

const MIB = 1024 * 1024;
const SETTINGS: StorageRetrySettings = {
  maxTries: 3,
  retryDelayInMs: 20,
  maxRetryDelayInMs: 100,
  blobTryTimeoutInMs: 400,
  tableTryTimeoutInMs: 400,
  maxRetryAfterInMs: 5_000,
};

const azurite = useAzurite();

describe('the SDK retry layer under faults', () => {
  let storage: FaultyStorage;
  let container: string;
  let blobs: BlobPageStore;

  beforeAll(async () => {
    storage = await startFaultyStorage(azurite().connectionString);
    container = uniqueName('retry');
    await blobService(azurite().connectionString).createContainer(container);
    blobs = BlobPageStore.fromConnectionString(storage.connectionString, blobClientOptions(SETTINGS));
  });
  afterEach(() => storage.setSchedule(noFaults));
  afterAll(async () => {
    await storage?.close();
  });

  const documents = () => TableDocumentStore.fromConnectionString<{ n: number }>(storage.connectionString, uniqueTableName('retry'), 'Doc', tableClientOptions(SETTINGS));

  async function timed<T>(run: () => Promise<T>): Promise<{ result: T; ms: number }> {
    const started = Date.now();
    const result = await run();
    return { result, ms: Date.now() - started };
  }

  it('Blob: waits for the Retry-After of a 503 before retrying', async () => {
    storage.blob.setSchedule(scriptedFaults([{ match: requests.blob, fault: { kind: 'status', status: 503, code: 'ServerBusy', retryAfterSeconds: 1 } }]));
    const { ms } = await timed(() => blobs.createPageBlob({ container, blob: 'after-busy' }, MIB));
    expect(ms).toBeGreaterThanOrEqual(950);
    expect(storage.blob.injected()).toHaveLength(1);
    // Many clients derived from one service client share its pipeline: the per-try policy is in it once.
    await Promise.all(['a', 'b', 'c'].map((name) => blobs.createPageBlob({ container, blob: `derived-${name}` }, MIB)));
  });

  it('Blob: retries a 408 Request Timeout (the SDK alone does not), and a service that keeps answering 408 is unavailable after maxTries', async () => {
    const before = storage.blob.injected().length;
    storage.blob.setSchedule(scriptedFaults([{ match: requests.blob, fault: { kind: 'status', status: 408, code: 'RequestTimeout' } }]));
    await blobs.createPageBlob({ container, blob: 'after-408' }, MIB);
    expect(await blobService(azurite().connectionString).getContainerClient(container).getBlobClient('after-408').exists()).toBe(true);
    expect(storage.blob.injected().length - before).toBe(1);

    storage.blob.setSchedule(always({ kind: 'status', status: 408, code: 'RequestTimeout' }));
    const failure = await blobs.createPageBlob({ container, blob: 'never-408' }, MIB).catch((err: unknown) => err);
    expect(isServiceUnavailableError(failure)).toBe(true);
    expect(storage.blob.injected().length - before).toBe(1 + SETTINGS.maxTries);
  });

  it('Blob: abandons a try that never answers and retries it', async () => {
    storage.blob.setSchedule(scriptedFaults([{ match: requests.blob, fault: { kind: 'hang' } }]));
    const { ms } = await timed(() => blobs.createPageBlob({ container, blob: 'after-hang' }, MIB));
    expect(ms).toBeGreaterThanOrEqual(350);
    expect(await blobService(azurite().connectionString).getContainerClient(container).getBlobClient('after-hang').exists()).toBe(true);
  });

  it('Blob: a reset in the middle of a 4 MiB page upload is retried and the pages land', async () => {
    const ref = { container, blob: 'reset-upload' };
    await blobs.createPageBlob(ref, 4 * MIB);
    const data = Buffer.alloc(4 * MIB, 0x3c);
    const before = storage.blob.injected().length;
    storage.blob.setSchedule(scriptedFaults([{ match: requests.pageUpload, fault: { kind: 'reset', at: 'during-request-body', afterBytes: 2 * MIB + 7 } }]));
    await blobs.uploadPages(ref, 0, data, { transactionalContentMD5: createHash('md5').update(data).digest() });
    expect(storage.blob.injected().length - before).toBe(1);
    const landed = await blobService(azurite().connectionString).getContainerClient(container).getPageBlobClient('reset-upload').downloadToBuffer();
    expect(landed.equals(data)).toBe(true);
  });

  it('Blob: a service that stays busy fails the call after exactly maxTries tries', async () => {
    storage.blob.setSchedule(always({ kind: 'status', status: 503, code: 'ServerBusy' }));
    const before = storage.blob.requestCount();
    await expect(blobs.createPageBlob({ container, blob: 'never' }, MIB)).rejects.toMatchObject({ statusCode: 503 });
    expect(storage.blob.requestCount() - before).toBe(SETTINGS.maxTries);
  });

  it('Tables: waits for Retry-After, retries an answer cut off in its body, abandons a hung try, and gives up after maxTries', async () => {
    const store = documents();
    await store.insert('p', 'r', { n: 1 });
    storage.table.setSchedule(scriptedFaults([{ match: requests.table, fault: { kind: 'status', status: 503, code: 'ServerBusy', retryAfterSeconds: 1 } }]));
    const busy = await timed(() => store.get('p', 'r'));
    expect(busy.result?.value).toEqual({ n: 1 });
    expect(busy.ms).toBeGreaterThanOrEqual(950);

    storage.table.setSchedule(scriptedFaults([{ match: requests.table, fault: { kind: 'reset', at: 'during-response-body', afterBytes: 10 } }]));
    expect((await store.get('p', 'r'))?.value).toEqual({ n: 1 });

    storage.table.setSchedule(scriptedFaults([{ match: requests.table, fault: { kind: 'hang' } }]));
    const hung = await timed(() => store.get('p', 'r'));
    expect(hung.result?.value).toEqual({ n: 1 });
    expect(hung.ms).toBeGreaterThanOrEqual(350);

    storage.table.setSchedule(always({ kind: 'hang' }));
    const before = storage.table.requestCount();
    const down = await timed(() => store.get('p', 'r').then(() => 'answered', (err: { code?: string }) => err.code));
    expect(down.result).toBe('ETIMEDOUT');
    expect(storage.table.requestCount() - before).toBe(SETTINGS.maxTries);
    expect(down.ms).toBeLessThan(SETTINGS.maxTries * (SETTINGS.tableTryTimeoutInMs + SETTINGS.maxRetryDelayInMs) + 1_000);
  });

  it('Tables: a conditional write applied by a try whose answer was lost succeeds; a real conflict is still KluisCatalogConflict', async () => {
    const store = documents();
    storage.table.setSchedule(scriptedFaults([{ match: requests.method('POST'), fault: { kind: 'reset', at: 'after-request-body' } }]));
    const inserted = await store.insert('p', 'r', { n: 1 });
    expect(inserted.value).toEqual({ n: 1 });
    storage.table.setSchedule(scriptedFaults([{ match: requests.conditionalWrite, fault: { kind: 'status', status: 500, code: 'OperationTimedOut', forward: true } }]));
    const replaced = await store.replace('p', 'r', { n: 2 }, inserted.etag);
    expect(replaced.value).toEqual({ n: 2 });
    expect(storage.table.injected().slice(-2).map((f) => f.fault.kind)).toEqual(['reset', 'status']);
    storage.table.setSchedule(noFaults);
    await expect(store.replace('p', 'r', { n: 3 }, inserted.etag)).rejects.toMatchObject({ code: 'KluisCatalogConflict' });
    await expect(store.insert('p', 'r', { n: 9 })).rejects.toMatchObject({ code: 'KluisCatalogConflict' });
    expect((await store.get('p', 'r'))?.value).toEqual({ n: 2 });
  });

  it('Recovery points: a catalog row written by a try whose answer was lost counts as written', async () => {
    const catalog = TableRecoveryPointCatalog.fromConnectionString(storage.connectionString, uniqueTableName('points'), tableClientOptions(SETTINGS));
    const record = { itemId: 'item1', recoveryPointId: '1795306996372', createdAt: '2026-03-02T08:00:00.000Z', consistency: 'CrashConsistent' as const, vaultContainer: 'v', manifestBlobName: 'm.json', diskCount: 1, state: 'committed' as const, retention: { isOnDemand: true, retainUntil: '2026-04-01T00:00:00.000Z' } };
    storage.table.setSchedule(scriptedFaults([{ match: requests.method('POST'), fault: { kind: 'status', status: 503, code: 'ServerBusy', forward: true } }]));
    const stored = await catalog.put(record);
    expect(stored).toMatchObject(record);
    storage.table.setSchedule(noFaults);
    await expect(catalog.put({ ...record, diskCount: 2 })).rejects.toMatchObject({ code: 'KluisCatalogConflict' });
  });

  it('Blob: a read whose body the connection drops fails as a dropped connection (retryable), not as an abort', async () => {
    const ref = { container, blob: 'read-dropped' };
    await blobs.createPageBlob(ref, MIB);
    storage.blob.setSchedule(always({ kind: 'reset', at: 'during-response-body', afterBytes: 1000 }));
    const err = await blobs.readRange(ref, 0, MIB).then(
      () => undefined,
      (e: unknown) => e,
    );
    storage.blob.setSchedule(noFaults);
    expect(err).toMatchObject({ name: 'RestError', code: 'ECONNRESET' });
    expect(isServiceUnavailableError(err)).toBe(true);
    expect((await blobs.readRange(ref, 0, MIB)).length).toBe(MIB);
  });

  it('Blob: a read whose body the connection drops is read again within the call, maxTries in all', async () => {
    const ref = { container, blob: 'read-dropped-once' };
    const data = Buffer.alloc(MIB, 0x5a);
    await blobs.createPageBlob(ref, MIB);
    await blobs.uploadPages(ref, 0, data, { transactionalContentMD5: createHash('md5').update(data).digest() });
    storage.blob.setSchedule(scriptedFaults([{ match: requests.blobRead, fault: { kind: 'reset', at: 'during-response-body', afterBytes: 1000 }, times: SETTINGS.maxTries - 1 }]));
    const before = storage.blob.requestCount();
    expect((await blobs.readRange(ref, 0, MIB)).equals(data)).toBe(true);
    expect(storage.blob.requestCount() - before).toBe(SETTINGS.maxTries);
    expect((await blobs.readBlob(ref)).equals(data)).toBe(true);
  });

  it('SAS page reads (managed disks): a dropped read is read again, and each SAS client abandons a hung try', async () => {
    const ref = { container, blob: 'sas-read' };
    const data = Buffer.alloc(MIB, 0x6b);
    await blobs.createPageBlob(ref, MIB);
    await blobs.uploadPages(ref, 0, data, { transactionalContentMD5: createHash('md5').update(data).digest() });
    const sasUrl = (name: string) =>
      blobService(storage.connectionString).getContainerClient(container).getBlobClient(name).generateSasUrl({ permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(Date.now() + 3_600_000) });
    const reader = new BlobSasPageReader(() => blobClientOptions(SETTINGS));
    storage.blob.setSchedule(scriptedFaults([{ match: requests.blobRead, fault: { kind: 'reset', at: 'during-response-body', afterBytes: 1000 } }]));
    expect((await reader.read(await sasUrl(ref.blob), 0, MIB)).equals(data)).toBe(true);
    // A second SAS gets its own client: its tries are bounded too (the per-try policy is on every SAS client).
    const secondSas = `${await sasUrl(ref.blob)}&kluis=2`;
    storage.blob.setSchedule(scriptedFaults([{ match: requests.blobRead, fault: { kind: 'hang' } }]));
    const { result, ms } = await timed(() => reader.read(secondSas, 0, MIB));
    expect(result.equals(data)).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(350);
  });
});
