/**
 * One-at-a-time sections per key, within this process: the fabric serializes read-modify-write steps
 * that the storage service cannot make conditional (a container's stored access policies) and keeps a
 * VM's guest writes out of a restore point's snapshots (point in time across disks).
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `section` after every earlier section of the same key (case-insensitive) has settled. */
  async run<T>(key: string, section: () => Promise<T>): Promise<T> {
    const id = key.toLowerCase();
    const previous = this.tails.get(id) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => done);
    this.tails.set(id, tail);
    try {
      await previous;
      return await section();
    } finally {
      release();
      if (this.tails.get(id) === tail) this.tails.delete(id);
    }
  }
}
