/**
 * SAS grants (beginGetAccess / endGetAccess) shared by disks, snapshots and disk restore points: the
 * request's rules, and the timers that end a grant when its duration is over on the fabric's clock
 * (the host's clock, fake or real). A grant that ends by time leaves an upload disk ReadyToUpload and
 * every other resource as it was before the grant, as a call to endGetAccess would (minus finishing
 * the upload). Azurite also refuses the SAS after its real-clock expiry (disk-blobs.ts).
 */
import type { Clock } from '../../clock';
import { computeErrors } from './errors';
import type { AccessLevel, Grant } from './records';
import type { GrantAccessBody } from './requests';
import type { DiskRestorePointRef, ResourceRef } from './resource-ids';

/** Azure caps a disk or snapshot SAS at 60 days. */
export const MAX_SAS_DURATION_IN_SECONDS = 60 * 24 * 3600;

export type GrantHolder = { kind: 'disk' | 'snapshot'; ref: ResourceRef } | { kind: 'diskRestorePoint'; ref: DiskRestorePointRef };

export interface GrantRequest {
  access: AccessLevel;
  durationInSeconds: number;
}

/** The access level and duration asked for; InvalidParameter for `None`, a duration out of range, or a level not allowed here. */
export function grantRequestOf(body: GrantAccessBody, allowed: readonly AccessLevel[], what: string): GrantRequest {
  if (body.access === 'None') throw computeErrors.invalidParameter('access', "Access level 'None' grants nothing: ask for Read (or Write, to upload).");
  if (!allowed.includes(body.access)) throw computeErrors.invalidParameter('access', `Access level '${body.access}' cannot be granted on a ${what}: use ${allowed.join(' or ')}.`);
  if (body.durationInSeconds < 1 || body.durationInSeconds > MAX_SAS_DURATION_IN_SECONDS) {
    throw computeErrors.invalidParameter('durationInSeconds', `durationInSeconds must be 1–${MAX_SAS_DURATION_IN_SECONDS} (60 days), got ${body.durationInSeconds}.`);
  }
  return { access: body.access, durationInSeconds: body.durationInSeconds };
}

export function grantOf(id: string, request: GrantRequest, container: string, now: Date): Grant {
  return { id, access: request.access, expiresAt: new Date(now.getTime() + request.durationInSeconds * 1000).toISOString(), container };
}

export function isExpired(grant: Grant, now: Date): boolean {
  return Date.parse(grant.expiresAt) <= now.getTime();
}

/** One timer per outstanding grant, firing `expire` at its expiry on the fabric's clock. */
export class GrantTimers {
  private readonly cancels = new Map<string, () => void>();
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly expire: (holder: GrantHolder, grantId: string) => Promise<void>,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  arm(holder: GrantHolder, grant: Grant): void {
    if (this.stopped) return;
    this.disarm(grant.id);
    const cancel = this.clock.setTimer(new Date(grant.expiresAt), () => {
      this.cancels.delete(grant.id);
      this.expire(holder, grant.id).catch(this.onError);
    });
    this.cancels.set(grant.id, cancel);
  }

  disarm(grantId: string): void {
    this.cancels.get(grantId)?.();
    this.cancels.delete(grantId);
  }

  get armed(): number {
    return this.cancels.size;
  }

  stop(): void {
    this.stopped = true;
    for (const cancel of this.cancels.values()) cancel();
    this.cancels.clear();
  }
}
