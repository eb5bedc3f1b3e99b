/**
 * The fault proxy itself (test/support/fault-proxy), in front of real Azurite and driven by the real Storage
 * SDK clients with their retries off: every fault kind is observable by a client, and what reached the service
 * (nothing, part, all) is checked directly against Azurite.
 */
import http from 'node:http';
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { BlobSASPermissions, BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { TableClient } from '@azure/data-tables';
import { ensureTlsMaterial } from '../../emulator/local-ca';
import { blobService, tableClient, uniqueName, uniqueTableName, useAzurite } from '../support/azurite';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy/fault-proxy';
import { startFaultyStorage, type FaultyStorage } from '../support/fault-proxy/storage';
import { ALL_FAULT_KINDS, always, noFaults, requests, scriptedFaults, seededFaults, type ProxiedRequest } from '../support/fault-proxy/faults';

const MIB = 1024 * 1024;
const azurite = useAzurite();

interface ErrorLike {
  statusCode?: number;
  code?: string;
  response?: { headers: { get(name: string): string | undefined } };
}

async function failure(promise: Promise<unknown>): Promise<ErrorLike> {
  try {
    await promise;
  } catch (err) {
    return err as ErrorLike;
  }
  throw new Error('expected the call to fail');
}

describe('the fault proxy in front of Azurite', () => {
  let storage: FaultyStorage;
  let proxied: ContainerClient;
  let direct: ContainerClient;

  beforeAll(async () => {
    storage = await startFaultyStorage(azurite().connectionString);
    const name = uniqueName('faults');
    direct = blobService(azurite().connectionString).getContainerClient(name);
    await direct.create();
    proxied = blobService(storage.connectionString).getContainerClient(name);
  });
  afterEach(() => storage.setSchedule(noFaults));
  afterAll(async () => {
    await storage?.close();
  });

  const once = (match: (r: ProxiedRequest) => boolean, fault: Parameters<typeof scriptedFaults>[0][number]['fault']) => storage.setSchedule(scriptedFaults([{ match, fault }]));
  const exists = (blob: string) => direct.getBlobClient(blob).exists();

  it('forwards requests unchanged: Shared Key signatures hold, blobs and tables work through it', async () => {
    await proxied.getBlockBlobClient('plain').upload('hello', 5);
    expect((await direct.getBlobClient('plain').downloadToBuffer()).toString()).toBe('hello');
    const table = uniqueTableName('proxied');
    const client = tableClient(storage.connectionString, table);
    await client.createTable();
    await client.createEntity({ partitionKey: 'p', rowKey: 'r', value: 1 });
    expect((await tableClient(azurite().connectionString, table).getEntity('p', 'r')).value).toBe(1);
    expect(storage.blob.requestCount()).toBeGreaterThan(0);
    expect(storage.table.requestCount()).toBeGreaterThan(0);
  });

  it('answers 503 ServerBusy with Retry-After in Storage XML, and nothing reaches the service', async () => {
    once(requests.blob, { kind: 'status', status: 503, code: 'ServerBusy', retryAfterSeconds: 7 });
    const err = await failure(proxied.getBlockBlobClient('busy').upload('x', 1));
    expect(err.statusCode).toBe(503);
    expect(err.code).toBe('ServerBusy');
    expect(err.response?.headers.get('retry-after')).toBe('7');
    expect(await exists('busy')).toBe(false);
    expect(storage.blob.injected().at(-1)?.fault).toMatchObject({ kind: 'status', status: 503 });
  });

  it('answers 500 InternalError and 408 RequestTimeout', async () => {
    once(requests.blob, { kind: 'status', status: 500, code: 'InternalError' });
    expect(await failure(proxied.getBlockBlobClient('e500').upload('x', 1))).toMatchObject({ statusCode: 500, code: 'InternalError' });
    once(requests.blob, { kind: 'status', status: 408, code: 'RequestTimeout' });
    expect(await failure(proxied.getBlockBlobClient('e408').upload('x', 1))).toMatchObject({ statusCode: 408, code: 'RequestTimeout' });
    expect([await exists('e500'), await exists('e408')]).toEqual([false, false]);
  });

  it('answers an error after the service applied the request (the ambiguous failure)', async () => {
    once(requests.blob, { kind: 'status', status: 500, code: 'OperationTimedOut', forward: true });
    expect(await failure(proxied.getBlockBlobClient('applied').upload('x', 1))).toMatchObject({ statusCode: 500, code: 'OperationTimedOut' });
    expect(await exists('applied')).toBe(true);
  });

  it('answers 412 to a conditional Table write in Table JSON, and the row stays as it was', async () => {
    const table = uniqueTableName('race');
    const client = tableClient(storage.connectionString, table);
    await client.createTable();
    await client.createEntity({ partitionKey: 'p', rowKey: 'r', value: 1 });
    const { etag } = await client.getEntity('p', 'r');
    once(requests.conditionalWrite, { kind: 'status', status: 412, code: 'UpdateConditionNotSatisfied' });
    const err = await failure(client.updateEntity({ partitionKey: 'p', rowKey: 'r', value: 2 }, 'Replace', { etag }));
    // As from Azurite itself: data-tables leaves `code` unset on a 412 and the header names it.
    expect(err.statusCode).toBe(412);
    expect(err.response?.headers.get('x-ms-error-code')).toBe('UpdateConditionNotSatisfied');
    expect((await tableClient(azurite().connectionString, table).getEntity('p', 'r')).value).toBe(1);
  });

  it('resets the connection before the body: the client sees ECONNRESET and nothing reaches the service', async () => {
    once(requests.blob, { kind: 'reset', at: 'before-request-body' });
    expect((await failure(proxied.getBlockBlobClient('reset-before').upload('x', 1))).code).toBe('ECONNRESET');
    expect(await exists('reset-before')).toBe(false);
  });

  it('resets in the middle of a 4 MiB page upload: the service never takes the pages', async () => {
    const blob = proxied.getPageBlobClient('pages');
    await blob.create(4 * MIB);
    const data = Buffer.alloc(4 * MIB, 0xab);
    once(requests.pageUpload, { kind: 'reset', at: 'during-request-body', afterBytes: MIB + 123 });
    expect((await failure(blob.uploadPages(data, 0, data.length))).code).toBe('ECONNRESET');
    const ranges = await direct.getPageBlobClient('pages').getPageRanges();
    expect(ranges.pageRange ?? []).toEqual([]);
    await blob.uploadPages(data, 0, data.length);
    expect((await direct.getPageBlobClient('pages').downloadToBuffer()).equals(data)).toBe(true);
  });

  it('resets after the body: the service applied the request, the client never hears', async () => {
    once(requests.blob, { kind: 'reset', at: 'after-request-body' });
    expect((await failure(proxied.getBlockBlobClient('reset-after').upload('x', 1))).code).toBe('ECONNRESET');
    expect(await exists('reset-after')).toBe(true);
  });

  it('resets in the middle of a response body: the client gets the headers and the first bytes only', async () => {
    const data = Buffer.alloc(MIB, 0x5a);
    await direct.getBlockBlobClient('read-me').upload(data, data.length);
    const url = proxied.getBlobClient('read-me').url;
    const sas = await direct.getBlobClient('read-me').generateSasUrl({ permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(Date.now() + 3_600_000) });
    once(requests.path(/read-me/), { kind: 'reset', at: 'during-response-body', afterBytes: 1000 });
    const outcome = await new Promise<{ status: number; received: number; error?: string }>((resolve) => {
      http.get(`${url}?${new URL(sas).searchParams.toString()}`, (res) => {
        let received = 0;
        res.on('data', (chunk: Buffer) => (received += chunk.length));
        res.on('error', (err: NodeJS.ErrnoException) => resolve({ status: res.statusCode ?? 0, received, error: err.code ?? err.message }));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, received }));
      });
    });
    expect(outcome.status).toBe(200);
    expect(outcome.received).toBe(1000);
    expect(outcome.error).toBe('ECONNRESET');
  });

  it('holds a request without an answer (a frozen service) until the client gives up', async () => {
    storage.setSchedule(always({ kind: 'hang' }));
    const started = Date.now();
    const err = await failure(proxied.getBlockBlobClient('frozen').upload('x', 1, { abortSignal: AbortSignal.timeout(300) }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(String((err as { name?: string }).name)).toMatch(/Abort/);
    storage.setSchedule(noFaults);
    expect(await exists('frozen')).toBe(false);
  });

  it('adds latency and then forwards', async () => {
    once(requests.blob, { kind: 'latency', ms: 300 });
    const started = Date.now();
    await proxied.getBlockBlobClient('slow').upload('x', 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(await exists('slow')).toBe(true);
  });

  it('lets the SDK retry through faults: Tables honour Retry-After, Blob retries 503 and resets', async () => {
    const table = uniqueTableName('retried');
    const retrying = TableClient.fromConnectionString(storage.connectionString, table, { allowInsecureConnection: true });
    storage.setSchedule(scriptedFaults([{ match: requests.table, fault: { kind: 'status', status: 503, code: 'ServerBusy', retryAfterSeconds: 1 } }]));
    const started = Date.now();
    await retrying.createTable();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);

    const blobRetrying = BlobServiceClient.fromConnectionString(storage.connectionString, { retryOptions: { retryDelayInMs: 10 } }).getContainerClient(proxied.containerName);
    storage.setSchedule(
      scriptedFaults([
        { match: requests.blob, fault: { kind: 'status', status: 503, code: 'ServerBusy', retryAfterSeconds: 1 } },
        { match: requests.blob, fault: { kind: 'reset', at: 'before-request-body' } },
      ]),
    );
    await blobRetrying.getBlockBlobClient('retried').upload('x', 1);
    expect(await exists('retried')).toBe(true);
  });
});

