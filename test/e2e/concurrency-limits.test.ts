/** host.json extensions.durableTask.maxConcurrentActivityFunctions / maxConcurrentOrchestratorFunctions are honoured. */
import { useAzurite } from '../support/azurite';
import { fixtureApp, http, startHostProcess, waitForTerminal, type HostProcess, type ManagementUrls } from '../support/host-process';

const azurite = useAzurite();

describe('Durable concurrency limits from host.json', () => {
  let host: HostProcess;

  beforeAll(async () => {
    host = await startHostProcess({ app: fixtureApp('concurrency'), storage: azurite().connectionString });
  });

  afterAll(async () => {
    await host?.stop();
  });

  it('runs at most 2 activities and 1 orchestrator episode at a time', async () => {
    const started = await Promise.all([1, 2, 3].map(() => http<ManagementUrls>(`${host.origin}/api/fan/6`, { method: 'POST' })));
    const results = await Promise.all(started.map((s) => waitForTerminal<number>(s.body, 30_000)));
    expect(results.map((r) => [r.runtimeStatus, r.output])).toEqual([
      ['Completed', 6],
      ['Completed', 6],
      ['Completed', 6],
    ]);
    const peak = (await http<{ activities: number; orchestrators: number }>(`${host.origin}/api/peak`)).body;
    expect(peak.activities).toBe(2);
    expect(peak.orchestrators).toBe(1);
  });

  it('supports a sliding window that re-yields running tasks in Task.any: every activity runs once', async () => {
    const started = await http<ManagementUrls>(`${host.origin}/api/window`, { method: 'POST', body: { n: 12, width: 3 } });
    const result = await waitForTerminal<number>(started.body, 30_000);
    expect(result.runtimeStatus).toBe('Completed');
    expect(result.output).toBe(66);
    const runs = (await http<Record<string, number>>(`${host.origin}/api/runs`)).body;
    expect(Object.keys(runs)).toHaveLength(12);
    expect(Object.values(runs).every((count) => count === 1)).toBe(true);
  });
});
