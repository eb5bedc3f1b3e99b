/**
 * The server-side deadline of an ARM request (README "Faults and retries"): a request whose work has not finished
 * when its deadline passes answers 504 GatewayTimeout with Retry-After instead of making its client wait for a
 * service that is frozen or slow. The deadline depends on the kind of route: reads, writes answered when done, and
 * long operations that answer 202 once their job is started (their work runs in an orchestration, not here).
 *
 * The work is not cancelled: a write that passed its deadline runs on to its own end exactly as it would have
 * without one (each storage call bounded by the SDK layer of retries), so the deadline adds no point at which a
 * write can stop half-way; the client reads the resource or sends the same request again to learn the outcome.
 */
import type { RequestDeadlineSettings } from '../../../lib/config';
import { errors } from '../../../lib/domain/errors';

export type RequestDeadlineKind = 'read' | 'write' | 'longOperation';

/**
 * The kind of a route: GET and HEAD read; a route that declares a 202 answer starts a long operation; any other
 * method writes. `declared` overrides (a POST that only reads); `none` marks work that grows with the data
 * (`kluis check` re-reading every block) and has no deadline.
 */
export function requestDeadlineKind(method: string, responses: Record<number, string>, declared?: RequestDeadlineKind | 'none'): RequestDeadlineKind | 'none' {
  if (declared !== undefined) return declared;
  if (method === 'GET' || method === 'HEAD') return 'read';
  return Object.keys(responses).includes('202') ? 'longOperation' : 'write';
}

export function deadlineInMs(kind: RequestDeadlineKind, settings: RequestDeadlineSettings): number {
  if (kind === 'read') return settings.readInMs;
  return kind === 'write' ? settings.writeInMs : settings.longOperationInMs;
}

export interface RequestDeadline {
  /** Rejects with GatewayTimeout when the deadline passes (never when there is none). */
  readonly expired: Promise<never>;
  /** Whether the deadline has passed. */
  readonly passed: () => boolean;
  /** Stops the timer once the request has answered. */
  readonly clear: () => void;
}

/** A deadline `ms` from now (`undefined`: none). */
export function startRequestDeadline(ms: number | undefined, kind: RequestDeadlineKind | 'none'): RequestDeadline {
  let timer: NodeJS.Timeout | undefined;
  let passed = false;
  const expired = new Promise<never>((_resolve, reject) => {
    if (ms === undefined || kind === 'none') return;
    timer = setTimeout(() => {
      passed = true;
      reject(errors.gatewayTimeout(ms, kind));
    }, ms);
  });
  // Nobody may be listening when it fires after the answer raced it; that is not an unhandled rejection.
  expired.catch(() => undefined);
  return { expired, passed: () => passed, clear: () => clearTimeout(timer) };
}

/** `work`'s result, or GatewayTimeout when the deadline passes first (the work goes on; its late failure is only logged). */
export async function withinDeadline<T>(work: Promise<T>, deadline: RequestDeadline, onLateFailure: (err: unknown) => void): Promise<T> {
  work.catch((err: unknown) => {
    if (deadline.passed()) onLateFailure(err);
  });
  return Promise.race([work, deadline.expired]);
}
