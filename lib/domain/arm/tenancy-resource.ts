/**
 * ARM shapes of the generic resources: subscriptions and tenants (Microsoft.Resources
 * `subscriptions.json`, api-versions 2016-06-01 … 2022-12-01), subscription aliases
 * (Microsoft.Subscription 2021-10-01) and resource groups (`resources.json`).
 *
 * Fields an api-version does not declare are left out for it (`tags` on subscriptions came with
 * 2020-01-01; `defaultDomain`/`tenantType` on tenants with 2020-01-01); unknown versions get the newest shape.
 */
import type { LocalTenancy, ResourceGroupRecord, SubscriptionRecord } from '../tenancy';

export const LOCAL_TENANT_DOMAIN = 'kluis.local';
export const LOCAL_TENANT_NAME = 'Kluis';

/** True when `apiVersion` (YYYY-MM-DD[-preview]) is `since` or later; absent versions count as the newest. */
export function apiVersionAtLeast(apiVersion: string | null | undefined, since: string): boolean {
  if (apiVersion === null || apiVersion === undefined || !/^\d{4}-\d{2}-\d{2}/.test(apiVersion)) return true;
  return apiVersion.slice(0, 10) >= since;
}

export function subscriptionResource(record: SubscriptionRecord, apiVersion?: string | null): Record<string, unknown> {
  return {
    id: `/subscriptions/${record.subscriptionId}`,
    authorizationSource: 'RoleBased',
    managedByTenants: [],
    ...(apiVersionAtLeast(apiVersion, '2020-01-01') ? { tags: record.tags ?? {} } : {}),
    subscriptionId: record.subscriptionId,
    tenantId: record.tenantId,
    displayName: record.displayName,
    state: record.state,
    subscriptionPolicies: {
      locationPlacementId: 'Public_2014-09-01',
      quotaId: record.workload === 'DevTest' ? 'MSDNDevTest_2014-09-01' : 'PayAsYouGo_2014-09-01',
      spendingLimit: 'Off',
    },
  };
}

export function tenantResource(tenancy: Pick<LocalTenancy, 'tenantId'>, apiVersion?: string | null): Record<string, unknown> {
  return {
    id: `/tenants/${tenancy.tenantId}`,
    tenantId: tenancy.tenantId,
    countryCode: 'NL',
    displayName: LOCAL_TENANT_NAME,
    domains: [LOCAL_TENANT_DOMAIN],
    tenantCategory: 'Home',
    ...(apiVersionAtLeast(apiVersion, '2020-01-01') ? { defaultDomain: LOCAL_TENANT_DOMAIN, tenantType: 'AAD' } : {}),
  };
}

/** `Microsoft.Subscription/aliases/{alias}` (SubscriptionAliasResponse). */
export function aliasResource(alias: string, subscription: SubscriptionRecord): Record<string, unknown> {
  return {
    id: `/providers/Microsoft.Subscription/aliases/${alias}`,
    name: alias,
    type: 'Microsoft.Subscription/aliases',
    properties: {
      subscriptionId: subscription.subscriptionId,
      displayName: subscription.displayName,
      provisioningState: 'Succeeded',
      ...(subscription.workload === undefined ? {} : { workload: subscription.workload }),
      ...(subscription.tags === undefined ? {} : { tags: subscription.tags }),
      subscriptionOwnerId: null,
      createdTime: subscription.createdAt,
    },
    systemData: { createdAt: subscription.createdAt },
  };
}

export function resourceGroupId(subscriptionId: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${name}`;
}

export function resourceGroupResource(record: ResourceGroupRecord): Record<string, unknown> {
  return {
    id: resourceGroupId(record.subscriptionId, record.name),
    name: record.name,
    type: 'Microsoft.Resources/resourceGroups',
    location: record.location,
    ...(record.managedBy === undefined ? {} : { managedBy: record.managedBy }),
    tags: record.tags ?? {},
    properties: { provisioningState: 'Succeeded' },
  };
}
