import { FakeClock, MAX_TIMEOUT_MS, SystemClock } from '../../emulator/clock';

const T0 = '2024-01-01T00:00:00.000Z';
const plus = (ms: number): Date => new Date(Date.parse(T0) + ms);

describe('FakeClock', () => {
  it('starts at the given time and hands out copies', () => {
    const clock = new FakeClock(new Date(T0));
    const now = clock.now();
    now.setFullYear(1999);
    expect(clock.now().toISOString()).toBe(T0);
  });

  it('fires a timer only once time reaches it, with now() at the timer', async () => {
    const clock = new FakeClock(new Date(T0));
    const seen: string[] = [];
    clock.setTimer(plus(1000), () => seen.push(clock.now().toISOString()));
    await clock.advance(999);
    expect(seen).toEqual([]);
    await clock.advance(5000);
    expect(seen).toEqual([plus(1000).toISOString()]);
    expect(clock.now().toISOString()).toBe(plus(5999).toISOString());
    await clock.advance(10_000);
    expect(seen).toHaveLength(1);
  });

  it('fires due timers in time order, ties in the order they were set', async () => {
    const clock = new FakeClock(new Date(T0));
    const order: string[] = [];
    clock.setTimer(plus(300), () => order.push('c'));
    clock.setTimer(plus(100), () => order.push('a'));
    clock.setTimer(plus(200), () => order.push('b1'));
    clock.setTimer(plus(200), () => order.push('b2'));
    await clock.advanceTo(plus(1000));
    expect(order).toEqual(['a', 'b1', 'b2', 'c']);
  });

  it('fires a timer set in the past on the next advance, even advance(0)', async () => {
    const clock = new FakeClock(new Date(T0));
    const fn = jest.fn();
    clock.setTimer(plus(-5000), fn);
    expect(fn).not.toHaveBeenCalled();
    await clock.advance(0);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.now().toISOString()).toBe(T0);
  });

  it('fires timers that callbacks set during the same advance when they are due', async () => {
    const clock = new FakeClock(new Date(T0));
    const fired: number[] = [];
    const every100 = (): void => {
      fired.push(clock.now().getTime() - Date.parse(T0));
      clock.setTimer(new Date(clock.now().getTime() + 100), every100);
    };
    clock.setTimer(plus(100), every100);
    await clock.advance(350);
    expect(fired).toEqual([100, 200, 300]);
    expect(clock.pendingTimers()).toBe(1);
    expect(clock.nextTimerAt()?.toISOString()).toBe(plus(400).toISOString());
  });

  it('lets async callbacks finish and schedule follow-ups between firings', async () => {
    const clock = new FakeClock(new Date(T0));
    const log: string[] = [];
    clock.setTimer(plus(10), async () => {
      await Promise.resolve();
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      log.push('first done');
      clock.setTimer(plus(20), () => log.push('follow-up'));
    });
    clock.setTimer(plus(30), () => log.push('later'));
    await clock.advance(100);
    expect(log).toEqual(['first done', 'follow-up', 'later']);
  });

  it('cancels timers (twice is harmless) and counts pending ones', async () => {
    const clock = new FakeClock(new Date(T0));
    const fn = jest.fn();
    const cancel = clock.setTimer(plus(10), fn);
    clock.setTimer(plus(20), () => undefined);
    expect(clock.pendingTimers()).toBe(2);
    cancel();
    cancel();
    expect(clock.pendingTimers()).toBe(1);
    await clock.advance(100);
    expect(fn).not.toHaveBeenCalled();
    expect(clock.pendingTimers()).toBe(0);
    expect(clock.nextTimerAt()).toBeUndefined();
  });

  it('refuses to go back, negative steps and overlapping advances', async () => {
    const clock = new FakeClock(new Date(T0));
    await expect(clock.advanceTo(plus(-1))).rejects.toThrow(/cannot go back/);
    await expect(clock.advance(-1)).rejects.toThrow(/>= 0/);
    const first = clock.advance(10);
    await expect(clock.advance(10)).rejects.toThrow(/already in progress/);
    await first;
    expect(clock.now().toISOString()).toBe(plus(10).toISOString());
  });
});

describe('SystemClock', () => {
  afterEach(() => jest.useRealTimers());

  it('uses the system time', () => {
    const before = Date.now();
    const now = new SystemClock().now().getTime();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('fires at the due time and chains delays longer than setTimeout allows', () => {
    jest.useFakeTimers({ now: new Date(T0) });
    const clock = new SystemClock();
    const fn = jest.fn();
    const longDelay = MAX_TIMEOUT_MS + 10 * 86_400_000; // ~35 days
    clock.setTimer(plus(longDelay), fn);
    jest.advanceTimersByTime(MAX_TIMEOUT_MS);
    expect(fn).not.toHaveBeenCalled();
    jest.advanceTimersByTime(longDelay - MAX_TIMEOUT_MS - 1);
    expect(fn).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(longDelay);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('fires a past due time at once and can be cancelled', () => {
    jest.useFakeTimers({ now: new Date(T0) });
    const clock = new SystemClock();
    const past = jest.fn();
    clock.setTimer(plus(-1000), past);
    const cancelled = jest.fn();
    const cancel = clock.setTimer(plus(50), cancelled);
    cancel();
    jest.advanceTimersByTime(100);
    expect(past).toHaveBeenCalledTimes(1);
    expect(cancelled).not.toHaveBeenCalled();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('does not keep the process alive (timers are unref-ed)', () => {
    const spy = jest.spyOn(global, 'setTimeout');
    const cancel = new SystemClock().setTimer(new Date(Date.now() + 60_000), () => undefined);
    const handle = spy.mock.results[0].value as NodeJS.Timeout;
    expect(handle.hasRef()).toBe(false);
    cancel();
    spy.mockRestore();
  });
});
