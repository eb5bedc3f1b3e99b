import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startAzurite, type RunningAzurite } from '../../emulator/azurite';
import {
  azuriteConnectionString,
  DEV_ACCOUNT_KEY,
  parseConnectionString,
  resolveDevelopmentStorage,
} from '../../emulator/connection-string';
import { freePort } from '../../emulator/ports';
import {
  blobService,
  queueService,
  tableClient,
  tableService,
  uniqueName,
  uniqueTableName,
  useAzurite,
} from '../support/azurite';

const PAGE = 512;

function tempDir(label: string): string {
  return mkdtempSync(path.join(tmpdir(), `kluis-${label}-`));
}

/** Resolves with the socket error code, or 'connected' when something listens. */
function tcpProbe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function pagesOf(byte: number, count = 1): Buffer {
  return Buffer.alloc(PAGE * count, byte);
}

/** Writes one blob, one entity and one queue message; returns where they are. */
async function writeSample(az: RunningAzurite) {
  const names = { container: uniqueName('sample'), table: uniqueTableName('sample'), queue: uniqueName('sample') };
  const container = blobService(az.connectionString).getContainerClient(names.container);
  await container.create();
  const pageBlob = container.getPageBlobClient('disk.vhd');
  await pageBlob.create(PAGE * 4);
  await pageBlob.uploadPages(pagesOf(0xab), PAGE, PAGE);

  await tableService(az.connectionString).createTable(names.table);
  await tableClient(az.connectionString, names.table).createEntity({ partitionKey: 'p', rowKey: 'r', sizeInPages: 4 });

  const queue = queueService(az.connectionString).getQueueClient(names.queue);
  await queue.create();
  await queue.sendMessage('hello');
  return names;
}

async function expectSample(az: RunningAzurite, names: Awaited<ReturnType<typeof writeSample>>): Promise<void> {
  const pageBlob = blobService(az.connectionString).getContainerClient(names.container).getPageBlobClient('disk.vhd');
  const content = await pageBlob.downloadToBuffer();
  expect(content.length).toBe(PAGE * 4);
  expect(content.subarray(PAGE, 2 * PAGE).equals(pagesOf(0xab))).toBe(true);
  expect(content.subarray(0, PAGE).equals(pagesOf(0))).toBe(true);

  const entity = await tableClient(az.connectionString, names.table).getEntity<{ sizeInPages: number }>('p', 'r');
  expect(entity.sizeInPages).toBe(4);

  const received = await queueService(az.connectionString).getQueueClient(names.queue).receiveMessages();
  expect(received.receivedMessageItems.map((m) => m.messageText)).toEqual(['hello']);
}

