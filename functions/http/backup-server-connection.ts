/**
 * A registered backup server's calls after registration, anonymous at the HTTP level and authenticated by the
 * signature with the server's own identity key (lib/domain/backup-server/server-identity.ts):
 *  - POST /backupServer/checkIns: the vault records the check-in and answers the subscription state and what the
 *    seed's table allows.
 *  - POST /backupServer/vaultCopyAccess: a short-lived SAS for the server's vault copy container (no key in logs).
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { parseVaultId } from '../../lib/domain/arm-names';
import { checkInBackupServer, grantVaultCopyAccess } from '../../lib/services/backup-server-connection';
import { backupServerConnectionDeps } from '../deps';
import { errorResponse, readBody } from './jobs';

const signedRequest = (operation: 'checkIn' | 'vaultCopyAccess') =>
  z.object({
    request: z.object({
      vaultId: z.string().min(1).max(512),
      serverName: z.string().min(1).max(253),
      operation: z.literal(operation),
      issuedAt: z.string().min(1).max(40),
      arguments: z.record(z.string(), z.string().max(256)).optional(),
    }),
    signature: z.string().min(1).max(1024),
  });

export async function checkInHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const body = await readBody(request, signedRequest('checkIn'));
    return { status: 200, jsonBody: await checkInBackupServer(backupServerConnectionDeps(), parseVaultId(body.request.vaultId, 'request.vaultId'), body) };
  } catch (err) {
    return errorResponse(err, context);
  }
}

export async function vaultCopyAccessHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const body = await readBody(request, signedRequest('vaultCopyAccess'));
    const grant = await grantVaultCopyAccess(backupServerConnectionDeps(), parseVaultId(body.request.vaultId, 'request.vaultId'), body);
    return { status: 200, headers: { 'cache-control': 'no-store' }, jsonBody: grant };
  } catch (err) {
    return errorResponse(err, context);
  }
}

app.http('BackupServerCheckIns', { route: 'backupServer/checkIns', methods: ['POST'], authLevel: 'anonymous', handler: checkInHttp });
app.http('BackupServerVaultCopyAccess', { route: 'backupServer/vaultCopyAccess', methods: ['POST'], authLevel: 'anonymous', handler: vaultCopyAccessHttp });
