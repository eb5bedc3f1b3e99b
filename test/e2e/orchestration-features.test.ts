import { useAzurite } from '../support/azurite';
import {
  fillTemplate,
  fixtureApp,
  http,
  HostProcess,
  HttpResult,
  instancesUrl,
  ManagementUrls,
  OrchestrationStatus,
  pollStatus,
  raiseEvent,
  sleep,
  startHostProcess,
  startOrchestration,
  starterUrl,
  uniqueId,
  waitForStatus,
  waitForTerminal,
} from '../support/host-process';

const routePrefix = 'fx';

describe('Durable orchestration features through the host binary', () => {
  const azurite = useAzurite();
  let host: HostProcess;

  beforeAll(async () => {
    host = await startHostProcess({ app: fixtureApp('features'), storage: azurite().connectionString });
  });
  afterAll(async () => {
    await host?.stop();
  });

  const start = (name: string, input?: unknown, instanceId?: string) => startOrchestration(host.origin, name, { input, instanceId, routePrefix });
  const post = (url: string) => http(url, { method: 'POST', body: '' });

  it('shows the custom status while running and after completion', async () => {
    const urls = await start('CustomStatus');
    const waiting = await pollStatus(urls.statusQueryGetUri, (s) => s.runtimeStatus === 'Running' && s.customStatus !== null);
    expect(waiting.customStatus).toEqual({ stage: 'waiting-for-go' });
    await raiseEvent(urls, 'Go', { note: 'go ahead' });
    const done = await waitForTerminal(urls);
    expect(done.runtimeStatus).toBe('Completed');
    expect(done.output).toBe('finished');
    expect(done.customStatus).toEqual({ stage: 'done', note: 'go ahead' });
  });

  it('Task.any returns the first task to finish (an activity before a long timer)', async () => {
    const started = Date.now();
    const urls = await start('AnyWinner', { activityMs: 50, timerMs: 30_000 });
    const status = await waitForTerminal(urls, 10_000);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ winner: 'activity', result: 'activity result' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('fires durable timers in due order, not creation order, and never early', async () => {
    const timers = [
      { label: 'third', delayMs: 1_200 },
      { label: 'first', delayMs: 300 },
      { label: 'second', delayMs: 700 },
    ];
    const urls = await start('TimerOrdering', { timers });
    const status = await waitForTerminal<{ label: string; elapsedMs: number }[]>(urls, 15_000);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output.map((f) => f.label)).toEqual(['first', 'second', 'third']);
    for (const fired of status.output) {
      expect(fired.elapsedMs).toBeGreaterThanOrEqual(timers.find((t) => t.label === fired.label)!.delayMs);
    }
  });

  it('delivers an event raised before the orchestrator waits for it', async () => {
    const urls = await start('EarlyEvent', { delayMs: 1_500 });
    await waitForStatus(urls, 'Running');
    expect((await raiseEvent(urls, 'Early', { payload: 42 })).status).toBe(202);
    const status = await waitForTerminal(urls, 15_000, { showHistory: true });
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ received: { payload: 42 } });
    const types = (status.historyEvents ?? []).map((e) => e.EventType);
    // The event reached the history while the activity was still running.
    expect(types.indexOf('EventRaised')).toBeGreaterThan(-1);
    expect(types.indexOf('EventRaised')).toBeLessThan(types.indexOf('TaskCompleted'));
  });

  it('delivers every one of several same-named events raised at once, one per wait', async () => {
    const urls = await start('CollectVotes', { count: 5 });
    await waitForStatus(urls, 'Running');
    const answers = await Promise.all([1, 2, 3, 4, 5].map((vote) => raiseEvent(urls, 'Vote', vote)));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    const status = await waitForTerminal<number[]>(urls);
    expect(status.runtimeStatus).toBe('Completed');
    expect([...status.output].sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('continueAsNew starts a fresh history with the new input', async () => {
    const urls = await start('Countdown', { n: 0, until: 3 });
    const status = await waitForTerminal(urls, 15_000, { showHistory: true, showHistoryOutput: true });
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toBe(3);
    expect(status.input).toEqual({ n: 3, until: 3 });
    const events = status.historyEvents ?? [];
    expect(events.filter((e) => e.EventType === 'ExecutionStarted')).toHaveLength(1);
    expect(events.filter((e) => e.EventType === 'TaskScheduled').map((e) => e.Input)).toEqual([3]);
  });

  it('terminates a waiting instance with the reason as its output', async () => {
    const urls = await start('WaitForSignal');
    await waitForStatus(urls, 'Running');
    expect((await post(fillTemplate(urls.terminatePostUri, { reason: 'stopped by test' }))).status).toBe(202);
    const status = await waitForTerminal(urls);
    expect(status.runtimeStatus).toBe('Terminated');
    expect(status.output).toBe('stopped by test');
    // A terminated instance accepts no more events or terminations.
    expect((await raiseEvent(urls, 'Signal', 'late')).status).toBe(410);
    expect((await post(fillTemplate(urls.terminatePostUri, { reason: 'again' }))).status).toBe(410);
  });

  it('suspends (buffering events) and resumes an instance', async () => {
    const urls = await start('WaitForSignal');
    await waitForStatus(urls, 'Running');
    expect((await post(fillTemplate(urls.suspendPostUri, { reason: 'pause' }))).status).toBe(202);
    await waitForStatus(urls, 'Suspended');
    expect((await raiseEvent(urls, 'Signal', { value: 'while suspended' })).status).toBe(202);
    await sleep(500);
    expect((await http<OrchestrationStatus>(urls.statusQueryGetUri)).body.runtimeStatus).toBe('Suspended');

    expect((await post(fillTemplate(urls.resumePostUri, { reason: 'continue' }))).status).toBe(202);
    const status = await waitForTerminal(urls);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ received: { value: 'while suspended' } });
  });

  it('terminates a suspended instance', async () => {
    const urls = await start('WaitForSignal');
    await waitForStatus(urls, 'Running');
    await post(fillTemplate(urls.suspendPostUri, { reason: 'pause' }));
    await waitForStatus(urls, 'Suspended');
    expect((await post(fillTemplate(urls.terminatePostUri, { reason: 'cancelled while suspended' }))).status).toBe(202);
    const status = await waitForTerminal(urls);
    expect(status.runtimeStatus).toBe('Terminated');
    expect(status.output).toBe('cancelled while suspended');
  });

  it('uses a caller-chosen instance id, refuses a second start while it runs, allows one after it completed', async () => {
    const instanceId = uniqueId('order');
    const urls = await start('WaitForSignal', undefined, instanceId);
    expect(urls.id).toBe(instanceId);
    const running = await waitForStatus(urls, 'Running');
    expect(running.instanceId).toBe(instanceId);

    const second = await http<{ error: string }>(starterUrl(host.origin, 'WaitForSignal', { instanceId, routePrefix }), { method: 'POST', body: '' });
    expect(second.status).toBe(409);
    expect(second.body.error).toContain(instanceId);

    await raiseEvent(urls, 'Signal', 'first run');
    expect((await waitForTerminal(urls)).output).toEqual({ received: 'first run' });

    const again = await start('Echo', 'second run', instanceId);
    expect(again.id).toBe(instanceId);
    const rerun = await waitForTerminal(again);
    expect(rerun.name).toBe('Echo');
    expect(rerun.output).toBe('second run');
  });

  it('purges a completed instance: its status is 404 afterwards', async () => {
    const urls = await start('Echo', { purge: 'me' });
    expect((await waitForTerminal(urls)).runtimeStatus).toBe('Completed');
    const purged = await http<{ instancesDeleted: number }>(urls.purgeHistoryDeleteUri, { method: 'DELETE' });
    expect(purged.status).toBe(200);
    expect(purged.body.instancesDeleted).toBe(1);
    expect((await http(urls.statusQueryGetUri)).status).toBe(404);
    expect((await http(urls.purgeHistoryDeleteUri, { method: 'DELETE' })).status).toBe(404);
  });

  it('lists instances in pages with x-ms-continuation-token', async () => {
    const prefix = uniqueId('page');
    const count = 120;
    const ids = Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
    let urls: ManagementUrls | undefined;
    for (let i = 0; i < ids.length; i += 20) {
      const started = await Promise.all(ids.slice(i, i + 20).map((id) => start('Echo', id, id)));
      urls ??= started[0];
    }
    const listUrl = new URL(instancesUrl(urls!));
    listUrl.searchParams.set('instanceIdPrefix', prefix);

    type ListItem = { instanceId: string; name: string };
    const pages: ListItem[][] = [];
    let token: string | null = null;
    do {
      const page: HttpResult<ListItem[]> = await http<ListItem[]>(listUrl.toString(), {
        headers: token ? { 'x-ms-continuation-token': token } : {},
      });
      expect(page.status).toBe(200);
      pages.push(page.body);
      token = page.headers.get('x-ms-continuation-token');
    } while (token && pages.length < 10);

    expect(pages.length).toBeGreaterThanOrEqual(2);
    for (const page of pages) expect(page.length).toBeLessThanOrEqual(100);
    const listed = pages.flat().map((item) => item.instanceId);
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual(ids);
    expect(pages.flat().every((item) => item.name === 'Echo')).toBe(true);
  });
});
