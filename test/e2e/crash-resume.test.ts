import { randomBytes } from 'node:crypto';
import { useAzurite } from '../support/azurite';
import {
  fillTemplate,
  fixtureApp,
  http,
  HostProcess,
  ManagementUrls,
  pollStatus,
  raiseEvent,
  sleep,
  startHostProcess,
  startOrchestration,
  uniqueId,
  waitForTerminal,
  writeSecretsFile,
} from '../support/host-process';

type StepCounts = Record<string, { started: number; finished: number }>;

/** Management URLs pointed at another origin (a restarted host listens on a new port). */
function rebase(urls: ManagementUrls, origin: string): ManagementUrls {
  const moved: Record<string, string> = {};
  for (const [key, value] of Object.entries(urls)) moved[key] = key === 'id' ? value : value.replace(new URL(value).origin, origin);
  return moved as ManagementUrls;
}

describe('SIGKILL and restart: in-flight orchestrations resume', () => {
  const azurite = useAzurite();
  const { file: secretsFile } = writeSecretsFile();
  const hosts: HostProcess[] = [];

  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((h) => h.stop()));
  });

  async function startHost(hubName: string): Promise<HostProcess> {
    const host = await startHostProcess({ app: fixtureApp('features'), storage: azurite().connectionString, hubName, secretsFile });
    hosts.push(host);
    return host;
  }

  async function sideEffects(host: HostProcess, key: string): Promise<StepCounts> {
    const response = await http<StepCounts>(`${host.origin}/fx/side-effects/${key}`);
    expect(response.status).toBe(200);
    return response.body;
  }

  const newHubName = () => `Crash${randomBytes(5).toString('hex')}`;

  it('resumes an instance killed while it waits on a durable timer; finished activities do not run again', async () => {
    const hubName = newHubName();
    const key = uniqueId('timer-crash');
    const first = await startHost(hubName);
    const urls = await startOrchestration(first.origin, 'CrashChain', { input: { key, timerMs: 2_500, slowMs: 0 }, routePrefix: 'fx' });
    await pollStatus(`${urls.statusQueryGetUri}&showHistory=true`, (s) => (s.historyEvents ?? []).some((e) => e.EventType === 'TimerCreated'));
    expect(await sideEffects(first, key)).toEqual({ A: { started: 1, finished: 1 } });

    expect((await first.kill('SIGKILL')).signal).toBe('SIGKILL');
    const second = await startHost(hubName);
    await second.waitForLog((r) => /Resuming 1 in-flight orchestration/.test(r.message));

    const status = await waitForTerminal(rebase(urls, second.origin), 20_000, { showHistory: true });
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual(['A done', 'B done', 'C done']);
    expect(await sideEffects(second, key)).toEqual({
      A: { started: 1, finished: 1 },
      B: { started: 1, finished: 1 },
      C: { started: 1, finished: 1 },
    });
    const fired = (status.historyEvents ?? []).filter((e) => e.EventType === 'TimerFired');
    expect(fired).toHaveLength(1);
    expect(Date.parse(String(fired[0].Timestamp))).toBeGreaterThanOrEqual(Date.parse(String(fired[0].FireAt)));
  });

  it('runs an activity that was interrupted by the kill again (at-least-once), and the rest exactly once', async () => {
    const hubName = newHubName();
    const key = uniqueId('activity-crash');
    const first = await startHost(hubName);
    const urls = await startOrchestration(first.origin, 'CrashChain', { input: { key, timerMs: 100, slowMs: 2_000 }, routePrefix: 'fx' });
    const deadline = Date.now() + 15_000;
    let atKill: StepCounts;
    while ((atKill = await sideEffects(first, key)).B?.started !== 1) {
      if (Date.now() > deadline) throw new Error('activity B never started');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await first.kill('SIGKILL');
    expect(atKill).toEqual({ A: { started: 1, finished: 1 }, B: { started: 1, finished: 0 } });

    const second = await startHost(hubName);
    const status = await waitForTerminal(rebase(urls, second.origin), 20_000);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual(['A done', 'B done', 'C done']);
    expect(await sideEffects(second, key)).toEqual({
      A: { started: 1, finished: 1 },
      B: { started: 2, finished: 1 },
      C: { started: 1, finished: 1 },
    });
  });

  it('stops gracefully on SIGTERM (exit code 0) and the restarted host finishes the instance', async () => {
    const hubName = newHubName();
    const key = uniqueId('sigterm');
    const first = await startHost(hubName);
    const urls = await startOrchestration(first.origin, 'CrashChain', { input: { key, timerMs: 100, slowMs: 1_000 }, routePrefix: 'fx' });
    const deadline = Date.now() + 15_000;
    while ((await sideEffects(first, key)).B?.started !== 1) {
      if (Date.now() > deadline) throw new Error('activity B never started');
      await sleep(50);
    }
    expect(await first.kill('SIGTERM')).toEqual({ code: 0, signal: null });

    const second = await startHost(hubName);
    const status = await waitForTerminal(rebase(urls, second.origin), 20_000);
    expect(status.output).toEqual(['A done', 'B done', 'C done']);
    const counts = await sideEffects(second, key);
    expect(counts.A).toEqual({ started: 1, finished: 1 });
    expect(counts.C).toEqual({ started: 1, finished: 1 });
    expect(counts.B.finished).toBeGreaterThanOrEqual(1);
  });

  it('keeps an instance waiting for an external event across a kill; the event after the restart completes it', async () => {
    const hubName = newHubName();
    const first = await startHost(hubName);
    const urls = await startOrchestration(first.origin, 'WaitForSignal', { routePrefix: 'fx' });
    await pollStatus(urls.statusQueryGetUri, (s) => s.runtimeStatus === 'Running');
    await first.kill('SIGKILL');

    const second = await startHost(hubName);
    const moved = rebase(urls, second.origin);
    expect((await http<{ runtimeStatus: string }>(moved.statusQueryGetUri)).body.runtimeStatus).toBe('Running');
    expect((await raiseEvent(moved, 'Signal', 'after restart')).status).toBe(202);
    const status = await waitForTerminal(moved);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ received: 'after restart' });
  });

  it('keeps a suspended instance suspended across a kill; resume after the restart completes it', async () => {
    const hubName = newHubName();
    const first = await startHost(hubName);
    const urls = await startOrchestration(first.origin, 'WaitForSignal', { routePrefix: 'fx' });
    await pollStatus(urls.statusQueryGetUri, (s) => s.runtimeStatus === 'Running');
    expect((await http(fillTemplate(urls.suspendPostUri, { reason: 'maintenance' }), { method: 'POST', body: '' })).status).toBe(202);
    await pollStatus(urls.statusQueryGetUri, (s) => s.runtimeStatus === 'Suspended');
    expect((await raiseEvent(urls, 'Signal', 'sent while suspended')).status).toBe(202);
    await first.kill('SIGKILL');

    const second = await startHost(hubName);
    const moved = rebase(urls, second.origin);
    await sleep(300);
    expect((await http<{ runtimeStatus: string }>(moved.statusQueryGetUri)).body.runtimeStatus).toBe('Suspended');
    expect((await http(fillTemplate(moved.resumePostUri, { reason: 'done' }), { method: 'POST', body: '' })).status).toBe(202);
    const status = await waitForTerminal(moved);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ received: 'sent while suspended' });
  });

  it('isolates task hubs: another hub on the same storage does not see or resume the instance', async () => {
    const hubName = newHubName();
    const first = await startHost(hubName);
    const urls = await startOrchestration(first.origin, 'WaitForSignal', { routePrefix: 'fx' });
    await pollStatus(urls.statusQueryGetUri, (s) => s.runtimeStatus === 'Running');
    await first.kill('SIGKILL');

    const other = await startHost(newHubName());
    expect((await http(rebase(urls, other.origin).statusQueryGetUri)).status).toBe(404);
    expect(other.logs().some((r) => /Resuming/.test(r.message))).toBe(false);
  });
});
