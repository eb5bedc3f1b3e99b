import type { Timer } from '@azure/functions';
import { FakeClock } from '../../emulator/clock';
import { parseSchedule, ScheduleExpressionError } from '../../emulator/timer-schedule';
import {
  checkPastDue,
  MemoryScheduleStatusStore,
  NEVER,
  ScheduleStatus,
  ScheduleStatusStore,
  TimerInfo,
  TimerRegistration,
  TimerScheduler,
  TimerSchedulerOptions,
} from '../../emulator/timer-scheduler';

const T0 = '2024-01-01T00:00:00.000Z';
const t = (hhmmss: string): string => `2024-01-01T${hhmmss}.000Z`;
const MIN = 60_000;

interface Call {
  functionName: string;
  at: string;
  info: TimerInfo;
}

/** A recording store, to see what the scheduler persists. */
class RecordingStore implements ScheduleStatusStore {
  readonly inner = new MemoryScheduleStatusStore();
  readonly writes: { functionName: string; status: ScheduleStatus }[] = [];
  get(functionName: string): Promise<ScheduleStatus | undefined> {
    return this.inner.get(functionName);
  }
  async set(functionName: string, status: ScheduleStatus): Promise<void> {
    this.writes.push({ functionName, status: { ...status } });
    await this.inner.set(functionName, status);
  }
}

function harness(options: Partial<TimerSchedulerOptions> & { clock?: FakeClock; store?: ScheduleStatusStore } = {}) {
  const clock = options.clock ?? new FakeClock(new Date(T0));
  const store = options.store ?? new RecordingStore();
  const calls: Call[] = [];
  const logs: string[] = [];
  const scheduler = new TimerScheduler({
    clock,
    store,
    log: (message) => logs.push(message),
    invoke: async (functionName, info) => {
      calls.push({ functionName, at: clock.now().toISOString(), info });
    },
    ...options,
  });
  return { clock, store, calls, logs, scheduler };
}

async function startWith(registration: TimerRegistration, options: Parameters<typeof harness>[0] = {}) {
  const h = harness(options);
  h.scheduler.add(registration);
  await h.scheduler.start();
  await h.scheduler.idle();
  return h;
}

/** Invocations that stay running until released, to observe overlap. */
function gatedInvoke(clock: FakeClock) {
  const started: string[] = [];
  const gates: (() => void)[] = [];
  let active = 0;
  let maxActive = 0;
  const invoke = async (): Promise<void> => {
    started.push(clock.now().toISOString());
    active++;
    maxActive = Math.max(maxActive, active);
    await new Promise<void>((resolve) => gates.push(resolve));
    active--;
  };
  return {
    invoke,
    started,
    release: () => gates.shift()?.(),
    get maxActive() {
      return maxActive;
    },
  };
}

