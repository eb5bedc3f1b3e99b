/**
 * POST /api/backups              back up a VM's disks (or one disk): the engine's backupDisks → 202 + Durable status URLs
 * GET  /api/backups/{instanceId} the backup job's status, recovery point and per-disk statistics
 * The engine's own API, for scripts and benchmarks: the host's admin key only (x-functions-key), never a
 * bearer token — it names containers and items directly, so it is no part of the public ARM surface.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { z } from 'zod';
import { blobNameProblem, isValidContainerName, isValidIdentifier, itemIdForSourceDisk, MAX_LUN } from '../../lib/engine/domain/vault-layout';
import type { BackupDisksInput, BackupDisksOutput } from '../../orchestrations/backup-disks';
import { Orchestrators, type BackupCustomStatus } from '../../orchestrations/contracts';
import { instantRestoreDays } from '../deps';
import { errorResponse, jobStatus, readBody } from './jobs';

const container = z.string().refine(isValidContainerName, { error: 'must be a valid container name (3–63 lowercase letters, digits, hyphens)' });
const blob = z.string().refine((name) => blobNameProblem(name) === undefined, { error: 'must be a valid blob name' });
const storageType = z.enum(['Standard', 'Premium']).default('Standard');
const itemId = z.string().refine(isValidIdentifier, { error: 'must be 1–128 of A–Z a–z 0–9 . _ - starting with a letter or digit' });
const consistency = z.enum(['ApplicationConsistent', 'FileSystemConsistent', 'CrashConsistent']).optional();

const singleDisk = z.object({ container, blob, storageType, itemId: itemId.optional(), consistency }).strict();
const vmDisks = z
  .object({
    itemId,
    disks: z
      .array(
        z.object({ lun: z.number().int().min(0).max(MAX_LUN), container, blob, storageType, name: z.string().max(80).optional() }).strict(),
      )
      .min(1, { error: 'at least one disk is required' })
      .max(17, { error: 'a VM with page-blob disks has at most 16 data disks and an OS disk' }),
    consistency,
    vmConfig: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
const startBackupBody = z.union([vmDisks, singleDisk], { error: 'send {container, blob} for one disk or {itemId, disks:[…]} for a VM' });

export async function startBackup(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const body = await readBody(request, startBackupBody);
    const input: BackupDisksInput =
      'disks' in body
        ? { itemId: body.itemId, disks: body.disks, consistency: body.consistency, vmConfig: body.vmConfig as BackupDisksInput['vmConfig'], instantRestoreDays: instantRestoreDays() }
        : {
            itemId: body.itemId ?? itemIdForSourceDisk(body.container, body.blob),
            disks: [{ lun: 0, container: body.container, blob: body.blob, storageType: body.storageType }],
            consistency: body.consistency,
            instantRestoreDays: instantRestoreDays(),
          };
    const client = df.getClient(context);
    const instanceId = await client.startNew(Orchestrators.BackupDisks, { input });
    context.info(`Started backup job ${instanceId} for item ${input.itemId} (${input.disks.length} disk(s)).`);
    return client.createCheckStatusResponse(request, instanceId);
  } catch (err) {
    return errorResponse(err, context);
  }
}

export async function getBackup(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    return { status: 200, jsonBody: await jobStatus<BackupDisksOutput, BackupCustomStatus>(request, context, Orchestrators.BackupDisks) };
  } catch (err) {
    return errorResponse(err, context);
  }
}

app.http('startBackup', { route: 'api/backups', methods: ['POST'], authLevel: 'admin', extraInputs: [df.input.durableClient()], handler: startBackup });
app.http('getBackup', { route: 'api/backups/{instanceId}', methods: ['GET'], authLevel: 'admin', extraInputs: [df.input.durableClient()], handler: getBackup });

