/**
 * Replays backupOrchestrator through durable-functions' own replay engine: a history goes in, the
 * scheduled actions, custom status and result come out (as in azure-functions-durable-js's tests).
 */
import type { OrchestrationContext } from 'durable-functions';
import { DummyOrchestrationContext } from 'durable-functions';
import { backupOrchestrator, backupRetryOptions } from '../../orchestrations/backup';
import {
  Activities,
  type ActivityName,
  type BackupCustomStatus,
  type BackupInput,
  type BackupOutput,
} from '../../orchestrations/contracts';
import type { DiscoveredDisk, SnapshotRef, TransferResult } from '../../lib/domain/backup-slice';

/* eslint-disable @typescript-eslint/no-require-imports -- the replay helpers ship without type declarations */
type EventCtor = new (options: Record<string, unknown>) => object;
const history = {
  OrchestratorStarted: require('durable-functions/lib/src/history/OrchestratorStartedEvent').OrchestratorStartedEvent as EventCtor,
  OrchestratorCompleted: require('durable-functions/lib/src/history/OrchestratorCompletedEvent').OrchestratorCompletedEvent as EventCtor,
  ExecutionStarted: require('durable-functions/lib/src/history/ExecutionStartedEvent').ExecutionStartedEvent as EventCtor,
  TaskScheduled: require('durable-functions/lib/src/history/TaskScheduledEvent').TaskScheduledEvent as EventCtor,
  TaskCompleted: require('durable-functions/lib/src/history/TaskCompletedEvent').TaskCompletedEvent as EventCtor,
  TaskFailed: require('durable-functions/lib/src/history/TaskFailedEvent').TaskFailedEvent as EventCtor,
  TimerCreated: require('durable-functions/lib/src/history/TimerCreatedEvent').TimerCreatedEvent as EventCtor,
  TimerFired: require('durable-functions/lib/src/history/TimerFiredEvent').TimerFiredEvent as EventCtor,
};
const testingUtils = require('durable-functions/lib/src/util/testingUtils') as {
  createOrchestrator(fn: (context: OrchestrationContext) => Generator): (input: unknown, context: unknown) => Promise<OrchestratorState>;
  DurableOrchestrationInput: new (instanceId: string, history: object[], input: unknown) => object;
};
/* eslint-enable @typescript-eslint/no-require-imports */

