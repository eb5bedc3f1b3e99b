/**
 * What the fault proxy can do to one request, and schedules that decide it: a seeded random schedule
 * (a rate per request, the kinds to draw from, byte offsets drawn within the body) and scripted rules
 * (the next N requests that match). Pure: no I/O.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { seededRandom } from '../../../emulator/seeded-random';

/** Where a connection reset happens, seen from the client. */
export type ResetPoint =
  /** Nothing reaches the service. */
  | 'before-request-body'
  /** Part of the request body reaches the service, which sees an aborted request. */
  | 'during-request-body'
  /** The service received and applied the whole request; the client never gets the answer. */
  | 'after-request-body'
  /** The service applied the request; the client gets the headers and part of the body. */
  | 'during-response-body';

export type Fault =
  /**
   * An error answer in the service's own shape (Storage XML, Table JSON, ARM JSON). `forward`: the request
   * reaches the service first (and takes effect), and the client still sees the error.
   */
  | { kind: 'status'; status: number; code: string; retryAfterSeconds?: number; forward?: boolean }
  /** A TCP reset (RST) at `at`; `afterBytes` places it within the body (default: half of it). */
  | { kind: 'reset'; at: ResetPoint; afterBytes?: number }
  /** No answer: the request is held (the service never sees it) until the client gives up, or reset after `ms`. */
  | { kind: 'hang'; ms?: number }
  /** The request is forwarded after `ms`. */
  | { kind: 'latency'; ms: number };

/** A request as the schedule sees it: its sequence number on the proxy (0, 1, …), method, path with query, headers. */
export interface ProxiedRequest {
  index: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** From Content-Length; undefined for chunked bodies. */
  contentLength?: number;
}

export type FaultSchedule = (request: ProxiedRequest) => Fault | undefined;

/** Faults the seeded schedule draws from, by name. */
export type FaultKindName =
  | 'server-busy'
  | 'internal-error'
  | 'request-timeout'
  | 'internal-error-after-apply'
  | 'reset-before-body'
  | 'reset-during-request-body'
  | 'reset-after-request-body'
  | 'reset-during-response-body'
  | 'latency'
  | 'precondition-failed';

export const ALL_FAULT_KINDS: readonly FaultKindName[] = [
  'server-busy',
  'internal-error',
  'request-timeout',
  'internal-error-after-apply',
  'reset-before-body',
  'reset-during-request-body',
  'reset-after-request-body',
  'reset-during-response-body',
  'latency',
  'precondition-failed',
];

/** Table entity writes that carry an ETag condition: the requests a concurrent writer can make fail with 412. */
export function isConditionalWrite(request: ProxiedRequest): boolean {
  return ['PUT', 'MERGE', 'PATCH', 'DELETE'].includes(request.method) && request.headers['if-match'] !== undefined && request.headers['if-match'] !== '*';
}

export interface SeededFaultsOptions {
  seed: string;
  /** Probability (0–1) that a matching request gets a fault. */
  rate: number;
  /** Kinds to draw from (default: all). `precondition-failed` applies only to conditional writes; others fall back to `server-busy`. */
  kinds?: readonly FaultKindName[];
  /** Which requests may get a fault (default: all). */
  match?: (request: ProxiedRequest) => boolean;
  /** Retry-After of `server-busy` (seconds; default 1). */
  retryAfterSeconds?: number;
  /** Latency added by `latency` (ms; default 200). */
  latencyMs?: number;
}

/**
 * Faults drawn from a seeded generator: the same seed draws the same sequence of decisions (which of the
 * n-th, (n+1)-th, … matching requests fail, how, and at which byte).
 */
export function seededFaults(options: SeededFaultsOptions): FaultSchedule {
  if (!(options.rate >= 0 && options.rate <= 1)) throw new RangeError(`rate must be within 0..1, got ${options.rate}`);
  const random = seededRandom(options.seed);
  const kinds = options.kinds ?? ALL_FAULT_KINDS;
  if (kinds.length === 0) throw new RangeError('kinds must not be empty');
  const threshold = Math.round(options.rate * 1_000_000);
  return (request) => {
    if (options.match !== undefined && !options.match(request)) return undefined;
    if (random.nextInt(1_000_000) >= threshold) return undefined;
    const kind = kinds[random.nextInt(kinds.length)];
    const offset = request.contentLength !== undefined && request.contentLength > 0 ? random.nextInt(request.contentLength) : undefined;
    return faultOfKind(kind, request, { offset, retryAfterSeconds: options.retryAfterSeconds ?? 1, latencyMs: options.latencyMs ?? 200 });
  };
}

