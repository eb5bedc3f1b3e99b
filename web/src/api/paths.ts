/**
 * ARM resource ids and the dashboard's own URLs for them. Pure: unit-tested, shared by every page.
 * Names follow Azure Backup's: container `IaasVMContainer;iaasvmcontainerv2;{rg};{vm}`, item
 * `VM;iaasvmcontainerv2;{rg};{vm}`.
 */
export const API_VERSIONS = {
  /** Microsoft.RecoveryServices vaults (arm-recoveryservices). */
  vaults: '2024-04-01',
  /** Everything under a vault's backup* resources (arm-recoveryservicesbackup). */
  backup: '2023-06-01',
  resources: '2022-12-01',
  compute: '2023-03-01',
  storage: '2023-01-01',
  authorization: '2022-04-01',
} as const;

export interface VaultRef {
  subscriptionId: string;
  resourceGroup: string;
  vaultName: string;
}

export interface ItemRef extends VaultRef {
  containerName: string;
  itemName: string;
}

export function vaultId(vault: VaultRef): string {
  return `/subscriptions/${vault.subscriptionId}/resourceGroups/${vault.resourceGroup}/providers/Microsoft.RecoveryServices/vaults/${vault.vaultName}`;
}

/** A path segment as Azure writes container and item names: `;` stays. */
export function segment(value: string): string {
  return encodeURIComponent(value).replace(/%3B/gi, ';');
}

export function itemId(item: ItemRef): string {
  return `${vaultId(item)}/backupFabrics/Azure/protectionContainers/${segment(item.containerName)}/protectedItems/${segment(item.itemName)}`;
}

export function containerNameOfVm(resourceGroup: string, vmName: string): string {
  return `IaasVMContainer;iaasvmcontainerv2;${resourceGroup};${vmName}`;
}

export function itemNameOfVm(resourceGroup: string, vmName: string): string {
  return `VM;iaasvmcontainerv2;${resourceGroup};${vmName}`;
}

/** The vault of any resource id under it (case-insensitive, as ARM ids are). */
export function vaultRefOf(resourceId: string): VaultRef | undefined {
  const match = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.RecoveryServices\/vaults\/([^/]+)/i.exec(resourceId);
  if (match === null) return undefined;
  return { subscriptionId: match[1], resourceGroup: match[2], vaultName: match[3] };
}

/** The protected item of a resource id under it (its recovery points, operations). */
export function itemRefOf(resourceId: string): ItemRef | undefined {
  const vault = vaultRefOf(resourceId);
  const match = /\/backupFabrics\/[^/]+\/protectionContainers\/([^/]+)\/protectedItems\/([^/]+)/i.exec(resourceId);
  if (vault === undefined || match === null) return undefined;
  return { ...vault, containerName: decodeURIComponent(match[1]), itemName: decodeURIComponent(match[2]) };
}

/** `{subscription, resourceGroup, name}` of any ARM resource id (a VM, a storage account, a policy). */
export function resourceNameOf(resourceId: string): { subscriptionId: string; resourceGroup: string; name: string } | undefined {
  const match = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/.+\/([^/]+)$/i.exec(resourceId);
  return match === null ? undefined : { subscriptionId: match[1], resourceGroup: match[2], name: match[3] };
}

/** The VM name of an item or container name (`…;{rg};{vm}`). */
export function vmNameOfItem(itemName: string): string {
  const parts = itemName.split(';');
  return parts[parts.length - 1] ?? itemName;
}

// ---- the dashboard's URLs (relative to /dashboard/) -----------------------------------------------

export const pages = {
  vaults: () => '/dashboard/',
  newVault: () => '/dashboard/vaults/new',
  vault: (v: VaultRef) => `/dashboard/vaults/${v.subscriptionId}/${v.resourceGroup}/${v.vaultName}`,
  vaultProperties: (v: VaultRef) => `${pages.vault(v)}/properties`,
  items: (v: VaultRef) => `${pages.vault(v)}/items`,
  item: (i: ItemRef) => `${pages.vault(i)}/items/${segment(i.containerName)}/${segment(i.itemName)}`,
  restore: (i: ItemRef, recoveryPointId?: string) => `${pages.item(i)}/restore${recoveryPointId === undefined ? '' : `?point=${encodeURIComponent(recoveryPointId)}`}`,
  protect: (v: VaultRef) => `${pages.vault(v)}/protect`,
  jobs: (v: VaultRef, query = '') => `${pages.vault(v)}/jobs${query}`,
  job: (v: VaultRef, jobName: string) => `${pages.vault(v)}/jobs/${encodeURIComponent(jobName)}`,
  policies: (v: VaultRef) => `${pages.vault(v)}/policies`,
  newPolicy: (v: VaultRef) => `${pages.vault(v)}/policies/new`,
  policy: (v: VaultRef, name: string) => `${pages.vault(v)}/policies/${encodeURIComponent(name)}`,
  servers: (v: VaultRef) => `${pages.vault(v)}/servers`,
  server: (v: VaultRef, serverName: string) => `${pages.vault(v)}/servers/${encodeURIComponent(serverName)}`,
};
