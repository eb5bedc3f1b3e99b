/** GET /api/items/{itemId}/recoveryPoints — the committed recovery points of a protected item (the engine's API: admin key only). */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { errors } from '../../lib/domain/errors';
import { isValidIdentifier } from '../../lib/engine/domain/vault-layout';
import { listRecoveryPoints } from '../../lib/engine/recovery-points/list-recovery-points';
import { restoreDeps } from '../deps';
import { errorResponse } from './jobs';

export async function getRecoveryPoints(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const itemId = request.params.itemId ?? '';
    if (!isValidIdentifier(itemId)) throw errors.invalidIdentifier('itemId', itemId);
    return { status: 200, jsonBody: { value: await listRecoveryPoints(restoreDeps(context), itemId) } };
  } catch (err) {
    return errorResponse(err, context);
  }
}

app.http('getRecoveryPoints', { route: 'api/items/{itemId}/recoveryPoints', methods: ['GET'], authLevel: 'admin', handler: getRecoveryPoints });
