/**
 * Resource providers (Microsoft.Resources): `GET /providers`, `/providers/{ns}`,
 * `/subscriptions/{s}/providers`, `/subscriptions/{s}/providers/{ns}` and `…/{ns}/register` — the
 * providers Kluis serves, always Registered (clients check before some commands).
 */
import { errors } from '../../../lib/domain/errors';
import { findProvider, providerResource, PROVIDERS, type ProviderDefinition } from '../../../lib/domain/arm/provider-resource';
import { armRoute, list, ok } from './route';

const TAG = 'Providers';

function provider(namespace: string | undefined): ProviderDefinition {
  const found = findProvider(namespace ?? '');
  if (found === undefined) throw errors.invalidResourceNamespace(namespace ?? '');
  return found;
}

armRoute({
  operationId: 'Providers_ListAtTenantScope',
  action: 'Microsoft.Resources/providers/read',
  access: 'signedIn',
  method: 'GET',
  route: 'providers',
  summary: 'Lists the resource providers Kluis serves.',
  tag: TAG,
  responses: { 200: 'The providers, in `value`.' },
  handler: async () => list(PROVIDERS.map((definition) => providerResource(definition))),
});

armRoute({
  operationId: 'Providers_GetAtTenantScope',
  action: 'Microsoft.Resources/providers/read',
  access: 'signedIn',
  method: 'GET',
  route: 'providers/{resourceProviderNamespace}',
  summary: 'Gets a resource provider Kluis serves.',
  tag: TAG,
  responses: { 200: 'The provider.', 404: 'Kluis does not serve it (InvalidResourceNamespace).' },
  handler: async ({ params }) => ok(providerResource(provider(params.resourceProviderNamespace))),
});

armRoute({
  operationId: 'Providers_List',
  action: 'Microsoft.Resources/subscriptions/providers/read',
  access: 'anyRole',
  method: 'GET',
  route: 'subscriptions/{subscriptionId}/providers',
  summary: "Lists the subscription's resource providers (all Registered).",
  tag: TAG,
  responses: { 200: 'The providers, in `value`.' },
  handler: async ({ params }) => list(PROVIDERS.map((definition) => providerResource(definition, params.subscriptionId))),
});

armRoute({
  operationId: 'Providers_Get',
  action: 'Microsoft.Resources/subscriptions/providers/read',
  access: 'anyRole',
  method: 'GET',
  route: 'subscriptions/{subscriptionId}/providers/{resourceProviderNamespace}',
  summary: 'Gets a resource provider of the subscription.',
  tag: TAG,
  responses: { 200: 'The provider.', 404: 'Kluis does not serve it (InvalidResourceNamespace), or no such subscription.' },
  handler: async ({ params }) => ok(providerResource(provider(params.resourceProviderNamespace), params.subscriptionId)),
});

armRoute({
  operationId: 'Providers_Register',
  action: '{resourceProviderNamespace}/register/action',
  method: 'POST',
  route: 'subscriptions/{subscriptionId}/providers/{resourceProviderNamespace}/register',
  summary: 'Registers a resource provider: those Kluis serves are always registered, so this answers the provider.',
  tag: TAG,
  responses: { 200: 'The provider.', 404: 'Kluis does not serve it.' },
  handler: async ({ params }) => ok(providerResource(provider(params.resourceProviderNamespace), params.subscriptionId)),
});
