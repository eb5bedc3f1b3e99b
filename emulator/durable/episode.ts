/**
 * The pure core of the embedded Durable engine: which pending messages an orchestrator episode sees, and what
 * follows from the actions the `durable-functions` replay engine returns (new history, work, completion).
 *
 * Task ids must match the ids the JS replay engine assigns: one per scheduled task/timer/sub-orchestration in
 * the order the orchestrator yields them, and — for `callActivityWithRetry`/`callSubOrchestratorWithRetry` — one
 * for the retry timer after every failed attempt and one for every new attempt, assigned when the JS engine
 * *processes* the failure or the timer. An episode therefore carries at most one retry-relevant event, first,
 * so the engine allocates that id before any id the orchestrator's new actions take.
 */
import { completedTaskId, event, EventType, FailureDetailsWire, HistoryEvent, isSchedulingEvent, RuntimeStatus } from './history';

export enum ActionType {
  CallActivity = 0,
  CallActivityWithRetry = 1,
  CallSubOrchestrator = 2,
  CallSubOrchestratorWithRetry = 3,
  ContinueAsNew = 4,
  CreateTimer = 5,
  WaitForExternalEvent = 6,
  CallEntity = 7,
  CallHttp = 8,
  SignalEntity = 9,
  WhenAny = 11,
  WhenAll = 12,
  LockEntities = 13,
  ReleaseEntities = 14,
}

