/**
 * What a backup server may do, by its connectivity with the vault and the subscription's state: the seed's table
 * (004, "Netwerkverbinding"), row for row. A server is Disconnected when it has not checked in with the vault for
 * more than 15 days. A Deprovisioned subscription also means the vault's recovery points of the server are deleted
 * irretrievably; local points stay on the server's disks (restorable again once the subscription is Active).
 * Pure: time is a parameter.
 */
/**
 * ARM's subscription states (lib/domain/tenancy's SubscriptionState, spelled out: this file is also the dashboard's,
 * which cannot type-check tenancy's imports; a state added there fails to compile where it is passed here).
 */
type SubscriptionState = 'Enabled' | 'Warned' | 'PastDue' | 'Disabled' | 'Deleted';

export type Connectivity = 'Connected' | 'Disconnected';
/** The seed's subscription states (Azure's "Active", "Expired", "Deprovisioned"). */
export type ServerSubscriptionState = 'Active' | 'Expired' | 'Deprovisioned';
export type Permission = 'Allowed' | 'Stopped';

export interface AllowedOperations {
  backupToAzure: Permission;
  backupToDisk: Permission;
  restoreFromAzure: Permission;
  restoreFromDisk: Permission;
  /** True only for Deprovisioned: the vault's recovery points are deleted, irretrievably. */
  azureRecoveryPointsDeleted: boolean;
}

export const DISCONNECTED_AFTER_DAYS = 15;
const DAY_MS = 86_400_000;

export function connectivityOf(lastCheckInAt: string | undefined, now: Date): Connectivity {
  if (lastCheckInAt === undefined) return 'Disconnected';
  return now.getTime() - Date.parse(lastCheckInAt) > DISCONNECTED_AFTER_DAYS * DAY_MS ? 'Disconnected' : 'Connected';
}

/** ARM's subscription states as the seed's: Enabled, Warned and PastDue still work (Active); Disabled is Expired; Deleted is Deprovisioned. */
export function serverSubscriptionState(state: SubscriptionState): ServerSubscriptionState {
  switch (state) {
    case 'Enabled':
    case 'Warned':
    case 'PastDue':
      return 'Active';
    case 'Disabled':
      return 'Expired';
    case 'Deleted':
      return 'Deprovisioned';
  }
}

/** The seed's table. */
export function allowedOperations(connectivity: Connectivity, subscription: ServerSubscriptionState): AllowedOperations {
  if (subscription === 'Deprovisioned') {
    return { backupToAzure: 'Stopped', backupToDisk: 'Stopped', restoreFromAzure: 'Stopped', restoreFromDisk: 'Stopped', azureRecoveryPointsDeleted: true };
  }
  const backups: Permission = connectivity === 'Connected' && subscription === 'Active' ? 'Allowed' : 'Stopped';
  return { backupToAzure: backups, backupToDisk: backups, restoreFromAzure: 'Allowed', restoreFromDisk: 'Allowed', azureRecoveryPointsDeleted: false };
}
