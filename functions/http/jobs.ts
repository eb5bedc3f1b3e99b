/**
 * What the job endpoints (backups, restores) share: JSON bodies validated by zod into KluisErrors,
 * the ARM error envelope, and a job status view that never shows raw failure text or stack traces.
 *
 * Azure's GET responses carry `null` for optional fields that are not set (`scheduleRunDays: null`,
 * `monthlySchedule: null`, `eTag: null`), and users send such bodies back: a property whose value is
 * null counts as absent. Nulls inside arrays stay, and are refused by the schemas.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { z } from 'zod';
import { describeFailure, errors, statusOf, toErrorBody } from '../../lib/domain/errors';
import { MAX_JSON_BODY_BYTES, MAX_JSON_DEPTH, isJsonMediaType, jsonNestingDepth } from '../../lib/domain/json-body';
import { challengeHeaders } from './authentication';

const SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS = 10;

const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;

/**
 * The request's JSON body, validated by `schema`. Refused before parsing: a body that says it is not JSON (415
 * UnsupportedMediaType; no Content-Type is taken as JSON), one over MAX_JSON_BODY_BYTES (413), one nested deeper
 * than MAX_JSON_DEPTH (400).
 */
export async function readBody<T>(request: HttpRequest, schema: z.ZodType<T>): Promise<T> {
  const contentType = request.headers.get('content-type');
  const declaredLength = Number(request.headers.get('content-length') ?? NaN);
  if (declaredLength > MAX_JSON_BODY_BYTES) throw errors.requestBodyTooLarge(MAX_JSON_BODY_BYTES);
  const text = await request.text();
  if (Buffer.byteLength(text) > MAX_JSON_BODY_BYTES) throw errors.requestBodyTooLarge(MAX_JSON_BODY_BYTES);
  if (text.trim() === '') throw errors.invalidRequest('body', 'The request body is empty; send a JSON object.');
  if (contentType !== null && contentType.trim() !== '' && !isJsonMediaType(contentType)) throw errors.unsupportedMediaType(contentType);
  if (jsonNestingDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw errors.invalidRequest('body', `The request body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels.`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw errors.invalidRequest('body', 'The request body is not valid JSON.');
  }
  const parsed = schema.safeParse(withoutNullProperties(body));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.map(String);
    const target = issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...path, key].join('.')).join(',') : path.join('.') || 'body';
    throw errors.invalidRequest(target, issue.message);
  }
  return parsed.data;
}

/** A copy of a parsed JSON value without the object properties whose value is null, at any depth. */
export function withoutNullProperties(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNullProperties);
  if (value === null || typeof value !== 'object') return value;
  const result: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(value)) {
    // defineProperty: a "__proto__" key of the JSON stays a plain (and, for strict schemas, unknown) property.
    if (property !== null) Object.defineProperty(result, key, { value: withoutNullProperties(property), enumerable: true, writable: true, configurable: true });
  }
  return result;
}

export function errorResponse(err: unknown, context: InvocationContext): HttpResponseInit {
  const status = statusOf(err);
  // Name and message only: a logged error object can carry request URLs and headers.
  if (status >= 500) context.error(`Request failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  // A service Kluis depends on is unavailable or too slow: tell clients when to try again, as ARM does with its 503s and 504s.
  const headers = status === 503 || status === 504 ? { 'Retry-After': String(SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS) } : challengeHeaders(err);
  return { status, jsonBody: toErrorBody(err), ...(headers === undefined ? {} : { headers }) };
}

export interface JobStatusBody<TOutput, TStatus> {
  id: string;
  runtimeStatus: string;
  customStatus?: TStatus;
  createdTime?: string;
  lastUpdatedTime?: string;
  output?: TOutput;
  error?: { code: string; message: string };
}

/** GET of a job: its orchestration's status, if the instance exists and runs the given orchestrator. */
export async function jobStatus<TOutput, TStatus extends { errorCode?: string; errorMessage?: string }>(
  request: HttpRequest,
  context: InvocationContext,
  orchestrator: string,
): Promise<JobStatusBody<TOutput, TStatus>> {
  const instanceId = request.params.instanceId ?? '';
  if (!INSTANCE_ID.test(instanceId)) throw errors.invalidRequest('instanceId', 'The job id is not a valid instance id.');
  let status: df.DurableOrchestrationStatus;
  try {
    status = await df.getClient(context).getStatus(instanceId, { showInput: false });
  } catch (err) {
    if (err instanceof Error && /replied with HTTP 404/.test(err.message)) throw errors.backupInstanceNotFound(instanceId);
    throw err;
  }
  if (status.name !== orchestrator) throw errors.backupInstanceNotFound(instanceId);
  const custom = (status.customStatus ?? undefined) as TStatus | undefined;
  const body: JobStatusBody<TOutput, TStatus> = {
    id: status.instanceId,
    runtimeStatus: String(status.runtimeStatus),
    customStatus: custom,
    createdTime: isoOrUndefined(status.createdTime),
    lastUpdatedTime: isoOrUndefined(status.lastUpdatedTime),
  };
  if (status.runtimeStatus === df.OrchestrationRuntimeStatus.Completed) {
    body.output = status.output as TOutput;
  } else if (status.runtimeStatus === df.OrchestrationRuntimeStatus.Failed) {
    body.error =
      custom?.errorCode !== undefined && custom.errorMessage !== undefined
        ? { code: custom.errorCode, message: custom.errorMessage }
        : describeFailure(status.output);
  }
  return body;
}

function isoOrUndefined(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'string' ? value : undefined;
}
