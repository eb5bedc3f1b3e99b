import { useAzurite } from '../support/azurite';
import {
  fixtureApp,
  HostProcess,
  pollStatus,
  raiseEvent,
  startHostProcess,
  startOrchestration,
  uniqueId,
  waitForTerminal,
} from '../support/host-process';

describe('human interaction (external event vs durable timer) through the host binary', () => {
  const azurite = useAzurite();
  let host: HostProcess;

  beforeAll(async () => {
    host = await startHostProcess({ app: fixtureApp('human-interaction'), storage: azurite().connectionString });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('completes as approved when the Approval event arrives before the timeout', async () => {
    const urls = await startOrchestration(host.origin, 'ApprovalWorkflow', { input: { timeoutMs: 60_000 } });
    await pollStatus(urls.statusQueryGetUri, (s) => s.runtimeStatus === 'Running' && s.customStatus === 'Waiting for approval');
    const started = Date.now();
    expect((await raiseEvent(urls, 'Approval', { approvedBy: 'alice' })).status).toBe(202);
    const status = await waitForTerminal(urls, 10_000);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ outcome: 'approved', approvedBy: 'alice' });
    // The 60 s timer was cancelled, not waited for.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('takes the timeout branch when no event arrives', async () => {
    const started = Date.now();
    const urls = await startOrchestration(host.origin, 'ApprovalWorkflow', { input: { timeoutMs: 1_000 } });
    const status = await waitForTerminal(urls, 15_000, { showHistory: true });
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ outcome: 'timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    const events = status.historyEvents ?? [];
    expect(events.filter((e) => e.EventType === 'TimerFired')).toHaveLength(1);
    expect(events.filter((e) => e.EventType === 'EventRaised')).toHaveLength(0);
  });

  it('ignores an event with another name and still times out', async () => {
    const urls = await startOrchestration(host.origin, 'ApprovalWorkflow', { input: { timeoutMs: 1_000 } });
    await pollStatus(urls.statusQueryGetUri, (s) => s.runtimeStatus === 'Running');
    expect((await raiseEvent(urls, 'Rejection', { by: 'bob' })).status).toBe(202);
    const status = await waitForTerminal(urls, 15_000);
    expect(status.output).toEqual({ outcome: 'timeout' });
  });

  it('answers 410 for an event sent to a completed instance and 404 for an unknown one', async () => {
    const urls = await startOrchestration(host.origin, 'ApprovalWorkflow', { input: { timeoutMs: 60_000 } });
    await pollStatus(urls.statusQueryGetUri, (s) => s.runtimeStatus === 'Running');
    await raiseEvent(urls, 'Approval', { approvedBy: 'carol' });
    await waitForTerminal(urls);
    expect((await raiseEvent(urls, 'Approval', { approvedBy: 'dave' })).status).toBe(410);

    const unknownId = uniqueId('no-such-instance');
    const unknown = { ...urls, sendEventPostUri: urls.sendEventPostUri.replace(urls.id, unknownId) };
    expect((await raiseEvent(unknown, 'Approval', {})).status).toBe(404);
  });
});