describe('in-memory Azurite through useAzurite', () => {
  const azurite = useAzurite();

  test('reports three distinct ports and matching endpoints and connection string', () => {
    const az = azurite();
    expect(new Set([az.blobPort, az.queuePort, az.tablePort]).size).toBe(3);
    expect(az.blobEndpoint).toBe(`http://127.0.0.1:${az.blobPort}/devstoreaccount1`);
    expect(az.queueEndpoint).toBe(`http://127.0.0.1:${az.queuePort}/devstoreaccount1`);
    expect(az.tableEndpoint).toBe(`http://127.0.0.1:${az.tablePort}/devstoreaccount1`);
    const parts = parseConnectionString(az.connectionString);
    expect(parts).toMatchObject({
      AccountName: 'devstoreaccount1',
      AccountKey: DEV_ACCOUNT_KEY,
      BlobEndpoint: az.blobEndpoint,
      QueueEndpoint: az.queueEndpoint,
      TableEndpoint: az.tableEndpoint,
    });
    expect(isAlive(az.pid)).toBe(true);
  });

  test('serves page blobs, table entities and queue messages through the real SDK clients', async () => {
    const names = await writeSample(azurite());
    await expectSample(azurite(), names);
  });

  test('keeps an idle keep-alive connection open past Azurite’s default 5 s, so a reused socket is not reset', async () => {
    const { blobPort } = azurite();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: blobPort, path: '/devstoreaccount1?comp=list', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect((await get()).reused).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect(await get()).toMatchObject({ reused: true });
    } finally {
      agent.destroy();
    }
  }, 20_000);

  test('client factories do not retry: a missing blob fails once with 404', async () => {
    const container = blobService(azurite().connectionString).getContainerClient(uniqueName('missing'));
    await expect(container.getProperties()).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe('startAzurite lifecycle', () => {
  test('stop ends the process and closes every port; a second stop is a no-op', async () => {
    const az = await startAzurite({ inMemory: true });
    const ports = [az.blobPort, az.queuePort, az.tablePort];
    expect(await Promise.all(ports.map(tcpProbe))).toEqual(['connected', 'connected', 'connected']);

    await az.stop();
    await az.stop();

    expect(isAlive(az.pid)).toBe(false);
    expect(await Promise.all(ports.map(tcpProbe))).toEqual(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED']);
  });

  test('persistent mode keeps blobs, entities and messages across a restart', async () => {
    const location = tempDir('azurite-data');
    try {
      const first = await startAzurite({ location });
      let names: Awaited<ReturnType<typeof writeSample>>;
      try {
        names = await writeSample(first);
      } finally {
        await first.stop();
      }
      expect(readdirSync(location).length).toBeGreaterThan(0);

      const second = await startAzurite({ location });
      try {
        await expectSample(second, names);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(location, { recursive: true, force: true });
    }
  });

  test('two instances run at once on different ports with separate data', async () => {
    const [a, b] = await Promise.all([startAzurite({ inMemory: true }), startAzurite({ inMemory: true })]);
    try {
      const portsA = [a.blobPort, a.queuePort, a.tablePort];
      const portsB = [b.blobPort, b.queuePort, b.tablePort];
      expect(portsA.filter((port) => portsB.includes(port))).toEqual([]);
      expect(a.pid).not.toBe(b.pid);

      const name = uniqueName('only-in-a');
      await blobService(a.connectionString).getContainerClient(name).create();
      expect(await blobService(a.connectionString).getContainerClient(name).exists()).toBe(true);
      expect(await blobService(b.connectionString).getContainerClient(name).exists()).toBe(false);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test('listens on the ports it is given', async () => {
    const [blobPort, queuePort, tablePort] = await distinctFreePorts(3);
    const az = await startAzurite({ inMemory: true, blobPort, queuePort, tablePort });
    try {
      expect([az.blobPort, az.queuePort, az.tablePort]).toEqual([blobPort, queuePort, tablePort]);
      expect(az.connectionString).toBe(azuriteConnectionString({ host: '127.0.0.1', blobPort, queuePort, tablePort }));
      await blobService(az.connectionString).getContainerClient(uniqueName('given-ports')).create();
    } finally {
      await az.stop();
    }
  });

  test('preloads extensions with the given environment', async () => {
    const dir = tempDir('azurite-ext');
    try {
      const marker = path.join(dir, 'marker.txt');
      const extension = path.join(dir, 'write-marker.js');
      writeFileSync(extension, `require('fs').writeFileSync(${JSON.stringify(marker)}, process.env.KLUIS_MARKER);\n`);
      const az = await startAzurite({ inMemory: true, extensions: [extension], env: { KLUIS_MARKER: 'loaded' } });
      await az.stop();
      expect(readFileSync(marker, 'utf8')).toBe('loaded');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('startAzurite failures', () => {
  test('a port already in use fails startup with Azurite output in the error', async () => {
    const blocker = await listenOnFreePort();
    try {
      const taken = (blocker.address() as { port: number }).port;
      const failure = startAzurite({ inMemory: true, blobPort: taken });
      await expect(failure).rejects.toMatchObject({ name: 'AzuriteStartupError', code: 'AzuriteStartupFailed' });
      await expect(failure).rejects.toThrow(/during startup[\s\S]*EADDRINUSE/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  test('an extension that throws makes startup fail with its message', async () => {
    const dir = tempDir('azurite-bad-ext');
    try {
      const extension = path.join(dir, 'broken.js');
      writeFileSync(extension, `throw new Error('extension exploded on purpose');\n`);
      await expect(startAzurite({ inMemory: true, extensions: [extension] })).rejects.toThrow(
        /exited with code 1 during startup[\s\S]*extension exploded on purpose/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a startup that does not finish in time is killed and reported', async () => {
    const dir = tempDir('azurite-slow-ext');
    try {
      const marker = path.join(dir, 'pid.txt');
      const extension = path.join(dir, 'slow.js');
      writeFileSync(
        extension,
        `require('fs').writeFileSync(${JSON.stringify(marker)}, String(process.pid));\n` +
          `Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20000);\n`,
      );
      const started = Date.now();
      await expect(startAzurite({ inMemory: true, extensions: [extension], startupTimeoutInMs: 500 })).rejects.toThrow(
        /timed out after 500 ms \(Blob, Queue, Table not listening\)/,
      );
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(isAlive(Number(readFileSync(marker, 'utf8')))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('relative extension paths are refused before anything starts', async () => {
    await expect(startAzurite({ inMemory: true, extensions: ['relative/ext.js'] })).rejects.toThrow(/must be absolute/);
  });
});

describe('connection strings', () => {
  test('UseDevelopmentStorage=true expands to the default Azurite ports', () => {
    const expanded = resolveDevelopmentStorage('UseDevelopmentStorage=true');
    expect(expanded).toBe(
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;' +
        `AccountKey=${DEV_ACCOUNT_KEY};` +
        'BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;' +
        'QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;' +
        'TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;',
    );
    expect(resolveDevelopmentStorage('usedevelopmentstorage=TRUE;')).toBe(expanded);
  });

  test('other connection strings are left unchanged', () => {
    const real = 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=abc==;EndpointSuffix=core.windows.net';
    expect(resolveDevelopmentStorage(real)).toBe(real);
    expect(resolveDevelopmentStorage('UseDevelopmentStorage=false')).toBe('UseDevelopmentStorage=false');
  });

  test('parsing keeps key spelling and "=" inside values', () => {
    expect(parseConnectionString('AccountName=acct;AccountKey=a=b==;;SharedAccessSignature=sv=1&sig=x%3D')).toEqual({
      AccountName: 'acct',
      AccountKey: 'a=b==',
      SharedAccessSignature: 'sv=1&sig=x%3D',
    });
    expect(() => parseConnectionString('AccountName=acct;secretwithoutkey')).toThrow(/segment 2 is not Key=Value/);
  });
});

describe('unique names', () => {
  const containerRule = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/;
  const tableRule = /^[A-Za-z][A-Za-z0-9]{2,62}$/;

  test.each(['vault', 'Kluis Vault!!', '--x--', '', '9lives', 'a'.repeat(100)])('are valid for %p', (prefix) => {
    const container = uniqueName(prefix);
    const table = uniqueTableName(prefix);
    expect(container).toMatch(containerRule);
    expect(table).toMatch(tableRule);
    expect(container.length).toBeLessThanOrEqual(63);
    expect(table.length).toBeLessThanOrEqual(63);
  });

  test('do not repeat', () => {
    const names = Array.from({ length: 1000 }, () => uniqueName('x'));
    expect(new Set(names).size).toBe(names.length);
    const tables = Array.from({ length: 1000 }, () => uniqueTableName('x'));
    expect(new Set(tables).size).toBe(tables.length);
  });
});

async function listenOnFreePort(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}
