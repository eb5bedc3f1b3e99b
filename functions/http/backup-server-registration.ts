/**
 * POST /backupServer/registrations: a backup server registers with a vault. Anonymous at the HTTP level, as an
 * Azure Backup agent holds no Azure sign-in: the request is authenticated by its signature with the key of a
 * vault credentials file the vault issued (lib/domain/backup-server/registration.ts), which also names the vault.
 * Expired or foreign credentials get KluisVaultCredentialsExpired / KluisVaultCredentialsInvalid (400).
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { parseVaultId } from '../../lib/domain/arm-names';
import { registerBackupServer } from '../../lib/services/backup-server-registration';
import { backupServerRegistrationDeps } from '../deps';
import { baseUrlOf } from './arm/route';
import { errorResponse, readBody } from './jobs';

export const BACKUP_SERVER_REGISTRATIONS_ROUTE = 'backupServer/registrations';

const registrationBody = z.object({
  proof: z.object({
    vaultId: z.string().min(1).max(512),
    serverName: z.string().min(1).max(253),
    thumbprint: z.string().regex(/^[0-9A-Fa-f]{40}$/),
    issuedAt: z.string().min(1).max(40),
    agentVersion: z.string().min(1).max(64),
    serverPublicKey: z.string().min(1).max(1024).optional(),
    backupManagementType: z.literal('MAB').optional(),
  }),
  signature: z.string().min(1).max(1024),
});

export async function registerBackupServerHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const body = await readBody(request, registrationBody);
    const vault = parseVaultId(body.proof.vaultId, 'proof.vaultId');
    const result = await registerBackupServer(backupServerRegistrationDeps(baseUrlOf(request)), vault, body);
    return { status: result.created ? 201 : 200, jsonBody: { engine: result.engine, container: result.container } };
  } catch (err) {
    return errorResponse(err, context);
  }
}

app.http('BackupServerRegistrations', { route: BACKUP_SERVER_REGISTRATIONS_ROUTE, methods: ['POST'], authLevel: 'anonymous', handler: registerBackupServerHttp });
