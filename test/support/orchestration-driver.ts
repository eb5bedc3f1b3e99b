/**
 * Runs an orchestrator function through the durable-functions replay engine without a host: episodes are
 * decided by the embedded host's pure core (emulator/durable/episode), and every activity, timer and
 * sub-orchestration completes as a script says. For unit tests of orchestrators.
 */
import type { OrchestrationContext } from 'durable-functions';
import { DummyOrchestrationContext } from 'durable-functions';
import {
  decideEpisode,
  newOrchestrationState,
  OrchestrationState,
  OrchestratorOutcome,
  selectBatch,
  WireOrchestratorState,
  WorkItem,
} from '../../emulator/durable/episode';
import { event, EventType, HistoryEvent, parseJsonString } from '../../emulator/durable/history';

/* eslint-disable @typescript-eslint/no-require-imports -- the replay helpers ship without type declarations */
const testingUtils = require('durable-functions/lib/src/util/testingUtils') as {
  createOrchestrator(fn: (context: OrchestrationContext) => Generator): (input: unknown, context: unknown) => Promise<WireOrchestratorState>;
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** `stackTrace`: what a real activity's failure carries besides its message (a KluisError's code is in its first line). */
export type Outcome = { result: unknown } | { error: string; stackTrace?: string };
export type Script = (work: Exclude<WorkItem, { kind: 'timer' }> & { parsedInput: unknown }) => Outcome;

export interface DriverRun {
  state: OrchestrationState;
  /** Every activity and sub-orchestration started, in order. */
  started: Array<Exclude<WorkItem, { kind: 'timer' }> & { parsedInput: unknown }>;
  customStatuses: unknown[];
  /** Activities and sub-orchestrations started by each episode (for fan-out bounds). */
  startedPerEpisode: number[];
  output: unknown;
}

const OUT_OF_PROC_DATA = '\n\n$OutOfProcData$:';

export async function drive(
  orchestrator: (context: OrchestrationContext) => Generator,
  input: unknown,
  script: Script,
  options: { instanceId?: string; start?: Date; maxEpisodes?: number } = {},
): Promise<DriverRun> {
  const run = testingUtils.createOrchestrator(orchestrator);
  let now = (options.start ?? new Date('2026-03-01T02:00:00Z')).getTime();
  const tick = () => new Date((now += 1000));
  let state = newOrchestrationState({ instanceId: options.instanceId ?? 'job-1', name: 'orchestrator', executionId: 'e1', input: JSON.stringify(input), now: new Date(now) });
  let inbox: HistoryEvent[] = [event(EventType.ExecutionStarted, new Date(now), { Name: 'orchestrator', Input: JSON.stringify(input) })];
  const started: DriverRun['started'] = [];
  const customStatuses: unknown[] = [];
  const startedPerEpisode: number[] = [];

  for (let episode = 0; episode < (options.maxEpisodes ?? 500); episode++) {
    const { batch } = selectBatch(state, inbox);
    if (batch.length === 0) throw new Error(`The orchestrator waits for nothing the script can deliver (status ${state.status}; started: ${started.map((w) => w.name).join(", ")}).`);
    inbox = inbox.filter((m) => !batch.includes(m));
    const at = tick();
    const history = [
      ...state.history.map((e) => ({ ...e, IsPlayed: true })),
      { ...event(EventType.OrchestratorStarted, at), IsPlayed: false },
      ...batch.map((e) => ({ ...e, IsPlayed: false })),
    ];
    let outcome: OrchestratorOutcome;
    try {
      const payload = { history, input, instanceId: state.instanceId, isReplaying: state.history.length > 0, upperSchemaVersion: 0 };
      outcome = { kind: 'state', state: await run(payload, new DummyOrchestrationContext('orchestrator', 'invocation', () => undefined)) };
    } catch (err) {
      const message = (err as Error).message;
      const index = message.indexOf(OUT_OF_PROC_DATA);
      if (index < 0) throw err;
      outcome = { kind: 'failed', message: message.slice(0, index), state: JSON.parse(message.slice(index + OUT_OF_PROC_DATA.length)) };
    }
    const decided = decideEpisode(state, batch, at, outcome);
    state = decided.state;
    customStatuses.push(parseJsonString(state.customStatus));
    if (['Completed', 'Failed', 'Terminated'].includes(state.status)) {
      return { state, started, customStatuses, startedPerEpisode, output: parseJsonString(state.output) };
    }
    startedPerEpisode.push(decided.work.filter((w) => w.kind !== 'timer').length);
    for (const work of decided.work) {
      if (work.kind === 'timer') {
        inbox.push(event(EventType.TimerFired, tick(), { TimerId: work.timerId, FireAt: work.fireAt }));
        continue;
      }
      const item = { ...work, parsedInput: parseJsonString(work.input) };
      started.push(item);
      const result = script(item);
      const sub = work.kind === 'subOrchestration';
      inbox.push(
        'result' in result
          ? event(sub ? EventType.SubOrchestrationInstanceCompleted : EventType.TaskCompleted, tick(), {
              TaskScheduledId: work.taskId,
              Result: JSON.stringify(result.result ?? null),
            })
          : event(sub ? EventType.SubOrchestrationInstanceFailed : EventType.TaskFailed, tick(), {
              TaskScheduledId: work.taskId,
              Reason: result.error,
              Details: result.stackTrace ?? '',
              FailureDetails: { ErrorType: 'Error', ErrorMessage: result.error, ...(result.stackTrace === undefined ? {} : { StackTrace: result.stackTrace }) },
            }),
      );
    }
  }
  throw new Error('The orchestration did not finish.');
}
