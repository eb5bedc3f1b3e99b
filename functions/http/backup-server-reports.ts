/**
 * POST /backupServer/reports: a registered server reports what it protects, the jobs it ran and its recovery points
 * (lib/services/backup-server-reports.ts). Anonymous at the HTTP level, authenticated by the signature with the
 * server's identity key; the signed request's `arguments.reportSha256` binds the report text (`report`, a JSON string).
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { parseVaultId } from '../../lib/domain/arm-names';
import { acceptServerReport } from '../../lib/services/backup-server-reports';
import { backupServerReportDeps } from '../deps';
import { errorResponse, readBody } from './jobs';

export const BACKUP_SERVER_REPORTS_ROUTE = 'backupServer/reports';

const reportBody = z.object({
  request: z.object({
    vaultId: z.string().min(1).max(512),
    serverName: z.string().min(1).max(253),
    operation: z.literal('report'),
    issuedAt: z.string().min(1).max(40),
    arguments: z.object({ reportSha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  }),
  signature: z.string().min(1).max(1024),
  report: z.string().min(2),
});

export async function reportHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const body = await readBody(request, reportBody);
    const accepted = await acceptServerReport(backupServerReportDeps(), parseVaultId(body.request.vaultId, 'request.vaultId'), body, body.report);
    return { status: 200, jsonBody: accepted };
  } catch (err) {
    return errorResponse(err, context);
  }
}

app.http('BackupServerReports', { route: BACKUP_SERVER_REPORTS_ROUTE, methods: ['POST'], authLevel: 'anonymous', handler: reportHttp });
