import { useAzurite } from '../support/azurite';
import { fixtureApp, HostProcess, startHostProcess, startOrchestration, uniqueId, waitForTerminal } from '../support/host-process';

describe('monitor (continueAsNew loop with a durable timer) through the host binary', () => {
  const azurite = useAzurite();
  let host: HostProcess;

  beforeAll(async () => {
    host = await startHostProcess({ app: fixtureApp('monitor'), storage: azurite().connectionString });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('polls until the condition holds, then completes; history shows only the last execution', async () => {
    const jobId = uniqueId('job');
    const urls = await startOrchestration(host.origin, 'MonitorJob', { input: { jobId, target: 3, intervalMs: 300 } });
    const status = await waitForTerminal(urls, 20_000, { showHistory: true, showHistoryOutput: true });

    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ iterations: 3, polls: 3 });
    expect(status.customStatus).toEqual({ iteration: 3, polls: 3 });
    expect(status.input).toEqual({ jobId, target: 3, intervalMs: 300, iteration: 3 });

    const events = status.historyEvents ?? [];
    expect(events.map((e) => e.EventType)).toEqual(['ExecutionStarted', 'TaskScheduled', 'TaskCompleted', 'ExecutionCompleted']);
    expect(events[0].Input).toEqual({ jobId, target: 3, intervalMs: 300, iteration: 3 });
    expect(events[2].Result).toBe(3);
  });

  it('keeps a caller-chosen instance id across continueAsNew', async () => {
    const jobId = uniqueId('job');
    const instanceId = uniqueId('monitor');
    const urls = await startOrchestration(host.origin, 'MonitorJob', { input: { jobId, target: 2, intervalMs: 200 }, instanceId });
    const status = await waitForTerminal(urls, 20_000);
    expect(status.instanceId).toBe(instanceId);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ iterations: 2, polls: 2 });
  });
});
