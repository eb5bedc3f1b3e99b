/**
 * The first of Kluis's three retry layers (README "Faults and retries"): the SDK pipeline retries ONE storage
 * call through transient faults — 500, 503 (waiting at least its Retry-After), 408 (Tables), connection
 * resets and refusals, and a try that does not answer within its timeout. Every Blob and Table client of the
 * product is built with these options (storageClientOptions), nowhere else.
 *
 * The layers above do not repeat this: an activity is retried (orchestrations/steps.ts activityRetryOptions)
 * only when its call failed through all tries here, and an orchestration never retries a whole backup (the job
 * ends Failed with a retryable code; the next slot or the user runs it again).
 *
 * What the SDKs do on their own, and what this adds (storage-blob 12.32, data-tables 13.3, core-rest-pipeline
 * 1.24): Blob's StorageRetryPolicy retries 500/503 and network errors but not 408 and ignores Retry-After, and neither SDK
 * bounds a try in time (a frozen service hangs the caller forever). So a per-try policy sets each try's
 * timeout, turns a timed-out try (and, for Blob, a 408 answer) into a retryable ETIMEDOUT (and an answer cut off in its body into ECONNRESET), and (Blob) holds a 500/503 answer for its
 * Retry-After before the retry policy's own backoff. Tables' throttling strategy honours Retry-After itself.
 */
import { isRestError, RestError, type PipelinePolicy, type PipelineRequest, type PipelineResponse, type SendRequest } from '@azure/core-rest-pipeline';
import type { StoragePipelineOptions } from '@azure/storage-blob';
import type { TableServiceClientOptions } from '@azure/data-tables';

export interface StorageRetrySettings {
  /** Tries per call, the first included (Blob maxTries; Tables maxRetries + 1). */
  maxTries: number;
  /** Backoff base: Blob waits 0, 1×, 3×, 7× it; Tables about 1×, 2×, 4× with jitter. */
  retryDelayInMs: number;
  maxRetryDelayInMs: number;
  /** A Blob try that has not answered (headers) within this is abandoned and retried. */
  blobTryTimeoutInMs: number;
  /** The same for Table (catalog) calls, which are small: API requests wait on them. */
  tableTryTimeoutInMs: number;
  /** A Retry-After longer than this is waited for this long only. */
  maxRetryAfterInMs: number;
}

export const DEFAULT_STORAGE_RETRY: StorageRetrySettings = {
  maxTries: 4,
  retryDelayInMs: 2_000,
  maxRetryDelayInMs: 30_000,
  blobTryTimeoutInMs: 60_000,
  tableTryTimeoutInMs: 10_000,
  maxRetryAfterInMs: 30_000,
};

/** The Table clients' options, for store factories outside lib/stores/azure. */
export type TableClientPipelineOptions = TableServiceClientOptions;

type AdditionalPolicies = Array<{ policy: PipelinePolicy; position: 'perCall' | 'perRetry' }>;

/**
 * Options for ONE `BlobServiceClient` (call it once per client): StorageRetryPolicy settings plus the per-try
 * policy. StoragePipelineOptions does not declare `additionalPolicies`, but storage-blob hands its options to
 * core-client's ServiceClient, which installs them after Sign, inside the retry loop. It does so for every
 * client it derives (container, blob, page blob clients) on the one pipeline they share, and two policies of
 * one name make every request fail; so the property hands the policy out once, to the first client, and the
 * derived ones find it installed. The storage-retry tests hold this to the pinned SDK versions.
 */
export function blobClientOptions(settings: StorageRetrySettings = DEFAULT_STORAGE_RETRY): StoragePipelineOptions {
  const policy = perTryPolicy({ tryTimeoutInMs: settings.blobTryTimeoutInMs, holdForRetryAfterInMs: settings.maxRetryAfterInMs, retryRequestTimeouts: true });
  let handedOut = false;
  const options: StoragePipelineOptions = {
    retryOptions: { maxTries: settings.maxTries, retryDelayInMs: settings.retryDelayInMs, maxRetryDelayInMs: settings.maxRetryDelayInMs },
  };
  Object.defineProperty(options, 'additionalPolicies', {
    enumerable: true,
    get(): AdditionalPolicies {
      if (handedOut) return [];
      handedOut = true;
      return [{ policy, position: 'perRetry' }];
    },
  });
  return options;
}

/** Options for `TableClient`: core's default retry (throttling with Retry-After, then exponential) plus the per-try policy. */
export function tableClientOptions(settings: StorageRetrySettings = DEFAULT_STORAGE_RETRY): TableServiceClientOptions {
  return {
    allowInsecureConnection: true,
    retryOptions: { maxRetries: Math.max(0, settings.maxTries - 1), retryDelayInMs: settings.retryDelayInMs, maxRetryDelayInMs: settings.maxRetryDelayInMs },
    additionalPolicies: [{ policy: perTryPolicy({ tryTimeoutInMs: settings.tableTryTimeoutInMs }), position: 'perRetry' }],
  };
}

export const PER_TRY_POLICY_NAME = 'kluisPerTryPolicy';

/**
 * How long one try of an ARM (Compute) or Key Vault call may go unanswered before it is abandoned and, by the
 * SDK's own retry policy (which honours Retry-After and retries resets), tried again: these answer small JSON
 * documents at once, long work runs as a polled operation. Without it a service that accepts a connection
 * and never answers would hold a backup's step forever.
 */
