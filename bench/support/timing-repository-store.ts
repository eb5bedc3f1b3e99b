/** A RepositoryStore wrapper that sums the time spent in each kind of call (the backup code awaits them one by one). */
import { performance } from 'node:perf_hooks';
import { openRangeReader, readObjectRange, type RangeReader, type RepositoryStore, type RepositoryWriteBatch } from '../../lib/stores/repository-store';

export interface StoreTimings {
  readMs: number;
  reads: number;
  writeMs: number;
  writes: number;
  listMs: number;
  listed: number;
  /** Batch commits (the file store's round of fsyncs and links before a snapshot document), counted in writeMs too. */
  commitMs: number;
  commits: number;
}

export class TimingRepositoryStore implements RepositoryStore {
  readonly timings: StoreTimings = { readMs: 0, reads: 0, writeMs: 0, writes: 0, listMs: 0, listed: 0, commitMs: 0, commits: 0 };

  constructor(private readonly inner: RepositoryStore) {}

  get location(): string {
    return this.inner.location;
  }

  async read(key: string): Promise<Buffer | undefined> {
    return this.time('read', () => this.inner.read(key));
  }

  async readRange(key: string, offset: number, length: number): Promise<Buffer | undefined> {
    return this.time('read', () => readObjectRange(this.inner, key, offset, length));
  }

  openRangeReader(): RangeReader {
    const ranges = openRangeReader(this.inner);
    return { readRange: (key, offset, length) => this.time('read', () => ranges.readRange(key, offset, length)), close: () => ranges.close() };
  }

  async write(key: string, data: Uint8Array): Promise<void> {
    return this.time('write', () => this.inner.write(key, data));
  }

  async writeIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    return this.time('write', () => this.inner.writeIfAbsent(key, data));
  }

  exists(key: string): Promise<boolean> {
    return this.inner.exists(key);
  }

  async *list(prefix: string): AsyncIterable<string> {
    const start = performance.now();
    for await (const key of this.inner.list(prefix)) {
      this.timings.listed++;
      yield key;
    }
    this.timings.listMs += performance.now() - start;
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  sweepTemporary(): Promise<number> {
    return this.inner.sweepTemporary?.() ?? Promise.resolve(0);
  }

  beginBatch(): RepositoryWriteBatch | undefined {
    const batch = this.inner.beginBatch?.();
    if (batch === undefined) return undefined;
    return {
      writeIfAbsent: (key, data) => this.time('write', () => batch.writeIfAbsent(key, data)),
      openStreamedWrite: batch.openStreamedWrite === undefined ? undefined : () => {
        const streamed = batch.openStreamedWrite!();
        // Each piece's write is timed; the finish (close, stage) counts as the object's write.
        return { write: (offset, data) => this.timeOnly('write', () => streamed.write(offset, data)), finish: (key) => this.time('write', () => streamed.finish(key)) };
      },
      commit: async () => {
        const start = performance.now();
        try {
          await batch.commit();
        } finally {
          this.timings.commitMs += performance.now() - start;
          this.timings.commits++;
          this.timings.writeMs += performance.now() - start;
        }
      },
    };
  }

  /** Time added to `kind`, not counted as an object. */
  private async timeOnly<T>(kind: 'write', call: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await call();
    } finally {
      this.timings.writeMs += performance.now() - start;
    }
  }

  private async time<T>(kind: 'read' | 'write', call: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await call();
    } finally {
      if (kind === 'read') {
        this.timings.readMs += performance.now() - start;
        this.timings.reads++;
      } else {
        this.timings.writeMs += performance.now() - start;
        this.timings.writes++;
      }
    }
  }
}
