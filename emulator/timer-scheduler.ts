/**
 * Runs timer triggers on a Clock the way the Functions host's TimerListener does:
 * - on start, the stored schedule status (last/next) tells whether an occurrence was missed while
 *   the host was down; if so the function runs once at once with `isPastDue: true` (ScheduleMonitor);
 *   otherwise `runOnStartup` runs it once at start;
 * - an invocation never overlaps with itself: the next timer is set only when the previous
 *   invocation has finished, and an occurrence that fell due meanwhile runs right after it;
 * - after every run the status is stored, so a restarted host can tell what it missed;
 * - sub-minute schedules and `useMonitor: false` keep no stored status (no past-due detection).
 */
import type { Clock } from './clock';
import { assertTimeZone, parseSchedule, Schedule } from './timer-schedule';

/** What the v4 library hands user code for a timer trigger (`Timer` in @azure/functions). */
export interface TimerInfo {
  schedule: { adjustForDST: boolean };
  scheduleStatus: ScheduleStatus;
  isPastDue: boolean;
}

/** ISO date strings, as in the `Timer` type. */
export interface ScheduleStatus {
  last: string;
  next: string;
  lastUpdated: string;
}

export interface TimerRegistration {
  functionName: string;
  /** NCRONTAB expression or TimeSpan, already resolved (`%Setting%` references replaced). */
  schedule: string;
  runOnStartup?: boolean;
  /** Default true; forced off for schedules that run more than once a minute, as the host does. */
  useMonitor?: boolean;
}

export interface ScheduleStatusStore {
  get(functionName: string): Promise<ScheduleStatus | undefined>;
  set(functionName: string, status: ScheduleStatus): Promise<void>;
}

export class MemoryScheduleStatusStore implements ScheduleStatusStore {
  private readonly statuses = new Map<string, ScheduleStatus>();

  async get(functionName: string): Promise<ScheduleStatus | undefined> {
    const status = this.statuses.get(functionName.toLowerCase());
    return status && { ...status };
  }

  async set(functionName: string, status: ScheduleStatus): Promise<void> {
    this.statuses.set(functionName.toLowerCase(), { ...status });
  }
}

export interface TimerSchedulerOptions {
  clock: Clock;
  store: ScheduleStatusStore;
  invoke: (functionName: string, timer: TimerInfo) => Promise<void>;
  log?: (message: string, fields?: object) => void;
  /** IANA time zone for cron schedules (WEBSITE_TIME_ZONE); default UTC. */
  timeZone?: string;
}

/** The host's "never" (default DateTime) for `last` and `lastUpdated`. */
export const NEVER = '0001-01-01T00:00:00.000Z';

type InvocationReason = 'schedule' | 'pastDue' | 'startup';

interface TimerState {
  readonly registration: TimerRegistration;
  readonly schedule: Schedule;
  readonly useMonitor: boolean;
  status: ScheduleStatus;
  cancelTimer?: () => void;
  running?: Promise<void>;
}

function iso(date: Date): string {
  return date.toISOString();
}

function parseTime(value: string | undefined): number | undefined {
  if (!value || value === NEVER) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) || ms <= Date.parse(NEVER) ? undefined : ms;
}

export interface PastDueCheck {
  status: ScheduleStatus;
  /** The status differs from the stored one and must be saved. */
  changed: boolean;
  pastDue: boolean;
}

/**
 * ScheduleMonitor.CheckPastDueAsync: past due when now is after the stored `next`. If the stored
 * `next` no longer follows from `last` (the schedule was edited), it is recomputed first, from now
 * when it would otherwise already be in the past, so an edit alone never counts as a missed run.
 */
export function checkPastDue(now: Date, schedule: Schedule, stored: ScheduleStatus | undefined, timeZone?: string): PastDueCheck {
  const nowMs = now.getTime();
  if (!stored || parseTime(stored.next) === undefined) {
    const status = { last: NEVER, next: iso(schedule.next(now, timeZone)), lastUpdated: iso(now) };
    return { status, changed: true, pastDue: false };
  }
  const last = parseTime(stored.last);
  const lastUpdated = parseTime(stored.lastUpdated);
  const basis = last ?? lastUpdated ?? nowMs;
  let expectedNext = schedule.next(new Date(basis), timeZone).getTime();
  let status: ScheduleStatus = { ...stored };
  let changed = false;
  if (parseTime(stored.next) !== expectedNext) {
    let updated = basis;
    if (nowMs > expectedNext) {
      expectedNext = schedule.next(now, timeZone).getTime();
      updated = nowMs;
    }
    status = { last: NEVER, next: iso(new Date(expectedNext)), lastUpdated: iso(new Date(updated)) };
    changed = true;
  }
  return { status, changed, pastDue: nowMs > (parseTime(status.next) as number) };
}

export class TimerScheduler {
  private readonly timers = new Map<string, TimerState>();
  private readonly timeZone: string | undefined;
  private started = false;
  private stopped = false;

  constructor(private readonly options: TimerSchedulerOptions) {
    if (options.timeZone) assertTimeZone(options.timeZone);
    this.timeZone = options.timeZone || undefined;
  }

