/**
 * POST /api/restores              restore the disks of a recovery point to a container → 202 + status URLs
 * GET  /api/restores/{instanceId} the restore job's status and the restored blobs
 * The engine's own API, for scripts and benchmarks: the host's admin key only (x-functions-key), never a
 * bearer token — it names containers and items directly, so it is no part of the public ARM surface.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { z } from 'zod';
import { isValidContainerName, isValidIdentifier, isValidRecoveryPointId, MAX_LUN } from '../../lib/engine/domain/vault-layout';
import { Orchestrators } from '../../orchestrations/contracts';
import type { RestoreCustomStatus, RestoreInput, RestoreOutput } from '../../orchestrations/restore';
import { errorResponse, jobStatus, readBody } from './jobs';

const startRestoreBody = z
  .object({
    itemId: z.string().refine(isValidIdentifier, { error: 'must be a protected item id' }),
    recoveryPointId: z.string().refine(isValidRecoveryPointId, { error: 'must be a numeric recovery point id' }),
    targetContainer: z.string().refine(isValidContainerName, { error: 'must be a valid container name' }),
    targetStorageType: z.enum(['Standard', 'Premium']).optional(),
    luns: z.array(z.number().int().min(0).max(MAX_LUN)).min(1).optional(),
    tier: z.enum(['Auto', 'InstantRP', 'HardenedRP']).optional(),
  })
  .strict();

export async function startRestore(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const input: RestoreInput = await readBody(request, startRestoreBody);
    const client = df.getClient(context);
    const instanceId = await client.startNew(Orchestrators.Restore, { input });
    context.info(`Started restore job ${instanceId} of ${input.itemId} point ${input.recoveryPointId}.`);
    return client.createCheckStatusResponse(request, instanceId);
  } catch (err) {
    return errorResponse(err, context);
  }
}

export async function getRestore(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    return { status: 200, jsonBody: await jobStatus<RestoreOutput, RestoreCustomStatus>(request, context, Orchestrators.Restore) };
  } catch (err) {
    return errorResponse(err, context);
  }
}

app.http('startRestore', { route: 'api/restores', methods: ['POST'], authLevel: 'admin', extraInputs: [df.input.durableClient()], handler: startRestore });
app.http('getRestore', { route: 'api/restores/{instanceId}', methods: ['GET'], authLevel: 'admin', extraInputs: [df.input.durableClient()], handler: getRestore });
