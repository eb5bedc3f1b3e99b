import { performance } from 'node:perf_hooks';
import type { VaultApi } from './vault-api';

/**
 * Moves the host's fake clock along with the wall clock (from an anchor, never past `cap`), one step per
 * call, so durable timers (activity retries) fire and job durations mean something.
 */
export class ClockFollower {
  private anchorWallMs = performance.now();
  private anchorFake: Date;
  private cap: Date | undefined;

  constructor(
    private readonly api: VaultApi,
    private current: Date,
  ) {
    this.anchorFake = current;
  }

  follow(cap?: Date): void {
    this.anchorWallMs = performance.now();
    this.anchorFake = this.current;
    this.cap = cap;
  }

  async jumpTo(at: Date): Promise<void> {
    this.current = await this.api.advanceClockTo(at);
    this.follow(this.cap);
  }

  async step(): Promise<void> {
    let target = this.anchorFake.getTime() + (performance.now() - this.anchorWallMs);
    if (this.cap !== undefined) target = Math.min(target, this.cap.getTime());
    if (target > this.current.getTime()) this.current = await this.api.advanceClockTo(new Date(target));
  }
}