describe('TimerScheduler: scheduled runs', () => {
  it('invokes on each occurrence with the TimerInfo shape of the v4 library', async () => {
    const { clock, calls, store } = await startWith({ functionName: 'Sweep', schedule: '0 */5 * * * *' });
    expect(calls).toEqual([]);
    await clock.advance(5 * MIN - 1);
    expect(calls).toEqual([]);
    await clock.advance(1);
    await clock.advance(5 * MIN);

    expect(calls.map((c) => c.at)).toEqual([t('00:05:00'), t('00:10:00')]);
    const first: Timer = calls[0].info; // the type user code receives
    expect(first).toEqual({
      schedule: { adjustForDST: true },
      scheduleStatus: { last: NEVER, next: t('00:05:00'), lastUpdated: T0 },
      isPastDue: false,
    });
    expect(calls[1].info.scheduleStatus).toEqual({ last: t('00:05:00'), next: t('00:10:00'), lastUpdated: t('00:05:00') });
    expect(await store.get('Sweep')).toEqual({ last: t('00:10:00'), next: t('00:15:00'), lastUpdated: t('00:10:00') });
  });

  it('runs TimeSpan schedules at a fixed interval from the previous occurrence', async () => {
    const { clock, calls } = await startWith({ functionName: 'Poll', schedule: '00:05:00' });
    await clock.advance(16 * MIN);
    expect(calls.map((c) => c.at)).toEqual([t('00:05:00'), t('00:10:00'), t('00:15:00')]);
    expect(calls[0].info.schedule.adjustForDST).toBe(false);
  });

  it('uses the configured time zone for cron schedules', async () => {
    const clock = new FakeClock(new Date('2024-06-01T00:00:00Z'));
    const { calls } = await startWith({ functionName: 'Morning', schedule: '0 0 9 * * *' }, { clock, timeZone: 'Europe/Amsterdam' });
    await clock.advance(24 * 60 * MIN);
    expect(calls.map((c) => c.at)).toEqual(['2024-06-01T07:00:00.000Z']);
  });

  it('runs several timers independently', async () => {
    const h = harness();
    h.scheduler.add({ functionName: 'A', schedule: '0 */2 * * * *' });
    h.scheduler.add({ functionName: 'B', schedule: '0 */3 * * * *' });
    await h.scheduler.start();
    await h.clock.advance(6 * MIN);
    const times = (fn: string): string[] => h.calls.filter((c) => c.functionName === fn).map((c) => c.at.slice(11, 16));
    expect(times('A')).toEqual(['00:02', '00:04', '00:06']);
    expect(times('B')).toEqual(['00:03', '00:06']);
  });

  it('keeps the schedule after a failing invocation, and logs the failure', async () => {
    const clock = new FakeClock(new Date(T0));
    let n = 0;
    const h = harness({
      clock,
      invoke: async () => {
        n++;
        if (n === 1) throw new Error('boom');
      },
    });
    h.scheduler.add({ functionName: 'Flaky', schedule: '0 * * * * *' });
    await h.scheduler.start();
    await clock.advance(3 * MIN);
    expect(n).toBe(3);
    expect(h.logs.some((l) => l.includes("'Flaky' failed: boom"))).toBe(true);
    expect(await h.store.get('Flaky')).toEqual({ last: t('00:03:00'), next: t('00:04:00'), lastUpdated: t('00:03:00') });
  });

  it('keeps running when the status store fails, and logs it', async () => {
    const store: ScheduleStatusStore = {
      get: async () => undefined,
      set: async () => {
        throw new Error('table down');
      },
    };
    const { clock, calls, logs } = await startWith({ functionName: 'Sweep', schedule: '0 * * * * *' }, { store });
    await clock.advance(2 * MIN);
    expect(calls).toHaveLength(2);
    expect(logs.some((l) => l.includes('Could not save the schedule status') && l.includes('table down'))).toBe(true);
  });
});

