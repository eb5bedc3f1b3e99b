/**
 * Microsoft.Storage storage accounts, read-only: the accounts Kluis is configured with, in the
 * storage resource group (KLUIS_STORAGE_RESOURCE_GROUP) of the default subscription — what
 * `az backup restore restore-disks` looks up for the target account's id.
 *
 * az builds that lookup through the generic resources API with an empty resource type, so the path
 * has a double slash (`…/storageAccounts//{name}`), and tries Microsoft.ClassicStorage first (which
 * must answer 404). The account name is therefore a catch-all parameter whose empty segments are
 * dropped, as ARM collapses `//`.
 */
import { errors } from '../../../lib/domain/errors';
import { STORAGE_ACCOUNT_RESOURCE_TYPE } from '../../../lib/domain/arm/storage-account-resource';
import { getStorageAccount, listStorageAccounts } from '../../../lib/services/arm-resources';
import { storageAccountDeps } from '../../deps';
import { armRoute, list, ok, readableBy } from './route';

const TAG = 'Storage accounts';
const RESOURCE_GROUP = 'subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}';

/** `//name`, `name`, `name/` → `name`; anything with more than one segment is not an account path. */
function accountName(path: string | undefined): string | undefined {
  const segments = (path ?? '').split('/').filter((segment) => segment !== '');
  return segments.length === 1 ? segments[0] : undefined;
}

armRoute({
  operationId: 'StorageAccounts_GetProperties',
  action: 'Microsoft.Storage/storageAccounts/read',
  method: 'GET',
  route: `${RESOURCE_GROUP}/providers/Microsoft.Storage/storageAccounts/{*accountName}`,
  summary: 'Gets a storage account Kluis is configured with (tolerates `storageAccounts//{name}`).',
  tag: TAG,
  responses: { 200: 'The storage account.', 404: 'No such account in this resource group (ResourceNotFound).' },
  handler: async ({ params }) => {
    const name = accountName(params.accountName);
    if (name === undefined) throw errors.resourceNotFound(STORAGE_ACCOUNT_RESOURCE_TYPE, params.accountName ?? '', params.resourceGroupName ?? '', 'accountName');
    return ok(getStorageAccount(storageAccountDeps(), params.subscriptionId ?? '', params.resourceGroupName ?? '', name));
  },
});

armRoute({
  operationId: 'ClassicStorageAccounts_Get',
  action: 'Microsoft.ClassicStorage/storageAccounts/read',
  method: 'GET',
  route: `${RESOURCE_GROUP}/providers/Microsoft.ClassicStorage/storageAccounts/{*accountName}`,
  summary: 'Classic storage accounts do not exist in Kluis: always ResourceNotFound, as ARM answers for a missing one.',
  tag: TAG,
  responses: { 404: 'Always (ResourceNotFound).' },
  handler: async ({ params }) => {
    throw errors.resourceNotFound('Microsoft.ClassicStorage/storageAccounts', accountName(params.accountName) ?? params.accountName ?? '', params.resourceGroupName ?? '', 'accountName');
  },
});

armRoute({
  operationId: 'StorageAccounts_ListByResourceGroup',
  action: 'Microsoft.Storage/storageAccounts/read',
  access: 'filtered',
  method: 'GET',
  route: `${RESOURCE_GROUP}/providers/Microsoft.Storage/storageAccounts`,
  summary: "Lists a resource group's storage accounts (Kluis's are in the storage resource group).",
  tag: TAG,
  responses: { 200: 'The accounts, in `value`.' },
  handler: async ({ params, access }) =>
    list(await readableBy(access, 'Microsoft.Storage/storageAccounts/read', listStorageAccounts(storageAccountDeps(), params.subscriptionId ?? '', params.resourceGroupName ?? ''), (account) => String(account.id))),
});

armRoute({
  operationId: 'StorageAccounts_List',
  action: 'Microsoft.Storage/storageAccounts/read',
  access: 'filtered',
  method: 'GET',
  route: 'subscriptions/{subscriptionId}/providers/Microsoft.Storage/storageAccounts',
  summary: "Lists a subscription's storage accounts.",
  tag: TAG,
  responses: { 200: 'The accounts, in `value`.' },
  handler: async ({ params, access }) =>
    list(await readableBy(access, 'Microsoft.Storage/storageAccounts/read', listStorageAccounts(storageAccountDeps(), params.subscriptionId ?? ''), (account) => String(account.id))),
});