export interface WireRetryOptions {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

export interface WireAction {
  actionType: ActionType;
  functionName?: string;
  input?: unknown;
  retryOptions?: WireRetryOptions;
  instanceId?: string;
  fireAt?: string | Date;
  isCanceled?: boolean;
  externalEventName?: string;
  compoundActions?: WireAction[];
}

export interface WireOrchestratorState {
  isDone: boolean;
  actions: WireAction[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  failureDetails?: { errorType?: string; errorMessage?: string; stackTrace?: string };
}

export type OrchestratorOutcome =
  | { kind: 'state'; state: WireOrchestratorState }
  | { kind: 'failed'; message: string; stack?: string; state?: WireOrchestratorState };

export interface ActionRecord {
  type: ActionType;
  name?: string;
  id: number | null;
  /** For retried actions: what to schedule again. */
  input?: string;
  retry?: WireRetryOptions;
  subInstanceId?: string;
}

export interface RetryRecord {
  kind: 'attempt' | 'timer';
  actionIndex: number;
  /** Attempts made so far, including the one this record belongs to. */
  attempt: number;
}

export interface OrchestrationState {
  instanceId: string;
  name: string;
  executionId: string;
  status: RuntimeStatus;
  input?: string;
  output?: string;
  customStatus?: string;
  failureDetails?: FailureDetailsWire;
  createdTime: string;
  lastUpdatedTime: string;
  parentInstanceId?: string;
  parentTaskId?: number;
  parentExecutionId?: string;
  history: HistoryEvent[];
  episodes: number;
  seq: number;
  actions: ActionRecord[];
  retries: Record<string, RetryRecord>;
}

export type WorkItem =
  | { kind: 'activity'; taskId: number; name: string; input?: string }
  | { kind: 'timer'; timerId: number; fireAt: string }
  | { kind: 'subOrchestration'; taskId: number; name: string; instanceId: string; input?: string };

export interface EpisodeResult {
  state: OrchestrationState;
  appended: HistoryEvent[];
  work: WorkItem[];
  continueAsNewInput?: string | null;
}

function isRetryRelevant(e: HistoryEvent, state: OrchestrationState): boolean {
  const id = completedTaskId(e);
  if (id === undefined) return false;
  const record = state.retries[id];
  if (!record) return false;
  if (record.kind === 'timer') return e.EventType === EventType.TimerFired;
  return e.EventType === EventType.TaskFailed || e.EventType === EventType.SubOrchestrationInstanceFailed;
}

export interface BatchSelection {
  batch: HistoryEvent[];
  /** Messages that can never be delivered (duplicates of completions already in history). */
  dropped: HistoryEvent[];
}

/** Picks the inbox messages the next episode delivers, in arrival order. */
export function selectBatch(state: OrchestrationState, inbox: HistoryEvent[], maxEvents = 10000): BatchSelection {
  const scheduled = new Set<number>();
  const completed = new Set<number>();
  for (const e of state.history) {
    if (isSchedulingEvent(e)) scheduled.add(e.EventId);
    const id = completedTaskId(e);
    if (id !== undefined) completed.add(id);
  }
  const batch: HistoryEvent[] = [];
  const dropped: HistoryEvent[] = [];
  const started = state.history.some((e) => e.EventType === EventType.ExecutionStarted);
  const isStart = (e: HistoryEvent) => e.EventType === EventType.ExecutionStarted;
  const ordered = started ? inbox : [...inbox.filter(isStart), ...inbox.filter((e) => !isStart(e))];
  for (const message of ordered) {
    if (batch.length >= maxEvents) break;
    if (message.EventType === EventType.ExecutionStarted) {
      if (started) dropped.push(message);
      else batch.push(message);
      continue;
    }
    if (!started && !batch.some((e) => e.EventType === EventType.ExecutionStarted)) continue;
    const id = completedTaskId(message);
    if (id !== undefined) {
      if (completed.has(id)) {
        dropped.push(message);
        continue;
      }
      if (!scheduled.has(id)) continue; // arrives before its scheduling event is committed: deliver later
      if (isRetryRelevant(message, state)) {
        if (batch.length > 0) break;
        batch.push(message);
        completed.add(id);
        continue;
      }
      completed.add(id);
    }
    batch.push(message);
  }
  return { batch, dropped };
}

/**
 * The leaf actions in yield order. A task yielded again inside a new Task.any/Task.all re-emits its action
 * object; within one replay that is the same object, so repeats are dropped by identity.
 */
export function flattenActions(actions: WireAction[][] | undefined): WireAction[] {
  const flat: WireAction[] = [];
  const seen = new Set<WireAction>();
  const visit = (action: WireAction) => {
    if (seen.has(action)) return;
    seen.add(action);
    if (action.actionType === ActionType.WhenAll || action.actionType === ActionType.WhenAny) {
      (action.compoundActions ?? []).forEach(visit);
    } else {
      flat.push(action);
    }
  };
  for (const step of actions ?? []) step.forEach(visit);
  return flat;
}

export function retryDelayMs(options: WireRetryOptions, failedAttempt: number): number {
  const coefficient = options.backoffCoefficient && options.backoffCoefficient > 0 ? options.backoffCoefficient : 1;
  const delay = options.firstRetryIntervalInMilliseconds * Math.pow(coefficient, failedAttempt - 1);
  const max = options.maxRetryIntervalInMilliseconds;
  return max && max > 0 ? Math.min(delay, max) : delay;
}

const unsupportedActions: Partial<Record<ActionType, string>> = {
  [ActionType.CallEntity]: 'callEntity',
  [ActionType.SignalEntity]: 'signalEntity',
  [ActionType.LockEntities]: 'lock (critical sections)',
  [ActionType.ReleaseEntities]: 'lock (critical sections)',
  [ActionType.CallHttp]: 'callHttp',
};

class EpisodeFailure extends Error {}

/** The JSON text of an action's input: durable-functions already encodes string inputs of activities and continueAsNew. */
function wireInput(action: WireAction): string | undefined {
  if (action.input === undefined) return undefined;
  const preEncoded = action.actionType === ActionType.CallActivity || action.actionType === ActionType.CallActivityWithRetry || action.actionType === ActionType.ContinueAsNew;
  return preEncoded && typeof action.input === 'string' ? action.input : JSON.stringify(action.input);
}

/**
 * Applies one orchestrator episode: the delivered events, the retry bookkeeping, the new actions and the
 * orchestrator's completion, and returns the next state with the history to append and the work to start.
 */
export function decideEpisode(
  previous: OrchestrationState,
  delivered: HistoryEvent[],
  now: Date,
  outcome: OrchestratorOutcome,
): EpisodeResult {
  const state: OrchestrationState = {
    ...previous,
    actions: [...previous.actions],
    retries: { ...previous.retries },
    lastUpdatedTime: now.toISOString(),
  };
  const appended: HistoryEvent[] = [event(EventType.OrchestratorStarted, now), ...delivered];
  const work: WorkItem[] = [];
  const finish = (status: RuntimeStatus, fields: Partial<OrchestrationState>, completion: Partial<HistoryEvent>) => {
    Object.assign(state, { status, ...fields });
    appended.push(event(EventType.OrchestratorCompleted, now));
    appended.push(event(EventType.ExecutionCompleted, now, completion));
    state.history = [...previous.history, ...appended];
    state.episodes = previous.episodes + 1;
    return { state, appended, work };
  };
  const fail = (message: string, details?: FailureDetailsWire) => {
    const failureDetails = details ?? { ErrorType: 'Error', ErrorMessage: message };
    const output = `Orchestrator function '${state.name}' failed: ${message}`;
    return finish('Failed', { output: JSON.stringify(output), failureDetails }, { Result: JSON.stringify(output), FailureDetails: failureDetails });
  };

  if (outcome.kind === 'failed') {
    // durable-functions carries the real error in the state it attaches to the thrown error.
    const message = outcome.state?.error ?? outcome.message;
    if (outcome.state?.customStatus !== undefined) state.customStatus = JSON.stringify(outcome.state.customStatus);
    const details = outcome.state?.failureDetails;
    return fail(message, {
      ErrorType: details?.errorType ?? 'Error',
      ErrorMessage: details?.errorMessage ?? message,
      StackTrace: details?.stackTrace ?? outcome.stack,
    });
  }
  const result = outcome.state;
  if (result.customStatus !== undefined) state.customStatus = JSON.stringify(result.customStatus);

  const schedule = (action: { type: ActionType; name: string; input?: string; subInstanceId?: string }, id: number) => {
    if (action.type === ActionType.CallActivity || action.type === ActionType.CallActivityWithRetry) {
      appended.push(event(EventType.TaskScheduled, now, { EventId: id, Name: action.name, Input: action.input }));
      work.push({ kind: 'activity', taskId: id, name: action.name, input: action.input });
    } else {
      const childId = action.subInstanceId ?? `${state.instanceId}:${id}`;
      appended.push(
        event(EventType.SubOrchestrationInstanceCreated, now, { EventId: id, Name: action.name, Input: action.input, InstanceId: childId }),
      );
      work.push({ kind: 'subOrchestration', taskId: id, name: action.name, instanceId: childId, input: action.input });
    }
  };

  try {
    // 1. A retry-relevant event (always first in the batch) takes the next id before any new action.
    const first = delivered[0];
    if (first && isRetryRelevant(first, previous)) {
      const firstId = completedTaskId(first) as number;
      const record = previous.retries[firstId];
      const action = previous.actions[record.actionIndex];
      if (record.kind === 'attempt') {
        const timerId = state.seq++;
        const fireAt = new Date(now.getTime() + retryDelayMs(action.retry!, record.attempt)).toISOString();
        appended.push(event(EventType.TimerCreated, now, { EventId: timerId, FireAt: fireAt }));
        work.push({ kind: 'timer', timerId, fireAt });
        state.retries[timerId] = { kind: 'timer', actionIndex: record.actionIndex, attempt: record.attempt };
      } else if (record.attempt < action.retry!.maxNumberOfAttempts) {
        const attemptId = state.seq++;
        schedule({ type: action.type, name: action.name!, input: action.input, subInstanceId: action.subInstanceId }, attemptId);
        state.retries[attemptId] = { kind: 'attempt', actionIndex: record.actionIndex, attempt: record.attempt + 1 };
      }
    }

    // 2. New actions, in the order the orchestrator yielded them.
    const flat = flattenActions(result.actions);
    for (let k = 0; k < Math.min(previous.actions.length, flat.length); k++) {
      const known = previous.actions[k];
      if (known.type !== flat[k].actionType || (known.name ?? '') !== (flat[k].functionName ?? known.name ?? '')) {
        throw new EpisodeFailure(
          `Non-deterministic workflow detected: action ${k} was ${ActionType[known.type]}('${known.name ?? ''}') in an earlier ` +
            `replay and is now ${ActionType[flat[k].actionType]}('${flat[k].functionName ?? ''}'). Orchestrator code must be deterministic.`,
        );
      }
    }
    let continueAsNewInput: string | null | undefined;
    for (let k = previous.actions.length; k < flat.length; k++) {
      const action = flat[k];
      const unsupported = unsupportedActions[action.actionType];
      if (unsupported) {
        throw new EpisodeFailure(`The embedded host (kluis-host) does not support ${unsupported} (Durable entities / durable HTTP).`);
      }
      const input = wireInput(action);
      const record: ActionRecord = { type: action.actionType, name: action.functionName, id: null };
      switch (action.actionType) {
        case ActionType.CallActivity:
        case ActionType.CallSubOrchestrator:
          record.id = state.seq++;
          schedule({ type: action.actionType, name: action.functionName!, input, subInstanceId: action.instanceId }, record.id);
          break;
        case ActionType.CallActivityWithRetry:
        case ActionType.CallSubOrchestratorWithRetry:
          record.id = state.seq++;
          Object.assign(record, { input, retry: action.retryOptions, subInstanceId: action.instanceId });
          schedule({ type: action.actionType, name: action.functionName!, input, subInstanceId: action.instanceId }, record.id);
          state.retries[record.id] = { kind: 'attempt', actionIndex: k, attempt: 1 };
          break;
        case ActionType.CreateTimer: {
          record.id = state.seq++;
          if (!action.isCanceled) {
            const fireAt = new Date(action.fireAt as string).toISOString();
            appended.push(event(EventType.TimerCreated, now, { EventId: record.id, FireAt: fireAt }));
            work.push({ kind: 'timer', timerId: record.id, fireAt });
          }
          break;
        }
        case ActionType.WaitForExternalEvent:
          record.name = action.externalEventName;
          break;
        case ActionType.ContinueAsNew:
          continueAsNewInput = input ?? null;
          break;
        default:
          throw new EpisodeFailure(`Unknown orchestrator action type ${String(action.actionType)}.`);
      }
      state.actions.push(record);
    }

    if (result.isDone && continueAsNewInput !== undefined) {
      appended.push(event(EventType.OrchestratorCompleted, now));
      appended.push(event(EventType.ExecutionCompleted, now, { Result: continueAsNewInput ?? undefined }));
      state.history = [...previous.history, ...appended];
      state.episodes = previous.episodes + 1;
      return { state: { ...state, status: 'ContinuedAsNew' }, appended, work: [], continueAsNewInput };
    }
    if (result.isDone) {
      const output = result.output === undefined ? undefined : JSON.stringify(result.output);
      return finish('Completed', { output }, { Result: output });
    }
  } catch (err) {
    if (err instanceof EpisodeFailure) return fail(err.message);
    throw err;
  }

  appended.push(event(EventType.OrchestratorCompleted, now));
  state.status = 'Running';
  state.history = [...previous.history, ...appended];
  state.episodes = previous.episodes + 1;
  return { state, appended, work };
}

/** Work that history says was started but has not finished: what a restarted host must resume. */
export function openWork(state: OrchestrationState, inbox: HistoryEvent[]): WorkItem[] {
  const done = new Set<number>();
  for (const e of [...state.history, ...inbox]) {
    const id = completedTaskId(e);
    if (id !== undefined) done.add(id);
  }
  const work: WorkItem[] = [];
  for (const e of state.history) {
    if (!isSchedulingEvent(e) || done.has(e.EventId)) continue;
    if (e.EventType === EventType.TaskScheduled) work.push({ kind: 'activity', taskId: e.EventId, name: e.Name!, input: e.Input });
    else if (e.EventType === EventType.TimerCreated) work.push({ kind: 'timer', timerId: e.EventId, fireAt: e.FireAt! });
    else work.push({ kind: 'subOrchestration', taskId: e.EventId, name: e.Name!, instanceId: e.InstanceId!, input: e.Input });
  }
  return work;
}

export function newOrchestrationState(fields: {
  instanceId: string;
  name: string;
  executionId: string;
  input?: string;
  now: Date;
  parentInstanceId?: string;
  parentTaskId?: number;
  parentExecutionId?: string;
}): OrchestrationState {
  return {
    instanceId: fields.instanceId,
    name: fields.name,
    executionId: fields.executionId,
    status: 'Pending',
    input: fields.input,
    createdTime: fields.now.toISOString(),
    lastUpdatedTime: fields.now.toISOString(),
    parentInstanceId: fields.parentInstanceId,
    parentTaskId: fields.parentTaskId,
    parentExecutionId: fields.parentExecutionId,
    history: [],
    episodes: 0,
    seq: 0,
    actions: [],
    retries: {},
  };
}
