/**
 * Wraps any store object (e.g. a DiskStore) and counts the bytes passed to and returned from its
 * methods, per method name, so a benchmark can report bytes written without trusting the code under test.
 * A method's "sent" bytes are the Uint8Array arguments it was called with; "received" bytes are a
 * Uint8Array it returned (directly or through a promise).
 */
export interface MethodTraffic {
  calls: number;
  bytesSent: number;
  bytesReceived: number;
}

export class TrafficCounter {
  readonly methods = new Map<string, MethodTraffic>();

  record(method: string, sent: number, received: number): void {
    const entry = this.methods.get(method) ?? { calls: 0, bytesSent: 0, bytesReceived: 0 };
    entry.calls += 1;
    entry.bytesSent += sent;
    entry.bytesReceived += received;
    this.methods.set(method, entry);
  }

  bytesSent(...methodNames: string[]): number {
    return this.sum((name, traffic) => (methodNames.length === 0 || methodNames.includes(name) ? traffic.bytesSent : 0));
  }

  bytesReceived(...methodNames: string[]): number {
    return this.sum((name, traffic) => (methodNames.length === 0 || methodNames.includes(name) ? traffic.bytesReceived : 0));
  }

  calls(methodName: string): number {
    return this.methods.get(methodName)?.calls ?? 0;
  }

  reset(): void {
    this.methods.clear();
  }

  private sum(pick: (name: string, traffic: MethodTraffic) => number): number {
    let total = 0;
    for (const [name, traffic] of this.methods) total += pick(name, traffic);
    return total;
  }
}

function byteLength(value: unknown): number {
  return value instanceof Uint8Array ? value.byteLength : 0;
}

/** A proxy of `store` whose method calls are recorded in `counter`. */
export function countingStore<T extends object>(store: T, counter: TrafficCounter): T {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return function (this: unknown, ...args: unknown[]) {
        const sent = args.reduce<number>((total, arg) => total + byteLength(arg), 0);
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (result instanceof Promise) {
          return result.then((resolved: unknown) => {
            counter.record(property, sent, byteLength(resolved));
            return resolved;
          });
        }
        counter.record(property, sent, byteLength(result));
        return result;
      };
    },
  });
}