describe('seeded schedules', () => {
  const request = (index: number, contentLength?: number): ProxiedRequest => ({ index, method: 'PUT', path: `/r/${index}`, headers: {}, ...(contentLength === undefined ? {} : { contentLength }) });
  const draw = (seed: string, rate: number, n = 2_000) => {
    const schedule = seededFaults({ seed, rate });
    return Array.from({ length: n }, (_, i) => schedule(request(i, 4 * MIB)));
  };

  it('draws the same faults from the same seed, other faults from another', () => {
    expect(draw('seed-1', 0.1)).toEqual(draw('seed-1', 0.1));
    expect(draw('seed-1', 0.1)).not.toEqual(draw('seed-2', 0.1));
  });

  it('faults about `rate` of the requests, with every kind drawn', () => {
    for (const rate of [0.01, 0.05, 0.1]) {
      const faults = draw('rate', rate, 20_000).filter((f) => f !== undefined);
      expect(faults.length / 20_000).toBeGreaterThan(rate * 0.8);
      expect(faults.length / 20_000).toBeLessThan(rate * 1.2);
    }
    const kinds = new Set(draw('kinds', 0.5).map((f) => (f === undefined ? 'none' : f.kind === 'status' ? `status-${f.status}` : f.kind === 'reset' ? f.at : f.kind)));
    expect([...kinds].sort()).toEqual(
      ['after-request-body', 'before-request-body', 'during-request-body', 'during-response-body', 'latency', 'none', 'status-408', 'status-500', 'status-503'].sort(),
    );
    expect(ALL_FAULT_KINDS).toContain('precondition-failed');
  });

  it('places a body reset at a byte within the body', () => {
    const schedule = seededFaults({ seed: 'bytes', rate: 1, kinds: ['reset-during-request-body'] });
    for (let i = 0; i < 100; i++) {
      const fault = schedule(request(i, 4 * MIB));
      expect(fault).toMatchObject({ kind: 'reset', at: 'during-request-body' });
      const afterBytes = (fault as { afterBytes: number }).afterBytes;
      expect(afterBytes).toBeGreaterThanOrEqual(0);
      expect(afterBytes).toBeLessThan(4 * MIB);
    }
  });

  it('answers 412 only to conditional writes', () => {
    const schedule = seededFaults({ seed: '412', rate: 1, kinds: ['precondition-failed'] });
    expect(schedule({ ...request(0), headers: { 'if-match': 'W/"1"' } })).toMatchObject({ status: 412 });
    expect(schedule({ ...request(1), headers: {} })).toMatchObject({ status: 503 });
  });
});

