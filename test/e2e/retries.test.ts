import { useAzurite } from '../support/azurite';
import { fixtureApp, http, HostProcess, startHostProcess, startOrchestration, uniqueId, waitForTerminal } from '../support/host-process';

describe('activity and sub-orchestration retries through the host binary', () => {
  const azurite = useAzurite();
  let host: HostProcess;

  beforeAll(async () => {
    host = await startHostProcess({ app: fixtureApp('retries'), storage: azurite().connectionString });
  });
  afterAll(async () => {
    await host?.stop();
  });

  async function attempts(key: string): Promise<number> {
    const response = await http<{ attempts: number }>(`${host.origin}/api/attempts/${key}`);
    expect(response.status).toBe(200);
    return response.body.attempts;
  }

  it('callActivityWithRetry succeeds on the third attempt after two failures', async () => {
    const key = uniqueId('retry-ok');
    const urls = await startOrchestration(host.origin, 'RetryActivity', { input: { key, failTimes: 2, maxAttempts: 5 } });
    const status = await waitForTerminal(urls, 20_000, { showHistory: true });
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ key, attempt: 3 });
    expect(await attempts(key)).toBe(3);
    const events = status.historyEvents ?? [];
    expect(events.filter((e) => e.EventType === 'TaskFailed')).toHaveLength(2);
    // One retry timer between consecutive attempts.
    expect(events.filter((e) => e.EventType === 'TimerCreated')).toHaveLength(2);
  });

  it('fails the orchestration with the activity error once maxNumberOfAttempts are used up', async () => {
    const key = uniqueId('retry-exhausted');
    const urls = await startOrchestration(host.origin, 'RetryActivity', { input: { key, failTimes: 10, maxAttempts: 3 } });
    const status = await waitForTerminal(urls);
    expect(status.runtimeStatus).toBe('Failed');
    expect(String(status.output)).toContain(`Flaky failure on attempt 3 of '${key}'`);
    expect(await attempts(key)).toBe(3);
  });

  it('propagates a failed sub-orchestration to its parent', async () => {
    const key = uniqueId('child-fails');
    const urls = await startOrchestration(host.origin, 'ParentOfFlakyChild', { input: { key, failTimes: 1 } });
    const status = await waitForTerminal(urls);
    expect(status.runtimeStatus).toBe('Failed');
    expect(String(status.output)).toContain(`Flaky failure on attempt 1 of '${key}'`);
    expect(await attempts(key)).toBe(1);
  });

  it('lets the parent catch a failed sub-orchestration and see its error', async () => {
    const key = uniqueId('child-caught');
    const urls = await startOrchestration(host.origin, 'ParentOfFlakyChild', { input: { key, failTimes: 1, catchFailure: true } });
    const status = await waitForTerminal<{ caught: string }>(urls);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output.caught).toContain(`Flaky failure on attempt 1 of '${key}'`);
  });

  it('callSubOrchestratorWithRetry starts a new child after a failed one and completes', async () => {
    const key = uniqueId('child-retry-ok');
    const urls = await startOrchestration(host.origin, 'ParentRetryingChild', { input: { key, failTimes: 1, maxAttempts: 3 } });
    const status = await waitForTerminal<{ key: string; attempt: number; child: string }>(urls, 20_000, { showHistory: true });
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toMatchObject({ key, attempt: 2 });
    expect(await attempts(key)).toBe(2);
    const events = status.historyEvents ?? [];
    expect(events.filter((e) => e.EventType === 'SubOrchestrationInstanceFailed')).toHaveLength(1);
    expect(events.filter((e) => e.EventType === 'SubOrchestrationInstanceCompleted')).toHaveLength(1);
  });

  it('callSubOrchestratorWithRetry fails the parent when every child attempt fails', async () => {
    const key = uniqueId('child-retry-exhausted');
    const urls = await startOrchestration(host.origin, 'ParentRetryingChild', { input: { key, failTimes: 10, maxAttempts: 2 } });
    const status = await waitForTerminal(urls);
    expect(status.runtimeStatus).toBe('Failed');
    expect(String(status.output)).toContain(`Flaky failure on attempt 2 of '${key}'`);
    expect(await attempts(key)).toBe(2);
  });
});
