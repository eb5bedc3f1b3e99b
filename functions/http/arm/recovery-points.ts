/**
 * Recovery points of a protected item over the ARM-shaped API: GET `{item}/recoveryPoints`
 * (`$filter=startDate eq '…' and endDate eq '…'`, newest first) and GET `{item}/recoveryPoints/{id}`
 * (with the disk configuration and encryption read from the point's manifest).
 */
import { protectedItemId } from '../../../lib/domain/arm-names';
import { recoveryPointResource } from '../../../lib/domain/arm/recovery-point-resource';
import { getItemRecoveryPoint, listItemRecoveryPoints, parseRecoveryPointFilter, vaultRefOf as vaultRefOfScope } from '../../../lib/services/protection';
import { getVault } from '../../../lib/services/vaults';
import { deleteDeps, vaultCatalog } from '../../deps';
import { itemNamesOf } from './protection';
import { serverItemOfRoute, serverPointResource, serverPointResources } from './backup-server-views';
import { armRoute, ITEM_ROUTE, list, ok, vaultRefOf } from './route';

const TAG = 'Recovery points';

armRoute({
  operationId: 'RecoveryPoints_List',
  action: 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/read',
  method: 'GET',
  route: `${ITEM_ROUTE}/recoveryPoints`,
  summary: "Lists the item's recovery points, newest first, with type (consistency) and tiers. $filter: startDate eq '…' and endDate eq '…' (yyyy-MM-dd hh:mm:ss AM, UTC).",
  tag: TAG,
  responses: { 200: 'The recovery points, in `value`.', 400: 'Invalid $filter.', 404: 'No such vault or item.' },
  handler: async ({ params, query }) => {
    const names = itemNamesOf(params);
    const filter = parseRecoveryPointFilter(query.get('$filter'));
    const deps = { catalog: vaultCatalog() };
    const vault = (await getVault(deps, vaultRefOf(params))).value;
    const serverItem = await serverItemOfRoute(vaultRefOf(params), params);
    if (serverItem !== undefined) return list(serverPointResources(vaultRefOf(params), serverItem, filter));
    const { item, points } = await listItemRecoveryPoints(deps, vault, names, filter);
    const itemId = protectedItemId(vaultRefOfScope(vault), item.containerName, item.itemName);
    return list(points.map((point) => recoveryPointResource(itemId, item, point)));
  },
});

armRoute({
  operationId: 'RecoveryPoints_Get',
  action: 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/read',
  method: 'GET',
  route: `${ITEM_ROUTE}/recoveryPoints/{recoveryPointId}`,
  summary: 'Gets a recovery point: type, time, tiers (InstantRP/HardenedRP), OS and size of the VM, disk configuration, encryption and expiry.',
  tag: TAG,
  responses: { 200: 'The recovery point.', 400: 'The id is not a number.', 404: 'No such vault, item or recovery point.' },
  handler: async ({ params, context }) => {
    const names = itemNamesOf(params);
    const deps = { catalog: vaultCatalog(), vaultStore: deleteDeps(context).vault };
    const vault = (await getVault(deps, vaultRefOf(params))).value;
    const serverItem = await serverItemOfRoute(vaultRefOf(params), params);
    if (serverItem !== undefined) return ok(serverPointResource(vaultRefOf(params), serverItem, params.recoveryPointId ?? ''));
    const { item, point, manifest } = await getItemRecoveryPoint(deps, vault, names, params.recoveryPointId ?? '');
    return ok(recoveryPointResource(protectedItemId(vaultRefOfScope(vault), item.containerName, item.itemName), item, point, manifest));
  },
});
