/**
 * Reads items in order with the next few reads already running (a restore: the next chunks of a large file are read
 * and opened while the current one is written). A read that fails is thrown when its turn comes; reads started
 * ahead of a consumer that stops early are left to end on their own, their failures ignored.
 */
export async function* readAhead<T>(ids: readonly string[], read: (id: string) => Promise<T>, inFlight: number): AsyncGenerator<T> {
  const pending: Array<Promise<T>> = [];
  let next = 0;
  const fill = () => {
    while (next < ids.length && pending.length < Math.max(1, inFlight)) {
      const started = read(ids[next++]);
      started.catch(() => undefined); // awaited in turn below; not an unhandled rejection if never reached
      pending.push(started);
    }
  };
  fill();
  while (pending.length > 0) {
    const current = pending.shift()!;
    fill();
    yield await current;
  }
}