describe('the fault proxy over HTTPS (Key Vault, Compute)', () => {
  let dir: string;
  let upstream: https.Server;
  let proxy: FaultProxy;
  let ca: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fault-proxy-tls-'));
    const tls = await ensureTlsMaterial(dir);
    ca = tls.caCertPem;
    upstream = https.createServer({ key: tls.serverKeyPem, cert: tls.serverCertPem }, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: req.url }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = (upstream.address() as { port: number }).port;
    proxy = await startFaultProxy({ target: `https://127.0.0.1:${port}`, tls: { key: tls.serverKeyPem, cert: tls.serverCertPem }, upstreamCa: ca });
  });
  afterAll(async () => {
    await proxy?.close();
    await new Promise((resolve) => upstream?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (url: string) =>
    new Promise<{ status: number; text: string; retryAfter?: string }>((resolve, reject) => {
      https
        .get(url, { ca: [...rootCertificates, ca], agent: false }, (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text, retryAfter: res.headers['retry-after'] as string | undefined }));
        })
        .on('error', reject);
    });

  it('forwards over TLS and answers ARM-shaped errors', async () => {
    expect(await get(`${proxy.origin}/subscriptions/s/disks?api-version=1`)).toMatchObject({ status: 200, text: JSON.stringify({ path: '/subscriptions/s/disks?api-version=1' }) });
    proxy.setSchedule(scriptedFaults([{ match: () => true, fault: { kind: 'status', status: 503, code: 'ServerBusy', retryAfterSeconds: 2 } }]));
    const busy = await get(`${proxy.origin}/subscriptions/s/disks?api-version=1`);
    expect(busy).toMatchObject({ status: 503, retryAfter: '2' });
    expect(JSON.parse(busy.text)).toMatchObject({ error: { code: 'ServerBusy' } });
  });

  it('resets a TLS connection before and during the answer: the client sees the connection end, never a hang', async () => {
    // Ends with an error when the connection ends before the answer does, whether in the request or the response.
    const read = (url: string) =>
      new Promise<string>((resolve, reject) => {
        https
          .get(url, { ca: [...rootCertificates, ca], agent: false }, (res) => {
            let text = '';
            res.on('data', (chunk) => (text += chunk));
            res.on('error', reject);
            res.on('end', () => resolve(text));
          })
          .on('error', reject);
      });
    for (const at of ['before-request-body', 'during-response-body'] as const) {
      proxy.setSchedule(scriptedFaults([{ match: () => true, fault: { kind: 'reset', at, afterBytes: 5 } }]));
      await expect(read(`${proxy.origin}/subscriptions/s/disks?api-version=1`)).rejects.toMatchObject({ code: 'ECONNRESET' });
    }
    proxy.setSchedule(noFaults);
  });
});