export const SERVICE_TRY_TIMEOUT_MS = 30_000;

/** The per-try timeout as an `additionalPolicies` entry for ARM and Key Vault clients (one client, one pipeline). */
export function serviceTryTimeoutPolicies(tryTimeoutInMs = SERVICE_TRY_TIMEOUT_MS): AdditionalPolicies {
  return [{ policy: perTryPolicy({ tryTimeoutInMs }), position: 'perRetry' }];
}

/**
 * Bounds each try in time (a retryable ETIMEDOUT when it runs out) and, optionally, holds a 500/503 for its
 * Retry-After and turns a 408 answer into a retryable ETIMEDOUT (Blob's retry policy ignores 408).
 */
export function perTryPolicy(options: { tryTimeoutInMs: number; holdForRetryAfterInMs?: number; retryRequestTimeouts?: boolean }): PipelinePolicy {
  return {
    name: PER_TRY_POLICY_NAME,
    async sendRequest(request: PipelineRequest, next: SendRequest): Promise<PipelineResponse> {
      if (!(request.timeout > 0)) request.timeout = options.tryTimeoutInMs;
      let response: PipelineResponse;
      try {
        response = await next(request);
      } catch (err) {
        // The HTTP client aborts a try that ran out of time with an AbortError, which no retry policy retries.
        if ((err as { name?: string }).name === 'AbortError' && request.abortSignal?.aborted !== true) {
          throw new RestError(`The storage service did not answer within ${request.timeout} ms.`, { code: 'ETIMEDOUT', request });
        }
        // An answer cut off in its body (the connection reset while it was read) is PARSE_ERROR to the
        // client, which no retry policy retries; it is a dropped connection.
        if (isRestError(err) && err.code === RestError.PARSE_ERROR && err.statusCode === undefined && /^Error reading response/.test(err.message)) {
          throw new RestError(`The connection dropped while the answer was read: ${err.message}`, { code: 'ECONNRESET', request });
        }
        throw err;
      }
      // Blob's StorageRetryPolicy does not retry a 408 (Request Timeout: the service gave up waiting for the
      // request), which Azure Storage answers under load; as a timed-out try it is retried like one.
      if (options.retryRequestTimeouts === true && response.status === 408) {
        throw new RestError('The storage service timed out waiting for the request (HTTP 408).', { code: 'ETIMEDOUT', statusCode: 408, request, response });
      }
      if (options.holdForRetryAfterInMs !== undefined && (response.status === 503 || response.status === 500)) {
        const waitInMs = retryAfterInMs(response.headers.get('retry-after'));
        if (waitInMs !== undefined) await delay(Math.min(waitInMs, options.holdForRetryAfterInMs), request.abortSignal);
      }
      return response;
    },
  };
}

/**
 * A blob read whose body the connection dropped: storage-blob's download stream reports the socket's
 * 'aborted' as an AbortError (and does not retry it), though nobody asked to abort. Seen as the dropped
 * connection it is (ECONNRESET), so the layers above know it for a fault that a retry cures.
 */
export function droppedReadAsReset(err: unknown, callerSignal: { aborted: boolean } | undefined): unknown {
  if ((err as { name?: string } | undefined)?.name === 'AbortError' && callerSignal?.aborted !== true) {
    return new RestError('The connection dropped while the blob was read.', { code: 'ECONNRESET' });
  }
  return err;
}

/** How often a dropped blob read is tried again: the pipeline's own tries and backoff. */
export type DroppedReadRetry = Pick<StorageRetrySettings, 'maxTries' | 'retryDelayInMs' | 'maxRetryDelayInMs'>;

/** The dropped-read retry of a client built with `options` (blobClientOptions), or the defaults. */
export function droppedReadRetryOf(options: StoragePipelineOptions | undefined): DroppedReadRetry {
  const retry = options?.retryOptions;
  return {
    maxTries: retry?.maxTries ?? DEFAULT_STORAGE_RETRY.maxTries,
    retryDelayInMs: retry?.retryDelayInMs ?? DEFAULT_STORAGE_RETRY.retryDelayInMs,
    maxRetryDelayInMs: retry?.maxRetryDelayInMs ?? DEFAULT_STORAGE_RETRY.maxRetryDelayInMs,
  };
}

/**
 * Runs a blob read, and runs it again when the connection drops while its body streams in: the pipeline's
 * retry policy has already handed the answer over by then, and the SDK's download stream gives up on the
 * socket's abort. A read is idempotent, so this completes layer 1 for reads (same tries, same backoff as the
 * pipeline). A read the caller aborted, or that failed any other way, is not tried again.
 */
export async function readRetryingDrops<T>(read: () => Promise<T>, callerSignal: { aborted: boolean } | undefined, retry: DroppedReadRetry): Promise<T> {
  for (let tryNumber = 1; ; tryNumber += 1) {
    try {
      return await read();
    } catch (err) {
      const dropped = droppedReadAsReset(err, callerSignal);
      if (dropped === err || tryNumber >= retry.maxTries) throw dropped;
      await delay(Math.min(retry.retryDelayInMs * (2 ** tryNumber - 1), retry.maxRetryDelayInMs), callerSignal as PipelineRequest['abortSignal']);
    }
  }
}

/** Retry-After as seconds or an HTTP date, in ms from now; undefined when absent or malformed. */
export function retryAfterInMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

function delay(ms: number, signal: PipelineRequest['abortSignal']): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
