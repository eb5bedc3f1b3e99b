/**
 * Fences a backup run's page writes to its disk's vault replica: the replica's `kluiswritingjob` metadata
 * names the one job that may write it (plan-disk-backup sets it; a newer run that takes the item over sets
 * its own; the commit empties it). A part of a run that was declared dead (the watchdog finalized its job,
 * or a newer run claimed the item) may still be running; before each write it asks who owns the replica and
 * stops with KluisReplicaWriterFenced when that is no longer its job, so it never writes into a replica a
 * newer run is filling (which could leave blocks that run counts as unchanged holding stale bytes).
 *
 * Checks that overlap share one request: writes started while a check is in flight wait for it, since it
 * was asked after they were decided. The window between a check and its write is one round trip; closing it
 * completely needs a blob lease on the replica (every replica write conditioned on it), not done here.
 *
 * API:
 *   new ReplicaFence(store, replica, { lun, jobId }).check(): Promise<void>   (fresh = true: never shares)
 */
import { errors } from '../../domain/errors';
import type { BlobRef, DiskStore } from '../../stores/disk-store';
import { META } from '../engine-deps';

export class ReplicaFence {
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly store: Pick<DiskStore, 'getBlobProperties'>,
    private readonly replica: BlobRef,
    private readonly writer: { lun: number; jobId: string },
  ) {}

  /** Resolves while the replica is still this job's to write; else throws KluisReplicaWriterFenced. */
  check(options: { fresh?: boolean } = {}): Promise<void> {
    if (options.fresh !== true && this.inFlight !== undefined) return this.inFlight;
    const asking = this.ask();
    this.inFlight = asking;
    const forget = (): void => {
      if (this.inFlight === asking) this.inFlight = undefined;
    };
    asking.then(forget, forget);
    return asking;
  }

  private async ask(): Promise<void> {
    const props = await this.store.getBlobProperties(this.replica);
    const owner = props?.metadata[META.writingJob] ?? '';
    if (owner !== this.writer.jobId) throw errors.replicaWriterFenced(this.writer.lun, this.writer.jobId, owner);
  }
}
