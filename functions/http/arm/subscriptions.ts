/**
 * Subscriptions and tenants (Microsoft.Resources): `GET /subscriptions`, `/subscriptions/{id}`,
 * `/tenants` — what `az login` and the SDKs' subscription clients call first — and the
 * `Microsoft.Subscription/aliases` that register more subscriptions.
 */
import { aliasPutBodySchema } from '../../../lib/domain/tenancy';
import { aliasResource, subscriptionResource, tenantResource } from '../../../lib/domain/arm/tenancy-resource';
import {
  assertSubscription,
  createSubscriptionAlias,
  getSubscriptionAlias,
  listSubscriptionAliases,
  listSubscriptions,
} from '../../../lib/services/subscriptions';
import { tenancyDeps } from '../../deps';
import { armRoute, list, ok } from './route';

const TAG = 'Subscriptions';
const ALIAS_ROUTE = 'providers/Microsoft.Subscription/aliases/{aliasName}';

armRoute({
  operationId: 'Subscriptions_List',
  action: 'Microsoft.Resources/subscriptions/read',
  access: 'filtered',
  method: 'GET',
  route: 'subscriptions',
  summary: 'Lists the subscriptions: the default one (KLUIS_SUBSCRIPTION_ID) and those registered with an alias.',
  tag: TAG,
  responses: { 200: 'The subscriptions, in `value`.' },
  handler: async ({ query, access }) => {
    // As ARM: the subscriptions the caller holds any role in (at the subscription, above or below it).
    const all = await listSubscriptions(tenancyDeps());
    const visible = await Promise.all(all.map((subscription) => access.holdsAnyRoleAround(`/subscriptions/${subscription.subscriptionId}`)));
    const subscriptions = all.filter((_subscription, i) => visible[i]);
    return list(subscriptions.map((subscription) => subscriptionResource(subscription, query.get('api-version'))));
  },
});

armRoute({
  operationId: 'Subscriptions_Get',
  action: 'Microsoft.Resources/subscriptions/read',
  access: 'anyRole',
  method: 'GET',
  route: 'subscriptions/{subscriptionId}',
  summary: 'Gets a subscription.',
  tag: TAG,
  scope: 'none',
  responses: { 200: 'The subscription.', 400: 'The id is not a GUID (InvalidSubscriptionId).', 404: 'No such subscription (SubscriptionNotFound).' },
  handler: async ({ params, query }) => ok(subscriptionResource(await assertSubscription(tenancyDeps(), params.subscriptionId ?? ''), query.get('api-version'))),
});

armRoute({
  operationId: 'Tenants_List',
  action: 'Microsoft.Resources/tenants/read',
  access: 'signedIn',
  method: 'GET',
  route: 'tenants',
  summary: 'Lists the tenants: Kluis has one (KLUIS_TENANT_ID).',
  tag: TAG,
  responses: { 200: 'The tenant, in `value`.' },
  handler: async ({ query }) => list([tenantResource(tenancyDeps().local, query.get('api-version'))]),
});

armRoute({
  operationId: 'Alias_Create',
  action: 'Microsoft.Subscription/aliases/write',
  method: 'PUT',
  route: ALIAS_ROUTE,
  summary: 'Registers a subscription under an alias: with the id `properties.subscriptionId` names, or a new one. Idempotent per alias.',
  tag: TAG,
  body: aliasPutBodySchema,
  responses: { 200: 'The alias existed.', 201: 'The subscription was registered.', 400: 'Invalid alias name or body, or the id is registered already.' },
  handler: async ({ params, body }) => {
    const result = await createSubscriptionAlias(tenancyDeps(), params.aliasName ?? '', body);
    return ok(aliasResource(result.alias, result.subscription), result.created ? 201 : 200);
  },
});

armRoute({
  operationId: 'Alias_Get',
  action: 'Microsoft.Subscription/aliases/read',
  method: 'GET',
  route: ALIAS_ROUTE,
  summary: 'Gets a subscription alias.',
  tag: TAG,
  responses: { 200: 'The alias.', 404: 'No such alias.' },
  handler: async ({ params }) => {
    const result = await getSubscriptionAlias(tenancyDeps(), params.aliasName ?? '');
    return ok(aliasResource(result.alias, result.subscription));
  },
});

armRoute({
  operationId: 'Alias_List',
  action: 'Microsoft.Subscription/aliases/read',
  method: 'GET',
  route: 'providers/Microsoft.Subscription/aliases',
  summary: 'Lists the subscription aliases.',
  tag: TAG,
  responses: { 200: 'The aliases, in `value`.' },
  handler: async () => list((await listSubscriptionAliases(tenancyDeps())).map((result) => aliasResource(result.alias, result.subscription))),
});