  /** Registers a timer function; throws ScheduleExpressionError for a bad schedule. Call before start(). */
  add(registration: TimerRegistration): void {
    if (this.started) throw new Error(`TimerScheduler: add('${registration.functionName}') after start()`);
    const key = registration.functionName.toLowerCase();
    if (this.timers.has(key)) throw new Error(`TimerScheduler: timer function '${registration.functionName}' is already registered`);
    const schedule = parseSchedule(registration.schedule);
    const useMonitor = (registration.useMonitor ?? true) && !schedule.runsMoreThanOncePerMinute;
    const now = this.options.clock.now();
    this.timers.set(key, {
      registration,
      schedule,
      useMonitor,
      status: { last: NEVER, next: iso(schedule.next(now, this.timeZone)), lastUpdated: NEVER },
    });
  }

  /**
   * Reads each timer's stored status and arms its timer. Past-due and runOnStartup invocations
   * start right away in the background; start() does not wait for them (stop() does).
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('TimerScheduler: already started');
    this.started = true;
    for (const timer of this.timers.values()) await this.startTimer(timer);
  }

  /** Cancels pending timers and waits for running invocations to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) {
      timer.cancelTimer?.();
      timer.cancelTimer = undefined;
    }
    // An invocation that finishes during the wait cannot arm a new timer: stopped is set.
    await Promise.allSettled([...this.timers.values()].map((t) => t.running));
  }

  /** Resolves when no invocation is running (for hosts and tests). */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.timers.values()].map((t) => t.running).filter((p): p is Promise<void> => p !== undefined);
      if (running.length === 0) return;
      await Promise.allSettled(running);
    }
  }

  /**
   * Each timer's next occurrence and whether an invocation is running. A timer that is not running
   * is armed for `next` (unless stopped): an occurrence that falls due while it runs is coalesced
   * into the following one, as in the Functions host.
   */
  timerStates(): Array<{ functionName: string; next: string; running: boolean }> {
    return [...this.timers.values()].map((t) => ({ functionName: t.registration.functionName, next: t.status.next, running: t.running !== undefined }));
  }

  /** The current status of a timer (what the next invocation will see), if registered. */
  status(functionName: string): ScheduleStatus | undefined {
    const timer = this.timers.get(functionName.toLowerCase());
    return timer && { ...timer.status };
  }

  private log(message: string, fields?: object): void {
    this.options.log?.(message, fields);
  }

  private async startTimer(timer: TimerState): Promise<void> {
    const { functionName, runOnStartup } = timer.registration;
    const now = this.options.clock.now();
    let pastDue = false;
    if (timer.useMonitor) {
      const stored = await this.options.store.get(functionName);
      const check = checkPastDue(now, timer.schedule, stored, this.timeZone);
      timer.status = check.status;
      pastDue = check.pastDue;
      if (check.changed) await this.saveStatus(timer);
    } else {
      timer.status = { last: NEVER, next: iso(timer.schedule.next(now, this.timeZone)), lastUpdated: NEVER };
    }
    this.log(`Timer '${functionName}' schedule ${timer.schedule.describe()}; next occurrence ${timer.status.next}`, {
      functionName,
      schedule: timer.registration.schedule,
      timeZone: this.timeZone ?? 'UTC',
      next: timer.status.next,
      useMonitor: timer.useMonitor,
    });
    if (this.stopped) return;
    if (pastDue) {
      this.log(`Timer '${functionName}' is past due (missed ${timer.status.next}); running now`, { functionName });
      this.run(timer, 'pastDue');
    } else if (runOnStartup) {
      this.run(timer, 'startup');
    } else {
      this.arm(timer);
    }
  }

  private arm(timer: TimerState): void {
    if (this.stopped) return;
    timer.cancelTimer = this.options.clock.setTimer(new Date(timer.status.next), () => {
      timer.cancelTimer = undefined;
      this.run(timer, 'schedule');
    });
  }

  private run(timer: TimerState, reason: InvocationReason): void {
    const running = this.invoke(timer, reason)
      .catch((err: unknown) => this.log(`Timer '${timer.registration.functionName}' could not be rescheduled: ${String(err)}`))
      .finally(() => {
        if (timer.running === running) timer.running = undefined;
        this.arm(timer);
      });
    timer.running = running;
  }

  private async invoke(timer: TimerState, reason: InvocationReason): Promise<void> {
    const { functionName } = timer.registration;
    const invokedAt = this.options.clock.now();
    const info: TimerInfo = {
      schedule: { adjustForDST: timer.schedule.adjustForDST },
      scheduleStatus: { ...timer.status },
      isPastDue: reason === 'pastDue',
    };
    try {
      await this.options.invoke(functionName, info);
    } catch (err) {
      // A failing function never stops its schedule.
      this.log(`Timer function '${functionName}' failed: ${(err as Error)?.message ?? String(err)}`, { functionName });
    }
    // A timer that fired a little early counts as the occurrence it was set for, so `next` moves on.
    const scheduledMs = Date.parse(timer.status.next);
    const basis = reason === 'schedule' && scheduledMs > invokedAt.getTime() ? new Date(scheduledMs) : invokedAt;
    timer.status = { last: iso(basis), next: iso(timer.schedule.next(basis, this.timeZone)), lastUpdated: iso(basis) };
    if (timer.useMonitor) await this.saveStatus(timer);
  }

  private async saveStatus(timer: TimerState): Promise<void> {
    try {
      await this.options.store.set(timer.registration.functionName, { ...timer.status });
    } catch (err) {
      this.log(`Could not save the schedule status of '${timer.registration.functionName}': ${(err as Error)?.message ?? String(err)}`, {
        functionName: timer.registration.functionName,
      });
    }
  }
}
