import { useAzurite } from '../support/azurite';
import { fixtureApp, HostProcess, startHostProcess, startOrchestration, waitForTerminal } from '../support/host-process';

const sumOfSquares = (n: number) => (n * (n + 1) * (2 * n + 1)) / 6;

describe('fan-out/fan-in through the host binary', () => {
  const azurite = useAzurite();
  let host: HostProcess;

  beforeAll(async () => {
    host = await startHostProcess({ app: fixtureApp('fan-out-fan-in'), storage: azurite().connectionString });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('runs 50 activities in parallel and sums their results with Task.all', async () => {
    const urls = await startOrchestration(host.origin, 'SumOfSquares', { input: { count: 50 } });
    const status = await waitForTerminal(urls, 30_000, { showHistory: true });
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ count: 50, sum: sumOfSquares(50) });
    const events = status.historyEvents ?? [];
    expect(events.filter((e) => e.EventType === 'TaskScheduled')).toHaveLength(50);
    expect(events.filter((e) => e.EventType === 'TaskCompleted')).toHaveLength(50);
    // All 50 were scheduled in the first episode, before any of them completed.
    const firstCompletion = events.findIndex((e) => e.EventType === 'TaskCompleted');
    expect(events.slice(0, firstCompletion).filter((e) => e.EventType === 'TaskScheduled')).toHaveLength(50);
  });

  it('fails with the replay library\'s own error when the fan-out is empty (Task.all([]) throws in durable-functions 3)', async () => {
    const urls = await startOrchestration(host.origin, 'SumOfSquares', { input: { count: 0 } });
    const status = await waitForTerminal(urls);
    expect(status.runtimeStatus).toBe('Failed');
    expect(String(status.output)).toMatch(/^Orchestrator function 'SumOfSquares' failed: .*you must specify at least one Task/);
  });
});