/** The fault a kind name stands for, for this request. */
export function faultOfKind(kind: FaultKindName, request: ProxiedRequest, params: { offset?: number; retryAfterSeconds?: number; latencyMs?: number } = {}): Fault {
  switch (kind) {
    case 'server-busy':
      return { kind: 'status', status: 503, code: 'ServerBusy', retryAfterSeconds: params.retryAfterSeconds ?? 1 };
    case 'internal-error':
      return { kind: 'status', status: 500, code: 'InternalError' };
    case 'request-timeout':
      return { kind: 'status', status: 408, code: 'RequestTimeout' };
    case 'internal-error-after-apply':
      return { kind: 'status', status: 500, code: 'OperationTimedOut', forward: true };
    case 'reset-before-body':
      return { kind: 'reset', at: 'before-request-body' };
    case 'reset-during-request-body':
      return request.contentLength ? { kind: 'reset', at: 'during-request-body', ...(params.offset === undefined ? {} : { afterBytes: params.offset }) } : { kind: 'reset', at: 'before-request-body' };
    case 'reset-after-request-body':
      return { kind: 'reset', at: 'after-request-body' };
    case 'reset-during-response-body':
      return { kind: 'reset', at: 'during-response-body' };
    case 'latency':
      return { kind: 'latency', ms: params.latencyMs ?? 200 };
    case 'precondition-failed':
      return isConditionalWrite(request)
        ? { kind: 'status', status: 412, code: 'UpdateConditionNotSatisfied' }
        : { kind: 'status', status: 503, code: 'ServerBusy', retryAfterSeconds: params.retryAfterSeconds ?? 1 };
  }
}

export interface ScriptedFault {
  /** Which requests the rule applies to. */
  match: (request: ProxiedRequest) => boolean;
  fault: Fault | ((request: ProxiedRequest) => Fault);
  /** How many matching requests get it (default 1; Infinity for all). */
  times?: number;
}

/** The first rule that matches (and has uses left) decides; other requests pass. */
export function scriptedFaults(rules: readonly ScriptedFault[]): FaultSchedule {
  const left = rules.map((rule) => rule.times ?? 1);
  return (request) => {
    const index = rules.findIndex((rule, i) => left[i] > 0 && rule.match(request));
    if (index < 0) return undefined;
    left[index]--;
    const { fault } = rules[index];
    return typeof fault === 'function' ? fault(request) : fault;
  };
}

/** Every request gets `fault` (a frozen service: `{kind:'hang'}`; one that is down: a reset before the body). */
export const always = (fault: Fault): FaultSchedule => () => fault;

export const noFaults: FaultSchedule = () => undefined;

/** Request matchers for the services Kluis talks to. */
export const requests = {
  /** Blob service calls: they carry x-ms-version and are not Table calls. */
  blob: (r: ProxiedRequest) => r.headers['x-ms-version'] !== undefined && !requests.table(r),
  /** Table service calls (OData headers). */
  table: (r: ProxiedRequest) => r.headers.dataserviceversion !== undefined || /odata/i.test(String(r.headers.accept ?? '')),
  /** A page upload (Put Page, update). */
  pageUpload: (r: ProxiedRequest) => r.method === 'PUT' && /[?&]comp=page(&|$)/.test(r.path) && /update/i.test(String(r.headers['x-ms-page-write'] ?? '')),
  /** A blob read (GET without a comp= other than none). */
  blobRead: (r: ProxiedRequest) => r.method === 'GET' && requests.blob(r) && !/[?&]comp=/.test(r.path),
  conditionalWrite: isConditionalWrite,
  path: (pattern: RegExp) => (r: ProxiedRequest) => pattern.test(r.path),
  method: (...methods: string[]) => (r: ProxiedRequest) => methods.includes(r.method),
  all:
    (...matchers: Array<(r: ProxiedRequest) => boolean>) =>
    (r: ProxiedRequest) =>
      matchers.every((m) => m(r)),
};
