/**
 * Resource groups (Microsoft.Resources): PUT/GET/HEAD/PATCH/DELETE
 * `/subscriptions/{s}/resourcegroups/{rg}` and the list. ARM matches `resourceGroups` and
 * `resourcegroups` alike (route literals are case-insensitive). Vaults can only be made in a group
 * that exists; deleting a group that still holds resources is refused (no cascade).
 */
import { resourceGroupPatchBodySchema, resourceGroupPutBodySchema } from '../../../lib/domain/tenancy';
import { resourceGroupResource } from '../../../lib/domain/arm/tenancy-resource';
import {
  createOrUpdateResourceGroup,
  deleteResourceGroup,
  getResourceGroup,
  listResourceGroups,
  resourceGroupExists,
  updateResourceGroup,
} from '../../../lib/services/resource-groups';
import { resourceGroupContentsDeps, tenancyDeps } from '../../deps';
import { armRoute, list, ok, readableBy } from './route';

const TAG = 'Resource groups';
const GROUP_ROUTE = 'subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}';

armRoute({
  operationId: 'ResourceGroups_CreateOrUpdate',
  action: 'Microsoft.Resources/subscriptions/resourceGroups/write',
  method: 'PUT',
  route: GROUP_ROUTE,
  summary: 'Creates a resource group in a location, or replaces its tags and managedBy (the location never changes).',
  tag: TAG,
  scope: 'subscription',
  body: resourceGroupPutBodySchema,
  responses: { 200: 'The group was updated.', 201: 'The group was created.', 400: 'Invalid name or body.', 404: 'No such subscription.', 409: 'Another location (InvalidResourceGroupLocation).' },
  handler: async ({ params, body }) => {
    const { group, created } = await createOrUpdateResourceGroup(tenancyDeps(), params.subscriptionId ?? '', params.resourceGroupName ?? '', body);
    return ok(resourceGroupResource(group), created ? 201 : 200);
  },
});

armRoute({
  operationId: 'ResourceGroups_Get',
  action: 'Microsoft.Resources/subscriptions/resourceGroups/read',
  method: 'GET',
  route: GROUP_ROUTE,
  summary: 'Gets a resource group.',
  tag: TAG,
  scope: 'subscription',
  responses: { 200: 'The group.', 404: 'No such group (ResourceGroupNotFound) or subscription.' },
  handler: async ({ params }) => ok(resourceGroupResource(await getResourceGroup(tenancyDeps(), params.subscriptionId ?? '', params.resourceGroupName ?? ''))),
});

armRoute({
  operationId: 'ResourceGroups_CheckExistence',
  action: 'Microsoft.Resources/subscriptions/resourceGroups/read',
  method: 'HEAD',
  route: GROUP_ROUTE,
  summary: 'Whether a resource group exists: 204 if it does, 404 if not.',
  tag: TAG,
  scope: 'subscription',
  responses: { 204: 'The group exists.', 404: 'It does not.' },
  handler: async ({ params }) => ({ status: (await resourceGroupExists(tenancyDeps(), params.subscriptionId ?? '', params.resourceGroupName ?? '')) ? 204 : 404 }),
});

armRoute({
  operationId: 'ResourceGroups_Update',
  action: 'Microsoft.Resources/subscriptions/resourceGroups/write',
  method: 'PATCH',
  route: GROUP_ROUTE,
  summary: "Changes a resource group's tags or managedBy; fields left out keep their value.",
  tag: TAG,
  scope: 'subscription',
  body: resourceGroupPatchBodySchema,
  responses: { 200: 'The group after the change.', 400: 'Invalid body.', 404: 'No such group.' },
  handler: async ({ params, body }) => ok(resourceGroupResource(await updateResourceGroup(tenancyDeps(), params.subscriptionId ?? '', params.resourceGroupName ?? '', body))),
});

armRoute({
  operationId: 'ResourceGroups_Delete',
  action: 'Microsoft.Resources/subscriptions/resourceGroups/delete',
  method: 'DELETE',
  route: GROUP_ROUTE,
  summary: 'Deletes an empty resource group; one that still holds vaults, fabric VMs or storage accounts is refused (ResourceGroupDeletionBlocked).',
  tag: TAG,
  scope: 'subscription',
  responses: { 200: 'The group was deleted.', 404: 'No such group.', 409: 'The group still holds resources.' },
  handler: async ({ params }) => {
    await deleteResourceGroup(resourceGroupContentsDeps(), params.subscriptionId ?? '', params.resourceGroupName ?? '');
    return { status: 200 };
  },
});

armRoute({
  operationId: 'ResourceGroups_List',
  action: 'Microsoft.Resources/subscriptions/resourceGroups/read',
  access: 'filtered',
  method: 'GET',
  route: 'subscriptions/{subscriptionId}/resourcegroups',
  summary: "Lists a subscription's resource groups.",
  tag: TAG,
  responses: { 200: 'The groups, in `value`.' },
  handler: async ({ params, access }) => {
    const groups = (await listResourceGroups(tenancyDeps(), params.subscriptionId ?? '')).map(resourceGroupResource);
    return list(await readableBy(access, 'Microsoft.Resources/subscriptions/resourceGroups/read', groups, (group) => String(group.id)));
  },
});