describe('TimerScheduler: startup', () => {
  it('runs a runOnStartup timer once at start, then on schedule', async () => {
    const { clock, calls } = await startWith({ functionName: 'Warm', schedule: '0 0 * * * *', runOnStartup: true });
    expect(calls).toHaveLength(1);
    expect(calls[0].at).toBe(T0);
    expect(calls[0].info.isPastDue).toBe(false);
    expect(calls[0].info.scheduleStatus.next).toBe(t('01:00:00'));
    await clock.advance(60 * MIN);
    expect(calls.map((c) => c.at)).toEqual([T0, t('01:00:00')]);
  });

  it('detects an occurrence missed while the host was down and runs it once with isPastDue', async () => {
    const store = new RecordingStore();
    const clock = new FakeClock(new Date(T0));
    const first = harness({ clock, store });
    first.scheduler.add({ functionName: 'Sweep', schedule: '0 */5 * * * *' });
    await first.scheduler.start();
    await clock.advance(6 * MIN);
    await first.scheduler.stop();
    expect(first.calls.map((c) => c.at)).toEqual([t('00:05:00')]);

    await clock.advance(11 * MIN); // down from 00:06 to 00:17: 00:10 and 00:15 were missed

    const second = harness({ clock, store });
    second.scheduler.add({ functionName: 'Sweep', schedule: '0 */5 * * * *', runOnStartup: true });
    await second.scheduler.start();
    await second.scheduler.idle();
    expect(second.calls).toHaveLength(1); // one catch-up run, not one per missed occurrence, and not also runOnStartup
    expect(second.calls[0]).toMatchObject({
      at: t('00:17:00'),
      info: { isPastDue: true, scheduleStatus: { last: t('00:05:00'), next: t('00:10:00'), lastUpdated: t('00:05:00') } },
    });
    expect(await store.get('Sweep')).toEqual({ last: t('00:17:00'), next: t('00:20:00'), lastUpdated: t('00:17:00') });
    await clock.advance(3 * MIN);
    expect(second.calls.map((c) => [c.at, c.info.isPastDue])).toEqual([
      [t('00:17:00'), true],
      [t('00:20:00'), false],
    ]);
    await second.scheduler.stop();
  });

  it('is not past due when restarted before the next occurrence', async () => {
    const store = new RecordingStore();
    const clock = new FakeClock(new Date(T0));
    const first = harness({ clock, store });
    first.scheduler.add({ functionName: 'Sweep', schedule: '0 */5 * * * *' });
    await first.scheduler.start();
    await clock.advance(6 * MIN);
    await first.scheduler.stop();
    await clock.advance(2 * MIN);

    const second = harness({ clock, store });
    second.scheduler.add({ functionName: 'Sweep', schedule: '0 */5 * * * *' });
    await second.scheduler.start();
    await second.scheduler.idle();
    expect(second.calls).toEqual([]);
    await clock.advance(2 * MIN);
    expect(second.calls.map((c) => [c.at, c.info.isPastDue])).toEqual([[t('00:10:00'), false]]);
  });

  it('records the first status of a new timer at start', async () => {
    const store = new RecordingStore();
    await startWith({ functionName: 'Fresh', schedule: '0 0 * * * *' }, { store });
    expect(store.writes).toEqual([{ functionName: 'Fresh', status: { last: NEVER, next: t('01:00:00'), lastUpdated: T0 } }]);
  });

  it('does not count an edited schedule as a missed occurrence', async () => {
    const store = new RecordingStore();
    await store.set('Job', { last: t('01:00:00'), next: t('02:00:00'), lastUpdated: t('01:00:00') }); // hourly, last ran 01:00
    const clock = new FakeClock(new Date(t('01:30:00')));
    const h = await startWith({ functionName: 'Job', schedule: '0 */5 * * * *' }, { clock, store });
    expect(h.calls).toEqual([]);
    expect(await store.get('Job')).toEqual({ last: NEVER, next: t('01:35:00'), lastUpdated: t('01:30:00') });
    await clock.advance(5 * MIN);
    expect(h.calls.map((c) => c.at)).toEqual([t('01:35:00')]);
  });

  it('keeps no status and detects nothing past due with useMonitor: false', async () => {
    const store = new RecordingStore();
    await store.set('Quiet', { last: t('00:05:00'), next: t('00:10:00'), lastUpdated: t('00:05:00') });
    store.writes.length = 0;
    const clock = new FakeClock(new Date(t('01:00:00')));
    const h = await startWith({ functionName: 'Quiet', schedule: '0 */5 * * * *', useMonitor: false }, { clock, store });
    expect(h.calls).toEqual([]);
    await clock.advance(5 * MIN);
    expect(h.calls).toHaveLength(1);
    expect(h.calls[0].info.scheduleStatus).toEqual({ last: NEVER, next: t('01:05:00'), lastUpdated: NEVER });
    expect(store.writes).toEqual([]);
  });

  it('turns the monitor off for schedules that run more than once a minute', async () => {
    const store = new RecordingStore();
    const { clock, calls } = await startWith({ functionName: 'Fast', schedule: '*/10 * * * * *' }, { store });
    await clock.advance(30_000);
    expect(calls).toHaveLength(3);
    expect(store.writes).toEqual([]);
  });
});