interface ScheduledAction {
  actionType: number;
  functionName: string;
  input: unknown;
  retryOptions?: { firstRetryIntervalInMilliseconds: number; maxNumberOfAttempts: number; backoffCoefficient: number };
}
interface OrchestratorState {
  isDone: boolean;
  actions: ScheduledAction[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
}

const CALL_ACTIVITY_WITH_RETRY = 1;
const OUT_OF_PROC_DATA = '\n\n$OutOfProcData$:';
const START = new Date('2026-03-01T02:00:00.000Z');
const INSTANCE_ID = 'job-0001';
const orchestrator = testingUtils.createOrchestrator(backupOrchestrator);

type Attempt = { result: unknown } | { failure: FailureText };
type FailureText = { reason: string; details: string } | { failureDetails: Record<string, unknown> };
type Script = Partial<Record<ActivityName, Attempt[]>>;

interface Run {
  scheduled: ScheduledAction[];
  statuses: unknown[];
  state: OrchestratorState;
  failed: boolean;
}

/**
 * Drives the orchestrator like the Durable extension would: run an episode, append the history
 * for each newly scheduled activity (its attempts, with the retry timers between failures), run
 * again, until the orchestration completes or fails.
 */
async function runToEnd(input: BackupInput, script: Script): Promise<Run> {
  let clock = START.getTime();
  const tick = (): Date => new Date((clock += 1000));
  const events: object[] = [
    new history.OrchestratorStarted({ eventId: -1, timestamp: START, isPlayed: false }),
    new history.ExecutionStarted({ eventId: -1, timestamp: START, isPlayed: true, name: 'backup', input: JSON.stringify(input) }),
  ];
  const scheduled: ScheduledAction[] = [];
  const statuses: unknown[] = [];
  let nextEventId = 0;

  for (let episode = 0; episode < 20; episode++) {
    const { state, failed } = await runEpisode(input, events);
    statuses.push(state.customStatus);
    const actions = state.actions.flat();
    const fresh = actions.slice(scheduled.length);
    scheduled.push(...fresh);
    if (state.isDone || failed) return { scheduled, statuses, state, failed };
    if (fresh.length === 0) throw new Error('orchestrator is waiting on nothing');

    for (const action of fresh) {
      const attempts = script[action.functionName as ActivityName] ?? [{ result: defaultResult(action.functionName) }];
      const maxAttempts = action.retryOptions?.maxNumberOfAttempts ?? 1;
      for (let attempt = 0; attempt < maxAttempts; attempt++) {
        const outcome = attempts[Math.min(attempt, attempts.length - 1)];
        const taskId = nextEventId++;
        events.push(
          new history.TaskScheduled({ eventId: taskId, timestamp: tick(), isPlayed: false, name: action.functionName, input: JSON.stringify(action.input) }),
          new history.OrchestratorCompleted({ eventId: -1, timestamp: tick(), isPlayed: false }),
          new history.OrchestratorStarted({ eventId: -1, timestamp: tick(), isPlayed: false }),
        );
        if ('result' in outcome) {
          events.push(new history.TaskCompleted({ eventId: -1, timestamp: tick(), isPlayed: false, taskScheduledId: taskId, result: JSON.stringify(outcome.result) }));
          break;
        }
        events.push(new history.TaskFailed({ eventId: -1, timestamp: tick(), isPlayed: false, taskScheduledId: taskId, ...failedEventFields(outcome.failure) }));
        const timerId = nextEventId++;
        const fireAt = tick();
        events.push(
          new history.TimerCreated({ eventId: timerId, timestamp: fireAt, isPlayed: false, fireAt }),
          new history.OrchestratorCompleted({ eventId: -1, timestamp: tick(), isPlayed: false }),
          new history.OrchestratorStarted({ eventId: -1, timestamp: tick(), isPlayed: false }),
          new history.TimerFired({ eventId: -1, timestamp: tick(), isPlayed: false, timerId, fireAt }),
        );
      }
    }
  }
  throw new Error('orchestration did not finish within 20 episodes');
}

async function runEpisode(input: BackupInput, events: object[]): Promise<{ state: OrchestratorState; failed: boolean }> {
  const context = new DummyOrchestrationContext('backup', 'invocation', () => undefined);
  try {
    const state = await orchestrator(new testingUtils.DurableOrchestrationInput(INSTANCE_ID, events, input), context);
    return { state, failed: false };
  } catch (err) {
    const message = (err as Error).message;
    const at = message.indexOf(OUT_OF_PROC_DATA);
    if (at < 0) throw err;
    return { state: JSON.parse(message.slice(at + OUT_OF_PROC_DATA.length)) as OrchestratorState, failed: true };
  }
}

function failedEventFields(failure: FailureText): Record<string, unknown> {
  return 'failureDetails' in failure ? { failureDetails: failure.failureDetails } : { reason: failure.reason, details: failure.details };
}

/** How the Functions host reports an activity's thrown KluisError (legacy Reason/Details form). */
function kluisFailure(activity: string, code: string, message: string): { failure: FailureText } {
  return {
    failure: {
      reason: `Activity function '${activity}' failed: ${message}`,
      details: `KluisError [${code}]: ${message}\n    at transferFull (lib/services/backup-slice.ts:1:1)`,
    },
  };
}

const request: BackupInput = { sourceContainer: 'disks', sourceBlob: 'vm1/os.vhd', itemId: 'vm1-os' };
const disk: DiscoveredDisk = {
  sourceContainer: 'disks',
  sourceBlob: 'vm1/os.vhd',
  lun: 0,
  blobSize: 64 * 1024 * 1024 + 512,
  dataSize: 64 * 1024 * 1024,
  vhdUniqueId: '00112233445566778899aabbccddeeff',
};
const snapshot: SnapshotRef = { container: 'disks', blob: 'vm1/os.vhd', snapshot: '2026-03-01T02:00:03.0000000Z', takenAt: '2026-03-01T02:00:03.000Z' };
const transfer: TransferResult = {
  replicaContainer: 'kluis-vault',
  replicaBlob: 'items/vm1-os/disks/0/replica.vhd',
  bytesCopied: 6_000_000,
  bytesUploaded: 5_000_000,
  chunksUploaded: 3,
  md5Base64: 'q83vASNFZ4mrze8BI0VniQ==',
};
const commit = {
  recoveryPointId: String(START.getTime()),
  manifestContainer: 'kluis-vault',
  manifestBlob: `items/vm1-os/recoveryPoints/${START.getTime()}/manifest.json`,
  replicaSnapshot: '2026-03-01T02:00:09.0000000Z',
};

function defaultResult(name: string): unknown {
  switch (name) {
    case Activities.Discover:
      return disk;
    case Activities.Snapshot:
      return snapshot;
    case Activities.Transfer:
      return transfer;
    case Activities.Commit:
      return commit;
    case Activities.Cleanup:
      return { deleted: snapshot.snapshot };
    default:
      throw new Error(`unexpected activity ${name}`);
  }
}

const names = (run: Run): string[] => run.scheduled.map((a) => a.functionName);

describe('backupOrchestrator', () => {
  it('first schedules discover, with retry, and reports the stage', async () => {
    const context = new DummyOrchestrationContext('backup', 'invocation', () => undefined);
    const events = [
      new history.OrchestratorStarted({ eventId: -1, timestamp: START, isPlayed: false }),
      new history.ExecutionStarted({ eventId: -1, timestamp: START, isPlayed: true, name: 'backup', input: JSON.stringify(request) }),
    ];
    const state = await orchestrator(new testingUtils.DurableOrchestrationInput(INSTANCE_ID, events, request), context);

    expect(state.isDone).toBe(false);
    expect(state.actions.flat()).toEqual([
      expect.objectContaining({
        actionType: CALL_ACTIVITY_WITH_RETRY,
        functionName: Activities.Discover,
        input: { request },
        retryOptions: expect.objectContaining({ firstRetryIntervalInMilliseconds: 5000, maxNumberOfAttempts: 3, backoffCoefficient: 2 }),
      }),
    ]);
    expect(state.customStatus).toEqual({ stage: 'discover' });
  });

  it('chains discover → snapshot → transfer → commit → cleanup and returns the recovery point', async () => {
    const run = await runToEnd(request, {});

    expect(run.failed).toBe(false);
    expect(names(run)).toEqual(['discover', 'snapshot', 'transfer', 'commit', 'cleanup']);
    expect(run.scheduled.every((a) => a.actionType === CALL_ACTIVITY_WITH_RETRY)).toBe(true);
    const retry = backupRetryOptions();
    expect(run.scheduled[0].retryOptions).toMatchObject({
      firstRetryIntervalInMilliseconds: retry.firstRetryIntervalInMilliseconds,
      maxNumberOfAttempts: retry.maxNumberOfAttempts,
    });
    expect(run.scheduled[1].input).toEqual({ disk, itemId: 'vm1-os', jobId: INSTANCE_ID });
    expect(run.scheduled[2].input).toEqual({ disk, snapshot, itemId: 'vm1-os', jobId: INSTANCE_ID });
    expect(run.scheduled[3].input).toEqual({
      request,
      jobId: INSTANCE_ID,
      recoveryPointId: String(START.getTime()),
      disk,
      snapshot,
      transfer,
    });
    expect(run.scheduled[4].input).toEqual({ snapshot });
    expect(run.statuses.map((s) => (s as BackupCustomStatus).stage)).toEqual([
      'discover',
      'snapshot',
      'transfer',
      'commit',
      'cleanup',
      'completed',
    ]);
    expect(run.state.isDone).toBe(true);
    expect(run.state.output).toEqual({
      status: 'Completed',
      jobId: INSTANCE_ID,
      itemId: 'vm1-os',
      recoveryPointId: commit.recoveryPointId,
      manifestContainer: 'kluis-vault',
      manifestBlob: commit.manifestBlob,
      replicaBlob: transfer.replicaBlob,
      replicaSnapshot: commit.replicaSnapshot,
      bytesCopied: transfer.bytesCopied,
      md5Base64: transfer.md5Base64,
      warnings: [],
    } satisfies BackupOutput);
  });

  it('goes on after an activity fails once and then succeeds on retry', async () => {
    const run = await runToEnd(request, {
      transfer: [kluisFailure('transfer', 'KluisTransferIntegrityFailed', 'Read 0 bytes at offset 0, expected 512.'), { result: transfer }],
    });

    expect(run.failed).toBe(false);
    expect(names(run)).toEqual(['discover', 'snapshot', 'transfer', 'commit', 'cleanup']);
    expect((run.state.output as BackupOutput).status).toBe('Completed');
  });

  it('still deletes the snapshot when the transfer fails, then fails with the transfer error code', async () => {
    const run = await runToEnd(request, {
      transfer: [kluisFailure('transfer', 'KluisTransferIntegrityFailed', 'Read 0 bytes at offset 0, expected 512.')],
    });

    expect(run.failed).toBe(true);
    expect(names(run)).toEqual(['discover', 'snapshot', 'transfer', 'cleanup']);
    expect(run.scheduled[3].input).toEqual({ snapshot });
    expect(run.state.customStatus).toEqual({
      stage: 'failed',
      failedStage: 'transfer',
      errorCode: 'KluisTransferIntegrityFailed',
      errorMessage: 'Read 0 bytes at offset 0, expected 512.',
    });
    expect(run.state.error).toBe('KluisError [KluisTransferIntegrityFailed]: Read 0 bytes at offset 0, expected 512.');
  });

  it('still deletes the snapshot when the commit fails (structured failure details)', async () => {
    const run = await runToEnd(request, {
      commit: [
        {
          failure: {
            failureDetails: {
              ErrorType: 'KluisError',
              ErrorMessage: 'The blob was not found.',
              StackTrace: "KluisError [KluisBlobNotFound]: The blob 'kluis-vault/x' was not found.\n    at commitManifest",
              IsNonRetriable: false,
            },
          },
        },
      ],
    });

    expect(run.failed).toBe(true);
    expect(names(run)).toEqual(['discover', 'snapshot', 'transfer', 'commit', 'cleanup']);
    expect(run.state.customStatus).toMatchObject({ stage: 'failed', failedStage: 'commit', errorCode: 'KluisBlobNotFound' });
  });

  it('reports the original error, not a cleanup failure, when both fail', async () => {
    const run = await runToEnd(request, {
      transfer: [kluisFailure('transfer', 'KluisTransferIntegrityFailed', 'mismatch')],
      cleanup: [kluisFailure('cleanup', 'BackUpOperationFailed', 'storage unavailable')],
    });

    expect(run.failed).toBe(true);
    expect(names(run)).toEqual(['discover', 'snapshot', 'transfer', 'cleanup']);
    expect(run.state.customStatus).toMatchObject({ failedStage: 'transfer', errorCode: 'KluisTransferIntegrityFailed' });
  });

  it('fails at discover without snapshot or cleanup when the source disk is missing', async () => {
    const run = await runToEnd(request, {
      discover: [kluisFailure('discover', 'KluisSourceDiskNotFound', "The source disk 'disks/vm1/os.vhd' was not found.")],
    });

    expect(run.failed).toBe(true);
    expect(names(run)).toEqual(['discover']);
    expect(run.state.customStatus).toEqual({
      stage: 'failed',
      failedStage: 'discover',
      errorCode: 'KluisSourceDiskNotFound',
      errorMessage: "The source disk 'disks/vm1/os.vhd' was not found.",
    });
  });

  it('maps a failure without a Kluis code to BackUpOperationFailed', async () => {
    const run = await runToEnd(request, {
      snapshot: [{ failure: { reason: "Activity function 'snapshot' failed: socket hang up", details: 'Error: socket hang up' } }],
    });

    expect(run.failed).toBe(true);
    expect(names(run)).toEqual(['discover', 'snapshot']);
    expect(run.state.customStatus).toMatchObject({ failedStage: 'snapshot', errorCode: 'BackUpOperationFailed' });
  });

  it('completes with a warning when only the snapshot cleanup fails', async () => {
    const run = await runToEnd(request, {
      cleanup: [kluisFailure('cleanup', 'BackUpOperationFailed', 'storage unavailable')],
    });

    expect(run.failed).toBe(false);
    const output = run.state.output as BackupOutput;
    expect(output.status).toBe('CompletedWithWarnings');
    expect(output.warnings).toEqual([{ code: 'BackUpOperationFailed', message: 'storage unavailable' }]);
    expect(output.recoveryPointId).toBe(commit.recoveryPointId);
  });
});
