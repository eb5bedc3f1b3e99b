/**
 * Azure's linked checks of a restore (Backup docs, "Minimum role requirements for Azure VM backup"):
 * besides the restore action on the vault, the caller needs Microsoft.Compute/virtualMachines/write on
 * the source VM (Virtual Machine Contributor), Microsoft.Storage/storageAccounts/write on the account the
 * disks land in (Storage Account Contributor), Microsoft.Compute/disks/write on the resource group new
 * managed disks are created in (a managed VM's point restored with `targetResourceGroupId`, or as a new
 * VM) and, for a new VM, Microsoft.Compute/virtualMachines/write where it is created — so nobody restores
 * a VM's disks they could not read, or creates resources where they could not create them themselves.
 * Each refusal is LinkedAuthorizationFailed (403) naming the action and the linked scope.
 */
import type { RequestAccess } from './authorization';
import type { RestoreTargets } from './restore-requests';

/** The linked actions a restore demands, in the order they are checked. */
export const RESTORE_LINKED_ACTIONS = {
  sourceVm: 'Microsoft.Compute/virtualMachines/write',
  storageAccount: 'Microsoft.Storage/storageAccounts/write',
  managedDisks: 'Microsoft.Compute/disks/write',
  targetVm: 'Microsoft.Compute/virtualMachines/write',
} as const;

/** The resource id of a resource group. */
export function resourceGroupScope(subscriptionId: string, resourceGroup: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;
}

/**
 * Throws LinkedAuthorizationFailed unless the caller may act on every resource the restore touches
 * besides the vault. `storageAccountId` turns the restore account's name into its resource id.
 */
export async function authorizeRestoreTargets(
  access: Pick<RequestAccess, 'demandLinked'>,
  targets: RestoreTargets,
  on: { action: string; scope: string },
  storageAccountId: (name: string) => string,
): Promise<void> {
  await access.demandLinked(RESTORE_LINKED_ACTIONS.sourceVm, targets.sourceVmId, on);
  await access.demandLinked(RESTORE_LINKED_ACTIONS.storageAccount, storageAccountId(targets.storageAccountName), on);
  if (targets.managedDisksResourceGroup !== undefined) {
    const { subscriptionId, resourceGroup } = targets.managedDisksResourceGroup;
    await access.demandLinked(RESTORE_LINKED_ACTIONS.managedDisks, resourceGroupScope(subscriptionId, resourceGroup), on);
  }
  if (targets.targetVmId !== undefined) await access.demandLinked(RESTORE_LINKED_ACTIONS.targetVm, targets.targetVmId, on);
}
