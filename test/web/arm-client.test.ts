/**
 * How the dashboard follows a 202 to its end (ArmClient.settle), over a scripted fetch: the two
 * addresses Azure gives an operation answer differently — Azure-AsyncOperation with 200 and a status,
 * Location with 202 while running and 204 once done — and both must end the wait at once.
 */
import { ArmClient, ArmError } from '../../web/src/api/arm';

interface Scripted {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

function clientAnswering(answers: Scripted[]): { client: ArmClient; urls: string[] } {
  const urls: string[] = [];
  const queue = [...answers];
  const fetchStub = async (url: URL | string): Promise<Response> => {
    urls.push(String(url));
    const next = queue.shift();
    if (next === undefined) throw new Error(`unexpected request ${String(url)}`);
    const body = next.body === undefined || next.status === 204 ? null : JSON.stringify(next.body);
    return new Response(body, { status: next.status, headers: next.headers });
  };
  Object.assign(globalThis, { window: { location: { origin: 'https://kluis.test' } }, fetch: fetchStub });
  return { client: new ArmClient(async () => 'token'), urls };
}

const ZERO_WAIT = { 'retry-after': '0' };

describe('following a long-running operation', () => {
  const originalFetch = globalThis.fetch;
  afterAll(() => {
    Object.assign(globalThis, { fetch: originalFetch });
    delete (globalThis as { window?: unknown }).window;
  });

  it('ends when a Location address answers 204, without waiting for a timeout', async () => {
    const { client, urls } = clientAnswering([
      { status: 202, headers: { location: 'https://kluis.test/op/1', ...ZERO_WAIT } },
      { status: 204 },
    ]);
    const started = await client.post('/subscriptions/s/refresh', '2025-02-01');
    const began = Date.now();
    await expect(client.settle(started, '2025-02-01', 5_000)).resolves.toEqual({ status: 'Succeeded' });
    expect(Date.now() - began).toBeLessThan(3_000);
    expect(urls).toHaveLength(2);
  });

  it('polls Azure-AsyncOperation until its status leaves InProgress and returns the job it names', async () => {
    const { client } = clientAnswering([
      { status: 202, headers: { 'azure-asyncoperation': 'https://kluis.test/ops/2', location: 'https://kluis.test/results/2', ...ZERO_WAIT } },
      { status: 200, body: { status: 'InProgress' }, headers: ZERO_WAIT },
      { status: 200, body: { status: 'Succeeded', properties: { jobId: 'job-1' } } },
    ]);
    const started = await client.post('/subscriptions/s/backup', '2025-02-01');
    await expect(client.settle(started, '2025-02-01')).resolves.toMatchObject({ properties: { jobId: 'job-1' } });
  });

  it('keeps polling a Location address while it answers 202', async () => {
    const { client, urls } = clientAnswering([
      { status: 202, headers: { location: 'https://kluis.test/op/3', ...ZERO_WAIT } },
      { status: 202, headers: ZERO_WAIT },
      { status: 204 },
    ]);
    const started = await client.post('/subscriptions/s/refresh', '2025-02-01');
    await client.settle(started, '2025-02-01');
    expect(urls).toHaveLength(3);
  });

  it("throws the operation's error when it failed", async () => {
    const { client } = clientAnswering([
      { status: 202, headers: { 'azure-asyncoperation': 'https://kluis.test/ops/4', ...ZERO_WAIT } },
      { status: 200, body: { status: 'Failed', error: { code: 'UserErrorVmNotFound', message: 'The VM is gone.' } } },
    ]);
    const started = await client.post('/subscriptions/s/protect', '2025-02-01');
    const failure = client.settle(started, '2025-02-01');
    await expect(failure).rejects.toBeInstanceOf(ArmError);
    await expect(failure).rejects.toMatchObject({ code: 'UserErrorVmNotFound', message: 'The VM is gone.' });
  });
});
