/**
 * What Azure Resource Manager checks before a provider sees a request: the subscription in the path
 * exists, and so does the resource group (SubscriptionNotFound, ResourceGroupNotFound). armRoute runs
 * it for every route with a `{subscriptionId}` (and `{resourceGroupName}`) parameter unless the route
 * says otherwise (the resource group routes check for themselves).
 */
import { assertArmScope } from '../../../lib/services/resource-groups';
import { tenancyDeps } from '../../deps';

/** 'auto': the subscription and resource group the route names; 'subscription': only the subscription; 'none': nothing. */
export type ArmScopeCheck = 'auto' | 'subscription' | 'none';

export async function checkArmScope(route: string, check: ArmScopeCheck, params: Record<string, string>): Promise<void> {
  if (check === 'none' || !route.includes('{subscriptionId}')) return;
  const resourceGroup = check === 'auto' && route.includes('{resourceGroupName}') ? params.resourceGroupName : undefined;
  await assertArmScope(tenancyDeps(), { subscriptionId: params.subscriptionId ?? '', ...(resourceGroup === undefined ? {} : { resourceGroup }) });
}
