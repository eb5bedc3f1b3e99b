/**
 * The embedded Durable engine: runs orchestrator episodes through the app's own `durable-functions` replay
 * engine, executes activities, fires durable timers, starts sub-orchestrations, and persists everything in
 * Azure Tables so a restarted host resumes in-flight instances (activities that were running run again).
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import type { RegisteredFunction } from '../functions-core';
import { triggerBinding } from '../app-loader';
import { describeError, fromTypedData, Invoker } from '../invoker';
import type { HostLogger } from '../logger';
import {
  decideEpisode,
  newOrchestrationState,
  openWork,
  OrchestrationState,
  OrchestratorOutcome,
  selectBatch,
  WireOrchestratorState,
  WorkItem,
} from './episode';
import { event, EventType, HistoryEvent, isTerminal, parseJsonString } from './history';
import { failureDetailsOf, validInstanceId } from './failures';
import { Limiter } from '../../lib/domain/limiter';
import { InstanceSummary, ListQuery, TableDurableStore } from './table-store';

export class DurableApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'DurableApiError';
  }
}

interface Entry {
  state: OrchestrationState;
  etag: string;
  inbox: HistoryEvent[];
  running: boolean;
  dirty: boolean;
  timers: Map<number, () => void>;
  activitiesStarted: Set<number>;
}

export interface DurableEngineOptions {
  store: TableDurableStore;
  invoker: Invoker;
  functions: RegisteredFunction[];
  clock: Clock;
  logger: HostLogger;
  maxConcurrentActivityFunctions?: number;
  maxConcurrentOrchestratorFunctions?: number;
}

export interface StatusOptions {
  showHistory?: boolean;
  showHistoryOutput?: boolean;
  showInput?: boolean;
}

const controlEvents = new Set([EventType.ExecutionTerminated, EventType.ExecutionSuspended, EventType.ExecutionResumed]);

export class DurableEngine {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry | undefined>>();
  private readonly orchestratorLimiter: Limiter;
  private readonly activityLimiter: Limiter;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly orchestrators = new Map<string, RegisteredFunction>();
  private readonly activities = new Map<string, RegisteredFunction>();
  private stopped = false;

  constructor(private readonly options: DurableEngineOptions) {
    this.orchestratorLimiter = new Limiter(options.maxConcurrentOrchestratorFunctions ?? 10);
    this.activityLimiter = new Limiter(options.maxConcurrentActivityFunctions ?? 10);
    for (const fn of options.functions) {
      const type = (triggerBinding(fn)[1].type ?? '').toLowerCase();
      if (type === 'orchestrationtrigger') this.orchestrators.set(fn.metadata.name.toLowerCase(), fn);
      if (type === 'activitytrigger') this.activities.set(fn.metadata.name.toLowerCase(), fn);
    }
  }

  private get log(): HostLogger {
    return this.options.logger;
  }

  private get store(): TableDurableStore {
    return this.options.store;
  }

  /** Loads instances that were in flight when the host last stopped and resumes their work. */
  async start(): Promise<void> {
    await this.store.init();
    const ids = await this.store.activeInstanceIds();
    if (ids.length > 0) this.log.log('information', `Resuming ${ids.length} in-flight orchestration instance(s)`);
    for (const id of ids) {
      const entry = await this.entry(id);
      if (!entry) continue;
      for (const item of openWork(entry.state, entry.inbox)) this.startWork(entry.state, item);
      this.kick(id);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.entries.values()) entry.timers.forEach((cancel) => cancel());
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  // ---- client operations ------------------------------------------------------------------

  async startNew(name: string, instanceId: string | undefined, input: unknown, parent?: { instanceId: string; taskId: number; executionId: string }): Promise<string> {
    const orchestrator = this.orchestrators.get(name.toLowerCase());
    if (!orchestrator) {
      throw new DurableApiError(400, `The function '${name}' doesn't exist, is disabled, or is not an orchestrator function. Known orchestrators: ${[...this.orchestrators.values()].map((f) => f.metadata.name).join(', ') || 'none'}.`);
    }
    const id = instanceId ?? randomUUID().replace(/-/g, '');
    if (!validInstanceId(id)) {
      throw new DurableApiError(400, `Instance id '${id}' is invalid: 1–256 characters, none of / \\ # ? or control characters.`);
    }
    const existing = await this.entry(id);
    if (existing) {
      if (!isTerminal(existing.state.status)) {
        throw new DurableApiError(409, `An orchestration with instance id '${id}' already exists and is ${existing.state.status}.`);
      }
      await this.forget(id);
      await this.store.purge(id);
    }
    const now = this.options.clock.now();
    const state = newOrchestrationState({
      instanceId: id,
      name: orchestrator.metadata.name,
      executionId: randomUUID().replace(/-/g, ''),
      input: input === undefined ? undefined : JSON.stringify(input),
      now,
      parentInstanceId: parent?.instanceId,
      parentTaskId: parent?.taskId,
      parentExecutionId: parent?.executionId,
    });
    const start = this.startEvent(state, now);
    const etag = await this.store.createInstance(state, start);
    this.entries.set(id, this.newEntry(state, etag, [start]));
    this.log.log('information', `Started orchestration '${state.name}'`, { instanceId: id });
    this.kick(id);
    return id;
  }

  async raiseEvent(instanceId: string, name: string, data: unknown): Promise<void> {
    await this.requireActive(instanceId);
    await this.deliver(instanceId, event(EventType.EventRaised, this.options.clock.now(), { Name: name, Input: data === undefined ? undefined : JSON.stringify(data) }));
  }

  async terminate(instanceId: string, reason: string | undefined): Promise<void> {
    await this.requireActive(instanceId);
    await this.deliver(instanceId, event(EventType.ExecutionTerminated, this.options.clock.now(), { Input: JSON.stringify(reason ?? '') }));
  }

  async suspend(instanceId: string, reason: string | undefined): Promise<void> {
    await this.requireActive(instanceId);
    await this.deliver(instanceId, event(EventType.ExecutionSuspended, this.options.clock.now(), { Reason: reason }));
  }

  async resume(instanceId: string, reason: string | undefined): Promise<void> {
    await this.requireActive(instanceId);
    await this.deliver(instanceId, event(EventType.ExecutionResumed, this.options.clock.now(), { Reason: reason }));
  }

  async purge(instanceId: string): Promise<boolean> {
    const entry = await this.entry(instanceId);
    if (!entry) return false;
    if (!isTerminal(entry.state.status)) {
      throw new DurableApiError(409, `Instance '${instanceId}' is ${entry.state.status}; only completed, failed or terminated instances can be purged. Terminate it first.`);
    }
    await this.forget(instanceId);
    return this.store.purge(instanceId);
  }

  async getState(instanceId: string): Promise<OrchestrationState | undefined> {
    return (await this.entry(instanceId))?.state;
  }

  async list(query: ListQuery): Promise<{ items: InstanceSummary[]; continuationToken?: string }> {
    return this.store.list(query);
  }

  // ---- dispatch -------------------------------------------------------------------------------

  private newEntry(state: OrchestrationState, etag: string, inbox: HistoryEvent[]): Entry {
    return { state, etag, inbox, running: false, dirty: false, timers: new Map(), activitiesStarted: new Set() };
  }

  private startEvent(state: OrchestrationState, now: Date): HistoryEvent {
    return {
      ...event(EventType.ExecutionStarted, now, { Name: state.name, Input: state.input, ParentInstanceId: state.parentInstanceId }),
      MessageKey: this.store.newMessageKey(),
      ExecutionId: state.executionId,
    };
  }

  private async entry(instanceId: string): Promise<Entry | undefined> {
    const cached = this.entries.get(instanceId);
    if (cached) return cached;
    let pending = this.loading.get(instanceId);
    if (!pending) {
      pending = this.store.load(instanceId).then((stored) => {
        this.loading.delete(instanceId);
        if (!stored) return undefined;
        const raced = this.entries.get(instanceId);
        if (raced) return raced;
        const entry = this.newEntry(stored.state, stored.etag, stored.inbox);
        if (!isTerminal(stored.state.status)) this.entries.set(instanceId, entry);
        if (stored.garbage.length > 0) this.track(this.store.deleteRows(instanceId, stored.garbage));
        return entry;
      });
      this.loading.set(instanceId, pending);
    }
    return pending;
  }

  private async forget(instanceId: string): Promise<void> {
    const entry = this.entries.get(instanceId);
    entry?.timers.forEach((cancel) => cancel());
    this.entries.delete(instanceId);
  }

  private async requireActive(instanceId: string): Promise<Entry> {
    const entry = await this.entry(instanceId);
    if (!entry) throw new DurableApiError(404, `No instance with ID '${instanceId}' found.`);
    if (isTerminal(entry.state.status)) {
      throw new DurableApiError(410, `Instance '${instanceId}' is ${entry.state.status} and no longer accepts operations.`);
    }
    return entry;
  }

  private track<T>(promise: Promise<T>): void {
    const tracked = promise.catch((err) => this.log.log('error', `Durable engine task failed: ${describeError(err)}`));
    this.inflight.add(tracked);
    void tracked.finally(() => this.inflight.delete(tracked));
  }

  /** Persists a message for an instance, then wakes the instance. */
  private async deliver(instanceId: string, message: HistoryEvent): Promise<void> {
    const stored = await this.store.appendMessage(instanceId, message);
    const entry = await this.entry(instanceId);
    if (!entry) return;
    if (!entry.inbox.some((m) => m.MessageKey === stored.MessageKey)) entry.inbox.push(stored);
    this.kick(instanceId);
  }

  private kick(instanceId: string): void {
    const entry = this.entries.get(instanceId);
    if (!entry || this.stopped) return;
    entry.dirty = true;
    if (entry.running) return;
    entry.running = true;
    this.track(
      this.orchestratorLimiter.run(async () => {
        try {
          while (entry.dirty && !this.stopped) {
            entry.dirty = false;
            if (await this.runEpisode(entry)) entry.dirty = true;
          }
        } catch (err) {
          // A failed commit (storage unavailable, or a concurrent writer): reload from the table and try again.
          this.log.log('warning', `Episode failed, retrying in 1 s: ${describeError(err)}`, { instanceId });
          this.entries.delete(instanceId);
          const retry = this.options.clock.setTimer(new Date(this.options.clock.now().getTime() + 1000), () => {
            void this.entry(instanceId).then(() => this.kick(instanceId));
          });
          entry.timers.set(-1, retry);
        } finally {
          entry.running = false;
          if (entry.dirty && !this.stopped && this.entries.get(instanceId) === entry) this.kick(instanceId);
        }
      }),
    );
  }

  /** One step for an instance; returns true when more may be deliverable right away. */
  private async runEpisode(entry: Entry): Promise<boolean> {
    const { state } = entry;
    const stale = entry.inbox.filter((m) => m.ExecutionId !== undefined && m.ExecutionId !== state.executionId);
    if (isTerminal(state.status) || stale.length > 0) {
      const drop = isTerminal(state.status) ? entry.inbox : stale;
      entry.inbox = entry.inbox.filter((m) => !drop.includes(m));
      if (drop.length > 0) this.track(this.store.deleteRows(state.instanceId, drop.map((m) => `M_${m.MessageKey}`)));
      if (isTerminal(state.status)) {
        this.entries.delete(state.instanceId);
        return false;
      }
    }
    const control = entry.inbox.find((m) => controlEvents.has(m.EventType));
    if (control) {
      await this.applyControl(entry, control);
      return true;
    }
    if (state.status === 'Suspended') return false;

    const { batch, dropped } = selectBatch(state, entry.inbox);
    if (dropped.length > 0) {
      entry.inbox = entry.inbox.filter((m) => !dropped.includes(m));
      this.track(this.store.deleteRows(state.instanceId, dropped.map((m) => `M_${m.MessageKey}`)));
    }
    if (batch.length === 0) return false;

    const now = this.options.clock.now();
    const started = process.hrtime.bigint();
    const outcome = await this.invokeOrchestrator(state, batch, now);
    const invoked = process.hrtime.bigint();
    const result = decideEpisode(state, batch, now, outcome);
    entry.etag = await this.store.commitEpisode(result.state, entry.etag, result.appended, batch.map((m) => m.MessageKey!));
    const committed = process.hrtime.bigint();
    this.log.log('debug', `Episode ${result.state.episodes}: ${batch.length} event(s) in, ${result.work.length} work item(s) out`, {
      instanceId: state.instanceId,
      historyEvents: result.state.history.length,
      orchestratorMs: Number(invoked - started) / 1e6,
      commitMs: Number(committed - invoked) / 1e6,
    });
    entry.state = result.state;
    entry.inbox = entry.inbox.filter((m) => !batch.includes(m));
    for (const item of result.work) this.startWork(result.state, item);

    if (result.continueAsNewInput !== undefined) {
      await this.continueAsNew(entry, result.continueAsNewInput ?? undefined, now);
      return true;
    }
    if (isTerminal(result.state.status)) {
      this.onFinished(entry);
      return false;
    }
    return entry.inbox.length > 0;
  }

  private async invokeOrchestrator(state: OrchestrationState, batch: HistoryEvent[], now: Date): Promise<OrchestratorOutcome> {
    const fn = this.orchestrators.get(state.name.toLowerCase());
    if (!fn) return { kind: 'failed', message: `The orchestrator function '${state.name}' is not registered in this app.` };
    const history = [
      ...state.history.map((e) => ({ ...e, IsPlayed: true })),
      { ...event(EventType.OrchestratorStarted, now), IsPlayed: false },
      ...batch.map((e) => ({ ...e, IsPlayed: false })),
    ];
    const payload = {
      history,
      input: parseJsonString(state.input),
      instanceId: state.instanceId,
      isReplaying: state.history.length > 0,
      parentInstanceId: state.parentInstanceId,
      upperSchemaVersion: 0,
    };
    const [triggerName] = triggerBinding(fn);
    const outcome = await this.options.invoker.invoke(fn, {
      inputs: { [triggerName]: { string: JSON.stringify(payload) } },
      triggerMetadata: { instanceId: { string: JSON.stringify(state.instanceId) } },
      logFields: { instanceId: state.instanceId },
    });
    // The in-process result keeps object identity, which tells re-yielded tasks from new ones (see flattenActions).
    if (outcome.ok) {
      const raw = outcome.result as WireOrchestratorState | undefined;
      const state = raw && Array.isArray(raw.actions) ? raw : (fromTypedData(outcome.response.returnValue) as WireOrchestratorState);
      return { kind: 'state', state };
    }
    const error = outcome.error as Error;
    const [message, stateJson] = String(error?.message ?? error).split('\n\n$OutOfProcData$:');
    let failedState: WireOrchestratorState | undefined;
    try {
      failedState = stateJson ? (JSON.parse(stateJson) as WireOrchestratorState) : undefined;
    } catch {
      failedState = undefined;
    }
    return { kind: 'failed', message, stack: error?.stack?.split('\n\n$OutOfProcData$')[0], state: failedState };
  }

  private async applyControl(entry: Entry, control: HistoryEvent): Promise<void> {
    const state = { ...entry.state, lastUpdatedTime: this.options.clock.now().toISOString() };
    const appended = [{ ...control, EventId: -1 }];
    if (control.EventType === EventType.ExecutionTerminated) {
      Object.assign(state, { status: 'Terminated', output: control.Input });
    } else if (control.EventType === EventType.ExecutionSuspended && state.status !== 'Suspended') {
      state.status = 'Suspended';
    } else if (control.EventType === EventType.ExecutionResumed && state.status === 'Suspended') {
      state.status = state.history.length > 0 ? 'Running' : 'Pending';
    }
    state.history = [...entry.state.history, ...appended];
    state.episodes = entry.state.episodes + 1;
    entry.etag = await this.store.commitEpisode(state, entry.etag, appended);
    entry.state = state;
    entry.inbox = entry.inbox.filter((m) => m !== control);
    this.track(this.store.deleteRows(state.instanceId, [`M_${control.MessageKey}`]));
    this.log.log('information', `Orchestration ${state.status.toLowerCase()}`, { instanceId: state.instanceId });
    if (isTerminal(state.status)) this.onFinished(entry);
  }

  private async continueAsNew(entry: Entry, input: string | undefined, now: Date): Promise<void> {
    const previous = entry.state;
    const state = newOrchestrationState({
      instanceId: previous.instanceId,
      name: previous.name,
      executionId: randomUUID().replace(/-/g, ''),
      input,
      now,
      parentInstanceId: previous.parentInstanceId,
      parentTaskId: previous.parentTaskId,
      parentExecutionId: previous.parentExecutionId,
    });
    state.createdTime = previous.createdTime;
    state.status = 'Running';
    state.customStatus = previous.customStatus;
    entry.timers.forEach((cancel) => cancel());
    entry.timers.clear();
    entry.activitiesStarted.clear();
    const start = this.startEvent(state, now);
    await this.store.appendMessage(state.instanceId, start);
    entry.etag = await this.store.saveInstance(state, entry.etag);
    entry.state = state;
    entry.inbox = [start, ...entry.inbox];
    this.track(this.store.load(state.instanceId).then((stored) => stored && this.store.deleteRows(state.instanceId, stored.garbage)));
  }

  private onFinished(entry: Entry): void {
    const { state } = entry;
    entry.timers.forEach((cancel) => cancel());
    entry.timers.clear();
    // Finished instances leave the cache; their status is read from the table from now on.
    this.entries.delete(state.instanceId);
    this.log.log(state.status === 'Failed' ? 'error' : 'information', `Orchestration '${state.name}' ${state.status}`, { instanceId: state.instanceId });
    if (state.parentInstanceId !== undefined && state.parentTaskId !== undefined) this.track(this.notifyParent(state));
  }

  private async notifyParent(child: OrchestrationState): Promise<void> {
    const now = this.options.clock.now();
    const common = { TaskScheduledId: child.parentTaskId, ExecutionId: child.parentExecutionId };
    const message =
      child.status === 'Completed'
        ? event(EventType.SubOrchestrationInstanceCompleted, now, { ...common, Result: child.output ?? 'null' })
        : event(EventType.SubOrchestrationInstanceFailed, now, {
            ...common,
            Reason: `Sub-orchestration '${child.name}' (${child.instanceId}) ${child.status.toLowerCase()}: ${String(parseJsonString(child.output) ?? '')}`,
            Details: child.failureDetails?.StackTrace ?? '',
            FailureDetails: child.failureDetails ?? { ErrorType: 'SubOrchestrationTerminated', ErrorMessage: `Sub-orchestration ${child.instanceId} was terminated` },
          });
    if (await this.entry(child.parentInstanceId!)) await this.deliver(child.parentInstanceId!, message);
  }

  // ---- work -------------------------------------------------------------------------------------

  private startWork(state: OrchestrationState, item: WorkItem): void {
    const entry = this.entries.get(state.instanceId);
    if (!entry) return;
    if (item.kind === 'activity') {
      if (entry.activitiesStarted.has(item.taskId)) return;
      entry.activitiesStarted.add(item.taskId);
      this.track(this.activityLimiter.run(() => this.runActivity(state.instanceId, state.executionId, item)));
    } else if (item.kind === 'timer') {
      if (entry.timers.has(item.timerId)) return;
      const cancel = this.options.clock.setTimer(new Date(item.fireAt), () => {
        entry.timers.delete(item.timerId);
        this.track(
          this.deliver(
            state.instanceId,
            event(EventType.TimerFired, this.options.clock.now(), { TimerId: item.timerId, FireAt: item.fireAt, ExecutionId: state.executionId }),
          ),
        );
      });
      entry.timers.set(item.timerId, cancel);
    } else {
      this.track(this.startChild(state, item));
    }
  }

  private async runActivity(instanceId: string, executionId: string, item: Extract<WorkItem, { kind: 'activity' }>): Promise<void> {
    if (this.stopped) return;
    const fn = this.activities.get(item.name.toLowerCase());
    const now = () => this.options.clock.now();
    const common = { TaskScheduledId: item.taskId, ExecutionId: executionId };
    if (!fn) {
      const message = `The activity function '${item.name}' is not registered in this app.`;
      await this.deliver(instanceId, event(EventType.TaskFailed, now(), { ...common, Reason: message, Details: '', FailureDetails: { ErrorType: 'FunctionNotFound', ErrorMessage: message } }));
      return;
    }
    const [triggerName] = triggerBinding(fn);
    const outcome = await this.options.invoker.invoke(fn, {
      inputs: { [triggerName]: item.input === undefined ? {} : { json: item.input } },
      triggerMetadata: { instanceId: { string: JSON.stringify(instanceId) } },
      logFields: { instanceId },
    });
    // Results of activities that finish while the host stops are still recorded, so they do not run again.
    if (outcome.ok) {
      const value = fromTypedData(outcome.response.returnValue);
      await this.deliver(instanceId, event(EventType.TaskCompleted, now(), { ...common, Result: JSON.stringify(value ?? null) }));
    } else {
      const details = failureDetailsOf(outcome.error);
      await this.deliver(
        instanceId,
        event(EventType.TaskFailed, now(), { ...common, Reason: details.ErrorMessage, Details: details.StackTrace ?? '', FailureDetails: details }),
      );
    }
  }

  private async startChild(parent: OrchestrationState, item: Extract<WorkItem, { kind: 'subOrchestration' }>): Promise<void> {
    const existing = await this.entry(item.instanceId);
    if (existing && existing.state.parentInstanceId === parent.instanceId && existing.state.parentTaskId === item.taskId) {
      if (isTerminal(existing.state.status)) await this.notifyParent(existing.state);
      return;
    }
    try {
      await this.startNew(item.name, item.instanceId, parseJsonString(item.input), {
        instanceId: parent.instanceId,
        taskId: item.taskId,
        executionId: parent.executionId,
      });
    } catch (err) {
      const message = describeError(err);
      await this.deliver(
        parent.instanceId,
        event(EventType.SubOrchestrationInstanceFailed, this.options.clock.now(), {
          TaskScheduledId: item.taskId,
          ExecutionId: parent.executionId,
          Reason: message,
          Details: '',
          FailureDetails: { ErrorType: 'SubOrchestrationStartFailed', ErrorMessage: message },
        }),
      );
    }
  }
}
