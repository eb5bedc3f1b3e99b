/**
 * Timer triggers (NCRONTAB, runOnStartup, isPastDue) and durable timers on the host's fake clock,
 * driven over HTTP: time moves only when the test advances it (POST /admin/clock/advance).
 */
import { useAzurite } from '../support/azurite';
import {
  fixtureApp,
  http,
  sleep,
  startHostProcess,
  waitForStatus,
  waitForTerminal,
  writeSecretsFile,
  type HostProcess,
  type ManagementUrls,
} from '../support/host-process';

interface TimerRun {
  isPastDue: boolean;
  last: string;
  next: string;
}

const azurite = useAzurite();
const start = '2026-03-01T00:00:00.000Z';

describe('timers and durable timers on a fake clock', () => {
  const { file: secretsFile } = writeSecretsFile();
  let host: HostProcess;

  const startHost = (at: string) =>
    startHostProcess({ app: fixtureApp('timers'), storage: azurite().connectionString, secretsFile, extraArgs: ['--fake-clock', at] });

  const advance = async (body: { ms?: number; to?: string }) => {
    const result = await http<{ now: string }>(`${host.origin}/admin/clock/advance`, {
      method: 'POST',
      body,
      headers: { 'x-functions-key': host.secrets.masterKey },
    });
    expect(result.status).toBe(200);
    return result.body.now;
  };

  /**
   * Waits until the host's scheduler has armed `name` for `next`: an invocation still finishing when
   * the clock moves past the following occurrence would coalesce it (as the Functions host does).
   */
  const armedFor = async (name: string, next: string) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { body } = await http<{ timers: { functionName: string; next: string; running: boolean }[] }>(
        `${host.origin}/admin/clock?code=${host.secrets.masterKey}`,
      );
      const timer = body.timers.find((t) => t.functionName === name);
      if ((timer && !timer.running && timer.next === next) || Date.now() > deadline) return timer;
      await sleep(50);
    }
  };

  const runsOf = async (name: string, atLeast: number): Promise<TimerRun[]> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { body } = await http<TimerRun[]>(`${host.origin}/api/runs/${name}`);
      if (body.length >= atLeast || Date.now() > deadline) return body;
      await sleep(50);
    }
  };

  beforeAll(async () => {
    host = await startHost(start);
  });

  afterAll(async () => {
    await host?.stop();
  });

  it('reports the fake time and refuses to move it without the master key', async () => {
    const now = await http<{ now: string }>(`${host.origin}/admin/clock?code=${host.secrets.masterKey}`);
    expect(now.body.now).toBe(start);
    const denied = await http(`${host.origin}/admin/clock/advance`, { method: 'POST', body: { ms: 1000 } });
    expect(denied.status).toBe(401);
    const bad = await http(`${host.origin}/admin/clock/advance`, {
      method: 'POST',
      body: { ms: -5 },
      headers: { 'x-functions-key': host.secrets.masterKey },
    });
    expect(bad.status).toBe(400);
  });

  it('runs a runOnStartup timer once at start, not past due', async () => {
    const runs = await runsOf('nightly', 1);
    expect(runs).toHaveLength(1);
    expect(runs[0].isPastDue).toBe(false);
  });

  it('fires a six-field NCRONTAB schedule only when the clock reaches each occurrence', async () => {
    expect(await runsOf('everyFiveMinutes', 0)).toHaveLength(0);
    expect(await armedFor('everyFiveMinutes', '2026-03-01T00:05:00.000Z')).toMatchObject({ running: false });
    await advance({ ms: 4 * 60_000 + 59_000 });
    await sleep(300);
    expect(await runsOf('everyFiveMinutes', 0)).toHaveLength(0);
    await advance({ ms: 1000 });
    expect(await runsOf('everyFiveMinutes', 1)).toHaveLength(1);
    expect(await armedFor('everyFiveMinutes', '2026-03-01T00:10:00.000Z')).toEqual({
      functionName: 'everyFiveMinutes',
      next: '2026-03-01T00:10:00.000Z',
      running: false,
    });
    await advance({ ms: 10 * 60_000 });
    const runs = await runsOf('everyFiveMinutes', 3);
    expect(runs).toHaveLength(3);
    expect(runs.every((r) => r.isPastDue === false)).toBe(true);
  });

  it('completes a day-long durable timer when the clock passes it, not before', async () => {
    const started = await http<ManagementUrls>(`${host.origin}/api/sleep`, { method: 'POST' });
    expect(started.status).toBe(202);
    await waitForStatus(started.body, 'Running');
    await advance({ ms: 23 * 3600_000 });
    await sleep(300);
    const still = await http<{ runtimeStatus: string }>(started.body.statusQueryGetUri);
    expect(still.body.runtimeStatus).toBe('Running');
    await advance({ ms: 3600_000 });
    const done = await waitForTerminal<{ wokeAt: string }>(started.body);
    expect(done.runtimeStatus).toBe('Completed');
    expect(Date.parse(done.output!.wokeAt)).toBeGreaterThanOrEqual(Date.parse(start) + 24 * 3600_000);
  });

  it('runs a missed occurrence once, past due, after a restart later in time', async () => {
    const before = (await runsOf('everyFiveMinutes', 0)).length;
    await host.kill('SIGKILL');
    host = await startHost('2026-03-03T12:00:00.000Z');
    const runs = await runsOf('everyFiveMinutes', before + 1);
    expect(runs.length).toBe(before + 1);
    expect(runs.filter((r) => r.isPastDue)).toHaveLength(1);
  });
});
