import { useAzurite } from '../support/azurite';
import { fixtureApp, http, HostProcess, startHostProcess, startOrchestration, waitForTerminal, withQuery } from '../support/host-process';

describe('function chaining (F1 -> F2 -> F3) through the host binary', () => {
  const azurite = useAzurite();
  let host: HostProcess;

  beforeAll(async () => {
    host = await startHostProcess({ app: fixtureApp('chaining'), storage: azurite().connectionString });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('answers the ping without a key', async () => {
    expect((await http(`${host.origin}/admin/host/ping`)).status).toBe(200);
  });

  it('returns the check-status response with keyed management URLs on the host origin', async () => {
    const response = await http<Record<string, string>>(`${host.origin}/api/orchestrators/Chaining`, { method: 'POST', body: { start: 1 } });
    expect(response.status).toBe(202);
    const urls = response.body;
    expect(response.headers.get('location')).toBe(urls.statusQueryGetUri);
    for (const key of ['statusQueryGetUri', 'sendEventPostUri', 'terminatePostUri', 'purgeHistoryDeleteUri', 'suspendPostUri', 'resumePostUri']) {
      const url = new URL(urls[key]);
      expect(url.origin).toBe(host.origin);
      expect(url.pathname).toContain(`/runtime/webhooks/durabletask/instances/${urls.id}`);
      expect(url.searchParams.get('code')).toBeTruthy();
      expect(url.searchParams.get('taskHub')).toBe('ChainingHub');
    }
  });

  it('passes each activity output to the next and completes with the last one', async () => {
    const urls = await startOrchestration(host.origin, 'Chaining', { input: { start: 5 } });
    const status = await waitForTerminal(urls);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.name).toBe('Chaining');
    expect(status.input).toEqual({ start: 5 });
    expect(status.output).toEqual({ trail: ['F1(5)', 'F2(10)', 'F3(13)'], value: 'result:13' });
  });

  it('shows the history in order when asked', async () => {
    const urls = await startOrchestration(host.origin, 'Chaining', { input: { start: 2 } });
    const status = await waitForTerminal(urls, 20_000, { showHistory: true, showHistoryOutput: true });
    const events = status.historyEvents ?? [];
    expect(events.map((e) => e.EventType)).toEqual([
      'ExecutionStarted',
      'TaskScheduled',
      'TaskCompleted',
      'TaskScheduled',
      'TaskCompleted',
      'TaskScheduled',
      'TaskCompleted',
      'ExecutionCompleted',
    ]);
    expect(events.filter((e) => e.EventType === 'TaskScheduled').map((e) => e.FunctionName)).toEqual(['F1', 'F2', 'F3']);
    expect(events.filter((e) => e.EventType === 'TaskCompleted').map((e) => (e.Result as { value: unknown }).value)).toEqual([4, 7, 'result:7']);
  });

  it('hides the input with showInput=false', async () => {
    const urls = await startOrchestration(host.origin, 'Chaining', { input: { start: 3 } });
    await waitForTerminal(urls);
    const hidden = await http<{ input: unknown; output: unknown }>(withQuery(urls.statusQueryGetUri, { showInput: false }));
    expect(hidden.body.input).toBeNull();
    expect(hidden.body.output).toEqual({ trail: ['F1(3)', 'F2(6)', 'F3(9)'], value: 'result:9' });
  });

  it('rejects Durable API calls without the system key', async () => {
    const urls = await startOrchestration(host.origin, 'Chaining', { input: { start: 1 } });
    const keyless = new URL(urls.statusQueryGetUri);
    keyless.searchParams.delete('code');
    expect((await http(keyless.toString())).status).toBe(401);
  });
});