describe('TimerScheduler: no overlap and stop', () => {
  it('never overlaps an invocation with itself; a missed occurrence runs right after', async () => {
    const clock = new FakeClock(new Date(T0));
    const gate = gatedInvoke(clock);
    const h = harness({ clock, invoke: gate.invoke });
    h.scheduler.add({ functionName: 'Slow', schedule: '0 * * * * *' });
    await h.scheduler.start();

    expect(h.scheduler.timerStates()).toEqual([{ functionName: 'Slow', next: t('00:01:00'), running: false }]);
    await clock.advance(MIN); // 00:01 starts and hangs
    await clock.advance(3.5 * MIN); // 00:02, 00:03, 00:04 come and go
    expect(gate.started).toEqual([t('00:01:00')]);
    expect(h.scheduler.timerStates()).toEqual([{ functionName: 'Slow', next: t('00:01:00'), running: true }]);

    gate.release(); // 00:01 finishes at 00:04:30
    await clock.advance(0);
    expect(gate.started).toEqual([t('00:01:00'), t('00:04:30')]);
    gate.release();
    await clock.advance(30_000);
    expect(gate.started).toEqual([t('00:01:00'), t('00:04:30'), t('00:05:00')]);
    expect(gate.maxActive).toBe(1);
    gate.release();
    await h.scheduler.stop();
  });

  it('stop() cancels pending timers and waits for the running invocation', async () => {
    const clock = new FakeClock(new Date(T0));
    const gate = gatedInvoke(clock);
    const h = harness({ clock, invoke: gate.invoke });
    h.scheduler.add({ functionName: 'Slow', schedule: '0 * * * * *' });
    h.scheduler.add({ functionName: 'Idle', schedule: '0 0 * * * *' });
    await h.scheduler.start();
    await clock.advance(MIN);
    expect(gate.started).toHaveLength(1);

    let stopped = false;
    const stopping = h.scheduler.stop().then(() => (stopped = true));
    await clock.advance(0);
    expect(stopped).toBe(false);
    expect(clock.pendingTimers()).toBe(0);

    gate.release();
    await stopping;
    expect(stopped).toBe(true);
    expect(h.scheduler.status('Slow')).toMatchObject({ last: t('00:01:00'), next: t('00:02:00') });
    await clock.advance(120 * MIN);
    expect(gate.started).toHaveLength(1);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('does not start a runOnStartup invocation after stop', async () => {
    const h = harness();
    h.scheduler.add({ functionName: 'Warm', schedule: '0 0 * * * *' });
    await h.scheduler.stop();
    await h.scheduler.start();
    await h.clock.advance(120 * MIN);
    expect(h.calls).toEqual([]);
  });
});

describe('TimerScheduler: registration errors', () => {
  it('rejects an invalid schedule, naming it', () => {
    const { scheduler } = harness();
    expect(() => scheduler.add({ functionName: 'Bad', schedule: '0 0 25 * * *' })).toThrow(ScheduleExpressionError);
    expect(() => scheduler.add({ functionName: 'Bad', schedule: 'often' })).toThrow(/'often'/);
  });

  it('rejects duplicates, late registrations and unknown time zones', async () => {
    const { scheduler } = harness();
    scheduler.add({ functionName: 'Once', schedule: '0 0 * * * *' });
    expect(() => scheduler.add({ functionName: 'once', schedule: '0 0 * * * *' })).toThrow(/already registered/);
    await scheduler.start();
    expect(() => scheduler.add({ functionName: 'Late', schedule: '0 0 * * * *' })).toThrow(/after start/);
    await expect(scheduler.start()).rejects.toThrow(/already started/);
    expect(() => harness({ timeZone: 'Middle Earth' })).toThrow(/Unknown time zone/);
  });
});

describe('checkPastDue', () => {
  const every5 = parseSchedule('0 */5 * * * *');
  const now = new Date(t('00:17:00'));

  it('initialises a missing status from now', () => {
    expect(checkPastDue(now, every5, undefined)).toEqual({
      status: { last: NEVER, next: t('00:20:00'), lastUpdated: t('00:17:00') },
      changed: true,
      pastDue: false,
    });
  });

  it('is past due when now is after the stored next', () => {
    const stored = { last: t('00:05:00'), next: t('00:10:00'), lastUpdated: t('00:05:00') };
    expect(checkPastDue(now, every5, stored)).toEqual({ status: stored, changed: false, pastDue: true });
  });

  it('is not past due exactly at the stored next', () => {
    const stored = { last: t('00:10:00'), next: t('00:15:00'), lastUpdated: t('00:10:00') };
    expect(checkPastDue(new Date(t('00:15:00')), every5, stored).pastDue).toBe(false);
  });

  it('uses lastUpdated when the timer never ran', () => {
    const stored = { last: NEVER, next: t('00:15:00'), lastUpdated: t('00:12:00') };
    expect(checkPastDue(now, every5, stored)).toEqual({ status: stored, changed: false, pastDue: true });
  });

  it('recomputes next for an edited schedule, keeping it when still ahead', () => {
    const hourlyStatus = { last: t('00:00:00'), next: t('01:00:00'), lastUpdated: t('00:00:00') };
    expect(checkPastDue(new Date(t('00:02:00')), every5, hourlyStatus)).toEqual({
      status: { last: NEVER, next: t('00:05:00'), lastUpdated: t('00:00:00') },
      changed: true,
      pastDue: false,
    });
  });

  it('treats an unreadable stored next as no status', () => {
    expect(checkPastDue(now, every5, { last: 'x', next: 'garbage', lastUpdated: 'y' })).toMatchObject({ changed: true, pastDue: false });
  });
});
