/**
 * POST /api/backups            start a backup of one fixed-VHD page blob → 202 + Durable status URLs
 * GET  /api/backups/{instanceId} the backup job's status
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { z } from 'zod';
import { describeFailure, errors, statusOf, toErrorBody } from '../../lib/domain/errors';
import {
  assertValidContainerName,
  blobNameProblem,
  isValidIdentifier,
  itemIdForSourceDisk,
} from '../../lib/domain/vault-layout';
import {
  Orchestrators,
  type BackupCustomStatus,
  type BackupInput,
  type BackupOutput,
} from '../../orchestrations/contracts';

const startBackupBody = z
  .object({
    container: z.string({ error: 'container is required and must be a string' }),
    blob: z.string({ error: 'blob is required and must be a string' }),
    itemId: z.string({ error: 'itemId must be a string' }).optional(),
  })
  .strict();

const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;

export async function startBackup(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const input = parseStartBackup(await readJson(request));
    const client = df.getClient(context);
    const instanceId = await client.startNew(Orchestrators.Backup, { input });
    context.info(`Started backup job ${instanceId} for item ${input.itemId}.`);
    return client.createCheckStatusResponse(request, instanceId);
  } catch (err) {
    return errorResponse(err, context);
  }
}

export async function getBackup(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const instanceId = request.params.instanceId ?? '';
    if (!INSTANCE_ID.test(instanceId)) {
      throw errors.invalidRequest('instanceId', 'The backup job id is not a valid instance id.');
    }
    const client = df.getClient(context);
    let status: df.DurableOrchestrationStatus;
    try {
      status = await client.getStatus(instanceId, { showInput: false });
    } catch (err) {
      if (isInstanceNotFound(err)) throw errors.backupInstanceNotFound(instanceId);
      throw err;
    }
    if (status.name !== Orchestrators.Backup) throw errors.backupInstanceNotFound(instanceId);
    return { status: 200, jsonBody: backupStatusBody(status) };
  } catch (err) {
    return errorResponse(err, context);
  }
}

export interface BackupStatusBody {
  id: string;
  runtimeStatus: string;
  customStatus?: BackupCustomStatus;
  createdTime?: string;
  lastUpdatedTime?: string;
  output?: BackupOutput;
  error?: { code: string; message: string };
}

/** The status without the orchestration's raw failure text (which may carry stack traces). */
export function backupStatusBody(status: df.DurableOrchestrationStatus): BackupStatusBody {
  const custom = status.customStatus as BackupCustomStatus | undefined;
  const body: BackupStatusBody = {
    id: status.instanceId,
    runtimeStatus: String(status.runtimeStatus),
    customStatus: custom ?? undefined,
    createdTime: isoOrUndefined(status.createdTime),
    lastUpdatedTime: isoOrUndefined(status.lastUpdatedTime),
  };
  if (status.runtimeStatus === df.OrchestrationRuntimeStatus.Completed) {
    body.output = status.output as BackupOutput;
  } else if (status.runtimeStatus === df.OrchestrationRuntimeStatus.Failed) {
    body.error =
      custom?.errorCode !== undefined && custom.errorMessage !== undefined
        ? { code: custom.errorCode, message: custom.errorMessage }
        : describeFailure(status.output);
  }
  return body;
}

function parseStartBackup(body: unknown): BackupInput {
  const parsed = startBackupBody.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const target = issue.code === 'unrecognized_keys' ? issue.keys.join(',') : issue.path.map(String).join('.') || 'body';
    throw errors.invalidRequest(target, issue.message);
  }
  const { container, blob, itemId } = parsed.data;
  assertValidContainerName(container, 'container');
  const blobProblem = blobNameProblem(blob);
  if (blobProblem !== undefined) throw errors.invalidRequest('blob', `The blob name is invalid: ${blobProblem}.`);
  if (itemId !== undefined && !isValidIdentifier(itemId)) throw errors.invalidIdentifier('itemId', itemId);
  return { sourceContainer: container, sourceBlob: blob, itemId: itemId ?? itemIdForSourceDisk(container, blob) };
}

async function readJson(request: HttpRequest): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === '') throw errors.invalidRequest('body', 'The request body is empty; send a JSON object.');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw errors.invalidRequest('body', 'The request body is not valid JSON.');
  }
}

function isInstanceNotFound(err: unknown): boolean {
  return err instanceof Error && /replied with HTTP 404/.test(err.message);
}

function errorResponse(err: unknown, context: InvocationContext): HttpResponseInit {
  const status = statusOf(err);
  // Name and message only: a logged error object can carry request URLs and headers.
  if (status >= 500) context.error(`Backup request failed: ${errorSummary(err)}`);
  return { status, jsonBody: toErrorBody(err) };
}

function errorSummary(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function isoOrUndefined(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'string' ? value : undefined;
}

app.http('startBackup', {
  route: 'backups',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: startBackup,
});

app.http('getBackup', {
  route: 'backups/{instanceId}',
  methods: ['GET'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: getBackup,
});
