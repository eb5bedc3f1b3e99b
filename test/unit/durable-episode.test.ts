/**
 * The embedded Durable engine's pure core: batch selection and the decisions of one episode, including the
 * task ids it assigns, which must match the ids the durable-functions replay engine assigns.
 */
import {
  ActionType,
  decideEpisode,
  flattenActions,
  newOrchestrationState,
  openWork,
  OrchestrationState,
  retryDelayMs,
  selectBatch,
  WireAction,
} from '../../emulator/durable/episode';
import { event, EventType, HistoryEvent } from '../../emulator/durable/history';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

function fresh(): OrchestrationState {
  return newOrchestrationState({ instanceId: 'i1', name: 'orch', executionId: 'e1', input: '{"n":1}', now: t0 });
}

const started = (): HistoryEvent => ({ ...event(EventType.ExecutionStarted, t0, { Name: 'orch', Input: '{"n":1}' }), MessageKey: 'm0' });
const activity = (name: string, input?: unknown): WireAction => ({ actionType: ActionType.CallActivity, functionName: name, input });
const running = (...steps: WireAction[][]) => ({ kind: 'state' as const, state: { isDone: false, actions: steps } });

/** Runs the first episode (ExecutionStarted) with the given actions. */
function firstEpisode(...steps: WireAction[][]) {
  return decideEpisode(fresh(), [started()], t0, running(...steps));
}

