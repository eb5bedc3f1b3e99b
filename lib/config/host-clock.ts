/**
 * The app's time source. In Azure and under `func start` it is the system clock; the embedded host
 * publishes its own clock here so that `kluis-host --fake-clock` moves the app's time (schedules,
 * retention, soft-delete expiry) together with its timers and durable timers.
 */
interface PublishedClock {
  now(): Date;
}

const HOST_CLOCK = Symbol.for('kluis.hostClock');

type WithHostClock = typeof globalThis & { [HOST_CLOCK]?: PublishedClock };

export function appNow(): Date {
  return (globalThis as WithHostClock)[HOST_CLOCK]?.now() ?? new Date();
}

/** Called by a hosting process before it loads the app; `undefined` returns to the system clock. */
export function publishHostClock(clock: PublishedClock | undefined): void {
  (globalThis as WithHostClock)[HOST_CLOCK] = clock;
}
