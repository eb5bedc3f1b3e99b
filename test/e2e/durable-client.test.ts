/**
 * The unchanged durable-functions DurableClient (df.getClient inside HTTP functions) against the embedded
 * host: start with a chosen id, status with history, raise, suspend/resume, terminate, list, wait, purge.
 */
import { useAzurite } from '../support/azurite';
import { fixtureApp, http, sleep, startHostProcess, uniqueId, type HostProcess } from '../support/host-process';

interface Status {
  instanceId: string;
  runtimeStatus: string;
  input?: unknown;
  output?: unknown;
  customStatus?: unknown;
  error?: string;
}

const azurite = useAzurite();

describe('DurableClient through the embedded host', () => {
  let host: HostProcess;
  const api = (path: string) => `${host.origin}/api/client/${path}`;
  const status = async (id: string) => (await http<Status>(api(`status/${id}`))).body;
  const until = async (id: string, wanted: string) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const current = await status(id);
      if (current.runtimeStatus === wanted) return current;
      if (Date.now() > deadline) throw new Error(`${id} stayed ${current.runtimeStatus}, wanted ${wanted}`);
      await sleep(50);
    }
  };

  beforeAll(async () => {
    host = await startHostProcess({ app: fixtureApp('client'), storage: azurite().connectionString });
  });

  afterAll(async () => {
    await host?.stop();
  });

  it('starts with a caller-chosen id, shows custom status, completes on the raised event', async () => {
    const id = uniqueId('order');
    const started = await http<{ id: string; urls: { statusQueryGetUri: string } }>(api(`start/${id}`), { body: { customer: 'contoso' } });
    expect(started.status).toBe(202);
    expect(started.body.id).toBe(id);
    const waiting = await until(id, 'Running');
    expect(waiting.input).toEqual({ customer: 'contoso' });
    expect(waiting.customStatus).toBe('waiting for go');

    const raised = await http(api(`raise/${id}/go`), { body: { word: 'ship it' } });
    expect(raised.status).toBe(202);
    const done = await until(id, 'Completed');
    expect(done.output).toEqual({ input: { customer: 'contoso' }, loud: 'SHIP IT' });
    // The Durable HTTP API (like Azure's) returns history as historyEvents; createHttpManagementPayload's URL works.
    const withHistory = await http<{ historyEvents: { EventType: string; Result?: unknown }[] }>(
      `${started.body.urls.statusQueryGetUri}&showHistory=true&showHistoryOutput=true`,
    );
    const types = withHistory.body.historyEvents.map((e) => e.EventType);
    expect(types).toEqual(expect.arrayContaining(['ExecutionStarted', 'EventRaised', 'TaskScheduled', 'TaskCompleted', 'ExecutionCompleted']));
    expect(withHistory.body.historyEvents.find((e) => e.EventType === 'TaskCompleted')?.Result).toBe('SHIP IT');
  });

  it('refuses a second start with the id of a running instance', async () => {
    const id = uniqueId('dup');
    await http(api(`start/${id}`), { body: {} });
    await until(id, 'Running');
    const again = await http<{ error: string }>(api(`start/${id}`), { body: {} });
    expect(again.status).toBe(500);
    expect(again.body.error).toMatch(/409|already exists/);
    await http(api(`terminate/${id}`), { method: 'POST' });
  });

  it('suspends and resumes: an event raised while suspended is processed after resume', async () => {
    const id = uniqueId('pause');
    await http(api(`start/${id}`), { body: {} });
    await until(id, 'Running');
    expect((await http(api(`suspend/${id}`), { method: 'POST' })).status).toBe(202);
    await until(id, 'Suspended');
    await http(api(`raise/${id}/go`), { body: { word: 'later' } });
    await sleep(300);
    expect((await status(id)).runtimeStatus).toBe('Suspended');
    await http(api(`resume/${id}`), { method: 'POST' });
    const done = await until(id, 'Completed');
    expect(done.output).toMatchObject({ loud: 'LATER' });
  });

  it('terminates a waiting instance with the reason as output; later events are ignored (410), unknown ids fail', async () => {
    const id = uniqueId('stop');
    await http(api(`start/${id}`), { body: {} });
    await until(id, 'Running');
    await http(api(`terminate/${id}?reason=no%20longer%20needed`), { method: 'POST' });
    const terminated = await until(id, 'Terminated');
    expect(terminated.output).toBe('no longer needed');
    // The host answers 410 Gone, which DurableClient.raiseEvent treats as done; the instance stays terminated.
    const late = await http(api(`raise/${id}/go`), { body: { word: 'x' } });
    expect(late.status).toBe(202);
    expect((await status(id)).runtimeStatus).toBe('Terminated');
    const unknown = await http<{ error: string }>(api(`raise/${uniqueId('nobody')}/go`), { body: { word: 'x' } });
    expect(unknown.status).toBe(500);
    expect(unknown.body.error).toMatch(/No instance/);
  });

  it('lists instances, filtered by runtime status', async () => {
    const running = uniqueId('listed');
    await http(api(`start/${running}`), { body: {} });
    await until(running, 'Running');
    const onlyRunning = (await http<Status[]>(api('list?status=Running'))).body;
    expect(onlyRunning.map((s) => s.instanceId)).toContain(running);
    expect(onlyRunning.every((s) => s.runtimeStatus === 'Running')).toBe(true);
    const all = (await http<Status[]>(api('list'))).body;
    expect(all.some((s) => s.runtimeStatus === 'Completed')).toBe(true);
    expect(all.length).toBeGreaterThan(onlyRunning.length);
    await http(api(`terminate/${running}`), { method: 'POST' });
  });

  it('waitForCompletionOrCreateCheckStatusResponse returns the output, or 202 with working URLs', async () => {
    const id = uniqueId('wait');
    await http(api(`start/${id}`), { body: {} });
    await until(id, 'Running');
    const pending = await http<{ statusQueryGetUri: string }>(api(`wait/${id}`), { method: 'POST' });
    expect(pending.status).toBe(202);
    expect((await http(pending.body.statusQueryGetUri)).status).toBe(202);
    await http(api(`raise/${id}/go`), { body: { word: 'done' } });
    await until(id, 'Completed');
    const finished = await http<{ loud: string }>(api(`wait/${id}`), { method: 'POST' });
    expect(finished.status).toBe(200);
    expect(finished.body.loud).toBe('DONE');
  });

  it('purges a finished instance; afterwards its status is unknown', async () => {
    const id = uniqueId('purge');
    await http(api(`start/${id}`), { body: {} });
    await until(id, 'Running');
    await http(api(`terminate/${id}`), { method: 'POST' });
    await until(id, 'Terminated');
    const purged = await http<{ instancesDeleted: number }>(api(`purge/${id}`), { method: 'DELETE' });
    expect(purged.body.instancesDeleted).toBe(1);
    const gone = await http<{ error: string }>(api(`status/${id}`));
    expect(gone.status).toBe(500);
    expect(gone.body.error).toMatch(/404/);
    const again = await http<{ instancesDeleted: number }>(api(`purge/${id}`), { method: 'DELETE' });
    expect(again.body.instancesDeleted).toBe(0);
  });
});