describe('flattenActions', () => {
  it('flattens WhenAll/WhenAny depth-first in yield order', () => {
    const flat = flattenActions([
      [activity('a')],
      [{ actionType: ActionType.WhenAll, compoundActions: [activity('b'), { actionType: ActionType.WhenAny, compoundActions: [activity('c'), activity('d')] }] }],
    ]);
    expect(flat.map((a) => a.functionName)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('drops an action object that is yielded again inside a new Task.any (same object, same replay)', () => {
    const [a, b, c] = [activity('a'), activity('b'), activity('c')];
    const flat = flattenActions([
      [{ actionType: ActionType.WhenAny, compoundActions: [a, b] }],
      [{ actionType: ActionType.WhenAny, compoundActions: [b, c] }],
    ]);
    expect(flat).toEqual([a, b, c]);
  });
});

describe('decideEpisode', () => {
  it('schedules new activities with sequential ids, and events wait for nothing', () => {
    const result = firstEpisode([activity('a', 'x')], [{ actionType: ActionType.WaitForExternalEvent, externalEventName: 'go' }, activity('b', { k: 1 })]);
    expect(result.work).toEqual([
      { kind: 'activity', taskId: 0, name: 'a', input: 'x' },
      { kind: 'activity', taskId: 1, name: 'b', input: '{"k":1}' },
    ]);
    expect(result.state.seq).toBe(2);
    expect(result.state.status).toBe('Running');
    expect(result.appended.map((e) => e.EventType)).toEqual([
      EventType.OrchestratorStarted,
      EventType.ExecutionStarted,
      EventType.TaskScheduled,
      EventType.TaskScheduled,
      EventType.OrchestratorCompleted,
    ]);
  });

  it('does not schedule an action again on replay', () => {
    const first = firstEpisode([activity('a')]);
    const done = { ...event(EventType.TaskCompleted, at(1), { TaskScheduledId: 0, Result: '1' }), MessageKey: 'm1' };
    const second = decideEpisode(first.state, [done], at(1), running([activity('a')], [activity('b')]));
    expect(second.work).toEqual([{ kind: 'activity', taskId: 1, name: 'b', input: undefined }]);
  });

  it('fails the instance when a replay yields a different action (non-determinism)', () => {
    const first = firstEpisode([activity('a')]);
    const done = event(EventType.TaskCompleted, at(1), { TaskScheduledId: 0, Result: '1' });
    const second = decideEpisode(first.state, [done], at(1), running([activity('other')]));
    expect(second.state.status).toBe('Failed');
    expect(second.state.failureDetails?.ErrorMessage).toMatch(/Non-deterministic/);
  });

  it('gives a retry timer the next id after a failure, then the next attempt the id after that', () => {
    const retry: WireAction = {
      actionType: ActionType.CallActivityWithRetry,
      functionName: 'flaky',
      retryOptions: { firstRetryIntervalInMilliseconds: 1000, maxNumberOfAttempts: 2, backoffCoefficient: 2 },
    };
    const first = firstEpisode([retry, activity('other')]);
    expect(first.work.map((w) => (w.kind === 'activity' ? w.taskId : -1))).toEqual([0, 1]);

    const failed = event(EventType.TaskFailed, at(1), { TaskScheduledId: 0, Reason: 'boom', Details: '' });
    const second = decideEpisode(first.state, [failed], at(1), running([retry, activity('other')], [activity('late')]));
    // The retry timer (id 2) is allocated when the failure is processed, before the orchestrator's new action (id 3).
    expect(second.work).toEqual([
      { kind: 'timer', timerId: 2, fireAt: at(2).toISOString() },
      { kind: 'activity', taskId: 3, name: 'late', input: undefined },
    ]);

    const fired = event(EventType.TimerFired, at(2), { TimerId: 2, FireAt: at(2).toISOString() });
    const third = decideEpisode(second.state, [fired], at(2), running([retry, activity('other')], [activity('late')]));
    expect(third.work).toEqual([{ kind: 'activity', taskId: 4, name: 'flaky', input: undefined }]);

    const failedAgain = event(EventType.TaskFailed, at(3), { TaskScheduledId: 4, Reason: 'boom', Details: '' });
    const fourth = decideEpisode(third.state, [failedAgain], at(3), running([retry, activity('other')], [activity('late')]));
    expect(fourth.work).toEqual([{ kind: 'timer', timerId: 5, fireAt: at(5).toISOString() }]);

    // After the last attempt's timer no further attempt is scheduled: the failure surfaces in the orchestrator.
    const lastTimer = event(EventType.TimerFired, at(5), { TimerId: 5 });
    const fifth = decideEpisode(fourth.state, [lastTimer], at(5), running([retry, activity('other')], [activity('late')]));
    expect(fifth.work).toEqual([]);
  });

  it('completes with the output, and fails with the error the replay engine attached', () => {
    const done = decideEpisode(fresh(), [started()], t0, { kind: 'state', state: { isDone: true, actions: [[]], output: { ok: 1 } } });
    expect(done.state.status).toBe('Completed');
    expect(done.state.output).toBe('{"ok":1}');
    expect(done.appended.at(-1)?.EventType).toBe(EventType.ExecutionCompleted);

    const failed = decideEpisode(fresh(), [started()], t0, {
      kind: 'failed',
      message: 'false',
      state: { isDone: false, actions: [[]], error: 'Disk not found', customStatus: { stage: 'discover' } },
    });
    expect(failed.state.status).toBe('Failed');
    expect(failed.state.output).toBe(JSON.stringify("Orchestrator function 'orch' failed: Disk not found"));
    expect(failed.state.customStatus).toBe('{"stage":"discover"}');
  });

  it('continues as new with the new input and starts no work', () => {
    const result = decideEpisode(fresh(), [started()], t0, {
      kind: 'state',
      state: { isDone: true, actions: [[activity('a')], [{ actionType: ActionType.ContinueAsNew, input: { n: 2 } }]] },
    });
    expect(result.continueAsNewInput).toBe('{"n":2}');
    expect(result.state.status).toBe('ContinuedAsNew');
    expect(result.work).toEqual([]);
  });

  it('refuses actions the embedded host does not implement, naming them', () => {
    const result = firstEpisode([{ actionType: ActionType.CallHttp }]);
    expect(result.state.status).toBe('Failed');
    expect(result.state.failureDetails?.ErrorMessage).toMatch(/callHttp/);
  });
});

describe('selectBatch', () => {
  it('delivers nothing but ExecutionStarted before the instance has started', () => {
    const early = event(EventType.EventRaised, t0, { Name: 'go' });
    const { batch } = selectBatch(fresh(), [early, started()]);
    expect(batch.map((e) => e.EventType)).toEqual([EventType.ExecutionStarted, EventType.EventRaised]);
  });

  it('drops duplicate completions and defers completions of unscheduled tasks', () => {
    const first = firstEpisode([activity('a')]);
    const done = event(EventType.TaskCompleted, at(1), { TaskScheduledId: 0, Result: '1' });
    const after = decideEpisode(first.state, [done], at(1), running([activity('a')]));
    const duplicate = event(EventType.TaskCompleted, at(2), { TaskScheduledId: 0, Result: '1' });
    const future = event(EventType.TaskCompleted, at(2), { TaskScheduledId: 7, Result: '1' });
    const { batch, dropped } = selectBatch(after.state, [duplicate, future]);
    expect(batch).toEqual([]);
    expect(dropped).toEqual([duplicate]);
  });

  it('puts at most one retry-relevant event in a batch, and only first', () => {
    const retry = (): WireAction => ({ actionType: ActionType.CallActivityWithRetry, functionName: 'f', retryOptions: { firstRetryIntervalInMilliseconds: 10, maxNumberOfAttempts: 3 } });
    const first = firstEpisode([retry(), retry(), activity('plain')]);
    const plain = event(EventType.TaskCompleted, at(1), { TaskScheduledId: 2, Result: '1' });
    const fail0 = event(EventType.TaskFailed, at(1), { TaskScheduledId: 0, Reason: 'x', Details: '' });
    const fail1 = event(EventType.TaskFailed, at(1), { TaskScheduledId: 1, Reason: 'x', Details: '' });
    expect(selectBatch(first.state, [plain, fail0, fail1]).batch).toEqual([plain]);
    expect(selectBatch(first.state, [fail0, fail1, plain]).batch).toEqual([fail0]);
  });
});

describe('openWork and retry delays', () => {
  it('lists scheduled work without a completion in history or inbox', () => {
    const first = firstEpisode([activity('a'), activity('b'), { actionType: ActionType.CreateTimer, fireAt: at(60).toISOString() }]);
    const bDone = event(EventType.TaskCompleted, at(1), { TaskScheduledId: 1, Result: '1' });
    expect(openWork(first.state, [bDone])).toEqual([
      { kind: 'activity', taskId: 0, name: 'a', input: undefined },
      { kind: 'timer', timerId: 2, fireAt: at(60).toISOString() },
    ]);
  });

  it('backs off exponentially up to the maximum interval', () => {
    const options = { firstRetryIntervalInMilliseconds: 1000, maxNumberOfAttempts: 5, backoffCoefficient: 3, maxRetryIntervalInMilliseconds: 5000 };
    expect([1, 2, 3].map((attempt) => retryDelayMs(options, attempt))).toEqual([1000, 3000, 5000]);
  });
});
