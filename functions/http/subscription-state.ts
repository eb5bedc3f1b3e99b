/**
 * PUT /api/subscriptions/{subscriptionId}/state {state}: the admin changes a subscription's state locally (in Azure,
 * billing does). The host's admin key only (x-functions-key), like the engine's other admin routes. Backup servers
 * follow it through their check-ins (the seed's table: Disabled = Expired, Deleted = Deprovisioned).
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { setSubscriptionState, SUBSCRIPTION_STATES } from '../../lib/services/subscriptions';
import type { SubscriptionState } from '../../lib/domain/tenancy';
import { tenancyDeps } from '../deps';
import { errorResponse, readBody } from './jobs';

const body = z.object({ state: z.enum(SUBSCRIPTION_STATES as [SubscriptionState, ...SubscriptionState[]]) });

export async function putSubscriptionState(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const { state } = await readBody(request, body);
    const record = await setSubscriptionState(tenancyDeps(), request.params.subscriptionId ?? '', state);
    return { status: 200, jsonBody: { subscriptionId: record.subscriptionId, state: record.state } };
  } catch (err) {
    return errorResponse(err, context);
  }
}

app.http('putSubscriptionState', { route: 'api/subscriptions/{subscriptionId}/state', methods: ['PUT'], authLevel: 'admin', handler: putSubscriptionState });
