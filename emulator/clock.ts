/**
 * Time for the embedded host. Everything that waits goes through a Clock, so tests drive time with
 * FakeClock instead of sleeping (Miniflare's `Timers` idea).
 */

export interface Clock {
  now(): Date;
  /** Calls fn once when now() >= at. Returns a cancel function (safe to call more than once). */
  setTimer(at: Date, fn: () => void): () => void;
}

/** Node's setTimeout holds a signed 32-bit delay; longer waits are chained. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export class SystemClock implements Clock {
  now(): Date {
    return new Date();
  }

  setTimer(at: Date, fn: () => void): () => void {
    const dueMs = at.getTime();
    let handle: NodeJS.Timeout | undefined;
    let cancelled = false;

    const arm = (): void => {
      if (cancelled) return;
      const delay = dueMs - Date.now();
      if (delay > MAX_TIMEOUT_MS) {
        handle = setTimeout(arm, MAX_TIMEOUT_MS);
      } else {
        handle = setTimeout(() => {
          if (cancelled) return;
          // setTimeout may fire a millisecond early; wait until the due time has really passed.
          if (Date.now() < dueMs) return arm();
          cancelled = true;
          fn();
        }, Math.max(0, delay));
      }
      handle.unref();
    };

    arm();
    return () => {
      cancelled = true;
      if (handle) clearTimeout(handle);
    };
  }
}

interface FakeTimer {
  readonly id: number;
  readonly atMs: number;
  readonly fn: () => void;
}

/** Lets queued promise callbacks (and one round of setImmediate work) run. */
function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that only moves when told to. Due timers fire in time order (ties in the order they were
 * set), with a macrotask tick after each so async callbacks can finish and schedule follow-ups,
 * which fire within the same advance when they are due.
 */
export class FakeClock implements Clock {
  private nowMs: number;
  private timers: FakeTimer[] = [];
  private nextId = 1;
  private advancing = false;

  constructor(start: Date = new Date('2024-01-01T00:00:00.000Z')) {
    this.nowMs = start.getTime();
  }

  now(): Date {
    return new Date(this.nowMs);
  }

  setTimer(at: Date, fn: () => void): () => void {
    const atMs = at.getTime();
    if (Number.isNaN(atMs)) throw new Error('FakeClock.setTimer: invalid date');
    const timer: FakeTimer = { id: this.nextId++, atMs, fn };
    this.timers.push(timer);
    // Like a real clock, a timer that is already due fires promptly; during an advance, the advance (or the
    // sweep at its end) fires it.
    if (atMs <= this.nowMs && !this.advancing) setImmediate(() => this.fireDue());
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  async advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`FakeClock.advance: ms must be a finite number >= 0, got ${ms}`);
    await this.advanceTo(new Date(this.nowMs + ms));
  }

  async advanceTo(at: Date): Promise<void> {
    const targetMs = at.getTime();
    if (Number.isNaN(targetMs)) throw new Error('FakeClock.advanceTo: invalid date');
    if (targetMs < this.nowMs) throw new Error(`FakeClock.advanceTo: cannot go back from ${this.now().toISOString()} to ${at.toISOString()}`);
    if (this.advancing) throw new Error('FakeClock: advance() is already in progress');
    this.advancing = true;
    try {
      await tick();
      for (;;) {
        const due = this.earliestDue(targetMs);
        if (!due) break;
        this.timers = this.timers.filter((t) => t !== due);
        this.nowMs = Math.max(this.nowMs, due.atMs);
        due.fn();
        await tick();
      }
      this.nowMs = targetMs;
      await tick();
    } finally {
      this.advancing = false;
      setImmediate(() => this.fireDue());
    }
  }

  /** Fires the timers that are due now (set while an advance was ending, or set in the past). */
  private fireDue(): void {
    if (this.advancing) return;
    for (;;) {
      const due = this.earliestDue(this.nowMs);
      if (!due) return;
      this.timers = this.timers.filter((t) => t !== due);
      due.fn();
    }
  }

  pendingTimers(): number {
    return this.timers.length;
  }

  /** When the next timer is due, if any. */
  nextTimerAt(): Date | undefined {
    const first = this.earliestDue(Number.POSITIVE_INFINITY);
    return first ? new Date(first.atMs) : undefined;
  }

  private earliestDue(limitMs: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers) {
      if (t.atMs > limitMs) continue;
      if (!best || t.atMs < best.atMs || (t.atMs === best.atMs && t.id < best.id)) best = t;
    }
    return best;
  }
}
